"""No call leaves references behind: the objects the garbage collector tracks do not grow with calls.

A reference the compiled core takes and never releases (one Cython construct, a for-else whose
else clause continues the outer loop, skipped releasing the loop's dict) keeps every request's
objects alive: memory grows without bound in a long-running server, and the collector's passes,
which visit every live container, grow with it (on bench.indexes the leak of TransactWriteItems'
action dicts cost a 2-Put transaction about 6 µs of collection in 45).  Each operation here runs
a few hundred times through every face after a warm-up; one leaked object a call would add
hundreds.
"""

import gc
from decimal import Decimal

import pytest

CALLS = 300
#: what a face may add to the collector's objects over CALLS calls without leaking (caches
#: settling, a SortedList sublist split, the wire's connection state)
ALLOWANCE = CALLS // 10


def _table(dynamodb):
    return dynamodb.create_table(
        TableName="leaks",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "N"},
                              {"AttributeName": "grp", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        GlobalSecondaryIndexes=[{"IndexName": "by_grp", "KeySchema": [{"AttributeName": "grp", "KeyType": "HASH"}],
                                 "Projection": {"ProjectionType": "ALL"}}])


def _item(i):
    # keys repeat (20 items), so the table does not grow with the calls
    return {"pk": f"p{i % 4}", "sk": Decimal(i % 5), "grp": f"g{i % 3}", "n": Decimal(i), "tags": {"a", "b"},
            "doc": {"list": [1, "x"], "flag": True}}


def _put(table, client, i):
    table.put_item(Item=_item(i))


def _conditional_update(table, client, i):
    table.update_item(Key={"pk": f"p{i % 4}", "sk": Decimal(i % 5)}, UpdateExpression="SET n = :n ADD c :one",
                      ConditionExpression="attribute_exists(pk)", ExpressionAttributeValues={":n": i, ":one": 1})


def _delete(table, client, i):
    table.delete_item(Key={"pk": f"p{i % 4}", "sk": Decimal(i % 5)}, ReturnValues="ALL_OLD")
    table.put_item(Item=_item(i))


def _get(table, client, i):
    table.get_item(Key={"pk": f"p{i % 4}", "sk": Decimal(i % 5)})


def _query(table, client, i):
    table.query(KeyConditionExpression="pk = :p AND sk > :s", FilterExpression="n > :z",
                ExpressionAttributeValues={":p": f"p{i % 4}", ":s": 1, ":z": -1}, ProjectionExpression="pk, sk, n",
                Limit=3)


def _gsi_query(table, client, i):
    table.query(IndexName="by_grp", KeyConditionExpression="grp = :g", ExpressionAttributeValues={":g": f"g{i % 3}"},
                Limit=4)


def _scan(table, client, i):
    table.scan(Limit=5)


def _batch_write(table, client, i):
    with table.batch_writer(overwrite_by_pkeys=["pk", "sk"]) as batch:
        for j in range(3):
            batch.put_item(Item=_item(i + j))


def _batch_get(table, client, i):
    client.batch_get_item(RequestItems={"leaks": {"Keys": [{"pk": f"p{(i + j) % 4}", "sk": Decimal(j)}
                                                           for j in range(3)]}})


def _transact_write(table, client, i):
    client.transact_write_items(TransactItems=[
        {"Put": {"TableName": "leaks", "Item": _item(i)}},
        {"Update": {"TableName": "leaks", "Key": {"pk": f"p{(i + 1) % 4}", "sk": Decimal((i + 2) % 5)},
                    "UpdateExpression": "SET n = :n", "ExpressionAttributeValues": {":n": i}}},
        {"ConditionCheck": {"TableName": "leaks", "Key": {"pk": f"p{(i + 2) % 4}", "sk": Decimal((i + 3) % 5)},
                            "ConditionExpression": "attribute_exists(pk)"}}])


def _transact_get(table, client, i):
    client.transact_get_items(TransactItems=[{"Get": {"TableName": "leaks", "Key": {"pk": "p1", "sk": Decimal(1)}}}])


def _failed_condition(table, client, i):
    try:
        table.put_item(Item=_item(i), ConditionExpression="attribute_not_exists(pk)")
    except Exception as e:   # noqa: BLE001 - every face raises its own ClientError class
        assert e.response["Error"]["Code"] == "ConditionalCheckFailedException"


OPERATIONS = {f.__name__.strip("_"): f for f in (
    _put, _conditional_update, _delete, _get, _query, _gsi_query, _scan, _batch_write, _batch_get,
    _transact_write, _transact_get, _failed_condition)}


def _tracked():
    gc.collect()
    return len(gc.get_objects())


def _tracked_beyond_tokens(engine):
    """Tracked objects, less the idempotency tokens boto3 gives every TransactWriteItems (one
    entry each, kept ten minutes as DynamoDB keeps them: growth, not a leak)."""
    return _tracked() - len(engine.transaction_tokens)


@pytest.mark.parametrize("operation", OPERATIONS)
def test_calls_leave_no_objects_behind(dynamodb, face, face_db, operation):
    table = _table(dynamodb)
    client = dynamodb.meta.client if face != "embedded" else dynamodb
    for i in range(20):
        table.put_item(Item=_item(i))
    run = OPERATIONS[operation]
    for i in range(CALLS // 2):                 # warm-up: caches and templates settle
        run(table, client, i)
    before = _tracked_beyond_tokens(face_db.engine)
    for i in range(CALLS):
        run(table, client, i)
    grown = _tracked_beyond_tokens(face_db.engine) - before
    assert grown < ALLOWANCE, f"{grown} more tracked objects after {CALLS} {operation} calls on the {face} face"
