"""PutItem: create or replace a whole item, optionally under a condition; key and request validation."""

from decimal import Decimal

import pytest

from .helpers import assert_error, create_table, raises, same_item, unique_name, validation

INVALID = "One or more parameter values were invalid: "
RETURN_VALUES_ENUM = "[ALL_NEW, UPDATED_OLD, ALL_OLD, NONE, UPDATED_NEW]"


# -- writing --------------------------------------------------------------------------

def test_put_then_get(hash_table):
    """A put item is read back as written."""
    item = {"pk": "a", "s": "x", "n": 5, "b": b"\x00\x01", "t": True, "z": None,
            "m": {"k": [1, "two"]}, "ss": {"a", "b"}}
    assert "Attributes" not in hash_table.put_item(Item=item)
    assert hash_table.get_item(Key={"pk": "a"})["Item"] == item


def test_put_replaces_the_whole_item(hash_table):
    """PutItem replaces: attributes of the old item that the new one lacks are gone."""
    hash_table.put_item(Item={"pk": "a", "old": 1, "both": 1})
    hash_table.put_item(Item={"pk": "a", "new": 2, "both": 2})
    assert hash_table.get_item(Key={"pk": "a"})["Item"] == {"pk": "a", "new": 2, "both": 2}


def test_response_is_empty_by_default(hash_table):
    """Without ReturnValues the response has no Attributes (old item or not)."""
    assert "Attributes" not in hash_table.put_item(Item={"pk": "a"})
    assert "Attributes" not in hash_table.put_item(Item={"pk": "a", "v": 1})


def test_key_only_item(range_table):
    """An item may consist of its key alone."""
    range_table.put_item(Item={"pk": "a", "sk": 1})
    assert range_table.get_item(Key={"pk": "a", "sk": 1})["Item"] == {"pk": "a", "sk": 1}


def test_sort_key_distinguishes_items(range_table):
    """Same partition key, different sort keys: two items."""
    range_table.put_item(Item={"pk": "a", "sk": 1, "v": "one"})
    range_table.put_item(Item={"pk": "a", "sk": 2, "v": "two"})
    assert range_table.get_item(Key={"pk": "a", "sk": 1})["Item"]["v"] == "one"
    assert range_table.get_item(Key={"pk": "a", "sk": 2})["Item"]["v"] == "two"


def test_unicode_and_nul_in_values_and_names(hash_table):
    """Any code point, NUL included, may appear in strings and attribute names."""
    item = {"pk": "\x00é日本", "na\x00me": "v\x00al", "a.b#c[0] d": "odd name", "😀": "emoji"}
    hash_table.put_item(Item=item)
    assert hash_table.get_item(Key={"pk": "\x00é日本"})["Item"] == item


# -- ReturnValues ----------------------------------------------------------------------------

def test_return_values_all_old(hash_table):
    """ALL_OLD returns the replaced item."""
    hash_table.put_item(Item={"pk": "a", "v": 1})
    response = hash_table.put_item(Item={"pk": "a", "v": 2}, ReturnValues="ALL_OLD")
    assert response["Attributes"] == {"pk": "a", "v": 1}


def test_return_values_all_old_on_a_new_item(hash_table):
    """ALL_OLD on a new item: Attributes is omitted entirely."""
    assert "Attributes" not in hash_table.put_item(Item={"pk": "a"}, ReturnValues="ALL_OLD")


def test_return_values_none(hash_table):
    """NONE returns nothing."""
    hash_table.put_item(Item={"pk": "a", "v": 1})
    assert "Attributes" not in hash_table.put_item(Item={"pk": "a"}, ReturnValues="NONE")


@pytest.mark.parametrize("value", ["ALL_NEW", "UPDATED_OLD", "UPDATED_NEW"])
def test_return_values_only_none_or_all_old(hash_table, value):
    """PutItem accepts only NONE and ALL_OLD."""
    with validation("Return values set to invalid value"):
        hash_table.put_item(Item={"pk": "a"}, ReturnValues=value)


@pytest.mark.parametrize("value", ["none", "all_old", "BOGUS"])
def test_return_values_enum_is_case_sensitive(hash_table, value):
    """Enum values are case-sensitive: anything else is a constraint violation."""
    with validation(f"1 validation error detected: Value '{value}' at 'returnValues' failed to satisfy constraint: "
                    f"Member must satisfy enum value set: {RETURN_VALUES_ENUM}"):
        hash_table.put_item(Item={"pk": "a"}, ReturnValues=value)


def test_several_enum_violations_are_reported_together(hash_table):
    """Several bad enum members are listed in one message."""
    with validation(startswith="3 validation errors detected: ",
                    contains=[f"Value 'x' at 'returnValues' failed to satisfy constraint: Member must satisfy enum "
                              f"value set: {RETURN_VALUES_ENUM}",
                              "Value 'y' at 'returnConsumedCapacity' failed to satisfy constraint: Member must "
                              "satisfy enum value set: [",
                              "Value 'z' at 'returnItemCollectionMetrics' failed to satisfy constraint: Member must "
                              "satisfy enum value set: ["]):
        hash_table.put_item(Item={"pk": "a"}, ReturnValues="x", ReturnConsumedCapacity="y",
                            ReturnItemCollectionMetrics="z")


def test_constraint_errors_come_before_table_existence(db):
    """A bad enum on a missing table is still a ValidationException."""
    with validation(contains="returnValues"):
        db.Table(unique_name()).put_item(Item={"pk": "a"}, ReturnValues="bogus")


# -- ReturnConsumedCapacity / ReturnItemCollectionMetrics ------------------------------------------

def test_consumed_capacity_total(hash_table):
    """TOTAL adds ConsumedCapacity with the table name and units (1 WCU for a small item)."""
    response = hash_table.put_item(Item={"pk": "a"}, ReturnConsumedCapacity="TOTAL")
    assert response["ConsumedCapacity"]["TableName"] == hash_table.name
    assert response["ConsumedCapacity"]["CapacityUnits"] == 1.0


def test_consumed_capacity_rounds_up_per_kilobyte(hash_table):
    """Writes cost ceil(size / 1 KB) units: a 2.5 KB item costs 3."""
    response = hash_table.put_item(Item={"pk": "a", "v": "x" * 2500}, ReturnConsumedCapacity="TOTAL")
    assert response["ConsumedCapacity"]["CapacityUnits"] == 3.0


def test_consumed_capacity_counts_the_larger_of_old_and_new(hash_table):
    """Replacing a big item with a small one costs as much as the big one."""
    hash_table.put_item(Item={"pk": "a", "v": "x" * 2500})
    response = hash_table.put_item(Item={"pk": "a"}, ReturnConsumedCapacity="TOTAL")
    assert response["ConsumedCapacity"]["CapacityUnits"] == 3.0


def test_consumed_capacity_indexes(hash_table):
    """INDEXES adds the Table part."""
    response = hash_table.put_item(Item={"pk": "a"}, ReturnConsumedCapacity="INDEXES")
    assert response["ConsumedCapacity"]["Table"]["CapacityUnits"] == 1.0


def test_consumed_capacity_none(hash_table):
    """NONE (the default) adds nothing."""
    assert "ConsumedCapacity" not in hash_table.put_item(Item={"pk": "a"}, ReturnConsumedCapacity="NONE")


def test_item_collection_metrics_only_with_an_lsi(hash_table):
    """ReturnItemCollectionMetrics SIZE adds nothing on a table without LSI."""
    assert "ItemCollectionMetrics" not in hash_table.put_item(Item={"pk": "a"}, ReturnItemCollectionMetrics="SIZE")


# -- conditions -------------------------------------------------------------------------------

def test_condition_attribute_not_exists_creates(hash_table):
    """attribute_not_exists(pk) lets a put through when no item has the key."""
    hash_table.put_item(Item={"pk": "a", "v": 1}, ConditionExpression="attribute_not_exists(pk)")
    assert hash_table.get_item(Key={"pk": "a"})["Item"] == {"pk": "a", "v": 1}


def test_condition_attribute_not_exists_fails_on_existing(hash_table):
    """... and fails with ConditionalCheckFailedException when one does; the item is unchanged."""
    hash_table.put_item(Item={"pk": "a", "v": 1})
    with raises("ConditionalCheckFailedException", "The conditional request failed") as excinfo:
        hash_table.put_item(Item={"pk": "a", "v": 2}, ConditionExpression="attribute_not_exists(pk)")
    assert "Item" not in excinfo.value.response
    assert hash_table.get_item(Key={"pk": "a"})["Item"] == {"pk": "a", "v": 1}


def test_condition_sees_the_existing_item(hash_table):
    """The condition is evaluated against the stored item."""
    hash_table.put_item(Item={"pk": "a", "v": 1})
    hash_table.put_item(Item={"pk": "a", "v": 2}, ConditionExpression="v = :one",
                        ExpressionAttributeValues={":one": 1})
    with raises("ConditionalCheckFailedException"):
        hash_table.put_item(Item={"pk": "a", "v": 3}, ConditionExpression="v = :one",
                            ExpressionAttributeValues={":one": 1})


def test_condition_on_a_missing_item_sees_nothing(hash_table):
    """A missing item has every attribute absent: attribute_exists fails."""
    with raises("ConditionalCheckFailedException"):
        hash_table.put_item(Item={"pk": "a"}, ConditionExpression="attribute_exists(pk)")
    assert "Item" not in hash_table.get_item(Key={"pk": "a"})


def test_return_old_item_on_condition_failure(hash_table):
    """ReturnValuesOnConditionCheckFailure ALL_OLD puts the old item into the error."""
    hash_table.put_item(Item={"pk": "a", "v": 1})
    with raises("ConditionalCheckFailedException", "The conditional request failed") as excinfo:
        hash_table.put_item(Item={"pk": "a"}, ConditionExpression="attribute_not_exists(pk)",
                            ReturnValuesOnConditionCheckFailure="ALL_OLD")
    assert same_item(excinfo.value.response["Item"], {"pk": "a", "v": 1})


def test_no_old_item_on_condition_failure_of_a_missing_item(hash_table):
    """With no old item, the error carries no Item."""
    with raises("ConditionalCheckFailedException") as excinfo:
        hash_table.put_item(Item={"pk": "a"}, ConditionExpression="attribute_exists(pk)",
                            ReturnValuesOnConditionCheckFailure="ALL_OLD")
    assert "Item" not in excinfo.value.response


def test_return_values_on_condition_failure_only_all_old_or_none(hash_table):
    """ReturnValuesOnConditionCheckFailure takes NONE or ALL_OLD only."""
    with validation():
        hash_table.put_item(Item={"pk": "a"}, ConditionExpression="attribute_not_exists(pk)",
                            ReturnValuesOnConditionCheckFailure="UPDATED_OLD")


def test_condition_with_names_and_values(hash_table):
    """Placeholders in ExpressionAttributeNames / Values are bound."""
    hash_table.put_item(Item={"pk": "a", "size": 3})
    hash_table.put_item(Item={"pk": "a", "size": 4}, ConditionExpression="#s < :max",
                        ExpressionAttributeNames={"#s": "size"}, ExpressionAttributeValues={":max": 4})
    assert hash_table.get_item(Key={"pk": "a"})["Item"]["size"] == 4


def test_legacy_expected_exists_false(hash_table):
    """Legacy Expected {Exists: false} is attribute_not_exists."""
    hash_table.put_item(Item={"pk": "a"}, Expected={"pk": {"Exists": False}})
    with raises("ConditionalCheckFailedException", "The conditional request failed"):
        hash_table.put_item(Item={"pk": "a"}, Expected={"pk": {"Exists": False}})


def test_legacy_expected_value(hash_table):
    """Legacy Expected {Value: v} is equality."""
    hash_table.put_item(Item={"pk": "a", "v": 1})
    hash_table.put_item(Item={"pk": "a", "v": 2}, Expected={"v": {"Value": 1}})
    with raises("ConditionalCheckFailedException"):
        hash_table.put_item(Item={"pk": "a", "v": 3}, Expected={"v": {"Value": 1}})


def test_mixing_expected_and_condition_expression(hash_table):
    """Legacy and expression parameters cannot be mixed."""
    with validation("Can not use both expression and non-expression parameters in the same request: "
                    "Non-expression parameters: {Expected} Expression parameters: {ConditionExpression}"):
        hash_table.put_item(Item={"pk": "a"}, Expected={"pk": {"Exists": False}},
                            ConditionExpression="attribute_not_exists(pk)")


def test_names_without_expression(hash_table):
    """ExpressionAttributeNames need an expression that uses them."""
    with validation("ExpressionAttributeNames can only be specified when using expressions"):
        hash_table.put_item(Item={"pk": "a"}, ExpressionAttributeNames={"#a": "a"})


def test_values_without_expression(hash_table):
    """ExpressionAttributeValues need a ConditionExpression on PutItem."""
    with validation("ExpressionAttributeValues can only be specified when using expressions: "
                    "ConditionExpression is null"):
        hash_table.put_item(Item={"pk": "a"}, ExpressionAttributeValues={":v": 1})


def test_empty_names_map(hash_table):
    """An empty ExpressionAttributeNames map is rejected."""
    with validation("ExpressionAttributeNames must not be empty"):
        hash_table.put_item(Item={"pk": "a"}, ConditionExpression="attribute_not_exists(pk)",
                            ExpressionAttributeNames={})


def test_empty_values_map(hash_table):
    """An empty ExpressionAttributeValues map is rejected."""
    with validation("ExpressionAttributeValues must not be empty"):
        hash_table.put_item(Item={"pk": "a"}, ConditionExpression="attribute_not_exists(pk)",
                            ExpressionAttributeValues={})


def test_unused_value(hash_table):
    """Every provided value placeholder must be used."""
    with validation("Value provided in ExpressionAttributeValues unused in expressions: keys: {:v}"):
        hash_table.put_item(Item={"pk": "a"}, ConditionExpression="attribute_not_exists(pk)",
                            ExpressionAttributeValues={":v": 1})


def test_unused_name(hash_table):
    """Every provided name placeholder must be used."""
    with validation("Value provided in ExpressionAttributeNames unused in expressions: keys: {#b}"):
        hash_table.put_item(Item={"pk": "a"}, ConditionExpression="attribute_not_exists(#a)",
                            ExpressionAttributeNames={"#a": "pk", "#b": "other"})


def test_bad_name_placeholder_key(hash_table):
    """Keys of ExpressionAttributeNames must look like #placeholders."""
    with validation('ExpressionAttributeNames contains invalid key: Syntax error; key: "a"'):
        hash_table.put_item(Item={"pk": "a"}, ConditionExpression="attribute_not_exists(pk)",
                            ExpressionAttributeNames={"a": "pk"})


def test_bad_value_placeholder_key(hash_table):
    """Keys of ExpressionAttributeValues must look like :placeholders."""
    with validation('ExpressionAttributeValues contains invalid key: Syntax error; key: "v"'):
        hash_table.put_item(Item={"pk": "a"}, ConditionExpression="attribute_not_exists(pk)",
                            ExpressionAttributeValues={"v": 1})


def test_condition_failure_still_validates_first(hash_table):
    """A request that is invalid is rejected even if its condition would fail."""
    hash_table.put_item(Item={"pk": "a"})
    with validation(INVALID + "Missing the key pk in the item"):
        hash_table.put_item(Item={"v": 1}, ConditionExpression="attribute_not_exists(v)")


# -- key validation -----------------------------------------------------------------------------

def test_missing_hash_key(hash_table):
    """An item without the partition key names it."""
    with validation(INVALID + "Missing the key pk in the item"):
        hash_table.put_item(Item={"other": "x"})


def test_missing_range_key(range_table):
    """An item without the sort key names it."""
    with validation(INVALID + "Missing the key sk in the item"):
        range_table.put_item(Item={"pk": "a"})


@pytest.mark.parametrize("value, actual", [(1, "N"), (b"x", "B"), (True, "BOOL"), (None, "NULL"),
                                           ({"a": "b"}, "M"), (["a"], "L"), ({"a"}, "SS")])
def test_hash_key_of_wrong_type(hash_table, value, actual):
    """A key attribute of the wrong type names the expected and actual types."""
    with validation(INVALID + f"Type mismatch for key pk expected: S actual: {actual}"):
        hash_table.put_item(Item={"pk": value})


def test_range_key_of_wrong_type(range_table):
    """The sort key is checked the same way."""
    with validation(INVALID + "Type mismatch for key sk expected: N actual: S"):
        range_table.put_item(Item={"pk": "a", "sk": "1"})


def test_empty_string_hash_key(hash_table):
    """Key attributes cannot be empty strings."""
    with validation("One or more parameter values are not valid. The AttributeValue for a key attribute cannot "
                    "contain an empty string value. Key: pk"):
        hash_table.put_item(Item={"pk": ""})


def test_empty_string_range_key(string_range_table):
    """Nor can a sort key."""
    with validation("One or more parameter values are not valid. The AttributeValue for a key attribute cannot "
                    "contain an empty string value. Key: sk"):
        string_range_table.put_item(Item={"pk": "a", "sk": ""})


def test_empty_binary_key(binary_table):
    """Key attributes cannot be empty binary values."""
    with validation("One or more parameter values are not valid. The AttributeValue for a key attribute cannot "
                    "contain an empty binary value. Key: pk"):
        binary_table.put_item(Item={"pk": b"", "sk": b"x"})


# -- request validation -------------------------------------------------------------------------

def test_missing_table(db):
    """PutItem on a missing table is ResourceNotFoundException."""
    with raises("ResourceNotFoundException", "Requested resource not found"):
        db.Table(unique_name()).put_item(Item={"pk": "a"})


def test_table_name_with_invalid_characters(db):
    """An impossible table name is a constraint violation, not a missing table."""
    with validation("1 validation error detected: Value 'a!b' at 'tableName' failed to satisfy constraint: "
                    "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+"):
        db.Table("a!b").put_item(Item={"pk": "a"})


def test_table_name_too_long(db):
    """Data-plane table names are at most 255 characters."""
    name = "a" * 256
    with validation(f"1 validation error detected: Value '{name}' at 'tableName' failed to satisfy constraint: "
                    "Member must have length less than or equal to 255"):
        db.Table(name).put_item(Item={"pk": "a"})


def test_empty_table_name(db):
    """... and at least 1 character."""
    with validation(startswith="1 validation error detected: Value",
                    endswith="at 'tableName' failed to satisfy constraint: "
                             "Member must have length greater than or equal to 1"):
        db.Table("").put_item(Item={"pk": "a"})


def test_missing_item(hash_table):
    """Item is required."""
    with validation("1 validation error detected: Value null at 'item' failed to satisfy constraint: "
                    "Member must not be null"):
        hash_table.put_item()


def test_empty_attribute_name(hash_table):
    """An attribute name cannot be empty."""
    with validation(contains="Empty attribute name"):
        hash_table.put_item(Item={"pk": "a", "": "x"})


def test_attribute_name_of_65535_bytes(hash_table):
    """Attribute names may be up to 65535 bytes."""
    name = "n" * 65535
    hash_table.put_item(Item={"pk": "a", name: "x"})
    assert hash_table.get_item(Key={"pk": "a"})["Item"][name] == "x"


def test_attribute_name_of_65536_bytes(hash_table):
    """A 65536-byte attribute name is rejected; the message names the limit."""
    with validation() as excinfo:
        hash_table.put_item(Item={"pk": "a", "n" * 65536: "x"})
    message = excinfo.value.response["Error"]["Message"]
    assert "65535" in message or "65536" in message


def test_put_on_a_table_with_other_items_leaves_them(db):
    """A put touches one item only."""
    table = create_table(db)
    table.put_item(Item={"pk": "a", "v": 1})
    table.put_item(Item={"pk": "b", "v": 2})
    assert table.get_item(Key={"pk": "a"})["Item"] == {"pk": "a", "v": 1}
    assert Decimal(2) == table.get_item(Key={"pk": "b"})["Item"]["v"]


def test_error_carries_status_400(hash_table):
    """Client errors are HTTP 400."""
    e = assert_error(lambda: hash_table.put_item(Item={}), "ValidationException",
                     INVALID + "Missing the key pk in the item")
    assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 400


# -- expression limits on a write ---------------------------------------------------------------

def test_condition_expression_of_4096_bytes(hash_table):
    """A ConditionExpression may be 4096 bytes long."""
    condition = "attribute_not_exists(pk)" + " AND attribute_not_exists(pk)" * 100
    condition += " " * (4096 - len(condition))
    hash_table.put_item(Item={"pk": "a"}, ConditionExpression=condition)


def test_condition_expression_of_4097_bytes(hash_table):
    """One byte more is rejected before parsing, with the size in the message."""
    condition = "attribute_not_exists(pk)" + " " * (4097 - len("attribute_not_exists(pk)"))
    with validation("Invalid ConditionExpression: Expression size has exceeded the maximum allowed size; "
                    "expression size: 4097"):
        hash_table.put_item(Item={"pk": "a"}, ConditionExpression=condition)


def test_in_list_of_99_values(hash_table):
    """IN takes up to 100 operands including the left one (99 list values), of mixed types."""
    values = {f":v{i}": (i if i % 2 else f"s{i}") for i in range(99)}
    hash_table.put_item(Item={"pk": "a"}, ConditionExpression=f"v IN ({', '.join(values)}) OR attribute_not_exists(v)",
                        ExpressionAttributeValues=values)


def test_in_list_of_too_many_values(hash_table):
    """Longer IN lists are rejected."""
    values = {f":v{i}": i for i in range(120)}
    with validation():
        hash_table.put_item(Item={"pk": "a"}, ConditionExpression=f"v IN ({', '.join(values)})",
                            ExpressionAttributeValues=values)


def test_299_operators(hash_table):
    """Up to 300 operators per expression: 150 comparisons joined by 149 ORs pass."""
    hash_table.put_item(Item={"pk": "a", "v": 1})
    condition = " OR ".join(["v = :v"] * 150)
    hash_table.put_item(Item={"pk": "a", "v": 2}, ConditionExpression=condition, ExpressionAttributeValues={":v": 1})


def test_too_many_operators(hash_table):
    """454 ORs (and 455 comparisons) are too many operators."""
    condition = " OR ".join(["v=:v"] * 455)
    with validation(startswith="Invalid ConditionExpression: ", contains="operator"):
        hash_table.put_item(Item={"pk": "a"}, ConditionExpression=condition, ExpressionAttributeValues={":v": 1})


def test_empty_attribute_name_through_a_placeholder(hash_table):
    """A #placeholder naming the empty string is rejected."""
    with validation(contains="Empty attribute name"):
        hash_table.put_item(Item={"pk": "a"}, ConditionExpression="attribute_not_exists(#e)",
                            ExpressionAttributeNames={"#e": ""})
