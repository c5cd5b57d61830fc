"""KeyConditionExpression (reference 8.6): structure errors, schema errors, resolved ranges."""

import pytest

from kvstore.errors import ValidationException
from kvstore.types import Binary

from .helpers import N, error, key_condition

P = "Invalid KeyConditionExpression: "
TYPES = {"pk": "S", "sk": "N"}


def resolve(text, values, names=None, hash_name="pk", range_name="sk", types=TYPES, index_name=None):
    kc = key_condition(text, names, values)
    return kc.resolve(hash_name, range_name, types, index_name)


def resolve_error(text, values, **kwargs):
    with pytest.raises(ValidationException) as e:
        resolve(text, values, **kwargs)
    return e.value.message


@pytest.mark.parametrize("text, op, values", [
    ("pk = :p", None, ()),
    ("pk = :p AND sk = :a", "EQ", (N(1),)),
    ("pk = :p AND sk < :a", "LT", (N(1),)),
    ("pk = :p AND sk <= :a", "LE", (N(1),)),
    ("pk = :p AND sk > :a", "GT", (N(1),)),
    ("pk = :p AND sk >= :a", "GE", (N(1),)),
    ("pk = :p AND sk BETWEEN :a AND :b", "BETWEEN", (N(1), N(2))),
    ("sk < :a AND pk = :p", "LT", (N(1),)),
    (":p = pk AND :a < sk", "GT", (N(1),)),            # reversed operands flip the operator
    (":a >= sk AND :p = pk", "LE", (N(1),)),
    ("((pk = :p) AND (sk = :a))", "EQ", (N(1),)),
    ("#h = :p AND #r > :a", "GT", (N(1),)),
])
def test_accepted_forms(text, op, values):
    names = {"#h": "pk", "#r": "sk"} if "#" in text else None
    all_values = {":p": "h", ":a": N(1), ":b": N(2)}
    key = resolve(text, {k: v for k, v in all_values.items() if k in text}, names)
    assert key.hash_value == "h"
    assert key.range_op == op
    assert key.range_values == values


def test_begins_with_on_a_string_sort_key():
    key = resolve("pk = :p AND begins_with(sk, :s)", {":p": "h", ":s": "ab"}, types={"pk": "S", "sk": "S"})
    assert (key.range_op, key.range_values) == ("BEGINS_WITH", ("ab",))
    assert key.matches_range("abc") and not key.matches_range("b")


@pytest.mark.parametrize("text, operator", [
    ("pk = :p OR sk = :a", "OR"),
    ("NOT pk = :p", "NOT"),
    ("pk = :p AND sk IN (:a)", "IN"),
    ("pk = :p AND sk <> :a", "<>"),
    ("pk = :p AND attribute_exists(sk)", "attribute_exists"),
    ("pk = :p AND attribute_not_exists(sk)", "attribute_not_exists"),
    ("pk = :p AND contains(sk, :a)", "contains"),
    ("pk = :p AND attribute_type(sk, :t)", "attribute_type"),
])
def test_invalid_operators(text, operator):
    values = {k: v for k, v in {":p": "h", ":a": N(1), ":t": "N"}.items() if k in text}
    assert error("Query", key_condition=text, values=values) == \
        P + f"Invalid operator used in KeyConditionExpression: {operator}"


@pytest.mark.parametrize("text, message", [
    ("pk = :p AND size(sk) > :a", "KeyConditionExpressions cannot contain nested operations"),
    ("size(pk) = :a", "KeyConditionExpressions cannot contain nested operations"),
    ("pk.x = :p", "KeyConditionExpressions cannot have conditions on nested attributes"),
    ("pk = :p AND sk[0] = :a", "KeyConditionExpressions cannot have conditions on nested attributes"),
    ("foo.bar = :p", "KeyConditionExpressions cannot have conditions on nested attributes"),
    ("pk = sk", "Invalid condition in KeyConditionExpression: Multiple attribute names used in one condition"),
    ("pk = :p AND sk BETWEEN pk AND :a",
     "Invalid condition in KeyConditionExpression: Multiple attribute names used in one condition"),
    (":p = :a", "Invalid condition in KeyConditionExpression: No key attribute specified"),
    ("pk = :p AND :a BETWEEN sk AND :b",
     "Invalid condition in KeyConditionExpression: BETWEEN operator must have the key attribute as its first "
     "operand"),
    ("pk = :p AND begins_with(:s, sk)",
     "Invalid condition in KeyConditionExpression: begins_with operator must have the key attribute as its "
     "first operand"),
    ("pk = :p AND pk = :p", "KeyConditionExpressions must only contain one condition per key"),
    ("pk = :p AND sk > :a AND sk < :b", "KeyConditionExpressions must only contain one condition per key"),
    ("pk = :p AND dog(sk)", "Invalid function name; function: dog"),
    ("pk = :p AND begins_with(sk, :a)",
     "Incorrect operand type for operator or function; operator or function: begins_with, operand type: N"),
    ("pk = :p AND sk BETWEEN :b AND :a",
     "The BETWEEN operator requires upper bound to be greater than or equal to lower bound; lower bound "
     "operand: AttributeValue: {N:2}, upper bound operand: AttributeValue: {N:1}"),
    ("data.x = :p", "Attribute name is a reserved keyword; reserved keyword: data"),
])
def test_structure_errors(text, message):
    values = {k: v for k, v in {":p": "h", ":a": N(1), ":b": N(2), ":s": "x"}.items() if k in text}
    assert error("Query", key_condition=text, values=values or None) == P + message


def test_empty_key_condition():
    assert error("Query", key_condition="") == P + "The expression can not be empty;"


@pytest.mark.parametrize("text, values, message", [
    ("sk = :a", {":a": N(1)}, "Query condition missed key schema element: pk"),
    ("attr1 = :a", {":a": N(1)}, "Query condition missed key schema element: pk"),
    ("pk = :p AND other1 = :a", {":p": "h", ":a": N(1)}, "Query condition missed key schema element: sk"),
    ("pk < :p", {":p": "h"}, "Query key condition not supported"),
    ("pk = :p", {":p": N(1)},
     "One or more parameter values were invalid: Condition parameter type does not match schema type"),
    ("pk = :p AND sk = :s", {":p": "h", ":s": "x"},
     "One or more parameter values were invalid: Condition parameter type does not match schema type"),
    ("a = :p AND b = :p AND c = :p", {":p": "h"},
     "The number of query conditions (3) exceeds the number of key attributes defined in the schema (2)"),
    ("pk = :p", {":p": ""}, "One or more parameter values are not valid. The AttributeValue for a key "
                            "attribute cannot contain an empty string value. Key: pk"),
])
def test_schema_errors(text, values, message):
    assert resolve_error(text, values) == message


def test_two_conditions_on_a_hash_only_schema():
    assert resolve_error("pk = :p AND sk = :a", {":p": "h", ":a": N(1)}, range_name=None) == \
        "The number of query conditions (2) exceeds the number of key attributes defined in the schema (1)"


def test_empty_binary_key_and_index_key_messages():
    assert resolve_error("pk = :p", {":p": Binary(b"")}, types={"pk": "B", "sk": "N"}) == \
        "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an " \
        "empty binary value. Key: pk"
    assert resolve_error("g = :p", {":p": ""}, hash_name="g", range_name=None, types={"g": "S"},
                         index_name="byG") == \
        "One or more parameter values are not valid. A value specified for a secondary index key is not " \
        "supported. The AttributeValue for a key attribute cannot contain an empty string value. " \
        "IndexName: byG, IndexKey: g"


def test_sort_key_value_size_limit():
    types = {"pk": "S", "sk": "S"}
    resolve("pk = :p AND sk = :s", {":p": "h", ":s": "x" * 1024}, types=types)
    assert resolve_error("pk = :p AND sk = :s", {":p": "h", ":s": "x" * 1025}, types=types) == \
        "One or more parameter values were invalid: Aggregated size of all range keys has exceeded the size " \
        "limit of 1024 bytes"


def test_hash_only_condition_on_a_range_table():
    key = resolve("pk = :p", {":p": "h"})
    assert (key.range_op, key.names) == (None, ("pk",))
    assert key.matches_range(N(9))


def test_matches_range():
    key = resolve("pk = :p AND sk BETWEEN :a AND :b", {":p": "h", ":a": N(1), ":b": N(2)})
    assert key.matches_range(N(1)) and key.matches_range(N(2)) and not key.matches_range(N(3))
    assert not key.matches_range("1")
    for text, inside, outside in [("sk < :a", N(0), N(1)), ("sk <= :a", N(1), N(2)), ("sk > :a", N(2), N(1)),
                                  ("sk >= :a", N(1), N(0)), ("sk = :a", N(1), N(2))]:
        key = resolve(f"pk = :p AND {text}", {":p": "h", ":a": N(1)})
        assert key.matches_range(inside) and not key.matches_range(outside), text


def test_key_condition_names():
    kc = key_condition("#h = :p AND sk > :a", {"#h": "pk"}, {":p": "h", ":a": N(1)})
    assert kc.top_level_names == {"pk", "sk"}
    assert set(kc.resolve("pk", "sk", TYPES).names) == {"pk", "sk"}
