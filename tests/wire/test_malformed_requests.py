"""Every malformed request gets DynamoDB's answer (issue 14, item 1), never a 500.

The generator (``tests/hardening/malformed.py``) builds requests for every
operation from botocore's service model and spoils members at any depth:
values of the wrong JSON kind, out-of-range and oversized scalars, deep
nesting.  Through the in-process handler (volume) and a real socket (a
sample), each must answer 400 with a ``__type`` body (or succeed, when the
spoiled value happened to be valid), and a rejected request changes nothing.
"""

import http.client
import json
import os
import sys

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import kvstore
from kvstore.operations import ACTIONS as _ALL, OPERATIONS, STREAMS
from kvstore.server import shapes
from kvstore.server.handler import RequestHandler

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "hardening"))
import malformed  # noqa: E402

ACTIONS = sorted(_ALL)
HEADERS = {"content-type": "application/x-amz-json-1.0"}


def _target(action):
    return f"{OPERATIONS[action].target_prefix}.{action}"


def _service(action):
    return "dynamodbstreams" if OPERATIONS[action].target_prefix == STREAMS else "dynamodb"


def _ensure_table(db):
    client = db.client()
    if malformed.TABLE not in client.list_tables()["TableNames"]:
        client.create_table(
            TableName=malformed.TABLE, BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                  {"AttributeName": "sk", "AttributeType": "N"}],
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
        client.put_item(TableName=malformed.TABLE, Item={"pk": "a", "sk": 1, "n": 5})


def _state(db):
    """What a rejected request must leave as it was: every table's description and items."""
    client = db.client()
    out = {}
    for name in client.list_tables()["TableNames"]:
        table = dict(client.describe_table(TableName=name)["Table"])
        out[name] = (table.get("TableStatus"), table.get("KeySchema"), table.get("BillingModeSummary"),
                     table.get("ProvisionedThroughput", {}).get("ReadCapacityUnits"),
                     table.get("GlobalSecondaryIndexes"), table.get("StreamSpecification"),
                     sorted(map(repr, client.scan(TableName=name)["Items"])))
    return out


@pytest.fixture(scope="module")
def handled():
    db = kvstore.open(":memory:")
    yield db, RequestHandler(db.engine)
    db.close()


def _check_answer(status, body, raw):
    assert status < 500, (status, body, raw[:500])
    if status != 200:
        assert status == 400, (status, body)
        assert "__type" in json.loads(body), body


# ------------------------------------------------------------------ the known cases

KNOWN = [
    ("CreateTable", {"TableName": "abc", "BillingMode": "PROVISIONED",
                     "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                     "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
                     "ProvisionedThroughput": {"ReadCapacityUnits": 1, "WriteCapacityUnits": [1]}},
     "SerializationException", "Start of list found where not expected"),
    ("UpdateTable", {"TableName": "ttt", "GlobalSecondaryIndexUpdates": [{"Delete": "x"}]},
     "SerializationException", "Expected null"),
    ("UpdateTable", {"TableName": "ttt", "GlobalSecondaryIndexUpdates": [{"Update": True}]},
     "SerializationException", None),
    ("UpdateItem", {"TableName": "ttt", "Key": {"pk": {"S": "a"}, "sk": {"N": "1"}},
                    "Expected": {"n": {"ComparisonOperator": {"x": 1}}}},
     "SerializationException", "Start of structure or map found where not expected."),
    ("CreateTable", {"TableName": "abc", "BillingMode": "PAY_PER_REQUEST",
                     "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                     "AttributeDefinitions": ["pk"]},
     "SerializationException", "Expected null"),
    ("CreateTable", {"TableName": "abc", "BillingMode": "PAY_PER_REQUEST",
                     "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                     "AttributeDefinitions": [None]},
     "ValidationException", "1 validation error detected: Value null at 'attributeDefinitions.1.member' "
                            "failed to satisfy constraint: Member must not be null"),
    ("CreateTable", {"TableName": "abc", "BillingMode": "PAY_PER_REQUEST",
                     "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                     "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"},
                                              {"AttributeName": "g", "AttributeType": "S"}],
                     "GlobalSecondaryIndexes": [{"IndexName": "gsi",
                                                 "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                                                 "Projection": {"ProjectionType": "INCLUDE",
                                                                "NonKeyAttributes": [5]}}]},
     "SerializationException", "class java.lang.Short can not be converted to an String"),
    ("GetShardIterator", {"StreamArn": "a" * 300, "ShardId": "shardId-00000001700000000000-00000000",
                          "ShardIteratorType": "AT_TIMESTAMP", "Timestamp": []},
     "SerializationException", "Start of list found where not expected"),
    ("GetShardIterator", {"StreamArn": "arn:aws:dynamodb:us-east-1:000000000000:table/t",
                          "ShardId": "shardId-00000001700000000000-00000000", "ShardIteratorType": "AT_TIMESTAMP",
                          "Timestamp": {"B": "AAAA"}},
     "SerializationException", "Start of structure or map found where not expected."),
    ("UpdateTable", {"TableName": "ttt", "AttributeDefinitions": [{"AttributeName": "g", "AttributeType": "S"}],
                     "GlobalTableWitnessUpdates": [{"a": {"a": [[{"a": 1}]]}}],
                     "GlobalSecondaryIndexUpdates": [{"Create": {"IndexName": "nope", "KeySchema": [],
                                                                 "Projection": {"ProjectionType": "ALL"}}}]},
     "ValidationException", "1 validation error detected: Value '[]' at "
                            "'globalSecondaryIndexUpdates.1.member.create.keySchema' failed to satisfy constraint: "
                            "Member must have length greater than or equal to 1"),
    ("UpdateTable", {"TableName": "ttt", "BillingMode": "PROVISIONED", "ProvisionedThroughput": {"S": "x"}},
     "ValidationException", "2 validation errors detected: Value null at 'provisionedThroughput.readCapacityUnits' "
                            "failed to satisfy constraint: Member must not be null; Value null at "
                            "'provisionedThroughput.writeCapacityUnits' failed to satisfy constraint: "
                            "Member must not be null"),
]


@pytest.mark.parametrize("action,body,code,message", KNOWN, ids=[f"{k[0]}-{i}" for i, k in enumerate(KNOWN)])
def test_a_value_of_the_wrong_json_kind_at_any_depth_is_dynamodbs_error(handled, action, body, code, message):
    db, handler = handled
    _ensure_table(db)
    before = _state(db)
    status, _, out = handler.answer("POST", "/", {**HEADERS, "x-amz-target": _target(action)},
                                    json.dumps(body).encode())
    error = json.loads(out)
    assert status == 400 and error["__type"].endswith("#" + code), error
    if message is not None:
        assert (error.get("message") or error.get("Message")) == message
    assert _state(db) == before


def test_the_request_shapes_are_botocores():
    from kvstore import _request_shapes
    path = _request_shapes.__file__
    with open(path) as f:
        assert f.read() == shapes.generate(), "run: python -m kvstore.server.shapes"


def test_every_top_level_member_of_the_model_has_its_json_kind_checked():
    """``wire.MEMBER_KINDS`` (the top-level check) names every member of every operation's input
    in botocore's model, with the model's kind (GetShardIterator's ``Timestamp`` was missing: an
    object there answered 500)."""
    from kvstore.server import wire
    from kvstore._request_shapes import OPERATIONS as inputs, SHAPES
    same = {"blob": "string", "long": "integer", "AV": "structure"}
    for operation, root in inputs.items():
        for member, name in SHAPES[root][1].items():
            shape = SHAPES[name]
            kind = shape if isinstance(shape, str) else shape[0]
            assert wire.MEMBER_KINDS.get(member) == same.get(kind, kind), (operation, member, kind)


def test_an_integer_member_given_as_a_float_is_truncated_at_any_depth():
    body = {"ProvisionedThroughput": {"ReadCapacityUnits": 5.9, "WriteCapacityUnits": 1.0}}
    shapes.check_nested("UpdateTable", body)
    assert body["ProvisionedThroughput"] == {"ReadCapacityUnits": 5, "WriteCapacityUnits": 1}
    assert all(type(v) is int for v in body["ProvisionedThroughput"].values())


# ------------------------------------------------------------------ generated

@settings(max_examples=int(os.environ.get("KVSTORE_MALFORMED_EXAMPLES", "300")), deadline=None,
          suppress_health_check=list(HealthCheck))
@given(rng=st.randoms(use_true_random=False), action=st.sampled_from(ACTIONS))
def test_generated_malformed_requests_get_a_400_and_change_nothing(handled, rng, action):
    db, handler = handled
    _ensure_table(db)
    body, _ = malformed.bad_request(rng, _service(action), action)
    raw = json.dumps(body).encode()
    before = _state(db)
    status, _, out = handler.answer("POST", "/", {**HEADERS, "x-amz-target": _target(action)}, raw)
    _check_answer(status, out, raw)
    if status != 200:
        assert _state(db) == before, (action, raw[:500])


def test_generated_malformed_requests_over_a_socket_keep_the_connection(server):
    import random
    rng = random.Random(14)
    conn = http.client.HTTPConnection(server.server.host, server.server.port, timeout=10)
    try:
        for i in range(120):
            action = rng.choice(ACTIONS)
            body, _ = malformed.bad_request(rng, _service(action), action)
            raw = json.dumps(body).encode()
            conn.request("POST", "/", raw, {"Content-Type": "application/x-amz-json-1.0",
                                            "X-Amz-Target": _target(action),
                                            "Authorization": "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/"
                                                             "us-east-1/dynamodb/aws4_request, SignedHeaders=host, "
                                                             "Signature=" + "0" * 64})
            response = conn.getresponse()        # a dropped connection raises here
            _check_answer(response.status, response.read(), raw)
    finally:
        conn.close()


def test_a_malformed_embedded_call_raises_what_boto3_raises():
    """The embedded API checks member types as boto3 does before sending: botocore's ParamValidationError
    (kvstore.params; more cases and the generator in tests/hardening/test_malformed_calls.py)."""
    from kvstore.errors import ParamValidationError
    db = kvstore.open(":memory:")
    try:
        with pytest.raises(ParamValidationError) as excinfo:
            db.client().create_table(
                TableName="abc", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                ProvisionedThroughput={"ReadCapacityUnits": 1, "WriteCapacityUnits": [1]})
        assert str(excinfo.value) == (
            "Parameter validation failed:\nInvalid type for parameter ProvisionedThroughput.WriteCapacityUnits, "
            "value: [1], type: <class 'list'>, valid types: <class 'int'>")
    finally:
        db.close()
