"""BatchExecuteStatement: 1..25 statements, per-statement errors versus whole-request errors (reference 6.13)."""

import pytest

from .helpers import create_table, validation


@pytest.fixture
def db(dynamodb):
    return dynamodb


@pytest.fixture
def client(db):
    return db.meta.client


@pytest.fixture
def table(db):
    return create_table(db, hash_key=("pk", "S"), range_key=("sk", "N"))


def batch(client, *statements, **options):
    specs = []
    for s in statements:
        specs.append(s if isinstance(s, dict) else {"Statement": s})
    return client.batch_execute_statement(Statements=specs, **options)["Responses"]


def test_writes_run_each_alone_with_slot_errors(client, table):
    """A failing statement gets its Error; the others still run (no atomicity)."""
    t = table.name
    table.put_item(Item={"pk": "dup", "sk": 1})
    table.put_item(Item={"pk": "dup", "sk": 2})
    responses = batch(client,
                      {"Statement": f"INSERT INTO \"{t}\" VALUE {{'pk': ?, 'sk': ?}}", "Parameters": ["a", 1]},
                      f"INSERT INTO \"{t}\" VALUE {{'pk': 'dup', 'sk': 1}}",
                      "SLECT * FROM x",
                      f"UPDATE \"{t}\" SET v = 1 WHERE pk = 'missing' AND sk = 1",
                      'INSERT INTO "no-such-table" VALUE {\'pk\': \'a\'}',
                      f"UPDATE \"{t}\" SET v = 2 WHERE pk = 'dup' AND sk = 2 RETURNING ALL NEW *")
    assert responses[0] == {"TableName": t}
    assert responses[1]["Error"] == {"Code": "DuplicateItem", "Message": "Duplicate primary key exists in table"}
    assert responses[2]["Error"] == {"Code": "ValidationError", "Message":
                                     "Statement wasn't well formed, can't be processed: Expected data manipulation"}
    assert responses[3]["Error"] == {"Code": "ConditionalCheckFailed", "Message": "The conditional request failed"}
    assert responses[4]["Error"] == {"Code": "ResourceNotFound", "Message": "Requested resource not found"}
    assert responses[5] == {"TableName": t, "Item": {"pk": "dup", "sk": 2, "v": 2}}
    assert table.get_item(Key={"pk": "a", "sk": 1})["Item"] == {"pk": "a", "sk": 1}


def test_reads_by_full_key(client, table):
    table.put_item(Item={"pk": "a", "sk": 1, "v": 1, "m": {"x": 2}})
    table.put_item(Item={"pk": "a", "sk": 2, "v": 1, "m": {"x": 2}})
    t = table.name
    responses = batch(client,
                      {"Statement": f'SELECT * FROM "{t}" WHERE pk = ? AND sk = ?', "Parameters": ["a", 1]},
                      f"SELECT m.x FROM \"{t}\" WHERE pk = 'a' AND sk = 2",
                      f"SELECT * FROM \"{t}\" WHERE pk = 'zz' AND sk = 1",
                      f"SELECT * FROM \"{t}\" WHERE pk = 'a'",
                      f"SELECT * FROM \"{t}\" WHERE pk = 'a' AND sk = 1 AND attribute_exists(v)")
    assert responses[0] == {"TableName": t, "Item": {"pk": "a", "sk": 1, "v": 1, "m": {"x": 2}}}
    assert responses[1] == {"TableName": t, "Item": {"x": 2}}
    assert responses[2] == {"TableName": t}
    rule = "Select statements within BatchExecuteStatement must specify the primary key in the where clause."
    assert responses[3]["Error"] == {"Code": "ValidationError", "Message": rule}
    assert responses[4]["Error"] == {"Code": "ValidationError", "Message": rule}


def test_capacity_per_table(client, table):
    table.put_item(Item={"pk": "a", "sk": 1})
    response = client.batch_execute_statement(
        Statements=[{"Statement": f"SELECT * FROM \"{table.name}\" WHERE pk = 'a' AND sk = {i}"} for i in (1, 2)],
        ReturnConsumedCapacity="TOTAL")
    assert response["ConsumedCapacity"] == [{"TableName": table.name, "CapacityUnits": 1.0,
                                             "ReadCapacityUnits": 1.0}]


def test_whole_request_errors(client, table):
    t = table.name
    with validation("Read and write requests together in the same batch is not supported."):
        batch(client, f"SELECT * FROM \"{t}\" WHERE pk = 'a' AND sk = 1",
              f"INSERT INTO \"{t}\" VALUE {{'pk': 'b', 'sk': 1}}")
    with validation("Provided list of item keys contains duplicates"):
        batch(client, f"INSERT INTO \"{t}\" VALUE {{'pk': 'b', 'sk': 1}}",
              f"DELETE FROM \"{t}\" WHERE pk = 'b' AND sk = 1")
    with validation(contains="Value '[]' at 'statements' failed to satisfy constraint: Member must have length "
                             "greater than or equal to 1"):
        client.batch_execute_statement(Statements=[])
    with validation(contains="Member must have length less than or equal to 25"):
        batch(client, *[f"DELETE FROM \"{t}\" WHERE pk = 'b' AND sk = {i}" for i in range(26)])
    assert "Item" not in table.get_item(Key={"pk": "b", "sk": 1})
