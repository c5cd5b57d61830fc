"""ExecuteTransaction: 1..100 statements, all or nothing, through the transaction actions (reference 6.13)."""

import pytest

from .helpers import cancellation_codes, create_table, raises, validation


@pytest.fixture
def db(dynamodb):
    return dynamodb


@pytest.fixture
def client(db):
    return db.meta.client


@pytest.fixture
def table(db):
    return create_table(db, hash_key=("pk", "S"), range_key=("sk", "N"))


def transact(client, *statements, **options):
    specs = [s if isinstance(s, dict) else {"Statement": s} for s in statements]
    return client.execute_transaction(TransactStatements=specs, **options)


def test_writes_and_exists_commit_together(client, table):
    t = table.name
    table.put_item(Item={"pk": "a", "sk": 1, "n": 1})
    table.put_item(Item={"pk": "c", "sk": 1, "ok": True})
    response = transact(client,
                        {"Statement": f"INSERT INTO \"{t}\" VALUE {{'pk': ?, 'sk': 1}}", "Parameters": ["b"]},
                        f"UPDATE \"{t}\" SET n = n + 1 WHERE pk = 'a' AND sk = 1",
                        f"EXISTS(SELECT * FROM \"{t}\" WHERE pk = 'c' AND sk = 1 AND ok = true)")
    assert response["Responses"] == []
    assert table.get_item(Key={"pk": "a", "sk": 1})["Item"]["n"] == 2
    assert "Item" in table.get_item(Key={"pk": "b", "sk": 1})


def test_failure_cancels_everything(client, table):
    t = table.name
    table.put_item(Item={"pk": "a", "sk": 1, "n": 1})
    table.put_item(Item={"pk": "a", "sk": 2})
    with raises("TransactionCanceledException") as excinfo:
        transact(client, f"UPDATE \"{t}\" SET n = 5 WHERE pk = 'a' AND sk = 1",
                 f"INSERT INTO \"{t}\" VALUE {{'pk': 'a', 'sk': 2}}",
                 f"EXISTS(SELECT * FROM \"{t}\" WHERE pk = 'zz' AND sk = 1 AND n = 1)")
    assert cancellation_codes(excinfo.value) == ["None", "DuplicateItem", "ConditionalCheckFailed"]
    assert table.get_item(Key={"pk": "a", "sk": 1})["Item"]["n"] == 1


def test_client_request_token_applies_once(client, table):
    t = table.name
    table.put_item(Item={"pk": "a", "sk": 1, "n": 1})
    for _ in range(2):
        transact(client, f"UPDATE \"{t}\" SET n = n + 1 WHERE pk = 'a' AND sk = 1", ClientRequestToken="tok-1")
    assert table.get_item(Key={"pk": "a", "sk": 1})["Item"]["n"] == 2
    with raises("IdempotentParameterMismatchException"):
        transact(client, f"UPDATE \"{t}\" SET n = n + 7 WHERE pk = 'a' AND sk = 1", ClientRequestToken="tok-1")


def test_read_transaction(client, table):
    t = table.name
    table.put_item(Item={"pk": "a", "sk": 1, "v": 1})
    table.put_item(Item={"pk": "a", "sk": 2, "v": 2})
    response = transact(client, {"Statement": f'SELECT * FROM "{t}" WHERE pk = ? AND sk = ?', "Parameters": ["a", 1]},
                        f"SELECT nope FROM \"{t}\" WHERE pk = 'a' AND sk = 2",
                        f"SELECT * FROM \"{t}\" WHERE pk = 'zz' AND sk = 1")
    assert response["Responses"] == [{"Item": {"pk": "a", "sk": 1, "v": 1}}, {"Item": {}}, {}]


@pytest.mark.parametrize("statement, message", [
    ("UPDATE \"{t}\" SET n = 1 WHERE pk = 'a' AND sk = 1 RETURNING ALL NEW *",
     "RETURNING clause is not supported in ExecuteTransaction."),
    ("SELECT * FROM \"{t}\" WHERE pk = 'a'",
     "Select statements within ExecuteTransaction must specify the primary key in the where clause."),
    ("SELECT * FROM \"{t}\" WHERE pk = 'a' AND sk = 1 AND attribute_exists(x)",
     "Select statements within ExecuteTransaction must specify the primary key in the where clause."),
    ("SELECT * FROM \"{t}\".\"idx\" WHERE pk = 'a' AND sk = 1", "Reads on indices are not supported within transactions."),
    ("EXISTS(SELECT * FROM \"{t}\" WHERE pk = 'a' AND sk = 1)",
     "EXISTS() must contain a single item read with additional condition"),
    ("SLECT", "Statement wasn't well formed, can't be processed: Expected data manipulation"),
])
def test_statement_validation_is_prefixed(client, table, statement, message):
    t = table.name
    with validation(f"Validation failed in TransactStatements[1]: {message}"):
        transact(client, f"DELETE FROM \"{t}\" WHERE pk = 'x' AND sk = 1", statement.format(t=t))


def test_whole_request_errors(client, table):
    t = table.name
    with validation("ExecuteTransaction API does not support both read and write operations in the same request."):
        transact(client, f"SELECT * FROM \"{t}\" WHERE pk = 'a' AND sk = 1",
                 f"DELETE FROM \"{t}\" WHERE pk = 'x' AND sk = 1")
    with validation("Transaction request cannot include multiple operations on one item"):
        transact(client, f"DELETE FROM \"{t}\" WHERE pk = 'x' AND sk = 1",
                 f"INSERT INTO \"{t}\" VALUE {{'pk': 'x', 'sk': 1}}")
    with validation(contains="at 'transactStatements' failed to satisfy constraint: Member must have length "
                             "greater than or equal to 1"):
        client.execute_transaction(TransactStatements=[])
