"""The orders example over time: idempotency records that expire through Time to Live.

Every test runs on every face of kvstore (embedded, boto3 in-process, boto3
over HTTP: the ``dynamodb`` fixture), on a database whose clock the test
moves (``kvstore.testing.ManualClock``).  The store reads the same clock, so
a day passes in one call and nothing sleeps.
"""

from datetime import datetime, timezone

import pytest

import kvstore
from examples.orders import keys, schema
from examples.orders.app import create_app
from examples.orders.store import IDEMPOTENCY_TTL, Store
from kvstore.testing import ManualClock

from test_orders import customer, order, product, resource_factory  # the HTTP helpers of the main example test

START = datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc).timestamp()


class StoreClock:
    """The store's clock (datetimes) read from the database's ManualClock, a millisecond on per reading
    (orders placed by one test never share a timestamp)."""

    def __init__(self, clock):
        self.clock = clock

    def __call__(self):
        self.clock.advance(0.001)
        return datetime.fromtimestamp(self.clock(), timezone.utc)


@pytest.fixture
def clock():
    return ManualClock(START)


@pytest.fixture
def face_db(clock, request):
    """The database behind every face, on the test's clock; ``indirect`` False: no TTL sweeps."""
    sweeps = getattr(request, "param", True)
    with kvstore.open(":memory:", clock=clock, **({} if sweeps else {"ttl_sweep_seconds": None})) as db:
        yield db


@pytest.fixture
def table(dynamodb):
    schema.create_table(dynamodb, "orders")
    return dynamodb.Table("orders")


@pytest.fixture
def http(dynamodb, table, clock):
    store = Store(resource_factory(dynamodb), "orders", clock=StoreClock(clock))
    return create_app(store, "test").test_client()


def idempotency_record(table, cid, key):
    return table.get_item(Key=keys.idempotency(cid, key), ConsistentRead=True).get("Item")


def test_the_table_has_ttl_on_expires_at(dynamodb, table):
    status = dynamodb.meta.client.describe_time_to_live(TableName="orders")["TimeToLiveDescription"]
    assert status == {"TimeToLiveStatus": "ENABLED", "AttributeName": schema.TTL_ATTRIBUTE}
    assert schema.create_table(dynamodb, "orders") is False          # again: TTL already on, left alone


def test_an_idempotency_record_expires_and_is_deleted(http, table, face_db, clock):
    cid = customer(http)
    product(http, "APPLE", 10)
    first = order(http, cid, ("APPLE", 1), headers={"Idempotency-Key": "k1"})
    assert first.status_code == 201
    record = idempotency_record(table, cid, "k1")
    assert record[schema.TTL_ATTRIBUTE] == int(START) + IDEMPOTENCY_TTL
    clock.advance(IDEMPOTENCY_TTL - 60)
    face_db.run_pending()
    replay = order(http, cid, ("APPLE", 1), headers={"Idempotency-Key": "k1"})
    assert replay.status_code == 200 and replay.json["order_id"] == first.json["order_id"]
    clock.advance(120)
    face_db.run_pending()                                          # the TTL sweep has run
    assert idempotency_record(table, cid, "k1") is None
    again = order(http, cid, ("APPLE", 2), headers={"Idempotency-Key": "k1"})
    assert again.status_code == 201 and again.json["order_id"] != first.json["order_id"]


@pytest.mark.parametrize("face_db", [False], indirect=True)
def test_an_expired_record_not_yet_deleted_no_longer_counts(http, table, clock):
    """DynamoDB may keep an expired item for days: the store's condition treats it as gone."""
    cid = customer(http)
    product(http, "APPLE", 10)
    first = order(http, cid, ("APPLE", 1), headers={"Idempotency-Key": "k1"})
    clock.advance(IDEMPOTENCY_TTL + 1)
    assert idempotency_record(table, cid, "k1") is not None        # expired, still there (no sweep)
    reused = order(http, cid, ("APPLE", 3), headers={"Idempotency-Key": "k1"})
    assert reused.status_code == 201                              # not 409 IdempotencyKeyReused
    assert idempotency_record(table, cid, "k1")["order_id"] == reused.json["order_id"] != first.json["order_id"]
    replay = order(http, cid, ("APPLE", 3), headers={"Idempotency-Key": "k1"})
    assert replay.status_code == 200 and replay.json["order_id"] == reused.json["order_id"]
