"""What recording metrics costs: ``python -m bench.metrics``.

Two measurements, each metrics on against metrics off in alternating rounds of
the same run (the machine is shared: only same-run ratios count):

* **wire**: GetItem over HTTP at one connection with bench/server.py's raw
  keep-alive client (pre-built signed requests), against two ``kvstore serve``
  processes loaded with the same items, one started with ``--no-metrics``;
  each round measures both back to back; the report gives each side's median
  p50 / p99 over the rounds and the median of the per-round p50 ratios (the
  issue's target: at most +3 %);
* **embedded**: GetItem through the Python API (``table.get_item``) on two
  in-memory databases, ``kvstore.open(..., metrics=True / False)``, each call
  timed with ``perf_counter_ns``; same report.

    python -m bench.metrics                          # 10k items, 15 rounds
    python -m bench.metrics --rounds 5 --seconds 0.5 --json out.json
"""

import argparse
import json
import math
import os
import random
import statistics
import sys
import tempfile
import time

from .histogram import Histogram
from .machine import describe, load_average, one_line
from .server import _raw_worker, preload, request_sets, run_clients, start_kvstore, summarize


def _median(xs):
    return statistics.median(xs) if xs else None


def _percentile(xs, q):
    """Nearest-rank percentile ``q`` (0..100) of ``xs``."""
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, math.ceil(q / 100 * len(xs)) - 1))] if xs else None


def wire(rounds, seconds, items, max_ops, log=print):
    """Paired rounds of raw-HTTP GetItem against a server with metrics and one without."""
    tmp = tempfile.mkdtemp(prefix="kvbench-metrics-")
    servers = {"on": start_kvstore(os.path.join(tmp, "on")),
               "off": start_kvstore(os.path.join(tmp, "off"), ["--no-metrics"])}
    try:
        for server in servers.values():
            preload(server.port, items)
        requests = {name: request_sets(s.port, items)["GetItem"] for name, s in servers.items()}
        out = {"on": [], "off": [], "ratios": [], "p99_ratios": []}
        for r in range(rounds):
            pair = {}
            order = ("on", "off") if r % 2 == 0 else ("off", "on")
            for name in order:
                port = servers[name].port
                lat, ops, errors = run_clients(
                    _raw_worker, lambda k, p=port, n=name: (p, requests[n], seconds, max_ops, k), 1, seconds)
                if errors:
                    raise RuntimeError(f"{errors} GetItem errors against the metrics {name} server")
                pair[name] = summarize(lat, ops)
            out["on"].append(pair["on"])
            out["off"].append(pair["off"])
            out["ratios"].append(pair["on"]["p50_us"] / pair["off"]["p50_us"])
            out["p99_ratios"].append(pair["on"]["p99_us"] / pair["off"]["p99_us"])
            log(f"wire round {r + 1}/{rounds}: p50 on {pair['on']['p50_us']} us, off {pair['off']['p50_us']} us, "
                f"ratio {out['ratios'][-1]:.3f}", flush=True)
        return out
    finally:
        for server in servers.values():
            server.stop()


def embedded(rounds, calls, items, log=print):
    """Paired rounds of ``table.get_item`` on an in-memory database with metrics and one without."""
    import kvstore
    dbs, tables = {}, {}
    for name, on in (("on", True), ("off", False)):
        db = dbs[name] = kvstore.open(":memory:", metrics=on)
        table = tables[name] = db.create_table(
            TableName="bench_metrics", BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                  {"AttributeName": "sk", "AttributeType": "N"}])
        with table.batch_writer() as batch:
            for i in range(items):
                batch.put_item(Item={"pk": f"p{i // 10:06d}", "sk": i % 10, "v": "x" * 100})
    rnd = random.Random(7)
    keys = [{"pk": f"p{(i := rnd.randrange(items)) // 10:06d}", "sk": i % 10} for _ in range(2000)]
    out = {"on": [], "off": [], "ratios": [], "p99_ratios": []}
    clock = time.perf_counter_ns
    try:
        for r in range(rounds):
            pair = {}
            order = ("on", "off") if r % 2 == 0 else ("off", "on")
            for name in order:
                get = tables[name].get_item
                latencies = []
                append = latencies.append
                for i in range(calls):
                    key = keys[i % 2000]
                    t0 = clock()
                    get(Key=key)
                    append(clock() - t0)
                pair[name] = Histogram.of(latencies).micros()
            for name in ("on", "off"):
                out[name].append({"p50_us": round(pair[name]["p50_us"], 2), "p99_us": round(pair[name]["p99_us"], 2)})
            out["ratios"].append(pair["on"]["p50_us"] / pair["off"]["p50_us"])
            out["p99_ratios"].append(pair["on"]["p99_us"] / pair["off"]["p99_us"])
            log(f"embedded round {r + 1}/{rounds}: p50 on {pair['on']['p50_us']:.2f} us, "
                f"off {pair['off']['p50_us']:.2f} us, ratio {out['ratios'][-1]:.3f}", flush=True)
    finally:
        for db in dbs.values():
            db.close()
    return out


def _count_child(mode, stage, count):
    """Child process under callgrind: one GetItem's server work ``count`` times, metrics ``mode`` on/off.

    ``stage`` ``full``: ``HttpProtocol.data_received`` of a whole request (parsing, routing, the
    operation, the answer and its head; bench/server_cpu.py's "full"); ``answer``:
    ``RequestHandler.answer`` with the request already parsed.
    """
    import gc

    import kvstore
    from kvstore.server.app import HttpProtocol, Server, inline_reads_and_item_writes
    from kvstore.server.handler import RequestHandler

    from .server_cpu import BODY, HEADERS, RAW, _Transport

    db = kvstore.open(":memory:", metrics=mode == "on")
    db.create_table(TableName="bench_items", BillingMode="PAY_PER_REQUEST",
                    KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
                    AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                          {"AttributeName": "sk", "AttributeType": "N"}])
    db.Table("bench_items").put_item(Item={"pk": "p000001", "sk": 1, "v": "x" * 100})
    handler = RequestHandler(db.engine)
    if stage == "full":
        server = Server(handler, inline=inline_reads_and_item_writes)
        server.loop = None
        protocol = HttpProtocol(server)
        protocol.connection_made(_Transport())
        call = lambda: protocol.data_received(RAW)                    # noqa: E731
    else:
        call = lambda: handler.answer("POST", "/", HEADERS, BODY)    # noqa: E731
    for _ in range(200):
        call()
    gc.disable()
    for _ in range(count):
        call()
    sys.stdout.flush()
    os._exit(0)


def instructions(stages=("full", "answer"), base=200, extra=2000):
    """stage -> {"off": instructions per GetItem, "on": ...}: callgrind runs of base and base+extra requests."""
    import re
    import subprocess
    env = dict(os.environ, PYTHONHASHSEED="0")
    # compile every module first: a run that compiled one (after an edit) would count the compiler
    import compileall
    import kvstore
    compileall.compile_dir(os.path.dirname(kvstore.__file__), quiet=1)
    compileall.compile_dir(os.path.dirname(os.path.abspath(__file__)), quiet=1)
    out = {}
    for stage in stages:
        out[stage] = {}
        for mode in ("off", "on"):
            totals = []
            for calls in (base, base + extra):
                run = subprocess.run(
                    ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, "-m",
                     "bench.metrics", "--count", mode, stage, str(calls)],
                    capture_output=True, text=True, env=env, check=True)
                totals.append(int(re.search(r"Collected : (\d+)", run.stderr).group(1)))
            out[stage][mode] = (totals[1] - totals[0]) / extra
    return out


def summary(result):
    """Medians over the rounds: each side's p50 / p99 and the per-round ratios."""
    return {"on_p50_us": _median([r["p50_us"] for r in result["on"]]),
            "off_p50_us": _median([r["p50_us"] for r in result["off"]]),
            "on_p99_us": _median([r["p99_us"] for r in result["on"]]),
            "off_p99_us": _median([r["p99_us"] for r in result["off"]]),
            "p50_ratio": _median(result["ratios"]), "p99_ratio": _median(result["p99_ratios"]),
            "p50_ratio_p10": _percentile(result["ratios"], 10), "p50_ratio_p90": _percentile(result["ratios"], 90),
            "rounds": len(result["ratios"])}


def report(results, machine, args, counted=None):
    lines = ["# Metrics: what recording costs", "",
             f"`python -m bench.metrics {' '.join(args)}`".replace(" `", "`"), "",
             f"Machine: {one_line(machine)}", "",
             "GetItem with metrics on against metrics off, alternating rounds in the same run (the order",
             "flips every round); medians over the rounds of each side's p50 and p99 and of the per-round",
             "ratios (on / off). Target (issue 16): metrics on costs at most 3 % on GetItem p50 over the wire.", "",
             f"Load average at start {machine.get('load_average_at_start')}, at end "
             f"{machine.get('load_average_at_end')} (2 cores shared with other work: only same-run ratios count).", "",
             "| measurement | rounds | p50 on (µs) | p50 off (µs) | p50 ratio (median) | p50 ratio p10..p90 "
             "| p99 on (µs) | p99 off (µs) | p99 ratio |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, label in (("wire", "raw HTTP GetItem, 1 connection"), ("embedded", "embedded `table.get_item`")):
        if name not in results:
            continue
        s = summary(results[name])
        lines.append(f"| {label} | {s['rounds']} | {s['on_p50_us']:.1f} | {s['off_p50_us']:.1f} | "
                     f"{s['p50_ratio']:.3f} | {s['p50_ratio_p10']:.3f}..{s['p50_ratio_p90']:.3f} | "
                     f"{s['on_p99_us']:.1f} | {s['off_p99_us']:.1f} | {s['p99_ratio']:.3f} |")
    if "wire" in results:
        ratio = summary(results["wire"])["p50_ratio"]
        lines += ["", f"Target: wire GetItem p50 ratio {ratio:.3f} "
                      f"({'MET' if ratio <= 1.03 else 'MISSED'}: at most 1.03)."]
    for name in ("wire", "embedded"):
        if name in results:
            ratios = ", ".join(f"{r:.3f}" for r in results[name]["ratios"])
            lines += ["", f"Per-round p50 ratios ({name}): {ratios}"]
    if counted:
        lines += ["", "Instructions per GetItem in the server process (callgrind, `--instructions`: the load does "
                      "not move them; differences of runs of 200 and 200 + N requests):", "",
                  "| stage | metrics off | metrics on | on - off | ratio |", "|---|---:|---:|---:|---:|"]
        for stage, modes in counted.items():
            lines.append(f"| {_STAGES[stage]} | {modes['off']:,.0f} | {modes['on']:,.0f} | "
                         f"{modes['on'] - modes['off']:+,.0f} | {modes['on'] / modes['off']:.3f} |")
    return "\n".join(lines) + "\n"


_STAGES = {"full": "whole request (`HttpProtocol.data_received`: HTTP parsing to the answer's bytes)",
           "answer": "`RequestHandler.answer` (decode, operation, encode)"}


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    p = argparse.ArgumentParser(prog="python -m bench.metrics", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--items", type=int, default=10_000)
    p.add_argument("--rounds", type=int, default=15)
    p.add_argument("--seconds", type=float, default=1.0, help="length of one side of a wire round")
    p.add_argument("--max-ops", type=int, default=20_000, help="cap on requests per wire measurement")
    p.add_argument("--calls", type=int, default=20_000, help="calls per side of an embedded round")
    p.add_argument("--only", choices=("wire", "embedded"))
    p.add_argument("--instructions", action="store_true",
                   help="also count instructions per GetItem with callgrind (on/off; the load does not move them)")
    p.add_argument("--count", nargs=3, metavar=("MODE", "STAGE", "N"), help=argparse.SUPPRESS)
    p.add_argument("--json", metavar="FILE")
    p.add_argument("--markdown", metavar="FILE", help="write the report here (bench/results/metrics.md)")
    args = p.parse_args(argv)
    if args.count:
        _count_child(args.count[0], args.count[1], int(args.count[2]))
    machine = describe()
    results = {}
    if args.only in (None, "embedded"):
        results["embedded"] = embedded(args.rounds, args.calls, args.items)
    if args.only in (None, "wire"):
        results["wire"] = wire(args.rounds, args.seconds, args.items, args.max_ops)
    counted = instructions() if args.instructions else None
    machine["load_average_at_end"] = load_average()
    text = report(results, machine, argv, counted)
    print(text)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(text)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": machine, "results": results, "instructions": counted,
                       "summary": {k: summary(v) for k, v in results.items()}}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
