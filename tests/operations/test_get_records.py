"""GetRecords: the record format, the event rules (INSERT/MODIFY/REMOVE, none for no change), paging, errors.

Every test runs on every face (``dynamodb`` + ``dynamodbstreams``); those that need time to pass use a
database on a test clock (``clocked``).
"""

import re

import pytest

from .helpers import raises, validation
from .stream_helpers import clocked, events, latest_arn, read_stream, shards, stream_table  # noqa: F401 (clocked: a fixture)

VIEWS = ("KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES")
A = {"pk": {"S": "a"}}


def _records(streams, table):
    return read_stream(streams, latest_arn(table))


def _iterator(streams, table, kind="TRIM_HORIZON", shard=-1, **extra):
    arn = latest_arn(table)
    shard = shards(streams, arn)[shard]["ShardId"]
    return streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType=kind, **extra)["ShardIterator"]


# -- the record format ------------------------------------------------------------------------------

def test_record_format(dynamodb, dynamodbstreams):
    """Every member of a record: eventID, eventName, eventVersion 1.1, eventSource, awsRegion, dynamodb.{...}."""
    table = stream_table(dynamodb, "NEW_AND_OLD_IMAGES")
    table.put_item(Item={"pk": "a", "n": 1})
    [record] = _records(dynamodbstreams, table)
    assert set(record) == {"eventID", "eventName", "eventVersion", "eventSource", "awsRegion", "dynamodb"}
    assert re.fullmatch(r"[0-9a-f]{32}", record["eventID"])
    assert (record["eventName"], record["eventVersion"], record["eventSource"], record["awsRegion"]) == \
        ("INSERT", "1.1", "aws:dynamodb", "us-east-1")
    body = record["dynamodb"]
    assert set(body) == {"ApproximateCreationDateTime", "Keys", "NewImage", "SequenceNumber", "SizeBytes",
                         "StreamViewType"}
    assert body["Keys"] == A
    assert body["NewImage"] == {"pk": {"S": "a"}, "n": {"N": "1"}}
    assert re.fullmatch(r"\d{21,40}", body["SequenceNumber"])
    assert body["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert body["SizeBytes"] == 3 + 6        # item sizes of Keys (pk "a": 3) and NewImage (+ n 1: 3)


def test_approximate_creation_time_is_whole_seconds(clocked):
    """ApproximateCreationDateTime is the commit time rounded down to the second."""
    db, resource, streams, clock = clocked
    clock.set(1_800_000_123.75)
    table = stream_table(resource, "KEYS_ONLY")
    table.put_item(Item={"pk": "a"})
    [record] = _records(streams, table)
    value = record["dynamodb"]["ApproximateCreationDateTime"]
    assert (value.timestamp() if hasattr(value, "timestamp") else value) == 1_800_000_123


def test_sequence_numbers_strictly_increase(dynamodb, dynamodbstreams):
    """Sequence numbers are decimal strings that increase record after record."""
    table = stream_table(dynamodb, "KEYS_ONLY")
    for i in range(5):
        table.put_item(Item={"pk": str(i)})
    numbers = [int(r["dynamodb"]["SequenceNumber"]) for r in _records(dynamodbstreams, table)]
    assert len(numbers) == 5 and numbers == sorted(set(numbers))


@pytest.mark.parametrize("view", VIEWS)
def test_images_per_view_type(dynamodb, dynamodbstreams, view):
    """INSERT, MODIFY, REMOVE carry the images their view type keeps; Keys always."""
    table = stream_table(dynamodb, view)
    table.put_item(Item={"pk": "a", "v": 1})
    table.put_item(Item={"pk": "a", "v": 2})
    table.delete_item(Key={"pk": "a"})
    v1, v2 = {"pk": {"S": "a"}, "v": {"N": "1"}}, {"pk": {"S": "a"}, "v": {"N": "2"}}
    new = view in ("NEW_IMAGE", "NEW_AND_OLD_IMAGES")
    old = view in ("OLD_IMAGE", "NEW_AND_OLD_IMAGES")
    assert events(_records(dynamodbstreams, table)) == [
        ("INSERT", A, v1 if new else None, None),
        ("MODIFY", A, v2 if new else None, v1 if old else None),
        ("REMOVE", A, None, v2 if old else None),
    ]
    assert all(r["dynamodb"]["StreamViewType"] == view for r in _records(dynamodbstreams, table))


def test_update_item_events(dynamodb, dynamodbstreams):
    """UpdateItem creating an item is an INSERT, changing it a MODIFY; an update to key-only still MODIFY."""
    table = stream_table(dynamodb, "NEW_AND_OLD_IMAGES")
    table.update_item(Key={"pk": "a"}, UpdateExpression="SET v = :v", ExpressionAttributeValues={":v": 1})
    table.update_item(Key={"pk": "a"}, UpdateExpression="REMOVE v")
    assert events(_records(dynamodbstreams, table)) == [
        ("INSERT", A, {"pk": {"S": "a"}, "v": {"N": "1"}}, None),
        ("MODIFY", A, A, {"pk": {"S": "a"}, "v": {"N": "1"}}),
    ]


def test_writes_that_change_nothing_make_no_record(dynamodb, dynamodbstreams):
    """An identical Put, a delete of a missing item, removing a missing attribute, an update of a missing
    item that only removes, and failed conditions make no record."""
    table = stream_table(dynamodb, "NEW_AND_OLD_IMAGES")
    table.put_item(Item={"pk": "a", "s": {"x", "y"}, "m": {"k": [1, "two"]}})
    table.put_item(Item={"pk": "a", "s": {"y", "x"}, "m": {"k": [1, "two"]}})
    table.put_item(Item={"m": {"k": [1, "two"]}, "s": {"x", "y"}, "pk": "a"})
    table.delete_item(Key={"pk": "missing"})
    table.update_item(Key={"pk": "a"}, UpdateExpression="REMOVE nothing")
    table.update_item(Key={"pk": "missing"}, UpdateExpression="REMOVE nothing")
    with raises("ConditionalCheckFailedException"):
        table.put_item(Item={"pk": "a", "v": 1}, ConditionExpression="attribute_not_exists(pk)")
    assert [r["eventName"] for r in _records(dynamodbstreams, table)] == ["INSERT"]


def test_a_changed_type_is_a_change(dynamodb, dynamodbstreams):
    """True and 1 are different values: replacing one by the other is a MODIFY."""
    table = stream_table(dynamodb, "NEW_IMAGE")
    table.put_item(Item={"pk": "a", "v": True})
    table.put_item(Item={"pk": "a", "v": 1})
    assert [r["eventName"] for r in _records(dynamodbstreams, table)] == ["INSERT", "MODIFY"]


def test_one_record_per_batch_item(dynamodb, dynamodbstreams):
    """Each BatchWriteItem request makes its own record."""
    table = stream_table(dynamodb, "KEYS_ONLY")
    table.put_item(Item={"pk": "gone"})
    dynamodb.batch_write_item(RequestItems={table.name: [
        {"PutRequest": {"Item": {"pk": "x"}}}, {"PutRequest": {"Item": {"pk": "y"}}},
        {"DeleteRequest": {"Key": {"pk": "gone"}}}, {"DeleteRequest": {"Key": {"pk": "never"}}}]})
    assert [(r["eventName"], r["dynamodb"]["Keys"]["pk"]["S"]) for r in _records(dynamodbstreams, table)] == [
        ("INSERT", "gone"), ("INSERT", "x"), ("INSERT", "y"), ("REMOVE", "gone")]


def test_one_record_per_transaction_item(dynamodb, dynamodbstreams):
    """Each written item of a transaction makes its own record (a ConditionCheck makes none)."""
    table = stream_table(dynamodb, "NEW_IMAGE")
    table.put_item(Item={"pk": "c"})
    dynamodb.meta.client.transact_write_items(TransactItems=[
        {"Put": {"TableName": table.name, "Item": {"pk": "a"}}},
        {"Update": {"TableName": table.name, "Key": {"pk": "b"}, "UpdateExpression": "SET v = :v",
                    "ExpressionAttributeValues": {":v": 1}}},
        {"ConditionCheck": {"TableName": table.name, "Key": {"pk": "c"}, "ConditionExpression": "attribute_exists(pk)"}},
    ])
    names = [(r["eventName"], r["dynamodb"]["Keys"]["pk"]["S"]) for r in _records(dynamodbstreams, table)]
    assert names == [("INSERT", "c"), ("INSERT", "a"), ("INSERT", "b")]


def test_tables_without_streams_record_nothing(dynamodb, dynamodbstreams):
    """A write to a table without a stream adds nothing to another table's stream."""
    table = stream_table(dynamodb, "KEYS_ONLY")
    plain = stream_table(dynamodb, None)
    plain.put_item(Item={"pk": "p"})
    table.put_item(Item={"pk": "a"})
    assert len(_records(dynamodbstreams, table)) == 1


# -- paging and positions ---------------------------------------------------------------------------

def test_limit_pages_and_records_are_not_returned_twice(dynamodb, dynamodbstreams):
    """Limit caps a page; the next iterator continues after the last record returned."""
    table = stream_table(dynamodb, "KEYS_ONLY")
    for i in range(5):
        table.put_item(Item={"pk": str(i)})
    iterator = _iterator(dynamodbstreams, table)
    seen = []
    for _ in range(3):
        page = dynamodbstreams.get_records(ShardIterator=iterator, Limit=2)
        seen += [r["dynamodb"]["Keys"]["pk"]["S"] for r in page["Records"]]
        iterator = page["NextShardIterator"]
    assert seen == ["0", "1", "2", "3", "4"]
    page = dynamodbstreams.get_records(ShardIterator=iterator)
    assert page["Records"] == [] and page["NextShardIterator"]


def test_an_open_shard_always_gives_a_next_iterator(dynamodb, dynamodbstreams):
    """Nothing new: Records is [] and NextShardIterator is there; a later write is read through it."""
    table = stream_table(dynamodb, "KEYS_ONLY")
    page = dynamodbstreams.get_records(ShardIterator=_iterator(dynamodbstreams, table, "LATEST"))
    assert page["Records"] == []
    table.put_item(Item={"pk": "later"})
    page = dynamodbstreams.get_records(ShardIterator=page["NextShardIterator"])
    assert [r["dynamodb"]["Keys"] for r in page["Records"]] == [{"pk": {"S": "later"}}]


def test_iterators_can_be_reused(dynamodb, dynamodbstreams):
    """TRIM_HORIZON iterators re-read: the same iterator gives the same records again."""
    table = stream_table(dynamodb, "KEYS_ONLY")
    table.put_item(Item={"pk": "a"})
    iterator = _iterator(dynamodbstreams, table)
    first = dynamodbstreams.get_records(ShardIterator=iterator)["Records"]
    assert dynamodbstreams.get_records(ShardIterator=iterator)["Records"] == first


def test_a_closed_shard_once_drained_has_no_next_iterator(dynamodb, dynamodbstreams):
    """After a disable the shard is closed: its records are still readable, then NextShardIterator is absent."""
    table = stream_table(dynamodb, "KEYS_ONLY")
    table.put_item(Item={"pk": "a"})
    iterator = _iterator(dynamodbstreams, table)
    table.update(StreamSpecification={"StreamEnabled": False})
    page = dynamodbstreams.get_records(ShardIterator=iterator)
    assert [r["eventName"] for r in page["Records"]] == ["INSERT"]
    assert "NextShardIterator" not in page


def test_stream_of_a_deleted_table_stays_readable(dynamodb, dynamodbstreams):
    """DeleteTable disables the stream; its records stay readable."""
    table = stream_table(dynamodb, "NEW_IMAGE")
    table.put_item(Item={"pk": "a"})
    arn = latest_arn(table)
    table.delete()
    assert [r["eventName"] for r in read_stream(dynamodbstreams, arn)] == ["INSERT"]


# -- errors -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("limit,bound", [(0, "greater than or equal to 1"), (-1, "greater than or equal to 1"),
                                         (1001, "less than or equal to 1000")])
def test_limit_out_of_range(dynamodb, dynamodbstreams, limit, bound):
    """Limit is 1..1000."""
    table = stream_table(dynamodb, "KEYS_ONLY")
    with validation(f"1 validation error detected: Value '{limit}' at 'limit' failed to satisfy constraint: "
                    f"Member must have value {bound}"):
        dynamodbstreams.get_records(ShardIterator=_iterator(dynamodbstreams, table), Limit=limit)


@pytest.mark.parametrize("iterator", ["nonsense", "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/x|1|abc",
                                      "x" * 100])
def test_malformed_iterator(dynamodb, dynamodbstreams, iterator):
    """An iterator kvstore did not issue is a ValidationException."""
    with validation("Invalid ShardIterator"):
        dynamodbstreams.get_records(ShardIterator=iterator)


def test_tampered_iterator(dynamodb, dynamodbstreams):
    """A damaged token inside a well-formed iterator is a ValidationException too."""
    table = stream_table(dynamodb, "KEYS_ONLY")
    iterator = _iterator(dynamodbstreams, table)
    with validation("Invalid ShardIterator"):
        dynamodbstreams.get_records(ShardIterator=iterator[:-6] + "!!!!!!")


def test_iterator_expires_after_15_minutes(clocked):
    """An iterator is good for 15 minutes, then ExpiredIteratorException."""
    db, resource, streams, clock = clocked
    table = stream_table(resource, "KEYS_ONLY")
    iterator = _iterator(streams, table)
    clock.advance(15 * 60)
    streams.get_records(ShardIterator=iterator)
    clock.advance(1)
    with raises("ExpiredIteratorException", "Shard iterator has expired"):
        streams.get_records(ShardIterator=iterator)


def test_trimmed_data(clocked):
    """Records older than 24 hours are trimmed: an iterator pointing at them gets TrimmedDataAccessException,
    a new TRIM_HORIZON iterator starts after them."""
    db, resource, streams, clock = clocked
    table = stream_table(resource, "KEYS_ONLY")
    table.put_item(Item={"pk": "old"})
    clock.advance(24 * 3600 - 600)
    iterator = _iterator(streams, table, shard=0)           # shards rolled over meanwhile: "old" is in the first
    table.put_item(Item={"pk": "new"})
    clock.advance(601)                         # "old" is now older than 24 hours, the iterator 10 minutes old
    with raises("TrimmedDataAccessException", "The data you are trying to access has been trimmed."):
        streams.get_records(ShardIterator=iterator)
    records = streams.get_records(ShardIterator=_iterator(streams, table))["Records"]
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in records] == ["new"]


def test_missing_iterator(dynamodb, dynamodbstreams):
    """ShardIterator is required."""
    with validation("1 validation error detected: Value null at 'shardIterator' failed to satisfy constraint: "
                    "Member must not be null"):
        dynamodbstreams.get_records()


def test_ttl_deletions_carry_the_service_identity(clocked):
    """An item deleted by TTL makes a REMOVE record with userIdentity {Type: Service, PrincipalId: dynamodb};
    a user's delete has no userIdentity."""
    db, resource, streams, clock = clocked
    table = stream_table(resource, "NEW_AND_OLD_IMAGES")
    resource.meta.client.update_time_to_live(TableName=table.name,
                                             TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"})
    table.put_item(Item={"pk": "a", "exp": int(clock()) - 10})
    table.put_item(Item={"pk": "b"})
    table.delete_item(Key={"pk": "b"})
    db.engine.ttl.run()
    removes = [r for r in _records(streams, table) if r["eventName"] == "REMOVE"]
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in removes] == ["b", "a"]
    assert "userIdentity" not in removes[0]
    assert removes[1]["userIdentity"] == {"Type": "Service", "PrincipalId": "dynamodb.amazonaws.com"}
    assert removes[1]["dynamodb"]["OldImage"]["exp"] == {"N": str(int(clock()) - 10)}
