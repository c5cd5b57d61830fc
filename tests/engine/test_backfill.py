"""A GSI added by UpdateTable is backfilled while writes keep flowing, and ends exact.

Writers change, add and delete items (moving them in and out of the new
index) during the backfill; once DescribeTable reports the index ACTIVE, every
index entry must be derived from its row and every indexable row must have
its entry (``Table._check``).
"""

import random
import threading
import time

import kvstore


def test_backfill_under_concurrent_writes_ends_consistent():
    db = kvstore.open(":memory:")
    table = db.create_table(
        TableName="items", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    for i in range(3000):
        table.put_item(Item={"pk": f"k{i}", "color": random.choice(["red", "blue"]) if i % 3 else 7})
    stop = threading.Event()

    def writer(seed):
        rng = random.Random(seed)
        while not stop.is_set():
            k = f"k{rng.randrange(3500)}"
            choice = rng.random()
            if choice < 0.5:
                table.put_item(Item={"pk": k, "color": rng.choice(["red", "blue", "green"])})
            elif choice < 0.8:
                table.update_item(Key={"pk": k}, UpdateExpression="REMOVE color")
            else:
                table.delete_item(Key={"pk": k})

    threads = [threading.Thread(target=writer, args=(s,)) for s in range(3)]
    for t in threads:
        t.start()
    try:
        table.update(AttributeDefinitions=[{"AttributeName": "color", "AttributeType": "S"}],
                     GlobalSecondaryIndexUpdates=[{"Create": {
                         "IndexName": "by_color", "KeySchema": [{"AttributeName": "color", "KeyType": "HASH"}],
                         "Projection": {"ProjectionType": "KEYS_ONLY"}}}])
        deadline = time.monotonic() + 30
        while table.global_secondary_indexes[0]["IndexStatus"] != "ACTIVE":
            assert time.monotonic() < deadline, "backfill did not finish"
            time.sleep(0.01)
        time.sleep(0.05)
    finally:
        stop.set()
        for t in threads:
            t.join()
    engine_table = db.engine.tables["items"]
    engine_table._check()
    # rows whose color is the number 7 (a type the index key cannot have) were skipped by the backfill
    reds = table.query(IndexName="by_color", KeyConditionExpression="color = :c",
                       ExpressionAttributeValues={":c": "red"}, Select="COUNT")
    expected = sum(1 for item in table.scan()["Items"] if item.get("color") == "red")
    assert reds["Count"] == expected
    db.close()
