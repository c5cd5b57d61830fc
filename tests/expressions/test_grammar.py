"""What the condition, update and projection grammars accept, and how they group."""

import pytest

from kvstore.expressions import compile_request

from .helpers import N, condition, error, update

V = {":x": N(1), ":y": N(2)}
REDUNDANT = "The expression has redundant parentheses;"


def truth(text, item, values=V):
    used = {k: v for k, v in values.items() if k in text}
    return condition(text, values=used).evaluate(item)


# ---------------------------------------------------------------- precedence

def test_not_binds_tighter_than_and():
    # NOT a = :x AND b = :y  ==  (NOT a = :x) AND b = :y
    assert truth("NOT a = :x AND b = :y", {"a": N(2), "b": N(2)}) is True
    assert truth("NOT a = :x AND b = :y", {"a": N(2), "b": N(3)}) is False


def test_and_binds_tighter_than_or():
    assert truth("a = :x OR a = :y AND b = :y", {"a": N(1)}) is True
    assert truth("(a = :x OR a = :y) AND b = :y", {"a": N(1)}) is False


def test_between_consumes_only_its_own_and():
    text = "a BETWEEN :x AND :y AND b = :x"
    assert truth(text, {"a": N(1), "b": N(1)}) is True
    assert truth(text, {"a": N(1), "b": N(2)}) is False


def test_not_not_is_allowed():
    assert truth("NOT NOT a = :x", {"a": N(1)}) is True
    assert truth("NOT NOT NOT a = :x", {"a": N(1)}) is False


def test_keywords_are_case_insensitive_in_expressions():
    assert truth("a BeTwEeN :x aNd :y anD NoT b In (:x)", {"a": N(1), "b": N(2)}) is True


def test_whitespace_is_free():
    assert truth(" a\t=\n:x\r", {"a": N(1)}) is True
    assert truth("a=:x", {"a": N(1)}) is True


# ---------------------------------------------------------------- parentheses

@pytest.mark.parametrize("text", [
    "(a = :x)", "((a = :x) AND b = :y)", "(a) = :x", "(size(a)) > :x", "(begins_with(a, :x))",
    "(a) IN ((:x), :y)", "NOT (a = :x)", "((a = :x) AND (b = :y))", "size((a)) > :x",
])
def test_one_pair_of_parentheses_is_allowed_anywhere(text):
    values = {":x": "p"} if "begins_with" in text else V
    used = {k: v for k, v in values.items() if k in text}
    condition(text, values=used)


@pytest.mark.parametrize("text", [
    "((a = :x))", "((a)) = :x", "((c = :x) AND ((b = :x)))", "a IN (((:x)))", "NOT ((a = :x))",
])
def test_directly_doubled_parentheses_are_redundant(text):
    assert error(condition=text, values={":x": N(1)}) == f"Invalid ConditionExpression: {REDUNDANT}"


def test_redundant_parentheses_in_update_values():
    assert error("UpdateItem", update="SET a = ((b + :x))", values={":x": N(1)}) == \
        f"Invalid UpdateExpression: {REDUNDANT}"
    assert error("UpdateItem", update="SET a = ((b))") == f"Invalid UpdateExpression: {REDUNDANT}"
    update("SET a = (b + :x)", values={":x": N(1)})
    update("SET a = (b) + (:x)", values={":x": N(1)})
    update("SET a = ((b) + :x)", values={":x": N(1)})


def test_redundant_parentheses_come_before_a_later_syntax_error():
    assert error(condition="((a = :x)) AND") == f"Invalid ConditionExpression: {REDUNDANT}"


def test_a_syntax_error_before_the_redundant_pair_wins():
    message = error(condition="a = ((:x)) AND b !")
    assert message == f"Invalid ConditionExpression: {REDUNDANT}"
    message = error(condition="a ! ((:x))")
    assert message.startswith('Invalid ConditionExpression: Syntax error; token: "!"')


def test_very_deep_redundant_nesting_is_reported_without_recursing():
    text = "(" * 400 + "a = :x" + ")" * 400
    assert error(condition=text, values={":x": N(1)}) == f"Invalid ConditionExpression: {REDUNDANT}"


def test_deep_but_meaningful_nesting_parses():
    text = "a = :x"
    for _ in range(60):
        text = f"NOT ({text})"
    assert truth(text, {"a": N(1)}) is True


# ---------------------------------------------------------------- what is not a condition

@pytest.mark.parametrize("text, token", [
    ("a", "<EOF>"),
    (":x", "<EOF>"),
    ("NOT a", "<EOF>"),
    ("a AND :x", "AND"),
    ("a IN ()", ")"),
    ("a = 5", "5"),
    ("a = 'x'", "'"),
    ("a == :x", "="),
    ("a = :x OR", "<EOF>"),
    ("size() > :x", ")"),
    ("a[:x] = :x", ":x"),
    ("a[-1] = :x", "-"),
    ("a[] = :x", "]"),
    ("a.:x = :x", ":x"),
    ("#a-b = :x", "-"),
    ("remove = :x", "remove"),
    ("a = :x b = :x", "b"),
])
def test_condition_syntax_errors(text, token):
    message = error(condition=text, names={"#a": "z"} if "#a" in text else None,
                    values={":x": N(1)} if ":x" in text else None)
    assert message.startswith(f'Invalid ConditionExpression: Syntax error; token: "{token}"'), message


def test_update_grammar_errors():
    for text, token in [
        ("SET", "<EOF>"),
        ("SET :v = a", ":v"),
        ("SET a = b + :v + :v", "+"),
        ("SET a = (b + :v) + :v", "+"),
        ("SET a = list_append(a + :v, :v)", "+"),
        ("ADD a b", "b"),
        ("REMOVE", "<EOF>"),
        ("SET a = :v REMOVE", "<EOF>"),
        ("SET a = :v,, b = :v", ","),
        ("UPDATE a = :v", "UPDATE"),
    ]:
        message = error("UpdateItem", update=text, values={":v": N(1)})
        assert message.startswith(f'Invalid UpdateExpression: Syntax error; token: "{token}"'), (text, message)


def test_update_sections_in_any_order_without_separators():
    u = update("REMOVE r ADD n :one SET s = :s DELETE d :d", values={":one": N(1), ":s": "x", ":d": {"a"}})
    assert [s.kind for s in u.steps] == ["REMOVE", "ADD", "SET", "DELETE"]


def test_update_keywords_are_case_insensitive():
    update("set a = :v remove b add c :v", values={":v": N(1)})


def test_projection_grammar():
    compiled = compile_request("GetItem", projection=" a , b.c[1] ,#d ", names={"#d": "x y"}).projection
    assert compiled.paths == (("a",), ("b", "c", 1), ("x y",))
