"""In-process stream readers (``table.stream()``) and named durable consumers (``db.stream_consumer``)."""

import threading
import time

import pytest

import kvstore
from kvstore.errors import TrimmedDataAccessException

from tests.operations.stream_helpers import Clock


def _table(db, view="NEW_IMAGE", name="orders"):
    return db.create_table(TableName=name, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                           AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                           BillingMode="PAY_PER_REQUEST",
                           StreamSpecification={"StreamEnabled": True, "StreamViewType": view})


def _pks(records):
    return [r["dynamodb"]["Keys"]["pk"] for r in records]


def test_records_arrive_as_they_commit():
    """A reader blocked on an empty stream wakes up for each commit of another thread."""
    with kvstore.open(":memory:") as db:
        table = _table(db)
        reader = table.stream(timeout=5)

        def write():
            for i in range(3):
                time.sleep(0.01)
                table.put_item(Item={"pk": str(i)})
        threading.Thread(target=write).start()
        got = [next(reader) for _ in range(3)]
        assert _pks(got) == ["0", "1", "2"]
        assert got[0]["eventName"] == "INSERT" and got[0]["dynamodb"]["NewImage"] == {"pk": "0"}


def test_timeout_ends_iteration():
    """With nothing new, iteration ends after ``timeout`` seconds (0: at once)."""
    with kvstore.open(":memory:") as db:
        table = _table(db)
        table.put_item(Item={"pk": "a"})
        assert _pks(list(table.stream(timeout=0))) == ["a"]
        started = time.monotonic()
        assert list(table.stream(start="LATEST", timeout=0.05)) == []
        assert time.monotonic() - started >= 0.05


def test_start_positions():
    """TRIM_HORIZON reads everything, LATEST only what comes next, a SequenceNumber from that record on."""
    with kvstore.open(":memory:") as db:
        table = _table(db)
        for i in range(3):
            table.put_item(Item={"pk": str(i)})
        everything = list(table.stream(timeout=0))
        latest = table.stream(start="LATEST", timeout=0)
        table.put_item(Item={"pk": "3"})
        assert _pks(latest) == ["3"]
        second = everything[1]["dynamodb"]["SequenceNumber"]
        assert _pks(table.stream(start=second, timeout=0)) == ["1", "2", "3"]
        with pytest.raises(kvstore.ValidationException):
            table.stream(start="OLDEST")


def test_one_feed_across_rollovers_and_reenables():
    """A reader follows every stream of the table and every shard, in commit order."""
    clock = Clock()
    with kvstore.open(":memory:", clock=clock, stream_shard_seconds=10) as db:
        table = _table(db, "KEYS_ONLY")
        reader = table.stream(timeout=0)
        for i in range(6):
            table.put_item(Item={"pk": str(i)})
            clock.advance(6)
            if i == 3:
                table.update(StreamSpecification={"StreamEnabled": False})
                table.put_item(Item={"pk": "not recorded"})
                table.update(StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"})
        assert _pks(reader) == ["0", "1", "2", "3", "4", "5"]


def test_reader_ends_when_the_database_closes():
    db = kvstore.open(":memory:")
    reader = _table(db).stream(timeout=None)
    result = []
    t = threading.Thread(target=lambda: result.append(list(reader)))
    t.start()
    time.sleep(0.05)
    db.close()
    t.join(5)
    assert result == [[]]


def test_nothing_is_delivered_before_it_is_durable(tmp_path):
    """Under the batch policy a reader makes the log durable through a record before handing it out."""
    with kvstore.open(str(tmp_path / "db"), durability="batch") as db:
        table = _table(db)
        reader = table.stream(timeout=0)
        table.put_item(Item={"pk": "a"})
        [record] = list(reader)
        lsn = (int(record["dynamodb"]["SequenceNumber"]) - 10 ** 20) // 10 ** 4
        assert db.engine.durability.durable_lsn >= lsn


def test_consumer_resumes_in_the_same_process():
    """A new consumer object of the same name starts after the acknowledged record."""
    with kvstore.open(":memory:") as db:
        table = _table(db)
        for i in range(4):
            table.put_item(Item={"pk": str(i)})
        consumer = db.stream_consumer("orders", name="mail", timeout=0)
        for record in consumer:
            consumer.ack(record)
            if record["dynamodb"]["Keys"]["pk"] == "1":
                break
        assert _pks(db.stream_consumer("orders", name="mail", timeout=0)) == ["2", "3"]


def test_consumer_refuses_to_skip_trimmed_records():
    """A consumer whose position has been trimmed away raises instead of silently skipping records."""
    clock = Clock()
    with kvstore.open(":memory:", clock=clock) as db:
        table = _table(db)
        table.put_item(Item={"pk": "a"})
        consumer = db.stream_consumer("orders", name="late", timeout=0)
        consumer.ack(consumer.read(1)[0])
        table.put_item(Item={"pk": "b"})
        table.put_item(Item={"pk": "c"})
        clock.advance(24 * 3600 + 1)
        table.put_item(Item={"pk": "d"})
        with pytest.raises(TrimmedDataAccessException):
            db.stream_consumer("orders", name="late", timeout=0).read(10)


def test_consumer_of_an_unknown_table():
    with kvstore.open(":memory:") as db:
        with pytest.raises(kvstore.ResourceNotFoundException):
            db.stream_consumer("nope", name="x")
