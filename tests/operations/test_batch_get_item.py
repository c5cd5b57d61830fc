"""BatchGetItem: up to 100 keys over several tables; missing items omitted; UnprocessedKeys always present."""

import pytest

from .helpers import create_table, raises, unique_name, validation

NO_MATCH = "The provided key element does not match the schema"


@pytest.fixture
def tables(db):
    a = create_table(db)
    b = create_table(db, range_key=("sk", "N"))
    for i in range(5):
        a.put_item(Item={"pk": f"a{i}", "v": i, "w": "x"})
        b.put_item(Item={"pk": "b", "sk": i, "v": i})
    return a, b


def by_key(items, *names):
    return sorted(items, key=lambda i: tuple(str(i[n]) for n in names))


def test_items_from_two_tables(db, tables):
    """Items come back under Responses per table; UnprocessedKeys is {}."""
    a, b = tables
    response = db.batch_get_item(RequestItems={
        a.name: {"Keys": [{"pk": "a1"}, {"pk": "a3"}]},
        b.name: {"Keys": [{"pk": "b", "sk": 0}, {"pk": "b", "sk": 4}]}})
    assert by_key(response["Responses"][a.name], "pk") == [{"pk": "a1", "v": 1, "w": "x"},
                                                           {"pk": "a3", "v": 3, "w": "x"}]
    assert by_key(response["Responses"][b.name], "sk") == [{"pk": "b", "sk": 0, "v": 0}, {"pk": "b", "sk": 4, "v": 4}]
    assert response["UnprocessedKeys"] == {}


def test_missing_items_are_omitted(db, tables):
    """Keys without items are simply left out."""
    a, _ = tables
    response = db.batch_get_item(RequestItems={a.name: {"Keys": [{"pk": "a1"}, {"pk": "nope"}]}})
    assert response["Responses"][a.name] == [{"pk": "a1", "v": 1, "w": "x"}]


def test_table_with_nothing_found_appears_empty(db, tables):
    """A table none of whose keys exist still appears, with []."""
    a, _ = tables
    response = db.batch_get_item(RequestItems={a.name: {"Keys": [{"pk": "nope"}]}})
    assert response["Responses"] == {a.name: []}


def test_projection_per_table(db, tables):
    """ProjectionExpression and ExpressionAttributeNames are given per table."""
    a, _ = tables
    response = db.batch_get_item(RequestItems={a.name: {"Keys": [{"pk": "a2"}], "ProjectionExpression": "#v",
                                                        "ExpressionAttributeNames": {"#v": "v"}}})
    assert response["Responses"][a.name] == [{"v": 2}]


def test_attributes_to_get_per_table(db, tables):
    """Legacy AttributesToGet works per table."""
    a, _ = tables
    response = db.batch_get_item(RequestItems={a.name: {"Keys": [{"pk": "a2"}], "AttributesToGet": ["pk", "w"]}})
    assert response["Responses"][a.name] == [{"pk": "a2", "w": "x"}]


def test_consistent_read_per_table(db, tables):
    """ConsistentRead is a per-table flag."""
    a, _ = tables
    response = db.batch_get_item(RequestItems={a.name: {"Keys": [{"pk": "a0"}], "ConsistentRead": True}})
    assert len(response["Responses"][a.name]) == 1


def test_one_hundred_keys(db, tables):
    """Up to 100 keys per call."""
    a, _ = tables
    keys = [{"pk": f"k{i}"} for i in range(100)]
    response = db.batch_get_item(RequestItems={a.name: {"Keys": keys}})
    assert response["Responses"][a.name] == []


def test_more_than_one_hundred_keys(db, tables):
    """101 keys for one table is a constraint violation on RequestItems.<table>.member.Keys."""
    a, _ = tables
    keys = [{"pk": f"k{i}"} for i in range(101)]
    with validation(f"1 validation error detected: Value at 'RequestItems.{a.name}.member.Keys' failed to satisfy "
                    "constraint: Member must have length less than or equal to 100"):
        db.batch_get_item(RequestItems={a.name: {"Keys": keys}})


def test_more_than_one_hundred_keys_over_two_tables(db, tables):
    """More than 100 keys in total over several tables is rejected too."""
    a, b = tables
    with validation():
        db.batch_get_item(RequestItems={a.name: {"Keys": [{"pk": f"k{i}"} for i in range(60)]},
                                        b.name: {"Keys": [{"pk": "b", "sk": i} for i in range(60)]}})


def test_duplicate_keys(db, tables):
    """The same key twice in one table's list is rejected."""
    a, _ = tables
    with validation("Provided list of item keys contains duplicates"):
        db.batch_get_item(RequestItems={a.name: {"Keys": [{"pk": "a1"}, {"pk": "a1"}]}})


def test_empty_request_items(db):
    """RequestItems must name at least one table."""
    with validation("The requestItems parameter is required for BatchGetItem"):
        db.batch_get_item(RequestItems={})


def test_missing_table_fails_the_whole_request(db, tables):
    """One missing table fails everything with ResourceNotFoundException."""
    a, _ = tables
    with raises("ResourceNotFoundException", "Requested resource not found"):
        db.batch_get_item(RequestItems={a.name: {"Keys": [{"pk": "a1"}]}, unique_name(): {"Keys": [{"pk": "x"}]}})


@pytest.mark.parametrize("key", [{"pk": 1}, {"pk": "a1", "x": 1}, {"other": "a"}, {}])
def test_key_not_matching_the_schema(db, tables, key):
    """A key of the wrong shape fails the request."""
    a, _ = tables
    with validation(NO_MATCH):
        db.batch_get_item(RequestItems={a.name: {"Keys": [key]}})


def test_empty_string_key(db, tables):
    """Empty string keys are rejected."""
    a, _ = tables
    with validation("One or more parameter values are not valid. The AttributeValue for a key attribute cannot "
                    "contain an empty string value. Key: pk"):
        db.batch_get_item(RequestItems={a.name: {"Keys": [{"pk": ""}]}})


def test_consumed_capacity_is_a_list_per_table(db, tables):
    """ReturnConsumedCapacity gives one entry per table; each item costs like a GetItem."""
    a, b = tables
    response = db.batch_get_item(RequestItems={a.name: {"Keys": [{"pk": "a1"}, {"pk": "a2"}]},
                                               b.name: {"Keys": [{"pk": "b", "sk": 1}], "ConsistentRead": True}},
                                 ReturnConsumedCapacity="TOTAL")
    units = {c["TableName"]: c["CapacityUnits"] for c in response["ConsumedCapacity"]}
    assert units == {a.name: 1.0, b.name: 1.0}


def test_responses_above_16_mb_come_back_unprocessed(db):
    """Past 16 MB of items the rest are UnprocessedKeys, repeating the table's parameters; retrying gets them."""
    table = create_table(db)
    big = "x" * 390_000
    for i in range(50):
        table.put_item(Item={"pk": f"k{i:02d}", "data": big})
    request = {table.name: {"Keys": [{"pk": f"k{i:02d}"} for i in range(50)], "ConsistentRead": True}}
    response = db.batch_get_item(RequestItems=request)
    got = [i["pk"] for i in response["Responses"][table.name]]
    unprocessed = response["UnprocessedKeys"]
    assert 0 < len(got) < 50
    assert unprocessed[table.name]["ConsistentRead"] is True
    assert len(got) + len(unprocessed[table.name]["Keys"]) == 50
    while unprocessed:
        response = db.batch_get_item(RequestItems=unprocessed)
        got += [i["pk"] for i in response["Responses"].get(table.name, [])]
        unprocessed = response["UnprocessedKeys"]
    assert sorted(got) == [f"k{i:02d}" for i in range(50)]
