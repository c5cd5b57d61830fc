"""The wire codec: DynamoDB JSON <-> native requests and responses, shape checks, error bodies."""

import json
import types
from decimal import Decimal

import pytest
from hypothesis import given, settings, strategies as st

from kvstore.errors import (
    ConditionalCheckFailedException, ResourceNotFoundException, SerializationException,
    TransactionCanceledException, ValidationException,
)
from kvstore.operations import OPERATIONS, Operation
from kvstore.server import wire
from kvstore.types import Binary, to_wire


def decode(op, body):
    return wire.decode_request(op, wire.loads(wire.dumps(body)))


# ------------------------------------------------------------------ JSON

def test_unparsable_json_is_a_bare_serialization_exception():
    with pytest.raises(SerializationException) as e:
        wire.loads(b'{"TableName": ')
    assert wire.error_body(e.value) == {"__type": "com.amazon.coral.service#SerializationException"}


@pytest.mark.parametrize("body", [b"[]", b"null", b"5", b'"x"'])
def test_a_body_that_is_not_an_object_is_a_serialization_exception(body):
    with pytest.raises(SerializationException):
        wire.loads(body)


def test_invalid_utf8_and_nan_are_serialization_exceptions():
    with pytest.raises(SerializationException):
        wire.loads(b'{"TableName": "\xff"}')
    with pytest.raises(SerializationException):
        wire.loads(b'{"Limit": NaN}')


def test_dumps_is_compact_json():
    out = wire.dumps({"a": "é", "b": [1]})
    assert out in (b'{"a":"\xc3\xa9","b":[1]}',        # orjson: UTF-8
                   b'{"a":"\\u00e9","b":[1]}')          # json: ASCII escapes
    assert json.loads(out) == {"a": "é", "b": [1]}


def test_dumps_turns_decimals_and_datetimes_outside_values_into_numbers():
    from datetime import datetime, timezone
    out = wire.dumps({"n": Decimal("2"), "f": Decimal("0.5"),
                      "t": datetime(2024, 1, 1, tzinfo=timezone.utc)})
    assert out == b'{"n":2,"f":0.5,"t":1704067200.0}'


# ------------------------------------------------------------------ top-level shapes

@pytest.mark.parametrize("member, value, message", [
    ("TableName", 5, "class java.lang.Short can not be converted to an String"),
    ("TableName", True, "class java.lang.Boolean can not be converted to an String"),
    ("TableName", [], "Start of list found where not expected"),
    ("TableName", {}, "Start of structure or map found where not expected."),
    ("ConsistentRead", "yes", "'YES' can not be converted to an Boolean"),
    ("Limit", "5", "class java.lang.String can not be converted to an Integer"),
    ("Key", "x", "Expected map or null"),
    ("AttributesToGet", "x", "Expected list or null"),
    ("ProvisionedThroughput", 1, "Expected null"),
])
def test_wrong_json_kind_of_a_top_level_member_is_a_serialization_exception(member, value, message):
    with pytest.raises(SerializationException) as e:
        decode("GetItem", {"TableName": "tbl", member: value})
    assert e.value.message == message
    assert wire.error_body(e.value)["Message"] == message      # capital M, as DynamoDB sends


def test_null_members_are_absent_and_unknown_members_pass_through():
    request = decode("GetItem", {"TableName": "tbl", "Key": None, "Whatever": 1, "ConsistentRead": None})
    assert request == {"TableName": "tbl", "Whatever": 1}


def test_float_integer_members_are_truncated_like_java():
    assert decode("Scan", {"TableName": "tbl", "Limit": 5.7})["Limit"] == 5


# ------------------------------------------------------------------ request attribute values

def test_put_item_values_become_native():
    request = decode("PutItem", {
        "TableName": "tbl",
        "Item": {"pk": {"S": "a"}, "n": {"N": "1.50"}, "b": {"B": "AAE="}, "ns": {"NS": ["1", "2e0"]},
                 "m": {"M": {"l": {"L": [{"NULL": True}, {"BOOL": False}]}}}},
        "ExpressionAttributeValues": {":v": {"N": "7"}},
        "Expected": {"x": {"Value": {"S": "y"}}, "z": {"ComparisonOperator": "IN",
                                                       "AttributeValueList": [{"N": "1"}, {"N": "2"}]}},
    })
    assert request["Item"] == {"pk": "a", "n": Decimal("1.5"), "b": Binary(b"\x00\x01"),
                               "ns": {Decimal(1), Decimal(2)}, "m": {"l": [None, False]}}
    assert request["ExpressionAttributeValues"] == {":v": Decimal(7)}
    assert request["Expected"] == {"x": {"Value": "y"},
                                   "z": {"ComparisonOperator": "IN", "AttributeValueList": [Decimal(1), Decimal(2)]}}


def test_update_item_attribute_updates_values():
    request = decode("UpdateItem", {"TableName": "tbl", "Key": {"pk": {"S": "a"}},
                                    "AttributeUpdates": {"n": {"Action": "ADD", "Value": {"N": "1"}},
                                                         "gone": {"Action": "DELETE"}}})
    assert request["AttributeUpdates"] == {"n": {"Action": "ADD", "Value": Decimal(1)}, "gone": {"Action": "DELETE"}}


def test_query_and_scan_legacy_conditions_and_start_key():
    q = decode("Query", {"TableName": "tbl", "KeyConditions": {"pk": {"ComparisonOperator": "EQ",
                                                                      "AttributeValueList": [{"S": "a"}]}},
                         "QueryFilter": {"x": {"ComparisonOperator": "NOT_NULL"}},
                         "ExclusiveStartKey": {"pk": {"S": "a"}, "sk": {"N": "2"}}})
    assert q["KeyConditions"]["pk"]["AttributeValueList"] == ["a"]
    assert q["QueryFilter"] == {"x": {"ComparisonOperator": "NOT_NULL"}}
    assert q["ExclusiveStartKey"] == {"pk": "a", "sk": Decimal(2)}
    s = decode("Scan", {"TableName": "tbl", "ScanFilter": {"x": {"ComparisonOperator": "EQ",
                                                                  "AttributeValueList": [{"BOOL": True}]}}})
    assert s["ScanFilter"]["x"]["AttributeValueList"] == [True]


def test_batch_requests():
    get = decode("BatchGetItem", {"RequestItems": {"tbl": {"Keys": [{"pk": {"S": "a"}}, {"pk": {"S": "b"}}],
                                                           "ConsistentRead": True}}})
    assert get["RequestItems"] == {"tbl": {"Keys": [{"pk": "a"}, {"pk": "b"}], "ConsistentRead": True}}
    write = decode("BatchWriteItem", {"RequestItems": {"tbl": [
        {"PutRequest": {"Item": {"pk": {"S": "a"}, "n": {"N": "1"}}}},
        {"DeleteRequest": {"Key": {"pk": {"S": "b"}}}},
    ]}})
    assert write["RequestItems"]["tbl"] == [{"PutRequest": {"Item": {"pk": "a", "n": Decimal(1)}}},
                                            {"DeleteRequest": {"Key": {"pk": "b"}}}]


def test_transact_requests():
    write = decode("TransactWriteItems", {"TransactItems": [
        {"Put": {"TableName": "tbl", "Item": {"pk": {"S": "a"}}, "ExpressionAttributeValues": {":v": {"S": "x"}}}},
        {"Update": {"TableName": "tbl", "Key": {"pk": {"S": "b"}}, "UpdateExpression": "SET a = :v",
                    "ExpressionAttributeValues": {":v": {"N": "1"}}}},
        {"Delete": {"TableName": "tbl", "Key": {"pk": {"S": "c"}}}},
        {"ConditionCheck": {"TableName": "tbl", "Key": {"pk": {"S": "d"}}, "ConditionExpression": "a = :v",
                            "ExpressionAttributeValues": {":v": {"BOOL": True}}}},
    ]})
    items = write["TransactItems"]
    assert items[0]["Put"]["Item"] == {"pk": "a"} and items[0]["Put"]["ExpressionAttributeValues"] == {":v": "x"}
    assert items[1]["Update"]["Key"] == {"pk": "b"} and items[1]["Update"]["ExpressionAttributeValues"] == {":v": 1}
    assert items[2]["Delete"]["Key"] == {"pk": "c"}
    assert items[3]["ConditionCheck"]["ExpressionAttributeValues"] == {":v": True}
    get = decode("TransactGetItems", {"TransactItems": [{"Get": {"TableName": "tbl", "Key": {"pk": {"S": "a"}}}}]})
    assert get["TransactItems"][0]["Get"]["Key"] == {"pk": "a"}


@pytest.fixture
def stand_in(monkeypatch):
    """Register a stand-in operation that declares the given attribute-value paths, to test the walker
    on shapes (PartiQL parameters, stream records) apart from the modules that will declare them."""
    monkeypatch.setattr(wire, "_REQUEST", {})
    monkeypatch.setattr(wire, "_RESPONSE", {})
    monkeypatch.setattr(wire, "_TOP_LEVEL", {})

    def register(action, request_values=(), response_values=()):
        module = types.SimpleNamespace(run=lambda engine, request: {}, REQUEST_VALUES=request_values,
                                       RESPONSE_VALUES=response_values)
        monkeypatch.setitem(OPERATIONS, action, Operation(action, module))
        return action
    return register


def test_values_in_lists_of_parameters(stand_in):
    """PartiQL's shapes: ExecuteStatement, BatchExecuteStatement and ExecuteTransaction parameters."""
    op = stand_in("StandInStatement", request_values=(
        "Parameters:values", "Statements.[].Parameters:values", "TransactStatements.[].Parameters:values"))
    assert decode(op, {"Statement": "SELECT * FROM tbl WHERE pk = ?",
                       "Parameters": [{"S": "a"}]})["Parameters"] == ["a"]
    batch = decode(op, {"Statements": [{"Statement": "x", "Parameters": [{"N": "1"}]}]})
    assert batch["Statements"][0]["Parameters"] == [Decimal(1)]
    tx = decode(op, {"TransactStatements": [{"Statement": "x", "Parameters": [{"BOOL": True}]}]})
    assert tx["TransactStatements"][0]["Parameters"] == [True]


def test_invalid_value_in_expression_attribute_values_names_its_key():
    with pytest.raises(ValidationException) as e:
        decode("PutItem", {"TableName": "tbl", "Item": {"pk": {"S": "a"}},
                           "ExpressionAttributeValues": {":ok": {"S": "x"}, ":bad": {"SS": []}}})
    assert e.value.message == ("ExpressionAttributeValues contains invalid value: One or more parameter values "
                               "were invalid: An string set  may not be empty for key :bad")


def test_invalid_start_key_gets_the_starting_key_prefix():
    with pytest.raises(ValidationException) as e:
        decode("Scan", {"TableName": "tbl", "ExclusiveStartKey": {"pk": {}}})
    assert e.value.message == ("The provided starting key is invalid: Supplied AttributeValue is empty, "
                               "must contain exactly one of the supported datatypes")


def test_number_errors_in_start_key_pass_through_unprefixed():
    with pytest.raises(ValidationException) as e:
        decode("Scan", {"TableName": "tbl", "ExclusiveStartKey": {"pk": {"N": "x"}}})
    assert e.value.message == "The parameter cannot be converted to a numeric value: x"


def test_an_attribute_name_with_a_lone_surrogate_is_invalid_at_every_level():
    # UTF-8 cannot carry it; nested names were rejected already, top-level ones reached the engine
    message = ("One or more parameter values were invalid: a string contains a lone surrogate and is not "
               "valid UTF-8")
    for item in ({"pk": {"S": "a"}, "\ud800": {"S": "x"}}, {"pk": {"S": "a"}, "m": {"M": {"\udfff": {"S": "x"}}}}):
        with pytest.raises(ValidationException) as e:
            decode("PutItem", {"TableName": "tbl", "Item": item})
        assert e.value.message == message


@pytest.mark.parametrize("av, error", [
    ({"S": 5}, SerializationException),
    ({"N": 5}, SerializationException),
    ({"B": "abc"}, SerializationException),
    ({}, ValidationException),
    ({"S": "a", "N": "1"}, ValidationException),
    ({"NULL": False}, ValidationException),
])
def test_malformed_item_values(av, error):
    with pytest.raises(error):
        decode("PutItem", {"TableName": "tbl", "Item": {"pk": av}})


@pytest.mark.parametrize("body", [
    {"TableName": "tbl", "Item": ["x"]},
    {"RequestItems": {"tbl": "x"}},
    {"RequestItems": ["x"]},
    {"TransactItems": [{"Put": "x"}]},
])
def test_wrong_container_kinds_along_value_paths_are_serialization_exceptions(body):
    op = "PutItem" if "Item" in body else "BatchWriteItem" if "RequestItems" in body else "TransactWriteItems"
    with pytest.raises(SerializationException):
        decode(op, body)


def test_operations_without_values_pass_through():
    body = {"TableName": "tbl", "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}]}
    assert decode("CreateTable", dict(body)) == body


# ------------------------------------------------------------------ responses

def test_response_values_become_dynamodb_json_without_touching_the_native_response():
    native = {"Items": [{"pk": "a", "n": Decimal("1.5")}], "Count": 1, "ScannedCount": 1,
              "LastEvaluatedKey": {"pk": "a"}, "ConsumedCapacity": {"TableName": "tbl", "CapacityUnits": 0.5}}
    out = wire.encode_response("Query", native)
    assert out == {"Items": [{"pk": {"S": "a"}, "n": {"N": "1.5"}}], "Count": 1, "ScannedCount": 1,
                   "LastEvaluatedKey": {"pk": {"S": "a"}},
                   "ConsumedCapacity": {"TableName": "tbl", "CapacityUnits": 0.5}}
    assert native["Items"][0]["n"] == Decimal("1.5")


def test_batch_and_transact_responses():
    out = wire.encode_response("BatchGetItem", {"Responses": {"tbl": [{"pk": "a"}]},
                                                "UnprocessedKeys": {"tbl": {"Keys": [{"pk": "b"}]}}})
    assert out == {"Responses": {"tbl": [{"pk": {"S": "a"}}]},
                   "UnprocessedKeys": {"tbl": {"Keys": [{"pk": {"S": "b"}}]}}}
    out = wire.encode_response("BatchWriteItem", {
        "UnprocessedItems": {"tbl": [{"PutRequest": {"Item": {"pk": "a"}}}, {"DeleteRequest": {"Key": {"pk": "b"}}}]},
        "ItemCollectionMetrics": {"tbl": [{"ItemCollectionKey": {"pk": "a"}, "SizeEstimateRangeGB": [0, 1]}]}})
    assert out["UnprocessedItems"]["tbl"] == [{"PutRequest": {"Item": {"pk": {"S": "a"}}}},
                                              {"DeleteRequest": {"Key": {"pk": {"S": "b"}}}}]
    assert out["ItemCollectionMetrics"]["tbl"][0]["ItemCollectionKey"] == {"pk": {"S": "a"}}
    out = wire.encode_response("TransactGetItems", {"Responses": [{"Item": {"pk": "a"}}, {}]})
    assert out == {"Responses": [{"Item": {"pk": {"S": "a"}}}, {}]}


def test_write_responses_and_item_collection_metrics():
    out = wire.encode_response("UpdateItem", {"Attributes": {"n": Decimal(2)},
                                              "ItemCollectionMetrics": {"ItemCollectionKey": {"pk": "a"},
                                                                        "SizeEstimateRangeGB": [0.0, 1.0]}})
    assert out == {"Attributes": {"n": {"N": "2"}},
                   "ItemCollectionMetrics": {"ItemCollectionKey": {"pk": {"S": "a"}}, "SizeEstimateRangeGB": [0.0, 1.0]}}


def test_stream_records(stand_in):
    """GetRecords' shape: images nested in a list of records."""
    op = stand_in("StandInRecords", response_values=tuple(
        f"Records.[].dynamodb.{m}:item" for m in ("Keys", "NewImage", "OldImage")))
    record = {"eventName": "MODIFY", "dynamodb": {"Keys": {"pk": "a"}, "NewImage": {"pk": "a", "n": Decimal(2)},
                                                  "OldImage": {"pk": "a"}, "SequenceNumber": "1",
                                                  "ApproximateCreationDateTime": 1700000000.0}}
    out = wire.encode_response(op, {"Records": [record], "NextShardIterator": "it"})
    d = out["Records"][0]["dynamodb"]
    assert d["Keys"] == {"pk": {"S": "a"}} and d["NewImage"]["n"] == {"N": "2"} and d["OldImage"] == {"pk": {"S": "a"}}
    assert wire.dumps(out).count(b"1700000000.0") == 1
    assert json.loads(wire.dump_response(op, {"Records": [record]})) == json.loads(wire.dumps(
        wire.encode_response(op, {"Records": [record]})))


def test_absent_response_members_stay_absent():
    assert wire.encode_response("GetItem", {}) == {}
    assert wire.encode_response("PutItem", None) == {}


# ------------------------------------------------------------------ error bodies

def test_error_body_uses_the_class_namespace_and_message_member():
    assert wire.error_body(ResourceNotFoundException("Requested resource not found")) == {
        "__type": "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException",
        "message": "Requested resource not found"}
    assert wire.error_body(ValidationException("bad"))["__type"] == "com.amazon.coral.validate#ValidationException"


def test_error_body_converts_the_item_of_a_failed_condition():
    e = ConditionalCheckFailedException("The conditional request failed", Item={"pk": "a", "n": Decimal(1)})
    assert wire.error_body(e) == {"__type": "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException",
                                  "message": "The conditional request failed",
                                  "Item": {"pk": {"S": "a"}, "n": {"N": "1"}}}


def test_error_body_converts_cancellation_reasons():
    e = TransactionCanceledException(
        "Transaction cancelled, please refer cancellation reasons for specific reasons [None, ConditionalCheckFailed]",
        CancellationReasons=[{"Code": "None"}, {"Code": "ConditionalCheckFailed",
                                                "Message": "The conditional request failed",
                                                "Item": {"pk": "b"}}])
    body = wire.error_body(e)
    assert body["Message"].startswith("Transaction cancelled")
    assert body["CancellationReasons"] == [{"Code": "None"}, {"Code": "ConditionalCheckFailed",
                                                              "Message": "The conditional request failed",
                                                              "Item": {"pk": {"S": "b"}}}]


# ------------------------------------------------------------------ round trip

_scalars = st.one_of(
    st.text(max_size=5),
    st.decimals(allow_nan=False, allow_infinity=False, places=3, min_value=-10**6, max_value=10**6),
    st.binary(max_size=5).map(Binary),
    st.booleans(),
    st.none(),
)
_values = st.recursive(_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=3), inner, max_size=3)), max_leaves=10)


@given(st.dictionaries(st.text(min_size=1, max_size=5), _values, min_size=1, max_size=5))
def test_an_item_survives_native_to_wire_to_native(item):
    from kvstore.types import number
    item = {k: _canonical(v, number) for k, v in item.items()}
    body = wire.dumps(wire.encode_response("GetItem", {"Item": item}))
    back = wire.decode_request("PutItem", wire.loads(body))
    assert back["Item"] == item


def _canonical(v, number):
    if isinstance(v, Decimal):
        return number(v)
    if isinstance(v, list):
        return [_canonical(x, number) for x in v]
    if isinstance(v, dict):
        return {k: _canonical(x, number) for k, x in v.items()}
    return v


def test_to_wire_is_what_encode_uses():
    assert wire.encode_response("GetItem", {"Item": {"s": {"a", "b"}}})["Item"]["s"]["SS"] in (["a", "b"], ["b", "a"])
    assert to_wire(Decimal("1E+2")) == {"N": "100"}


def _general_decode(op, body):
    """decode_request's general path (shape checks, nested checks, every value path), run alone."""
    from kvstore.server.shapes import check_nested
    wire.check_shape(body)
    check_nested(op, body)
    for steps, kind in wire._paths({}, op, False):
        if steps[0] in body:
            if len(steps) == 1:
                body[steps[0]] = wire._IN[kind](body[steps[0]], steps[0])
            else:
                wire._convert_in(body, steps, wire._IN[kind])
    return body


def _decoded(decode, op, text):
    try:
        return ("ok", decode(op, json.loads(text)))
    except Exception as e:      # the class and message must agree
        return (type(e).__name__, str(e))


_MEMBER_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 3), st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.text(max_size=3), st.just([]), st.just(["a"]), st.just({}),
    st.just({"pk": {"S": "a"}}), st.just({"pk": {"N": "1"}, "sk": {"S": ""}}), st.just({"pk": {"X": "1"}}),
    st.just({":v": {"S": "x"}}), st.just({"#n": "a"}), st.just({"T": {"Keys": [{"pk": {"S": "a"}}]}}),
)


@settings(deadline=None)
@given(op=st.sampled_from(["GetItem", "PutItem", "DeleteItem", "UpdateItem", "Query", "Scan", "BatchGetItem",
                           "TransactWriteItems", "DescribeTable", "CreateTable", "ExecuteStatement"]),
       members=st.dictionaries(st.sampled_from(
           ["TableName", "Key", "Item", "ConsistentRead", "Limit", "ExpressionAttributeValues",
            "ExpressionAttributeNames", "ProjectionExpression", "ReturnConsumedCapacity", "ExclusiveStartKey",
            "AttributesToGet", "RequestItems", "TransactItems", "Segment", "Unknown", "Parameters",
            "KeySchema", "Statement"]), _MEMBER_VALUES, max_size=5))
def test_the_plain_request_path_decodes_as_the_general_path(op, members):
    # decode_request skips the shape walks for a body of plain members (wire._plain): same result,
    # same error, as the checks and conversions run one after the other
    text = json.dumps(members)
    assert _decoded(wire.decode_request, op, text) == _decoded(_general_decode, op, text)
