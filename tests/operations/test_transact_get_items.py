"""TransactGetItems: up to 100 items read as one snapshot, one response entry per action in order."""

import pytest

from .helpers import cancellation_codes, raises, transact_get, unique_name, validation


@pytest.fixture
def table(range_table):
    for i in range(3):
        range_table.put_item(Item={"pk": "a", "sk": i, "v": i, "w": "x"})
    return range_table


def get(table, sk, **extra):
    return {"Get": {"TableName": table.name, "Key": {"pk": "a", "sk": sk}, **extra}}


def test_responses_in_request_order(db, table):
    """One entry per action, in request order; {} for a missing item."""
    response = transact_get(db, TransactItems=[get(table, 2), get(table, 9), get(table, 0)])
    assert [r.get("Item") for r in response["Responses"]] == [
        {"pk": "a", "sk": 2, "v": 2, "w": "x"}, None, {"pk": "a", "sk": 0, "v": 0, "w": "x"}]
    assert "Item" not in response["Responses"][1]


def test_projection(db, table):
    """ProjectionExpression with names applies per action."""
    response = transact_get(db, TransactItems=[get(table, 1, ProjectionExpression="#v",
                                                   ExpressionAttributeNames={"#v": "v"})])
    assert response["Responses"][0]["Item"] == {"v": 1}


def test_several_tables(db, table, hash_table):
    """Actions may read several tables."""
    hash_table.put_item(Item={"pk": "h"})
    response = transact_get(db, TransactItems=[get(table, 0),
                                               {"Get": {"TableName": hash_table.name, "Key": {"pk": "h"}}}])
    assert response["Responses"][1]["Item"] == {"pk": "h"}


def test_bad_key_cancels(db, table):
    """A key problem in an action cancels with a ValidationError reason."""
    with raises("TransactionCanceledException",
                "Transaction cancelled, please refer cancellation reasons for specific reasons [ValidationError]") as e:
        transact_get(db, TransactItems=[{"Get": {"TableName": table.name, "Key": {}}}])
    assert cancellation_codes(e.value) == ["ValidationError"]


def test_projection_syntax_error(db, table):
    """A ProjectionExpression syntax error is a plain ValidationException."""
    with validation('Invalid ProjectionExpression: Syntax error; token: "!", near: "!!"'):
        transact_get(db, TransactItems=[get(table, 0, ProjectionExpression="!!")])


def test_unused_name(db, table):
    """Unused ExpressionAttributeNames fail the request."""
    with validation("Value provided in ExpressionAttributeNames unused in expressions: keys: {#w}"):
        transact_get(db, TransactItems=[get(table, 0, ProjectionExpression="#v",
                                            ExpressionAttributeNames={"#v": "v", "#w": "w"})])


def test_empty_list(db):
    """At least one action."""
    with validation("1 validation error detected: Value '[]' at 'transactItems' failed to satisfy constraint: "
                    "Member must have length greater than or equal to 1"):
        transact_get(db, TransactItems=[])


def test_one_hundred_actions(db, hash_table):
    """100 actions are accepted."""
    response = transact_get(db, TransactItems=[{"Get": {"TableName": hash_table.name, "Key": {"pk": f"k{i}"}}}
                                               for i in range(100)])
    assert len(response["Responses"]) == 100


def test_more_than_one_hundred_actions(db, hash_table):
    """101 actions are a constraint violation."""
    with validation(startswith="1 validation error detected: Value '[",
                    endswith="]' at 'transactItems' failed to satisfy constraint: "
                             "Member must have length less than or equal to 100"):
        transact_get(db, TransactItems=[{"Get": {"TableName": hash_table.name, "Key": {"pk": f"k{i}"}}}
                                        for i in range(101)])


def test_missing_table(db):
    """A missing table is ResourceNotFoundException."""
    with raises("ResourceNotFoundException", "Requested resource not found"):
        transact_get(db, TransactItems=[{"Get": {"TableName": unique_name(), "Key": {"pk": "a"}}}])


def test_consumed_capacity(db, table):
    """Transactional reads cost twice a strongly consistent read, per table."""
    response = transact_get(db, ReturnConsumedCapacity="TOTAL", TransactItems=[get(table, 0), get(table, 1)])
    (entry,) = response["ConsumedCapacity"]
    assert entry["TableName"] == table.name
    assert entry["CapacityUnits"] == 4.0


def test_resource_client_returns_native_values(db, table):
    """The resource's ``meta.client.transact_get_items`` takes and returns plain Python values."""
    response = db.meta.client.transact_get_items(TransactItems=[get(table, 1)])
    assert response["Responses"][0]["Item"] == {"pk": "a", "sk": 1, "v": 1, "w": "x"}
