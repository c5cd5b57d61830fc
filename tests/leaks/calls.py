"""No call leaves references behind: the objects the garbage collector tracks do not grow with calls.

Run by ``tests/test_reference_leaks.py`` in an interpreter of its own (``python -m pytest
tests/leaks/calls.py``; the default run does not collect this folder): the count is of every
object in the process, and in the whole suite earlier tests' databases and servers still have
threads that make objects while these calls run.

A reference the compiled core takes and never releases (one Cython construct, a for-else whose
else clause continues the outer loop, skipped releasing the loop's dict) keeps every request's
objects alive: memory grows without bound in a long-running server, and the collector's passes,
which visit every live container, grow with it (on bench.indexes the leak of TransactWriteItems'
action dicts cost a 2-Put transaction about 6 µs of collection in 45).  Each operation here runs
two batches of 30 calls through every face after a warm-up; one leaked object a call adds 30
to both.
"""

import gc
from decimal import Decimal

import pytest

CALLS = 30
#: what a batch of CALLS calls may add to the collector's objects without leaking (caches settling,
#: a SortedList sublist split); a leak of one object a call adds five times as many
ALLOWANCE = 6


def _table(dynamodb, throughput=None):
    """The table every call works on: on demand, or PROVISIONED at ``throughput`` (the GSI too)."""
    gsi = {"IndexName": "by_grp", "KeySchema": [{"AttributeName": "grp", "KeyType": "HASH"}],
           "Projection": {"ProjectionType": "ALL"}}
    billing = {"BillingMode": "PAY_PER_REQUEST"}
    if throughput:
        billing = {"BillingMode": "PROVISIONED", "ProvisionedThroughput": throughput}
        gsi["ProvisionedThroughput"] = throughput
    return dynamodb.create_table(
        TableName="leaks",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                              {"AttributeName": "sk", "AttributeType": "N"},
                              {"AttributeName": "grp", "AttributeType": "S"}],
        GlobalSecondaryIndexes=[gsi], **billing)


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


def _cancelled_transaction(table, client, i):
    try:
        client.transact_write_items(TransactItems=[
            {"Put": {"TableName": "leaks", "Item": _item(i)}},
            {"ConditionCheck": {"TableName": "leaks", "Key": {"pk": f"p{(i + 1) % 4}", "sk": Decimal(i % 5)},
                                "ConditionExpression": "attribute_not_exists(pk)"}}])   # it exists: cancelled
    except Exception as e:   # noqa: BLE001 - every face raises its own ClientError class
        assert e.response["Error"]["Code"] == "TransactionCanceledException"


def _update_returning(table, client, i):
    table.update_item(Key={"pk": f"p{i % 4}", "sk": Decimal(i % 5)},
                      UpdateExpression="SET #d.#l = list_append(:one, :none), tags = :t REMOVE gone",
                      ExpressionAttributeNames={"#d": "doc", "#l": "list"},
                      ExpressionAttributeValues={":one": [i], ":none": [], ":t": {"a", "b"}}, ReturnValues="ALL_NEW")


def _query_pages(table, client, i):
    page = table.query(KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": f"p{i % 4}"}, Limit=2)
    table.query(KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": f"p{i % 4}"}, Limit=2,
                ExclusiveStartKey=page["LastEvaluatedKey"], ScanIndexForward=False)


def _get_projection(table, client, i):
    table.get_item(Key={"pk": f"p{i % 4}", "sk": Decimal(i % 5)}, ProjectionExpression="#n, doc.flag, tags",
                   ExpressionAttributeNames={"#n": "n"}, ConsistentRead=True)


def _partiql(table, client, i):
    client.execute_statement(Statement="SELECT pk, n FROM leaks WHERE pk = ? AND sk = ?",
                             Parameters=[f"p{i % 4}", Decimal(i % 5)])
    client.execute_statement(Statement="UPDATE leaks SET n = ? WHERE pk = ? AND sk = ?",
                             Parameters=[Decimal(i), f"p{i % 4}", Decimal(i % 5)])


OPERATIONS = {f.__name__.strip("_"): f for f in (
    _put, _conditional_update, _delete, _get, _query, _gsi_query, _scan, _batch_write, _batch_get,
    _transact_write, _transact_get, _failed_condition, _cancelled_transaction, _update_returning, _query_pages,
    _get_projection, _partiql)}


def _tracked():
    gc.collect()
    return len(gc.get_objects())


def _tracked_beyond_tokens(engine):
    """Tracked objects, less the idempotency tokens boto3 gives every TransactWriteItems (one
    entry each, kept ten minutes as DynamoDB keeps them: growth, not a leak)."""
    return _tracked() - len(engine.transaction_tokens)


def _calls_leave_no_objects_behind(dynamodb, face, engine, operation, table):
    """Two batches of CALLS calls after a warm-up: a leak grows the objects in both, by about its
    size times CALLS; something made once (the wire server's thread pool starting another worker
    thread when a request finds none idle: a thread, its locks and frames) grows them in one."""
    client = dynamodb.meta.client
    for i in range(20):
        table.put_item(Item=_item(i))
    run = OPERATIONS[operation]
    for i in range(CALLS // 3):                 # warm-up: caches and templates settle
        run(table, client, i)
    grown = []
    for batch in range(2):
        before = _tracked_beyond_tokens(engine)
        for i in range(CALLS):
            run(table, client, i)
        grown.append(_tracked_beyond_tokens(engine) - before)
    assert min(grown) < ALLOWANCE, f"{grown} more tracked objects after two batches of {CALLS} {operation} " \
                                   f"calls on the {face} face"


@pytest.mark.parametrize("operation", OPERATIONS)
def test_calls_leave_no_objects_behind(dynamodb, face, face_db, operation):
    _calls_leave_no_objects_behind(dynamodb, face, face_db.engine, operation, _table(dynamodb))


@pytest.mark.parametrize("operation", ["put", "conditional_update", "get", "query", "gsi_query", "scan",
                                       "batch_write", "batch_get", "transact_write", "failed_condition"])
def test_calls_under_enforced_capacity_leave_no_objects_behind(dynamodb_with, face, operation):
    """The meter's own paths (tickets, per-key windows, a page's charge) on a provisioned table
    with room for every call: no request is throttled, nothing is kept."""
    resource, db = dynamodb_with(capacity="enforce")
    table = _table(resource, throughput={"ReadCapacityUnits": 40000, "WriteCapacityUnits": 40000})
    _calls_leave_no_objects_behind(resource, face, db.engine, operation, table)
    assert db.engine.capacity.throttled == 0
