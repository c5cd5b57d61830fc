"""ExpressionAttributeNames / ExpressionAttributeValues rules (reference 8.2, 4.2), in DynamoDB's order."""

import pytest

from kvstore.expressions import compile_request

from .helpers import N, condition, error


def test_names_need_an_expression():
    assert error("GetItem", names={"#a": "a"}) == \
        "ExpressionAttributeNames can only be specified when using expressions"


@pytest.mark.parametrize("operation, kinds", [
    ("PutItem", "ConditionExpression is null"),
    ("DeleteItem", "ConditionExpression is null"),
    ("ConditionCheck", "ConditionExpression is null"),
    ("UpdateItem", "UpdateExpression and ConditionExpression are null"),
    ("Query", "FilterExpression and KeyConditionExpression are null"),
    ("Scan", "FilterExpression is null"),
])
def test_values_need_an_expression_that_can_use_them(operation, kinds):
    assert error(operation, values={":v": N(1)}) == \
        f"ExpressionAttributeValues can only be specified when using expressions: {kinds}"


def test_a_projection_uses_names_but_not_values():
    compile_request("Scan", projection="#a", names={"#a": "a"})
    assert error("Scan", projection="a", values={":v": N(1)}) == \
        "ExpressionAttributeValues can only be specified when using expressions: FilterExpression is null"


def test_names_rule_comes_before_values_rule():
    assert error("PutItem", names={"#a": "a"}, values={":v": N(1)}) == \
        "ExpressionAttributeNames can only be specified when using expressions"


def test_maps_must_not_be_empty():
    assert error(condition="a = :v", names={}, values={":v": N(1)}) == "ExpressionAttributeNames must not be empty"
    assert error(condition="a = :v", values={}) == "ExpressionAttributeValues must not be empty"


@pytest.mark.parametrize("key", ["a", "#", "#a-b", "# a", ":a", "#a.b", "#é"])
def test_name_keys_are_placeholder_tokens(key):
    assert error(condition="a = :v", names={key: "x"}, values={":v": N(1)}) == \
        f'ExpressionAttributeNames contains invalid key: Syntax error; key: "{key}"'


@pytest.mark.parametrize("key", ["v", ":", ":a-b", "#a"])
def test_value_keys_are_placeholder_tokens(key):
    assert error(condition="a = :v", values={key: N(1)}) == \
        f'ExpressionAttributeValues contains invalid key: Syntax error; key: "{key}"'


def test_placeholder_keys_may_have_255_bytes():
    key = "#" + "a" * 254
    condition(f"{key} = :v", names={key: "x"}, values={":v": N(1)})
    assert error(condition="a = :v", names={"#" + "a" * 255: "x"}, values={":v": N(1)}) == \
        "ExpressionAttributeNames contains invalid key: The expression attribute map contains a key that is " \
        "too long; size of key: 256"
    # the size is checked before the syntax
    assert error(condition="a = :v", names={"#" + "a" * 255 + "-x": "x"}, values={":v": N(1)}).endswith(
        "size of key: 258")
    assert error(condition="a = :v", values={":" + "a" * 255: N(1)}) == \
        "ExpressionAttributeValues contains invalid key: The expression attribute map contains a key that is " \
        "too long;"


def test_empty_attribute_name():
    assert error(condition="#a = :v", names={"#a": ""}, values={":v": N(1)}) == \
        "ExpressionAttributeNames contains invalid value: Empty attribute name for key #a"


def test_empty_values_are_fine():
    assert condition("a = :v", values={":v": ""}).evaluate({"a": ""}) is True


def test_undefined_placeholders():
    assert error(condition="#a = :v", values={":v": N(1)}) == "Invalid ConditionExpression: An expression " \
        "attribute name used in the document path is not defined; attribute name: #a"
    assert error(condition="a = :v") == "Invalid ConditionExpression: An expression attribute value used in " \
        "expression is not defined; attribute value: :v"
    assert error("GetItem", projection="a.#u") == "Invalid ProjectionExpression: An expression attribute " \
        "name used in the document path is not defined; attribute name: #u"


def test_unused_placeholders_are_listed_in_order():
    assert error(condition="a = :v", names={"#b": "b", "#c": "c"}, values={":v": N(1)}) == \
        "Value provided in ExpressionAttributeNames unused in expressions: keys: {#b, #c}"
    assert error(condition="a = :v", values={":v": N(1), ":w": N(2), ":x": N(3)}) == \
        "Value provided in ExpressionAttributeValues unused in expressions: keys: {:w, :x}"


def test_unused_names_are_reported_before_unused_values():
    assert error(condition="a = :v", names={"#b": "b"}, values={":v": N(1), ":w": N(2)}).startswith(
        "Value provided in ExpressionAttributeNames unused")


def test_usage_is_decided_by_the_text_not_by_evaluation():
    # the right side of OR is never evaluated for a missing item, but :w counts as used
    c = condition("attribute_not_exists(a) OR b = :w", values={":w": N(1)})
    assert c.evaluate(None) is True


def test_placeholders_are_shared_by_all_expressions_of_a_request():
    compiled = compile_request("Query", key_condition="#k = :k", filter="#f > :k", projection="#k, #f",
                               names={"#k": "pk", "#f": "score"}, values={":k": N(1)})
    assert compiled.key_condition is not None and compiled.filter is not None
    assert error("Query", key_condition="pk = :k", filter="#f > :k", names={"#f": "f", "#g": "g"},
                 values={":k": N(1)}) == "Value provided in ExpressionAttributeNames unused in expressions: keys: {#g}"


def test_each_expression_is_parsed_in_dynamodb_order():
    # UpdateItem: UpdateExpression before ConditionExpression; Query: filter, projection, key condition
    assert error("UpdateItem", update="SET", condition="dog(a)").startswith("Invalid UpdateExpression")
    assert error("Query", key_condition="", filter="", projection="").startswith("Invalid FilterExpression")
    assert error("Query", key_condition="", projection="").startswith("Invalid ProjectionExpression")


def test_problems_inside_an_expression_come_before_unused_placeholders():
    assert error("GetItem", projection="a, a.b", names={"#z": "z"}).startswith(
        "Invalid ProjectionExpression: Two document paths overlap")


def test_a_name_placeholder_is_one_path_component():
    c = condition("#n = :v", names={"#n": "a.b"}, values={":v": N(1)})
    assert c.evaluate({"a.b": N(1)}) is True
    assert c.evaluate({"a": {"b": N(1)}}) is False


def test_remembered_results_do_not_confuse_types():
    assert condition("a = :v", values={":v": True}).evaluate({"a": True}) is True
    assert condition("a = :v", values={":v": N(1)}).evaluate({"a": True}) is False
    assert condition("a = :v", values={":v": N(1)}).evaluate({"a": N(1)}) is True
