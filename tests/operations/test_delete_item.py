"""DeleteItem: remove one item by key, optionally under a condition; deleting a missing item succeeds."""

import pytest

from .helpers import raises, same_item, unique_name, validation

NO_MATCH = "The provided key element does not match the schema"


def test_delete_removes_the_item(range_table):
    """After DeleteItem the item is gone; other items stay."""
    range_table.put_item(Item={"pk": "a", "sk": 1})
    range_table.put_item(Item={"pk": "a", "sk": 2})
    response = range_table.delete_item(Key={"pk": "a", "sk": 1})
    assert "Attributes" not in response
    assert "Item" not in range_table.get_item(Key={"pk": "a", "sk": 1})
    assert "Item" in range_table.get_item(Key={"pk": "a", "sk": 2})


def test_deleting_a_missing_item_succeeds(range_table):
    """Deleting an item that does not exist is a success."""
    response = range_table.delete_item(Key={"pk": "nope", "sk": 1})
    assert "Attributes" not in response


def test_return_values_all_old(range_table):
    """ALL_OLD returns the deleted item."""
    range_table.put_item(Item={"pk": "a", "sk": 1, "v": "x"})
    response = range_table.delete_item(Key={"pk": "a", "sk": 1}, ReturnValues="ALL_OLD")
    assert response["Attributes"] == {"pk": "a", "sk": 1, "v": "x"}


def test_return_values_all_old_of_a_missing_item(range_table):
    """ALL_OLD for a missing item: no Attributes."""
    assert "Attributes" not in range_table.delete_item(Key={"pk": "a", "sk": 1}, ReturnValues="ALL_OLD")


@pytest.mark.parametrize("value", ["ALL_NEW", "UPDATED_OLD", "UPDATED_NEW"])
def test_return_values_only_none_or_all_old(range_table, value):
    """DeleteItem accepts only NONE and ALL_OLD."""
    with validation("Return values set to invalid value"):
        range_table.delete_item(Key={"pk": "a", "sk": 1}, ReturnValues=value)


def test_return_values_enum(range_table):
    """Lower-case enum values are constraint violations."""
    with validation("1 validation error detected: Value 'all_old' at 'returnValues' failed to satisfy constraint: "
                    "Member must satisfy enum value set: [ALL_NEW, UPDATED_OLD, ALL_OLD, NONE, UPDATED_NEW]"):
        range_table.delete_item(Key={"pk": "a", "sk": 1}, ReturnValues="all_old")


def test_condition_passes(range_table):
    """A true condition lets the delete through."""
    range_table.put_item(Item={"pk": "a", "sk": 1, "v": 1})
    range_table.delete_item(Key={"pk": "a", "sk": 1}, ConditionExpression="v = :v", ExpressionAttributeValues={":v": 1})
    assert "Item" not in range_table.get_item(Key={"pk": "a", "sk": 1})


def test_condition_fails(range_table):
    """A false condition is ConditionalCheckFailedException and the item stays."""
    range_table.put_item(Item={"pk": "a", "sk": 1, "v": 1})
    with raises("ConditionalCheckFailedException", "The conditional request failed") as excinfo:
        range_table.delete_item(Key={"pk": "a", "sk": 1}, ConditionExpression="v = :v",
                                ExpressionAttributeValues={":v": 2})
    assert "Item" not in excinfo.value.response
    assert "Item" in range_table.get_item(Key={"pk": "a", "sk": 1})


def test_condition_on_a_missing_item(range_table):
    """attribute_exists on a missing item fails: deleting only existing items is a conditional delete."""
    with raises("ConditionalCheckFailedException", "The conditional request failed"):
        range_table.delete_item(Key={"pk": "a", "sk": 1}, ConditionExpression="attribute_exists(pk)")


def test_old_item_in_condition_failure(range_table):
    """ReturnValuesOnConditionCheckFailure ALL_OLD carries the item in the error."""
    range_table.put_item(Item={"pk": "a", "sk": 1, "v": 1})
    with raises("ConditionalCheckFailedException") as excinfo:
        range_table.delete_item(Key={"pk": "a", "sk": 1}, ConditionExpression="attribute_not_exists(v)",
                                ReturnValuesOnConditionCheckFailure="ALL_OLD")
    assert same_item(excinfo.value.response["Item"], {"pk": "a", "sk": 1, "v": 1})


def test_legacy_expected(range_table):
    """Legacy Expected works on DeleteItem."""
    range_table.put_item(Item={"pk": "a", "sk": 1, "v": 1})
    with raises("ConditionalCheckFailedException"):
        range_table.delete_item(Key={"pk": "a", "sk": 1}, Expected={"v": {"Value": 2}})
    range_table.delete_item(Key={"pk": "a", "sk": 1}, Expected={"v": {"Value": 1}})
    assert "Item" not in range_table.get_item(Key={"pk": "a", "sk": 1})


def test_mixing_expected_and_condition(range_table):
    """Expected and ConditionExpression cannot be mixed."""
    with validation("Can not use both expression and non-expression parameters in the same request: "
                    "Non-expression parameters: {Expected} Expression parameters: {ConditionExpression}"):
        range_table.delete_item(Key={"pk": "a", "sk": 1}, Expected={"v": {"Exists": False}},
                                ConditionExpression="attribute_exists(v)")


def test_values_without_expression(range_table):
    """ExpressionAttributeValues need a ConditionExpression."""
    with validation("ExpressionAttributeValues can only be specified when using expressions: "
                    "ConditionExpression is null"):
        range_table.delete_item(Key={"pk": "a", "sk": 1}, ExpressionAttributeValues={":v": 1})


def test_consumed_capacity(range_table):
    """A delete costs ceil(old size / 1 KB), minimum 1 (also for a missing item)."""
    assert range_table.delete_item(Key={"pk": "a", "sk": 1},
                                   ReturnConsumedCapacity="TOTAL")["ConsumedCapacity"]["CapacityUnits"] == 1.0
    range_table.put_item(Item={"pk": "a", "sk": 1, "v": "x" * 2500})
    assert range_table.delete_item(Key={"pk": "a", "sk": 1},
                                   ReturnConsumedCapacity="TOTAL")["ConsumedCapacity"]["CapacityUnits"] == 3.0


@pytest.mark.parametrize("key", [{"pk": "a"}, {"pk": "a", "sk": 1, "x": 1}, {"pk": "a", "sk": "1"}, {}])
def test_key_not_matching_the_schema(range_table, key):
    """Missing, extra or mistyped key attributes."""
    with validation(NO_MATCH):
        range_table.delete_item(Key=key)


def test_empty_string_key(hash_table):
    """Empty string keys are rejected."""
    with validation("One or more parameter values are not valid. The AttributeValue for a key attribute cannot "
                    "contain an empty string value. Key: pk"):
        hash_table.delete_item(Key={"pk": ""})


def test_missing_table(db):
    """DeleteItem on a missing table."""
    with raises("ResourceNotFoundException", "Requested resource not found"):
        db.Table(unique_name()).delete_item(Key={"pk": "a"})


def test_delete_then_recreate(range_table):
    """A deleted item can be written again."""
    range_table.put_item(Item={"pk": "a", "sk": 1, "v": 1})
    range_table.delete_item(Key={"pk": "a", "sk": 1})
    range_table.put_item(Item={"pk": "a", "sk": 1, "v": 2})
    assert range_table.get_item(Key={"pk": "a", "sk": 1})["Item"]["v"] == 2
