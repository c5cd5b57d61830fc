"""Deferred durable waits (kvstore.engine.database.defer_durable_waits): a thread that defers gets
``(engine, lsn)`` instead of blocking in ``wait_durable``, and ``Engine.durable`` answers what the wait
would have: durable, not yet, or the error."""

import threading

import pytest

import kvstore
from kvstore.engine.database import defer_durable_waits, stop_deferring
from kvstore.engine.errors import DurabilityError
from kvstore.engine.fs import FaultyFS
from kvstore.errors import InternalServerError

WAIT = 30


class GatedFS(FaultyFS):
    """Log syncs wait while :attr:`gate` is closed."""

    def __init__(self):
        super().__init__()
        self.gate = threading.Event()
        self.gate.set()

    def _maybe_fail(self, op, path):
        if op == "sync" and "wal-" in str(path):
            assert self.gate.wait(WAIT)
        super()._maybe_fail(op, path)


def open_db(fs, durability="sync", path="/db"):
    db = kvstore.open(path, durability=durability, fs=fs)
    db.create_table(TableName="deferred", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                    AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                    BillingMode="PAY_PER_REQUEST")
    return db


def deferred_put(db, pk):
    """PutItem with this thread deferring: the waits it left."""
    waits = defer_durable_waits()
    try:
        db.Table("deferred").put_item(Item={"pk": pk})
    finally:
        stop_deferring()
    return waits


def test_a_deferred_write_under_sync_returns_before_its_sync_with_the_engine_and_its_lsn():
    fs = GatedFS()
    db = open_db(fs)
    try:
        fs.gate.clear()
        done = []
        thread = threading.Thread(target=lambda: done.append(deferred_put(db, "a")))
        thread.start()
        thread.join(WAIT)
        assert done, "the deferred write blocked on its sync"
        [(engine, lsn)] = done[0]
        assert engine is db.engine and lsn == engine.durability.next_lsn - 1
        assert engine.durable(lsn) is False
        fs.gate.set()
        engine.durability.flush()
        assert engine.durable(lsn) is True
    finally:
        fs.gate.set()
        db.close()


def test_under_batch_durability_a_write_defers_nothing(tmp_path):
    db = open_db(None, "batch", str(tmp_path / "db"))
    try:
        assert deferred_put(db, "b") == []
    finally:
        db.close()


def test_only_the_deferring_thread_defers():
    db = open_db(GatedFS())
    try:
        waits = defer_durable_waits()
        try:
            other = threading.Thread(target=lambda: db.Table("deferred").put_item(Item={"pk": "other"}))
            other.start()
            other.join(WAIT)
            assert waits == []                          # the other thread waited for its own sync
            assert db.engine.durable(db.engine.durability.next_lsn - 1)
        finally:
            stop_deferring()
        db.Table("deferred").put_item(Item={"pk": "after"})    # no longer deferring: durable on return
        assert db.engine.durability.durable_lsn == db.engine.durability.next_lsn - 1
    finally:
        db.close()


def test_durable_raises_what_wait_durable_would_once_the_sync_failed():
    fs = GatedFS()
    db = open_db(fs)
    try:
        fs.fail("sync", path="wal-", times=None)
        [(engine, lsn)] = deferred_put(db, "c")
        with pytest.raises(DurabilityError):
            engine.durability.flush()
        with pytest.raises(InternalServerError) as e:
            engine.durable(lsn)
        assert e.value.message.startswith("The write could not be made durable: the write-ahead log cannot "
                                          "be written")
        fs.clear()
        engine.durability.flush()
        assert engine.durable(lsn) is True            # the log wrote it once the disk came back
    finally:
        db.close()
