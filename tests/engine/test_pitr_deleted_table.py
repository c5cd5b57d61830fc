"""A deleted PITR table's SYSTEM backup in a directory database: kept across restarts, expired, never half-made.

The operations' behaviour on every face is tests/operations/test_deleted_table_backup.py.
"""

import threading
import time

import kvstore
from kvstore.clock import ManualClock
from kvstore.engine.backup import store
from kvstore.engine.pitr import DAY, SYSTEM_BACKUP_DAYS, settings

START = 1_767_225_600.0


def _open(path, clock):
    return kvstore.open(path, clock=clock, durability="none", checkpoint_log_bytes=1 << 40)


def _pitr_table(db, name="orders", items=50):
    db.create_table(TableName=name, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                    AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                    BillingMode="PAY_PER_REQUEST")
    db.meta.client.update_continuous_backups(TableName=name, PointInTimeRecoverySpecification={
        "PointInTimeRecoveryEnabled": True})
    with db.Table(name).batch_writer() as batch:
        for i in range(items):
            batch.put_item(Item={"pk": f"k{i}", "v": i})


def _system(db):
    return db.meta.client.list_backups(BackupType="SYSTEM")["BackupSummaries"]


def test_the_system_backup_survives_a_restart_and_restores_the_deleted_table(tmp_path):
    path, clock = str(tmp_path / "db"), ManualClock(START)
    with _open(path, clock) as db:
        _pitr_table(db)
        clock.advance(1)
        db.meta.client.delete_table(TableName="orders")
    with _open(path, clock) as db:
        [summary] = _system(db)
        assert summary["BackupName"] == "orders$DeletedTableBackup"
        assert summary["BackupExpiryDateTime"].timestamp() == START + 1 + SYSTEM_BACKUP_DAYS * DAY
        db.meta.client.restore_table_from_backup(TargetTableName="orders", BackupArn=summary["BackupArn"])
        assert sorted(int(i["v"]) for i in db.Table("orders").scan()["Items"]) == list(range(50))
    with _open(path, clock) as db:                         # the restored table is logged like any other
        assert len(db.Table("orders").scan()["Items"]) == 50


def test_the_retention_job_deletes_an_expired_system_backup_after_a_restart(tmp_path):
    path, clock = str(tmp_path / "db"), ManualClock(START)
    with _open(path, clock) as db:
        _pitr_table(db)
        db.meta.client.delete_table(TableName="orders")
        assert not db.engine.pitr.names
    clock.advance(SYSTEM_BACKUP_DAYS * DAY)
    with _open(path, clock) as db:                         # no PITR table left: the job runs for the backup
        assert _system(db) == []
        db.engine.pitr.trim()
        assert store(db.engine).backups == {}
    with _open(path, clock) as db:
        assert store(db.engine).backups == {}


def test_a_crash_between_the_system_backup_and_the_deletion_keeps_the_table_and_drops_the_backup(tmp_path):
    """The backup is written first and the deletion logged after; a crash in between (simulated here by
    writing the backup alone) leaves the table, so the backup of a deletion that never happened is dropped."""
    path, clock = str(tmp_path / "db"), ManualClock(START)
    with _open(path, clock) as db:
        _pitr_table(db)
        table = db.engine.tables["orders"]
        assert settings(table) is not None
        backups = store(db.engine)
        with backups.table_lock("orders"):
            backups.create_system((table.meta, dict(table.rows), table.size_bytes), SYSTEM_BACKUP_DAYS * DAY)
        assert len(_system(db)) == 1
    with _open(path, clock) as db:
        assert _system(db) == []
        assert len(db.Table("orders").scan()["Items"]) == 50
        db.meta.client.delete_table(TableName="orders")       # the real deletion makes its own
        assert len(_system(db)) == 1


def test_writes_racing_the_deletion_are_in_the_backup_or_refused(tmp_path):
    """The backup is taken under the table's partition locks, so a write either made it or failed."""
    path, clock = str(tmp_path / "db"), ManualClock(START)
    with _open(path, clock) as db:
        _pitr_table(db, items=0)
        table = db.Table("orders")
        done, stop = [], threading.Event()

        def writer():
            i = 0
            while not stop.is_set():
                try:
                    table.put_item(Item={"pk": f"w{i}", "v": i})
                except Exception:
                    return
                done.append(i)
                i += 1

        thread = threading.Thread(target=writer)
        thread.start()
        while len(done) < 200 and thread.is_alive():
            time.sleep(0.001)
        db.meta.client.delete_table(TableName="orders")
        stop.set()
        thread.join()
        [summary] = _system(db)
        db.meta.client.restore_table_from_backup(TargetTableName="back", BackupArn=summary["BackupArn"])
        restored = {int(i["v"]) for i in db.Table("back").scan()["Items"]}
        assert restored == set(done)
