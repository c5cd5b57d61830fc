"""The wire GetItem in one step (kvstore.server.get_item_path) answers what the general path answers.

The property sends GetItem bodies of every kind (the usual one, keys of
every type and of the wrong type, empty and oversized values, missing or
extra members, other JSON kinds, unparsable bytes, a table that does not
exist) through the handler twice, with the one-step path and with it
switched off, and compares status, content type and body byte for byte.
"""

import base64
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kvstore
from kvstore.clock import ManualClock
from kvstore.server import get_item_path
from kvstore.server.auth import AnyKey
from kvstore.server.handler import RequestHandler
from tests.wire.get_item_tables import create_get_item_tables, wire_attribute_values

HEADERS = {"content-type": "application/x-amz-json-1.0", "x-amz-target": "DynamoDB_20120810.GetItem"}


@pytest.fixture(scope="module")
def handlers():
    db = kvstore.open(":memory:")
    sn, binary = create_get_item_tables(db)
    for p in ("a", "b", "é"):
        for s in (1, 2, 10):
            sn.put_item(Item={"pk": p, "sk": s, "v": "x" * s, "m": {"l": [s, "t", b"\x01"], "ss": {"u", "w"}},
                              "n": None if s == 2 else True})
    binary.put_item(Item={"k": b"\x00\x01", "big": "y" * 5000})
    yield RequestHandler(db.engine), RequestHandler(db.engine, auth=AnyKey())
    db.close()


attribute_values = wire_attribute_values()
keys = st.one_of(
    st.fixed_dictionaries({"pk": attribute_values, "sk": attribute_values}),
    st.fixed_dictionaries({"k": attribute_values}),
    st.fixed_dictionaries({"pk": attribute_values}),
    st.fixed_dictionaries({"pk": attribute_values, "sk": attribute_values, "x": attribute_values}),
    st.just({"pk": {"S": "a"}, "sk": {"N": "1"}}), st.just({"pk": {"S": "é"}, "sk": {"N": "10"}}),
    st.just({"k": {"B": base64.b64encode(b"\x00\x01").decode()}}), st.just([]), st.none())
names = st.sampled_from(["snk", "snk", "bink", "nope", "s", "arn:aws:dynamodb:us-east-1:000000000000:table/snk", 7, None])
extras = st.sampled_from([{}, {}, {}, {"ConsistentRead": True}, {"ReturnConsumedCapacity": "TOTAL"},
                          {"ProjectionExpression": "v"}, {"Unknown": 1}, {"ConsistentRead": "yes"}])


def _answers(handler, body, monkeypatch):
    one_step = handler.answer("POST", "/", HEADERS, body)
    with monkeypatch.context() as m:
        m.setattr(get_item_path, "answer", lambda engine, body: None)
        general = handler.answer("POST", "/", HEADERS, body)
    return one_step, general


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(names, keys, extras, st.booleans(), st.booleans())
def test_the_one_step_get_item_answers_what_the_general_path_answers(handlers, monkeypatch, name, key, extra,
                                                                     signed, key_first):
    request = {"Key": key, "TableName": name} if key_first else {"TableName": name, "Key": key}
    request = {k: v for k, v in request.items() if v is not None}
    request.update(extra)
    body = json.dumps(request).encode()
    one_step, general = _answers(handlers[signed], body, monkeypatch)
    assert one_step == general


@pytest.mark.parametrize("body", [b"", b"{", b"[]", b'"x"', b'{"TableName": "snk", "Key": {"pk": {"S": "a"}, '
                                  b'"sk": {"N": "1"}}, "TableName": "snk"}', b'{"TableName": "snk", "Key": '
                                  b'{"pk": {"S": "a"}, "sk": {"N": "1"}}} trailing',
                                  b'{"TableName": "snk", "Key": {"pk": {"S": "a"}, "sk": {"N": 1e400}}}'])
def test_bodies_that_are_not_json_or_not_the_usual_shape(handlers, monkeypatch, body):
    one_step, general = _answers(handlers[0], body, monkeypatch)
    assert one_step == general


def test_the_usual_get_item_takes_one_step(handlers):
    """The usual request is answered by get_item_path (so the property above compares two paths)."""
    engine = handlers[0].engine
    found = get_item_path.answer(engine, b'{"TableName": "snk", "Key": {"pk": {"S": "a"}, "sk": {"N": "10"}}}')
    assert json.loads(found)["Item"]["sk"] == {"N": "10"}
    assert get_item_path.answer(engine, b'{"TableName": "snk", "Key": {"pk": {"S": "a"}, "sk": {"N": "4"}}}') == b"{}"
    assert get_item_path.answer(engine, b'{"TableName": "snk", "Key": {"pk": {"S": "a"}}}') is None


def _metrics_after(bodies, one_step, monkeypatch):
    with kvstore.open(":memory:", metrics=True) as db:
        db.create_table(TableName="tab", BillingMode="PAY_PER_REQUEST",
                        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
        db.Table("tab").put_item(Item={"pk": "small", "v": "x"})
        db.Table("tab").put_item(Item={"pk": "large", "v": "y" * 9000})
        handler = RequestHandler(db.engine)
        with monkeypatch.context() as m:
            if not one_step:
                m.setattr(get_item_path, "answer", lambda engine, body: None)
            answers = [handler.answer("POST", "/", HEADERS, body) for body in bodies]
        text = db.metrics().to_prometheus()
    # everything but the latencies, which differ from run to run
    return answers, [line for line in text.splitlines() if "latency" not in line and "seconds" not in line]


def test_metrics_record_a_one_step_get_item_as_the_general_path_does(monkeypatch):
    """``kvstore serve`` records metrics by default: the one step records what ``Recorder.observe`` does
    (requests, first read unit, items returned, the units past the first of a large item)."""
    bodies = [b'{"TableName": "tab", "Key": {"pk": {"S": "%s"}}}' % k for k in (b"small", b"large", b"none")] * 3
    bodies += [b'{"TableName": "tab", "Key": {"pk": {"S": ""}}}', b'{"TableName": "nope", "Key": {"pk": {"S": "a"}}}']
    assert get_item_path.answer(kvstore.open(":memory:").engine, bodies[0]) is None      # (no such table)
    one_step = _metrics_after(bodies, True, monkeypatch)
    general = _metrics_after(bodies, False, monkeypatch)
    assert one_step == general
    assert any(line.startswith('kvstore_consumed_read_capacity_units_total{table="tab"') for line in one_step[1])


def _capacity_after(steps, one_step, monkeypatch):
    """Answers and meter state after ``steps`` ((seconds to advance, body)) on a 2-RCU table with
    capacity enforced, through the one-step path or the general path alone."""
    clock = ManualClock(start=1_700_000_000.0)
    with kvstore.open(":memory:", capacity="enforce", clock=clock) as db:
        db.create_table(TableName="tab", BillingMode="PROVISIONED",
                        ProvisionedThroughput={"ReadCapacityUnits": 2, "WriteCapacityUnits": 50},
                        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
        db.Table("tab").put_item(Item={"pk": "small", "v": "x"})
        db.Table("tab").put_item(Item={"pk": "large", "v": "y" * 9000})
        handler = RequestHandler(db.engine)
        answers = []
        with monkeypatch.context() as m:
            if not one_step:
                m.setattr(get_item_path, "answer", lambda engine, body: None)
            for seconds, body in steps:
                clock.advance(seconds)
                answers.append(handler.answer("POST", "/", HEADERS, body))
        meter = db.engine.capacity
        state = meter._tables[db.engine.tables["tab"]]
        buckets = (state.read.balance, state.read.at, state.read_keys.second, dict(state.read_keys.used))
        return answers, meter.throttled, dict(meter.throttle_events), buckets


_METERED_BODIES = [b'{"TableName": "tab", "Key": {"pk": {"S": "%s"}}}' % k for k in (b"small", b"large", b"none")]


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.tuples(st.sampled_from([0.0, 0.0, 0.1, 0.4, 1.0]), st.sampled_from(_METERED_BODIES)),
                min_size=1, max_size=25))
def test_under_enforced_capacity_the_one_step_meters_as_the_general_path(monkeypatch, steps):
    """With capacity enforced the one step answers a GetItem the meter admits at once and charges it
    (``read_item_admitted``); one it does not admit goes to the general path, which throttles it (or
    admits it the long way).  Either way the answers, the throttle counts and the read bucket and
    per-key window end as the general path alone leaves them."""
    assert _capacity_after(steps, True, monkeypatch) == _capacity_after(steps, False, monkeypatch)


def test_under_enforced_capacity_the_usual_get_item_still_takes_one_step():
    """The one step answers an admitted GetItem, charged (0.5 RCU each: a new 1 RCU table's one second
    of capacity admits two), and hands a refused one to the general path without counting a throttle
    (the general path counts it)."""
    with kvstore.open(":memory:", capacity="enforce", clock=ManualClock(start=1_700_000_000.0)) as db:
        db.create_table(TableName="tab", BillingMode="PROVISIONED",
                        ProvisionedThroughput={"ReadCapacityUnits": 1, "WriteCapacityUnits": 5},
                        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
        db.Table("tab").put_item(Item={"pk": "small", "v": "x"})
        body = _METERED_BODIES[0]
        assert json.loads(get_item_path.answer(db.engine, body))["Item"]["v"] == {"S": "x"}    # 0.5 RCU
        assert json.loads(get_item_path.answer(db.engine, body))["Item"]["v"] == {"S": "x"}    # 0.5 RCU
        assert get_item_path.answer(db.engine, body) is None                                 # none left
        assert db.engine.capacity.throttled == 0
