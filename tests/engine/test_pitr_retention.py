"""Point-in-time recovery in the engine: history across restarts, retention trimming, disk use, cleanup.

A directory database keeps the log segments and checkpoints a checkpoint lets
go of in ``<db>/pitr/`` while a table has PITR on; the retention job deletes
what is older than every table's earliest restorable time.  An in-memory
database keeps the history in memory and folds what falls out of the window.
"""

import os
import time

import msgpack

import kvstore
from kvstore.clock import ManualClock
from kvstore.engine.pitr import DIRECTORY, INDEX

DAY = 86400.0
START = 1_767_225_600.0


def _open(path, clock, **options):
    return kvstore.open(path, clock=clock, durability="none", checkpoint_log_bytes=1 << 40, **options)


def _table(db, name="orders"):
    db.create_table(TableName=name, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                    AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                    BillingMode="PAY_PER_REQUEST")
    return db.Table(name)


def _enable(db, name="orders", days=None):
    spec = {"PointInTimeRecoveryEnabled": True}
    if days is not None:
        spec["RecoveryPeriodInDays"] = days
    return db.meta.client.update_continuous_backups(TableName=name, PointInTimeRecoverySpecification=spec)


def _restore(db, when, target, source="orders"):
    db.meta.client.restore_table_to_point_in_time(SourceTableName=source, TargetTableName=target,
                                                  RestoreDateTime=when)
    return {i["pk"]: int(i["v"]) for i in db.Table(target).scan()["Items"]}


def _retained(path):
    return sorted(os.listdir(os.path.join(path, DIRECTORY)))


def test_history_survives_restarts_and_checkpoints(tmp_path):
    path, clock = str(tmp_path / "db"), ManualClock(START)
    db = _open(path, clock)
    table = _table(db)
    _enable(db)
    states = {}
    for day in range(6):
        clock.advance(3600)
        table.put_item(Item={"pk": f"k{day}", "v": day})
        table.update_item(Key={"pk": "count"}, UpdateExpression="ADD v :one", ExpressionAttributeValues={":one": 1})
        states[clock()] = {**{f"k{d}": d for d in range(day + 1)}, "count": day + 1}
        if day % 2:
            db.checkpoint()
        if day % 3 == 2:
            db.close()
            db = _open(path, clock)
            table = db.Table("orders")
    for i, (when, expected) in enumerate(sorted(states.items())):
        assert _restore(db, when, f"restored{i}") == expected
        assert _restore(db, when - 1, f"before{i}") == {k: v for k, v in expected.items()
                                                          if k != f"k{i}" and k != "count"} | (
            {"count": i} if i else {})
    db.close()
    with _open(path, clock) as db:                       # restored tables are tables like any other
        assert {i["pk"] for i in db.Table("restored2").scan()["Items"]} == {"k0", "k1", "k2", "count"}


def test_retention_trims_history_past_the_recovery_period(tmp_path):
    """Three days of writes with a one-day period: the retention job (every 5 minutes of the clock) keeps
    one base at or before the window and what is inside it, so the history stays about a day long."""
    path, clock = str(tmp_path / "db"), ManualClock(START)
    db = _open(path, clock)
    table = _table(db)
    _enable(db, days=1)
    usage = {}
    for hour in range(72):                               # a checkpoint every 6 hours
        clock.advance(3600)
        table.put_item(Item={"pk": "k", "v": hour, "pad": "x" * 2000})
        if hour % 6 == 5:
            db.checkpoint()
        db.run_pending()
        db.engine.pitr.trim()          # the job may have run just before the checkpoint; trim after it too
        usage[hour] = db.engine.pitr.disk_usage()
    # untrimmed, three days of 2 KB writes would hold over 144 KB; trimmed, at most the day of the window
    # plus the hours back to its base checkpoint (about 30 writes; how many depends on when the log's
    # segments rolled, which the background flusher decides, so no tighter bound holds on a loaded machine)
    assert 0 < usage[71] < 72 * 2000 * 0.6
    assert usage[71] < usage[35] * 1.6                   # steady, not growing with the days
    earliest = clock() - DAY
    index = msgpack.unpackb(open(os.path.join(path, DIRECTORY, INDEX), "rb").read(), strict_map_key=False)
    times = sorted(entry[1] for entry in index["checkpoints"].values())
    assert times[0] <= earliest < times[1]               # the newest base at or before the window, no older one
    oldest = min(int(n[4:24]) for n in _retained(path) if n.startswith("wal-"))
    assert oldest >= min(int(k) for k in index["checkpoints"]) - 6
    window = db.meta.client.describe_continuous_backups(TableName="orders")[
        "ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
    assert window["EarliestRestorableDateTime"].timestamp() == earliest
    assert _restore(db, earliest, "oldest") == {"k": 47}       # written at START + 48 h = earliest
    assert _restore(db, earliest + 1800, "later") == {"k": 47}
    db.close()
    with _open(path, clock) as db:                       # the trimmed history still restores after a restart
        assert _restore(db, earliest + 3600, "reopened") == {"k": 48}


def test_disabling_the_last_table_deletes_the_retained_history(tmp_path):
    path, clock = str(tmp_path / "db"), ManualClock(START)
    with _open(path, clock) as db:
        table = _table(db)
        _enable(db)
        for i in range(3):
            clock.advance(10)
            table.put_item(Item={"pk": "k", "v": i})
            db.checkpoint()
        assert db.engine.pitr.disk_usage() > 0
        db.meta.client.update_continuous_backups(
            TableName="orders", PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": False})
        assert _retained(path) == []
        assert db.engine.pitr.disk_usage() == 0
        db.checkpoint()                                  # released files are deleted again
        assert _retained(path) == []


def test_a_deleted_table_leaves_no_history(tmp_path):
    path, clock = str(tmp_path / "db"), ManualClock(START)
    with _open(path, clock) as db:
        _table(db)
        _enable(db)
        db.Table("orders").delete()
        assert not db.engine.pitr.names
        db.engine.pitr.trim()
        assert _retained(path) == []


def test_commit_times_never_go_back_with_the_clock():
    """A clock set back still hands out non-decreasing commit times, so a restore stays a prefix of the log."""
    clock = ManualClock(START)
    with kvstore.open(":memory:", clock=clock) as db:
        table = _table(db)
        _enable(db)
        clock.advance(10)
        table.put_item(Item={"pk": "a", "v": 1})
        clock.set(START + 5)
        table.put_item(Item={"pk": "b", "v": 2})
        assert db.engine.pitr.memory["orders"].times == [START + 10, START + 10]


def test_in_memory_history_is_folded_past_the_recovery_period():
    clock = ManualClock(START)
    with kvstore.open(":memory:", clock=clock) as db:
        table = _table(db)
        _enable(db, days=1)
        for hour in range(48):
            clock.advance(3600)
            table.put_item(Item={"pk": "k", "v": hour})
        history = db.engine.pitr.memory["orders"]
        db.engine.pitr.trim()                  # the clock-driven job may already have folded some
        assert len(history.keys) == 24
        assert history.base_time == clock() - DAY
        assert _restore(db, clock() - DAY, "oldest") == {"k": 23}
        assert db.engine.pitr.disk_usage() > 0


def test_kvstore_restore_cli_restores_a_directory_to_a_time(tmp_path, capsys):
    """The CLI reopens the directory on the wall clock: the history is written an hour in the past."""
    from datetime import datetime, timezone

    from kvstore.restore_cli import main
    path = str(tmp_path / "db")
    start = float(int(time.time()) - 3600)
    with _open(path, ManualClock(start)) as db:
        table = _table(db)
        _enable(db)
        table.put_item(Item={"pk": "a", "v": 1})
        db.clock.advance(60)
        table.put_item(Item={"pk": "b", "v": 2})
    assert main([path, "--table", "orders", "--info"]) == 0
    assert "earliest restorable" in capsys.readouterr().out
    iso = datetime.fromtimestamp(start + 30, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert main([path, "--table", "orders", "--target", "then", "--to-time", iso]) == 0
    assert main([path, "--table", "orders", "--target", "epoch", "--to-time", str(start + 60)]) == 0
    with kvstore.open(path) as db:
        assert [i["pk"] for i in db.Table("then").scan()["Items"]] == ["a"]
        assert sorted(i["pk"] for i in db.Table("epoch").scan()["Items"]) == ["a", "b"]
    assert main([path, "--table", "orders", "--target", "late", "--to-time", "2030-01-01T00:00:00Z"]) == 1
    assert "InvalidRestoreTimeException" in capsys.readouterr().err


def test_concurrent_writers_log_non_decreasing_commit_times(tmp_path):
    """Threads writing at once on the wall clock: the times in the log never decrease along the LSNs
    (so "committed by T" is a prefix of the log), and a restore to the latest time equals the table."""
    import threading

    from kvstore.engine import wal
    path = str(tmp_path / "db")
    with kvstore.open(path, durability="none", checkpoint_log_bytes=1 << 40) as db:
        table = _table(db)
        _enable(db)
        stop = threading.Event()

        def write(n):
            i = 0
            while not stop.is_set():
                table.put_item(Item={"pk": f"w{n}-{i % 50}", "v": i})
                if i % 7 == 0:
                    table.delete_item(Key={"pk": f"w{n}-{(i * 3) % 50}"})
                i += 1

        threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        time.sleep(0.5)
        stop.set()
        for t in threads:
            t.join()
        db.meta.client.restore_table_to_point_in_time(SourceTableName="orders", TargetTableName="latest",
                                                      UseLatestRestorableTime=True)
        assert {i["pk"]: i["v"] for i in db.Table("latest").scan()["Items"]} == \
            {i["pk"]: i["v"] for i in table.scan()["Items"]}
        db.engine.durability.flush()
    times = []
    for name in sorted(os.listdir(path)):
        if wal.parse_segment_name(name) is not None:
            data = open(os.path.join(path, name), "rb").read()
            scan = wal.scan_segment(data, name)
            for _lsn, payload in wal.iter_payloads(data, name, 1, scan.end):
                record = msgpack.unpackb(payload, raw=False)
                if record[0] == "W" and record[1][0][0] == "orders":
                    times.append(record[2])
    assert len(times) > 100
    assert times == sorted(times)
