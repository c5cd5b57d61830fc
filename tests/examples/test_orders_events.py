"""The orders example's events: order summaries kept from the table's stream, idempotency records that
expire through Time to Live.

Every test runs on every face of kvstore (embedded, boto3 in-process, boto3
over HTTP: the ``dynamodb`` fixture), on a database whose clock the test
moves (``kvstore.testing.ManualClock``).  The store reads the same clock, so
a day passes in one call and nothing sleeps.  The summaries' consumer reads
the stream through the DynamoDB Streams API on every face (kvstore's
``db.client("dynamodbstreams")`` embedded, boto3's ``dynamodbstreams``
client otherwise), and runs when the test calls ``poll()``.
"""

from datetime import datetime, timezone

import pytest

import kvstore
from examples.orders import keys, schema
from examples.orders.app import create_app
from examples.orders.store import IDEMPOTENCY_TTL, Store
from examples.orders.summaries import SummaryProjector
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


def streams_client(dynamodb):
    """The DynamoDB Streams client of the face: what config.connect_streams gives the service."""
    if isinstance(dynamodb, kvstore.Database):
        return dynamodb.client("dynamodbstreams")
    import boto3
    endpoint = dynamodb.meta.client.meta.endpoint_url
    return boto3.client("dynamodbstreams", endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret")


@pytest.fixture
def projector(dynamodb, table):
    return SummaryProjector(resource_factory(dynamodb), streams_client(dynamodb), "orders")


def summary(http, cid):
    response = http.get(f"/customers/{cid}/summary")
    assert response.status_code == 200, response.json
    return response.json


# -- order summaries, from the stream ------------------------------------------------------------

def test_the_table_has_a_stream_of_old_and_new_images(dynamodb, table):
    description = dynamodb.meta.client.describe_table(TableName="orders")["Table"]
    assert description["StreamSpecification"] == schema.STREAM
    assert "StreamSpecification" not in schema.import_parameters("orders")


def test_a_summary_follows_the_customers_orders(http, projector):
    cid, other = customer(http), customer(http, "Bo")
    product(http, "APPLE", 100, price_cents=250)
    assert summary(http, cid) == {"customer_id": cid, "orders": 0, "placed": 0, "shipped": 0, "delivered": 0,
                                  "cancelled": 0, "spent_cents": 0}
    first = order(http, cid, ("APPLE", 2)).json
    second = order(http, cid, ("APPLE", 4)).json
    order(http, other, ("APPLE", 1))
    assert projector.poll() == 3
    assert summary(http, cid) == {"customer_id": cid, "orders": 2, "placed": 2, "shipped": 0, "delivered": 0,
                                  "cancelled": 0, "spent_cents": 1500, "last_order_at": second["placed_at"]}
    base = f"/customers/{cid}/orders/"
    assert http.post(base + first["order_id"] + "/ship").status_code == 200
    assert http.post(base + first["order_id"] + "/deliver").status_code == 200
    assert http.post(base + second["order_id"] + "/cancel").status_code == 200
    assert projector.poll() == 3
    view = summary(http, cid)
    assert (view["orders"], view["placed"], view["delivered"], view["cancelled"], view["spent_cents"]) == \
        (2, 0, 1, 1, 500)
    assert summary(http, other)["orders"] == 1
    assert projector.poll() == 0                                   # nothing new


def test_a_restarted_consumer_resumes_after_its_checkpoint(http, dynamodb, table, projector):
    cid = customer(http)
    product(http, "APPLE", 100)
    order(http, cid, ("APPLE", 1))
    assert projector.poll() == 1
    order(http, cid, ("APPLE", 1))
    restarted = SummaryProjector(resource_factory(dynamodb), streams_client(dynamodb), "orders")
    assert restarted.poll() == 1                                   # only the order after the checkpoint
    assert summary(http, cid)["orders"] == 2


def test_records_delivered_twice_are_applied_once(http, dynamodb, table, projector):
    """At-least-once delivery, exactly-once effect: replaying the whole stream changes nothing."""
    cid = customer(http)
    product(http, "APPLE", 100)
    for quantity in (1, 2, 3):
        order(http, cid, ("APPLE", quantity))
    projector.poll()
    before = summary(http, cid)
    streams = streams_client(dynamodb)
    arn = dynamodb.meta.client.describe_table(TableName="orders")["Table"]["LatestStreamArn"]
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"],
                                              ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        for record in streams.get_records(ShardIterator=iterator)["Records"]:
            assert projector._apply(shard["ShardId"], record) == 0
    assert summary(http, cid) == before == dict(before, orders=3, placed=3)


def test_the_consumer_follows_shards_across_rollovers(http, projector, clock):
    """Shards roll over (DynamoDB: about every four hours); a child shard is read after its parent."""
    cid = customer(http)
    product(http, "APPLE", 100)
    placed = order(http, cid, ("APPLE", 1)).json
    clock.advance(5 * 3600)
    assert http.post(f"/customers/{cid}/orders/{placed['order_id']}/ship").status_code == 200
    clock.advance(5 * 3600)
    order(http, cid, ("APPLE", 2))
    assert projector.poll() == 3
    view = summary(http, cid)
    assert (view["orders"], view["placed"], view["shipped"]) == (2, 1, 1)


def test_the_summary_of_an_unknown_customer_is_404(http):
    assert http.get("/customers/c0000000000ab/summary").status_code == 404


def idempotency_record(table, cid, key):
    return table.get_item(Key=keys.idempotency(cid, key), ConsistentRead=True).get("Item")


def test_the_table_has_ttl_on_expires_at(dynamodb, table):
    status = dynamodb.meta.client.describe_time_to_live(TableName="orders")["TimeToLiveDescription"]
    assert status == {"TimeToLiveStatus": "ENABLED", "AttributeName": schema.TTL_ATTRIBUTE}
    assert schema.create_table(dynamodb, "orders") is False          # again: TTL already on, left alone


def stream_records(dynamodb):
    """Every record of the table's stream, shard after shard."""
    streams = streams_client(dynamodb)
    arn = dynamodb.meta.client.describe_table(TableName="orders")["Table"]["LatestStreamArn"]
    out = []
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"],
                                              ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        out += streams.get_records(ShardIterator=iterator)["Records"]
    return out


def test_an_idempotency_record_expires_and_is_deleted(http, dynamodb, table, face_db, clock):
    """TTL deletes the record: on the stream a REMOVE by the service, which the summaries ignore."""
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
    removed = [r for r in stream_records(dynamodb) if r["eventName"] == "REMOVE"]
    assert [r["dynamodb"]["Keys"]["SK"] for r in removed] == [{"S": "IDEMPOTENCY#k1"}]
    assert removed[0]["userIdentity"] == {"Type": "Service", "PrincipalId": "dynamodb.amazonaws.com"}
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
