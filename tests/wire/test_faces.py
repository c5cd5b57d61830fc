"""The same behaviour through every face (the shared ``dynamodb`` fixture of tests/conftest.py)."""

from decimal import Decimal

import pytest

KEYS = dict(KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                  {"AttributeName": "sk", "AttributeType": "N"}],
            BillingMode="PAY_PER_REQUEST")


def test_each_face_starts_empty_and_round_trips_items(dynamodb):
    assert list(dynamodb.tables.all()) == []
    table = dynamodb.create_table(TableName="orders", **KEYS)
    table.put_item(Item={"pk": "a", "sk": 1, "price": Decimal("9.99"), "tags": {"x"}, "doc": {"l": [True, None]}})
    item = table.get_item(Key={"pk": "a", "sk": 1})["Item"]
    assert item == {"pk": "a", "sk": Decimal(1), "price": Decimal("9.99"), "tags": {"x"}, "doc": {"l": [True, None]}}


def test_errors_have_the_same_code_and_message_on_every_face(dynamodb, client_errors):
    table = dynamodb.create_table(TableName="orders", **KEYS)
    table.put_item(Item={"pk": "a", "sk": 1})
    with pytest.raises(client_errors) as e:
        table.put_item(Item={"pk": "a", "sk": 1}, ConditionExpression="attribute_not_exists(pk)")
    assert e.value.response["Error"] == {"Code": "ConditionalCheckFailedException",
                                         "Message": "The conditional request failed"}
    with pytest.raises(client_errors) as e:
        dynamodb.Table("missing").get_item(Key={"pk": "a", "sk": 1})
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"
