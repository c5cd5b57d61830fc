"""BatchWriteItem and Table.batch_writer(): up to 25 puts/deletes, validated as a whole, applied one by one."""

from decimal import Decimal

import pytest

from .helpers import create_table, raises, unique_name, validation

NO_MATCH = "The provided key element does not match the schema"
INVALID = "One or more parameter values were invalid: "


def put(item):
    return {"PutRequest": {"Item": item}}


def delete(key):
    return {"DeleteRequest": {"Key": key}}


def test_puts_and_deletes_over_two_tables(db, hash_table, range_table):
    """Puts and deletes in several tables; UnprocessedItems is {}."""
    hash_table.put_item(Item={"pk": "gone"})
    response = db.batch_write_item(RequestItems={
        hash_table.name: [put({"pk": "a", "v": 1}), delete({"pk": "gone"})],
        range_table.name: [put({"pk": "b", "sk": 1}), put({"pk": "b", "sk": 2})]})
    assert response["UnprocessedItems"] == {}
    assert hash_table.get_item(Key={"pk": "a"})["Item"] == {"pk": "a", "v": 1}
    assert "Item" not in hash_table.get_item(Key={"pk": "gone"})
    assert range_table.scan()["Count"] == 2


def test_puts_replace_whole_items(db, hash_table):
    """A batch put replaces the item like PutItem."""
    hash_table.put_item(Item={"pk": "a", "old": 1})
    db.batch_write_item(RequestItems={hash_table.name: [put({"pk": "a", "new": 2})]})
    assert hash_table.get_item(Key={"pk": "a"})["Item"] == {"pk": "a", "new": 2}


def test_delete_of_a_missing_item(db, hash_table):
    """Deleting an item that does not exist is fine."""
    assert db.batch_write_item(RequestItems={hash_table.name: [delete({"pk": "nope"})]})["UnprocessedItems"] == {}


def test_twenty_five_requests(db, hash_table):
    """25 requests in one call are accepted."""
    db.batch_write_item(RequestItems={hash_table.name: [put({"pk": f"k{i}"}) for i in range(25)]})
    assert hash_table.scan()["Count"] == 25


def test_twenty_six_requests(db, hash_table):
    """26 requests are a constraint violation on requestItems."""
    with validation(startswith=f"1 validation error detected: Value '{{{hash_table.name}=[",
                    endswith="]}' at 'requestItems' failed to satisfy constraint: Map value must satisfy constraint: "
                             "[Member must have length less than or equal to 25, Member must have length greater "
                             "than or equal to 1]"):
        db.batch_write_item(RequestItems={hash_table.name: [put({"pk": f"k{i}"}) for i in range(26)]})
    assert hash_table.scan()["Count"] == 0


def test_more_than_25_over_two_tables(db, hash_table, range_table):
    """The 25-request limit is over the whole call."""
    with validation():
        db.batch_write_item(RequestItems={hash_table.name: [put({"pk": f"k{i}"}) for i in range(13)],
                                          range_table.name: [put({"pk": "b", "sk": i}) for i in range(13)]})


def test_empty_request_items(db):
    """RequestItems must not be empty."""
    with validation("The requestItems parameter is required for BatchWriteItem"):
        db.batch_write_item(RequestItems={})


def test_empty_list_for_a_table(db, hash_table):
    """Every table's list holds at least one request."""
    with validation():
        db.batch_write_item(RequestItems={hash_table.name: []})


@pytest.mark.parametrize("request_", [{}, {"PutRequest": {"Item": {"pk": "a"}}, "DeleteRequest": {"Key": {"pk": "b"}}}])
def test_request_must_hold_exactly_one_action(db, hash_table, request_):
    """Each element is exactly one of PutRequest / DeleteRequest."""
    with validation():
        db.batch_write_item(RequestItems={hash_table.name: [request_]})


@pytest.mark.parametrize("requests", [
    [put({"pk": "a"}), put({"pk": "a", "v": 1})],
    [put({"pk": "a"}), delete({"pk": "a"})],
    [delete({"pk": "a"}), delete({"pk": "a"})],
])
def test_duplicate_keys(db, hash_table, requests):
    """Two requests for one key in one table are rejected (put/put, put/delete, delete/delete)."""
    with validation("Provided list of item keys contains duplicates"):
        db.batch_write_item(RequestItems={hash_table.name: requests})
    assert hash_table.scan()["Count"] == 0


def test_duplicate_number_keys_by_value(db, number_table):
    """Number keys are compared by value: 1000 and 1E3 are the same key."""
    with validation("Provided list of item keys contains duplicates"):
        db.batch_write_item(RequestItems={number_table.name: [put({"pk": Decimal("1000")}),
                                                              put({"pk": Decimal("1E3")})]})


def test_same_key_in_two_tables_is_fine(db):
    """The duplicate rule is per table."""
    a, b = create_table(db), create_table(db)
    db.batch_write_item(RequestItems={a.name: [put({"pk": "x"})], b.name: [put({"pk": "x"})]})
    assert a.get_item(Key={"pk": "x"})["Item"] == b.get_item(Key={"pk": "x"})["Item"] == {"pk": "x"}


def test_an_invalid_request_fails_the_whole_batch(db, range_table):
    """All requests are validated before any is applied."""
    with validation():
        db.batch_write_item(RequestItems={range_table.name: [put({"pk": "a", "sk": 1}), put({"pk": "a", "sk": "x"})]})
    assert range_table.scan()["Count"] == 0


@pytest.mark.parametrize("item", [{"sk": 1}, {"pk": "a"}, {"pk": 1, "sk": 1}])
def test_put_with_missing_or_mistyped_key(db, range_table, item):
    """A PutRequest whose item lacks or mistypes a key attribute."""
    with validation(NO_MATCH):
        db.batch_write_item(RequestItems={range_table.name: [put(item)]})


@pytest.mark.parametrize("key", [{"pk": "a"}, {"pk": "a", "sk": 1, "x": 1}, {"pk": "a", "sk": "1"}])
def test_delete_with_a_bad_key(db, range_table, key):
    """A DeleteRequest key must match the schema."""
    with validation(NO_MATCH):
        db.batch_write_item(RequestItems={range_table.name: [delete(key)]})


def test_empty_string_key(db, hash_table):
    """Empty string keys fail the batch."""
    with validation("One or more parameter values are not valid. The AttributeValue for a key attribute cannot "
                    "contain an empty string value. Key: pk"):
        db.batch_write_item(RequestItems={hash_table.name: [put({"pk": ""})]})


def test_item_too_large(db, hash_table):
    """An item over 400 KB fails the batch; nothing is written."""
    with validation("Item size has exceeded the maximum allowed size"):
        db.batch_write_item(RequestItems={hash_table.name: [put({"pk": "ok"}), put({"pk": "a", "v": "x" * 409_600})]})
    assert hash_table.scan()["Count"] == 0


def test_index_key_of_the_wrong_type_fails_the_batch(db, gsi_table):
    """An index key of the wrong type rejects the whole batch."""
    with validation(startswith=INVALID + "Type mismatch for Index Key g Expected: S Actual: N IndexName: gsi_"):
        db.batch_write_item(RequestItems={gsi_table.name: [put({"pk": "a", "sk": 1, "g": "ok"}),
                                                           put({"pk": "a", "sk": 2, "g": 7})]})
    assert gsi_table.scan()["Count"] == 0


def test_missing_table(db, hash_table):
    """A missing table fails the request."""
    with raises("ResourceNotFoundException", "Requested resource not found"):
        db.batch_write_item(RequestItems={hash_table.name: [put({"pk": "a"})], unique_name(): [put({"pk": "a"})]})


def test_consumed_capacity(db, hash_table, range_table):
    """ConsumedCapacity is a list with one entry per table."""
    response = db.batch_write_item(RequestItems={hash_table.name: [put({"pk": "a"}), put({"pk": "b"})],
                                                 range_table.name: [put({"pk": "a", "sk": 1})]},
                                   ReturnConsumedCapacity="TOTAL")
    units = {c["TableName"]: c["CapacityUnits"] for c in response["ConsumedCapacity"]}
    assert units == {hash_table.name: 2.0, range_table.name: 1.0}


def test_item_collection_metrics_on_lsi_tables(db, lsi_table, hash_table):
    """ReturnItemCollectionMetrics SIZE reports per table, only for tables with an LSI."""
    response = db.batch_write_item(RequestItems={lsi_table.name: [put({"pk": "a", "sk": 1})],
                                                 hash_table.name: [put({"pk": "a"})]},
                                   ReturnItemCollectionMetrics="SIZE")
    metrics = response["ItemCollectionMetrics"]
    assert set(metrics) == {lsi_table.name}
    (entry,) = metrics[lsi_table.name]
    assert entry["ItemCollectionKey"] == {"pk": "a"}
    assert len(entry["SizeEstimateRangeGB"]) == 2


# -- batch_writer -------------------------------------------------------------------------------

def test_batch_writer_puts_more_than_25(hash_table):
    """batch_writer() buffers and sends in batches of 25; leaving the block flushes the rest."""
    with hash_table.batch_writer() as writer:
        for i in range(60):
            writer.put_item(Item={"pk": f"k{i}", "v": i})
    assert hash_table.scan()["Count"] == 60


def test_batch_writer_deletes(hash_table):
    """batch_writer() also deletes."""
    for i in range(30):
        hash_table.put_item(Item={"pk": f"k{i}"})
    with hash_table.batch_writer() as writer:
        for i in range(30):
            writer.delete_item(Key={"pk": f"k{i}"})
    assert hash_table.scan()["Count"] == 0


def test_batch_writer_without_dedup_sends_duplicates(hash_table):
    """Without overwrite_by_pkeys, two writes of one key in a batch are DynamoDB's duplicate error."""
    with validation("Provided list of item keys contains duplicates"):
        with hash_table.batch_writer() as writer:
            writer.put_item(Item={"pk": "a", "v": 1})
            writer.put_item(Item={"pk": "a", "v": 2})


def test_batch_writer_overwrite_by_pkeys(hash_table):
    """overwrite_by_pkeys keeps only the last buffered request per key."""
    with hash_table.batch_writer(overwrite_by_pkeys=["pk"]) as writer:
        writer.put_item(Item={"pk": "a", "v": 1})
        writer.put_item(Item={"pk": "a", "v": 2})
        writer.put_item(Item={"pk": "b", "v": 1})
        writer.delete_item(Key={"pk": "b"})
    assert hash_table.get_item(Key={"pk": "a"})["Item"] == {"pk": "a", "v": 2}
    assert "Item" not in hash_table.get_item(Key={"pk": "b"})


def test_batch_writer_overwrite_by_hash_and_range(range_table):
    """With a sort key both key attributes identify the request."""
    with range_table.batch_writer(overwrite_by_pkeys=["pk", "sk"]) as writer:
        for v in range(3):
            writer.put_item(Item={"pk": "a", "sk": 1, "v": v})
        writer.put_item(Item={"pk": "a", "sk": 2, "v": 9})
    items = sorted(range_table.scan()["Items"], key=lambda i: i["sk"])
    assert items == [{"pk": "a", "sk": 1, "v": 2}, {"pk": "a", "sk": 2, "v": 9}]


def test_batch_writer_many_items_with_dedup(range_table):
    """Many writes with repeated keys across flushes all land, last write winning."""
    with range_table.batch_writer(overwrite_by_pkeys=["pk", "sk"]) as writer:
        for i in range(100):
            writer.put_item(Item={"pk": "a", "sk": i % 40, "v": i})
    items = range_table.scan()["Items"]
    assert len(items) == 40
    assert {int(i["sk"]): int(i["v"]) for i in items} == {k: max(v for v in range(100) if v % 40 == k)
                                                          for k in range(40)}


@pytest.mark.parametrize("request_", [{"PutRequest": {}}, {"DeleteRequest": {}}])
def test_request_without_item_or_key(db, hash_table, request_):
    """A PutRequest needs an Item and a DeleteRequest a Key."""
    with validation():
        db.batch_write_item(RequestItems={hash_table.name: [request_]})
