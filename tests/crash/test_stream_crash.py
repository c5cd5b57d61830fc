"""kill -9 of a database writing to a stream-enabled table: the stream after recovery is exactly the
records of the acknowledged writes (plus, per key, at most the one write still in flight).

Round after round on the same directory, a child (stream_writer.py) writes under ``sync`` from three
threads with automatic checkpoints; the parent kills it at a random moment, reopens the directory and reads
the whole stream through GetRecords, following shard lineage.  It checks:

* every acknowledged write has one record per item, with NewImage = the image written and OldImage = the
  item's previous image (no record for anything not written);
* per key the records are in write order; an in-flight write appears entirely (a transaction: both items)
  or not at all;
* sequence numbers strictly increase across the whole stream, across restarts, and what one recovery
  showed is still there, unchanged, after the next crash.
"""

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from decimal import Decimal

import kvstore

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
WRITER = os.path.join(HERE, "stream_writer.py")
ROUNDS = 8
THREADS = 3


def _plain(value):
    if isinstance(value, Decimal):
        return int(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _run_child(directory, round_, rng):
    proc = subprocess.Popen([sys.executable, WRITER, directory, str(round_), str(THREADS), str(24 << 10)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    lines, ready = [], threading.Event()

    def read():
        for raw in proc.stdout:
            lines.append(json.loads(raw))
            ready.set()
    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    assert ready.wait(60), proc.stderr.read().decode(errors="replace")
    deadline = time.monotonic() + 60
    while sum(1 for line in lines if "ack" in line) < 20 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    time.sleep(rng.uniform(0.0, 0.8))
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(30)
    reader.join(30)
    err = proc.stderr.read().decode(errors="replace")
    assert "Traceback" not in err, err
    return lines


def _stream_records(db):
    client = db.client("dynamodbstreams")
    out = []
    for stream in sorted(client.list_streams(TableName="events")["Streams"], key=lambda s: s["StreamArn"]):
        arn = stream["StreamArn"]
        shards = client.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
        for shard in shards:                       # one stream, shards in creation order (parents first)
            iterator = client.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"],
                                                 ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
            while iterator:
                page = client.get_records(ShardIterator=iterator)
                out += page["Records"]
                iterator = page.get("NextShardIterator")
                if not page["Records"]:
                    break
    return out


def _native(image):
    if image is None:
        return None
    from boto3.dynamodb.types import TypeDeserializer
    d = TypeDeserializer()
    return _plain({k: d.deserialize(v) for k, v in image.items()})


def _check_round(lines, records):
    intents, acked = {}, set()
    for line in lines:
        if "id" in line:
            intents[line["id"]] = line["items"]
        elif "ack" in line:
            acked.add(line["ack"])
    in_flight = [i for i in intents if i not in acked]
    by_key = {}
    for r in records:
        key = r["dynamodb"]["Keys"]["pk"]["S"]
        by_key.setdefault(key, []).append(r)
    expected = {}
    for op_id, items in intents.items():
        for key, image in items.items():
            expected.setdefault(key, []).append((op_id, image))
    seen_in_flight = {}
    for key, writes in expected.items():
        got = by_key.get(key, [])
        assert len(got) in (len([w for w in writes if w[0] in acked]), len(writes)), (key, len(got), writes)
        previous = None
        for (op_id, image), record in zip(writes, got):
            assert record["eventName"] == ("REMOVE" if image is None else "INSERT" if previous is None else "MODIFY")
            assert _native(record["dynamodb"].get("NewImage")) == image
            assert _native(record["dynamodb"].get("OldImage")) == previous
            previous = image
            if op_id not in acked:
                seen_in_flight.setdefault(op_id, set()).add(key)
        for key_left in by_key:
            assert key_left in expected, f"a record for {key_left}, which nothing wrote"
    for op_id, keys in seen_in_flight.items():
        assert keys == set(intents[op_id]), f"in-flight {op_id} recorded partly: {keys}"
    return in_flight


def test_stream_survives_kill9(tmp_path):
    directory = str(tmp_path / "db")
    rng = random.Random(20261205)
    previous = []
    for round_ in range(ROUNDS):
        lines = _run_child(directory, round_, rng)
        with kvstore.open(directory, durability="sync") as db:
            records = _stream_records(db)
        numbers = [int(r["dynamodb"]["SequenceNumber"]) for r in records]
        assert numbers == sorted(set(numbers)), "sequence numbers must strictly increase"
        assert records[:len(previous)] == previous, "a recovery changed records an earlier one showed"
        mine = [r for r in records if r["dynamodb"]["Keys"]["pk"]["S"].startswith(f"r{round_}-")]
        assert sum(1 for line in lines if "ack" in line) > 0
        _check_round(lines, mine)
        previous = records
