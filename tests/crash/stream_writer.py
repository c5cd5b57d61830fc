"""The child of test_stream_crash.py: writes to a stream-enabled table until it is killed.

    python tests/crash/stream_writer.py DIR ROUND THREADS CHECKPOINT_LOG_BYTES

Opens DIR under ``sync``; creates ``events`` (a NEW_AND_OLD_IMAGES stream) if
it is missing; prints ``{"ready": 1}``; then THREADS threads write keys of
their own (``r<ROUND>-t<T>-k<K>``): puts, updates, deletes of present items
and two-item transactions.  Before each operation a thread prints its intent
(``{"id", "items": {key: image or null}}``), afterwards ``{"ack": id}``.
Every write changes its items, so every acknowledged write must have exactly
one stream record per item.
"""

import json
import os
import random
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

import kvstore  # noqa: E402

EVENTS = dict(TableName="events", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
              AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST",
              StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
_out = threading.Lock()


def say(obj):
    line = (json.dumps(obj) + "\n").encode()
    with _out:
        os.write(1, line)


def writer(db, round_, t, ids):
    table = db.Table("events")
    rng = random.Random(round_ * 100 + t)
    keys = [f"r{round_}-t{t}-k{k}" for k in range(6)]
    present = {}
    version = 0
    while True:
        version += 1
        op_id = f"{round_}-{t}-{version}"
        kind = rng.random()
        a, b = rng.sample(keys, 2)
        if kind < 0.2 and a in present:
            say({"id": op_id, "items": {a: None}})
            table.delete_item(Key={"pk": a})
            del present[a]
        elif kind < 0.35:
            images = {a: {"pk": a, "v": version, "tx": op_id}, b: {"pk": b, "v": version, "tx": op_id}}
            say({"id": op_id, "items": images})
            db.transact_write_items(TransactItems=[{"Put": {"TableName": "events", "Item": images[a]}},
                                                   {"Put": {"TableName": "events", "Item": images[b]}}])
            present.update(images)
        elif kind < 0.6 and a in present:
            image = dict(present[a], v=version, u=version)
            say({"id": op_id, "items": {a: image}})
            table.update_item(Key={"pk": a}, UpdateExpression="SET v = :v, u = :v",
                              ExpressionAttributeValues={":v": version})
            present[a] = image
        else:
            image = {"pk": a, "v": version, "pad": "x" * rng.randrange(200)}
            say({"id": op_id, "items": {a: image}})
            table.put_item(Item=image)
            present[a] = image
        say({"ack": op_id})


def main():
    directory, round_, threads, checkpoint_bytes = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    db = kvstore.open(directory, durability="sync", checkpoint_log_bytes=checkpoint_bytes)
    if "events" not in [t.name for t in db.tables.all()]:
        db.create_table(**EVENTS)
    say({"ready": 1})
    for t in range(threads):
        threading.Thread(target=writer, args=(db, round_, t, None), daemon=True).start()
    threading.Event().wait()


if __name__ == "__main__":
    main()
