"""Incremental backups (kvstore.engine.backup, docs/format.md "Backups (incremental)").

A backup stores the rows that changed since the newest backup of its table
and names the rest (shared runs); each backup still restores on its own to a
byte-identical table, and deleting any backup, in any order, never breaks
another.  The property test drives random changes, backups, deletions and
reopens against a model (the table's rows at each backup's time, byte for
byte) on an in-memory and a directory database; the power-cut tests stop the
process at every file operation of a backup and of a delete.
"""

import errno
import os
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kvstore
from kvstore import _core
from kvstore.engine import backup as backup_module
from kvstore.engine.backup import MAGIC, RUN_SUFFIX, RUNS, store
from kvstore.engine.fs import FaultyFS, MemoryFS, SimulatedCrash

KEYS = 24


def create(db, name="things"):
    return db.create_table(TableName=name, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                                                      {"AttributeName": "sk", "KeyType": "RANGE"}],
                           AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                                 {"AttributeName": "sk", "AttributeType": "N"}],
                           BillingMode="PAY_PER_REQUEST")


def rows_of(db, name="things"):
    return dict(db.engine.tables[name].rows)


def restored_rows(db, backup, target="restored"):
    """Restore ``backup`` through RestoreTableFromBackup; the new table's rows (then drop it)."""
    db.meta.client.restore_table_from_backup(TargetTableName=target, BackupArn=backup.arn)
    rows = rows_of(db, target)
    db.Table(target).delete()
    return rows


def run_files(fs, path):
    directory = os.path.join(path, "backups", RUNS)
    if not fs.exists(directory):
        return set()
    return {n[:-len(RUN_SUFFIX)] for n in fs.listdir(directory) if n.endswith(RUN_SUFFIX)}


def check_sharing(db, fs=None, path=None):
    """The in-memory counts equal the manifests' references; on disk, exactly the named runs exist."""
    backups = store(db.engine)
    named = {}
    for b in backups.all():
        for run in b.runs or ():
            named[run.name] = named.get(run.name, 0) + 1
    assert backups.refs == named
    assert set(backups.runs) == set(named)
    if fs is not None:
        assert run_files(fs, path) == set(named)
        if fs.exists(os.path.join(path, "backups")):
            assert not [n for n in fs.listdir(os.path.join(path, "backups")) if n.endswith(".tmp")]


step = st.one_of(
    st.tuples(st.just("put"), st.integers(0, KEYS - 1), st.integers(0, 400)),      # key, value length
    st.tuples(st.just("delete"), st.integers(0, KEYS - 1), st.just(0)),
    st.tuples(st.just("backup"), st.just(0), st.just(0)),
    st.tuples(st.just("drop"), st.integers(0, 1000), st.just(0)),                  # delete a backup
    st.tuples(st.just("reopen"), st.just(0), st.just(0)),
)


@pytest.mark.parametrize("where", ["memory", "directory"])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(step, max_size=60), order=st.randoms(use_true_random=False))
def test_random_changes_backups_and_deletions_every_backup_restores_its_time(where, steps, order):
    fs = MemoryFS() if where == "directory" else None

    def open_db():
        return kvstore.open("/db", fs=fs, durability="sync") if fs else kvstore.open(":memory:")

    db = open_db()
    try:
        table = create(db)
        model = {}                     # (pk, sk) -> item: what the table holds now
        expected = {}                  # arn -> (rows byte for byte, items) at the backup's time
        version = 0
        for kind, key, size in steps + [("backup", 0, 0)]:
            if kind == "put":
                version += 1
                item = {"pk": f"p{key % 5}", "sk": key, "v": version, "pad": "x" * size}
                table.put_item(Item=item)
                model[(item["pk"], key)] = item
            elif kind == "delete":
                table.delete_item(Key={"pk": f"p{key % 5}", "sk": key})
                model.pop((f"p{key % 5}", key), None)
            elif kind == "backup":
                made = store(db.engine).create(db.engine.tables["things"], "b-%d" % len(expected))
                expected[made.arn] = (rows_of(db), {k: dict(v) for k, v in model.items()})
            elif kind == "drop" and expected:
                arns = sorted(expected)
                arn = arns[key % len(arns)]
                store(db.engine).delete(store(db.engine).get(arn))
                del expected[arn]
            elif kind == "reopen" and fs is not None:
                db.close()
                db = open_db()
                table = db.Table("things")
            check_sharing(db, fs, "/db")
        # delete the backups in a random order; after each deletion every remaining one restores exactly
        remaining = sorted(expected)
        order.shuffle(remaining)
        while remaining:
            for arn in remaining:
                backup = store(db.engine).get(arn)
                rows, items = expected[arn]
                got = restored_rows(db, backup)
                assert got == rows                                     # byte-identical packed items
                assert {(i["pk"], i["sk"]): i for i in map(_core.unpack_item, got.values())} == items
            store(db.engine).delete(store(db.engine).get(remaining.pop()))
            check_sharing(db, fs, "/db")
        assert store(db.engine).runs == {} and store(db.engine).refs == {}
    finally:
        db.close()


def fill(table, n, pad=100, start=0):
    with table.batch_writer() as batch:
        for i in range(start, start + n):
            batch.put_item(Item={"pk": f"p{i % 97}", "sk": i, "pad": "y" * pad})


def test_a_backup_stores_only_what_changed_and_names_the_rest(tmp_path):
    path = str(tmp_path / "db")
    with kvstore.open(path) as db:
        table = create(db)
        fill(table, 2000)
        full = store(db.engine).create(db.engine.tables["things"], "full")
        for i in range(0, 2000, 100):                               # 1% of the items change
            table.put_item(Item={"pk": f"p{i % 97}", "sk": i, "pad": "changed"})
        table.delete_item(Key={"pk": "p1", "sk": 1})
        incremental = store(db.engine).create(db.engine.tables["things"], "incremental")
        assert incremental.runs[0] is full.runs[0] and len(incremental.runs) == 2
        assert incremental.runs[1].entries == 21                     # 20 changed, 1 deleted
        assert incremental.stored_bytes < full.stored_bytes * 0.05
        assert incremental.size_bytes == db.engine.tables["things"].size_bytes     # BackupSizeBytes: the table
        # the stored bytes are the files' bytes: the new run and the manifest
        run_path = incremental.runs[1].path
        assert incremental.stored_bytes == os.path.getsize(run_path) + os.path.getsize(incremental.path)
        unchanged = store(db.engine).create(db.engine.tables["things"], "unchanged")
        assert unchanged.runs == incremental.runs
        assert unchanged.stored_bytes == os.path.getsize(unchanged.path) < 1000
        expected = rows_of(db)
    with kvstore.open(path) as db:                                  # after a restart: read from the files
        backups = store(db.engine).all()
        assert [b.stored_bytes for b in backups] == [full.stored_bytes, incremental.stored_bytes,
                                                     unchanged.stored_bytes]
        store(db.engine).delete(backups[0])                         # the first: its run is still named
        store(db.engine).delete(backups[2])                         # the last
        assert restored_rows(db, backups[1]) == expected
        table = db.Table("things")
        table.put_item(Item={"pk": "p0", "sk": 0, "pad": "again"})
        after = store(db.engine).create(db.engine.tables["things"], "after-restart")   # parent read back from disk
        assert after.runs[:-1] == backups[1].runs[:len(after.runs) - 1]
        assert restored_rows(db, after) == rows_of(db)


def test_compaction_bounds_the_runs_a_backup_names():
    """Many small changes: folds keep the runs few and halving in size; a restore reads at most ~2 copies."""
    with kvstore.open(":memory:") as db:
        table = create(db)
        fill(table, 500)
        backups = []
        for round_ in range(200):
            table.put_item(Item={"pk": "p0", "sk": round_ % 500, "pad": f"r{round_}"})
            backups.append(store(db.engine).create(db.engine.tables["things"], f"b-{round_}"))
            runs = backups[-1].runs
            assert len(runs) <= 12
            assert all(runs[i].size > 2 * runs[i + 1].size for i in range(len(runs) - 1))
            assert sum(r.size for r in runs) <= 2 * runs[0].size
        assert store(db.engine).state(backups[-1]) == rows_of(db)


def test_a_table_that_shrank_gets_a_new_full_run():
    with kvstore.open(":memory:") as db:
        table = create(db)
        fill(table, 400, pad=300)
        first = store(db.engine).create(db.engine.tables["things"], "big")
        with table.batch_writer() as batch:
            for i in range(380):
                batch.delete_item(Key={"pk": f"p{i % 97}", "sk": i})
        second = store(db.engine).create(db.engine.tables["things"], "small")
        assert len(second.runs) == 1 and second.runs[0] is not first.runs[0]
        store(db.engine).delete(first)
        assert list(store(db.engine).runs) == [second.runs[0].name]


def test_a_new_table_of_the_same_name_starts_from_a_full_run():
    with kvstore.open(":memory:") as db:
        table = create(db)
        fill(table, 50)
        old = store(db.engine).create(db.engine.tables["things"], "old")
        table.delete()
        table = create(db)
        fill(table, 10)
        new = store(db.engine).create(db.engine.tables["things"], "new")
        assert new.runs[0] is not old.runs[0] and len(new.runs) == 1
        assert restored_rows(db, new) == rows_of(db)


def write_full_copy_backup(path, db, name):
    """A version 1 backup file (a full copy, docs/format.md), as kvstore wrote before incremental backups."""
    table = db.engine.tables[name]
    meta = table.meta
    arn = f"{meta['TableArn']}/backup/01700000000000-0badc0de"
    record = {"backup": {"BackupArn": arn, "BackupName": "old-full", "BackupCreationDateTime": 1_700_000_000.0,
                         "BackupSizeBytes": table.size_bytes, "ItemCount": len(table.rows)}, "meta": meta}
    head = struct.pack("<8sHH", MAGIC, 1, 0)
    data = head + struct.pack("<I", backup_module.zlib.crc32(head))
    data += backup_module._chunk(record)
    data += backup_module._chunk(["rows", [[k, v] for k, v in table.rows.items()]])
    data += backup_module._chunk(["end", len(table.rows)])
    os.makedirs(os.path.join(path, "backups"), exist_ok=True)
    with open(os.path.join(path, "backups", "01700000000000-0badc0de.backup"), "wb") as f:
        f.write(data)
    return arn


def test_full_copy_backups_written_before_stay_restorable(tmp_path):
    path = str(tmp_path / "db")
    with kvstore.open(path) as db:
        table = create(db)
        fill(table, 300)
        before = rows_of(db)
        old_arn = write_full_copy_backup(path, db, "things")
    with kvstore.open(path) as db:
        old = store(db.engine).get(old_arn)
        assert old.runs is None
        db.Table("things").put_item(Item={"pk": "p0", "sk": 0, "pad": "new"})
        new = store(db.engine).create(db.engine.tables["things"], "new")
        assert len(new.runs) == 1                                   # a full copy is never a parent
        assert restored_rows(db, old) == before
        store(db.engine).delete(old)
        assert restored_rows(db, new) == rows_of(db)
        assert [b.arn for b in store(db.engine).all()] == [new.arn]


def test_an_unreadable_manifest_keeps_every_run(tmp_path, caplog):
    path = str(tmp_path / "db")
    with kvstore.open(path) as db:
        table = create(db)
        fill(table, 100)
        first = store(db.engine).create(db.engine.tables["things"], "a")
        with table.batch_writer() as batch:                # the table shrinks: the second is a new full run
            for i in range(90):
                batch.delete_item(Key={"pk": f"p{i % 97}", "sk": i})
        second = store(db.engine).create(db.engine.tables["things"], "b")
        assert second.runs[0] is not first.runs[0]
    with open(first.path, "r+b") as f:                 # the first manifest no longer reads
        f.seek(20)
        f.write(b"\xff\xff")
    with kvstore.open(path) as db:
        assert [b.arn for b in store(db.engine).all()] == [second.arn]
        assert "not collecting" in caplog.text
        assert len(os.listdir(os.path.join(path, "backups", RUNS))) == 2
        assert restored_rows(db, store(db.engine).get(second.arn)) == rows_of(db)


def power_cut_states(action, mode):
    """Crash ``action`` at each file operation under backups/ in turn; yield the rebooted fs each time."""
    for op in ("create", "write", "sync", "rename", "fsync_dir", "remove"):
        after = 0
        while True:
            fs = FaultyFS()
            db = kvstore.open("/db", fs=fs, durability="sync")
            state = setup(db)
            fs.crash_at(op, path="/db/backups", after=after)
            try:
                action(db, state)
            except SimulatedCrash:
                pass
            else:                                      # the action finished before the op's n-th call
                db.close()
                break
            yield fs.base.after_crash(mode, seed=after), state
            after += 1


def setup(db):
    table = create(db)
    fill(table, 300, pad=50)
    a = store(db.engine).create(db.engine.tables["things"], "a")
    rows_a = rows_of(db)
    fill(table, 10, pad=60)
    b = store(db.engine).create(db.engine.tables["things"], "b")
    rows_b = rows_of(db)
    fill(table, 3, pad=70, start=5)
    return {a.arn: rows_a, b.arn: rows_b, "now": rows_of(db), "b": b.arn}


def check_after_power_cut(fs, state):
    db = kvstore.open("/db", fs=fs)
    try:
        backups = store(db.engine).all()
        arns = {b.arn for b in backups}
        old = {arn for arn in state if arn.startswith("arn:")}
        # every backup that exists restores exactly to its own time; a new one (if published) to "now"
        for b in backups:
            assert restored_rows(db, b) == state.get(b.arn, state["now"])
        assert len(arns - old) <= 1
        check_sharing(db, fs, "/db")
        return arns
    finally:
        db.close()


@pytest.mark.parametrize("mode", ["keep", "drop", "torn"])
def test_a_power_cut_at_any_point_of_a_backup_leaves_the_old_backups_whole(mode):
    seen = set()
    for fs, state in power_cut_states(lambda db, s: store(db.engine).create(db.engine.tables["things"], "c"), mode):
        arns = check_after_power_cut(fs, state)
        assert {a for a in state if a.startswith("arn:")} <= arns      # no old backup was lost
        seen.add(len(arns))
    assert seen == {2, 3} or seen == {2}


@pytest.mark.parametrize("mode", ["keep", "drop", "torn"])
def test_a_power_cut_at_any_point_of_a_delete_never_breaks_another_backup(mode):
    def delete_first(db, state):
        first = store(db.engine).all()[0]
        store(db.engine).delete(first)

    outcomes = set()
    for fs, state in power_cut_states(delete_first, mode):
        arns = check_after_power_cut(fs, state)
        assert state["b"] in arns                                      # the other backup is always whole
        outcomes.add(len(arns))
    assert 1 in outcomes or 2 in outcomes


def test_a_failed_run_write_leaves_nothing_and_the_next_backup_works():
    fs = FaultyFS()
    with kvstore.open("/db", fs=fs, durability="sync") as db:
        state = setup(db)
        fs.fail("write", errno.ENOSPC, path="/db/backups/runs")
        with pytest.raises(kvstore.errors.InternalServerError):
            store(db.engine).create(db.engine.tables["things"], "full-disk")
        check_sharing(db, fs, "/db")
        fs.fail("rename", errno.EIO, path=".backup")                  # the run is written, the manifest fails
        with pytest.raises(kvstore.errors.InternalServerError):
            store(db.engine).create(db.engine.tables["things"], "full-disk")
        check_sharing(db, fs, "/db")
        made = store(db.engine).create(db.engine.tables["things"], "fine")
        assert restored_rows(db, made) == state["now"]


def test_backup_plans_make_incremental_backups_and_retention_breaks_none(tmp_path):
    """An hourly plan keeping 6 over two days, 1% of the items changing each hour: after the first, each
    plan backup stores a small part of a full one; retention deletes the oldest while the kept ones
    (whose runs include the deleted ones' base) restore exactly to their hours."""
    from kvstore.clock import ManualClock
    clock = ManualClock(start=1_700_000_000)
    path = str(tmp_path / "db")
    db = kvstore.open(path, clock=clock, backup_plans=["hourly:1h:6"])
    try:
        table = create(db)
        fill(table, 1000)
        states = {}
        for hour in range(48):
            for i in range(10):
                table.put_item(Item={"pk": f"p{i % 97}", "sk": (hour * 37 + i * 101) % 1000, "pad": f"h{hour}"})
            clock.advance(3600)
            db.run_pending()
            newest = store(db.engine).all()[-1]
            states[newest.arn] = rows_of(db)
        kept = store(db.engine).all()
        assert len(kept) == 6 and all(b.plan == "hourly" for b in kept)
        assert all(b.stored_bytes < 0.2 * b.runs[0].size for b in kept)         # a full run is runs[0]
        assert all(b.runs[0] is kept[0].runs[0] for b in kept)                   # made by a deleted backup
        for backup in kept:
            assert restored_rows(db, backup) == states[backup.arn]
        check_sharing(db)
    finally:
        db.close()


def test_a_damaged_parent_makes_the_next_backup_a_full_one(tmp_path, caplog):
    path = str(tmp_path / "db")
    with kvstore.open(path) as db:
        table = create(db)
        fill(table, 200)
        first = store(db.engine).create(db.engine.tables["things"], "a")
    with open(first.runs[0].path, "r+b") as f:                 # a bit flips in the only run
        f.seek(100)
        byte = f.read(1)
        f.seek(100)
        f.write(bytes([byte[0] ^ 0xFF]))
    with kvstore.open(path) as db:
        db.Table("things").put_item(Item={"pk": "p0", "sk": 0, "pad": "new"})
        second = store(db.engine).create(db.engine.tables["things"], "b")
        assert "the new backup of its table is a full one" in caplog.text
        assert len(second.runs) == 1 and second.runs[0].name != first.runs[0].name
        assert restored_rows(db, second) == rows_of(db)
        with pytest.raises(kvstore.errors.InternalServerError):
            restored_rows(db, store(db.engine).get(first.arn))
        assert "restored" not in db.engine.tables


def test_the_copy_runs_without_locks_and_writes_made_during_it_are_caught(monkeypatch):
    """snapshot() copies the rows without the table's locks; writes that land during the copy (made here
    from another thread while the copy is "in progress") are re-read under the locks at the end, so the
    snapshot is the table after them, not a mix."""
    import threading

    with kvstore.open(":memory:") as db:
        table = create(db)
        fill(table, 200)
        listeners = list(db.engine.listeners)

        def copy_while_writing(rows):
            stale = {k: v for k, v in rows.items()}    # the copy, taken before the writes below

            def writes():                   # a put, an overwrite, a delete and a transaction over two items
                table.put_item(Item={"pk": "new", "sk": 1})
                table.put_item(Item={"pk": "p0", "sk": 0, "pad": "changed"})
                table.delete_item(Key={"pk": "p1", "sk": 1})
                db.meta.client.transact_write_items(TransactItems=[
                    {"Put": {"TableName": "things", "Item": {"pk": "p2", "sk": 2, "pad": "tx"}}},
                    {"Delete": {"TableName": "things", "Key": {"pk": "p3", "sk": 3}}}])
            writer = threading.Thread(target=writes)
            writer.start()
            writer.join(10)                 # would hang if the copy held the partition locks
            assert not writer.is_alive()
            return stale

        monkeypatch.setattr(backup_module, "dict", copy_while_writing, raising=False)
        meta, rows, size_bytes = backup_module.snapshot(db.engine, db.engine.tables["things"])
        monkeypatch.undo()
        assert rows == rows_of(db) and size_bytes == db.engine.tables["things"].size_bytes
        assert db.engine.listeners == listeners


def test_snapshots_under_concurrent_transactions_are_each_one_instant():
    """Writers move amounts between two items in transactions (the total stays 1000); every snapshot taken
    meanwhile sees a total of 1000, never one side of a transaction."""
    import threading

    with kvstore.open(":memory:") as db:
        table = create(db)
        fill(table, 2000, pad=20)
        for i in range(8):
            table.put_item(Item={"pk": f"acct{i}", "sk": 0, "n": 1000 if i == 0 else 0})
        stop = threading.Event()

        def mover(seed):
            import random
            rng = random.Random(seed)
            client = db.meta.client
            while not stop.is_set():
                a, b = rng.sample(range(8), 2)
                try:
                    client.transact_write_items(TransactItems=[
                        {"Update": {"TableName": "things", "Key": {"pk": f"acct{a}", "sk": 0},
                                    "UpdateExpression": "SET n = n - :one", "ExpressionAttributeValues": {":one": 1}}},
                        {"Update": {"TableName": "things", "Key": {"pk": f"acct{b}", "sk": 0},
                                    "UpdateExpression": "SET n = n + :one", "ExpressionAttributeValues": {":one": 1}}}])
                except Exception:          # a conflict with the other mover: try again
                    pass

        threads = [threading.Thread(target=mover, args=(s,)) for s in range(2)]
        for t in threads:
            t.start()
        try:
            for _ in range(30):
                _, rows, _ = backup_module.snapshot(db.engine, db.engine.tables["things"])
                items = [_core.unpack_item(v) for v in rows.values()]
                assert sum(i["n"] for i in items if str(i["pk"]).startswith("acct")) == 1000
        finally:
            stop.set()
            for t in threads:
                t.join()
        assert not db.engine.listeners


def test_a_table_deleted_during_the_copy_is_not_found_and_leaves_no_listener(monkeypatch):
    with kvstore.open(":memory:") as db:
        table = create(db)
        fill(table, 10)
        engine_table = db.engine.tables["things"]

        def copy_then_drop(rows):
            copied = {k: v for k, v in rows.items()}
            table.delete()
            return copied

        monkeypatch.setattr(backup_module, "dict", copy_then_drop, raising=False)
        with pytest.raises(kvstore.errors.TableNotFoundException):
            backup_module.snapshot(db.engine, engine_table)
        assert not db.engine.listeners
