"""Threads hammering one database: transactions stay serializable, no update is lost.

Transfers move money between accounts with a TransactWriteItems guarded by a
balance condition, while other threads do conditional increments (optimistic
locking on a version attribute) and plain counters; at the end money is
conserved, no balance went negative, every acknowledged increment is counted,
and readers using TransactGetItems never saw a half-applied transfer.
"""

import random
import threading
from decimal import Decimal

import kvstore
from kvstore.errors import ConditionalCheckFailedException, TransactionCanceledException

ACCOUNTS = 8
START = 100


def make_db():
    db = kvstore.open(":memory:")
    db.create_table(
        TableName="accounts", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"},
                              {"AttributeName": "owner", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        GlobalSecondaryIndexes=[{"IndexName": "by_owner", "KeySchema": [{"AttributeName": "owner", "KeyType": "HASH"}],
                                 "Projection": {"ProjectionType": "ALL"}}])
    table = db.Table("accounts")
    for i in range(ACCOUNTS):
        table.put_item(Item={"id": f"acct{i}", "balance": START, "owner": "bank", "version": 0})
    table.put_item(Item={"id": "counter", "hits": 0, "version": 0})
    return db, table


def transfer(db, rng, stats):
    a, b = rng.sample(range(ACCOUNTS), 2)
    amount = rng.randint(1, 60)
    try:
        db.transact_write_items(TransactItems=[
            {"Update": {"TableName": "accounts", "Key": {"id": f"acct{a}"},
                        "UpdateExpression": "SET balance = balance - :amt",
                        "ConditionExpression": "balance >= :amt",
                        "ExpressionAttributeValues": {":amt": amount}}},
            {"Update": {"TableName": "accounts", "Key": {"id": f"acct{b}"},
                        "UpdateExpression": "SET balance = balance + :amt",
                        "ExpressionAttributeValues": {":amt": amount}}},
        ])
        stats["transfers"] += 1
    except TransactionCanceledException:
        stats["refused"] += 1


def optimistic_increment(table, stats):
    """Read, then write back with a version check; retry on conflict (optimistic locking)."""
    while True:
        item = table.get_item(Key={"id": "counter"})["Item"]
        try:
            table.update_item(Key={"id": "counter"}, UpdateExpression="SET hits = :h, version = :nv",
                              ConditionExpression="version = :v",
                              ExpressionAttributeValues={":h": item["hits"] + 1, ":nv": item["version"] + 1,
                                                         ":v": item["version"]})
            stats["increments"] += 1
            return
        except ConditionalCheckFailedException:
            stats["retries"] += 1


def snapshot_total(db):
    response = db.transact_get_items(TransactItems=[
        {"Get": {"TableName": "accounts", "Key": {"id": f"acct{i}"}}} for i in range(ACCOUNTS)])
    return sum(r["Item"]["balance"] for r in response["Responses"])


def test_transfers_conserve_money_and_increments_are_never_lost():
    db, table = make_db()
    stats = {"transfers": 0, "refused": 0, "increments": 0, "retries": 0, "snapshots": 0}
    lock = threading.Lock()
    errors = []

    def worker(seed):
        rng = random.Random(seed)
        local = dict.fromkeys(stats, 0)
        try:
            for _ in range(150):
                choice = rng.random()
                if choice < 0.6:
                    transfer(db, rng, local)
                elif choice < 0.9:
                    optimistic_increment(table, local)
                else:
                    assert snapshot_total(db) == ACCOUNTS * START
                    local["snapshots"] += 1
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)
        with lock:
            for k, v in local.items():
                stats[k] += v

    threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    balances = [table.get_item(Key={"id": f"acct{i}"})["Item"]["balance"] for i in range(ACCOUNTS)]
    assert sum(balances) == ACCOUNTS * START
    assert all(b >= 0 for b in balances)
    counter = table.get_item(Key={"id": "counter"})["Item"]
    assert counter["hits"] == stats["increments"] == counter["version"]
    assert stats["transfers"] > 0 and stats["increments"] > 0
    gsi = table.query(IndexName="by_owner", KeyConditionExpression="#o = :b",
                      ExpressionAttributeNames={"#o": "owner"}, ExpressionAttributeValues={":b": "bank"})
    assert sum(i["balance"] for i in gsi["Items"]) == ACCOUNTS * START
    db.engine.tables["accounts"]._check()
    db.close()


def test_concurrent_atomic_counters_lose_nothing():
    db, table = make_db()

    def bump():
        for _ in range(500):
            table.update_item(Key={"id": "counter"}, UpdateExpression="ADD hits :one",
                              ExpressionAttributeValues={":one": 1})

    threads = [threading.Thread(target=bump) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert table.get_item(Key={"id": "counter"})["Item"]["hits"] == Decimal(3000)
    db.close()
