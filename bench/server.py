"""Benchmark of the DynamoDB wire face: ``python -m bench.server``.

What it measures, in one run on this machine:

* GetItem, PutItem and Query over HTTP with a raw keep-alive client sending
  pre-built bodies (so the numbers are the server's, not a client library's),
  at 1 and 8 connections: p50 / p99 / p99.9 latency and operations per second;
* the same client against a do-nothing HTTP server (asyncio + httptools,
  canned body) in the same run: the floor any Python server on this machine has;
* the same operations through boto3 over HTTP;
* botocore's own per-call cost against a null transport (a ``before-send``
  hook returning a canned response), against the in-process hook
  (``kvstore.testing.mock_dynamodb``) and against the server;
* start-up time of ``kvstore serve`` to its first answered request, and its
  idle resident memory.

Every server runs as a subprocess on 127.0.0.1; client processes are forked.
Loops are bounded in time and count.  The targets of the wire face are
checked at the end (PASS / MISS lines).

    python -m bench.server                      # defaults: 10k items, 2 s per measurement
    python -m bench.server --seconds 1 --json out.json
"""

import argparse
import json
import multiprocessing
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from array import array

from .histogram import Histogram
from .machine import describe, load_average, rss_bytes
from .targets.http import Connection, WireClient
from .targets.serve import KvstoreServer, free_port

TABLE = "bench_server"
PARTITION_ITEMS = 10           # items under one partition key: what a Query returns


# ------------------------------------------------------------------ raw HTTP
#
# The client is targets/http.py's: requests are built (and SigV4-signed by botocore) before
# the timed loop, and a timed request is one sendall and one response read on a keep-alive
# socket.  Its own cost is part of every latency measured here, the floor's too; http.client
# would add to both (see bench/README.md, "The raw HTTP client").


def wire(port):
    """A WireClient that builds signed requests for the server on ``port``."""
    return WireClient(f"http://127.0.0.1:{port}", {})


def _raw_worker(port, requests, seconds, max_ops, seed, out):
    rnd = random.Random(seed)
    conn = Connection("127.0.0.1", port)
    latencies = array("q")
    n = len(requests)
    i = rnd.randrange(n)
    deadline = time.perf_counter() + seconds
    errors = 0
    while len(latencies) < max_ops:
        t0 = time.perf_counter_ns()
        status, _ = conn.roundtrip(requests[i])
        latencies.append(time.perf_counter_ns() - t0)
        errors += status != 200
        i = (i + 1) % n
        if (len(latencies) & 63) == 0 and time.perf_counter() > deadline:
            break
    conn.close()
    out.put((latencies.tobytes(), errors))


def run_clients(worker, args_of, concurrency, seconds):
    """Run ``concurrency`` forked client processes; (all latencies in ns, ops/s, errors)."""
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    procs = [ctx.Process(target=worker, args=(*args_of(k), queue)) for k in range(concurrency)]
    t0 = time.perf_counter()
    for p in procs:
        p.start()
    latencies = array("q")
    errors = 0
    for _ in procs:
        data, errs = queue.get(timeout=seconds * 10 + 60)
        latencies.frombytes(data)
        errors += errs
    elapsed = time.perf_counter() - t0
    for p in procs:
        p.join()
    return latencies, len(latencies) / elapsed, errors


def summarize(latencies, ops):
    micros = Histogram.of(latencies).micros()
    return {"n": micros["n"], "ops_per_s": round(ops), "p50_us": round(micros["p50_us"], 1),
            "p99_us": round(micros["p99_us"], 1), "p999_us": round(micros["p999_us"], 1)}


# ------------------------------------------------------------------ servers

def start_kvstore(data_dir=None, extra=()):
    """A started ``kvstore serve`` (polled every 2 ms, so ``started_in`` is the time to its first answer)."""
    return KvstoreServer(data_dir, extra).start(poll=0.002)


_FLOOR_SERVER = r'''
import asyncio, sys, httptools
BODY = b'{"Item":{"pk":{"S":"p000001"},"sk":{"N":"1"},"v":{"S":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}}}'
RESP = (b"HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.0\r\nContent-Length: %d\r\n"
        b"x-amzn-RequestId: AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\r\nx-amz-crc32: 0\r\n\r\n"
        % len(BODY)) + BODY
class P(asyncio.Protocol):
    def connection_made(self, t):
        self.t = t; self.p = httptools.HttpRequestParser(self); self.h = {}; self.b = []
    def data_received(self, d):
        self.p.feed_data(d)
    def on_header(self, k, v): self.h[k.lower()] = v
    def on_body(self, b): self.b.append(b)
    def on_message_complete(self):
        self.t.write(RESP); self.h = {}; self.b = []
async def main():
    s = await asyncio.get_running_loop().create_server(P, "127.0.0.1", int(sys.argv[1]))
    await s.serve_forever()
asyncio.run(main())
'''


def start_floor():
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", _FLOOR_SERVER, str(port)])
    for _ in range(3000):
        try:
            socket.create_connection(("127.0.0.1", port)).close()
            return proc, port
        except OSError:
            time.sleep(0.005)
    proc.kill()
    raise RuntimeError("floor server did not start")


# ------------------------------------------------------------------ data and requests

def pk(i):
    return f"p{i:06d}"


def preload(port, items):
    client = wire(port)
    conn = client.connection()
    create = {"TableName": TABLE, "BillingMode": "PAY_PER_REQUEST",
              "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
              "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"},
                                       {"AttributeName": "sk", "AttributeType": "N"}]}
    client.call(conn, "CreateTable", create)
    writes = []
    for i in range(items):
        writes.append({"PutRequest": {"Item": item(i // PARTITION_ITEMS, i % PARTITION_ITEMS)}})
        if len(writes) == 25:
            client.call(conn, "BatchWriteItem", {"RequestItems": {TABLE: writes}})
            writes = []
    if writes:
        client.call(conn, "BatchWriteItem", {"RequestItems": {TABLE: writes}})
    conn.close()


def item(p, s):
    return {"pk": {"S": pk(p)}, "sk": {"N": str(s)}, "v": {"S": "x" * 100}}


def request_sets(port, items, count=2000, seed=7):
    build = wire(port).build
    rnd = random.Random(seed)
    partitions = max(1, items // PARTITION_ITEMS)
    get, put, query = [], [], []
    for _ in range(count):
        p, s = rnd.randrange(partitions), rnd.randrange(PARTITION_ITEMS)
        get.append(build("GetItem", {"TableName": TABLE, "Key": {"pk": {"S": pk(p)}, "sk": {"N": str(s)}}}))
        put.append(build("PutItem", {"TableName": TABLE, "Item": item(p, s)}))
        query.append(build("Query", {"TableName": TABLE, "KeyConditionExpression": "pk = :p",
                                            "ExpressionAttributeValues": {":p": {"S": pk(p)}}}))
    return {"GetItem": get, "PutItem": put, "Query": query}


# ------------------------------------------------------------------ boto3

def _boto3_client(port):
    import boto3
    from botocore.config import Config
    return boto3.client("dynamodb", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                        aws_access_key_id="bench", aws_secret_access_key="bench",
                        config=Config(retries={"max_attempts": 1}, max_pool_connections=4))


def _boto3_calls(client, items, seed):
    rnd = random.Random(seed)
    partitions = max(1, items // PARTITION_ITEMS)

    def one(op):
        p, s = rnd.randrange(partitions), rnd.randrange(PARTITION_ITEMS)
        if op == "GetItem":
            return client.get_item(TableName=TABLE, Key={"pk": {"S": pk(p)}, "sk": {"N": str(s)}})
        if op == "PutItem":
            return client.put_item(TableName=TABLE, Item=item(p, s))
        return client.query(TableName=TABLE, KeyConditionExpression="pk = :p",
                            ExpressionAttributeValues={":p": {"S": pk(p)}})
    return one


def _boto3_worker(port, op, items, seconds, max_ops, seed, out):
    client = _boto3_client(port)
    call = _boto3_calls(client, items, seed)
    for _ in range(20):
        call(op)
    latencies = array("q")
    deadline = time.perf_counter() + seconds
    while len(latencies) < max_ops:
        t0 = time.perf_counter_ns()
        call(op)
        latencies.append(time.perf_counter_ns() - t0)
        if (len(latencies) & 15) == 0 and time.perf_counter() > deadline:
            break
    out.put((latencies.tobytes(), 0))


def per_call_costs(port, items, calls):
    """Mean microseconds per GetItem: botocore + null transport, + in-process hook, + the server."""
    import boto3
    from botocore.awsrequest import AWSResponse

    import kvstore
    from kvstore.testing import mock_dynamodb

    body = json.dumps({"Item": item(1, 1)}).encode()
    import zlib
    headers = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-RequestId": "A" * 52,
               "x-amz-crc32": str(zlib.crc32(body) & 0xFFFFFFFF), "Content-Length": str(len(body))}

    class Raw:
        def stream(self, **kw):
            yield body

    def null_send(request, **kwargs):
        return AWSResponse(request.url, 200, headers, Raw())

    key = {"pk": {"S": pk(1)}, "sk": {"N": "1"}}

    def timed_once(client, n):
        t0 = time.perf_counter()
        for _ in range(n):
            client.get_item(TableName=TABLE, Key=key)
        return (time.perf_counter() - t0) / n * 1e6

    from botocore import UNSIGNED

    def null_client(signed):
        client = boto3.client("dynamodb", endpoint_url="http://127.0.0.1:9", region_name="us-east-1",
                              aws_access_key_id="bench", aws_secret_access_key="bench")
        client.meta.events.register("before-send", null_send)
        if not signed:              # the hook does not sign: compare it with an unsigned null transport too
            client.meta.events.register("choose-signer", lambda **kw: UNSIGNED)
        return client

    # Clients made while the mock is active are routed to it (before-send), whatever their
    # endpoint: the null-transport and server clients are made before it starts.
    clients = {"null_transport_us": null_client(True), "null_transport_unsigned_us": null_client(False),
               "server_us": _boto3_client(port)}
    db = kvstore.open(":memory:")
    mock = mock_dynamodb(db).start()
    try:
        hook = mock.client()
        hook.create_table(TableName=TABLE, BillingMode="PAY_PER_REQUEST",
                          KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                                     {"AttributeName": "sk", "KeyType": "RANGE"}],
                          AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                                {"AttributeName": "sk", "AttributeType": "N"}])
        hook.put_item(TableName=TABLE, Item=item(1, 1))
        clients["hook_us"] = hook
        for client in clients.values():
            timed_once(client, 50)
        # interleaved rounds, best round kept: the machine may be shared
        best = {name: float("inf") for name in clients}
        for _ in range(5):
            for name, client in clients.items():
                best[name] = min(best[name], timed_once(client, max(1, calls // 5)))
    finally:
        mock.stop()
        db.close()
    return {k: round(v, 1) for k, v in best.items()}


# ------------------------------------------------------------------ main

def cpu_seconds(pid):
    """User + system CPU seconds of a process (from /proc: no dependency)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        return None


def per_request(cpu0, cpu1, n):
    """Server CPU microseconds per request: robust where wall-clock latency is not (a shared machine)."""
    if cpu0 is None or cpu1 is None or not n:
        return None
    return round((cpu1 - cpu0) / n * 1e6, 1)


def log_counts(port):
    """``(fsyncs, records)`` of the server's write-ahead log from its own ``GET /metrics``, or None (in
    memory, metrics off, or no answer)."""
    import urllib.request

    try:
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    except OSError:
        return None
    found = {}
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if name in ("kvstore_log_fsyncs_total", "kvstore_log_records_total"):
            found[name] = float(value)
    if len(found) != 2:
        return None
    return found["kvstore_log_fsyncs_total"], found["kvstore_log_records_total"]


def records_per_fsync(before, after):
    """Log records per fsync (group commit) between two ``log_counts``; None without a figure."""
    if before is None or after is None or after[0] <= before[0]:
        return None
    return round((after[1] - before[1]) / (after[0] - before[0]), 2)


def rss_mb(pid):
    rss = rss_bytes(pid)
    return None if rss is None else round(rss / 2**20, 1)


def _quantiles(xs):
    """min / p25 / median / p75 / max of a few numbers (nearest rank)."""
    xs = sorted(xs)
    pick = lambda q: xs[min(len(xs) - 1, int(q * len(xs)))]  # noqa: E731
    return {"min": xs[0], "p25": pick(0.25), "median": pick(0.5), "p75": pick(0.75), "max": xs[-1]}


def paired_rounds(port, floor_port, requests, args, pids=None):
    """GetItem and the do-nothing floor at one connection, alternating in short rounds.

    The latency ratio is the target; on a shared machine the load moves between
    two long measurements, so each round measures both back to back and the
    report keeps the median of the per-round ratios (and their spread), and the
    servers' CPU per request in the same rounds (``pids``: {"floor": pid, "GetItem": pid}).
    """
    seconds = max(0.5, args.seconds / 2)
    rounds = []
    for _ in range(args.rounds):
        pair = {}
        for name, p in (("floor", floor_port), ("GetItem", port)):
            pid = (pids or {}).get(name)
            cpu0 = cpu_seconds(pid) if pid else None
            lat, ops, _ = run_clients(_raw_worker, lambda k, p=p: (p, requests, seconds, args.max_ops, k), 1, seconds)
            pair[name] = summarize(lat, ops)["p50_us"]
            if pid:
                pair[name + "_cpu_us"] = per_request(cpu0, cpu_seconds(pid), len(lat))
        pair["ratio"] = round(pair["GetItem"] / pair["floor"], 2)
        rounds.append(pair)
        print(f"pair  c=1: floor p50 {pair['floor']} us, GetItem p50 {pair['GetItem']} us, ratio {pair['ratio']}"
              + (f"; server CPU/req floor {pair.get('floor_cpu_us')} us, GetItem {pair.get('GetItem_cpu_us')} us"
                 if pids else ""), flush=True)
    median = lambda xs: sorted(xs)[len(xs) // 2]  # noqa: E731
    out = {"rounds": rounds, "floor_p50_us": median([r["floor"] for r in rounds]),
           "getitem_p50_us": median([r["GetItem"] for r in rounds]), "ratio": median([r["ratio"] for r in rounds]),
           "ratio_spread": _quantiles([r["ratio"] for r in rounds])}
    for name in ("floor", "GetItem"):
        cpus = [r[name + "_cpu_us"] for r in rounds if r.get(name + "_cpu_us") is not None]
        if cpus:
            out[name + "_cpu_us"] = median(cpus)
    return out


def paired_sync_rounds(port, requests, args, directory, pid=None):
    """Under ``--durability sync``: PutItem over the wire with 8 connections against sqlite3 (WAL,
    ``synchronous=FULL``) committing from 8 threads in this process on the same disk, alternating
    in rounds of ``args.seconds`` (issue 17: at least 4x sqlite3 FULL's commit rate).  An fsync's
    cost moves with the disk's other users, so each round measures both back to back and the
    median of the per-round ratios is the figure."""
    from .durability import bench_sqlite
    rounds = []
    for _ in range(args.sync_rounds):
        log0 = log_counts(port)
        cpu0 = cpu_seconds(pid) if pid else None
        lat, ops, errors = run_clients(
            _raw_worker, lambda k: (port, requests, args.seconds, args.max_ops, k), 8, args.seconds)
        pair = {"PutItem": round(ops), "errors": errors, "records_per_fsync": records_per_fsync(log0, log_counts(port)),
                "server_cpu_us": per_request(cpu0, cpu_seconds(pid), len(lat)) if pid else None}
        pair["sqlite FULL"] = round(bench_sqlite(directory, "FULL", 8, args.seconds)["ops_per_s"])
        pair["ratio"] = round(pair["PutItem"] / pair["sqlite FULL"], 2)
        rounds.append(pair)
        print(f"sync  c=8: PutItem {pair['PutItem']}/s ({pair['records_per_fsync']} records per fsync, server "
              f"CPU {pair['server_cpu_us']} us/req), sqlite3 FULL x8 {pair['sqlite FULL']} commits/s, "
              f"ratio {pair['ratio']}", flush=True)
    median = lambda xs: sorted(xs)[len(xs) // 2]  # noqa: E731
    return {"rounds": rounds, "ratio": median([r["ratio"] for r in rounds]),
            "ratio_spread": _quantiles([r["ratio"] for r in rounds])}


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m bench.server", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--items", type=int, default=10_000)
    p.add_argument("--seconds", type=float, default=2.0, help="length of each measurement")
    p.add_argument("--max-ops", type=int, default=200_000, help="cap on requests per client per measurement")
    p.add_argument("--concurrency", default="1,8")
    p.add_argument("--durability", default="batch", choices=("sync", "batch", "none"))
    p.add_argument("--in-memory", action="store_true", help="serve :memory: instead of a temporary directory")
    p.add_argument("--all-in-threads", action="store_true",
                   help="serve every request from the thread pool (to compare with inline reads)")
    p.add_argument("--no-boto3", action="store_true")
    p.add_argument("--calls", type=int, default=2000, help="calls for the per-call cost comparison")
    p.add_argument("--rounds", type=int, default=5,
                   help="alternating floor / GetItem rounds at one connection for the latency ratio (0: none)")
    p.add_argument("--sync-rounds", type=int, default=3,
                   help="under --durability sync: alternating rounds of PutItem at 8 connections and sqlite3 "
                        "FULL at 8 threads (0: none)")
    p.add_argument("--json", metavar="FILE")
    args = p.parse_args(argv)
    levels = [int(c) for c in args.concurrency.split(",")]

    report = {"machine": describe(),
              "workload": {"items": args.items, "seconds": args.seconds, "durability": args.durability,
                           "item_bytes": 120, "query_items": PARTITION_ITEMS}}

    # start-up and idle memory, on a throw-away in-memory server
    startups = []
    for _ in range(3):
        with start_kvstore() as server:
            startups.append(server.started_in)
            time.sleep(0.3)
            idle = rss_mb(server.proc.pid)
    report["startup_ms"] = round(min(startups) * 1000, 1)
    report["idle_rss_mb"] = idle

    tmp = tempfile.mkdtemp(prefix="kvbench-server-")
    extra = ["--durability", args.durability]
    if args.all_in_threads:
        extra += ["--all-in-threads"]
    server = start_kvstore(None if args.in_memory else os.path.join(tmp, "db"), extra)
    proc, port = server.proc, server.port
    floor_proc, floor_port = start_floor()
    try:
        preload(port, args.items)
        requests = request_sets(port, args.items)
        raw = {}
        for op in ("GetItem", "PutItem", "Query"):
            for c in levels:
                # (the /metrics request before the CPU reading, so its cost is not counted as the workload's)
                log0 = log_counts(port) if op == "PutItem" and args.durability == "sync" else None
                cpu0 = cpu_seconds(proc.pid)
                lat, ops, errors = run_clients(
                    _raw_worker, lambda k, op=op: (port, requests[op], args.seconds, args.max_ops, k), c, args.seconds)
                raw[f"{op} c={c}"] = dict(summarize(lat, ops), errors=errors,
                                          server_cpu_us=per_request(cpu0, cpu_seconds(proc.pid), len(lat)))
                if log0 is not None:
                    raw[f"{op} c={c}"]["records_per_fsync"] = records_per_fsync(log0, log_counts(port))
                print(f"raw   {op:8} c={c}: {raw[f'{op} c={c}']}", flush=True)
        for c in levels:
            cpu0 = cpu_seconds(floor_proc.pid)
            lat, ops, _ = run_clients(
                _raw_worker, lambda k: (floor_port, requests["GetItem"], args.seconds, args.max_ops, k), c,
                args.seconds)
            raw[f"floor c={c}"] = dict(summarize(lat, ops),
                                       server_cpu_us=per_request(cpu0, cpu_seconds(floor_proc.pid), len(lat)))
            print(f"raw   floor    c={c}: {raw[f'floor c={c}']}", flush=True)
        report["raw_http"] = raw
        if 1 in levels and args.rounds:
            report["paired_c1"] = paired_rounds(port, floor_port, requests["GetItem"], args,
                                                {"floor": floor_proc.pid, "GetItem": proc.pid})
        if args.durability == "sync" and not args.in_memory and args.sync_rounds:
            report["paired_sync"] = paired_sync_rounds(port, requests["PutItem"], args, tmp, proc.pid)

        if not args.no_boto3:
            b3 = {}
            for op in ("GetItem", "PutItem", "Query"):
                for c in levels:
                    lat, ops, _ = run_clients(
                        _boto3_worker, lambda k, op=op: (port, op, args.items, args.seconds, args.max_ops, k), c,
                        args.seconds)
                    b3[f"{op} c={c}"] = summarize(lat, ops)
                    print(f"boto3 {op:8} c={c}: {b3[f'{op} c={c}']}", flush=True)
            report["boto3_http"] = b3
            report["per_call_getitem"] = per_call_costs(port, args.items, args.calls)
            print("per-call GetItem (us):", report["per_call_getitem"], flush=True)
        report["loaded_rss_mb"] = rss_mb(proc.pid)
    finally:
        server.stop()
        floor_proc.terminate()
        floor_proc.wait()

    report["machine"]["load_average_at_end"] = load_average()
    report["targets"] = check_targets(report, levels)
    print()
    print(render(report))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)
    return 0


def check_targets(r, levels):
    raw = r["raw_http"]
    out = []

    def check(name, value, ok, goal):
        out.append({"target": name, "value": value, "goal": goal, "met": bool(ok)})

    if "paired_c1" in r:
        ratio = r["paired_c1"]["ratio"]
        check("raw GetItem p50 vs do-nothing floor, c=1 (median of paired rounds)", ratio, ratio <= 1.5, "<= 1.5x")
    elif 1 in levels:
        g, f = raw["GetItem c=1"], raw["floor c=1"]
        check("raw GetItem p50 vs do-nothing floor, c=1", round(g["p50_us"] / f["p50_us"], 2),
              g["p50_us"] <= 1.5 * f["p50_us"], "<= 1.5x")
    if 1 in levels:
        g = raw["GetItem c=1"]
        check("raw GetItem p99, c=1 (us)", g["p99_us"], g["p99_us"] < 1000, "< 1000")
    if 8 in levels:
        check("raw GetItem ops/s, c=8", raw["GetItem c=8"]["ops_per_s"], raw["GetItem c=8"]["ops_per_s"] >= 20000,
              ">= 20000")
        check("raw PutItem ops/s, c=8", raw["PutItem c=8"]["ops_per_s"], raw["PutItem c=8"]["ops_per_s"] >= 10000,
              ">= 10000")
    if "paired_sync" in r:
        ratio = r["paired_sync"]["ratio"]
        check("raw PutItem under sync, c=8, vs sqlite3 FULL commits from 8 threads (median of paired rounds)",
              ratio, ratio >= 4, ">= 4x")
    if "per_call_getitem" in r:
        pc = r["per_call_getitem"]
        over = pc["hook_us"] / pc["null_transport_unsigned_us"] - 1
        check("boto3 in-process hook over botocore's (unsigned) null transport", f"{over:+.0%}", over <= 0.2,
              "<= +20%")
    check("start-up to first answer (ms)", r["startup_ms"], r["startup_ms"] < 300, "< 300")
    if r["idle_rss_mb"] is not None:
        check("idle RSS (MB)", r["idle_rss_mb"], r["idle_rss_mb"] < 60, "< 60")
    return out


def render(r):
    lines = [f"machine: {r['machine']}", f"workload: {r['workload']}", "",
             "| measurement | ops/s | p50 us | p99 us | p99.9 us | server CPU us/req | records per fsync |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for section in ("raw_http", "boto3_http"):
        for name, s in r.get(section, {}).items():
            per_fsync = s.get("records_per_fsync")
            lines.append(f"| {section.split('_')[0]} {name} | {s['ops_per_s']} | {s['p50_us']} | {s['p99_us']} "
                         f"| {s['p999_us']} | {s.get('server_cpu_us', '')} | {'' if per_fsync is None else per_fsync} |")
    if "paired_c1" in r:
        pc = r["paired_c1"]
        lines += ["", f"GetItem vs floor at c=1, {len(pc['rounds'])} alternating rounds (median): floor p50 "
                      f"{pc['floor_p50_us']} us, GetItem p50 {pc['getitem_p50_us']} us, ratio {pc['ratio']} "
                      f"(per round: {', '.join(str(x['ratio']) for x in pc['rounds'])}; spread {pc['ratio_spread']})"]
        if "GetItem_cpu_us" in pc:
            lines += [f"server CPU per request in those rounds (median): floor {pc.get('floor_cpu_us')} us, "
                      f"GetItem {pc['GetItem_cpu_us']} us"]
    if "paired_sync" in r:
        ps = r["paired_sync"]
        lines += ["", f"PutItem under sync at 8 connections vs sqlite3 FULL at 8 threads, {len(ps['rounds'])} "
                      f"alternating rounds: median ratio {ps['ratio']} (per round: "
                      + "; ".join(f"{x['PutItem']}/s vs {x['sqlite FULL']}/s = {x['ratio']}, "
                                  f"{x['records_per_fsync']} records per fsync" for x in ps["rounds"])
                      + f"; spread {ps['ratio_spread']})"]
    if "per_call_getitem" in r:
        lines += ["", f"per-call GetItem through boto3 (us): {r['per_call_getitem']}"]
    lines += [f"start-up to first answer: {r['startup_ms']} ms; idle RSS {r['idle_rss_mb']} MB; "
              f"after load {r.get('loaded_rss_mb')} MB", ""]
    for t in r["targets"]:
        lines.append(f"{'PASS' if t['met'] else 'MISS'}  {t['target']}: {t['value']} (goal {t['goal']})")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
