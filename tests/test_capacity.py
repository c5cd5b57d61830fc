"""Capacity enforcement (kvstore.capacity): DynamoDB's throttling, metered on a clock the test moves.

DynamoDB refuses a request once a table (or GSI, or one partition-key value)
has used its capacity: ProvisionedThroughputExceededException on a provisioned
table, ThrottlingException on an on-demand one; batches hand back what they
could not do; transactions cancel.  Every test runs on the embedded, hook and
wire faces.
"""

from decimal import Decimal

import pytest

import kvstore
from kvstore import capacity
from kvstore.types import item_size
from kvstore.clock import ManualClock

from operations.helpers import assert_error, create_table, index, unique_name

KEY = ("pk", "S")
ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/"


def provisioned(resource, rcu=5, wcu=5, **extra):
    return create_table(resource, hash_key=KEY, BillingMode="PROVISIONED",
                        ProvisionedThroughput={"ReadCapacityUnits": rcu, "WriteCapacityUnits": wcu}, **extra)


@pytest.fixture
def clock():
    return ManualClock()


@pytest.fixture
def enforced(dynamodb_with, clock):
    resource, _ = dynamodb_with(capacity="enforce", clock=clock)
    return resource


def reasons(e):
    body = e.response
    return body.get("ThrottlingReasons") or body.get("throttlingReasons")


# -- off by default -------------------------------------------------------------------

def test_off_by_default_nothing_is_throttled(dynamodb_with):
    """Without capacity="enforce" a 1-WCU table takes any number of writes (no behaviour change)."""
    resource, _ = dynamodb_with()
    table = provisioned(resource, 1, 1)
    for i in range(30):
        table.put_item(Item={"pk": str(i)})
    assert table.get_item(Key={"pk": "29"})["Item"] == {"pk": "29"}


# -- provisioned tables ------------------------------------------------------------------

def test_writes_past_provisioned_capacity_are_throttled(enforced, clock):
    """5 WCU: five 1-KB writes in one second pass, the sixth gets ProvisionedThroughputExceededException."""
    table = provisioned(enforced, wcu=5)
    for i in range(5):
        table.put_item(Item={"pk": str(i)})
    e = assert_error(lambda: table.put_item(Item={"pk": "x"}), "ProvisionedThroughputExceededException",
                     capacity.TABLE_PROVISIONED)
    assert reasons(e) == [{"reason": "TableWriteProvisionedThroughputExceeded", "resource": ARN + table.name}]
    clock.advance(0.2)                                  # one more unit has refilled
    table.put_item(Item={"pk": "x"})
    assert table.get_item(Key={"pk": "x"}, ConsistentRead=True)["Item"] == {"pk": "x"}


def test_a_throttled_write_changes_nothing(enforced):
    table = provisioned(enforced, wcu=1)
    table.put_item(Item={"pk": "a", "v": 1})
    assert_error(lambda: table.put_item(Item={"pk": "a", "v": 2}), "ProvisionedThroughputExceededException")
    assert table.get_item(Key={"pk": "a"})["Item"]["v"] == 1


def test_reads_are_charged_by_size_and_consistency(enforced):
    """2 RCU: four eventually consistent reads (0.5 each) or two strongly consistent ones (1 each)."""
    table = provisioned(enforced, rcu=2)
    for _ in range(4):
        table.get_item(Key={"pk": "missing"})
    e = assert_error(lambda: table.get_item(Key={"pk": "missing"}), "ProvisionedThroughputExceededException",
                     capacity.TABLE_PROVISIONED)
    assert reasons(e)[0]["reason"] == "TableReadProvisionedThroughputExceeded"


def test_a_large_item_borrows_and_throttles_until_repaid(enforced, clock):
    """A 10 KB write on a 2-WCU table is admitted (balance was positive) and costs 10: the debt must refill."""
    table = provisioned(enforced, wcu=2)
    table.put_item(Item={"pk": "big", "blob": "x" * 10_000})
    assert_error(lambda: table.put_item(Item={"pk": "a"}), "ProvisionedThroughputExceededException")
    clock.advance(4.0)                                  # 2 - 10 + 8 = 0: still nothing left
    assert_error(lambda: table.put_item(Item={"pk": "a"}), "ProvisionedThroughputExceededException")
    clock.advance(0.5)
    table.put_item(Item={"pk": "a"})


def test_query_and_scan_are_throttled(enforced):
    table = provisioned(enforced, rcu=1)
    table.query(KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": "a"}, ConsistentRead=True)
    assert_error(lambda: table.query(KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": "a"}),
                 "ProvisionedThroughputExceededException", capacity.TABLE_PROVISIONED)
    assert_error(lambda: table.scan(), "ProvisionedThroughputExceededException", capacity.TABLE_PROVISIONED)


@pytest.mark.parametrize("read", ["GetItem", "Query", "Scan"])
def test_each_refused_read_is_one_throttle_event(dynamodb_with, clock, read):
    """A read is admitted and charged once it has read (one call to the meter): a refusal answers at once
    and counts once, also where the embedded API takes a prepared path (a GetItem of string keys, a
    Query or Scan of a shape seen before) that would otherwise hand the call to the general path."""
    resource, db = dynamodb_with(capacity="enforce", clock=clock)
    table = provisioned(resource, rcu=1)
    call = {"GetItem": lambda: table.get_item(Key={"pk": "a"}),
            "Query": lambda: table.query(KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": "a"}),
            "Scan": lambda: table.scan()}[read]
    call()
    call()                                   # 0.5 RCU each: the one second of capacity a new table has
    for _ in range(3):
        assert_error(call, "ProvisionedThroughputExceededException", capacity.TABLE_PROVISIONED)
    assert db.engine.capacity.throttled == 3
    assert db.engine.capacity.throttle_events == {(table.name, "", "Read"): 3}


# -- sizes: DynamoDB's item size, as ConsumedCapacity reports it (reference 2.2 and 7) -----------------
# Two items whose stored (packed) size and DynamoDB size fall in different units: long numbers are
# stored as their text (37 bytes) but count 20 bytes each; NULLs in a list are stored in 1 byte but
# count 2 each (1 + valsize).

NUMBERS = {"pk": "numbers", "n": [Decimal("1234567890123456789012345678901234567")] * 150}   # 3.2 KB, 6 KB stored
NULLS = {"pk": "nulls", "l": [None] * 3000}                                                # 6 KB, 3 KB stored


def test_dynamodb_sizes_of_the_two_items():
    from kvstore import _core
    assert item_size(NUMBERS) <= 4096 < len(_core.pack_item(NUMBERS))
    assert len(_core.pack_item(NULLS)) <= 4096 < item_size(NULLS) <= 8192


def test_get_item_is_charged_and_reported_by_the_dynamodb_size(enforced, clock):
    """2 RCU: the NUMBERS item is one unit (its stored size would be two), NULLS two (stored: one)."""
    table = provisioned(enforced, rcu=2, wcu=1000)
    table.put_item(Item=NUMBERS)
    table.put_item(Item=NULLS)
    for _ in range(2):
        response = table.get_item(Key={"pk": "numbers"}, ConsistentRead=True, ReturnConsumedCapacity="TOTAL")
        assert response["ConsumedCapacity"]["CapacityUnits"] == 1.0
    assert_error(lambda: table.get_item(Key={"pk": "numbers"}, ConsistentRead=True),
                 "ProvisionedThroughputExceededException")
    clock.advance(1.0)
    response = table.get_item(Key={"pk": "nulls"}, ConsistentRead=True, ReturnConsumedCapacity="TOTAL")
    assert response["ConsumedCapacity"]["CapacityUnits"] == 2.0
    assert_error(lambda: table.get_item(Key={"pk": "numbers"}), "ProvisionedThroughputExceededException")


@pytest.mark.parametrize("page", [{"FilterExpression": "attribute_exists(pk)"}, {"ProjectionExpression": "pk"},
                                  {"Select": "COUNT"}, {}])
def test_a_scan_page_is_charged_the_dynamodb_size_of_what_it_read(enforced, clock, page):
    """A page is charged as ConsumedCapacity reports it, by the DynamoDB size of the items read, also
    when ReturnConsumedCapacity is not asked for (a filtered, projected or counted page was charged
    one unit whatever it read, a plain page by its stored size)."""
    table = provisioned(enforced, rcu=2, wcu=1000)
    table.put_item(Item=NULLS)                                          # 6011 bytes, 3 KB stored
    table.put_item(Item={"pk": "big", "blob": "x" * 10_000})            # 10009 bytes
    response = table.scan(ConsistentRead=True, ReturnConsumedCapacity="TOTAL", **page)
    assert response["ConsumedCapacity"]["CapacityUnits"] == 4.0           # ceil((6011 + 10009) / 4096)
    clock.advance(1.0)                                                  # 2 - 4 + 2 = 0: nothing left
    assert_error(lambda: table.get_item(Key={"pk": "a"}), "ProvisionedThroughputExceededException")
    clock.advance(1.0)
    table.get_item(Key={"pk": "a"})


def test_batch_get_and_transact_get_use_the_dynamodb_size(enforced):
    """BatchGetItem: GetItem's units per item; TransactGetItems: twice that (reference 7)."""
    table = provisioned(enforced, rcu=1000, wcu=1000)
    table.put_item(Item=NUMBERS)
    table.put_item(Item=NULLS)
    client = table.meta.client
    keys = [{"pk": "numbers"}, {"pk": "nulls"}, {"pk": "missing"}]
    response = client.batch_get_item(RequestItems={table.name: {"Keys": keys, "ConsistentRead": True}},
                                     ReturnConsumedCapacity="TOTAL")
    assert response["ConsumedCapacity"][0]["CapacityUnits"] == 1.0 + 2.0 + 1.0
    response = client.transact_get_items(TransactItems=[{"Get": {"TableName": table.name, "Key": k}} for k in keys],
                                         ReturnConsumedCapacity="TOTAL")
    assert response["ConsumedCapacity"][0]["CapacityUnits"] == 2 * (1.0 + 2.0 + 1.0)


def test_a_writes_old_image_counts_by_its_dynamodb_size(enforced, clock):
    """Replacing or deleting the NULLS item (6 KB by DynamoDB's size, 3 KB stored) costs 6 units, enforced
    and reported alike, however small the new image."""
    table = provisioned(enforced, rcu=1000, wcu=6)
    client = table.meta.client
    table.put_item(Item=NULLS)
    clock.advance(1.0)
    response = table.put_item(Item={"pk": "nulls"}, ReturnConsumedCapacity="TOTAL")
    assert response["ConsumedCapacity"]["CapacityUnits"] == 6.0
    assert_error(lambda: table.put_item(Item={"pk": "a"}), "ProvisionedThroughputExceededException")
    clock.advance(1.0)
    table.put_item(Item=NULLS)
    clock.advance(1.0)
    response = table.delete_item(Key={"pk": "nulls"}, ReturnConsumedCapacity="TOTAL")
    assert response["ConsumedCapacity"]["CapacityUnits"] == 6.0
    clock.advance(1.0)
    table.put_item(Item=NULLS)
    clock.advance(1.0)
    response = table.update_item(Key={"pk": "nulls"}, UpdateExpression="REMOVE l", ReturnConsumedCapacity="TOTAL")
    assert response["ConsumedCapacity"]["CapacityUnits"] == 6.0
    clock.advance(1.0)
    table.put_item(Item=NULLS)
    clock.advance(1.0)
    response = client.batch_write_item(RequestItems={table.name: [{"DeleteRequest": {"Key": {"pk": "nulls"}}}]},
                                       ReturnConsumedCapacity="TOTAL")
    assert response["ConsumedCapacity"][0]["CapacityUnits"] == 6.0
    clock.advance(1.0)
    table.put_item(Item=NULLS)
    clock.advance(2.0)
    response = client.transact_write_items(TransactItems=[{"Delete": {"TableName": table.name, "Key": {"pk": "nulls"}}}],
                                           ReturnConsumedCapacity="TOTAL")
    assert response["ConsumedCapacity"][0]["CapacityUnits"] == 12.0


# -- index writes: the change to what each index stores -------------------------------------------

def _index_table(resource, **extra):
    """pk (S) + sk (N); GSI ``inc`` on g, INCLUDE p; LSI ``loc`` on pk + l, KEYS_ONLY."""
    return create_table(resource, hash_key=KEY, range_key=("sk", "N"),
                        gsis=[index("inc", ("g", "S"), projection="INCLUDE", non_key=["p"])],
                        lsis=[index("loc", ("pk", "S"), ("l", "S"), projection="KEYS_ONLY")], **extra)


def _arms(response):
    capacity = response["ConsumedCapacity"]
    arms = {"table": capacity["Table"]["CapacityUnits"]}
    arms.update({n: c["CapacityUnits"] for n, c in capacity.get("GlobalSecondaryIndexes", {}).items()})
    arms.update({n: c["CapacityUnits"] for n, c in capacity.get("LocalSecondaryIndexes", {}).items()})
    assert capacity["CapacityUnits"] == sum(arms.values())
    return arms


@pytest.mark.parametrize("before,after,arms", [
    (None, {"g": "x", "p": "1", "l": "a"}, {"table": 1.0, "inc": 1.0, "loc": 1.0}),          # new entries
    ({"g": "x", "p": "1", "l": "a"}, {"g": "x", "p": "1", "l": "a"}, {"table": 1.0}),         # unchanged rewrite
    ({"g": "x", "p": "1", "o": "1"}, {"g": "x", "p": "1", "o": "2"}, {"table": 1.0}),         # not projected
    ({"g": "x", "p": "1"}, {"g": "x", "p": "2"}, {"table": 1.0, "inc": 1.0}),                 # changed in place
    ({"g": "x", "l": "a"}, {"g": "y", "l": "b"}, {"table": 1.0, "inc": 2.0, "loc": 2.0}),     # moved
    ({"g": "x", "l": "a"}, {}, {"table": 1.0, "inc": 1.0, "loc": 1.0}),                       # removed
    ({"g": "x", "p": "z" * 2000}, {"g": "x", "p": "1"}, {"table": 2.0, "inc": 2.0}),          # the larger image
    ({"g": "x", "p": "z" * 1500}, {"g": "y", "p": "z" * 1500}, {"table": 2.0, "inc": 4.0}),   # each half rounded
])
def test_index_writes_are_charged_on_the_change_to_what_the_index_stores(dynamodb_with, clock, before, after, arms):
    """INDEXES reports an arm only for an index whose view of the item changed (as captured against
    DynamoDB); enforcement charges the same units: the GSI's from its bucket, the LSI's from the table's."""
    resource, _ = dynamodb_with(capacity="enforce", clock=clock)
    table = _index_table(resource)
    if before is not None:
        table.put_item(Item={"pk": "a", "sk": 1, **before})
    response = table.put_item(Item={"pk": "a", "sk": 1, **after}, ReturnConsumedCapacity="INDEXES")
    assert _arms(response) == arms


def test_a_transaction_doubles_the_tables_units_not_the_indexes(dynamodb_with, clock):
    resource, _ = dynamodb_with(capacity="enforce", clock=clock)
    table = _index_table(resource)
    response = resource.meta.client.transact_write_items(ReturnConsumedCapacity="INDEXES", TransactItems=[
        {"Put": {"TableName": table.name, "Item": {"pk": "a", "sk": 1, "g": "x", "l": "a"}}}])
    assert _arms({"ConsumedCapacity": response["ConsumedCapacity"][0]}) == {"table": 2.0, "inc": 1.0, "loc": 1.0}


def test_lsi_writes_draw_on_the_tables_capacity(enforced, clock):
    """3 WCU: a write with an LSI entry costs 2 (the item and the entry), so the second is throttled."""
    table = create_table(enforced, hash_key=KEY, range_key=("sk", "N"), lsis=[index("loc", ("pk", "S"), ("l", "S"))],
                         BillingMode="PROVISIONED", ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 3})
    table.put_item(Item={"pk": "a", "sk": 1, "l": "x"})
    table.put_item(Item={"pk": "a", "sk": 2, "l": "x"})                 # 3 - 2 = 1 > 0: admitted, then -1
    assert_error(lambda: table.put_item(Item={"pk": "a", "sk": 3}), "ProvisionedThroughputExceededException")
    clock.advance(1.0)                                                  # -1 + 3 = 2
    table.put_item(Item={"pk": "a", "sk": 3})


def test_a_failed_conditional_write_still_consumes(enforced):
    """DynamoDB charges a conditional write whose condition fails as if it had written."""
    table = provisioned(enforced, wcu=1)
    assert_error(lambda: table.put_item(Item={"pk": "a"}, ConditionExpression="attribute_exists(pk)"),
                 "ConditionalCheckFailedException")
    assert_error(lambda: table.put_item(Item={"pk": "a"}), "ProvisionedThroughputExceededException")


def test_a_failed_conditional_write_is_counted_in_consumed_write_capacity(dynamodb_with):
    """The metrics' ConsumedWriteCapacityUnits count a write whose condition failed, with the units the
    meter charges: PutItem by the larger of the old and new images, UpdateItem and DeleteItem by the
    old image (the error's answer itself holds no ConsumedCapacity, as DynamoDB's does not)."""
    from tests.prometheus_text import strict_parse, value
    resource, db = dynamodb_with(metrics=True)
    table = create_table(resource, hash_key=KEY)
    table.put_item(Item={"pk": "a", "v": "x" * 1500})                        # 1,504 bytes: 2 WCU
    never = {"ConditionExpression": "attribute_not_exists(pk)"}
    for call in (lambda: table.put_item(Item={"pk": "a"}, **never),
                 lambda: table.update_item(Key={"pk": "a"}, UpdateExpression="SET v = :v",
                                           ExpressionAttributeValues={":v": "y"}, **never),
                 lambda: table.delete_item(Key={"pk": "a"}, **never)):
        e = assert_error(call, "ConditionalCheckFailedException")
        assert "ConsumedCapacity" not in e.response
    families = strict_parse(db.metrics().to_prometheus())
    assert value(families, "kvstore_consumed_write_capacity_units_total", table=table.name, index="") == 2 + 3 * 2
    assert table.get_item(Key={"pk": "a"})["Item"]["v"] == "x" * 1500


def test_validation_errors_come_before_throttling(enforced):
    table = provisioned(enforced, wcu=1)
    table.put_item(Item={"pk": "a"})
    assert_error(lambda: table.put_item(Item={"nokey": "a"}), "ValidationException")


def test_burst_capacity_keeps_300_seconds_of_unused_capacity(enforced, clock):
    """After 400 idle seconds a 2-WCU table holds 600 units of burst (300 s worth), not 800."""
    table = provisioned(enforced, wcu=2)
    clock.advance(400)
    for i in range(600):
        table.put_item(Item={"pk": str(i)})
    assert_error(lambda: table.put_item(Item={"pk": "x"}), "ProvisionedThroughputExceededException")


def test_update_table_takes_effect_at_once(enforced, clock):
    table = provisioned(enforced, wcu=1)
    table.put_item(Item={"pk": "a"})
    assert_error(lambda: table.put_item(Item={"pk": "b"}), "ProvisionedThroughputExceededException")
    table.meta.client.update_table(TableName=table.name,
                                   ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 10})
    clock.advance(0.5)                                  # 5 units at the new rate (0.5 at the old one)
    for i in range(5):
        table.put_item(Item={"pk": f"n{i}"})
    assert_error(lambda: table.put_item(Item={"pk": "c"}), "ProvisionedThroughputExceededException")
    table.meta.client.update_table(TableName=table.name, BillingMode="PAY_PER_REQUEST")
    for i in range(50):
        table.put_item(Item={"pk": f"o{i}"})


def test_a_gsi_without_capacity_throttles_writes_to_its_table(enforced):
    gsi = {"IndexName": "by_g", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
           "Projection": {"ProjectionType": "ALL"},
           "ProvisionedThroughput": {"ReadCapacityUnits": 5, "WriteCapacityUnits": 1}}
    name = unique_name()
    enforced.create_table(
        TableName=name, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                              {"AttributeName": "g", "AttributeType": "S"}],
        ProvisionedThroughput={"ReadCapacityUnits": 100, "WriteCapacityUnits": 100}, GlobalSecondaryIndexes=[gsi])
    table = enforced.Table(name)
    table.put_item(Item={"pk": "a", "g": "x"})          # 1 WCU on the table, 1 on the GSI
    e = assert_error(lambda: table.put_item(Item={"pk": "b", "g": "y"}), "ProvisionedThroughputExceededException",
                     capacity.GSI_PROVISIONED)
    assert reasons(e) == [{"reason": "IndexWriteProvisionedThroughputExceeded",
                           "resource": ARN + name + "/index/by_g"}]
    assert "Item" not in table.get_item(Key={"pk": "b"})


def test_gsi_reads_draw_on_the_gsi(enforced):
    gsi = {"IndexName": "by_g", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
           "Projection": {"ProjectionType": "ALL"},
           "ProvisionedThroughput": {"ReadCapacityUnits": 1, "WriteCapacityUnits": 5}}
    name = unique_name()
    enforced.create_table(
        TableName=name, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                              {"AttributeName": "g", "AttributeType": "S"}],
        ProvisionedThroughput={"ReadCapacityUnits": 100, "WriteCapacityUnits": 100}, GlobalSecondaryIndexes=[gsi])
    table = enforced.Table(name)
    query = dict(IndexName="by_g", KeyConditionExpression="g = :g", ExpressionAttributeValues={":g": "x"})
    table.query(**query)
    table.query(**query)                                # 0.5 + 0.5 of the GSI's 1 RCU
    e = assert_error(lambda: table.query(**query), "ProvisionedThroughputExceededException")
    assert reasons(e)[0] == {"reason": "IndexReadProvisionedThroughputExceeded", "resource": ARN + name + "/index/by_g"}
    table.get_item(Key={"pk": "a"})                     # the table's own capacity is untouched


# -- on-demand tables ---------------------------------------------------------------------

def test_one_partition_key_gets_at_most_one_partitions_writes(enforced, clock):
    """On demand: one key value gets 1,000 WCU per second; the excess is a ThrottlingException."""
    table = create_table(enforced, hash_key=KEY)
    blob = "x" * 9_990                                  # 10 WCU per write
    for i in range(100):
        table.put_item(Item={"pk": "hot", "blob": blob})
    e = assert_error(lambda: table.put_item(Item={"pk": "hot", "blob": blob}), "ThrottlingException",
                     capacity.TABLE_ON_DEMAND)
    assert reasons(e) == [{"reason": "TableWriteKeyRangeThroughputExceeded", "resource": ARN + table.name}]
    table.put_item(Item={"pk": "cold", "blob": blob})   # another key is not throttled
    clock.advance(1)
    table.put_item(Item={"pk": "hot", "blob": blob})


def test_on_demand_maximum_throughput_is_enforced(enforced):
    table = create_table(enforced, hash_key=KEY, OnDemandThroughput={"MaxWriteRequestUnits": 3})
    for i in range(3):
        table.put_item(Item={"pk": str(i)})
    e = assert_error(lambda: table.put_item(Item={"pk": "x"}), "ThrottlingException", capacity.TABLE_ON_DEMAND)
    assert reasons(e)[0]["reason"] == "TableWriteMaxOnDemandThroughputExceeded"


# -- batches and transactions ---------------------------------------------------------------

def test_batch_write_returns_the_excess_as_unprocessed_items(enforced, clock):
    table = provisioned(enforced, wcu=3)
    requests = [{"PutRequest": {"Item": {"pk": str(i)}}} for i in range(10)]
    response = enforced.batch_write_item(RequestItems={table.name: requests})
    assert response["UnprocessedItems"] == {table.name: requests[3:]}
    assert table.get_item(Key={"pk": "2"}).get("Item") == {"pk": "2"}
    assert "Item" not in table.get_item(Key={"pk": "3"})
    e = assert_error(lambda: enforced.batch_write_item(RequestItems={table.name: requests[3:]}),
                     "ProvisionedThroughputExceededException", capacity.TABLE_PROVISIONED)
    assert reasons(e)[0]["reason"] == "TableWriteProvisionedThroughputExceeded"
    clock.advance(2)                                    # six units for seven writes
    assert enforced.batch_write_item(RequestItems={table.name: requests[3:]})["UnprocessedItems"] == {
        table.name: requests[9:]}


def test_batch_get_returns_the_excess_as_unprocessed_keys(enforced):
    table = provisioned(enforced, rcu=1)
    keys = [{"pk": str(i)} for i in range(5)]
    response = enforced.batch_get_item(RequestItems={table.name: {"Keys": keys, "ConsistentRead": True,
                                                                  "ProjectionExpression": "pk"}})
    assert response["UnprocessedKeys"] == {table.name: {"Keys": keys[1:], "ConsistentRead": True,
                                                        "ProjectionExpression": "pk"}}
    assert_error(lambda: enforced.batch_get_item(RequestItems={table.name: {"Keys": keys}}),
                 "ProvisionedThroughputExceededException", capacity.TABLE_PROVISIONED)


def test_a_throttled_transaction_is_cancelled_with_the_reason(enforced):
    full = provisioned(enforced, wcu=1)
    free = provisioned(enforced, wcu=100)
    full.put_item(Item={"pk": "a"})
    e = assert_error(lambda: _transact(enforced, free.name, full.name), "TransactionCanceledException")
    assert e.response["CancellationReasons"] == [
        {"Code": "None"}, {"Code": "ProvisionedThroughputExceeded", "Message": capacity.TABLE_PROVISIONED}]
    assert "Item" not in free.get_item(Key={"pk": "x"})


def _transact(resource, first, second):
    """Through ``meta.client``, which takes native values on every face (boto3's resource registers its serializer)."""
    return resource.meta.client.transact_write_items(TransactItems=[
        {"Put": {"TableName": first, "Item": {"pk": "x"}}}, {"Put": {"TableName": second, "Item": {"pk": "y"}}}])


def test_consumed_capacity_is_reported_as_without_enforcement(dynamodb_with, clock):
    """Metering asks the operations for INDEXES and gives back what the caller asked for."""
    plain, _ = dynamodb_with()
    results = []
    for resource in (plain, dynamodb_with(capacity="enforce", clock=clock)[0]):
        table = provisioned(resource, 100, 100)
        out = [table.put_item(Item={"pk": "a", "v": "x" * 2000}, ReturnConsumedCapacity=mode).get("ConsumedCapacity")
               for mode in ("NONE", "TOTAL", "INDEXES")]
        out.append("ConsumedCapacity" in table.get_item(Key={"pk": "a"}))
        for entry in out[:3]:
            if entry:
                entry["TableName"] = "t"
        results.append(out)
    assert results[0] == results[1]


# -- the target: sustained rate plus burst, over 60 s of virtual time --------------------------

def test_100_wcu_sustains_100_writes_a_second_plus_its_burst():
    """A 100-WCU table idle for 300 s takes its 30,000-unit burst, then 100 writes a second (within 5%)."""
    clock = ManualClock()
    with kvstore.open(":memory:", capacity="enforce", clock=clock) as db:
        table = provisioned(db, rcu=1, wcu=100)
        clock.advance(300)
        per_second = [0] * 60
        for step in range(6000):                         # 60 s in 10 ms steps, writing until throttled
            while True:
                try:
                    table.put_item(Item={"pk": f"{step}-{per_second[step // 100]}"})
                except kvstore.errors.ProvisionedThroughputExceededException:
                    break
                per_second[step // 100] += 1
            clock.advance(0.01)
        total = sum(per_second)
        assert abs(total - (30_000 + 60 * 100)) <= 0.05 * (60 * 100)
        drained = [n for n in per_second if n <= 200]    # the seconds after the burst was spent
        assert len(drained) >= 50
        assert abs(sum(drained) / len(drained) - 100) <= 5


# -- batch writers and the hook's options ------------------------------------------------------

class TickingClock(ManualClock):
    """Virtual time moving 1 ms at every reading, so capacity refills as calls go by (deterministically)."""

    def __call__(self):
        with self._lock:
            self._now += 0.001
            return self._now


def test_batch_writer_resends_unprocessed_items_until_all_are_written(dynamodb_with, face, monkeypatch):
    """kvstore's batch_writer backs off on the engine's clock; boto3's resends (botocore retries a whole throttle)."""
    import types

    import botocore.endpoint
    clock = TickingClock()
    resource, db = dynamodb_with(capacity="enforce", clock=clock, retries={"mode": "standard", "total_max_attempts": 50})
    monkeypatch.setattr(botocore.endpoint, "time", types.SimpleNamespace(sleep=clock.advance))
    table = provisioned(resource, rcu=1000, wcu=10)
    with table.batch_writer() as writer:
        for i in range(120):
            writer.put_item(Item={"pk": f"item-{i}"})
    assert db.engine.capacity.throttled > 0
    assert len(db.Table(table.name).scan()["Items"]) == 120


def test_mock_dynamodb_options_reach_the_database():
    import boto3
    from botocore.config import Config

    from kvstore.testing import FaultRule, mock_dynamodb
    config = Config(retries={"total_max_attempts": 1})
    with mock_dynamodb(enforce_capacity=True, contention=True,
                       faults=[FaultRule("InternalServerError", operations="ListTables", once=True)]) as mock:
        assert mock.db.engine.contention is not None
        client = boto3.client("dynamodb", config=config)
        assert_error(lambda: client.list_tables(), "InternalServerError")
        table = provisioned(boto3.resource("dynamodb", config=config), wcu=1)
        with pytest.raises(Exception) as e:
            for i in range(10):
                table.put_item(Item={"pk": str(i)})
        assert_error(e, "ProvisionedThroughputExceededException", capacity.TABLE_PROVISIONED)
    with kvstore.open(":memory:") as db, pytest.raises(TypeError):
        mock_dynamodb(db, enforce_capacity=True)
