"""TransactWriteItems / TransactGetItems name a nested member by its action's position (issue 14, item 4).

Captured against DynamoDB (us-east-1 and eu-west-2): a malformed table name in
the second action is ``1 validation error detected: Value 'bad!name' at
'transactItems.2.member.update.tableName' failed to satisfy constraint: ...``,
a whole-request ValidationException (not a cancellation).  Every action's
members are checked before any expression is compiled, so two bad actions are
reported together.
"""

import pytest

PATTERN = "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+"


@pytest.fixture
def client(dynamodb):
    client = dynamodb.meta.client
    client.create_table(TableName="ttt", BillingMode="PAY_PER_REQUEST",
                        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
    return client


def _message(client_errors, call, **kwargs):
    with pytest.raises(client_errors) as excinfo:
        call(**kwargs)
    error = excinfo.value.response["Error"]
    assert error["Code"] == "ValidationException"
    return error["Message"]


def test_transact_write_table_name_path_names_the_action_position(client, client_errors):
    message = _message(client_errors, client.transact_write_items, TransactItems=[
        {"Put": {"TableName": "ttt", "Item": {"pk": "first"}}},
        {"Update": {"TableName": "bad!name", "Key": {"pk": "a"}, "UpdateExpression": "SET a = :a",
                    "ExpressionAttributeValues": {":a": "x"}}}])
    assert message == ("1 validation error detected: Value 'bad!name' at 'transactItems.2.member.update.tableName' "
                       f"failed to satisfy constraint: {PATTERN}")
    assert "Item" not in client.get_item(TableName="ttt", Key={"pk": "first"})


@pytest.mark.parametrize("kind, spec", [
    ("put", {"Item": {"pk": "a"}}),
    ("delete", {"Key": {"pk": "a"}}),
    ("conditionCheck", {"Key": {"pk": "a"}, "ConditionExpression": "attribute_exists(pk)"}),
])
def test_transact_write_table_name_path_names_the_action_kind(client, client_errors, kind, spec):
    action = {kind[0].upper() + kind[1:]: {"TableName": "bad!name", **spec}}
    message = _message(client_errors, client.transact_write_items, TransactItems=[action])
    assert message == (f"1 validation error detected: Value 'bad!name' at 'transactItems.1.member.{kind}.tableName' "
                       f"failed to satisfy constraint: {PATTERN}")


def test_transact_write_missing_members_of_every_action_reported_together(client, client_errors):
    message = _message(client_errors, client.transact_write_items, TransactItems=[
        {"ConditionCheck": {"TableName": "ttt", "Key": {"pk": "a"}, "ConditionExpression": "attribute_exists(("}},
        {"ConditionCheck": {"TableName": "ttt", "Key": {"pk": "b"}}},
        {"Update": {"TableName": "ttt", "Key": {"pk": "c"}}}])
    # the member constraints of actions 2 and 3 come before action 1's expression syntax error
    assert message == (
        "2 validation errors detected: "
        "Value null at 'transactItems.2.member.conditionCheck.conditionExpression' failed to satisfy constraint: "
        "Member must not be null; "
        "Value null at 'transactItems.3.member.update.updateExpression' failed to satisfy constraint: "
        "Member must not be null")


def test_transact_write_return_values_on_condition_check_failure_path(client, client_errors):
    message = _message(client_errors, client.transact_write_items, TransactItems=[
        {"Put": {"TableName": "ttt", "Item": {"pk": "a"}, "ReturnValuesOnConditionCheckFailure": "ALL_NEW"}}])
    assert message == ("1 validation error detected: Value 'ALL_NEW' at "
                       "'transactItems.1.member.put.returnValuesOnConditionCheckFailure' failed to satisfy "
                       "constraint: Member must satisfy enum value set: [ALL_OLD, NONE]")


def test_transact_get_table_name_path_names_the_action_position(client, client_errors):
    message = _message(client_errors, client.transact_get_items, TransactItems=[
        {"Get": {"TableName": "ttt", "Key": {"pk": "a"}}},
        {"Get": {"TableName": "bad!name", "Key": {"pk": "a"}}}])
    assert message == ("1 validation error detected: Value 'bad!name' at 'transactItems.2.member.get.tableName' "
                       f"failed to satisfy constraint: {PATTERN}")
