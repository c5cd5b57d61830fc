"""The same scenario against kvstore's Python API and boto3's DynamoDB resource (on moto).

Proves the shapes match: method names, keyword arguments, return dicts, value
types (Decimal, Binary, sets) and error codes/messages.  boto3 and moto are
dev dependencies; without them this module is skipped with the reason.
"""

from decimal import Decimal

import pytest

import kvstore

boto3 = pytest.importorskip("boto3")
moto = pytest.importorskip("moto")


def scenario(db, Key, Attr):  # noqa: N803 (boto3's names)
    """Exercise the Table API; return everything observable, normalised for comparison."""
    out = []
    table = db.create_table(
        TableName="parity",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                              {"AttributeName": "sk", "AttributeType": "N"}],
        BillingMode="PAY_PER_REQUEST",
    )
    out.append(("status", table.table_status, table.key_schema))
    items = [
        {"pk": "a", "sk": 1, "s": "x", "n": Decimal("1.50"), "b": b"\x00\xff", "t": True, "z": None,
         "m": {"k": [1, "v", {"deep": False}]}, "ss": {"p", "q"}, "ns": {1, 2}, "bs": {b"1", b"2"}},
        {"pk": "a", "sk": 2, "s": "y"},
        {"pk": "a", "sk": 3, "s": "z", "n": 7},
        {"pk": "b", "sk": 1},
    ]
    for item in items:
        out.append(("put", table.put_item(Item=item)))
    out.append(("get", table.get_item(Key={"pk": "a", "sk": 1})))
    out.append(("get-missing", table.get_item(Key={"pk": "zz", "sk": 1})))
    out.append(("get-projected", table.get_item(Key={"pk": "a", "sk": 1}, ProjectionExpression="m.k[1], s")))
    out.append(("query", table.query(KeyConditionExpression=Key("pk").eq("a") & Key("sk").gte(2))))
    out.append(("query-desc-limit", table.query(KeyConditionExpression=Key("pk").eq("a"), ScanIndexForward=False,
                                                Limit=2)))
    out.append(("query-filter", table.query(KeyConditionExpression=Key("pk").eq("a"),
                                            FilterExpression=Attr("s").is_in(["x", "z"]))))
    out.append(("query-count", table.query(KeyConditionExpression=Key("pk").eq("a"), Select="COUNT")))
    out.append(("update", table.update_item(
        Key={"pk": "a", "sk": 2}, UpdateExpression="SET #c = if_not_exists(#c, :zero) + :one, l = :l",
        ExpressionAttributeNames={"#c": "count"},
        ExpressionAttributeValues={":zero": 0, ":one": 1, ":l": ["x"]}, ReturnValues="UPDATED_NEW")))
    out.append(("update-all-new", table.update_item(
        Key={"pk": "a", "sk": 2}, UpdateExpression="SET l = list_append(l, :more) REMOVE s",
        ExpressionAttributeValues={":more": ["y"]}, ReturnValues="ALL_NEW")))
    out.append(("delete-old", table.delete_item(Key={"pk": "b", "sk": 1}, ReturnValues="ALL_OLD")))
    try:
        table.put_item(Item={"pk": "a", "sk": 1}, ConditionExpression=Attr("pk").not_exists())
    except Exception as e:  # noqa: BLE001 - both libraries' errors carry .response
        out.append(("condition-failed", e.response["Error"]["Code"], e.response["Error"]["Message"]))
    try:
        table.get_item(Key={"pk": "a"})
    except Exception as e:  # noqa: BLE001 - moto's message here is not DynamoDB's; compare the code
        out.append(("bad-key", e.response["Error"]["Code"]))
    scanned = table.scan()
    out.append(("scan", sorted(scanned["Items"], key=lambda i: (i["pk"], i["sk"])), scanned["Count"]))
    with table.batch_writer() as batch:
        for i in range(30):
            batch.put_item(Item={"pk": "batch", "sk": i})
    out.append(("batch-count", table.query(KeyConditionExpression=Key("pk").eq("batch"), Select="COUNT")["Count"]))
    return normalise(out)


def normalise(value):
    """Binary wrappers of either library become bytes; response metadata is dropped.

    moto adds ConsumedCapacity to UpdateItem responses nobody asked for (real
    DynamoDB sends it only with ReturnConsumedCapacity), so it is dropped too.
    """
    if isinstance(value, dict):
        return {k: normalise(v) for k, v in value.items() if k not in ("ResponseMetadata", "ConsumedCapacity")}
    if isinstance(value, (list, tuple)):
        return [normalise(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return {normalise(v) for v in value}
    if type(value).__name__ == "Binary":
        return bytes(value.value)
    return value


def test_python_api_matches_boto3_resource(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    from boto3.dynamodb.conditions import Attr as BotoAttr, Key as BotoKey

    with moto.mock_aws():
        expected = scenario(boto3.resource("dynamodb", region_name="us-east-1"), BotoKey, BotoAttr)
    with kvstore.open(":memory:") as db:
        actual = scenario(db, kvstore.Key, kvstore.Attr)
    assert len(actual) == len(expected)
    for got, want in zip(actual, expected):
        assert got == want, f"{got[0]}: kvstore {got!r} != boto3 {want!r}"


def test_boto3_condition_objects_are_accepted():
    """boto3's own Key/Attr objects work with kvstore's Table unchanged."""
    from boto3.dynamodb.conditions import Attr as BotoAttr, Key as BotoKey

    with kvstore.open(":memory:") as db:
        table = db.create_table(
            TableName="tbl", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                                      {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                  {"AttributeName": "sk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST")
        table.put_item(Item={"pk": "p", "sk": "a1", "v": 1})
        table.put_item(Item={"pk": "p", "sk": "b1", "v": 2})
        page = table.query(KeyConditionExpression=BotoKey("pk").eq("p") & BotoKey("sk").begins_with("a"),
                           FilterExpression=BotoAttr("v").lt(5))
        assert page["Items"] == [{"pk": "p", "sk": "a1", "v": Decimal(1)}]
