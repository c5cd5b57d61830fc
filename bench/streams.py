"""DynamoDB Streams: what a stream costs a write, how fast records are read, how soon consumers see them.

    python -m bench.streams [--seconds 1.0] [--rounds 7] [--records 20000] [--rate 10000] [--md FILE] [--json FILE]

* **put**: ``Table.put_item`` of ~200-byte items over 10k keys (so nearly every put replaces an item and a
  NEW_AND_OLD_IMAGES stream logs its old image), to a table with a NEW_AND_OLD_IMAGES stream and to the same
  table without one, in one database, in interleaved rounds; each round times every put; the rows are
  p50/p99 over all rounds and the ratio stream / no stream.  In memory and on disk (``batch``).
* **get_records**: records/s read with GetRecords at Limit 1000 from a shard of ``--records`` records:
  in process (``db.client("dynamodbstreams")``, boto3's shape) and over the wire (boto3 ``dynamodbstreams``
  client against ``kvstore serve`` on this machine: JSON, HTTP, botocore parsing included).
* **lag**: a writer puts at ``--rate`` writes/s (paced) while an in-process reader (``table.stream()``)
  blocks for records; lag = delivery time minus the time taken just before ``put_item`` was called (an
  upper bound of commit-to-delivery); p50/p99.  In memory and on disk (``batch``: the reader makes the log
  durable through each record it hands out).

Targets (issue #11): stream put p50 <= 1.3x without; consumer lag p99 < 5 ms at 10k writes/s.
"""

import argparse
import json
import os
import random
import shutil
import string
import sys
import tempfile
import threading
import time

from .histogram import Histogram
from .machine import describe, load_average, one_line

KEYS = 10_000
SCHEMA = dict(KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
              AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
STREAM = {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}


def _items(rng, n):
    pad = "".join(rng.choice(string.ascii_letters) for _ in range(160))
    return [{"pk": f"k{rng.randrange(KEYS):05d}", "n": i, "s": pad[: 120 + rng.randrange(40)]} for i in range(n)]


def bench_put(path, seconds, rounds):
    import kvstore
    db = kvstore.open(path, durability="batch") if path else kvstore.open(":memory:")
    try:
        tables = {"no stream": db.create_table(TableName="plain", **SCHEMA),
                  "NEW_AND_OLD_IMAGES": db.create_table(TableName="stream", StreamSpecification=STREAM, **SCHEMA)}
        rng = random.Random(7)
        for table in tables.values():                       # every key present: puts are MODIFYs
            for i in range(KEYS):
                table.put_item(Item={"pk": f"k{i:05d}", "n": -1})
        samples = {name: [] for name in tables}
        items = _items(rng, 50_000)
        clock = time.perf_counter_ns
        for r in range(rounds):
            order = list(tables.items()) if r % 2 == 0 else list(reversed(tables.items()))
            for name, table in order:
                put = table.put_item
                out = samples[name]
                deadline = time.monotonic() + seconds
                i = 0
                while time.monotonic() < deadline:
                    item = items[i % len(items)]
                    t0 = clock()
                    put(Item=item)
                    out.append(clock() - t0)
                    i += 1
        result = {}
        for name, ns in samples.items():
            stats = Histogram.of(ns).micros()
            result[name] = {"p50_us": stats["p50_us"], "p99_us": stats["p99_us"], "count": stats["n"]}
        base, stream = result["no stream"], result["NEW_AND_OLD_IMAGES"]
        result["ratio_p50"] = stream["p50_us"] / base["p50_us"]
        result["ratio_p99"] = stream["p99_us"] / base["p99_us"]
        return result
    finally:
        db.close()


def _fill(db, records):
    table = db.create_table(TableName="stream", StreamSpecification=STREAM, **SCHEMA)
    rng = random.Random(3)
    for item in _items(rng, records):
        table.put_item(Item=dict(item, pk=f"k{item['n']}"))
    arn = table.describe()["LatestStreamArn"]
    return table, arn


def _read_all(client, arn):
    shard = client.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = client.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    count = 0
    t0 = time.perf_counter()
    while iterator:
        page = client.get_records(ShardIterator=iterator, Limit=1000)
        count += len(page["Records"])
        if not page["Records"]:
            break
        iterator = page.get("NextShardIterator")
    return count, time.perf_counter() - t0


class _RawClient:
    """GetRecords over HTTP without botocore: the server's side of the cost (JSON is parsed, not converted)."""

    def __init__(self, url):
        import http.client
        from urllib.parse import urlsplit
        parts = urlsplit(url)
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port)

    def _post(self, action, body):
        self.conn.request("POST", "/", json.dumps(body), {
            "Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": f"DynamoDBStreams_20120810.{action}"})
        return json.loads(self.conn.getresponse().read())

    def describe_stream(self, **kw):
        return self._post("DescribeStream", kw)

    def get_shard_iterator(self, **kw):
        return self._post("GetShardIterator", kw)

    def get_records(self, **kw):
        return self._post("GetRecords", kw)


def bench_get_records(records, rounds):
    import boto3
    from botocore.config import Config

    import kvstore
    from kvstore.server.app import ServerThread
    from kvstore.server.handler import RequestHandler
    db = kvstore.open(":memory:")
    try:
        _table, arn = _fill(db, records)
        out = {}
        runs = {"in process": [], "wire (raw HTTP + json.loads)": [], "wire (boto3)": []}
        with ServerThread(RequestHandler(db.engine)) as running:
            wire = boto3.client("dynamodbstreams", endpoint_url=running.url, region_name="us-east-1",
                                aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret",
                                config=Config(retries={"max_attempts": 1}))
            raw = _RawClient(running.url)
            for _ in range(rounds):
                for name, client in (("in process", db.client("dynamodbstreams")), ("wire (raw HTTP + json.loads)", raw),
                                     ("wire (boto3)", wire)):
                    count, took = _read_all(client, arn)
                    assert count == records, (count, records)
                    runs[name].append(count / took)
        for name, rates in runs.items():
            rates.sort()
            out[name] = {"records_per_s": rates[len(rates) // 2], "min": rates[0], "max": rates[-1]}
        return out
    finally:
        db.close()


def bench_lag(path, rate, seconds):
    import kvstore
    db = kvstore.open(path, durability="batch") if path else kvstore.open(":memory:")
    try:
        table = db.create_table(TableName="stream", StreamSpecification=STREAM, **SCHEMA)
        reader = table.stream(start="LATEST", timeout=2.0)
        lags = []
        total = int(rate * seconds)
        clock = time.perf_counter_ns

        def consume():
            for record in reader:
                lags.append(clock() - int(record["dynamodb"]["NewImage"]["t"]))
                if len(lags) >= total:
                    return
        consumer = threading.Thread(target=consume)
        consumer.start()
        rng = random.Random(5)
        pad = "x" * 150
        interval = 1e9 / rate
        start = clock()
        for i in range(total):
            due = start + i * interval
            ahead = due - clock()
            if ahead > 200_000:                       # sleep (releasing the GIL) when 0.2 ms early or more
                time.sleep(ahead / 1e9)
            table.put_item(Item={"pk": f"k{rng.randrange(KEYS):05d}", "t": clock(), "s": pad})
        achieved = total / ((clock() - start) / 1e9)
        consumer.join(30)
        stats = Histogram.of([max(0, lag) for lag in lags]).micros()
        return {"p50_us": stats["p50_us"], "p99_us": stats["p99_us"], "max_us": stats["max_us"],
                "delivered": len(lags), "written": total, "achieved_writes_per_s": achieved}
    finally:
        db.close()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--rate", type=int, default=10_000)
    parser.add_argument("--low-rate", type=int, default=2_000,
                        help="a second lag run at a rate a loaded machine sustains (the mechanism's own latency)")
    parser.add_argument("--md")
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    machine = describe()
    tmp = tempfile.mkdtemp(prefix="kvstore-bench-streams-")
    try:
        results = {"machine": machine, "load_before": load_average()}
        results["put_memory"] = bench_put(None, args.seconds, args.rounds)
        results["put_batch"] = bench_put(os.path.join(tmp, "put"), args.seconds, args.rounds)
        results["get_records"] = bench_get_records(args.records, max(3, args.rounds // 2))
        results["lag_memory"] = bench_lag(None, args.rate, 3.0)
        results["lag_batch"] = bench_lag(os.path.join(tmp, "lag"), args.rate, 3.0)
        results["lag_memory_low"] = bench_lag(None, args.low_rate, 3.0)
        results["lag_batch_low"] = bench_lag(os.path.join(tmp, "lag-low"), args.low_rate, 3.0)
        results["load_after"] = load_average()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    text = render(results, args)
    print(text)
    if args.md:
        with open(args.md, "w") as f:
            f.write(text)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1, default=str)


def render(r, args):
    lines = ["# Streams benchmark", "",
             f"Machine: {one_line(r['machine'])}; load average {r['load_before']} before, "
             f"{r['load_after']} after (2 cores shared; only same-run ratios mean much).", "",
             f"`python -m bench.streams --seconds {args.seconds} --rounds {args.rounds} --records {args.records} "
             f"--rate {args.rate}`", "",
             "## PutItem with and without a NEW_AND_OLD_IMAGES stream (interleaved rounds, same database)", "",
             "| database | table | p50 (us) | p99 (us) | puts timed |", "|---|---|---|---|---|"]
    for where in ("put_memory", "put_batch"):
        label = "`:memory:`" if where == "put_memory" else "directory, `batch`"
        for name in ("no stream", "NEW_AND_OLD_IMAGES"):
            row = r[where][name]
            lines.append(f"| {label} | {name} | {row['p50_us']:.1f} | {row['p99_us']:.1f} | {row['count']} |")
        lines.append(f"| {label} | **ratio** | **{r[where]['ratio_p50']:.2f}x** | {r[where]['ratio_p99']:.2f}x | |")
    lines += ["", "Target: p50 ratio at most 1.3x.", "",
              f"## GetRecords throughput (Limit 1000, a shard of {args.records} records, median of rounds)", "",
              "| reader | records/s (median) | min | max |", "|---|---|---|---|"]
    for name, row in r["get_records"].items():
        lines.append(f"| {name} | {row['records_per_s']:,.0f} | {row['min']:,.0f} | {row['max']:,.0f} |")
    lines += ["", "## In-process consumer lag (`table.stream()`, commit to delivery)", "",
              "| database | target rate (writes/s) | p50 (us) | p99 (us) | max (us) | delivered / written | "
              "writes/s achieved |", "|---|---|---|---|---|---|---|"]
    for where, rate in (("lag_memory", args.rate), ("lag_batch", args.rate), ("lag_memory_low", args.low_rate),
                        ("lag_batch_low", args.low_rate)):
        row = r[where]
        label = "`:memory:`" if where.startswith("lag_memory") else "directory, `batch`"
        lines.append(f"| {label} | {rate} | {row['p50_us']:.0f} | {row['p99_us']:.0f} | {row['max_us']:.0f} | "
                     f"{row['delivered']} / {row['written']} | {row['achieved_writes_per_s']:,.0f} |")
    lines += ["", "Target: p99 under 5 ms (5000 us).", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
