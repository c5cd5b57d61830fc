"""The wire PutItem in one step (kvstore.server.put_item_path) writes and answers what the general path does.

The property sends PutItem bodies of every kind (the usual one, items with
keys of every type and of the wrong type, empty and oversized values, empty
names, missing or extra members, other JSON kinds, unparsable bytes, a table
that does not exist) through the handler of two databases made alike, one
with the one-step path and one with it switched off, and compares the
answers byte for byte and then everything the writes leave behind: the
tables' items, a GSI's and an LSI's entries, the stream's records and the
metrics' figures.  A body the one step declines must have written nothing.
"""

import base64
import json

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import kvstore
from kvstore.server import put_item_path
from kvstore.server.handler import RequestHandler
from tests.wire.get_item_tables import create_get_item_tables, wire_attribute_values

HEADERS = {"content-type": "application/x-amz-json-1.0", "x-amz-target": "DynamoDB_20120810.PutItem"}


def _database(metrics):
    db = kvstore.open(":memory:", metrics=metrics)
    sn, _ = create_get_item_tables(db)
    db.create_table(TableName="idx", BillingMode="PAY_PER_REQUEST",
                    KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
                    AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                          {"AttributeName": "sk", "AttributeType": "N"},
                                          {"AttributeName": "g", "AttributeType": "S"}],
                    GlobalSecondaryIndexes=[{"IndexName": "by_g", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                                             "Projection": {"ProjectionType": "ALL"}}],
                    LocalSecondaryIndexes=[{"IndexName": "by_pk_g", "KeySchema": [
                        {"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "g", "KeyType": "RANGE"}],
                        "Projection": {"ProjectionType": "KEYS_ONLY"}}],
                    StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
    sn.put_item(Item={"pk": "a", "sk": 1, "v": "old"})
    db.Table("idx").put_item(Item={"pk": "a", "sk": 1, "g": "old"})
    return db


def _state(db):
    """What the writes left: items, index entries, stream records, metrics (latencies aside)."""
    out = {}
    for name in ("snk", "bink", "idx"):
        out[name] = sorted(map(repr, db.Table(name).scan()["Items"]))
    out["by_g"] = sorted(map(repr, db.Table("idx").scan(IndexName="by_g")["Items"]))
    out["by_pk_g"] = sorted(map(repr, db.Table("idx").scan(IndexName="by_pk_g")["Items"]))
    from kvstore.streams_client import StreamsClient
    client = StreamsClient(db)
    arn = db.Table("idx").latest_stream_arn
    shards = client.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
    records = []
    for shard in shards:
        it = client.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"],
                                       ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        for record in client.get_records(ShardIterator=it)["Records"]:
            records.append((record["eventName"], repr(record["dynamodb"].get("Keys")),
                            repr(record["dynamodb"].get("NewImage")), repr(record["dynamodb"].get("OldImage"))))
    out["stream"] = records
    if db.engine.metrics is not None:
        ops, units = db.engine.metrics.totals()
        out["ops"] = {k: (v["requests"], v["returned"], v["errors"]) for k, v in ops.items()}
        out["units"] = units
    return out


attribute_values = wire_attribute_values([{"SS": ["a", "a"]}, {"M": {"x": {"N": "1"}}}])
items = st.one_of(
    st.fixed_dictionaries({"pk": attribute_values, "sk": attribute_values}),
    st.fixed_dictionaries({"pk": attribute_values, "sk": attribute_values, "v": attribute_values}),
    st.fixed_dictionaries({"pk": attribute_values, "sk": attribute_values, "g": attribute_values}),
    st.fixed_dictionaries({"k": attribute_values, "v": attribute_values}),
    st.fixed_dictionaries({"pk": attribute_values}),
    st.just({"pk": {"S": "a"}, "sk": {"N": "1"}, "v": {"S": "new"}}),
    st.just({"pk": {"S": "a"}, "sk": {"N": "1"}, "g": {"S": "moved"}}),
    st.just({"pk": {"S": "a"}, "sk": {"N": "1"}, "": {"S": "empty name"}}),
    st.just({"pk": {"S": "a"}, "sk": {"N": "2"}, "big": {"S": "y" * 5000}}),
    st.just({"pk": {"S": "a"}, "sk": {"N": "3"}, "huge": {"S": "y" * 410_000}}),
    st.just({"k": {"B": base64.b64encode(b"\x00\x01").decode()}}), st.just({}), st.just([]), st.none())
names = st.sampled_from(["snk", "snk", "idx", "idx", "bink", "nope", "s",
                         "arn:aws:dynamodb:us-east-1:000000000000:table/snk", 7, None])
extras = st.sampled_from([{}, {}, {}, {}, {"ReturnValues": "NONE"}, {"ReturnValues": "ALL_OLD"},
                          {"ReturnConsumedCapacity": "TOTAL"}, {"ReturnItemCollectionMetrics": "SIZE"},
                          {"ConditionExpression": "attribute_not_exists(pk)"}, {"Unknown": 1},
                          {"ReturnValues": "ALL_NEW"}, {"Expected": {}}])


def _answers(bodies, metrics, monkeypatch):
    """Each body's answer and the state after them, with the one step and with the general path alone."""
    one_db, general_db = _database(metrics), _database(metrics)
    try:
        one = RequestHandler(one_db.engine)
        one_step = [one.answer("POST", "/", HEADERS, body) for body in bodies]
        with monkeypatch.context() as m:
            m.setattr(put_item_path, "answer", lambda engine, body: None)
            general = RequestHandler(general_db.engine)
            general_answers = [general.answer("POST", "/", HEADERS, body) for body in bodies]
        return (one_step, _state(one_db)), (general_answers, _state(general_db))
    finally:
        one_db.close()
        general_db.close()


@st.composite
def bodies(draw):
    request = {"TableName": draw(names), "Item": draw(items)}
    if draw(st.booleans()):
        request = dict(reversed(request.items()))
    request = {k: v for k, v in request.items() if v is not None}
    request.update(draw(extras))
    return json.dumps(request, ensure_ascii=draw(st.booleans())).encode("utf-8", "surrogatepass")


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(bodies(), min_size=1, max_size=4), st.booleans())
@example([b'{"TableName": "idx", "Item": {"pk": {"S": "a"}, "sk": {"N": "1"}, "g": {"S": "moved"}}}'], False)
@example([b'{"TableName": "snk", "Item": {"pk": {"S": "a"}, "sk": {"N": "2"}, "big": {"S": "%s"}}}' % (b"y" * 5000)],
         True)
def test_the_one_step_put_item_writes_and_answers_what_the_general_path_does(monkeypatch, bodies, metrics):
    one_step, general = _answers(bodies, metrics, monkeypatch)
    assert one_step == general


@pytest.mark.parametrize("body", [
    b"", b"{", b"[]", b'"x"',
    b'{"TableName": "snk", "Item": {"pk": {"S": "a"}, "sk": {"N": "1"}}, "TableName": "snk"}',
    b'{"TableName": "snk", "Item": {"pk": {"S": "a"}, "sk": {"N": "1"}}} trailing',
    b'{"TableName": "snk", "Item": {"pk": {"S": "a"}, "sk": {"N": 1e400}}}',
    b'{"TableName": "snk", "Item": {"pk": {"S": "\\ud800"}, "sk": {"N": "1"}}}',
    b'{"TableName": "snk", "Item": {"pk": {"S": "a"}, "sk": {"N": "1"}, "pk": {"S": "b"}}}',
])
@pytest.mark.parametrize("metrics", [False, True])
def test_bodies_that_are_not_json_or_not_the_usual_shape(monkeypatch, body, metrics):
    one_step, general = _answers([body], metrics, monkeypatch)
    assert one_step == general


_USUAL = b'{"TableName": "snk", "Item": {"pk": {"S": "n"}, "sk": {"N": "5"}, "v": {"S": "x"}}}'


@pytest.mark.parametrize("metrics", [False, True])
def test_the_usual_put_item_takes_one_step(metrics):
    """The usual request is written by put_item_path (so the property above compares two paths)."""
    db = _database(metrics)
    before = db.engine.metrics.totals() if metrics else None     # the set-up's own PutItem
    assert put_item_path.answer(db.engine, _USUAL) == b"{}"
    assert db.Table("snk").get_item(Key={"pk": "n", "sk": 5})["Item"] == {"pk": "n", "sk": 5, "v": "x"}
    if metrics:
        ops, units = db.engine.metrics.totals()
        assert ops[("PutItem", "snk")]["requests"] == before[0][("PutItem", "snk")]["requests"] + 1
        assert units[("snk", "")][1] == before[1][("snk", "")][1] + 1.0      # one write unit
    db.close()


@pytest.mark.parametrize("body", [
    _USUAL.replace(b"}}}", b'}}, "ReturnValues": "NONE"}'),
    _USUAL.replace(b"}}}", b'}}, "ReturnConsumedCapacity": "NONE"}'),
    _USUAL.replace(b"}}}", b'}}, "ConditionExpression": "attribute_exists(pk)"}'),
    _USUAL.replace(b'"N": "5"', b'"S": "5"'),
    _USUAL.replace(b'"snk"', b'"nope"'),
    _USUAL.replace(b'"v"', b'""'),
    _USUAL.replace(b'"x"', b'"\\ud800"'),
    _USUAL.replace(b'{"S": "n"}', b'{"S": ""}'),
    _USUAL.replace(b'{"S": "x"}', b'{"SS": []}'),
    _USUAL.replace(b'"N": "5"', b'"N": "5x"'),
])
def test_near_misses_are_declined_with_nothing_written(body):
    db = _database(False)
    assert put_item_path.answer(db.engine, body) is None
    assert db.Table("snk").get_item(Key={"pk": "n", "sk": 5}).get("Item") is None
    db.close()


@pytest.mark.parametrize("options", [{"faults": "never"}, {"capacity": "enforce"}, {"contention": True}])
def test_a_database_whose_writes_are_watched_is_left_to_the_general_path(options):
    """Injected faults, enforced capacity and contention mode act in the general path only."""
    if options.get("faults") == "never":
        from kvstore.faults import FaultRule
        options = {"faults": [FaultRule(operations=["GetItem"], probability=0.0)]}
    db = kvstore.open(":memory:", **options)
    create_get_item_tables(db)
    assert put_item_path.answer(db.engine, _USUAL) is None
    assert db.Table("snk").get_item(Key={"pk": "n", "sk": 5}).get("Item") is None
    db.close()


def test_with_metrics_a_table_with_indexes_is_left_to_the_general_path():
    db = _database(True)
    body = b'{"TableName": "idx", "Item": {"pk": {"S": "n"}, "sk": {"N": "5"}, "g": {"S": "x"}}}'
    assert put_item_path.answer(db.engine, body) is None
    db.close()
    db = _database(False)
    assert put_item_path.answer(db.engine, body) == b"{}"
    assert db.Table("idx").query(IndexName="by_g", KeyConditionExpression="g = :g",
                                 ExpressionAttributeValues={":g": "x"})["Items"][0]["pk"] == "n"
    db.close()
