"""The TTL sweeper: what expires, what never does, and how the deletes happen (reference 12).

Time is a manual clock; sweeps run when the test says so (``engine.ttl.run()``),
so nothing here sleeps or depends on timing.
"""

import threading
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kvstore
from kvstore.testing import ManualClock
from kvstore.engine.ttl import MAX_AGE_SECONDS, TTL_IDENTITY

NOW = 1_700_000_000
KEY = [{"AttributeName": "pk", "KeyType": "HASH"}]


@pytest.fixture
def clock():
    return ManualClock(NOW)


@pytest.fixture
def db(clock):
    with kvstore.open(":memory:", clock=clock, ttl_sweep_seconds=None) as database:
        yield database


def make_table(db, name="items", ttl="exp", **extra):
    definitions = {"pk": "S"}
    key_schema = extra.get("KeySchema", KEY)
    for spec in [{"KeySchema": key_schema}] + extra.get("GlobalSecondaryIndexes", []) + \
            extra.get("LocalSecondaryIndexes", []):
        for key in spec["KeySchema"]:
            definitions.setdefault(key["AttributeName"], "S")
    table = db.create_table(TableName=name, KeySchema=extra.pop("KeySchema", KEY), BillingMode="PAY_PER_REQUEST",
                            AttributeDefinitions=extra.pop("AttributeDefinitions", None) or
                            [{"AttributeName": n, "AttributeType": t} for n, t in definitions.items()], **extra)
    if ttl is not None:
        enable(db, name, ttl)
    return table


def enable(db, name, attribute="exp", enabled=True):
    db.meta.client.update_time_to_live(TableName=name, TimeToLiveSpecification={"Enabled": enabled,
                                                                                 "AttributeName": attribute})


def keys(table):
    return sorted(item["pk"] for item in table.scan()["Items"])


# -- what expires -----------------------------------------------------------------------------

def test_expired_items_are_deleted(db, clock):
    table = make_table(db)
    table.put_item(Item={"pk": "past", "exp": NOW - 10})
    table.put_item(Item={"pk": "now", "exp": NOW})
    table.put_item(Item={"pk": "soon", "exp": NOW + 60})
    table.put_item(Item={"pk": "none"})
    assert db.engine.ttl.run() == 2
    assert keys(table) == ["none", "soon"]
    clock.advance(60)
    assert db.engine.ttl.run() == 1
    assert keys(table) == ["none"]


def test_fractional_and_exponent_numbers(db):
    """Epoch seconds may have a fraction or an exponent (1234567e1 is fine)."""
    table = make_table(db)
    table.put_item(Item={"pk": "fraction", "exp": Decimal(NOW) - Decimal("0.5")})
    table.put_item(Item={"pk": "exponent", "exp": Decimal("17e8")})       # 1.7e9 == NOW
    table.put_item(Item={"pk": "later", "exp": Decimal(NOW) + Decimal("0.001")})
    db.engine.ttl.run()
    assert keys(table) == ["later"]


def test_reads_return_expired_items_until_the_sweep(db):
    """An expired item is an ordinary item until it is deleted: GetItem, Query and Scan all see it."""
    table = make_table(db)
    table.put_item(Item={"pk": "a", "exp": NOW - 1})
    assert table.get_item(Key={"pk": "a"})["Item"]["exp"] == NOW - 1
    assert table.scan()["Count"] == 1
    db.engine.ttl.run()
    assert "Item" not in table.get_item(Key={"pk": "a"})


@pytest.mark.parametrize("value", ["1000", b"\x01", True, None, {Decimal(1)}, {"1"}, [Decimal(1)],
                                   {"at": Decimal(1)}])
def test_values_that_are_not_numbers_never_expire(db, clock, value):
    table = make_table(db)
    table.put_item(Item={"pk": "a", "exp": value})
    clock.advance(10 * 365 * 86400)
    assert db.engine.ttl.run() == 0
    assert keys(table) == ["a"]


def test_values_more_than_five_years_old_never_expire(db):
    table = make_table(db)
    table.put_item(Item={"pk": "ancient", "exp": NOW - MAX_AGE_SECONDS - 1})
    table.put_item(Item={"pk": "five-years", "exp": NOW - MAX_AGE_SECONDS})
    table.put_item(Item={"pk": "zero", "exp": 0})
    table.put_item(Item={"pk": "negative", "exp": -5})
    db.engine.ttl.run()
    assert keys(table) == ["ancient", "negative", "zero"]


def test_millisecond_timestamps_do_not_expire(db):
    """A value in milliseconds is far in the future in seconds: kept (a common application bug)."""
    table = make_table(db)
    table.put_item(Item={"pk": "ms", "exp": NOW * 1000})
    db.engine.ttl.run()
    assert keys(table) == ["ms"]


def test_items_written_before_ttl_was_enabled(db):
    table = make_table(db, ttl=None)
    table.put_item(Item={"pk": "old", "exp": NOW - 1})
    table.put_item(Item={"pk": "keep", "exp": NOW + 1})
    enable(db, "items")
    assert db.engine.ttl.run() == 1
    assert keys(table) == ["keep"]


def test_a_number_key_attribute_as_ttl(db):
    table = db.create_table(TableName="bynumber", BillingMode="PAY_PER_REQUEST",
                            KeySchema=[{"AttributeName": "n", "KeyType": "HASH"}],
                            AttributeDefinitions=[{"AttributeName": "n", "AttributeType": "N"}])
    enable(db, "bynumber", "n")
    for n in (NOW - 5, NOW + 5):
        table.put_item(Item={"n": n})
    db.engine.ttl.run()
    assert [item["n"] for item in table.scan()["Items"]] == [NOW + 5]


def test_nothing_expires_without_ttl(db, clock):
    table = make_table(db, ttl=None)
    table.put_item(Item={"pk": "a", "exp": NOW - 1})
    assert db.engine.ttl.run() == 0
    assert keys(table) == ["a"]


def test_disabling_stops_expiry(db, clock):
    table = make_table(db)
    table.put_item(Item={"pk": "a", "exp": NOW + 10})
    enable(db, "items", enabled=False)
    clock.advance(100)
    assert db.engine.ttl.run() == 0
    assert keys(table) == ["a"]


def test_a_new_attribute_replaces_the_old(db, clock):
    table = make_table(db)
    table.put_item(Item={"pk": "a", "exp": NOW - 1, "other": NOW + 100})
    table.put_item(Item={"pk": "b", "other": NOW - 1})
    enable(db, "items", enabled=False)
    enable(db, "items", "other")
    assert db.engine.ttl.run() == 1
    assert keys(table) == ["a"]


# -- how it deletes -----------------------------------------------------------------------------

def test_extension_before_the_sweep_keeps_the_item(db, clock):
    """Updating the attribute to a later time reschedules expiry; the old due time deletes nothing."""
    table = make_table(db)
    table.put_item(Item={"pk": "a", "exp": NOW + 10})
    table.update_item(Key={"pk": "a"}, UpdateExpression="SET exp = :t", ExpressionAttributeValues={":t": NOW + 100})
    clock.advance(50)
    assert db.engine.ttl.run() == 0
    clock.advance(50)
    assert db.engine.ttl.run() == 1


def test_removing_the_attribute_keeps_the_item(db, clock):
    table = make_table(db)
    table.put_item(Item={"pk": "a", "exp": NOW + 10})
    table.update_item(Key={"pk": "a"}, UpdateExpression="REMOVE exp")
    clock.advance(50)
    assert db.engine.ttl.run() == 0
    assert keys(table) == ["a"]


def test_extension_racing_the_sweep(db, clock):
    """The delete is conditional: an item extended after it was found due, before its partition was
    locked, is kept (the check happens again under the lock)."""
    table = make_table(db)
    table.put_item(Item={"pk": "a", "exp": NOW})
    expiry = db.engine.tables["items"].expiry
    pop_due = expiry.pop_due

    def pop_then_extend(now, limit):
        due = pop_due(now, limit)
        table.put_item(Item={"pk": "a", "exp": NOW + 100})         # a writer gets in between
        return due

    expiry.pop_due = pop_then_extend
    assert db.engine.ttl.run() == 0
    assert table.get_item(Key={"pk": "a"})["Item"]["exp"] == NOW + 100


def test_indexes_lose_the_deleted_items(db):
    table = make_table(db, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                                      {"AttributeName": "sk", "KeyType": "RANGE"}],
                       GlobalSecondaryIndexes=[{"IndexName": "by_g", "Projection": {"ProjectionType": "ALL"},
                                                "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}]}],
                       LocalSecondaryIndexes=[{"IndexName": "by_l", "Projection": {"ProjectionType": "KEYS_ONLY"},
                                               "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                                                             {"AttributeName": "l", "KeyType": "RANGE"}]}])
    table.put_item(Item={"pk": "p", "sk": "1", "g": "x", "l": "a", "exp": NOW - 1})
    table.put_item(Item={"pk": "p", "sk": "2", "g": "x", "l": "b", "exp": NOW + 1})
    db.engine.ttl.run()
    by_g = table.query(IndexName="by_g", KeyConditionExpression=kvstore.Key("g").eq("x"))["Items"]
    by_l = table.query(IndexName="by_l", KeyConditionExpression=kvstore.Key("pk").eq("p"))["Items"]
    assert [i["sk"] for i in by_g] == ["2"] and [i["sk"] for i in by_l] == ["2"]
    db.engine.tables["items"]._check()


def test_deletes_carry_the_service_identity(db):
    """Every TTL delete reaches the change listeners (streams) marked as the TTL service's."""
    table = make_table(db)
    heard = []
    db.engine.listeners.append(lambda writes, identity: heard.append(([w[1] for w in writes], identity,
                                                                      [w[4] for w in writes])))
    table.put_item(Item={"pk": "a", "exp": NOW - 1})
    db.engine.ttl.run()
    assert [h[1] for h in heard] == [None, TTL_IDENTITY]
    assert heard[1][2] == [None]                   # a delete


def test_counters(db, clock):
    table = make_table(db)
    for i in range(5):
        table.put_item(Item={"pk": str(i), "exp": NOW - i})
    db.engine.ttl.run()
    clock.advance(1)
    db.engine.ttl.run()
    assert db.engine.ttl.deleted == 5
    assert db.engine.ttl.runs == 2
    assert db.engine.ttl.last_run == NOW + 1


def test_many_items_across_partitions_and_batches(db):
    table = make_table(db)
    with table.batch_writer() as writer:
        for i in range(3000):
            writer.put_item(Item={"pk": f"k{i}", "exp": NOW - (i % 7) if i % 3 else NOW + 1})
    assert db.engine.ttl.run() == 2000
    assert table.scan(Select="COUNT")["Count"] == 1000
    db.engine.tables["items"]._check()


def test_a_deleted_table_is_skipped(db):
    table = make_table(db)
    table.put_item(Item={"pk": "a", "exp": NOW - 1})
    table.delete()
    assert db.engine.ttl.run() == 0


def test_foreground_writes_during_a_sweep(db):
    """Writers keep going while a sweep deletes: every item ends as the model says."""
    table = make_table(db)
    with table.batch_writer() as writer:
        for i in range(4000):
            writer.put_item(Item={"pk": f"k{i}", "exp": NOW - 1})
    extended = [f"k{i}" for i in range(0, 4000, 4)]

    def extend():
        for key in extended:
            table.update_item(Key={"pk": key}, UpdateExpression="SET exp = :t",
                              ExpressionAttributeValues={":t": NOW + 1000})

    writer = threading.Thread(target=extend)
    writer.start()
    db.engine.ttl.run()
    writer.join()
    remaining = set(keys(table))
    for key in remaining:                        # whatever survived was extended (or re-created by it)
        assert key in extended
    for key in extended:                         # an extended item is present unless deleted before the update
        item = table.get_item(Key={"pk": key}).get("Item")
        assert item is None or item["exp"] == NOW + 1000
    db.engine.tables["items"]._check()


@settings(max_examples=40, deadline=None)
@given(values=st.lists(st.one_of(
    st.integers(min_value=NOW - MAX_AGE_SECONDS - 100, max_value=NOW + 100),
    st.decimals(min_value=NOW - 3, max_value=NOW + 3, places=3),
    st.sampled_from([0, -1, NOW - MAX_AGE_SECONDS, "x", None])), max_size=40),
    advance=st.integers(min_value=0, max_value=10))
def test_exactly_the_expired_items_go(values, advance):
    """Property: after a sweep at any time, an item is gone iff its value is an expired Number."""
    clock = ManualClock(NOW)
    with kvstore.open(":memory:", clock=clock, ttl_sweep_seconds=None) as db:
        table = make_table(db)
        for i, value in enumerate(values):
            item = {"pk": str(i)}
            if value is not None:
                item["exp"] = value
            table.put_item(Item=item)
        clock.advance(advance)
        db.engine.ttl.run()
        now = NOW + advance
        expected = sorted(str(i) for i, v in enumerate(values)
                          if not (isinstance(v, (int, Decimal)) and now - 5 * 365 * 86400 <= v <= now))
        assert keys(table) == expected


# -- restarts -------------------------------------------------------------------------------------

def test_the_sweeper_resumes_after_a_restart(tmp_path, clock):
    """Nothing but the settings is stored: after reopening, the next sweep finds the expired items."""
    with kvstore.open(str(tmp_path), clock=clock, ttl_sweep_seconds=None) as first:
        table = make_table(first)
        table.put_item(Item={"pk": "a", "exp": NOW + 10})
        table.put_item(Item={"pk": "b", "exp": NOW + 1000})
    clock.advance(100)
    with kvstore.open(str(tmp_path), clock=clock, ttl_sweep_seconds=None) as second:
        assert second.engine.ttl.run() == 1
        assert keys(second.Table("items")) == ["b"]
    with kvstore.open(str(tmp_path), clock=clock, ttl_sweep_seconds=None) as third:     # the delete was logged
        assert keys(third.Table("items")) == ["b"]


def test_the_deletes_survive_a_checkpoint(tmp_path, clock):
    with kvstore.open(str(tmp_path), durability="sync", clock=clock, ttl_sweep_seconds=None) as first:
        table = make_table(first)
        table.put_item(Item={"pk": "a", "exp": NOW - 1})
        table.put_item(Item={"pk": "b"})
        first.engine.ttl.run()
        first.checkpoint()
    with kvstore.open(str(tmp_path), clock=clock, ttl_sweep_seconds=None) as second:
        assert keys(second.Table("items")) == ["b"]


# -- every face ---------------------------------------------------------------------------------

@pytest.fixture
def face_db(clock):
    with kvstore.open(":memory:", clock=clock, ttl_sweep_seconds=None) as database:
        yield database


def test_expiry_seen_through_every_face(dynamodb, face_db, clock):
    """Items written and read through any face (embedded, boto3 hook, HTTP) expire alike."""
    client = dynamodb.meta.client
    table = dynamodb.create_table(TableName="sessions", KeySchema=KEY, BillingMode="PAY_PER_REQUEST",
                                  AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
    client.update_time_to_live(TableName="sessions", TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"})
    table.put_item(Item={"pk": "short", "exp": NOW + 60})
    table.put_item(Item={"pk": "long", "exp": NOW + 86400})
    clock.advance(3600)
    assert table.get_item(Key={"pk": "short"})["Item"]["exp"] == NOW + 60     # expired, still there
    face_db.engine.ttl.run()
    assert "Item" not in table.get_item(Key={"pk": "short"})
    assert [i["pk"] for i in table.scan()["Items"]] == ["long"]


# -- on the engine's schedule, under the test's clock ----------------------------------------------

def test_the_sweep_runs_on_the_engine_schedule(clock):
    """By default a sweep is due every second of the clock; advancing it and run_pending() runs it."""
    with kvstore.open(":memory:", clock=clock) as db:
        table = make_table(db)
        table.put_item(Item={"pk": "a", "exp": NOW + 30})
        table.put_item(Item={"pk": "b", "exp": NOW + 7200})
        db.run_pending()
        assert db.engine.ttl.runs == 0                    # nothing due yet
        clock.advance(3600)
        db.run_pending()                                  # ran here, or on the scheduler's thread and waited for
        assert db.engine.ttl.runs == 1
        assert keys(table) == ["b"]
        clock.advance(86400)
        db.run_pending()
        assert keys(table) == []
        assert db.engine.ttl.deleted == 2


def test_the_sweep_interval_is_configurable(clock):
    with kvstore.open(":memory:", clock=clock, ttl_sweep_seconds=600) as db:
        table = make_table(db)
        table.put_item(Item={"pk": "a", "exp": NOW + 1})
        clock.advance(599)
        db.run_pending()
        assert db.engine.ttl.runs == 0
        assert keys(table) == ["a"]
        clock.advance(1)
        db.run_pending()
        assert db.engine.ttl.runs == 1
        assert keys(table) == []


def test_the_schedule_resumes_after_a_restart(tmp_path, clock):
    with kvstore.open(str(tmp_path), clock=clock) as first:
        make_table(first).put_item(Item={"pk": "a", "exp": NOW + 100})
    clock.advance(1000)
    with kvstore.open(str(tmp_path), clock=clock) as second:
        clock.advance(1)
        second.run_pending()
        assert keys(second.Table("items")) == []


def test_mock_dynamodb_advance_runs_the_sweep():
    """kvstore.testing: a boto3 test fast-forwards a day in one call, with no sleep."""
    import boto3

    from kvstore.testing import mock_dynamodb
    with mock_dynamodb(clock=ManualClock(NOW)) as mock:
        resource = boto3.resource("dynamodb", region_name="us-east-1")
        table = resource.create_table(TableName="carts", KeySchema=KEY, BillingMode="PAY_PER_REQUEST",
                                      AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
        resource.meta.client.update_time_to_live(TableName="carts", TimeToLiveSpecification={
            "Enabled": True, "AttributeName": "exp"})
        table.put_item(Item={"pk": "abandoned", "exp": NOW + 3600})
        table.put_item(Item={"pk": "kept"})
        mock.advance(3599)
        assert table.get_item(Key={"pk": "abandoned"}).get("Item") is not None
        mock.advance(86400)
        assert [i["pk"] for i in table.scan()["Items"]] == ["kept"]
        assert mock.clock() == NOW + 3599 + 86400


def test_mock_dynamodb_advance_needs_a_manual_clock():
    from kvstore.testing import mock_dynamodb
    with mock_dynamodb() as mock:
        with pytest.raises(TypeError):
            mock.advance(1)


def test_mock_dynamodb_decorator_with_a_clock():
    from kvstore.testing import mock_dynamodb
    clock = ManualClock(NOW)

    @mock_dynamodb(clock=clock)
    def body():
        import boto3
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(TableName="dated", KeySchema=KEY, BillingMode="PAY_PER_REQUEST",
                            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
        return client.describe_table(TableName="dated")["Table"]["CreationDateTime"]

    assert body().timestamp() == NOW                  # the table was created on the given clock


# -- the stream ---------------------------------------------------------------------------------

def _stream_records(db, name):
    streams = db.client("dynamodbstreams")
    arn = db.meta.client.describe_table(TableName=name)["Table"]["LatestStreamArn"]
    out = []
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"],
                                              ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        out += streams.get_records(ShardIterator=iterator)["Records"]
    return out


@pytest.mark.parametrize("view", ["NEW_AND_OLD_IMAGES", "OLD_IMAGE", "NEW_IMAGE", "KEYS_ONLY"])
def test_a_ttl_delete_is_a_remove_record_by_the_service(db, view):
    """REMOVE with userIdentity {Service, dynamodb.amazonaws.com} and the old image per view type."""
    table = make_table(db, StreamSpecification={"StreamEnabled": True, "StreamViewType": view})
    table.put_item(Item={"pk": "a", "exp": NOW - 1, "v": "x"})
    table.delete_item(Key={"pk": "user-deleted"})                 # nothing to delete: no record
    table.put_item(Item={"pk": "b"})
    table.delete_item(Key={"pk": "b"})                            # a user's delete: no userIdentity
    db.engine.ttl.run()
    records = _stream_records(db, "items")
    assert [r["eventName"] for r in records] == ["INSERT", "INSERT", "REMOVE", "REMOVE"]
    user, service = records[2], records[3]
    assert "userIdentity" not in user
    assert service["userIdentity"] == {"Type": "Service", "PrincipalId": "dynamodb.amazonaws.com"}
    body = service["dynamodb"]
    assert body["Keys"] == {"pk": {"S": "a"}} and "NewImage" not in body
    if view in ("NEW_AND_OLD_IMAGES", "OLD_IMAGE"):
        assert body["OldImage"] == {"pk": {"S": "a"}, "exp": {"N": str(NOW - 1)}, "v": {"S": "x"}}
    else:
        assert "OldImage" not in body


def test_ttl_deletes_on_the_stream_survive_a_restart(tmp_path, clock):
    """The service identity is logged with the delete: after recovery the record still carries it."""
    with kvstore.open(str(tmp_path), clock=clock, ttl_sweep_seconds=None) as first:
        table = make_table(first, StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"})
        table.put_item(Item={"pk": "a", "exp": NOW - 1})
        first.engine.ttl.run()
    with kvstore.open(str(tmp_path), clock=clock, ttl_sweep_seconds=None) as second:
        removed = [r for r in _stream_records(second, "items") if r["eventName"] == "REMOVE"]
        assert [r.get("userIdentity") for r in removed] == [{"Type": "Service",
                                                            "PrincipalId": "dynamodb.amazonaws.com"}]
