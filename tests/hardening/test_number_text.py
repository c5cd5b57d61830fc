"""Number texts past every limit (issue 14, item 2: found by the content-spoiling generator).

``{"N": "1e99999999999999999999"}``: an exponent past what Python's Decimal
(and Java's BigDecimal, whose exponent is 32-bit) can hold.  Decimal raised
InvalidOperation, an internal error; DynamoDB cannot read it as a number:
``The parameter cannot be converted to a numeric value: <text>`` wherever it
sits.  Only the wire reaches it (a Python caller cannot build such a Decimal).
"""

import json

import pytest

import kvstore
from kvstore.server.handler import RequestHandler

HUGE = "1e99999999999999999999"
MESSAGE = f"The parameter cannot be converted to a numeric value: {HUGE}"


@pytest.fixture
def handler():
    with kvstore.open(":memory:") as db:
        db.client().create_table(TableName="ttt", BillingMode="PAY_PER_REQUEST",
                                 KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                                 AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "N"}])
        yield RequestHandler(db.engine), db


def _answer(handler, action, body):
    status, _, out = handler.answer("POST", "/", {"content-type": "application/x-amz-json-1.0",
                                                   "x-amz-target": f"DynamoDB_20120810.{action}"},
                                    json.dumps(body).encode())
    return status, json.loads(out)


@pytest.mark.parametrize("action, body, message", [
    ("GetItem", {"Key": {"pk": {"N": HUGE}}}, MESSAGE),
    ("PutItem", {"Item": {"pk": {"N": "1"}, "v": {"N": "-" + HUGE.replace("e", "E-")}}},
     MESSAGE.replace(HUGE, "-" + HUGE.replace("e", "E-"))),
    ("PutItem", {"Item": {"pk": {"N": "1"}, "v": {"NS": ["1", HUGE]}}}, MESSAGE),
    ("PutItem", {"Item": {"pk": {"N": "1"}, "v": {"M": {"a": {"L": [{"N": HUGE}]}}}}}, MESSAGE),
    ("UpdateItem", {"Key": {"pk": {"N": "1"}}, "UpdateExpression": "SET v = :v",
                    "ExpressionAttributeValues": {":v": {"N": HUGE}}},
     f"ExpressionAttributeValues contains invalid value: {MESSAGE} for key :v"),
])
def test_number_with_an_exponent_past_decimal_range_cannot_be_converted(handler, action, body, message):
    handler, db = handler
    status, answer = _answer(handler, action, {"TableName": "ttt", **body})
    assert (status, answer["__type"].rpartition("#")[2], answer["message"]) == (400, "ValidationException", message)
    assert db.client().scan(TableName="ttt")["Items"] == []
