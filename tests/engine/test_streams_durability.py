"""Streams across restarts, checkpoints, backups and concurrent writes (directory databases)."""

import threading

import pytest

import kvstore

from tests.operations.stream_helpers import Clock

KEYS = [{"AttributeName": "pk", "KeyType": "HASH"}]
DEFS = [{"AttributeName": "pk", "AttributeType": "S"}]


def _create(db, name="events", view="NEW_AND_OLD_IMAGES"):
    spec = {"StreamEnabled": True, "StreamViewType": view} if view else {"StreamEnabled": False}
    return db.create_table(TableName=name, KeySchema=KEYS, AttributeDefinitions=DEFS,
                           BillingMode="PAY_PER_REQUEST", StreamSpecification=spec)


def everything(db):
    """Every stream of every table: its description and all its records (the whole observable state)."""
    client = db.client("dynamodbstreams")
    out = []
    for listed in client.list_streams()["Streams"]:
        arn = listed["StreamArn"]
        description = client.describe_stream(StreamArn=arn)["StreamDescription"]
        records = []
        for shard in description["Shards"]:
            iterator = client.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"],
                                                 ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
            while iterator:
                page = client.get_records(ShardIterator=iterator)
                records += page["Records"]
                iterator = page.get("NextShardIterator")
                if not page["Records"]:
                    break
        out.append((description, records))
    return out


def _writes(table, n, start=0):
    for i in range(start, start + n):
        table.put_item(Item={"pk": str(i % 7), "v": i})
        if i % 5 == 4:
            table.delete_item(Key={"pk": str(i % 7)})


@pytest.mark.parametrize("checkpoint_at", [None, "middle", "end"])
def test_streams_survive_reopen(tmp_path, checkpoint_at):
    """Streams, shards and records are identical after a reopen, with or without checkpoints."""
    path = str(tmp_path / "db")
    with kvstore.open(path, durability="sync") as db:
        table = _create(db)
        _writes(table, 20)
        if checkpoint_at == "middle":
            db.checkpoint()
        table.update(StreamSpecification={"StreamEnabled": False})
        table.put_item(Item={"pk": "unrecorded"})
        table.update(StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"})
        _writes(table, 10, 20)
        other = _create(db, "gone", "NEW_IMAGE")
        other.put_item(Item={"pk": "x"})
        other.delete()
        if checkpoint_at == "end":
            db.checkpoint()
        before = everything(db)
    with kvstore.open(path, durability="sync") as db:
        assert everything(db) == before
        assert len(before) == 3
        assert sorted(d["StreamStatus"] for d, _ in before) == ["DISABLED", "DISABLED", "ENABLED"]


def test_sequence_numbers_increase_across_restarts(tmp_path):
    path = str(tmp_path / "db")
    numbers = []
    for round_ in range(3):
        with kvstore.open(path, durability="sync") as db:
            table = db.Table("events") if round_ else _create(db)
            _writes(table, 6, round_ * 6)
            if round_ == 1:
                db.checkpoint()
            numbers = [int(r["dynamodb"]["SequenceNumber"]) for _, records in everything(db) for r in records]
    assert numbers == sorted(set(numbers)) and len(numbers) == 3 * 6 + 3      # 18 puts, 3 deletes


def test_shard_lineage_survives_reopen(tmp_path):
    """Rolled-over shards (ids, parents, ranges) come back as they were."""
    path = str(tmp_path / "db")
    clock = Clock()
    with kvstore.open(path, durability="sync", clock=clock, stream_shard_seconds=60) as db:
        table = _create(db)
        for i in range(4):
            table.put_item(Item={"pk": str(i)})
            clock.advance(61)
        before = everything(db)
        assert len(before[0][0]["Shards"]) == 5         # the read after the last advance rolled once more
    with kvstore.open(path, durability="sync", clock=clock, stream_shard_seconds=60) as db:
        assert everything(db) == before


def test_retention_applies_after_reopen(tmp_path):
    """A database reopened 25 hours later has trimmed its old records and dropped disabled streams."""
    path = str(tmp_path / "db")
    clock = Clock()
    with kvstore.open(path, durability="sync", clock=clock) as db:
        _create(db).put_item(Item={"pk": "old"})
        _create(db, "off").update(StreamSpecification={"StreamEnabled": False})
    clock.advance(25 * 3600)
    with kvstore.open(path, durability="sync", clock=clock) as db:
        found = everything(db)
        assert [d["TableName"] for d, _ in found] == ["events"]
        assert found[0][1] == []


def test_checkpoint_during_writes_keeps_every_record_once(tmp_path):
    """A checkpoint taken while writers run (fuzzy) plus replay gives each record exactly once."""
    path = str(tmp_path / "db")
    with kvstore.open(path, durability="none") as db:
        table = _create(db)
        stop = threading.Event()

        def write(t):
            # bounded: every write keeps a stream record, and a checkpoint copies them all, so on a
            # loaded machine unbounded writers outran the checkpoints (once to 24 GB)
            i = 0
            while not stop.is_set() and i < 5000:
                table.put_item(Item={"pk": f"{t}-{i % 50}", "v": i})
                i += 1
        threads = [threading.Thread(target=write, args=(t,)) for t in range(3)]
        for t in threads:
            t.start()
        for _ in range(3):
            db.checkpoint()
        stop.set()
        for t in threads:
            t.join()
        before = everything(db)
    with kvstore.open(path) as db:
        after = everything(db)
    assert after == before
    numbers = [r["dynamodb"]["SequenceNumber"] for r in after[0][1]]
    assert len(numbers) == len(set(numbers)) > 0


def test_restored_table_has_no_stream(tmp_path):
    """A table restored from a backup starts without the source's stream, which is left as it was."""
    with kvstore.open(str(tmp_path / "db"), durability="sync") as db:
        table = _create(db)
        table.put_item(Item={"pk": "a"})
        client = db.meta.client
        arn = client.create_backup(TableName="events", BackupName="backup")["BackupDetails"]["BackupArn"]
        client.restore_table_from_backup(TargetTableName="copy", BackupArn=arn)
        copy = client.describe_table(TableName="copy")["Table"]
        assert not {"StreamSpecification", "LatestStreamArn", "LatestStreamLabel"} & set(copy)
        db.Table("copy").put_item(Item={"pk": "b"})
        [(description, records)] = everything(db)
        assert description["TableName"] == "events" and len(records) == 1


def test_durable_consumer_resumes_after_its_acknowledgement(tmp_path):
    """A named consumer restarts after the last record it acknowledged; unacknowledged ones come again."""
    path = str(tmp_path / "db")
    with kvstore.open(path, durability="sync") as db:
        table = _create(db)
        for i in range(5):
            table.put_item(Item={"pk": str(i)})
        consumer = db.stream_consumer("events", name="shipping", timeout=0)
        first = consumer.read(2)
        consumer.ack()
        consumer.read(2)                                   # read, never acknowledged
    with kvstore.open(path, durability="sync") as db:
        consumer = db.stream_consumer("events", name="shipping", timeout=0)
        keys = [r["dynamodb"]["Keys"]["pk"] for r in consumer]
        assert [r["dynamodb"]["Keys"]["pk"] for r in first] == ["0", "1"]
        assert keys == ["2", "3", "4"]
        other = db.stream_consumer("events", name="billing", timeout=0)
        assert len(other.read(10)) == 5


def test_kvstore_check_verifies_streams(tmp_path):
    """`kvstore check` rebuilds the streams from the files and verifies them; a broken record is reported."""
    import msgpack

    from kvstore.engine import stream_check, tools
    path = str(tmp_path / "db")
    clock = Clock()
    with kvstore.open(path, durability="sync", clock=clock, stream_shard_seconds=60) as db:
        table = _create(db)
        _writes(table, 10)
        clock.advance(61)
        db.checkpoint()
        _writes(table, 10, 10)
        consumer = db.stream_consumer("events", name="c", timeout=0)
        consumer.ack(consumer.read(3)[-1])
    report = tools.check(path)
    assert report["ok"] and report["streams"] == {"streams": 1, "enabled": 1, "shards": 2, "records": 24,
                                                  "consumers": 1}
    orphan = msgpack.packb(["W", [["nope", b"k", b"\x80", None]], 1.0], use_bin_type=True)
    summary, problems = stream_check.verify([], [(5, orphan)])
    assert problems == ["LSN 5: 1 stream record(s) of a write belong to no retained stream"]
