"""Prepared Query and Scan plans (kvstore.operations.read_plans) agree with the reference path.

A request whose shape was seen before runs its plan; the property below
sends the same shape with other values (valid, of the wrong type, empty,
too long, a Limit below 1, a start key outside the condition, ...) and
compares the answer, or the error's class and message, with what the
reference path (``query.reference`` / ``scan.reference``) gives for the same
request.  The examples pin what makes a plan stale: a table deleted and
created again with another key schema, a deleted index.
"""

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kvstore
from kvstore.errors import DynamoDBError
from kvstore.operations import query, read_plans, scan
from kvstore.types import Binary

from .helpers import create_table, index

relaxed = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))


def _outcome(fn, engine, request, *args):
    try:
        return "ok", fn(engine, dict(request), *args)
    except DynamoDBError as e:
        return type(e).__name__, str(e)


@pytest.fixture(scope="module")
def loaded():
    db = kvstore.open(":memory:")
    table = create_table(db, hash_key=("pk", "S"), range_key=("sk", "S"),
                         gsis=[index("by_g", ("g", "S"), ("sk", "S")),
                               index("keys_only", ("g", "S"), projection="KEYS_ONLY")])
    with table.batch_writer() as writer:
        for p in range(3):
            for s in range(30):
                writer.put_item(Item={"pk": f"p{p}", "sk": f"s{s:02d}", "g": f"g{s % 3}", "n": Decimal(s % 7),
                                      "x": "v" * (s % 5), "m": {"a": Decimal(s)}})
    yield db.engine, table.name
    db.close()


_strings = st.sampled_from(["p0", "p1", "p2", "p9", "", "g0", "g1", "g2", "s", "s0", "s05", "s1", "s29"])
#: mostly strings (the keys' type: the same shape as the request that left the plan), some of other types
_others = st.one_of(st.integers(-2, 32).map(Decimal), st.just(Binary(b"p0")), st.just(Binary(b"")))
key_values = st.integers(0, 7).flatmap(
    lambda i: _others if i == 0 else st.text(min_size=250, max_size=300) if i == 1 else _strings)
operators = st.sampled_from(["=", "<", "<=", ">", ">=", "BETWEEN", "begins_with", None])
filters = st.sampled_from([None, "n > :f", "attribute_exists(x)", "n BETWEEN :f AND :g", "#m.a < :f"])
projections = st.sampled_from([None, "pk, sk", "x, #m.a", "n"])
limits = st.one_of(st.none(), st.integers(-1, 40))


def _query(table, index_name, hash_value, op, range_values, filter_, projection, limit, forward, select,
           consistent, capacity):
    hash_name, range_name = ("pk", "sk") if index_name is None else ("g", "sk")
    text = f"{hash_name} = :h"
    values = {":h": hash_value}
    if op == "BETWEEN":
        text += f" AND {range_name} BETWEEN :a AND :b"
        values[":a"], values[":b"] = range_values
    elif op == "begins_with":
        text += f" AND begins_with({range_name}, :a)"
        values[":a"] = range_values[0]
    elif op is not None:
        text += f" AND {range_name} {op} :a"
        values[":a"] = range_values[0]
    request = {"TableName": table, "KeyConditionExpression": text, "ExpressionAttributeValues": values}
    names = {}
    if filter_ is not None:
        request["FilterExpression"] = filter_
        if ":f" in filter_:
            values[":f"] = Decimal(3)
        if ":g" in filter_:
            values[":g"] = Decimal(5)
        if "#m" in filter_:
            names["#m"] = "m"
    if projection is not None:
        request["ProjectionExpression"] = projection
        if "#m" in projection:
            names["#m"] = "m"
    if names:
        request["ExpressionAttributeNames"] = names
    for member, value in (("IndexName", index_name), ("Limit", limit), ("ScanIndexForward", forward),
                          ("Select", select), ("ConsistentRead", consistent), ("ReturnConsumedCapacity", capacity)):
        if value is not None:
            request[member] = value
    return request


queries = st.builds(
    _query, st.just("t"), st.sampled_from([None, None, "by_g", "keys_only"]), key_values, operators,
    st.tuples(key_values, key_values), filters, projections, limits, st.sampled_from([None, True, False]),
    st.sampled_from([None, None, None, "COUNT", "ALL_ATTRIBUTES"]), st.sampled_from([None, None, None, False, True]),
    st.sampled_from([None, "TOTAL"]))


def _valid(request):
    """``request`` with key-condition values that pass (of the key's types), so it leaves a plan."""
    out = dict(request)
    values = dict(request["ExpressionAttributeValues"])
    values[":h"] = "g1" if "IndexName" in request else "p1"
    for k in (":a", ":b"):
        if k in values:
            values[k] = "s03" if k == ":a" else "s20"
    out["ExpressionAttributeValues"] = values
    if "Limit" in out:
        out["Limit"] = 4
    return out


@settings(relaxed, max_examples=300)
@given(queries, st.booleans())
def test_a_prepared_query_agrees_with_the_reference(loaded, request, continue_from_page):
    engine, table = loaded
    request["TableName"] = table
    first = _valid(request)
    read_plans.clear(engine)
    answer = _outcome(query.run, engine, first)
    assert answer == _outcome(query.reference, engine, first)
    if continue_from_page and answer[0] == "ok" and "LastEvaluatedKey" in answer[1]:
        request["ExclusiveStartKey"] = answer[1]["LastEvaluatedKey"]
    elif continue_from_page:
        request["ExclusiveStartKey"] = {"pk": "p1", "sk": "s04", "g": "g1"} if "IndexName" in request else \
            {"pk": "p1", "sk": "s04"}
    assert _outcome(query.run, engine, request) == _outcome(query.reference, engine, request)


scans = st.fixed_dictionaries({}, optional={
    "IndexName": st.sampled_from(["by_g", "keys_only", "nope"]), "Limit": limits,
    "FilterExpression": st.sampled_from(["n > :f", "n BETWEEN :f AND :g", "begins_with(x, :s)"]),
    "ProjectionExpression": projections.filter(lambda p: p is not None and "#" not in p),
    "Select": st.sampled_from(["COUNT", "ALL_ATTRIBUTES", "ALL_PROJECTED_ATTRIBUTES"]),
    "ConsistentRead": st.booleans(),
})


@relaxed
@given(scans, st.integers(-2, 9), st.integers(-2, 9), st.sampled_from(["v", "", "vv"]), st.booleans())
def test_a_prepared_scan_agrees_with_the_reference(loaded, request, f, g, s, continue_from_page):
    engine, table = loaded
    request = {k: v for k, v in request.items() if v is not None}
    request["TableName"] = table
    filter_ = request.get("FilterExpression")
    if filter_ is not None:
        request["ExpressionAttributeValues"] = {":f": Decimal(1), ":g": Decimal(2)} if ":g" in filter_ else \
            {":s": "v"} if ":s" in filter_ else {":f": Decimal(1)}
    read_plans.clear(engine)
    answer = _outcome(scan.run, engine, request)
    assert answer == _outcome(scan.reference, engine, request)
    again = dict(request)
    if filter_ is not None:
        again["ExpressionAttributeValues"] = {":f": Decimal(f), ":g": Decimal(g)} if ":g" in filter_ else \
            {":s": s} if ":s" in filter_ else {":f": Decimal(f)}
    if continue_from_page and answer[0] == "ok" and "LastEvaluatedKey" in answer[1]:
        again["ExclusiveStartKey"] = answer[1]["LastEvaluatedKey"]
    assert _outcome(scan.run, engine, again) == _outcome(scan.reference, engine, again)


def test_a_plan_follows_a_table_created_again_with_another_key_schema():
    with kvstore.open(":memory:") as db:
        table = create_table(db, hash_key=("pk", "S"), range_key=("sk", "N"))
        table.put_item(Item={"pk": "a", "sk": Decimal(1)})
        request = {"KeyConditionExpression": "pk = :p AND sk > :s",
                   "ExpressionAttributeValues": {":p": "a", ":s": Decimal(0)}}
        assert table.query(**request)["Count"] == 1
        assert table.query(**request)["Count"] == 1            # the prepared plan
        table.delete()
        again = create_table(db, name=table.name, hash_key=("pk", "S"), range_key=("sk", "S"))
        with pytest.raises(DynamoDBError, match="Condition parameter type does not match schema type"):
            again.query(**request)
        again.put_item(Item={"pk": "a", "sk": "b"})
        request["ExpressionAttributeValues"][":s"] = "a"
        assert again.query(**request)["Items"] == [{"pk": "a", "sk": "b"}]


def test_a_plan_follows_a_deleted_index():
    with kvstore.open(":memory:") as db:
        table = create_table(db, hash_key=("pk", "S"), gsis=[index("by_g", ("g", "S"))])
        table.put_item(Item={"pk": "a", "g": "x"})
        request = {"IndexName": "by_g", "KeyConditionExpression": "g = :g", "ExpressionAttributeValues": {":g": "x"}}
        assert table.query(**request)["Count"] == 1
        assert table.query(**request)["Count"] == 1
        assert table.scan(IndexName="by_g")["Count"] == 1
        assert table.scan(IndexName="by_g")["Count"] == 1
        table.update(GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": "by_g"}}])
        with pytest.raises(DynamoDBError, match="The table does not have the specified index: by_g"):
            table.query(**request)
        with pytest.raises(DynamoDBError, match="The table does not have the specified index: by_g"):
            table.scan(IndexName="by_g")


def test_a_cached_shape_still_raises_for_a_value_of_the_wrong_type():
    with kvstore.open(":memory:") as db:
        table = create_table(db, hash_key=("pk", "S"), range_key=("sk", "N"))
        ok = {"KeyConditionExpression": "pk = :p AND sk BETWEEN :a AND :b",
              "ExpressionAttributeValues": {":p": "a", ":a": Decimal(1), ":b": Decimal(2)}}
        table.query(**ok)
        table.query(**ok)
        with pytest.raises(DynamoDBError, match="Condition parameter type does not match schema type"):
            table.query(**{**ok, "ExpressionAttributeValues": {":p": "a", ":a": "1", ":b": "2"}})
        with pytest.raises(DynamoDBError, match="BETWEEN"):
            table.query(**{**ok, "ExpressionAttributeValues": {":p": "a", ":a": Decimal(3), ":b": Decimal(2)}})
        with pytest.raises(DynamoDBError, match="cannot contain an empty string value. Key: pk"):
            table.query(**{**ok, "ExpressionAttributeValues": {":p": "", ":a": Decimal(1), ":b": Decimal(2)}})
        with pytest.raises(DynamoDBError, match="Limit"):
            table.query(**ok, Limit=0)
