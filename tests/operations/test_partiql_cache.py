"""PartiQL statements are parsed and planned once per text (and key schemas), then reused."""

from decimal import Decimal

import kvstore
from kvstore import partiql
from kvstore.operations import execute
from kvstore.partiql import cache


def _db():
    db = kvstore.open(":memory:")
    execute(db.engine, "CreateTable", {
        "TableName": "cached", "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}]})
    return db


def test_a_statement_is_parsed_and_planned_once(monkeypatch):
    db = _db()
    partiql.clear_cache()
    parses, plans = [], []
    real_parse, real_plan = cache.parse, cache.plan_select
    monkeypatch.setattr(cache, "parse", lambda text: parses.append(text) or real_parse(text))
    monkeypatch.setattr(cache, "plan_select", lambda *a: plans.append(a) or real_plan(*a))
    text = 'SELECT * FROM "cached" WHERE pk = ? AND v > ?'
    for i in range(5):
        execute(db.engine, "ExecuteStatement", {"Statement": text, "Parameters": [f"k{i}", Decimal(i)]})
    assert len(parses) == 1 and len(plans) == 1


def test_a_recreated_table_gets_a_new_plan():
    db = _db()
    text = 'SELECT * FROM "cached" WHERE pk = ?'
    execute(db.engine, "ExecuteStatement", {"Statement": text, "Parameters": ["a"]})
    execute(db.engine, "DeleteTable", {"TableName": "cached"})
    execute(db.engine, "CreateTable", {
        "TableName": "cached", "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"},
                                 {"AttributeName": "sk", "AttributeType": "N"}]})
    execute(db.engine, "PutItem", {"TableName": "cached", "Item": {"pk": "a", "sk": Decimal(1)}})
    execute(db.engine, "PutItem", {"TableName": "cached", "Item": {"pk": "a", "sk": Decimal(2)}})
    got = execute(db.engine, "ExecuteStatement", {"Statement": text, "Parameters": ["a"]})["Items"]
    assert [i["sk"] for i in got] == [1, 2]
