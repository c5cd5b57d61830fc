"""The Python API's reads with the conversion folded in agree with the general path.

``Table.query`` / ``Table.scan`` of a shape seen before run the prepared plan
on the call's Python values (``read_plans.run_embedded``), and
``Table.get_item(Key=...)`` validates and encodes a key of strings in one
core call (``get_item.run_key``); both skip ``Database.native_request`` and
boto3's parameter check.  The properties send calls of a shape that left a
plan with other Python values (ints, floats, bytes, non-ASCII and empty
strings, sets, a Limit of the wrong type, start keys of the wrong type) and
compare the answer, or the error's class and message, with the general path
(``Table._call``: conversion, parameter check, ``execute``) on the same call.
"""

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kvstore
from kvstore.operations import read_plans

from .helpers import create_table, index

relaxed = settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))


def _outcome(fn):
    try:
        return "ok", fn()
    except Exception as e:      # noqa: BLE001 - DynamoDB's errors, boto3's ParamValidationError, TypeError
        return type(e).__name__, str(e)


@pytest.fixture(scope="module")
def loaded():
    db = kvstore.open(":memory:")
    table = create_table(db, hash_key=("pk", "S"), range_key=("sk", "S"),
                         gsis=[index("by_g", ("g", "S"), ("sk", "S"))])
    with table.batch_writer() as writer:
        for p in range(3):
            for s in range(30):
                writer.put_item(Item={"pk": f"p{p}", "sk": f"s{s:02d}", "g": f"g{s % 3}", "n": Decimal(s % 7),
                                      "x": "v" * (s % 5), "b": b"\x00" * (s % 3)})
    yield db, table
    db.close()


#: Python values a caller may pass: mostly the key's strings, then anything boto3 would take or refuse
python_values = st.one_of(
    st.sampled_from(["p0", "p1", "p2", "p9", "g1", "s", "s05", "s29"]),
    st.sampled_from(["", "é", "s\u00e9", "\ud800", "x" * 2000]),
    st.integers(-3, 40), st.decimals(allow_nan=False, allow_infinity=False, places=2),
    st.floats(allow_nan=False, allow_infinity=False, width=32), st.binary(max_size=3),
    st.just(True), st.none(), st.just({"a": 1}), st.just({"s"}), st.just([1, "a"]), st.just({1: 2}))
limits = st.one_of(st.none(), st.integers(-1, 40), st.sampled_from(["3", 2.0, True]))


def _query(index_name, op, hash_value, a, b, limit, filter_, projection, forward):
    hash_name = "pk" if index_name is None else "g"
    text = f"{hash_name} = :h"
    values = {":h": hash_value}
    if op == "BETWEEN":
        text += " AND sk BETWEEN :a AND :b"
        values[":a"], values[":b"] = a, b
    elif op == "begins_with":
        text += " AND begins_with(sk, :a)"
        values[":a"] = a
    elif op is not None:
        text += f" AND sk {op} :a"
        values[":a"] = a
    kwargs = {"KeyConditionExpression": text, "ExpressionAttributeValues": values}
    if filter_:
        kwargs["FilterExpression"] = "n > :f"
        values[":f"] = b
    for member, value in (("IndexName", index_name), ("Limit", limit), ("ProjectionExpression", projection),
                          ("ScanIndexForward", forward)):
        if value is not None:
            kwargs[member] = value
    return kwargs


queries = st.builds(_query, st.sampled_from([None, None, "by_g"]),
                    st.sampled_from(["=", "<", ">=", "BETWEEN", "begins_with", None]),
                    python_values, python_values, python_values, limits, st.booleans(),
                    st.sampled_from([None, "pk, sk, n"]), st.sampled_from([None, False]))


def _primer(kwargs):
    """``kwargs`` with values of the usual classes that pass, so the call leaves a plan of its shape."""
    out = dict(kwargs)
    values = {}
    for k, v in kwargs["ExpressionAttributeValues"].items():
        values[k] = v if v.__class__ is str and v.isascii() and 0 < len(v) < 100 else "s05"
    values[":h"] = "g1" if "IndexName" in kwargs else "p1"
    out["ExpressionAttributeValues"] = values
    if "Limit" in out:
        out["Limit"] = 4
    return out


def _same_shape(a, b):
    return {k: v.__class__ for k, v in a["ExpressionAttributeValues"].items()} == \
        {k: v.__class__ for k, v in b["ExpressionAttributeValues"].items()}


@relaxed
@given(queries, st.booleans(), st.one_of(st.none(), python_values))
def test_a_folded_query_agrees_with_the_general_path(loaded, kwargs, continue_from_page, start_value):
    db, table = loaded
    primer = _primer(kwargs)
    read_plans.clear(db.engine)
    first = _outcome(lambda: table.query(**primer))
    assert first == _outcome(lambda: table._call("Query", primer))
    if continue_from_page and first[0] == "ok" and "LastEvaluatedKey" in first[1]:
        kwargs["ExclusiveStartKey"] = first[1]["LastEvaluatedKey"]
        if start_value is not None:
            kwargs["ExclusiveStartKey"] = {**kwargs["ExclusiveStartKey"], "sk": start_value}
    elif continue_from_page:
        kwargs["ExclusiveStartKey"] = start_value
    read_plans.clear(db.engine)
    table.query(**primer) if first[0] == "ok" else None          # the plan of the primer's shape
    folded = _outcome(lambda: table.query(**kwargs))
    assert folded == _outcome(lambda: table._call("Query", kwargs))


scans = st.fixed_dictionaries({}, optional={
    "IndexName": st.just("by_g"), "Limit": limits, "FilterExpression": st.just("n > :f"),
    "ProjectionExpression": st.just("pk, sk"), "ConsistentRead": st.booleans()})


@relaxed
@given(scans, python_values, st.booleans(), st.one_of(st.none(), python_values))
def test_a_folded_scan_agrees_with_the_general_path(loaded, kwargs, f, continue_from_page, start_value):
    db, table = loaded
    primer = dict(kwargs)
    if "FilterExpression" in kwargs:
        primer["ExpressionAttributeValues"] = {":f": Decimal(2)}
        kwargs["ExpressionAttributeValues"] = {":f": f}
    if "Limit" in primer:
        primer["Limit"] = 7
    read_plans.clear(db.engine)
    first = _outcome(lambda: table.scan(**primer))
    assert first == _outcome(lambda: table._call("Scan", primer))
    if continue_from_page and first[0] == "ok" and "LastEvaluatedKey" in first[1]:
        kwargs["ExclusiveStartKey"] = dict(first[1]["LastEvaluatedKey"])
        if start_value is not None:
            kwargs["ExclusiveStartKey"]["pk"] = start_value
    folded = _outcome(lambda: table.scan(**kwargs))
    assert folded == _outcome(lambda: table._call("Scan", kwargs))


@relaxed
@given(st.one_of(st.fixed_dictionaries({"pk": python_values, "sk": python_values}),
                 st.fixed_dictionaries({"pk": python_values}),
                 st.fixed_dictionaries({"pk": python_values, "sk": python_values, "x": python_values}),
                 st.just({"pk": "p1", "sk": "s03"}), st.just({"pk": "p1", "sk": "s99"}),
                 python_values))
def test_a_folded_get_item_agrees_with_the_general_path(loaded, key):
    _, table = loaded
    folded = _outcome(lambda: table.get_item(Key=key))
    assert folded == _outcome(lambda: table._call("GetItem", {"Key": key}))


def test_the_fold_is_taken_for_a_shape_seen_before(loaded, monkeypatch):
    """The second call of a shape does not convert its request (``native_request``) nor check it again."""
    db, table = loaded
    read_plans.clear(db.engine)
    kwargs = {"KeyConditionExpression": "pk = :p AND sk >= :s", "Limit": 3,
              "ExpressionAttributeValues": {":p": "p1", ":s": "s10"}}
    first = table.query(**kwargs)
    scanned = table.scan(Limit=5)

    def refuse(*args):
        raise AssertionError("the general path was taken")
    monkeypatch.setattr(db, "native_request", refuse)
    monkeypatch.setattr(db, "_call", refuse)
    assert table.query(**kwargs) == first
    assert [i["sk"] for i in first["Items"]] == ["s10", "s11", "s12"]
    assert first["LastEvaluatedKey"] == {"pk": "p1", "sk": "s12"}
    assert table.scan(Limit=5) == scanned
    assert table.get_item(Key={"pk": "p1", "sk": "s03"})["Item"]["n"] == Decimal(3)
    assert table.get_item(Key={"pk": "p1", "sk": "s99"}) == {"ResponseMetadata": {"HTTPStatusCode": 200,
                                                                                  "RetryAttempts": 0}}


def test_metrics_and_capacity_still_see_every_call():
    """A database recording metrics or enforcing capacity takes the general path, which they wrap."""
    with kvstore.open(":memory:", metrics=True, capacity="enforce") as db:
        table = create_table(db, hash_key=("pk", "S"))
        table.put_item(Item={"pk": "a"})
        for _ in range(3):
            assert table.get_item(Key={"pk": "a"})["Item"] == {"pk": "a"}
            assert table.query(KeyConditionExpression="pk = :p",
                               ExpressionAttributeValues={":p": "a"})["Count"] == 1
        text = db.metrics().to_prometheus()
    assert f'kvstore_requests_total{{operation="GetItem",table="{table.name}"}} 3' in text
    assert f'kvstore_requests_total{{operation="Query",table="{table.name}"}} 3' in text


def test_a_plain_page_is_answered_in_one_core_call(loaded, monkeypatch):
    """A Query of whole items on S keys (the bench's ``pk = :p AND sk >= :s``, Limit 10; a GSI's), and a
    Scan continuing from a start key, of a shape seen before: ``read_plans.embedded_read`` answers,
    without the Python plan (``run_embedded``) or the general path."""
    db, table = loaded
    read_plans.clear(db.engine)
    calls = [("query", {"KeyConditionExpression": "pk = :p AND sk >= :s",
                        "ExpressionAttributeValues": {":p": "p1", ":s": "s10"}, "Limit": 10}),
             ("query", {"IndexName": "by_g", "KeyConditionExpression": "g = :g AND begins_with(sk, :s)",
                        "ExpressionAttributeValues": {":g": "g2", ":s": "s1"}, "ScanIndexForward": False}),
             ("scan", {"Limit": 4, "ExclusiveStartKey": {"pk": "p1", "sk": "s27"}})]
    answers = [getattr(table, action)(**kwargs) for action, kwargs in calls]
    general = [table._call(action.capitalize(), kwargs) for action, kwargs in calls]

    def refuse(*args):
        raise AssertionError("the Python path was taken")
    monkeypatch.setattr(read_plans, "run_embedded", refuse)
    monkeypatch.setattr(db, "native_request", refuse)
    assert [getattr(table, action)(**kwargs) for action, kwargs in calls] == answers == general
    assert [i["sk"] for i in answers[0]["Items"]] == [f"s{s}" for s in range(10, 20)]
    assert answers[0]["LastEvaluatedKey"] == {"pk": "p1", "sk": "s19"}
    assert [(i["pk"], i["sk"]) for i in answers[1]["Items"]] == [
        (p, s) for s in ("s17", "s14", "s11") for p in ("p2", "p1", "p0")]
    assert "LastEvaluatedKey" not in answers[1]
    assert answers[2]["Count"] == 4 and answers[2]["Items"][:2] == [
        table.get_item(Key={"pk": "p1", "sk": s})["Item"] for s in ("s28", "s29")]


def test_the_one_call_page_follows_a_table_created_again():
    """A plan's table deleted and created again under its name: the next call reads the new table."""
    with kvstore.open(":memory:") as db:
        table = create_table(db, hash_key=("pk", "S"), range_key=("sk", "S"))
        table.put_item(Item={"pk": "a", "sk": "1", "old": True})
        kwargs = {"KeyConditionExpression": "pk = :p AND sk > :s", "ExpressionAttributeValues": {":p": "a", ":s": "0"}}
        assert table.query(**kwargs)["Items"] == table.query(**kwargs)["Items"] == [{"pk": "a", "sk": "1", "old": True}]
        assert table.scan(Limit=1)["Count"] == table.scan(Limit=1)["Count"] == 1
        table.delete()
        again = create_table(db, name=table.name, hash_key=("pk", "S"), range_key=("sk", "S"))
        again.put_item(Item={"pk": "a", "sk": "2"})
        assert again.query(**kwargs)["Items"] == again.query(**kwargs)["Items"] == [{"pk": "a", "sk": "2"}]
        assert again.scan(Limit=1)["Items"] == [{"pk": "a", "sk": "2"}]


def test_the_one_call_page_meters_as_the_python_plan_under_enforced_capacity():
    """Under enforced capacity a plain page answered in one core call is admitted and charged as the
    Python plan charges it: the same answers and throttles, call by call, on a manual clock, for a
    Query (the partition's units too) and a Scan, eventually and strongly consistent."""
    from kvstore.clock import ManualClock
    from kvstore.errors import DynamoDBError
    from kvstore.operations import read_plans

    def outcomes(one_call):
        clock = ManualClock(1_000_000.0)
        seen = []
        with kvstore.open(":memory:", capacity="enforce", clock=clock) as db:
            table = create_table(db, hash_key=("pk", "S"), range_key=("sk", "S"), BillingMode="PROVISIONED",
                                 ProvisionedThroughput={"ReadCapacityUnits": 1, "WriteCapacityUnits": 1000})
            for s in range(40):
                table.put_item(Item={"pk": "a", "sk": f"s{s:02d}", "x": "v" * 1000})
            query = {"KeyConditionExpression": "pk = :p AND sk >= :s", "ExpressionAttributeValues": {":p": "a", ":s": "s05"},
                     "Limit": 12}
            for n in range(250):             # ~3 units a call against 1 a second (and the burst, at first)
                clock.advance(0.1)
                call = (table.query, dict(query, ConsistentRead=bool(n % 2))) if n % 3 else (table.scan, {"Limit": 25})
                if not one_call:
                    read_plans.clear(db.engine)      # every call takes the reference path, which meters it
                try:
                    seen.append(call[0](**call[1])["Count"])
                except DynamoDBError as e:
                    seen.append((e.response["Error"]["Code"], e.operation_name))
        return seen

    planned = outcomes(True)
    assert planned == outcomes(False)
    assert ("ProvisionedThroughputExceededException", "Query") in planned
    assert ("ProvisionedThroughputExceededException", "Scan") in planned
    assert 12 in planned and 25 in planned
