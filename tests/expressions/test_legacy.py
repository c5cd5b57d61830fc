"""Legacy parameters (reference 9): Expected, filters, KeyConditions, AttributeUpdates, AttributesToGet."""

import pytest

from kvstore.errors import ValidationException
from kvstore.expressions import legacy
from kvstore.types import Binary

from .helpers import N

INVALID = "One or more parameter values were invalid: "


def raises(fn, *args, **kwargs):
    with pytest.raises(ValidationException) as e:
        fn(*args, **kwargs)
    return e.value.message


# ================================================================ mixing

@pytest.mark.parametrize("operation, request_, legacy_side, expression_side", [
    ("GetItem", {"AttributesToGet": ["a"], "ProjectionExpression": "a"}, "AttributesToGet", "ProjectionExpression"),
    ("PutItem", {"Expected": {}, "ConditionExpression": "x"}, "Expected", "ConditionExpression"),
    ("PutItem", {"ConditionalOperator": "AND", "ConditionExpression": "x"}, "ConditionalOperator",
     "ConditionExpression"),
    ("UpdateItem", {"AttributeUpdates": {}, "Expected": {}, "ConditionalOperator": "AND",
                    "UpdateExpression": "x", "ConditionExpression": "y"},
     "AttributeUpdates, Expected, ConditionalOperator", "UpdateExpression, ConditionExpression"),
    ("Scan", {"AttributesToGet": ["a"], "ScanFilter": {}, "ConditionalOperator": "AND",
              "FilterExpression": "x", "ProjectionExpression": "b"},
     "AttributesToGet, ScanFilter, ConditionalOperator", "ProjectionExpression, FilterExpression"),
    ("Query", {"KeyConditions": {}, "QueryFilter": {}, "ConditionalOperator": "AND",
               "KeyConditionExpression": "k", "FilterExpression": "f", "ProjectionExpression": "p"},
     "QueryFilter, ConditionalOperator, KeyConditions",
     "ProjectionExpression, FilterExpression, KeyConditionExpression"),
])
def test_mixing_lists_both_sides_in_dynamodb_order(operation, request_, legacy_side, expression_side):
    assert raises(legacy.check_mixing, operation, request_) == \
        "Can not use both expression and non-expression parameters in the same request: " \
        f"Non-expression parameters: {{{legacy_side}}} Expression parameters: {{{expression_side}}}"


def test_key_conditions_may_go_with_other_expressions():
    legacy.check_mixing("Query", {"KeyConditions": {"pk": {}}, "FilterExpression": "a = :v",
                                  "ExpressionAttributeValues": {":v": N(1)}})


def test_placeholder_maps_need_expressions():
    assert raises(legacy.check_mixing, "PutItem", {"Expected": {}, "ExpressionAttributeNames": {},
                                                   "ExpressionAttributeValues": {}}) == \
        "ExpressionAttributeNames can only be specified when using expressions"
    assert raises(legacy.check_mixing, "PutItem", {"Expected": {}, "ExpressionAttributeValues": {}}) == \
        "ExpressionAttributeValues can only be specified when using expressions: ConditionExpression is null"


@pytest.mark.parametrize("operation, request_", [
    ("Scan", {"ConditionalOperator": "AND"}),
    ("Scan", {"ConditionalOperator": "OR", "ScanFilter": {}}),
    ("Scan", {"ConditionalOperator": "AND", "AttributesToGet": ["a", "b"]}),
    ("Query", {"ConditionalOperator": "AND", "KeyConditions": {"pk": {}}}),
    ("Query", {"ConditionalOperator": "AND"}),
    ("PutItem", {"ConditionalOperator": "AND"}),
    ("UpdateItem", {"ConditionalOperator": "AND", "AttributeUpdates": {"a": {}}}),
])
def test_conditional_operator_needs_conditions(operation, request_):
    assert raises(legacy.check_mixing, operation, request_) == \
        "ConditionalOperator cannot be used without Filter or Expected"


def test_conditional_operator_needs_two_conditions():
    cond = {"ComparisonOperator": "EQ", "AttributeValueList": ["x"]}
    for operation, member in (("Scan", "ScanFilter"), ("Query", "QueryFilter"), ("DeleteItem", "Expected")):
        assert raises(legacy.check_mixing, operation, {"ConditionalOperator": "AND", member: {"a": cond}}) == \
            "ConditionalOperator can only be used when Filter or Expected has two or more elements"
        legacy.check_mixing(operation, {"ConditionalOperator": "AND", member: {"a": cond, "b": cond}})


def test_mixing_beats_the_conditional_operator_rule():
    assert raises(legacy.check_mixing, "Scan", {"ConditionalOperator": "AND", "FilterExpression": "a = :v",
                                                "ExpressionAttributeValues": {":v": N(1)}}).startswith(
        "Can not use both")


# ================================================================ Expected

def expected(spec, op=None):
    return legacy.expected_condition(spec, op)


def test_expected_shorthands():
    assert expected({"a": {"Value": N(1)}}).evaluate({"a": N(1)}) is True
    assert expected({"a": {"Value": N(1), "Exists": True}}).evaluate({"a": N(2)}) is False
    assert expected({"a": {"Exists": False}}).evaluate({}) is True
    assert expected({"a": {"Exists": False}}).evaluate({"a": None}) is False
    assert expected({"a": {"Value": None}}).evaluate({"a": None}) is True        # a NULL value
    assert expected({}).evaluate(None) is True


@pytest.mark.parametrize("spec, message", [
    ({"Exists": True, "ComparisonOperator": "EQ"},
     "Exists and ComparisonOperator cannot be used together for Attribute: a"),
    ({"Value": N(1), "AttributeValueList": [N(1)], "ComparisonOperator": "EQ"},
     "Value and AttributeValueList cannot be used together for Attribute: a"),
    ({"AttributeValueList": [N(1)]},
     "AttributeValueList can only be used with a ComparisonOperator for Attribute: a"),
    ({"Exists": False, "Value": N(1)}, "Value cannot be used when Exists is false for Attribute: a"),
    ({"ComparisonOperator": "EQ"},
     "Value or AttributeValueList must be used with ComparisonOperator: EQ for Attribute: a"),
    ({}, "Value must be provided when Exists is null for Attribute: a"),
    ({"Exists": True}, "Value must be provided when Exists is true for Attribute: a"),
    ({"ComparisonOperator": "EQ", "AttributeValueList": []},
     "Invalid number of argument(s) for the EQ ComparisonOperator"),
    ({"ComparisonOperator": "NULL", "AttributeValueList": [N(1)]},
     "Invalid number of argument(s) for the NULL ComparisonOperator"),
    ({"ComparisonOperator": "BEGINS_WITH", "AttributeValueList": [N(1)]},
     "ComparisonOperator BEGINS_WITH is not valid for N AttributeValue type"),
    ({"ComparisonOperator": "LT", "AttributeValueList": [{"x"}]},
     "ComparisonOperator LT is not valid for SS AttributeValue type"),
    ({"ComparisonOperator": "IN", "AttributeValueList": [N(1), "x"]},
     "AttributeValues inside AttributeValueList must be of same type"),
    ({"ComparisonOperator": "BETWEEN", "AttributeValueList": [N(1)]},
     "Invalid number of argument(s) for the BETWEEN ComparisonOperator"),
])
def test_expected_errors(spec, message):
    assert raises(expected, {"a": spec}) == INVALID + message


def test_between_bounds():
    assert raises(expected, {"a": {"ComparisonOperator": "BETWEEN", "AttributeValueList": [N(2), N(1)]}}) == \
        "The BETWEEN condition was provided a range where the lower bound is greater than the upper bound"


def test_unknown_comparison_operator():
    assert raises(legacy.filter_condition, {"a": {"ComparisonOperator": "FOO"}}, None, "ScanFilter") == \
        "1 validation error detected: Value 'FOO' at 'scanFilter.a.member.comparisonOperator' failed to satisfy " \
        "constraint: Member must satisfy enum value set: [IN, NULL, BETWEEN, LT, NOT_CONTAINS, EQ, GT, NOT_NULL, " \
        "NE, LE, BEGINS_WITH, GE, CONTAINS]"


@pytest.mark.parametrize("op, values, item, expected_result", [
    ("EQ", [N(1)], {"a": N(1)}, True),
    ("EQ", [{"x", "y"}], {"a": {"y", "x"}}, True),
    ("EQ", [[N(1)]], {"a": [N(1)]}, True),
    ("NE", [N(1)], {}, True),
    ("NE", [N(1)], {"a": N(1)}, False),
    ("LT", ["b"], {"a": "a"}, True),
    ("LE", [N(1)], {"a": "1"}, False),
    ("GT", [Binary(b"\x01")], {"a": Binary(b"\x80")}, True),
    ("GE", [N(1)], {"a": N(1)}, True),
    ("NULL", [], {"a": None}, False),
    ("NULL", [], {}, True),
    ("NOT_NULL", [], {"a": None}, True),
    ("CONTAINS", ["b"], {"a": "abc"}, True),
    ("CONTAINS", ["b"], {"a": {"a", "b"}}, True),
    ("CONTAINS", [N(2)], {"a": {N(1), N(2)}}, True),
    ("CONTAINS", [N(2)], {"a": [N(2)]}, True),
    ("CONTAINS", [True], {"a": [True]}, True),
    ("CONTAINS", ["z"], {}, False),
    ("NOT_CONTAINS", ["z"], {"a": "abc"}, True),
    ("NOT_CONTAINS", ["b"], {"a": "abc"}, False),
    ("NOT_CONTAINS", ["z"], {}, False),                 # false when the attribute is absent
    ("BEGINS_WITH", ["ab"], {"a": "abc"}, True),
    ("BEGINS_WITH", [Binary(b"\x00")], {"a": Binary(b"\x00\x01")}, True),
    ("IN", ["x", "y"], {"a": "y"}, True),
    ("IN", ["x", "y"], {}, False),
    ("BETWEEN", [N(1), N(3)], {"a": N(3)}, True),
    ("BETWEEN", [N(1), N(3)], {"a": N(4)}, False),
    ("BETWEEN", [N(1), N(3)], {"a": "2"}, False),
])
def test_comparison_operators(op, values, item, expected_result):
    spec = {"ComparisonOperator": op}
    if values:
        spec["AttributeValueList"] = values
    assert expected({"a": spec}).evaluate(item) is expected_result
    assert legacy.filter_condition({"a": spec}).evaluate(item) is expected_result


def test_conditional_operator_and_or():
    spec = {"a": {"Value": N(1)}, "b": {"Value": N(2)}}
    assert expected(spec, "AND").evaluate({"a": N(1), "b": N(3)}) is False
    assert expected(spec, "OR").evaluate({"a": N(1), "b": N(3)}) is True
    assert expected(spec).evaluate({"a": N(1), "b": N(2)}) is True


def test_legacy_names_are_literal():
    c = legacy.filter_condition({"a.b": {"ComparisonOperator": "EQ", "AttributeValueList": [N(1)]}})
    assert c.evaluate({"a.b": N(1)}) is True
    assert c.evaluate({"a": {"b": N(1)}}) is False
    assert c.top_level_names == {"a.b"}


def test_filter_needs_a_comparison_operator():
    assert raises(legacy.filter_condition, {"a": {"AttributeValueList": [N(1)]}}, None, "QueryFilter") == \
        "1 validation error detected: Value null at 'queryFilter.a.member.comparisonOperator' failed to satisfy " \
        "constraint: Member must not be null"


# ================================================================ KeyConditions

def key(spec):
    return legacy.key_conditions(spec)


def test_key_conditions_resolve():
    kc = key({"pk": {"ComparisonOperator": "EQ", "AttributeValueList": ["h"]},
              "sk": {"ComparisonOperator": "BETWEEN", "AttributeValueList": [N(1), N(5)]}})
    resolved = kc.resolve("pk", "sk", {"pk": "S", "sk": "N"})
    assert (resolved.hash_value, resolved.range_op, resolved.range_values) == ("h", "BETWEEN", (N(1), N(5)))


@pytest.mark.parametrize("attr, op, values", [
    ("sk", "NE", [N(1)]), ("sk", "IN", [N(1)]), ("sk", "CONTAINS", [N(1)]), ("sk", "NOT_NULL", []),
    ("pk", "NULL", []), ("pk", "IN", ["h"]),
])
def test_non_indexable_key_conditions(attr, op, values):
    spec = {"pk": {"ComparisonOperator": "EQ", "AttributeValueList": ["h"]}}
    spec[attr] = {"ComparisonOperator": op, "AttributeValueList": values}
    assert raises(key(spec).resolve, "pk", "sk", {"pk": "S", "sk": "N"}) == \
        "Attempted conditional constraint is not an indexable operation"


def test_key_conditions_hash_must_be_eq():
    kc = key({"pk": {"ComparisonOperator": "GT", "AttributeValueList": ["h"]}})
    assert raises(kc.resolve, "pk", None, {"pk": "S"}) == "Query key condition not supported"


def test_key_conditions_count():
    eq = {"ComparisonOperator": "EQ", "AttributeValueList": ["h"]}
    assert raises(key({"a": eq, "b": eq, "c": eq}).resolve, "a", "b", {"a": "S", "b": "S"}) == \
        "Conditions can be of length 1 or 2 only"
    assert raises(key({"a": eq, "b": eq}).resolve, "a", None, {"a": "S"}) == "Query key condition not supported"


def test_key_conditions_type_and_missing_key():
    kc = key({"pk": {"ComparisonOperator": "EQ", "AttributeValueList": [N(1)]}})
    assert raises(kc.resolve, "pk", None, {"pk": "S"}) == \
        INVALID + "Condition parameter type does not match schema type"
    kc = key({"sk": {"ComparisonOperator": "EQ", "AttributeValueList": [N(1)]}})
    assert raises(kc.resolve, "pk", "sk", {"pk": "S", "sk": "N"}) == "Query condition missed key schema element: pk"


# ================================================================ AttributeUpdates

def updates(spec):
    return legacy.attribute_updates(spec)


def test_put_is_the_default_action():
    assert updates({"a": {"Value": N(1)}, "b": {"Action": "PUT", "Value": "x"}}).apply({"pk": "k"}, False) == \
        {"pk": "k", "a": N(1), "b": "x"}


def test_delete_without_a_value_removes():
    u = updates({"a": {"Action": "DELETE"}})
    assert u.apply({"a": N(1), "b": N(2)}, True) == {"b": N(2)}
    assert u.only_removes is True


def test_empty_attribute_updates_create_the_item():
    u = updates({})
    assert u.only_removes is False
    assert u.apply({"pk": "k"}, False) == {"pk": "k"}


def test_delete_set_members():
    u = updates({"s": {"Action": "DELETE", "Value": {"a"}}})
    assert u.apply({"s": {"a", "b"}}, True) == {"s": {"b"}}
    assert u.apply({"s": {"a"}}, True) == {}
    assert u.apply({}, True) == {}
    assert raises(u.apply, {"s": {N(1)}}, True) == "Type mismatch for attribute to update"


def test_add_numbers_sets_and_lists():
    assert updates({"n": {"Action": "ADD", "Value": N(2)}}).apply({"n": N(3)}, True) == {"n": N(5)}
    assert updates({"n": {"Action": "ADD", "Value": N(2)}}).apply({}, True) == {"n": N(2)}
    assert updates({"s": {"Action": "ADD", "Value": {"b"}}}).apply({"s": {"a"}}, True) == {"s": {"a", "b"}}
    assert updates({"l": {"Action": "ADD", "Value": ["b"]}}).apply({"l": ["a"]}, True) == {"l": ["a", "b"]}
    assert updates({"l": {"Action": "ADD", "Value": ["b"]}}).apply({}, True) == {"l": ["b"]}
    assert raises(updates({"n": {"Action": "ADD", "Value": N(2)}}).apply, {"n": "x"}, True) == \
        "Type mismatch for attribute to update"


@pytest.mark.parametrize("spec, message", [
    ({"Action": "PUT"}, "Only DELETE action is allowed when no attribute value is specified"),
    ({"Action": "ADD"}, "Only DELETE action is allowed when no attribute value is specified"),
    ({"Action": "DELETE", "Value": "x"}, "DELETE action with value is not supported for the type S"),
    ({"Action": "DELETE", "Value": N(1)}, "DELETE action with value is not supported for the type N"),
    ({"Action": "ADD", "Value": "x"}, "ADD action is not supported for the type S"),
    ({"Action": "ADD", "Value": {"k": N(1)}}, "ADD action is not supported for the type M"),
])
def test_attribute_update_errors(spec, message):
    assert raises(updates, {"a": spec}) == INVALID + message


def test_attribute_updates_respect_keys_and_return_values():
    u = updates({"pk": {"Value": "x"}})
    assert raises(u.check_keys, ("pk",), ()) == \
        INVALID + "Cannot update attribute pk. This attribute is part of the key"
    u = updates({"a": {"Value": "new"}, "gone": {"Action": "DELETE"}})
    old = {"pk": "k", "a": "old", "gone": N(1)}
    new = u.apply(old, True)
    assert u.updated_old(old) == {"a": "old", "gone": N(1)}
    assert u.updated_new(new) == {"a": "new"}


# ================================================================ AttributesToGet

def test_attributes_to_get():
    p = legacy.attributes_to_get(["a", "b.c", "missing"])
    assert p.apply({"a": N(1), "b.c": N(2), "b": {"c": N(3)}}) == {"a": N(1), "b.c": N(2)}
    assert p.top_level_names == {"a", "b.c", "missing"}


def test_attributes_to_get_limits():
    assert raises(legacy.attributes_to_get, ["a", "b", "a"]) == INVALID + "Duplicate value in attribute name: a"
    assert raises(legacy.attributes_to_get, []) == \
        "1 validation error detected: Value '[]' at 'attributesToGet' failed to satisfy constraint: " \
        "Member must have length greater than or equal to 1"
    legacy.attributes_to_get([f"a{i}" for i in range(255)])
    assert raises(legacy.attributes_to_get, [f"a{i}" for i in range(256)]).endswith(
        "Member must have length less than or equal to 255")


# ================================================================ attribute names

@pytest.mark.parametrize("build", [
    lambda name: legacy.attributes_to_get([name]),
    lambda name: legacy.attribute_updates({name: {"Value": N(1)}}),
    lambda name: legacy.expected_condition({name: {"Exists": False}}),
    lambda name: legacy.filter_condition({name: {"ComparisonOperator": "NULL"}}),
    lambda name: legacy.key_conditions({name: {"ComparisonOperator": "EQ", "AttributeValueList": ["x"]}}),
])
def test_legacy_attribute_names_must_be_valid(build):
    assert raises(build, "") == "Empty attribute name"
    assert raises(build, "x" * 65536) == "Attribute name is too large, must be less than 65536 bytes"
    build("x" * 65535)
