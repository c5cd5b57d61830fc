"""The injectable clock: wall time, and the manual clock tests move by hand."""

import datetime
import time

import pytest

import kvstore
from kvstore.clock import ManualClock, SystemClock


def test_system_clock_is_wall_time():
    before = time.time()
    now = SystemClock()()
    assert before <= now <= time.time()


def test_manual_clock_moves_only_when_told():
    clock = ManualClock(start=1000)
    assert clock() == 1000.0 and isinstance(clock(), float)
    clock.advance(2.5)
    assert clock() == 1002.5
    clock.set(500)
    assert clock() == 500.0
    with pytest.raises(ValueError, match="set"):
        clock.advance(-1)


def test_manual_clock_defaults_to_now():
    before = time.time()
    assert before <= ManualClock()() <= time.time()


def test_manual_clock_notifies_subscribers_held_weakly():
    clock = ManualClock(start=0)
    seen = []

    class Listener:
        def moved(self):
            seen.append(clock())

    listener = Listener()
    clock.subscribe(listener.moved)
    clock.advance(1)
    clock.set(10)
    assert seen == [1.0, 10.0]
    del listener                      # a bound method does not keep its object alive
    clock.advance(1)
    assert seen == [1.0, 10.0]
    other = []

    def callback():
        other.append(clock())
    clock.subscribe(callback)
    clock.advance(1)
    clock.unsubscribe(callback)
    clock.advance(1)
    assert other == [12.0]


def test_open_takes_the_clock_and_features_read_it():
    clock = ManualClock(start=1_700_000_000)
    with kvstore.open(":memory:", clock=clock) as db:
        assert db.engine.clock is clock
        table = db.create_table(
            TableName="things", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
        assert table.creation_date_time == datetime.datetime.fromtimestamp(1_700_000_000, datetime.timezone.utc)


def test_engine_default_clock_is_wall_time():
    with kvstore.open(":memory:") as db:
        assert isinstance(db.engine.clock, SystemClock)
