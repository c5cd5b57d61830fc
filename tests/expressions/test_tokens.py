"""The lexer, and DynamoDB's ``Syntax error; token: "...", near: "..."`` message."""

import pytest

from kvstore.expressions.tokens import tokenize

from .helpers import N, error


def kinds(text):
    return [t.kind for t in tokenize(text)]


def test_keywords_are_case_insensitive_and_whole_words():
    assert kinds("a aNd b Or NOT between In") == ["ID", "AND", "ID", "OR", "NOT", "BETWEEN", "IN", "EOF"]
    assert kinds("ANDY ORDER setting") == ["ID", "ID", "ID", "EOF"]
    assert kinds("SET remove ADD delete") == ["SET", "REMOVE", "ADD", "DELETE", "EOF"]


def test_placeholders_may_start_with_digits_or_underscores():
    assert kinds("#1 #_ #a_b9 :1 :_x") == ["NAME", "NAME", "NAME", "VALUE", "VALUE", "EOF"]


def test_a_lone_hash_or_colon_is_an_unknown_token():
    assert kinds("# :") == ["UNKNOWN", "UNKNOWN", "EOF"]


def test_indexes_have_no_leading_zeros():
    tokens = tokenize("007")
    assert [t.text for t in tokens[:-1]] == ["0", "0", "7"]


def test_two_character_comparators():
    assert kinds("<> <= >= < > =") == ["<>", "<=", ">=", "<", ">", "=", "EOF"]


def test_names_must_start_with_a_letter():
    assert kinds("_abc") == ["UNKNOWN", "ID", "EOF"]
    assert kinds("1a") == ["INDEX", "ID", "EOF"]


def test_unicode_letters_are_unknown_tokens():
    assert kinds("é") == ["UNKNOWN", "EOF"]


@pytest.mark.parametrize("kind, text, values, message", [
    # previous token, whitespace, offending token, whitespace, next token
    ("condition", "foo", None, 'Syntax error; token: "<EOF>", near: "foo"'),
    ("condition", "a+:delta<b", {":delta": N(3)}, 'Syntax error; token: "+", near: "a+:delta"'),
    ("condition", "a > 4", None, 'Syntax error; token: "4", near: "> 4"'),
    ("condition", "c!=:c", {":c": N(1)}, 'Syntax error; token: "!", near: "c!="'),
    ("condition", "a = \"x\"", None, 'Syntax error; token: """, near: "= "x"'),
    ("update", "SET _123 = :val1", {":val1": N(3)}, 'Syntax error; token: "_", near: "SET _123"'),
    ("update", "INVALID SYNTAX HERE", None, 'Syntax error; token: "INVALID", near: "INVALID SYNTAX"'),
    ("update", "SET a = :v,", {":v": N(1)}, 'Syntax error; token: "<EOF>", near: ","'),
    ("projection", "a,", None, 'Syntax error; token: "<EOF>", near: ","'),
    ("projection", "a..b", None, 'Syntax error; token: ".", near: "..b"'),
    ("key_condition", "[object Object]", None, 'Syntax error; token: "[", near: "[object"'),
])
def test_syntax_error_names_the_token_and_its_neighbours(kind, text, values, message):
    member = {"condition": "ConditionExpression", "update": "UpdateExpression",
              "projection": "ProjectionExpression", "key_condition": "KeyConditionExpression"}[kind]
    operation = {"condition": "PutItem", "update": "UpdateItem", "projection": "GetItem",
                 "key_condition": "Query"}[kind]
    assert error(operation, values=values, **{kind: text}) == f"Invalid {member}: {message}"


def test_near_keeps_the_whitespace_of_the_source():
    assert error(condition="a  =   4") == 'Invalid ConditionExpression: Syntax error; token: "4", near: "=   4"'


def test_leading_whitespace_belongs_to_the_first_token():
    assert error(condition="  ) a") == 'Invalid ConditionExpression: Syntax error; token: ")", near: "  ) a"'
