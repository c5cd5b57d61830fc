"""Rules of the behaviour reference (sections 2-6) whose exact answers no other test pinned.

The conformance review (docs/conformance-review.md) went through reference
sections 2-7 rule by rule; a rule already pinned elsewhere is listed there with
its test.  The rules below were right in the code but pinned by no test (or
only by the error code): each row is one rule, run on every face (embedded,
boto3 hook, wire) through the low-level client, with the exact error code and
message, or the exact response of a call that must succeed.  ``{t}`` in a
request or message is a fresh table (key ``pk`` S, sort key ``sk`` S, a GSI
``by_g`` on ``g`` KEYS_ONLY and an LSI ``by_l`` on ``l``), ``{h}`` a fresh
hash-only table (key ``pk`` S), ``{arn}`` that table's ARN.
"""

import botocore.exceptions
import pytest

import kvstore.errors

from .helpers import unique_name

ERRORS = (kvstore.errors.ClientError, botocore.exceptions.ClientError)
PPR = {"BillingMode": "PAY_PER_REQUEST"}
INVALID = "One or more parameter values were invalid: "


def _key(*pairs):
    return [{"AttributeName": n, "KeyType": t} for n, t in pairs]


def _defs(*pairs):
    return [{"AttributeName": n, "AttributeType": t} for n, t in pairs]


def _gsi(name, projection=None, key="pk"):
    return {"IndexName": name, "KeySchema": _key((key, "HASH")), "Projection": projection or {"ProjectionType": "ALL"}}


def _create(name, **extra):
    request = {"TableName": name, "KeySchema": _key(("a", "HASH")), "AttributeDefinitions": _defs(("a", "S")), **PPR}
    request.update(extra)
    return request


def _nested(levels):
    value = "x"
    for _ in range(levels):
        value = {"a": value}
    return value


# (rule, reference section, action, request, expected error code or None, message or response)
RULES = [
    ("nesting: a map holding 30 further maps is accepted", "2.1", "put_item",
     {"TableName": "{h}", "Item": {"pk": "deep", "v": _nested(31)}}, None, {}),
    ("nesting: 50 levels are refused (DynamoDB's text on its PartiQL parameter path)", "2.1", "put_item",
     {"TableName": "{h}", "Item": {"pk": "deep", "v": _nested(50)}}, "ValidationException",
     "Nesting Levels have exceeded supported limits: Attributes in the item have nested levels beyond supported limit"),
    ("BatchGetItem: more than 100 keys over several tables", "2.1", "batch_get_item",
     {"RequestItems": {"{h}": {"Keys": [{"pk": str(i)} for i in range(60)]},
                       "{t}": {"Keys": [{"pk": str(i), "sk": "s"} for i in range(41)]}}},
     "ValidationException", "Too many items requested for the BatchGetItem call"),
    ("projected NonKeyAttributes of all indexes: at most 100", "2.1", "create_table",
     _create("{new}", GlobalSecondaryIndexes=[_gsi("inc", {"ProjectionType": "INCLUDE",
                                                           "NonKeyAttributes": [f"n{i}" for i in range(101)]}, "a")]),
     "ValidationException", INVALID + "The number of projected attributes in all indexes exceeds the limit of 100"),
    ("one GSI created or deleted per UpdateTable", "2.1", "update_table",
     {"TableName": "{h}", "AttributeDefinitions": _defs(("x", "S")),
      "GlobalSecondaryIndexUpdates": [{"Create": _gsi(f"new{i}", key="x")} for i in range(2)]},
     "LimitExceededException",
     "Subscriber limit exceeded: Only 1 online index can be created or deleted simultaneously per table"),
    ("tags per resource: at most 50", "2.1", "tag_resource",
     {"ResourceArn": "{arn}", "Tags": [{"Key": f"k{i}", "Value": "v"} for i in range(51)]},
     "ValidationException", INVALID + "The number of tags exceeds the limit of 50"),
    ("tag key: at most 128 characters", "2.1", "tag_resource",
     {"ResourceArn": "{arn}", "Tags": [{"Key": "k" * 129, "Value": "v"}]},
     "ValidationException", INVALID + "Invalid tag key: '" + "k" * 129 + "'"),
    ("tag key: letters, digits, whitespace and + - = . _ : / @ only", "2.1", "tag_resource",
     {"ResourceArn": "{arn}", "Tags": [{"Key": "a*b", "Value": "v"}]},
     "ValidationException", INVALID + "Invalid tag key: 'a*b'"),
    ("tag value: 0 characters allowed", "2.1", "tag_resource",
     {"ResourceArn": "{arn}", "Tags": [{"Key": "k", "Value": ""}]}, None, {}),
    ("key attribute names: at most 255 characters", "2.1", "create_table",
     {"TableName": "{new}", "KeySchema": _key(("k" * 256, "HASH")), "AttributeDefinitions": _defs(("k" * 256, "S")),
      **PPR},
     "ValidationException", INVALID + "AttributeName must be 255 characters or less: " + "k" * 256),
    ("an attribute defined twice", "5.1", "create_table",
     _create("{new}", AttributeDefinitions=_defs(("a", "S"), ("a", "S"))),
     "ValidationException", INVALID + "Duplicate AttributeName in AttributeDefinitions: a"),
    ("INCLUDE needs NonKeyAttributes", "5.1", "create_table",
     _create("{new}", GlobalSecondaryIndexes=[_gsi("inc", {"ProjectionType": "INCLUDE"}, "a")]),
     "ValidationException", INVALID + "ProjectionType is INCLUDE, but NonKeyAttributes is not specified"),
    ("INCLUDE without duplicate NonKeyAttributes", "5.1", "create_table",
     _create("{new}", GlobalSecondaryIndexes=[_gsi("inc", {"ProjectionType": "INCLUDE",
                                                           "NonKeyAttributes": ["x", "x"]}, "a")]),
     "ValidationException", INVALID + "Duplicate attribute names in NonKeyAttributes for index: inc"),
    ("invalid Tags: ValidationException and no table", "5.1", "create_table",
     _create("{new}", Tags=[{"Key": "", "Value": "v"}]),
     "ValidationException", INVALID + "Invalid tag key: ''"),
    ("a GSI identical to the table key and a twin GSI are allowed", "5.1", "create_table",
     _create("{new}", GlobalSecondaryIndexes=[_gsi("one", key="a"), _gsi("two", key="a")]), None, None),
    ("StreamEnabled false alone is fine", "5.1", "create_table",
     _create("{new}", StreamSpecification={"StreamEnabled": False}), None, None),
    ("UpdateTable: Create of an existing GSI name", "5.4", "update_table",
     {"TableName": "{t}", "AttributeDefinitions": _defs(("g", "S")),
      "GlobalSecondaryIndexUpdates": [{"Create": _gsi("by_g", key="g")}]},
     "ValidationException", INVALID + "Index by_g already exists"),
    ("UpdateTable: Create of a GSI named as an LSI", "5.4", "update_table",
     {"TableName": "{t}", "AttributeDefinitions": _defs(("g", "S")),
      "GlobalSecondaryIndexUpdates": [{"Create": _gsi("by_l", key="g")}]},
     "ValidationException", INVALID + "Index by_l already exists"),
    ("UpdateTable: Delete of an unknown GSI", "5.4", "update_table",
     {"TableName": "{t}", "GlobalSecondaryIndexUpdates": [{"Delete": {"IndexName": "nope"}}]},
     "ResourceNotFoundException", "Requested resource not found: Index: nope not found"),
    ("UpdateTable: Delete of an LSI", "5.4", "update_table",
     {"TableName": "{t}", "GlobalSecondaryIndexUpdates": [{"Delete": {"IndexName": "by_l"}}]},
     "ValidationException", INVALID + "Cannot delete a local secondary index: by_l"),
    ("tagging: an index ARN", "5.6", "tag_resource",
     {"ResourceArn": "{arn}/index/by_g", "Tags": [{"Key": "k", "Value": "v"}]},
     "ValidationException", "Invalid TableArn: Invalid ResourceArn provided as input {arn}/index/by_g"),
    ("tagging: a missing table of the caller's account", "5.6", "list_tags_of_resource",
     {"ResourceArn": "{arn}zz"},
     "ResourceNotFoundException", "Requested resource not found: ResourcArn: {arn}zz not found"),
    ("Query: ALL_PROJECTED_ATTRIBUTES on a base table", "6.6", "query",
     {"TableName": "{t}", "Select": "ALL_PROJECTED_ATTRIBUTES", "KeyConditionExpression": "pk = :p",
      "ExpressionAttributeValues": {":p": "a"}},
     "ValidationException", "ALL_PROJECTED_ATTRIBUTES can be used only when Querying using an IndexName"),
    ("Query: SPECIFIC_ATTRIBUTES without a projection", "6.6", "query",
     {"TableName": "{t}", "Select": "SPECIFIC_ATTRIBUTES", "KeyConditionExpression": "pk = :p",
      "ExpressionAttributeValues": {":p": "a"}},
     "ValidationException",
     "1 validation error detected: SPECIFIC_ATTRIBUTES requires either ProjectionExpression or AttributesToGet"),
    ("Query: a projection with ALL_ATTRIBUTES", "6.6", "query",
     {"TableName": "{t}", "Select": "ALL_ATTRIBUTES", "ProjectionExpression": "a", "KeyConditionExpression": "pk = :p",
      "ExpressionAttributeValues": {":p": "a"}},
     "ValidationException", "Cannot specify the ProjectionExpression when choosing to get ALL_ATTRIBUTES"),
    ("Scan: a projection with COUNT", "6.7", "scan",
     {"TableName": "{t}", "Select": "COUNT", "ProjectionExpression": "a"},
     "ValidationException", "Cannot specify the ProjectionExpression when choosing to get COUNT"),
    ("Query: ALL_ATTRIBUTES on an LSI is allowed", "6.6", "query",
     {"TableName": "{t}", "IndexName": "by_l", "Select": "ALL_ATTRIBUTES", "KeyConditionExpression": "pk = :p",
      "ExpressionAttributeValues": {":p": "a"}}, None, {"Items": [], "Count": 0, "ScannedCount": 0}),
    ("BatchWriteItem: an element with no request", "6.10", "batch_write_item", {"RequestItems": {"{h}": [{}]}},
     "ValidationException",
     "Invalid BatchWriteItem request: each WriteRequest must contain exactly one of PutRequest or DeleteRequest"),
    ("BatchWriteItem: an element with both requests", "6.10", "batch_write_item",
     {"RequestItems": {"{h}": [{"PutRequest": {"Item": {"pk": "a"}}, "DeleteRequest": {"Key": {"pk": "b"}}}]}},
     "ValidationException",
     "Invalid BatchWriteItem request: each WriteRequest must contain exactly one of PutRequest or DeleteRequest"),
    ("BatchWriteItem: UnprocessedItems is always present", "6.10", "batch_write_item",
     {"RequestItems": {"{h}": [{"PutRequest": {"Item": {"pk": "a"}}}]}}, None, {"UnprocessedItems": {}}),
    ("BatchGetItem: a table with nothing found answers [] and UnprocessedKeys {}", "6.9", "batch_get_item",
     {"RequestItems": {"{h}": {"Keys": [{"pk": "nope"}]}}}, None,
     {"Responses": {"{h}": []}, "UnprocessedKeys": {}}),
    ("GetItem: a projection matching nothing of an existing item is Item {}", "6.3", "get_item",
     {"TableName": "{h}", "Key": {"pk": "present"}, "ProjectionExpression": "zz"}, None, {"Item": {}}),
    ("UpdateItem without UpdateExpression creates the key-only item", "6.4", "update_item",
     {"TableName": "{h}", "Key": {"pk": "new"}, "ReturnValues": "ALL_NEW"}, None, {"Attributes": {"pk": "new"}}),
    ("UpdateItem that only removes does not create a missing item", "6.4", "update_item",
     {"TableName": "{h}", "Key": {"pk": "ghost"}, "UpdateExpression": "REMOVE a", "ReturnValues": "ALL_NEW"},
     None, {}),
    ("DeleteItem of a missing item succeeds, nothing returned", "6.5", "delete_item",
     {"TableName": "{h}", "Key": {"pk": "nope"}, "ReturnValues": "ALL_OLD"}, None, {}),
    ("Query: Limit counts items read before the filter", "6.8", "query",
     {"TableName": "{t}", "Limit": 1, "KeyConditionExpression": "pk = :p", "FilterExpression": "attribute_exists(zz)",
      "ExpressionAttributeValues": {":p": "present"}},
     None, {"Items": [], "Count": 0, "ScannedCount": 1, "LastEvaluatedKey": {"pk": "present", "sk": "1"}}),
    ("TransactWriteItems: the same token with other parameters", "6.11", "transact_write_items",
     {"ClientRequestToken": "token-1", "TransactItems": [{"Put": {"TableName": "{h}", "Item": {"pk": "other"}}}]},
     "IdempotentParameterMismatchException", "Transaction token already used with different parameters"),
]


def _fill(value, names):
    if isinstance(value, str):
        for k, v in names.items():
            value = value.replace("{" + k + "}", v)
        return value
    if isinstance(value, dict):
        return {_fill(k, names): _fill(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, names) for v in value]
    return value


@pytest.mark.parametrize("rule, section, action, request_, code, expected", RULES,
                         ids=[f"{r[1]} {r[0]}" for r in RULES])
def test_reference_rule(client, rule, section, action, request_, code, expected):
    names = {"t": unique_name(), "h": unique_name(), "new": unique_name()}
    client.create_table(TableName=names["t"], KeySchema=_key(("pk", "HASH"), ("sk", "RANGE")),
                        AttributeDefinitions=_defs(("pk", "S"), ("sk", "S"), ("g", "S"), ("l", "S")),
                        GlobalSecondaryIndexes=[{"IndexName": "by_g", "KeySchema": _key(("g", "HASH")),
                                                 "Projection": {"ProjectionType": "KEYS_ONLY"}}],
                        LocalSecondaryIndexes=[{"IndexName": "by_l", "KeySchema": _key(("pk", "HASH"), ("l", "RANGE")),
                                                "Projection": {"ProjectionType": "ALL"}}], **PPR)
    names["arn"] = client.create_table(TableName=names["h"], KeySchema=_key(("pk", "HASH")),
                                       AttributeDefinitions=_defs(("pk", "S")), **PPR)["TableDescription"]["TableArn"]
    client.put_item(TableName=names["h"], Item={"pk": "present", "a": 1})
    for sk in ("1", "2"):
        client.put_item(TableName=names["t"], Item={"pk": "present", "sk": sk})
    client.transact_write_items(ClientRequestToken="token-1",
                                TransactItems=[{"Put": {"TableName": names["h"], "Item": {"pk": "first"}}}])
    request = _fill(request_, names)
    if code is None:
        response = getattr(client, action)(**request)
        response.pop("ResponseMetadata", None)
        if expected is None:                    # a create that must succeed
            assert response["TableDescription"]["TableName"] == names["new"]
        else:
            assert response == _fill(expected, names), rule
        return
    with pytest.raises(ERRORS) as e:
        getattr(client, action)(**request)
    error = e.value.response["Error"]
    assert (error["Code"], error["Message"]) == (code, _fill(expected, names)), rule
    if action == "create_table":                 # a refused CreateTable leaves no table
        assert names["new"] not in client.list_tables()["TableNames"]
