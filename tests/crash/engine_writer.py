"""The child of test_engine_crash.py: writes through the public API until it is killed.

    python tests/crash/engine_writer.py DIR SEED ROUND THREADS CHECKPOINT_LOG_BYTES

Opens DIR under ``sync``, creates the two tables if they are missing
(``orders`` with a GSI and an LSI, ``ledger``), prints ``{"ready": ...}``,
then runs THREADS writer threads.  Each thread owns its keys, so its writes to
a key are strictly ordered, and before each operation it prints the intent
(every item the operation writes, as the full image it must leave, ``null``
for a delete) and afterwards ``{"ack": id}`` or ``{"nack": id}`` (a condition
failed: nothing written).  Each line is one write(2) to a pipe, so a kill
never tears it.

Item images depend only on (key, version, transaction marker), so the parent
can compare what it reads back with what was printed, exactly.
"""

import json
import os
import random
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

import kvstore  # noqa: E402
from kvstore.errors import ConditionalCheckFailedException, TransactionCanceledException  # noqa: E402

ORDERS = dict(
    TableName="orders",
    KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
    AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                          {"AttributeName": "sk", "AttributeType": "N"},
                          {"AttributeName": "g", "AttributeType": "S"},
                          {"AttributeName": "l", "AttributeType": "N"}],
    GlobalSecondaryIndexes=[{"IndexName": "by_g",
                             "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"},
                                           {"AttributeName": "ver", "KeyType": "RANGE"}],
                             "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["tx"]}}],
    LocalSecondaryIndexes=[{"IndexName": "by_l",
                            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                                          {"AttributeName": "l", "KeyType": "RANGE"}],
                            "Projection": {"ProjectionType": "ALL"}}],
    BillingMode="PAY_PER_REQUEST")
ORDERS["AttributeDefinitions"].append({"AttributeName": "ver", "AttributeType": "N"})
LEDGER = dict(
    TableName="ledger",
    KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
    AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
    BillingMode="PAY_PER_REQUEST")


def order_keys(t):
    return [f"t{t}p{p}|{sk}" for p in range(3) for sk in range(4)]


def ledger_keys(t):
    return [f"t{t}L{i}" for i in range(6)]


def order_image(key, ver, marker=None):
    """The orders item (key "pk|sk") at version ``ver``; index attributes come and go (sparse)."""
    pk, sk = key.split("|")
    item = {"pk": pk, "sk": int(sk), "ver": ver, "pad": "o" * (100 + ver % 80)}
    if ver % 5:
        item["g"] = f"g{ver % 7}"
    if ver % 4:
        item["l"] = ver % 11
    if marker is not None:
        item["tx"] = marker
    return item


def ledger_image(key, ver, marker=None):
    item = {"pk": key, "ver": ver, "bal": ver % 1000, "pad": "l" * (100 + ver % 60)}
    if marker is not None:
        item["tx"] = marker
    return item


def key_of(table, key):
    if table == "orders":
        pk, sk = key.split("|")
        return {"pk": pk, "sk": int(sk)}
    return {"pk": key}


def update_for(table, image):
    """SET every non-key attribute of ``image``, REMOVE the optional ones it lacks."""
    keys = ("pk", "sk") if table == "orders" else ("pk",)
    names = [k for k in image if k not in keys]
    optional = ("g", "l", "tx") if table == "orders" else ("tx",)
    removed = [k for k in optional if k not in image]
    expr = "SET " + ", ".join(f"#{k} = :{k}" for k in names)
    if removed:
        expr += " REMOVE " + ", ".join(f"#{k}" for k in removed)
    return dict(UpdateExpression=expr, ExpressionAttributeNames={f"#{k}": k for k in names + removed},
                ExpressionAttributeValues={f":{k}": image[k] for k in names})


class Writer:
    def __init__(self, db, t, rng, base, state, out):
        self.db, self.t, self.rng, self.out = db, t, rng, out
        self.orders, self.ledger = db.Table("orders"), db.Table("ledger")
        self.ver = base
        self.n = 0
        self.state = state          # (table, key) -> current version (None: absent), as this thread knows it
        self.mine = [("orders", k) for k in order_keys(t)] + [("ledger", k) for k in ledger_keys(t)]

    def emit(self, record):
        line = json.dumps(record, separators=(",", ":")) + "\n"
        with self.out:
            os.write(1, line.encode())

    def next_ver(self):
        self.ver += 1
        return self.ver

    def image(self, table, key, ver, marker=None):
        return (order_image if table == "orders" else ledger_image)(key, ver, marker)

    def run(self):
        ops = (self.put, self.update, self.delete, self.transaction)
        while True:
            self.n += 1
            rng = self.rng
            op = rng.choices(ops, weights=(3, 3, 1, 3))[0]
            op(f"{self.t}-{self.n}")

    def intent(self, op_id, writes, expect="ok"):
        self.emit({"id": op_id, "t": self.t, "expect": expect,
                   "writes": [[table, key, image] for (table, key), image in writes.items()]})

    def done(self, op_id, ok):
        self.emit({"ack" if ok else "nack": op_id})

    def put(self, op_id):
        table, key = self.rng.choice(self.mine)
        ver = self.next_ver()
        image = self.image(table, key, ver)
        self.intent(op_id, {(table, key): image})
        (self.orders if table == "orders" else self.ledger).put_item(Item=image)
        self.state[(table, key)] = ver
        self.done(op_id, True)

    def update(self, op_id):
        """A conditional UpdateItem: on the version this thread last wrote; 1 in 8 is made to fail."""
        table, key = self.rng.choice(self.mine)
        ver = self.next_ver()
        image = self.image(table, key, ver)
        current = self.state.get((table, key))
        fail = self.rng.random() < 0.125
        if current is None:
            cond, values = ("attribute_exists(pk)", {}) if fail else ("attribute_not_exists(pk)", {})
        else:
            cond, values = "ver = :expected", {":expected": current + (1 if fail else 0)}
        self.intent(op_id, {(table, key): image}, "fail" if fail else "ok")
        request = update_for(table, image)
        request["ExpressionAttributeValues"].update(values)
        try:
            (self.orders if table == "orders" else self.ledger).update_item(
                Key=key_of(table, key), ConditionExpression=cond, **request)
        except ConditionalCheckFailedException:
            self.done(op_id, False)
            return
        self.state[(table, key)] = ver
        self.done(op_id, True)

    def delete(self, op_id):
        table, key = self.rng.choice(self.mine)
        exists = self.state.get((table, key)) is not None
        self.intent(op_id, {(table, key): None})
        extra = {"ConditionExpression": "attribute_exists(pk)"} if exists else {}
        (self.orders if table == "orders" else self.ledger).delete_item(Key=key_of(table, key), **extra)
        self.state[(table, key)] = None
        self.done(op_id, True)

    def transaction(self, op_id):
        """Puts, updates and a delete across both tables, plus a ConditionCheck; 1 in 10 is cancelled."""
        rng = self.rng
        picked = rng.sample([k for k in self.mine if k[0] == "orders"], rng.randint(1, 2)) + \
            rng.sample([k for k in self.mine if k[0] == "ledger"], rng.randint(1, 2))
        checked = rng.choice([k for k in self.mine if k not in picked]) if rng.random() < 0.7 else None
        ver = self.next_ver()
        marker = f"tx{ver}"
        actions, writes = [], {}
        for i, (table, key) in enumerate(picked):
            image = self.image(table, key, ver, marker)
            kind = rng.choice(("Put", "Update", "Delete") if i else ("Put", "Update"))
            if kind == "Put":
                actions.append({"Put": {"TableName": table, "Item": image}})
            elif kind == "Update":
                actions.append({"Update": {"TableName": table, "Key": key_of(table, key), **update_for(table, image)}})
            else:
                image = None
                actions.append({"Delete": {"TableName": table, "Key": key_of(table, key)}})
            writes[(table, key)] = image
        fail = rng.random() < 0.1
        if checked is not None:
            current = self.state.get(checked)
            if current is None:
                cond, values = ("attribute_exists(pk)" if fail else "attribute_not_exists(pk)"), None
            else:
                cond, values = "ver = :v", {":v": current + (1 if fail else 0)}
            check = {"TableName": checked[0], "Key": key_of(*checked), "ConditionExpression": cond}
            if values:
                check["ExpressionAttributeValues"] = values
            actions.insert(rng.randrange(len(actions) + 1), {"ConditionCheck": check})
        else:
            fail = False
        self.intent(op_id, writes, "fail" if fail else "ok")
        try:
            self.db.transact_write_items(TransactItems=actions)
        except TransactionCanceledException:
            self.done(op_id, False)
            return
        for (table, key), image in writes.items():
            self.state[(table, key)] = None if image is None else ver
        self.done(op_id, True)


def main():
    directory, seed, round_, threads, ckpt_bytes = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), \
        int(sys.argv[4]), int(sys.argv[5])
    db = kvstore.open(directory, durability="sync", checkpoint_log_bytes=ckpt_bytes)
    existing = set(db.engine.tables)
    if "orders" not in existing:
        db.create_table(**ORDERS)
    if "ledger" not in existing:
        db.create_table(**LEDGER)
    state = {}
    for name in ("orders", "ledger"):
        for item in db.Table(name).scan(ConsistentRead=True)["Items"]:
            key = f"{item['pk']}|{int(item['sk'])}" if name == "orders" else item["pk"]
            state[(name, key)] = int(item["ver"])
    report = db.engine.recovery_report or {}
    out = threading.Lock()
    writers = [Writer(db, t, random.Random(f"{seed}-{round_}-{t}"), round_ * 10_000_000 + t * 1_000_000,
                      state, out) for t in range(threads)]
    os.write(1, (json.dumps({"ready": round_, "checkpoint": report.get("checkpoint"),
                             "records": report.get("records")}) + "\n").encode())
    for w in writers:
        threading.Thread(target=w.run, daemon=True).start()
    threading.Event().wait()


if __name__ == "__main__":
    main()
