"""The engine's scheduler of background jobs: lifecycle, clock-driven periodic jobs, errors, stop.

No test sleeps for time to pass: the manual clock moves time and
``run_pending`` runs what is due in the test's thread.  Waits on events are
bounded only so a broken scheduler fails instead of hanging.
"""

import json
import os
import threading
import time

import pytest

import kvstore
from kvstore.clock import ManualClock
from kvstore.engine import tools
from kvstore.engine.database import Engine
from kvstore.engine.scheduler import ERRORS_FILE, Scheduler, SchedulerStopped

WAIT = 10


def test_manual_clock_runs_due_jobs_and_periodic_jobs_reschedule():
    clock = ManualClock(start=0)
    s = Scheduler(clock)
    s.start()
    runs = []
    s.every("tick", 10, lambda: runs.append(clock()))
    assert s.run_pending() == [] and runs == []        # not due before 10 s of clock time
    clock.advance(9.9)
    assert s.run_pending() == [] and runs == []
    clock.advance(0.1)
    s.run_pending()
    assert runs == [10.0]
    assert s.run_pending() == []                        # ran once for this due time
    clock.advance(10)
    s.run_pending()
    assert runs == [10.0, 20.0]
    clock.advance(1000)                                 # a jump of many intervals: one catch-up run
    s.run_pending()
    assert runs == [10.0, 20.0, 1020.0]
    clock.advance(10)
    s.run_pending()
    assert runs[-1] == 1030.0
    s.stop()


def test_advancing_the_manual_clock_wakes_the_scheduler_thread():
    clock = ManualClock(start=0)
    s = Scheduler(clock)
    s.start()
    ran = threading.Event()
    s.every("wake", 60, ran.set)
    clock.advance(60)                   # nobody calls run_pending: the scheduler's thread must run it
    assert ran.wait(WAIT)
    s.stop()


def test_system_clock_runs_periodic_jobs_on_their_own():
    s = Scheduler(time.time)
    s.start()
    ran = threading.Event()
    s.every("soon", 0.01, ran.set)
    assert ran.wait(WAIT)
    s.stop()


def test_one_shot_jobs_run_at_once_and_unique_reuses_a_pending_job():
    s = Scheduler(ManualClock(start=0))
    release, started = threading.Event(), threading.Event()

    def long_job():
        started.set()
        release.wait(WAIT)

    s.submit("early", started.set)          # submitted before start: starts with the scheduler
    assert not started.is_set()
    s.start()
    assert started.wait(WAIT)
    started.clear()
    job = s.submit("checkpoint", long_job, unique=True)
    assert started.wait(WAIT)
    assert s.submit("checkpoint", long_job, unique=True) is job
    release.set()
    s.run_pending()                          # waits for the one-shot job
    assert job.done.is_set() and job.runs == 1
    assert s.submit("checkpoint", lambda: None, unique=True) is not job
    s.stop()


def test_stop_interrupts_a_long_job_and_joins_every_thread():
    s = Scheduler(ManualClock(start=0))
    s.start()
    steps = []
    began = threading.Event()

    def long_job():
        began.set()
        while not s.stopping.is_set():
            steps.append(1)
            s.stopping.wait(0.001)

    job = s.submit("long", long_job)
    s.every("periodic", 1, lambda: None)
    assert began.wait(WAIT)
    s.stop()
    assert job.done.is_set() and not job.thread.is_alive() and not s._thread.is_alive()
    assert steps                         # it ran until the stop, then returned
    with pytest.raises(SchedulerStopped):
        s.submit("late", lambda: None)
    with pytest.raises(SchedulerStopped):
        s.every("late", 1, lambda: None)


def test_a_failing_periodic_job_is_logged_kept_and_keeps_its_schedule(caplog):
    clock = ManualClock(start=0)
    failures = []
    s = Scheduler(clock, max_errors=3, on_error=failures.append)
    s.start()
    calls = []

    def flaky():
        calls.append(clock())
        raise RuntimeError(f"boom {len(calls)}")

    job = s.every("flaky", 5, flaky)
    for _ in range(5):
        clock.advance(5)
        s.run_pending()
    assert calls == [5.0, 10.0, 15.0, 20.0, 25.0]           # every failure kept its schedule
    assert [str(e.error) for e in s.errors] == ["boom 3", "boom 4", "boom 5"]    # bounded
    assert len(failures) == 5 and failures[-1].job == "flaky" and failures[-1].at == 25.0
    assert "RuntimeError: boom 5" in failures[-1].traceback
    assert job.failures == 5 and job.runs == 5
    assert "background job 'flaky' failed" in caplog.text and "Traceback" in caplog.text
    s.stop()


def test_engine_starts_its_scheduler_and_close_stops_it():
    engine = Engine(clock=ManualClock(start=0))
    assert engine.scheduler.running
    engine.scheduler.every("p", 1, lambda: None)
    thread = engine.scheduler._thread
    assert thread.is_alive()
    engine.close()
    assert not engine.scheduler.running and not thread.is_alive()


def test_memory_engine_without_jobs_has_no_scheduler_thread():
    engine = Engine()
    assert engine.scheduler._thread is None
    engine.close()


def _table_with_rows(db, n):
    table = db.create_table(
        TableName="items", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    with table.batch_writer() as batch:
        for i in range(n):
            batch.put_item(Item={"pk": f"k{i}", "color": "red"})
    return table


def _add_gsi(table):
    table.update(AttributeDefinitions=[{"AttributeName": "color", "AttributeType": "S"}],
                 GlobalSecondaryIndexUpdates=[{"Create": {
                     "IndexName": "by_color", "KeySchema": [{"AttributeName": "color", "KeyType": "HASH"}],
                     "Projection": {"ProjectionType": "KEYS_ONLY"}}}])


def test_backfill_runs_on_the_engine_scheduler():
    db = kvstore.open(":memory:")
    table = _table_with_rows(db, 200)
    _add_gsi(table)
    db.engine.scheduler.run_pending()          # returns once the backfill is done: no polling
    assert table.global_secondary_indexes[0]["IndexStatus"] == "ACTIVE"
    assert table.query(IndexName="by_color", KeyConditionExpression="color = :c",
                       ExpressionAttributeValues={":c": "red"}, Select="COUNT")["Count"] == 200
    db.close()


def test_close_stops_an_in_flight_backfill(tmp_path):
    db = kvstore.open(str(tmp_path / "db"), durability="none")
    table = _table_with_rows(db, 300)
    engine_table = db.engine.tables["items"]
    lock = engine_table.locks[3]
    lock.acquire()                              # hold a partition so the backfill waits in the middle
    _add_gsi(table)
    (job,) = [j for j in db.engine.scheduler.jobs() if j.name.startswith("backfill-")]
    closer = threading.Thread(target=db.close)
    closer.start()
    assert db.engine.scheduler.stopping.wait(WAIT)
    lock.release()                              # the backfill finishes partition 3, then sees the stop
    closer.join(WAIT)
    assert not closer.is_alive() and job.done.is_set() and not job.thread.is_alive()
    index = engine_table.indexes["by_color"]
    assert index.status == "CREATING" and index.backfilling        # it stopped before the end
    # reopening builds the index from the rows: nothing of the interrupted backfill is lost
    with kvstore.open(str(tmp_path / "db"), durability="none") as db2:
        t2 = db2.Table("items")
        assert t2.query(IndexName="by_color", KeyConditionExpression="color = :c",
                        ExpressionAttributeValues={":c": "red"}, Select="COUNT")["Count"] == 300


def test_job_errors_are_on_the_engine_and_in_kvstore_check(tmp_path, capsys):
    path = str(tmp_path / "db")
    clock = ManualClock(start=1_700_000_000)
    db = kvstore.open(path, clock=clock)

    def broken():
        raise OSError("disk on fire")

    db.engine.scheduler.every("sweeper", 60, broken)
    clock.advance(60)
    db.engine.scheduler.run_pending()
    (error,) = db.engine.background_errors
    assert error.job == "sweeper" and isinstance(error.error, OSError)
    db.close()
    saved = json.loads(open(os.path.join(path, ERRORS_FILE)).read())
    assert [e["job"] for e in saved] == ["sweeper"] and "disk on fire" in saved[0]["traceback"]
    report = tools.check(path)
    assert report["ok"] and report["background_errors"][0]["error"] == "OSError: disk on fire"
    assert tools.check_main([path]) == 0
    out = capsys.readouterr().out
    assert "background job 'sweeper' failed at 2023-11-14 22:14:20 UTC: OSError: disk on fire" in out
    # the database still opens, and the record is kept (bounded) for the next check
    kvstore.open(path).close()
    assert tools.check(path)["background_errors"] == saved


def test_transaction_tokens_expire_on_the_engine_clock():
    clock = ManualClock(start=0)
    db = kvstore.open(":memory:", clock=clock)
    table = _table_with_rows(db, 0)
    client = db.meta.client
    request = dict(TransactItems=[{"Put": {"TableName": "items", "Item": {"pk": "a", "n": 1}}}],
                   ClientRequestToken="tok")
    client.transact_write_items(**request)
    tokens = db.engine.transaction_tokens
    assert len(tokens) == 1
    clock.advance(600)
    other = dict(request, TransactItems=[{"Put": {"TableName": "items", "Item": {"pk": "b"}}}])
    with pytest.raises(kvstore.errors.IdempotentParameterMismatchException):
        client.transact_write_items(**other)          # still bound at exactly 10 minutes
    clock.advance(0.001)
    client.transact_write_items(**other)              # expired: the token is free again
    assert table.get_item(Key={"pk": "b"})["Item"] == {"pk": "b"}
    db.close()


def test_automatic_checkpoints_are_jobs_of_the_engine_scheduler(tmp_path, monkeypatch):
    submitted = []
    original = Scheduler.submit

    def spy(self, name, fn, **kw):
        submitted.append(name)
        return original(self, name, fn, **kw)

    monkeypatch.setattr(Scheduler, "submit", spy)
    db = kvstore.open(str(tmp_path / "db"), durability="sync", checkpoint_log_bytes=2000,
                      clock=ManualClock(start=0))           # a still clock does not hold checkpoints back
    table = _table_with_rows(db, 0)
    deadline = time.monotonic() + WAIT
    i = 0
    while db.engine.durability.last_checkpoint is None:
        assert time.monotonic() < deadline, "no automatic checkpoint"
        table.put_item(Item={"pk": f"k{i % 50}", "v": "x" * 30})
        i += 1
    assert "checkpoint" in submitted
    assert any(n.startswith("checkpoint-") for n in os.listdir(tmp_path / "db"))
    db.close()
