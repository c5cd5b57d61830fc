"""A point-in-time restore from a checkpoint links it instead of logging every row.

The restored table's rows are the checkpoint's rows of the source plus the
changes logged since (``kvstore/engine/pitr.py``, ``PointInTime.restore``):
the checkpoint gets a second name in ``<db>/restores/``, the log gets only the
changed rows and the table's record.  These tests check that recovery builds
the same table from that, that the link goes once no log record names it, that
a file system without links still restores (every row logged), that a crash at
any step leaves a whole table or none, and that a later restore replaying
through such a record reads the link.
"""

import os

import pytest

import kvstore
from kvstore.clock import ManualClock
from kvstore.engine.fs import FaultyFS, SimulatedCrash
from kvstore.engine.pitr import RESTORES

START = 1_767_225_600.0
ITEMS = 300


def _open(path, clock, **options):
    options.setdefault("durability", "none")
    return kvstore.open(path, clock=clock, checkpoint_log_bytes=1 << 40, **options)


def _source(db, clock, name="orders"):
    """A PITR table of ITEMS items, checkpointed, then 20 deletes and 20 updates a second later."""
    db.create_table(TableName=name, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                    AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                    BillingMode="PAY_PER_REQUEST")
    db.meta.client.update_continuous_backups(TableName=name, PointInTimeRecoverySpecification={
        "PointInTimeRecoveryEnabled": True})
    with db.Table(name).batch_writer() as batch:
        for i in range(ITEMS):
            batch.put_item(Item={"pk": f"k{i:04d}", "v": i, "pad": "p" * 100})
    clock.advance(1)
    db.checkpoint()
    clock.advance(1)
    table = db.Table(name)
    for i in range(20):
        table.delete_item(Key={"pk": f"k{i:04d}"})
        table.update_item(Key={"pk": f"k{ITEMS - 1 - i:04d}"}, UpdateExpression="SET v = :v",
                          ExpressionAttributeValues={":v": -i})
    clock.advance(1)


def _expected():
    items = {f"k{i:04d}": i for i in range(20, ITEMS)}
    for i in range(20):
        items[f"k{ITEMS - 1 - i:04d}"] = -i
    return items


def _items(db, name):
    return {i["pk"]: int(i["v"]) for i in db.Table(name).scan()["Items"]}


def _links(path):
    directory = os.path.join(path, RESTORES)
    return sorted(os.listdir(directory)) if os.path.exists(directory) else []


def test_a_restore_links_the_checkpoint_and_logs_only_the_changes(tmp_path):
    path, clock = str(tmp_path / "db"), ManualClock(START)
    with _open(path, clock) as db:
        _source(db, clock)
        before = db.engine.durability.next_lsn
        db.meta.client.restore_table_to_point_in_time(SourceTableName="orders", TargetTableName="copy",
                                                      UseLatestRestorableTime=True)
        assert db.engine.durability.next_lsn - before == 2          # one record of 40 rows, one of the table
        assert _items(db, "copy") == _expected()
        [link] = _links(path)
        assert db.engine.pitr.restore_files[link] > before
    with _open(path, clock) as db:                                 # recovery: the link's rows plus the changes
        assert _items(db, "copy") == _expected()
        assert db.engine.tables["copy"].rows == db.engine.tables["orders"].rows
        assert _links(path) == [link]
        db.Table("copy").put_item(Item={"pk": "new", "v": 1})
    with _open(path, clock) as db:
        assert _items(db, "copy") == dict(_expected(), new=1)


def test_a_restore_to_a_time_before_the_changes_logs_nothing_but_the_table(tmp_path):
    path, clock = str(tmp_path / "db"), ManualClock(START)
    with _open(path, clock) as db:
        _source(db, clock)
        db.meta.client.restore_table_to_point_in_time(SourceTableName="orders", TargetTableName="copy",
                                                      RestoreDateTime=START + 1.5)
        assert len(_items(db, "copy")) == ITEMS
    with _open(path, clock) as db:
        assert _items(db, "copy") == {f"k{i:04d}": i for i in range(ITEMS)}


def test_the_link_goes_once_no_log_record_names_it(tmp_path):
    path, clock = str(tmp_path / "db"), ManualClock(START)
    with _open(path, clock) as db:
        _source(db, clock)
        db.meta.client.restore_table_to_point_in_time(SourceTableName="orders", TargetTableName="copy",
                                                      UseLatestRestorableTime=True)
        assert len(_links(path)) == 1
        db.meta.client.update_continuous_backups(TableName="orders", PointInTimeRecoverySpecification={
            "PointInTimeRecoveryEnabled": False})                  # no history kept: only recovery needs it
        db.checkpoint()                                            # the table is in the checkpoint now
        db.Table("copy").put_item(Item={"pk": "after", "v": 0})
        db.checkpoint()                                            # the segment holding its record goes
        db.engine.pitr.trim()
        assert _links(path) == []
        assert db.engine.pitr.restore_files == {}
    with _open(path, clock) as db:
        assert _items(db, "copy") == dict(_expected(), after=0)


def test_a_file_system_without_links_logs_every_row(tmp_path):
    clock = ManualClock(START)
    fs = FaultyFS()
    fs.fail("link", times=None)
    with _open("/db", clock, fs=fs, durability="sync") as db:
        _source(db, clock)
        before = db.engine.durability.next_lsn
        db.meta.client.restore_table_to_point_in_time(SourceTableName="orders", TargetTableName="copy",
                                                      UseLatestRestorableTime=True)
        assert db.engine.pitr.restore_files == {}
        assert fs.base.listdir("/db/restores") == []
    with _open("/db", clock, fs=fs, durability="sync") as db:
        assert _items(db, "copy") == _expected()
        assert db.engine.durability.next_lsn - before >= 2


@pytest.mark.parametrize("op, where", [("link", "/db/restores"), ("fsync_dir", "/db/restores"),
                                       ("write", "/db/wal"), ("sync", "/db/wal"), ("rename", "/db/pitr")])
@pytest.mark.parametrize("mode", ["keep", "drop"])
def test_a_crash_at_any_step_leaves_the_whole_table_or_none(op, where, mode):
    clock = ManualClock(START)
    fs = FaultyFS()
    db = _open("/db", clock, fs=fs, durability="sync")
    _source(db, clock)
    fs.crash_at(op, path=where)
    try:
        db.meta.client.restore_table_to_point_in_time(SourceTableName="orders", TargetTableName="copy",
                                                      UseLatestRestorableTime=True)
    except Exception as e:                                          # the crash, wrapped or not
        assert fs.crashed, e
    except SimulatedCrash:
        pass
    crashed = fs.crashed
    if not crashed:
        db.close()
    after = FaultyFS(fs.base.after_crash(mode))
    with _open("/db", clock, fs=after, durability="sync") as db:
        assert db.engine.tables["orders"].rows and _items(db, "orders") == _expected()
        links = after.listdir("/db/restores") if after.exists("/db/restores") else []
        if "copy" in db.engine.tables:
            assert _items(db, "copy") == _expected()
            assert len(links) == 1 and set(links) == set(db.engine.pitr.restore_files)
        else:
            assert crashed
            assert links == [] and db.engine.pitr.restore_files == {}


def test_a_restore_replaying_through_a_linked_restore_reads_the_link(tmp_path):
    """The restored table gets PITR too; its history starts at the source's checkpoint, before the table
    existed, so the replay meets the table's record and reads its rows from the link."""
    path, clock = str(tmp_path / "db"), ManualClock(START)
    with _open(path, clock) as db:
        _source(db, clock)
        db.meta.client.restore_table_to_point_in_time(SourceTableName="orders", TargetTableName="copy",
                                                      UseLatestRestorableTime=True)
        clock.advance(1)
        db.meta.client.update_continuous_backups(TableName="copy", PointInTimeRecoverySpecification={
            "PointInTimeRecoveryEnabled": True})
        clock.advance(1)
        db.Table("copy").put_item(Item={"pk": "later", "v": 5})
        marked = clock()
        clock.advance(1)
        db.Table("copy").delete_item(Key={"pk": "k0100"})
    with _open(path, clock) as db:
        db.meta.client.restore_table_to_point_in_time(SourceTableName="copy", TargetTableName="again",
                                                      RestoreDateTime=marked)
        assert _items(db, "again") == dict(_expected(), later=5)
