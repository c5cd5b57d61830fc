"""Cost of capacity enforcement when no limit is reached: per-call time, enforcement on against off.

Two in-memory databases, identical but for ``capacity="enforce"``, each with a
PROVISIONED table (and one GSI) far above what the loop can consume, so every
call is admitted and charged but none is throttled.  Keys cycle through
100,000 values, so per-key buckets are created and pruned as in a real
workload.  The two modes are interleaved in short rounds (same run, same
machine state) and every call is timed on its own; the report gives the
median and p99 per call of each mode and their ratio.  Not a test.

    python -m bench.capacity
    python -m bench.capacity --output bench/results/capacity.md
    python -m bench.capacity --instructions      # also count instructions per call with callgrind

Timings on a shared machine move with the load, so ``--instructions`` also
counts what each call executes with ``valgrind --tool=callgrind``, which does
not depend on load: after 8,000 warm-up calls (``WARM_UP``) the child runs the next K calls of the
workload (the same calls in both modes) inside
``functools.reduce`` and callgrind collects only inside that C function
(``--toggle-collect=functools_reduce``: no setup, no teardown, nothing to
subtract); instructions / K per call, PYTHONHASHSEED=0, the collector off.
The same run's output file, fed to ``callgrind_annotate --inclusive=yes``,
shows where a call's instructions go (``--keep-callgrind DIR``).
"""

import argparse
import functools
import gc
import itertools
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time

import kvstore

from . import machine
from .histogram import Histogram

KEYS = 100_000
HUGE = 1_000_000_000
#: calls before callgrind counts (``--instructions``), a number, not a time, so that both modes run the same
#: calls before the same counted ones (the tables then hold the same items, and a dict that grows inside the
#: counted calls grows in both: with a time-bound warm-up it did in one mode's count and not the other's).
#: Enough for caches and templates to be warm and for more than a second at callgrind's pace (~4,000 calls a
#: second), so that the meter's per-key tables (one-second windows) have the size a whole second of these
#: calls needs, as in a process that has run for a while (their growth is its first seconds')
WARM_UP = 8000


#: the two tables (CreateTable requests): ``bench`` with one KEYS_ONLY GSI, ``plain`` without
TABLES = [
    {"TableName": "bench", "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                                         {"AttributeName": "sk", "KeyType": "RANGE"}],
     "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"},
                              {"AttributeName": "sk", "AttributeType": "N"},
                              {"AttributeName": "g", "AttributeType": "S"}],
     "ProvisionedThroughput": {"ReadCapacityUnits": HUGE, "WriteCapacityUnits": HUGE},
     "GlobalSecondaryIndexes": [{"IndexName": "by_g", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                                 "Projection": {"ProjectionType": "KEYS_ONLY"},
                                 "ProvisionedThroughput": {"ReadCapacityUnits": HUGE, "WriteCapacityUnits": HUGE}}]},
    {"TableName": "plain", "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                                         {"AttributeName": "sk", "KeyType": "RANGE"}],
     "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"},
                              {"AttributeName": "sk", "AttributeType": "N"}],
     "ProvisionedThroughput": {"ReadCapacityUnits": HUGE, "WriteCapacityUnits": HUGE}},
]


def _preload_item(i):
    return {"pk": f"p{i % 200}", "sk": i, "g": f"g{i % 50}", "name": "x" * 100, "n": i}


def _open(enforce):
    db = kvstore.open(":memory:", durability="none", capacity="enforce" if enforce else "report")
    for spec in TABLES:
        db.create_table(**spec)
    table = db.Table("bench")
    with table.batch_writer() as writer:
        for i in range(2000):
            writer.put_item(Item=_preload_item(i))
    return db, table


def _workloads(db, table):
    """name -> a function of the call number doing one call."""
    plain = db.Table("plain")
    return {
        "PutItem": lambda i: plain.put_item(Item={"pk": f"k{i % KEYS}", "sk": 1, "g": "g1", "name": "y" * 100}),
        "PutItem (GSI)": lambda i: table.put_item(Item={"pk": f"k{i % KEYS}", "sk": 1, "g": "g1", "name": "y" * 100}),
        "GetItem": lambda i: table.get_item(Key={"pk": f"p{i % 200}", "sk": i % 2000}),
        "UpdateItem": lambda i: table.update_item(Key={"pk": f"u{i % KEYS}", "sk": 1},
                                                  UpdateExpression="SET n = :n", ExpressionAttributeValues={":n": i}),
        "Query (10 items)": lambda i: table.query(KeyConditionExpression="pk = :p",
                                                  ExpressionAttributeValues={":p": f"p{i % 200}"}),
        "Query GSI (10 items)": lambda i: table.query(IndexName="by_g", KeyConditionExpression="g = :g",
                                                      ExpressionAttributeValues={":g": f"g{i % 50}"}, Limit=10),
        "Scan (10 items)": lambda i: table.scan(Limit=10),
        "BatchWriteItem (25)": lambda i: db.batch_write_item(RequestItems={"bench": [
            {"PutRequest": {"Item": {"pk": f"b{(25 * i + j) % KEYS}", "sk": 1, "name": "z"}}} for j in range(25)]}),
        "TransactWriteItems (2)": lambda i: db.transact_write_items(TransactItems=[
            {"Put": {"TableName": "bench", "Item": {"pk": f"t{i % KEYS}", "sk": 1}}},
            {"Put": {"TableName": "bench", "Item": {"pk": f"t{i % KEYS}", "sk": 2}}}]),
    }


def _hook_workloads(db):
    """The same calls through boto3 in process (kvstore.testing.mock_dynamodb): a client's view."""
    import boto3

    from kvstore.testing import mock_dynamodb
    mock = mock_dynamodb(db).start()
    table = boto3.resource("dynamodb", region_name="us-east-1").Table("bench")
    return mock, {
        "hook PutItem": lambda i: table.put_item(Item={"pk": f"h{i % KEYS}", "sk": 1, "g": "g1", "name": "y" * 100}),
        "hook GetItem": lambda i: table.get_item(Key={"pk": f"p{i % 200}", "sk": i % 2000}),
    }


class _WireFace:
    """``kvstore serve`` (``--enforce-capacity`` or not) with the two tables, and the same calls as raw,
    pre-signed HTTP requests on one keep-alive connection (bench/targets/http.py): the server's cost,
    not a client library's."""

    def __init__(self, enforce, calls):
        from .targets.http import WireClient
        from .targets.serve import KvstoreServer
        self.server = KvstoreServer(None, ["--enforce-capacity"] if enforce else []).start()
        client = WireClient(self.server.endpoint, {})
        self.conn = client.connection()
        for spec in TABLES:
            client.call(self.conn, "CreateTable", spec)
        def item(native):            # the bench's items hold strings and ints only
            return {k: {"S": v} if isinstance(v, str) else {"N": str(v)} for k, v in native.items()}
        for start in range(0, 2000, 25):
            client.call(self.conn, "BatchWriteItem", {"RequestItems": {"bench": [
                {"PutRequest": {"Item": item(_preload_item(i))}} for i in range(start, start + 25)]}})
        n = max(calls, 1)
        self.requests = {
            "wire PutItem": [client.build("PutItem", {"TableName": "plain", "Item": item(
                {"pk": f"w{i}", "sk": 1, "g": "g1", "name": "y" * 100})}) for i in range(n)],
            "wire PutItem (GSI)": [client.build("PutItem", {"TableName": "bench", "Item": item(
                {"pk": f"w{i}", "sk": 1, "g": "g1", "name": "y" * 100})}) for i in range(n)],
            "wire GetItem": [client.build("GetItem", {"TableName": "bench", "Key": item(
                {"pk": f"p{i % 200}", "sk": i % 2000})}) for i in range(n)],
            "wire Query (10 items)": [client.build("Query", {
                "TableName": "bench", "KeyConditionExpression": "pk = :p",
                "ExpressionAttributeValues": {":p": {"S": f"p{i % 200}"}}}) for i in range(n)],
        }
        self.errors = 0

    def workloads(self):
        def call(requests):
            def one(i):
                status, _ = self.conn.roundtrip(requests[i % len(requests)])
                self.errors += status != 200
            return one
        return {name: call(requests) for name, requests in self.requests.items()}

    def close(self):
        self.conn.close()
        self.server.stop()


def measure(rounds, calls, hook=True, wire=False, only=None):
    """Per workload: {"off"/"on": all latencies (ns)} and the per-round p50 and p99 ratios (on / off)."""
    dbs = {False: _open(False), True: _open(True)}
    loads = {mode: _workloads(*dbs[mode]) for mode in dbs}
    mocks = []
    if hook:
        for mode in dbs:
            mock, hooked = _hook_workloads(dbs[mode][0])
            mocks.append(mock)
            loads[mode].update(hooked)
    faces = []
    if wire:
        for mode in dbs:
            face = _WireFace(mode, calls)
            faces.append(face)
            loads[mode].update(face.workloads())
    if only is not None:
        loads = {mode: {n: f for n, f in calls_of.items() if n in only} for mode, calls_of in loads.items()}
    results = {}
    counter = itertools.count()
    clock = time.perf_counter_ns
    for name in loads[False]:
        samples = {False: [], True: []}
        ratios = {"p50": [], "p99": []}
        for fn in (loads[False][name], loads[True][name]):          # warm up both
            for _ in range(min(calls, 200)):
                fn(next(counter))
        for r in range(rounds):
            per_round = {}
            for mode in ((False, True) if r % 2 == 0 else (True, False)):
                fn = loads[mode][name]
                out = []
                for _ in range(calls):
                    i = next(counter)
                    start = clock()
                    fn(i)
                    out.append(clock() - start)
                samples[mode] += out
                per_round[mode] = Histogram.of(out).micros()
            ratios["p50"].append(per_round[True]["p50_us"] / per_round[False]["p50_us"])
            ratios["p99"].append(per_round[True]["p99_us"] / per_round[False]["p99_us"])
        spread = _percentiles(ratios["p50"])
        results[name] = {"off": Histogram.of(samples[False]).micros(), "on": Histogram.of(samples[True]).micros(),
                         "p50_ratio": statistics.median(ratios["p50"]), "p99_ratio": statistics.median(ratios["p99"]),
                         "p50_ratio_p10": spread[0], "p50_ratio_p90": spread[1], "rounds": rounds}
    throttled = dbs[True][0].engine.capacity.throttled
    for face in faces:
        throttled += face.errors            # a throttled (or failed) wire call answers non-200
        face.close()
    for mock in mocks:
        mock.stop()
    for db, _ in dbs.values():
        db.close()
    return results, throttled


def _percentiles(values):
    """(p10, p90) of a list of ratios (nearest rank)."""
    ordered = sorted(values)
    def rank(q):
        return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]
    return rank(0.10), rank(0.90)


def _count_calls(enforce, name, calls):
    """Child process under callgrind: set up, warm up, run ``calls`` calls of ``name`` inside
    ``functools.reduce`` (what callgrind collects), exit at once."""
    db, table = _open(enforce)
    fn = _workloads(db, table)[name]
    for i in range(WARM_UP):          # outside what is counted
        fn(i)
    gc.disable()
    functools.reduce(lambda _, i: fn(i), range(WARM_UP, WARM_UP + calls), None)
    sys.stdout.flush()
    os._exit(0)


def instructions(names, calls=1000, keep=None):
    """name -> {False: per-call instructions off, True: on}: callgrind collecting inside the calls only
    (``_count_calls``); ``keep``: a directory for the output files (callgrind_annotate)."""
    env = dict(os.environ, PYTHONHASHSEED="0")
    out = {}
    for name in names:
        out[name] = {}
        for enforce in (False, True):
            target = "/dev/null" if keep is None else os.path.join(
                keep, f"{re.sub(r'[^a-z0-9]+', '_', name.lower()).strip('_')}.{'on' if enforce else 'off'}.out")
            run = subprocess.run(
                ["valgrind", "--tool=callgrind", "--collect-atstart=no", "--toggle-collect=functools_reduce",
                 f"--callgrind-out-file={target}", sys.executable, "-m",
                 "bench.capacity", "--count", "on" if enforce else "off", name, str(calls)],
                capture_output=True, text=True, env=env, check=True)
            out[name][enforce] = int(re.search(r"Collected : (\d+)", run.stderr).group(1)) / calls
    return out


def report(results, throttled, rounds, calls, counted=None, described=None):
    described = described or machine.describe()
    lines = [
        "# Capacity enforcement: cost per call when no limit is reached",
        "",
        f"`python -m bench.capacity --rounds {rounds} --calls {calls}`: in-memory databases, durability `none`,",
        "a PROVISIONED table with one KEYS_ONLY GSI and one without at 10^9 RCU/WCU (so nothing is throttled: "
        f"{throttled} throttled calls), keys cycling through 100,000 values; the embedded API, boto3 through",
        "the in-process hook, and (`wire ...`) raw pre-signed HTTP requests on a keep-alive connection to two",
        "`kvstore serve --in-memory` processes, one with `--enforce-capacity`. Enforcement off and on alternate in rounds of "
        f"{calls} calls in the same process; every call is timed alone. Ratios are medians of the per-round",
        f"ratios (on / off). Machine: {machine.one_line(described)}; load average (1, 5, 15 min) before and "
        f"after the timed rounds {described.get('load_average_timed')}, {described.get('date')}.",
        "",
        "| Call | off p50 (us) | on p50 (us) | p50 ratio | p10..p90 of the rounds' p50 ratios | off p99 (us) "
        "| on p99 (us) | p99 ratio |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in results.items():
        lines.append(f"| {name} | {r['off']['p50_us']:.1f} | {r['on']['p50_us']:.1f} | {r['p50_ratio']:.3f} | "
                     f"{r['p50_ratio_p10']:.3f}..{r['p50_ratio_p90']:.3f} | "
                     f"{r['off']['p99_us']:.1f} | {r['on']['p99_us']:.1f} | {r['p99_ratio']:.3f} |")
    if counted:
        lines += ["", "Instructions per call (callgrind; independent of the machine's load):", "",
                  "| Call | off | on | ratio |", "|---|---:|---:|---:|"]
        for name, modes in counted.items():
            lines.append(f"| {name} | {modes[False]:,.0f} | {modes[True]:,.0f} | {modes[True] / modes[False]:.3f} |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--output", help="Markdown report (bench/results/capacity.md)")
    parser.add_argument("--json", help="raw figures")
    parser.add_argument("--no-hook", action="store_true", help="no calls through boto3's in-process hook")
    parser.add_argument("--wire", action="store_true", help="also over the wire, to two kvstore serve processes")
    parser.add_argument("--only", help="comma-separated call names to run (default: all)")
    parser.add_argument("--instructions", action="store_true", help="also count instructions with callgrind")
    parser.add_argument("--keep-callgrind", metavar="DIR", help="keep callgrind's output files there")
    parser.add_argument("--count", nargs=3, metavar=("MODE", "CALL", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.count:
        _count_calls(args.count[0] == "on", args.count[1], int(args.count[2]))
    load_before = [round(x, 2) for x in os.getloadavg()]
    results, throttled = measure(args.rounds, args.calls, hook=not args.no_hook, wire=args.wire,
                                 only=args.only.split(",") if args.only else None)
    load_after = [round(x, 2) for x in os.getloadavg()]
    counted = (instructions([n for n in results if not n.startswith(("hook ", "wire "))], keep=args.keep_callgrind)
               if args.instructions else None)
    described = machine.describe()
    described["load_average_timed"] = (load_before, load_after)
    text = report(results, throttled, args.rounds, args.calls, counted, described)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": described, "results": results, "throttled": throttled,
                       "instructions": {n: {"off": m[False], "on": m[True]} for n, m in (counted or {}).items()}},
                      f, indent=2)
    if args.output:
        with open(args.output, "w") as f:
            f.write(text)
    sys.stdout.write(text)


if __name__ == "__main__":
    main()
