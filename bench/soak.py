"""Soak: ``kvstore serve`` on a durable directory under mixed traffic, with a SIGKILL in the middle.

    python -m bench.soak [--minutes 30] [--clients 8] [--durability batch] [--markdown FILE]

Starts ``kvstore serve`` on a fresh data directory and drives it from
``--clients`` processes over HTTP (keep-alive, SigV4-signed JSON requests):
GetItem, PutItem, conditional UpdateItem, Query, TransactWriteItems and
malformed requests from the generator of ``tests/hardening/malformed.py``.
Half-way through (``--kill-at``) the server is SIGKILLed and started again on
the same directory; the clients reconnect.  At the end every acknowledged
write is checked (issue 14, item 5):

- every key each client wrote holds the value of its last acknowledged write
  (a write whose answer was lost in the kill may have happened or not; both
  are accepted), checked on the live server and again after a second SIGKILL
  and restart (so it is also checked from the log on disk);
- answers 5xx and connections dropped while the server was meant to be up
  (requests cut by the planned kill are counted apart);
- server RSS, sampled every few seconds: growth after warm-up, per life;
- latency p50 / p99 per minute of the traffic (malformed requests apart), and
  the load average beside it, since the machine is shared.

Each client owns its keys (``c<client>-p<n>`` partitions), so it knows what
each key must hold without coordinating with the others.
"""

import argparse
import http.client
import json
import multiprocessing
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

from .histogram import Histogram

TABLE = "soak"
PARTITIONS = 200           # per client
SORT_KEYS = 10             # per partition
PAD = "x" * 100
MIX = (("get", 30), ("put", 25), ("update", 15), ("query", 15), ("transact", 5), ("malformed", 10))
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# ------------------------------------------------------------------ the server

def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``kvstore serve`` as a child process: start, SIGKILL, start again on the same directory."""

    def __init__(self, data_dir, port, durability, log_path):
        self.data_dir, self.port, self.durability, self.log_path = data_dir, port, durability, log_path
        self.process = None

    def start(self, timeout=120):
        env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
        log = open(self.log_path, "ab")
        # KVSTORE_SOAK_TRACEMALLOC=DIR: the server runs under tracemalloc and dumps snapshots into DIR every
        # KVSTORE_SOAK_TRACEMALLOC_EVERY seconds (bench/traced_serve.py; off by default, it halves the server's
        # throughput); with KVSTORE_SOAK_CENSUS=1 it appends a census line instead (RSS parts, malloc's
        # figures, objects by type), at full speed
        traced = os.environ.get("KVSTORE_SOAK_TRACEMALLOC")
        command = ([sys.executable, "-m", f"{__package__}.traced_serve", "--snapshots", os.path.abspath(traced),
                    "--every", os.environ.get("KVSTORE_SOAK_TRACEMALLOC_EVERY", "120")]
                   + (["--census"] if os.environ.get("KVSTORE_SOAK_CENSUS") else []) + ["--"] if traced
                   else [sys.executable, "-m", "kvstore", "serve"])
        self.process = subprocess.Popen(
            command + ["--data-dir", self.data_dir, "--port", str(self.port),
             "--durability", self.durability, "--log-level", "warning"],
            stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"kvstore serve exited with {self.process.returncode}; see {self.log_path}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/")
                if conn.getresponse().status == 200:
                    conn.close()
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("kvstore serve did not answer in time")

    def kill(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()

    def rss(self):
        try:
            with open(f"/proc/{self.process.pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1]) * 1024
        except OSError:
            return None
        return None


# ------------------------------------------------------------------ requests

class Api:
    """One keep-alive connection sending signed DynamoDB JSON requests."""

    def __init__(self, port):
        from botocore.auth import SigV4Auth
        from botocore.credentials import Credentials
        self.port = port
        self.signer = SigV4Auth(Credentials("AKIDSOAK", "soak-secret"), "dynamodb", "us-east-1")
        self.conn = None

    def _headers(self, target, body):
        from botocore.awsrequest import AWSRequest
        request = AWSRequest(method="POST", url=f"http://127.0.0.1:{self.port}/", data=body,
                             headers={"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": target})
        self.signer.add_auth(request)
        return dict(request.headers.items())

    def call(self, target, body):
        """``(status, decoded body)``; raises OSError / HTTPException when the connection fails."""
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            self.conn.request("POST", "/", raw, self._headers(target, raw))
            response = self.conn.getresponse()
            out = response.read()
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.conn = None
            raise
        return response.status, (json.loads(out) if out else {})

    def dynamodb(self, action, body):
        return self.call(f"DynamoDB_20120810.{action}", body)

    def close(self):
        if self.conn is not None:
            self.conn.close()


def _key(client, p, s):
    return {"pk": {"S": f"c{client}-p{p}"}, "sk": {"N": str(s)}}


# ------------------------------------------------------------------ a client process

def client_main(index, port, seed, stop, generation, restarting, results, ready, go, answered):
    sys.path.insert(0, os.path.join(ROOT, "tests", "hardening"))
    import malformed
    from kvstore.operations import ACTIONS, OPERATIONS, STREAMS
    actions = sorted(ACTIONS)
    rng = random.Random(seed)
    api = Api(port)
    api.dynamodb("DescribeTable", {"TableName": TABLE})      # imports done, connection open
    with ready.get_lock():
        ready.value += 1
    go.wait()
    ops = [name for name, weight in MIX for _ in range(weight)]
    known = {(p, s): 0 for p in range(PARTITIONS) for s in range(SORT_KEYS)}   # the prefill: v = 0
    # known: (p, s) -> value of the last acknowledged write
    ambiguous = {}        # (p, s) -> {values it may hold}: the answer was lost in the kill
    acked_at = {}         # (p, s) -> monotonic time of that acknowledgement
    counter = 0
    counts = {"requests": 0, "5xx": 0, "dropped": 0, "cut_by_kill": 0, "malformed": 0, "malformed_5xx": 0,
              "condition_failed": 0, "read_mismatch": 0}
    mismatches = []
    latencies = {}        # minute -> Histogram
    pending = []
    minute_of = None
    started = results["t0"]

    def record(ns, now):
        nonlocal minute_of
        minute = int((now - started) // 60)
        if minute != minute_of and pending:
            latencies.setdefault(minute_of, Histogram()).record_many(pending)
            pending.clear()
        minute_of = minute
        pending.append(ns)

    def failed(gen_before):
        if restarting.value or generation.value != gen_before:
            counts["cut_by_kill"] += 1
        else:
            counts["dropped"] += 1
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                api.dynamodb("DescribeTable", {"TableName": TABLE})
                return
            except (OSError, http.client.HTTPException):
                time.sleep(0.05)
        raise RuntimeError("server did not come back")

    def resolve():
        for key, values in list(ambiguous.items()):
            status, body = api.dynamodb("GetItem", {"TableName": TABLE, "Key": _key(index, *key),
                                                    "ConsistentRead": True})
            stored = int(body["Item"]["v"]["N"]) if body.get("Item") else None
            if stored not in values:
                mismatches.append({"key": key, "expected": sorted(v for v in values if v is not None),
                                   "stored": stored, "when": "after reconnect"})
            if stored is None:
                known.pop(key, None)
            else:
                known[key] = stored
            del ambiguous[key]

    while not stop.is_set():
        op = rng.choice(ops)
        key = (rng.randrange(PARTITIONS), rng.randrange(SORT_KEYS))
        gen_before = generation.value
        written = {}      # key -> new value, for writes
        if op == "get":
            body = {"TableName": TABLE, "Key": _key(index, *key), "ConsistentRead": rng.random() < 0.5}
            action = "GetItem"
        elif op == "put" or (op in ("update", "transact") and key not in known):
            counter += 1
            body = {"TableName": TABLE, "Item": {**_key(index, *key), "v": {"N": str(counter)}, "pad": {"S": PAD}}}
            action, written = "PutItem", {key: counter}
        elif op == "update":
            counter += 1
            body = {"TableName": TABLE, "Key": _key(index, *key), "UpdateExpression": "SET v = :n",
                    "ConditionExpression": "v = :o",
                    "ExpressionAttributeValues": {":n": {"N": str(counter)}, ":o": {"N": str(known[key])}}}
            action, written = "UpdateItem", {key: counter}
        elif op == "query":
            body = {"TableName": TABLE, "KeyConditionExpression": "pk = :p AND sk >= :s",
                    "ExpressionAttributeValues": {":p": {"S": f"c{index}-p{key[0]}"}, ":s": {"N": "3"}}}
            action = "Query"
        elif op == "transact":
            other = (key[0], (key[1] + 1) % SORT_KEYS)
            items = []
            for k in (key, other):
                counter += 1
                if k in known:
                    items.append({"Update": {"TableName": TABLE, "Key": _key(index, *k), "UpdateExpression": "SET v = :n",
                                             "ConditionExpression": "v = :o",
                                             "ExpressionAttributeValues": {":n": {"N": str(counter)},
                                                                           ":o": {"N": str(known[k])}}}})
                else:
                    items.append({"Put": {"TableName": TABLE, "Item": {**_key(index, *k), "v": {"N": str(counter)},
                                                                       "pad": {"S": PAD}},
                                          "ConditionExpression": "attribute_not_exists(pk)"}})
                written[k] = counter
            body = {"TransactItems": items}
            action = "TransactWriteItems"
        else:
            action = rng.choice(actions)
            prefix = OPERATIONS[action].target_prefix
            body, _ = malformed.bad_request(rng, "dynamodbstreams" if prefix == STREAMS else "dynamodb", action)
            target = f"{prefix}.{action}"
        t = time.perf_counter_ns()
        try:
            if op == "malformed":
                status, out = api.call(target, body)
            else:
                status, out = api.dynamodb(action, body)
        except (OSError, http.client.HTTPException):
            for k, v in written.items():
                ambiguous[k] = ambiguous.get(k, {known.get(k)}) | {v}
            failed(gen_before)
            resolve()
            continue
        elapsed = time.perf_counter_ns() - t
        counts["requests"] += 1
        if counts["requests"] % 256 == 0:         # the run's warm-up counts answered requests (see run)
            with answered.get_lock():
                answered.value += 256
        if op == "malformed":
            counts["malformed"] += 1
            if status >= 500:
                counts["malformed_5xx"] += 1
            continue
        record(elapsed, time.monotonic())
        if status >= 500:
            counts["5xx"] += 1
            for k, v in written.items():
                ambiguous[k] = ambiguous.get(k, {known.get(k)}) | {v}
            resolve()
            continue
        if status == 200:
            now = time.monotonic()
            for k, v in written.items():
                known[k] = v
                acked_at[k] = now
            if action == "GetItem" and key in known:
                stored = int(out["Item"]["v"]["N"]) if out.get("Item") else None
                if stored != known[key]:
                    counts["read_mismatch"] += 1
                    mismatches.append({"key": key, "expected": [known[key]], "stored": stored, "when": "read",
                                       "acked_at": acked_at.get(key)})
                    known[key] = stored
        elif out.get("__type", "").endswith(("ConditionalCheckFailedException", "TransactionCanceledException")):
            counts["condition_failed"] += 1        # the stored value is not the acknowledged one: a lost write
            for k in written:
                status, body = api.dynamodb("GetItem", {"TableName": TABLE, "Key": _key(index, *k),
                                                        "ConsistentRead": True})
                stored = int(body["Item"]["v"]["N"]) if body.get("Item") else None
                if stored != known.get(k):
                    mismatches.append({"key": k, "expected": [known.get(k)], "stored": stored,
                                       "when": "condition", "acked_at": acked_at.get(k)})
                if stored is None:
                    known.pop(k, None)
                else:
                    known[k] = stored
        else:
            mismatches.append({"key": key, "unexpected": out, "action": action})
    if pending:
        latencies.setdefault(minute_of, Histogram()).record_many(pending)
    api.close()
    results[index] = {"counts": counts, "known": {f"{p}:{s}": v for (p, s), v in known.items()},
                      "ambiguous": {f"{p}:{s}": sorted(x for x in v if x is not None) + ([None] if None in v else [])
                                    for (p, s), v in ambiguous.items()},
                      "acked_at": {f"{p}:{s}": t for (p, s), t in acked_at.items()},
                      "mismatches": mismatches,
                      "latency": {m: h.to_dict() for m, h in latencies.items()}}


# ------------------------------------------------------------------ verification

def stored_values(port):
    """Every item of the table: ``{(client, "p:s"): v}``, by a paginated Scan."""
    api = Api(port)
    out = {}
    start = None
    while True:
        body = {"TableName": TABLE, "ConsistentRead": True}
        if start:
            body["ExclusiveStartKey"] = start
        status, page = api.dynamodb("Scan", body)
        if status != 200:
            raise RuntimeError(f"Scan answered {status}: {page}")
        for item in page["Items"]:
            client, _, p = item["pk"]["S"][1:].partition("-p")
            out[(int(client), f"{p}:{item['sk']['N']}")] = int(item["v"]["N"])
        start = page.get("LastEvaluatedKey")
        if not start:
            api.close()
            return out


def lost_writes(results, clients, stored, kill_times):
    """Acknowledged writes the table does not hold: ``[(client, key, expected, stored, ack age at a kill)]``."""
    lost = []
    for c in range(clients):
        r = results[c]
        for key, value in r["known"].items():
            if key in r["ambiguous"]:
                continue
            if stored.get((c, key)) != value:
                at = r["acked_at"].get(key)
                before = [k - at for k in kill_times if at is not None and k >= at]
                lost.append((c, key, value, stored.get((c, key)), min(before) if before else None))
        for key, values in r["ambiguous"].items():
            if stored.get((c, key)) not in values:
                lost.append((c, key, values, stored.get((c, key)), None))
    return lost


# ------------------------------------------------------------------ the run

def prefill(api, clients):
    """Every key of every client with ``v = 0`` before the clock starts, so the data set keeps its size
    through the run and RSS growth after warm-up is not the table filling up."""
    batch = []
    for c in range(clients):
        for p in range(PARTITIONS):
            for s in range(SORT_KEYS):
                batch.append({"PutRequest": {"Item": {**_key(c, p, s), "v": {"N": "0"}, "pad": {"S": PAD}}}})
                if len(batch) == 25:
                    _write_all(api, batch)
                    batch = []
    if batch:
        _write_all(api, batch)


def _write_all(api, batch):
    request = {TABLE: batch}
    while request:
        status, out = api.dynamodb("BatchWriteItem", {"RequestItems": request})
        if status != 200:
            raise RuntimeError(f"prefill: BatchWriteItem answered {status}: {out}")
        request = out.get("UnprocessedItems") or None


def run(minutes=30.0, clients=8, durability="batch", kill_at=0.5, warmup=None, data_dir=None, seed=1,
        sample_seconds=5.0, log=print, warmup_requests=None):
    """The soak; returns the report.  RSS growth is measured per life of the server, after its warm-up:
    ``warmup`` seconds of the life (default: 60 s, or a fifth of a short run) *and* ``warmup_requests``
    requests answered in it (default: 10 per item of the data set, 160,000 for 8 clients).  A warm-up
    in seconds alone is not a measure of work: on a loaded machine two minutes answered a fraction of
    the requests that fill the server's bounded caches (parsed expressions, request shapes) and its
    allocator's pools, and the growth still to come was reported as growth after warm-up (issue 14:
    +40 % in the first life at load 60).  The report also gives the slope of RSS over the requests
    after warm-up (MB per million requests): a leak keeps a slope, a bounded working set does not."""
    duration = minutes * 60
    warmup = min(60.0, duration * 0.2) if warmup is None else warmup
    if warmup_requests is None:
        warmup_requests = 10 * clients * PARTITIONS * SORT_KEYS
    own_dir = data_dir is None
    data_dir = data_dir or tempfile.mkdtemp(prefix="kvstore-soak-")
    port = _free_port()
    server = Server(os.path.join(data_dir, "db"), port, durability, os.path.join(data_dir, "server.log"))
    server.start()
    api = Api(port)
    status, out = api.dynamodb("CreateTable", {
        "TableName": TABLE, "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"},
                                 {"AttributeName": "sk", "AttributeType": "N"}]})
    assert status == 200, out
    prefill(api, clients)
    api.close()

    ctx = multiprocessing.get_context("spawn")
    manager = ctx.Manager()
    results = manager.dict()
    stop, generation, restarting = ctx.Event(), ctx.Value("i", 0), ctx.Value("b", 0)
    answered = ctx.Value("q", 0)
    ready, go = ctx.Value("i", 0), ctx.Event()
    procs = [ctx.Process(target=client_main, args=(i, port, seed * 1000 + i, stop, generation, restarting, results,
                                                   ready, go, answered))
             for i in range(clients)]
    for p in procs:
        p.start()
    deadline = time.monotonic() + 300
    while ready.value < clients:           # the clock starts once every client has imported and connected
        if time.monotonic() > deadline or not all(p.is_alive() for p in procs):
            raise RuntimeError("the clients did not start")
        time.sleep(0.05)
    t0 = time.monotonic()
    results["t0"] = t0
    go.set()

    samples = []          # (seconds since start, life, rss bytes, load 1 min)
    life = [0, t0]        # life number, start time
    sampling = threading.Event()

    def sampler():
        while not sampling.wait(sample_seconds):
            samples.append((round(time.monotonic() - t0, 1), life[0], server.rss(), os.getloadavg()[0],
                            answered.value))

    thread = threading.Thread(target=sampler, daemon=True)
    thread.start()
    kill_times = []
    kill_when = t0 + duration * kill_at if kill_at else None
    end = t0 + duration
    while time.monotonic() < end:
        time.sleep(0.2)
        if kill_when is not None and time.monotonic() >= kill_when:
            kill_when = None
            restarting.value = 1
            kill_times.append(time.monotonic())
            server.kill()
            restart_started = time.monotonic()
            server.start()
            restart_seconds = time.monotonic() - restart_started
            life[:] = [1, time.monotonic()]
            generation.value += 1
            restarting.value = 0
            log(f"soak: SIGKILL at {kill_times[0] - t0:.0f}s, restarted in {restart_seconds:.2f}s")
    stop.set()
    for p in procs:
        p.join(300)
    sampling.set()
    thread.join()
    traffic_seconds = time.monotonic() - t0
    results = {k: v for k, v in results.items()}
    missing = [i for i in range(clients) if i not in results]
    if missing:
        raise RuntimeError(f"clients {missing} ended without results (see tracebacks above)")

    stored_live = stored_values(port)
    lost_live = lost_writes(results, clients, stored_live, kill_times)
    kill_times.append(time.monotonic())
    server.kill()
    server.start()
    stored_restarted = stored_values(port)
    lost_restarted = lost_writes(results, clients, stored_restarted, kill_times)
    server.stop()
    with open(server.log_path, errors="replace") as f:
        server_errors = sum(1 for line in f if " ERROR " in line)
    kept_log = None
    if server_errors:                  # an internal error's traceback outlives the temporary directory
        kept_log = os.path.abspath(f"soak-server-{int(time.time())}.log")
        shutil.copyfile(server.log_path, kept_log)
        print(f"soak: the server logged {server_errors} ERROR line(s); its log is kept at {kept_log}",
              file=sys.stderr)
    if own_dir:
        shutil.rmtree(data_dir, ignore_errors=True)

    seen_lost, seen_ages = 0, []
    for c in range(clients):
        for m in results[c]["mismatches"]:
            if "expected" in m:
                seen_lost += 1
                at = m.get("acked_at")
                before = [k - at for k in kill_times if at is not None and k >= at]
                if before:
                    seen_ages.append(min(before) * 1000)
    totals = {}
    for c in range(clients):
        for k, v in results[c]["counts"].items():
            totals[k] = totals.get(k, 0) + v
    per_minute = {}
    overall = Histogram()
    for c in range(clients):
        for minute, data in results[c]["latency"].items():
            h = Histogram.from_dict(data)
            per_minute.setdefault(minute, Histogram()).merge(h)
            overall.merge(h)
    minute_rows = []
    for minute in sorted(per_minute):
        h = per_minute[minute]
        loads = [s[3] for s in samples if minute * 60 <= s[0] < (minute + 1) * 60]
        minute_rows.append({"minute": minute, "requests": h.count, "p50_ms": h.percentile(50) / 1e6,
                            "p99_ms": h.percentile(99) / 1e6, "max_ms": (h.max or 0) / 1e6,
                            "load1": round(sum(loads) / len(loads), 2) if loads else None})
    rss = {}
    for n in (0, 1):
        points = [(t, r, q) for t, lf, r, _, q in samples if lf == n and r]
        if not points:
            continue
        start, first_answered = points[0][0], points[0][2]
        after = [(t, r, q) for t, r, q in points if t - start >= warmup and q - first_answered >= warmup_requests]
        warmed = bool(after)
        after = after or points[-1:]
        base = after[0][1]
        rss[n] = {"warm_mb": round(base / 2 ** 20, 1), "last_mb": round(after[-1][1] / 2 ** 20, 1),
                  "max_mb": round(max(r for _, r, _ in after) / 2 ** 20, 1),
                  "growth_pct": round(100 * (max(r for _, r, _ in after) - base) / base, 1), "samples": len(after),
                  "warmed_up": warmed, "warm_at_seconds": round(after[0][0] - start, 1),
                  "requests_at_warm_up": after[0][2] - first_answered,
                  "requests_after_warm_up": after[-1][2] - after[0][2],
                  "mb_per_million_requests": _slope([(q, r / 2 ** 20) for _, r, q in after])}
    loads = [s[3] for s in samples]
    report = {"minutes": minutes, "traffic_seconds": round(traffic_seconds, 1), "clients": clients,
              "durability": durability, "kills": len(kill_times), "kill_at_seconds":
              [round(k - t0, 1) for k in kill_times], "totals": totals,
              "acknowledged_keys": sum(len(results[c]["known"]) for c in range(clients)),
              # a client that reads back a value older than its acknowledged write (or meets a failed
              # condition because of it) has seen an acknowledged write lost; it then goes on from the
              # stored value, so these are counted here, not at the end
              "lost_seen_by_clients": seen_lost,
              "lost_live": len(lost_live), "lost_after_restart": len(lost_restarted),
              "lost_examples": [list(x) for x in (lost_live + lost_restarted)[:10]],
              # how long before a SIGKILL the oldest lost write was acknowledged (None: none lost, or unknown)
              "lost_acked_within_ms": max([x[4] * 1000 for x in lost_live + lost_restarted if x[4] is not None]
                                          + seen_ages, default=None),
              "mismatches": sum(len(results[c]["mismatches"]) for c in range(clients)),
              "mismatch_examples": [m for c in range(clients) for m in results[c]["mismatches"]][:10],
              "server_error_log_lines": server_errors, "rss": rss,
              "overall": {"requests": overall.count, "p50_ms": overall.percentile(50) / 1e6,
                          "p99_ms": overall.percentile(99) / 1e6},
              "per_minute": minute_rows,
              "load1": {"min": min(loads, default=None), "max": max(loads, default=None),
                        "mean": round(sum(loads) / len(loads), 2) if loads else None},
              "cpus": os.cpu_count(),
              "warmup": {"seconds": warmup, "requests": warmup_requests},
              "rss_samples": [(t, lf, round(r / 2 ** 20, 1) if r else None, q) for t, lf, r, _, q in samples]}
    manager.shutdown()
    return report


def _slope(points):
    """Least-squares slope of ``[(requests, MB)]`` in MB per million requests (None under 3 points)."""
    if len(points) < 3:
        return None
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    if not sxx:
        return None
    return round(sum((x - mx) * (y - my) for x, y in points) / sxx * 1e6, 2)


def markdown(report, command):
    t = report["totals"]
    ok = (t.get("5xx", 0) == 0 and t.get("malformed_5xx", 0) == 0 and t.get("dropped", 0) == 0
          and report["lost_live"] == 0 and report["lost_after_restart"] == 0 and report["lost_seen_by_clients"] == 0
          and all(r["growth_pct"] < 10 for r in report["rss"].values() if r.get("warmed_up")))
    cold = [str(n) for n, r in sorted(report["rss"].items()) if not r.get("warmed_up")]
    lines = [
        "# Soak (issue 14, item 5)", "",
        f"`{command}`: `kvstore serve` on a data directory with `durability=\"{report['durability']}\"`, "
        f"{report['clients']} client processes of mixed traffic (GetItem 30 %, PutItem 25 %, conditional "
        "UpdateItem 15 %, Query 15 %, TransactWriteItems 5 %, malformed requests 10 %) over "
        f"{report['clients'] * PARTITIONS * SORT_KEYS:,} items written before the clock starts, a SIGKILL and "
        "restart of the server in the middle, then every acknowledged write checked on the live server and "
        "again after a second SIGKILL and restart.  The machine is shared (2 cores, other engineers' "
        "runs): the load average is beside the latencies.", "",
        f"Traffic: {report['traffic_seconds']:.0f} s; SIGKILL at {report['kill_at_seconds'][0]:.0f} s "
        f"(and after the traffic, before the final check).  All checks {'met' if ok else 'NOT met'}."
        + (f"  RSS growth not measured for life {', '.join(cold)}: its warm-up was not reached." if cold else ""),
        "",
        "| measure | value |", "|---|---|",
        f"| requests answered | {t.get('requests', 0):,} |",
        f"| of which malformed | {t.get('malformed', 0):,} |",
        f"| answers 5xx (traffic / malformed) | {t.get('5xx', 0)} / {t.get('malformed_5xx', 0)} |",
        f"| connections dropped while the server was up | {t.get('dropped', 0)} |",
        f"| requests cut by the planned SIGKILL | {t.get('cut_by_kill', 0)} |",
        f"| keys with an acknowledged write | {report['acknowledged_keys']:,} |",
        f"| acknowledged writes lost: seen by clients after the SIGKILL / at the end, live / after a restart | "
        f"{report['lost_seen_by_clients']} / {report['lost_live']} / {report['lost_after_restart']} |",
        f"| the oldest lost write was acknowledged before its SIGKILL by (ms) | "
        f"{'-' if report['lost_acked_within_ms'] is None else round(report['lost_acked_within_ms'], 1)} |",
        f"| ERROR lines in the server log | {report['server_error_log_lines']} |",
        f"| p50 / p99 over the run (ms) | {report['overall']['p50_ms']:.2f} / {report['overall']['p99_ms']:.2f} |",
        f"| load average (1 min): min / mean / max | {report['load1']['min']} / {report['load1']['mean']} / "
        f"{report['load1']['max']} ({report['cpus']} CPUs) |", "",
        f"Server RSS after warm-up, per life of the process (life 0: until the SIGKILL; life 1: after). Warm-up "
        f"ends when the life has lasted {report['warmup']['seconds']:g} s and answered "
        f"{report['warmup']['requests']:,} requests (10 per item: every key rewritten and the bounded caches "
        "filled, whatever the machine's load); the slope is RSS over the requests answered after warm-up:", "",
        "| life | warm-up ends at (s, requests) | at warm-up (MB) | last (MB) | max (MB) | growth (max vs warm-up) "
        "| MB per million requests after |", "|---|---|---|---|---|---|---|"]
    for n, r in sorted(report["rss"].items()):
        warm = (f"{r['warm_at_seconds']:g} s, {r['requests_at_warm_up']:,}" if r.get("warmed_up")
                else "not reached: last sample")
        lines.append(f"| {n} | {warm} | {r['warm_mb']} | {r['last_mb']} | {r['max_mb']} | {r['growth_pct']} % "
                     f"| {r.get('mb_per_million_requests')} |")
    lines += ["", "Latency per minute (traffic requests, malformed apart):", "",
              "| minute | requests | p50 ms | p99 ms | max ms | load 1 min |", "|---|---|---|---|---|---|"]
    for row in report["per_minute"]:
        lines.append(f"| {row['minute']} | {row['requests']:,} | {row['p50_ms']:.2f} | {row['p99_ms']:.2f} | "
                     f"{row['max_ms']:.1f} | {row['load1']} |")
    if report["lost_examples"] or report["mismatch_examples"]:
        lines += ["", "Examples (client, key, expected, stored, seconds from the acknowledgement to the kill):", ""]
        lines += [f"- {x}" for x in report["lost_examples"]]
        lines += [f"- {m}" for m in report["mismatch_examples"]]
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--durability", choices=("sync", "batch", "none"), default="batch")
    parser.add_argument("--kill-at", type=float, default=0.5, help="fraction of the run at which to SIGKILL")
    parser.add_argument("--warmup", type=float, default=None,
                        help="seconds of each life before RSS is compared (default 60)")
    parser.add_argument("--warmup-requests", type=int, default=None,
                        help="requests each life must also have answered before RSS is compared "
                             "(default: 10 per item, 160,000 for 8 clients)")
    parser.add_argument("--data-dir", default=None, help="default: a temporary directory, removed after")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json")
    parser.add_argument("--markdown")
    args = parser.parse_args(argv)
    report = run(args.minutes, args.clients, args.durability, args.kill_at, args.warmup, args.data_dir, args.seed,
                 warmup_requests=args.warmup_requests)
    print(json.dumps({k: v for k, v in report.items() if k != "per_minute"}, indent=2, default=str))
    command = "python -m bench.soak " + " ".join(argv if argv is not None else sys.argv[1:])
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2, default=str)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(markdown(report, command.strip()))
    t = report["totals"]
    failed = (t.get("5xx", 0) or t.get("malformed_5xx", 0) or t.get("dropped", 0) or report["lost_live"]
              or report["lost_after_restart"] or report["lost_seen_by_clients"])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
