"""GetItem: one item by its full key, optionally projected; key and request validation."""

import pytest

from .helpers import raises, unique_name, validation

INVALID = "One or more parameter values were invalid: "
NO_MATCH = "The provided key element does not match the schema"
ITEM = {"pk": "a", "sk": 1, "x": 1, "y": "why", "m": {"b": [10, 20, 30], "c": 3}, "l": [{"d": 1}, {"d": 2}]}


@pytest.fixture
def stored(range_table):
    range_table.put_item(Item=ITEM)
    return range_table


def get(table, **kwargs):
    return table.get_item(Key={"pk": "a", "sk": 1}, **kwargs)


def test_get_existing_item(stored):
    """GetItem returns the whole item under Item."""
    assert get(stored)["Item"] == ITEM


def test_missing_item_has_no_item_member(range_table):
    """For a missing item the response has no Item member at all."""
    assert "Item" not in get(range_table)


def test_consistent_read(stored):
    """ConsistentRead=true reads the latest write."""
    stored.put_item(Item={"pk": "a", "sk": 1, "v": "new"})
    assert get(stored, ConsistentRead=True)["Item"] == {"pk": "a", "sk": 1, "v": "new"}


def test_key_must_be_exact(range_table):
    """A different sort key is a different item."""
    range_table.put_item(Item={"pk": "a", "sk": 2})
    assert "Item" not in get(range_table)


# -- projection ---------------------------------------------------------------------------

def test_projection_of_top_level_attributes(stored):
    """A ProjectionExpression returns only the named attributes; keys only if named."""
    assert get(stored, ProjectionExpression="x, y")["Item"] == {"x": 1, "y": "why"}


def test_projection_keeps_nesting(stored):
    """Nested paths keep their place: m.b[1] gives {m: {b: [20]}}."""
    assert get(stored, ProjectionExpression="m.b[1]")["Item"] == {"m": {"b": [20]}}


def test_projection_merges_paths(stored):
    """Several paths into one map are merged."""
    assert get(stored, ProjectionExpression="m.b[0], m.c, l[1].d")["Item"] == {
        "m": {"b": [10], "c": 3}, "l": [{"d": 2}]}


def test_projection_matching_nothing(stored):
    """An existing item with nothing matched gives Item: {}."""
    assert get(stored, ProjectionExpression="nothing, m.zzz")["Item"] == {}


def test_projection_on_a_missing_item(range_table):
    """A projection on a missing item still gives no Item member."""
    assert "Item" not in get(range_table, ProjectionExpression="x")


def test_projection_with_names(stored):
    """#placeholders in a projection come from ExpressionAttributeNames."""
    assert get(stored, ProjectionExpression="#k, #m.#c",
               ExpressionAttributeNames={"#k": "pk", "#m": "m", "#c": "c"})["Item"] == {"pk": "a", "m": {"c": 3}}


def test_projection_of_a_reserved_word_needs_a_name(stored):
    """Reserved words can only be projected through a placeholder."""
    with validation("Invalid ProjectionExpression: Attribute name is a reserved keyword; reserved keyword: size"):
        get(stored, ProjectionExpression="size")


def test_empty_projection(stored):
    """An empty ProjectionExpression is rejected."""
    with validation("Invalid ProjectionExpression: The expression can not be empty;"):
        get(stored, ProjectionExpression="")


def test_overlapping_projection_paths(stored):
    """Projection paths may not overlap."""
    with validation("Invalid ProjectionExpression: Two document paths overlap with each other; must remove or "
                    "rewrite one of these paths; path one: [x], path two: [x]"):
        get(stored, ProjectionExpression="x, x")


def test_unused_name_in_projection(stored):
    """Every ExpressionAttributeNames entry must be used."""
    with validation("Value provided in ExpressionAttributeNames unused in expressions: keys: {#b}"):
        get(stored, ProjectionExpression="#a", ExpressionAttributeNames={"#a": "x", "#b": "y"})


def test_undefined_name_in_projection(stored):
    """A #placeholder with no definition is rejected."""
    with validation("Invalid ProjectionExpression: An expression attribute name used in the document path is not "
                    "defined; attribute name: #nope"):
        get(stored, ProjectionExpression="#nope")


def test_names_without_projection(stored):
    """ExpressionAttributeNames without any expression are rejected."""
    with validation("ExpressionAttributeNames can only be specified when using expressions"):
        get(stored, ExpressionAttributeNames={"#a": "x"})


def test_legacy_attributes_to_get(stored):
    """Legacy AttributesToGet is a top-level projection."""
    assert get(stored, AttributesToGet=["x", "pk"])["Item"] == {"x": 1, "pk": "a"}


def test_attributes_to_get_with_duplicates(stored):
    """AttributesToGet may not repeat a name."""
    with validation(INVALID + "Duplicate value in attribute name: x"):
        get(stored, AttributesToGet=["x", "x"])


def test_empty_attributes_to_get(stored):
    """AttributesToGet cannot be empty."""
    with validation():
        get(stored, AttributesToGet=[])


def test_mixing_attributes_to_get_and_projection(stored):
    """Legacy AttributesToGet cannot be combined with ProjectionExpression."""
    with validation("Can not use both expression and non-expression parameters in the same request: "
                    "Non-expression parameters: {AttributesToGet} Expression parameters: {ProjectionExpression}"):
        get(stored, AttributesToGet=["x"], ProjectionExpression="y")


# -- capacity -----------------------------------------------------------------------------------

def test_consumed_capacity_eventually_consistent(stored):
    """A small item costs 0.5 RCU eventually consistent ..."""
    assert get(stored, ReturnConsumedCapacity="TOTAL")["ConsumedCapacity"]["CapacityUnits"] == 0.5


def test_consumed_capacity_strongly_consistent(stored):
    """... and 1 RCU strongly consistent."""
    response = get(stored, ReturnConsumedCapacity="TOTAL", ConsistentRead=True)
    assert response["ConsumedCapacity"] == {**response["ConsumedCapacity"], "TableName": stored.name,
                                            "CapacityUnits": 1.0}


def test_consumed_capacity_rounds_up_per_4kb(range_table):
    """Reads cost ceil(size / 4 KB) units: a 5 KB item costs 2 (1 eventually consistent)."""
    range_table.put_item(Item={"pk": "a", "sk": 1, "v": "x" * 5000})
    strong = get(range_table, ReturnConsumedCapacity="TOTAL", ConsistentRead=True)
    assert strong["ConsumedCapacity"]["CapacityUnits"] == 2.0
    assert get(range_table, ReturnConsumedCapacity="TOTAL")["ConsumedCapacity"]["CapacityUnits"] == 1.0


@pytest.mark.parametrize("filler,units", [(4088, 1.0), (4089, 2.0)])
def test_capacity_of_a_large_item_follows_the_dynamodb_item_size(range_table, filler, units):
    """Reference 7: ceil(size / 4 KB) on the DynamoDB item size (pk 3 + sk 4 + v 1 + filler bytes), not the stored size."""
    range_table.put_item(Item={"pk": "a", "sk": 1, "v": "x" * filler})
    response = get(range_table, ReturnConsumedCapacity="TOTAL", ConsistentRead=True)
    assert response["ConsumedCapacity"]["CapacityUnits"] == units


def test_consumed_capacity_of_a_missing_item(range_table):
    """A missing item still costs the minimum."""
    assert get(range_table, ReturnConsumedCapacity="TOTAL")["ConsumedCapacity"]["CapacityUnits"] == 0.5


def test_projection_does_not_reduce_capacity(range_table):
    """A projection reads the whole item all the same."""
    range_table.put_item(Item={"pk": "a", "sk": 1, "v": "x" * 5000})
    response = get(range_table, ReturnConsumedCapacity="TOTAL", ConsistentRead=True, ProjectionExpression="pk")
    assert response["ConsumedCapacity"]["CapacityUnits"] == 2.0


# -- key validation ------------------------------------------------------------------------------

@pytest.mark.parametrize("key", [{"pk": "a"}, {"sk": 1}, {"pk": "a", "sk": 1, "extra": 1}, {"pk": 1, "sk": 1},
                                 {"pk": "a", "sk": "1"}, {}, {"pk": "a", "other": 1}])
def test_key_not_matching_the_schema(range_table, key):
    """Missing, extra or mistyped key attributes: 'The provided key element does not match the schema'."""
    with validation(NO_MATCH):
        range_table.get_item(Key=key)


def test_empty_string_key(hash_table):
    """An empty string key value has its own message."""
    with validation("One or more parameter values are not valid. The AttributeValue for a key attribute cannot "
                    "contain an empty string value. Key: pk"):
        hash_table.get_item(Key={"pk": ""})


def test_empty_binary_key(binary_table):
    """So does an empty binary key value."""
    with validation("One or more parameter values are not valid. The AttributeValue for a key attribute cannot "
                    "contain an empty binary value. Key: sk"):
        binary_table.get_item(Key={"pk": b"a", "sk": b""})


def test_missing_key(hash_table):
    """Key is required."""
    with validation("1 validation error detected: Value null at 'key' failed to satisfy constraint: "
                    "Member must not be null"):
        hash_table.get_item()


def test_missing_table(db):
    """GetItem on a missing table is ResourceNotFoundException."""
    with raises("ResourceNotFoundException", "Requested resource not found"):
        db.Table(unique_name()).get_item(Key={"pk": "a"})


def test_invalid_table_name(db):
    """An impossible table name is a ValidationException."""
    with validation("1 validation error detected: Value 'a!b' at 'tableName' failed to satisfy constraint: "
                    "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+"):
        db.Table("a!b").get_item(Key={"pk": "a"})


def test_bad_return_consumed_capacity(stored):
    """ReturnConsumedCapacity is an enum."""
    with validation(startswith="1 validation error detected: Value 'ALL' at 'returnConsumedCapacity' failed to "
                    "satisfy constraint: Member must satisfy enum value set: ["):
        get(stored, ReturnConsumedCapacity="ALL")


def test_projection_path_of_32_levels(stored):
    """A document path may have 32 components."""
    path = ".".join(["m"] + ["x"] * 31)
    assert get(stored, ProjectionExpression=path)["Item"] == {}


def test_projection_path_of_33_levels(stored):
    """33 components are too deep."""
    path = ".".join(["m"] + ["x"] * 32)
    with validation("Invalid ProjectionExpression: The document path has too many nesting levels; nesting levels: 33"):
        get(stored, ProjectionExpression=path)


def test_projection_of_an_empty_attribute_name(stored):
    """A placeholder for the empty name is rejected."""
    with validation(contains="Empty attribute name"):
        get(stored, ProjectionExpression="#e", ExpressionAttributeNames={"#e": ""})


def test_attributes_to_get_with_an_empty_name(stored):
    """So is an empty name in AttributesToGet."""
    with validation(contains="Empty attribute name"):
        get(stored, AttributesToGet=[""])
