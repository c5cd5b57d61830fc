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
from tests.threads import run_interleaved

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


def _writers_of_separate_keys(table, writes, threads=4):
    """``threads`` threads each putting and deleting its own keys (so each holds a different
    partition's lock most of the time) while the interpreter switches threads every microsecond."""
    errors = []

    def writer(seed):
        rng = random.Random(seed)
        try:
            for _ in range(writes):
                key = f"w{seed}-{rng.randrange(300)}"
                if rng.random() < 0.7:
                    item = {"pk": key, "sk": rng.randrange(3), "g": rng.choice("abc"), "pad": "x" * rng.randrange(40)}
                    table.put_item(Item=item)
                else:
                    table.delete_item(Key={"pk": key, "sk": rng.randrange(3)})
        except Exception as e:          # a corrupt index surfaces as a ValueError from its SortedList
            errors.append(repr(e))

    run_interleaved(writer, [(seed,) for seed in range(threads)])
    return errors


def _key_table(db, **indexes):
    definitions = [{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "N"}]
    if indexes:
        definitions.append({"AttributeName": "g", "AttributeType": "S"})
    return db.create_table(
        TableName="shared", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                                       {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=definitions, BillingMode="PAY_PER_REQUEST", **indexes)


def test_writers_of_different_partitions_keep_table_size_exact():
    """Each partition's byte count changes under its own lock: writers of different partitions
    once lost each other's updates of one table-wide count (TableSizeBytes drifted)."""
    db = kvstore.open(":memory:")
    table = _key_table(db)
    assert _writers_of_separate_keys(table, 4000) == []
    engine_table = db.engine.tables["shared"]
    engine_table._check()
    assert table.table_size_bytes == sum(map(len, engine_table.rows.values())) > 0
    db.close()


def test_writers_of_different_partitions_share_gsi_and_lsi_safely():
    """A GSI's (and an LSI's) sorted entry partitions are shared by writers of every table
    partition: changed only under the table's index lock, they stay exact (unguarded, a
    SortedList corrupted and a later delete raised ValueError 'not in list')."""
    db = kvstore.open(":memory:")
    projection = {"ProjectionType": "KEYS_ONLY"}
    table = _key_table(
        db, GlobalSecondaryIndexes=[{"IndexName": "by_g", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                                     "Projection": projection}],
        LocalSecondaryIndexes=[{"IndexName": "lsi_g", "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                                                                    {"AttributeName": "g", "KeyType": "RANGE"}],
                                "Projection": {"ProjectionType": "ALL"}}])
    assert _writers_of_separate_keys(table, 3000) == []
    engine_table = db.engine.tables["shared"]
    engine_table._check()
    for index in engine_table.indexes.values():
        assert index.size_bytes == sum(map(len, index.entries.values()))
        for partition in index.partitions:
            partition._check()
    count = sum(table.query(IndexName="by_g", KeyConditionExpression="g = :g",
                            ExpressionAttributeValues={":g": g}, Select="COUNT")["Count"] for g in "abc")
    assert count == engine_table.item_count > 0
    db.close()
