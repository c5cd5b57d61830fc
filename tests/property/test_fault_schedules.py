"""Property: under random fault schedules and enforced capacity, a failed call changes nothing.

Each example opens a database with a random set of fault rules (operation,
error, every-N or seeded probability) and, half the time, enforced capacity on
a small provisioned table; then runs random writes (PutItem, UpdateItem,
DeleteItem, conditional puts, TransactWriteItems, BatchWriteItem) while a
stepped clock moves.  After every call the table must equal a plain dict
model: unchanged after any error, changed exactly as the call says after a
success (for a batch, by the writes not handed back as UnprocessedItems).
"""

import hypothesis.strategies as st
from hypothesis import HealthCheck, given, settings

import kvstore
from kvstore import _core
from kvstore.clock import ManualClock
from kvstore.errors import DynamoDBError
from kvstore.faults import FaultRule


PKS = st.sampled_from(["a", "b", "c", "d"])
ERRORS = st.sampled_from(["InternalServerError", "ServiceUnavailable", "ThrottlingException",
                          "ProvisionedThroughputExceededException", "RequestLimitExceeded", "TransactionConflict"])
OPERATIONS = st.sampled_from(["PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"])


@st.composite
def rules(draw):
    error = draw(ERRORS)
    operations = draw(st.none() | st.lists(OPERATIONS, min_size=1, max_size=3))
    if draw(st.booleans()):
        return FaultRule(error, operations=operations, every=draw(st.integers(1, 4)))
    return FaultRule(error, operations=operations, probability=draw(st.floats(0.05, 0.9)),
                     seed=draw(st.integers(0, 2 ** 16)))


STEPS = st.one_of(
    st.tuples(st.just("put"), PKS, st.integers(0, 9)),
    st.tuples(st.just("put_new"), PKS, st.integers(0, 9)),
    st.tuples(st.just("add"), PKS, st.integers(1, 3)),
    st.tuples(st.just("delete"), PKS),
    st.tuples(st.just("transact"), PKS, PKS, st.integers(0, 9)),
    st.tuples(st.just("batch"), st.lists(PKS, min_size=1, max_size=4, unique=True), st.integers(0, 9)),
    st.tuples(st.just("wait"), st.sampled_from([0.1, 0.5, 2.0])),
)


def _state(db):
    """The stored items, read from the engine directly (faults may select any operation, Scan included)."""
    items = [_core.unpack_item(packed) for packed in db.engine.tables["things"].rows.values()]
    return {i["pk"]: i["v"] for i in items}


def _run(db, table, step, model):
    """Run one step; return the model after it if it succeeds (raises the DynamoDB error otherwise)."""
    kind = step[0]
    new = dict(model)
    if kind == "put":
        table.put_item(Item={"pk": step[1], "v": step[2]})
        new[step[1]] = step[2]
    elif kind == "put_new":
        table.put_item(Item={"pk": step[1], "v": step[2]}, ConditionExpression="attribute_not_exists(pk)")
        new[step[1]] = step[2]
    elif kind == "add":
        table.update_item(Key={"pk": step[1]}, UpdateExpression="ADD v :n", ExpressionAttributeValues={":n": step[2]})
        new[step[1]] = new.get(step[1], 0) + step[2]
    elif kind == "delete":
        table.delete_item(Key={"pk": step[1]})
        new.pop(step[1], None)
    elif kind == "transact":
        if step[1] == step[2]:
            return model
        db.transact_write_items(TransactItems=[
            {"Put": {"TableName": table.name, "Item": {"pk": step[1], "v": step[3]}}},
            {"Update": {"TableName": table.name, "Key": {"pk": step[2]}, "UpdateExpression": "ADD v :one",
                        "ExpressionAttributeValues": {":one": 1}}}])
        new[step[1]] = step[3]
        new[step[2]] = new.get(step[2], 0) + 1
    elif kind == "batch":
        requests = [{"PutRequest": {"Item": {"pk": pk, "v": step[2]}}} for pk in step[1]]
        response = db.batch_write_item(RequestItems={table.name: requests})
        handed_back = {r["PutRequest"]["Item"]["pk"] for r in response["UnprocessedItems"].get(table.name, [])}
        for pk in step[1]:
            if pk not in handed_back:
                new[pk] = step[2]
    return new


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fault_rules=st.lists(rules(), max_size=3), enforce=st.booleans(), wcu=st.integers(1, 3),
       steps=st.lists(STEPS, min_size=1, max_size=25))
def test_a_failed_call_leaves_the_state_as_it_was(fault_rules, enforce, wcu, steps):
    clock = ManualClock()
    with kvstore.open(":memory:", clock=clock, capacity="enforce" if enforce else "report") as db:
        table = db.create_table(
            TableName="things", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            ProvisionedThroughput={"ReadCapacityUnits": 1000, "WriteCapacityUnits": wcu})
        for rule in fault_rules:
            db.faults.add(rule)
        model = {}
        for step in steps:
            if step[0] == "wait":
                clock.advance(step[1])
                continue
            try:
                model = _run(db, table, step, model)
            except DynamoDBError:
                pass                                 # the model stays as it was
            assert _state(db) == model, step
