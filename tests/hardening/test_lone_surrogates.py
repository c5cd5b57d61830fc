"""Strings that are not Unicode text, on every face (issue 14, item 1).

A JSON string may spell a lone surrogate as an escape (``"a\\udcff"``); UTF-8
cannot carry one, and a Python ``str`` can.  DynamoDB documents strings as
UTF-8 and says nothing of this case, so kvstore keeps one rule
(docs/compatibility.md, "Lone surrogates"): any string of a request holding a
lone surrogate (table and index names, attribute names, key and attribute
values, expressions, placeholders, tags, PartiQL statements) is a
ValidationException, after the JSON kinds were checked (SerializationException
first, as DynamoDB reads a body before validating it) and before the operation
runs, so nothing stored changes.  A body whose bytes are not UTF-8 is not JSON:
a bare SerializationException.  A valid surrogate pair is an ordinary character.
"""

import json

import pytest

import kvstore
from kvstore.server.handler import RequestHandler
from kvstore.types import LONE_SURROGATE, holds_lone_surrogate

KEYS = dict(KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")


def _client(dynamodb):
    return dynamodb.meta.client


def _table(dynamodb):
    client = _client(dynamodb)
    client.create_table(TableName="ttt", **KEYS)
    client.put_item(TableName="ttt", Item={"pk": "a", "n": 1})
    return client


def _state(client):
    tables = client.list_tables()["TableNames"]
    return (tables, {t: client.scan(TableName=t)["Items"] for t in tables},
            {t: client.describe_table(TableName=t)["Table"].get("GlobalSecondaryIndexes") for t in tables},
            client.list_tags_of_resource(ResourceArn=_arn(client)).get("Tags"))


def _arn(client):
    return client.describe_table(TableName="ttt")["Table"]["TableArn"]


def _rejected(client, client_errors, method, **kwargs):
    before = _state(client)
    with pytest.raises(client_errors) as excinfo:
        getattr(client, method)(**kwargs)
    error = excinfo.value.response["Error"]
    assert (error["Code"], error["Message"]) == ("ValidationException", LONE_SURROGATE)
    assert _state(client) == before


# ------------------------------------------------------------------ every face, one request per edge

def test_lone_surrogate_in_table_name(dynamodb, client_errors):
    _rejected(_table(dynamodb), client_errors, "create_table", TableName="ab\udcff", **KEYS)


def test_lone_surrogate_in_attribute_definitions_name(dynamodb, client_errors):
    """The 500 the fuzzer found: CreateTable's AttributeName reached a UTF-8 encode."""
    client = _table(dynamodb)
    _rejected(client, client_errors, "create_table", TableName="tt2", BillingMode="PAY_PER_REQUEST",
              KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
              AttributeDefinitions=[{"AttributeName": "a\udcff", "AttributeType": "N"},
                                    {"AttributeName": "pk", "AttributeType": "S"}])


def test_lone_surrogate_in_key_value(dynamodb, client_errors):
    client = _table(dynamodb)
    _rejected(client, client_errors, "put_item", TableName="ttt", Item={"pk": "a\ud800"})
    _rejected(client, client_errors, "get_item", TableName="ttt", Key={"pk": "\udfff"})


def test_lone_surrogate_in_attribute_value(dynamodb, client_errors):
    client = _table(dynamodb)
    _rejected(client, client_errors, "put_item", TableName="ttt",
              Item={"pk": "a", "m": {"x": [{"ok", "\udcff"}]}})


def test_lone_surrogate_in_attribute_name(dynamodb, client_errors):
    client = _table(dynamodb)
    _rejected(client, client_errors, "put_item", TableName="ttt", Item={"pk": "b", "x\udcff": "v"})
    _rejected(client, client_errors, "put_item", TableName="ttt",
              Item={"pk": "b", "m": {"\udcff": "v"}})


def test_lone_surrogate_in_expression(dynamodb, client_errors):
    client = _table(dynamodb)
    _rejected(client, client_errors, "update_item", TableName="ttt", Key={"pk": "a"},
              UpdateExpression="SET n\udcff = :v", ExpressionAttributeValues={":v": 2})
    _rejected(client, client_errors, "put_item", TableName="ttt", Item={"pk": "a", "n": 9},
              ConditionExpression="attribute_exists(\ud800)")
    _rejected(client, client_errors, "query", TableName="ttt", KeyConditionExpression="pk = :v\udcff",
              ExpressionAttributeValues={":v": "a"})


def test_lone_surrogate_in_placeholders(dynamodb, client_errors):
    client = _table(dynamodb)
    _rejected(client, client_errors, "update_item", TableName="ttt", Key={"pk": "a"},
              UpdateExpression="SET #n = :v", ExpressionAttributeNames={"#n": "n\udcff"},
              ExpressionAttributeValues={":v": 2})
    with pytest.raises(client_errors) as excinfo:        # a value: DynamoDB names the placeholder
        client.update_item(TableName="ttt", Key={"pk": "a"}, UpdateExpression="SET n = :v",
                           ExpressionAttributeValues={":v": "\udcff"})
    assert excinfo.value.response["Error"]["Message"] == (
        f"ExpressionAttributeValues contains invalid value: {LONE_SURROGATE} for key :v")
    assert client.get_item(TableName="ttt", Key={"pk": "a"})["Item"] == {"pk": "a", "n": 1}


def test_lone_surrogate_in_transaction_member(dynamodb, client_errors):
    client = _table(dynamodb)
    _rejected(client, client_errors, "transact_write_items", TransactItems=[
        {"Put": {"TableName": "ttt", "Item": {"pk": "c"}}},
        {"Update": {"TableName": "ttt", "Key": {"pk": "a"}, "UpdateExpression": "SET n = :v",
                    "ExpressionAttributeValues": {":v": 3}, "ConditionExpression": "n = \udcff"}}])


def test_lone_surrogate_in_index_name(dynamodb, client_errors):
    client = _table(dynamodb)
    _rejected(client, client_errors, "update_table", TableName="ttt",
              AttributeDefinitions=[{"AttributeName": "g", "AttributeType": "S"}],
              GlobalSecondaryIndexUpdates=[{"Create": {"IndexName": "gsi\udcff",
                                                       "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                                                       "Projection": {"ProjectionType": "ALL"}}}])


def test_lone_surrogate_in_tag(dynamodb, client_errors):
    client = _table(dynamodb)
    _rejected(client, client_errors, "tag_resource", ResourceArn=_arn(client), Tags=[{"Key": "k", "Value": "v\udcff"}])


def test_lone_surrogate_in_partiql_statement(dynamodb, client_errors):
    client = _table(dynamodb)
    _rejected(client, client_errors, "execute_statement", Statement="INSERT INTO ttt VALUE {'pk': 'z\udcff'}")


def test_valid_surrogate_pair_is_an_ordinary_character(dynamodb):
    client = _table(dynamodb)
    client.put_item(TableName="ttt", Item={"pk": "\U0001F600", "\U0001F600": "x\U0001F600"})
    item = client.get_item(TableName="ttt", Key={"pk": "\U0001F600"})["Item"]
    assert item == {"pk": "\U0001F600", "\U0001F600": "x\U0001F600"}


def test_surrogate_pair_as_two_code_points(dynamodb, face, client_errors):
    """boto3 sends a Python str as JSON escapes, so the pair ``"\\ud83d\\ude00"`` arrives as one character;
    the embedded API takes the str as it is: two lone surrogates (docs/compatibility.md)."""
    client = _table(dynamodb)
    if face == "embedded":
        _rejected(client, client_errors, "put_item", TableName="ttt", Item={"pk": "\ud83d\ude00"})
    else:
        client.put_item(TableName="ttt", Item={"pk": "\ud83d\ude00"})
        assert client.get_item(TableName="ttt", Key={"pk": "\U0001F600"})["Item"] == {"pk": "\U0001F600"}


# ------------------------------------------------------------------ the wire, as bytes

@pytest.fixture
def handler():
    with kvstore.open(":memory:") as db:
        db.client().create_table(TableName="ttt", **{k: v for k, v in KEYS.items()})
        yield RequestHandler(db.engine), db


def _answer(handler, action, body):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    status, _, out = handler.answer("POST", "/", {"content-type": "application/x-amz-json-1.0",
                                                   "x-amz-target": f"DynamoDB_20120810.{action}"}, raw)
    return status, json.loads(out) if out else None


def test_lone_surrogate_escape_over_the_wire(handler):
    handler, db = handler
    for body in (b'{"TableName":"ttt","Item":{"pk":{"S":"a\\udcff"}}}',
                 b'{"TableName":"ttt\\uDCFF","Item":{"pk":{"S":"a"}}}',
                 b'{"TableName":"ttt","Item":{"pk":{"S":"a"}},"ConditionExpression":"attribute_exists(\\ud800)"}'):
        status, answer = _answer(handler, "PutItem", body)
        assert status == 400 and answer == {"__type": "com.amazon.coral.validate#ValidationException",
                                            "message": LONE_SURROGATE}, body
    assert db.client().scan(TableName="ttt")["Items"] == []


def test_lone_surrogate_with_a_wrong_json_kind_is_a_serialization_error_first(handler):
    handler, _ = handler
    status, answer = _answer(handler, "PutItem", b'{"TableName":"ttt\\udcff","Item":{"pk":{"S":"a"}},"Limit":"x"}')
    assert status == 400 and answer["__type"].endswith("#SerializationException")


@pytest.mark.parametrize("body", [
    b'{"TableName":"ttt","Item":{"pk":{"S":"\xff"}}}',                # not UTF-8 at all
    b'{"TableName":"ttt","Item":{"pk":{"S":"\xed\xa0\x80"}}}',        # a surrogate encoded as UTF-8
    b'{"TableName":"ttt","Item":{"pk":{"S":"\xc3"}}}',                # a truncated sequence
    b'{"TableName":"ttt","Item":{"pk":{"S":"\xc0\xaf"}}}',            # an overlong encoding
])
def test_body_that_is_not_utf8_is_a_bare_serialization_exception(handler, body):
    handler, db = handler
    status, answer = _answer(handler, "PutItem", body)
    assert (status, answer) == (400, {"__type": "com.amazon.coral.service#SerializationException"})
    assert db.client().scan(TableName="ttt")["Items"] == []


def test_valid_surrogate_pair_escape_over_the_wire(handler):
    handler, db = handler
    status, _ = _answer(handler, "PutItem", b'{"TableName":"ttt","Item":{"pk":{"S":"\\ud83d\\ude00"}}}')
    assert status == 200
    assert db.client().scan(TableName="ttt")["Items"] == [{"pk": "\U0001F600"}]


def test_holds_lone_surrogate_walks_every_string():
    assert not holds_lone_surrogate({"a": ["x", {"y": ("\U0001F600",)}], "b": 1})
    assert holds_lone_surrogate({"a": [{"k\udcff": 1}]})
    assert holds_lone_surrogate({"a": {frozenset({"\ud800"})}} if False else [{"\ud800"}])
    deep = "\udcff"
    for _ in range(5000):           # no recursion: a deeply nested request cannot exhaust the stack
        deep = [deep]
    assert holds_lone_surrogate(deep)


def test_lone_surrogate_in_a_prepared_read_shape(dynamodb, client_errors):
    """Table.get_item / query / scan of a shape seen before take prepared paths: the same answer there."""
    _table(dynamodb)
    table = dynamodb.Table("ttt")
    calls = (lambda v: table.get_item(Key={"pk": v}),
             lambda v: table.query(KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": v}),
             lambda v: table.scan(FilterExpression="n = :q", ExpressionAttributeValues={":q": v}))
    for i, call in enumerate(calls):
        call("a")
        call("a")                       # the shape is prepared now
        with pytest.raises(client_errors) as excinfo:
            call("a\udcff")
        message = excinfo.value.response["Error"]["Message"]
        assert message == (LONE_SURROGATE if i == 0 else
                           f"ExpressionAttributeValues contains invalid value: {LONE_SURROGATE} for key "
                           f"{':p' if i == 1 else ':q'}")
