"""Real clients against the server: boto3 (client and resource), PynamoDB, the AWS CLI.

Each client is pointed at the server with ``endpoint_url`` and nothing else
changes, which is the whole promise of the wire face.
"""

import json
import os
import shutil
import subprocess
import sys
from decimal import Decimal

import pytest
from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError

# ------------------------------------------------------------------ boto3 client


def test_client_item_lifecycle(client, table_name, make_table):
    make_table(client, table_name)
    client.put_item(TableName=table_name, Item={"pk": {"S": "a"}, "sk": {"N": "1"}, "n": {"N": "1.50"},
                                                "b": {"B": b"\x00\xff"}, "ss": {"SS": ["x", "y"]}})
    item = client.get_item(TableName=table_name, Key={"pk": {"S": "a"}, "sk": {"N": "1.0"}})["Item"]
    assert item["n"] == {"N": "1.5"} and item["b"] == {"B": b"\x00\xff"} and sorted(item["ss"]["SS"]) == ["x", "y"]
    updated = client.update_item(TableName=table_name, Key={"pk": {"S": "a"}, "sk": {"N": "1"}},
                                 UpdateExpression="SET n = n + :d", ExpressionAttributeValues={":d": {"N": "1"}},
                                 ReturnValues="UPDATED_NEW")
    assert updated["Attributes"] == {"n": {"N": "2.5"}}
    old = client.delete_item(TableName=table_name, Key={"pk": {"S": "a"}, "sk": {"N": "1"}}, ReturnValues="ALL_OLD")
    assert old["Attributes"]["n"] == {"N": "2.5"}
    assert "Item" not in client.get_item(TableName=table_name, Key={"pk": {"S": "a"}, "sk": {"N": "1"}})


def test_client_query_paginates_with_last_evaluated_key(client, table_name, make_table):
    make_table(client, table_name)
    for i in range(7):
        client.put_item(TableName=table_name, Item={"pk": {"S": "p"}, "sk": {"N": str(i)}})
    paginator = client.get_paginator("query")
    pages = list(paginator.paginate(TableName=table_name, KeyConditionExpression="pk = :p",
                                    ExpressionAttributeValues={":p": {"S": "p"}}, Limit=3))
    assert [len(p["Items"]) for p in pages] == [3, 3, 1]
    assert [i["sk"]["N"] for p in pages for i in p["Items"]] == [str(i) for i in range(7)]


def test_client_conditional_failure_returns_the_old_item(client, table_name, make_table):
    make_table(client, table_name)
    client.put_item(TableName=table_name, Item={"pk": {"S": "a"}, "sk": {"N": "1"}, "v": {"S": "old"}})
    with pytest.raises(client.exceptions.ConditionalCheckFailedException) as e:
        client.put_item(TableName=table_name, Item={"pk": {"S": "a"}, "sk": {"N": "1"}},
                        ConditionExpression="attribute_not_exists(pk)", ReturnValuesOnConditionCheckFailure="ALL_OLD")
    assert e.value.response["Error"]["Message"] == "The conditional request failed"
    assert e.value.response["Item"] == {"pk": {"S": "a"}, "sk": {"N": "1"}, "v": {"S": "old"}}


def test_client_validation_error_text_arrives_intact(client, table_name, make_table):
    make_table(client, table_name)
    with pytest.raises(ClientError) as e:
        client.put_item(TableName=table_name, Item={"pk": {"S": "a"}, "sk": {"N": "1"}},
                        ExpressionAttributeValues={":v": {"NULL": False}}, ConditionExpression="a = :v")
    assert e.value.response["Error"]["Code"] == "ValidationException"
    assert e.value.response["Error"]["Message"] == (
        "ExpressionAttributeValues contains invalid value: One or more parameter values were invalid: "
        "Null attribute value types must have the value of true for key :v")


def test_client_batch_write_and_get(client, table_name, make_table):
    make_table(client, table_name)
    client.batch_write_item(RequestItems={table_name: [
        {"PutRequest": {"Item": {"pk": {"S": "a"}, "sk": {"N": str(i)}}}} for i in range(5)]})
    response = client.batch_get_item(RequestItems={table_name: {
        "Keys": [{"pk": {"S": "a"}, "sk": {"N": str(i)}} for i in range(6)]}})
    assert sorted(int(i["sk"]["N"]) for i in response["Responses"][table_name]) == [0, 1, 2, 3, 4]
    assert response["UnprocessedKeys"] == {}


def test_client_transactions_and_cancellation_reasons(client, table_name, make_table):
    make_table(client, table_name)
    client.transact_write_items(TransactItems=[
        {"Put": {"TableName": table_name, "Item": {"pk": {"S": "a"}, "sk": {"N": "1"}, "v": {"N": "1"}}}},
        {"Put": {"TableName": table_name, "Item": {"pk": {"S": "b"}, "sk": {"N": "1"}}}},
    ])
    got = client.transact_get_items(TransactItems=[
        {"Get": {"TableName": table_name, "Key": {"pk": {"S": "a"}, "sk": {"N": "1"}}}},
        {"Get": {"TableName": table_name, "Key": {"pk": {"S": "zz"}, "sk": {"N": "1"}}}},
    ])
    assert got["Responses"][0]["Item"]["v"] == {"N": "1"} and got["Responses"][1] == {}
    with pytest.raises(client.exceptions.TransactionCanceledException) as e:
        client.transact_write_items(TransactItems=[
            {"ConditionCheck": {"TableName": table_name, "Key": {"pk": {"S": "b"}, "sk": {"N": "1"}},
                                "ConditionExpression": "attribute_exists(pk)"}},
            {"Put": {"TableName": table_name, "Item": {"pk": {"S": "a"}, "sk": {"N": "1"}},
                     "ConditionExpression": "attribute_not_exists(pk)",
                     "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}},
        ])
    reasons = e.value.response["CancellationReasons"]
    assert reasons[0] == {"Code": "None"}
    assert reasons[1]["Code"] == "ConditionalCheckFailed"
    assert reasons[1]["Item"] == {"pk": {"S": "a"}, "sk": {"N": "1"}, "v": {"N": "1"}}


def test_client_table_description_timestamps_are_datetimes(client, table_name, make_table):
    import datetime
    make_table(client, table_name)
    table = client.describe_table(TableName=table_name)["Table"]
    assert isinstance(table["CreationDateTime"], datetime.datetime)
    assert table["KeySchema"][0] == {"AttributeName": "pk", "KeyType": "HASH"}


def test_client_waiter_and_list_tables_paginator(client, table_name, make_table):
    make_table(client, table_name)
    client.get_waiter("table_exists").wait(TableName=table_name, WaiterConfig={"Delay": 0.01, "MaxAttempts": 3})
    names = [n for page in client.get_paginator("list_tables").paginate(PaginationConfig={"PageSize": 1})
             for n in page["TableNames"]]
    assert table_name in names


# ------------------------------------------------------------------ boto3 resource


def test_resource_table(resource, client, table_name, make_table):
    make_table(client, table_name)
    table = resource.Table(table_name)
    table.put_item(Item={"pk": "a", "sk": 1, "price": Decimal("9.99"), "tags": {"new"}, "meta": {"l": [1, "x"]}})
    table.put_item(Item={"pk": "a", "sk": 2, "price": Decimal("1")})
    assert table.get_item(Key={"pk": "a", "sk": 1})["Item"]["meta"] == {"l": [Decimal(1), "x"]}
    result = table.query(KeyConditionExpression=Key("pk").eq("a") & Key("sk").gt(0),
                         FilterExpression=Attr("price").gt(Decimal("5")))
    assert [i["sk"] for i in result["Items"]] == [1] and result["ScannedCount"] == 2
    assert table.scan(Select="COUNT")["Count"] == 2


def test_resource_batch_writer(resource, client, table_name, make_table):
    make_table(client, table_name)
    table = resource.Table(table_name)
    with table.batch_writer() as batch:
        for i in range(60):
            batch.put_item(Item={"pk": "p", "sk": i})
    assert table.query(KeyConditionExpression=Key("pk").eq("p"), Select="COUNT")["Count"] == 60


# ------------------------------------------------------------------ PynamoDB


def test_pynamodb_model(server, table_name, monkeypatch):
    for name, value in {"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret"}.items():
        monkeypatch.setenv(name, value)
    from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UnicodeSetAttribute
    from pynamodb.exceptions import PutError
    from pynamodb.models import Model

    class Order(Model):
        class Meta:
            table_name = "x"
            host = server.url
            region = "us-east-1"

        customer = UnicodeAttribute(hash_key=True)
        number = NumberAttribute(range_key=True)
        total = NumberAttribute(default=0)
        tags = UnicodeSetAttribute(null=True)

    Order.Meta.table_name = table_name
    Order.create_table(billing_mode="PAY_PER_REQUEST", wait=True)
    Order("ann", 1, total=10, tags={"gift"}).save()
    Order("ann", 2, total=20).save()
    order = Order.get("ann", 1)
    assert order.total == 10 and order.tags == {"gift"}
    assert [o.number for o in Order.query("ann", Order.number > 1)] == [2]
    with pytest.raises(PutError) as e:
        Order("ann", 1).save(condition=Order.customer.does_not_exist())
    assert e.value.cause_response_code == "ConditionalCheckFailedException"
    order.update(actions=[Order.total.add(5)])
    assert Order.get("ann", 1).total == 15
    Order.get("ann", 2).delete()
    assert Order.count("ann") == 1


# ------------------------------------------------------------------ the AWS CLI


@pytest.fixture
def aws(server):
    exe = shutil.which("aws")
    if exe is None:
        pytest.skip("the AWS CLI is not installed")
    env = dict(os.environ, AWS_ACCESS_KEY_ID="AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY="secret",
               AWS_DEFAULT_REGION="us-east-1", AWS_PAGER="")

    def run(*args):
        done = subprocess.run([exe, "dynamodb", *args, "--endpoint-url", server.url, "--output", "json"],
                              capture_output=True, text=True, env=env, timeout=60)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout) if done.stdout.strip() else None
    return run


def test_aws_cli(aws, client, table_name, make_table):
    make_table(client, table_name)
    for i in range(3):
        client.put_item(TableName=table_name, Item={"pk": {"S": "p"}, "sk": {"N": str(i)}})
    aws("put-item", "--table-name", table_name, "--item", '{"pk": {"S": "cli"}, "sk": {"N": "7"}}')
    item = aws("get-item", "--table-name", table_name, "--key", '{"pk": {"S": "cli"}, "sk": {"N": "7"}}')
    assert item["Item"] == {"pk": {"S": "cli"}, "sk": {"N": "7"}}
    scanned = aws("scan", "--table-name", table_name, "--page-size", "1")      # the CLI follows LastEvaluatedKey
    assert scanned["Count"] == 4


def test_python_m_kvstore_serve_help():
    done = subprocess.run([sys.executable, "-m", "kvstore", "serve", "--help"], capture_output=True, text=True,
                          cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))), timeout=60)
    assert done.returncode == 0 and "--durability" in done.stdout
