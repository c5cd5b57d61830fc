"""Durability through the whole engine: PutItem latency/throughput, recovery time, checkpoint impact.

    python -m bench.durability_engine [--seconds 2] [--rounds 3] [--threads 1,8] [--items 1000000]
                                      [--only put,recovery,checkpoint] [--dir PATH] [--json FILE] [--md FILE]

* **put**: ``Table.put_item`` of ~200-byte items under ``sync``, ``batch`` and
  ``none``, with 1 and 8 writer threads, beside sqlite3 in WAL mode with
  ``synchronous=FULL`` and ``NORMAL`` (autocommit ``INSERT OR REPLACE`` of a
  200-byte row; each thread its own connection).  All configurations run in
  the same process, on the same disk, in interleaved rounds (fsync latency on
  shared disks drifts by 10x within minutes); each row is the round with the
  median ops/s, and ratios compare rows of the same run.
* **recovery**: a database of ``--items`` items of ~200 bytes is opened in a
  fresh process (a) from the log alone and (b) from a checkpoint plus a short
  log; also (c) a log of overwrites (many records, few items), for the cost
  per GB of log.  Warm page cache: this is CPU time, not disk time.
* **checkpoint**: on the (b) database, paced readers (GetItem) and a paced
  writer (PutItem) run with and without checkpoints running back to back;
  p50/p99 of each, with and without.

Targets (from the issue): sync with 8 writers >= 4x sqlite FULL; batch >= 80%
of none and above sqlite NORMAL; recovery of 1M items < 5 s; a running
checkpoint raises read p99 by at most 2x.
"""

import argparse
import bisect
import json
import os
import random
import shutil
import string
import subprocess
import sys
import tempfile
import threading
import time

from .durability import _drive, bench_sqlite
from .histogram import Histogram
from .machine import describe, one_line

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KEYS = 100_000
TABLE = dict(TableName="bench", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
             AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
GSI_TABLE = dict(TABLE, AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                              {"AttributeName": "g", "AttributeType": "S"}],
                 GlobalSecondaryIndexes=[{"IndexName": "by_g", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                                          "Projection": {"ProjectionType": "ALL"}}])


def _text(rng, n):
    return "".join(rng.choices(string.ascii_letters, k=n))


def item_of(i, rng):
    """~200 bytes packed: a 10-character key and a 185-character value."""
    return {"pk": f"user{i:06d}", "v": _text(rng, 185)}


# --------------------------------------------------------------------------- PutItem


def bench_put(directory, policy, threads, seconds):
    import kvstore
    path = tempfile.mkdtemp(prefix=f"engine-{policy}-", dir=directory)
    db = kvstore.open(path, durability=policy)
    table = db.create_table(**TABLE)

    def make_op(i):
        rng = random.Random(i)
        value = _text(rng, 185)

        def op():
            table.put_item(Item={"pk": f"user{rng.randrange(KEYS):06d}", "v": value})
        return op

    d = db.engine.durability
    b0, r0 = d.batches_written, d.records_written
    try:
        result = _drive(threads, seconds, make_op)
        batches, records = d.batches_written - b0, d.records_written - r0
        result["records_per_write"] = records / batches if batches else None
    finally:
        db.close()
        shutil.rmtree(path, ignore_errors=True)
    return result


PUT_CONFIGS = (
    ("kvstore sync", bench_put, "sync"),
    ("sqlite WAL FULL", bench_sqlite, "FULL"),
    ("kvstore batch", bench_put, "batch"),
    ("kvstore none", bench_put, "none"),
    ("sqlite WAL NORMAL", bench_sqlite, "NORMAL"),
)
RATIOS = (("kvstore sync", "sqlite WAL FULL"), ("kvstore batch", "kvstore none"),
          ("kvstore batch", "sqlite WAL NORMAL"))


def run_put(directory, seconds, thread_counts, rounds, log):
    samples = {}
    for r in range(rounds):
        for threads in thread_counts:
            for name, fn, arg in PUT_CONFIGS:
                result = fn(directory, arg, threads, seconds)
                samples.setdefault((name, threads), []).append(dict(result, target=name, threads=threads))
                log(f"  round {r + 1} {name} x{threads}: {result['ops_per_s']:,.0f} ops/s, "
                    f"p99 {result['p99_us']:,.0f} µs")
    rows = []
    for threads in thread_counts:
        for name, *_ in PUT_CONFIGS:
            runs = sorted(samples[(name, threads)], key=lambda x: x["ops_per_s"])
            rows.append(dict(runs[len(runs) // 2], rounds_ops_per_s=[round(x["ops_per_s"]) for x in runs]))
    by = {(x["target"], x["threads"]): x for x in rows}
    ratios = []
    for threads in thread_counts:
        for a, b in RATIOS:
            # within each round both sides met the same disk and the same neighbours: the median of
            # those paired ratios is the figure; the ratio of the two median rows is shown beside it
            per_round = [x["ops_per_s"] / y["ops_per_s"]
                         for x, y in zip(samples[(a, threads)], samples[(b, threads)])]
            ratios.append({"threads": threads, "of": a, "to": b, "per_round": per_round,
                           "ratio": sorted(per_round)[len(per_round) // 2],
                           "of_median_rows": by[(a, threads)]["ops_per_s"] / by[(b, threads)]["ops_per_s"]})
    return {"rows": rows, "ratios": ratios}


def put_table(put):
    lines = ["| target | threads | ops/s (median round) | p50 µs | p99 µs | records per fsync | ops/s per round |",
             "|---|---:|---:|---:|---:|---:|---|"]
    for r in put["rows"]:
        rpw = r.get("records_per_write")
        lines.append(f"| {r['target']} | {r['threads']} | {r['ops_per_s']:,.0f} | {r['p50_us']:,.1f} | "
                     f"{r['p99_us']:,.1f} | {'' if rpw is None or 'sync' not in r['target'] else f'{rpw:.1f}'} | "
                     f"{', '.join(f'{x:,}' for x in r['rounds_ops_per_s'])} |")
    lines += ["", "| ratio | threads | median of per-round ratios | of the median rows | per round |",
              "|---|---:|---:|---:|---|"]
    for x in put["ratios"]:
        lines.append(f"| {x['of']} / {x['to']} | {x['threads']} | {x['ratio']:.2f}x | {x['of_median_rows']:.2f}x | "
                     f"{', '.join(f'{v:.2f}' for v in x['per_round'])} |")
    return "\n".join(lines)


# --------------------------------------------------------------------------- recovery

OPEN_SCRIPT = """
import json, sys, time, resource
sys.path.insert(0, sys.argv[2])
import kvstore
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
c0, t0 = cpu(), time.perf_counter()
db = kvstore.open(sys.argv[1], durability="batch")
t1, c1 = time.perf_counter(), cpu()
n = sum(len(t.rows) for t in db.engine.tables.values())
report = db.engine.recovery_report
db.close()
print(json.dumps({"seconds": t1 - t0, "cpu_seconds": c1 - c0, "items": n, "records": report["records"],
                  "checkpoint": report["checkpoint"] is not None,
                  "max_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))
"""

SCAN_SCRIPT = """
import json, sys, time
sys.path.insert(0, sys.argv[2])
from kvstore.engine.durability import Durability
t0 = time.perf_counter()
d = Durability(sys.argv[1], "none")
rec = d.recover()
t1 = time.perf_counter()
n = sum(1 for _ in rec.snapshot_chunks())
t2 = time.perf_counter()
m = sum(1 for _ in rec.log_payloads())
t3 = time.perf_counter()
d.close()
print(json.dumps({"inspect": t1 - t0, "read_checkpoint": t2 - t1, "read_log": t3 - t2}))
"""


def _open_in_child(path, script=OPEN_SCRIPT):
    out = subprocess.run([sys.executable, "-c", script, path, ROOT], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def _log_bytes(path):
    return sum(os.path.getsize(os.path.join(path, n)) for n in os.listdir(path) if n.endswith(".log"))


def _ckpt_bytes(path):
    return sum(os.path.getsize(os.path.join(path, n)) for n in os.listdir(path) if n.endswith(".ckpt"))


def build(path, items, keys=None, checkpoint_after=False, tail=10_000, log=print, gsi=False):
    """Write ``items`` PutItems (over ``keys`` distinct keys; default all distinct) under ``none``.

    ``gsi``: the table has a GSI (projection ALL) on an attribute ``g`` every item has."""
    import kvstore
    keys = keys or items
    rng = random.Random(7)
    t0 = time.perf_counter()
    db = kvstore.open(path, durability="none", checkpoint_log_bytes=1 << 50)
    table = db.create_table(**(GSI_TABLE if gsi else TABLE))
    values = [_text(rng, 185 - 6 * gsi) for _ in range(1024)]
    put = table.put_item
    for i in range(items):
        item = {"pk": f"user{(i if keys == items else rng.randrange(keys)):07d}", "v": values[i & 1023]}
        if gsi:
            item["g"] = f"g{i % 1000:04d}"
        put(Item=item)
        if i and i % 200_000 == 0:
            log(f"    {i:,} puts ({time.perf_counter() - t0:.0f} s)")
    if checkpoint_after:
        c0 = time.perf_counter()
        db.checkpoint()
        log(f"    checkpoint of {items:,} items: {time.perf_counter() - c0:.1f} s")
        for i in range(tail):
            put(Item={"pk": f"user{rng.randrange(items):07d}", "v": values[i & 1023]})
    db.close()
    log(f"    built {path} in {time.perf_counter() - t0:.0f} s")


def run_recovery(directory, items, repeats, log):
    cases = {}
    specs = (("log only", dict()),
             ("checkpoint + short log", dict(checkpoint_after=True)),
             ("log of overwrites", dict(keys=max(1, items // 20))),
             ("log only, table with a GSI", dict(gsi=True)),
             ("checkpoint + short log, table with a GSI", dict(gsi=True, checkpoint_after=True)))
    paths = {}
    for name, kw in specs:
        path = os.path.join(directory, "recovery-" + name.replace(" ", "-").replace("+", "and"))
        shutil.rmtree(path, ignore_errors=True)
        log(f"  building '{name}' ({items:,} puts)")
        build(path, items, log=log, **kw)
        paths[name] = path
        opens = sorted((_open_in_child(path) for _ in range(repeats)), key=lambda x: x["seconds"])
        best = opens[len(opens) // 2]
        scan = _open_in_child(path, SCAN_SCRIPT)
        cases[name] = dict(best, log_bytes=_log_bytes(path), checkpoint_bytes=_ckpt_bytes(path),
                           all_seconds=[o["seconds"] for o in opens], durability_layer=scan)
        c = cases[name]
        log(f"  {name}: open {c['seconds']:.2f} s, {c['items']:,} items, {c['records']:,} records, "
            f"log {c['log_bytes'] / 1e9:.2f} GB; layer alone {scan}")
    return cases, paths


def recovery_table(cases):
    lines = ["| database | items | log records replayed | log | checkpoint | open, wall (median) | open, CPU | "
             "s per 1M items (wall) | s per GB of log (wall) | durability layer alone: read log / read checkpoint "
             "| peak RSS |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|"]
    for name, c in cases.items():
        per_m = c["seconds"] / (c["items"] / 1e6) if c["items"] else 0
        per_gb = c["seconds"] / (c["log_bytes"] / 1e9) if "checkpoint" not in name else None
        layer = c["durability_layer"]
        lines.append(f"| {name} | {c['items']:,} | {c['records']:,} | {c['log_bytes'] / 1e6:,.0f} MB | "
                     f"{c['checkpoint_bytes'] / 1e6:,.0f} MB | {c['seconds']:.2f} s | {c['cpu_seconds']:.2f} s | "
                     f"{per_m:.2f} | "
                     f"{'' if per_gb is None else f'{per_gb:.2f}'} | "
                     f"{layer['inspect'] + layer['read_log']:.2f} s / {layer['read_checkpoint']:.2f} s | "
                     f"{c['max_rss'] / 2**20:,.0f} MiB |")
    return "\n".join(lines)


# --------------------------------------------------------------------------- checkpoint impact


class Paced:
    """A thread issuing ``op`` at ``rate`` per second.

    Records, per call, its scheduled start, the latency of the call itself
    (service) and the latency from its scheduled start (which includes any
    wait to get going: a late wake-up, or the GIL held by another thread --
    what a request arriving on a socket would see).
    """

    def __init__(self, op, rate, stop):
        self.op, self.interval, self.stop = op, 1.0 / rate, stop
        self.samples = []                                 # (scheduled start, service, from schedule)
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        clock = time.perf_counter
        nxt = clock()
        op, samples = self.op, self.samples
        while not self.stop.is_set():
            now = clock()
            if now < nxt:
                time.sleep(nxt - now)
            t0 = clock()
            op()
            t1 = clock()
            samples.append((nxt, t1 - t0, t1 - nxt))
            nxt += self.interval
            if nxt < t1 - 1.0:                            # far behind: do not burst to catch up
                nxt = t1


def _stats(values):
    """n, p50 / p99 / p99.9 / max in microseconds of latencies given in seconds."""
    return Histogram.of(int(v * 1e9) for v in values).micros()


def by_phase(samples, phases):
    """Samples ``(scheduled start, ...)`` by the phase their scheduled start fell in.

    ``phases``: per round ``(c0, c1, c2)``, the disturbance (a checkpoint, a sweep) from c0 to c1
    and the quiet phase from c1 to c2.  Returns ``pooled`` ({"with": [...], "without": [...]},
    every round's samples of each kind) and the rounds' ``(with, without)`` pairs that have
    samples on both sides; a sample outside every phase (loading, a pause between rounds) is in
    neither.
    """
    samples = sorted(samples)
    pooled = {"with": [], "without": []}
    pairs = []
    for c0, c1, c2 in phases:
        lo, mid, hi = (bisect.bisect_left(samples, (b,)) for b in (c0, c1, c2))
        w, wo = samples[lo:mid], samples[mid:hi]
        pooled["with"] += w
        pooled["without"] += wo
        if w and wo:
            pairs.append((w, wo))
    return pooled, pairs


def run_checkpoint_impact(path, seconds, readers, read_rate, write_rate, policy, log):
    """Steady paced load for ``seconds``; checkpoints alternate with equally long quiet phases.

    Each sample belongs to the phase its scheduled start fell in.  Pairing
    each checkpoint with the quiet phase right after it lets a shared
    machine's noise (stolen CPU, other tenants) hit both sides alike; the
    report gives the pooled percentiles and the median over pairs.
    """
    import kvstore
    db = kvstore.open(path, durability=policy, checkpoint_log_bytes=1 << 50)
    table = db.Table("bench")
    n = len(db.engine.tables["bench"].rows)
    rng = random.Random(3)
    value = _text(rng, 185)
    stop = threading.Event()
    reader_rngs = [random.Random(i) for i in range(readers)]
    reads = [Paced(lambda g=g: table.get_item(Key={"pk": f"user{g.randrange(n):07d}"}), read_rate, stop)
             for g in reader_rngs]
    wrng = random.Random(99)
    writer = Paced(lambda: table.put_item(Item={"pk": f"user{wrng.randrange(n):07d}", "v": value}),
                   write_rate, stop)
    phases = []                                            # (start, end, checkpoint running?)
    try:
        for t in reads + [writer]:
            t.thread.start()
        time.sleep(0.5)                                    # warm up
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            c0 = time.perf_counter()
            db.checkpoint()
            c1 = time.perf_counter()
            time.sleep(c1 - c0)
            c2 = time.perf_counter()
            phases.append((c0, c1, c2))
            log(f"  checkpoint {len(phases)}: {c1 - c0:.2f} s")
        stop.set()
        for t in reads + [writer]:
            t.thread.join()
    finally:
        db.close()
    out = {"items": n, "policy": policy, "readers": readers, "read_rate": read_rate, "write_rate": write_rate,
           "seconds": seconds, "checkpoints": len(phases),
           "checkpoint_seconds": sorted(c1 - c0 for c0, c1, _ in phases)[len(phases) // 2] if phases else None}
    for kind, threads in (("read", reads), ("write", [writer])):
        pooled, paired = by_phase([x for t in threads for x in t.samples], phases)
        pairs = [{m: {"service": _stats([x[1] for x in xs]), "scheduled": _stats([x[2] for x in xs])}
                  for m, xs in (("with", w), ("without", wo))} for w, wo in paired]
        for mode, xs in pooled.items():
            out[f"{kind} {mode}"] = {"service": _stats([x[1] for x in xs]), "scheduled": _stats([x[2] for x in xs])}
        for metric in ("service", "scheduled"):
            ratios = sorted(p["with"][metric]["p99_us"] / p["without"][metric]["p99_us"] for p in pairs
                            if p["without"][metric]["p99_us"])
            out[f"{kind} {metric} p99 ratio median over pairs"] = ratios[len(ratios) // 2] if ratios else None
            out[f"{kind} {metric} p99 ratios"] = ratios
    return out


def checkpoint_table(c):
    lines = [f"{c['items']:,} items, policy `{c['policy']}`; {c['readers']} reader threads at {c['read_rate']:,} "
             f"GetItem/s each and 1 writer at {c['write_rate']:,} PutItem/s for {c['seconds']:g} s, during which "
             f"{c['checkpoints']} checkpoints (median {c['checkpoint_seconds'] or 0:.2f} s each) alternated with "
             f"quiet phases of the same length.  *from schedule* counts from when the call should have started "
             f"(a late wake-up or a GIL held elsewhere shows there); *call* is the call alone.",
             "",
             "| op | checkpoint running | n | call p50 µs | call p99 µs | from schedule p50 µs | "
             "from schedule p99 µs | from schedule p99.9 µs |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    for kind in ("read", "write"):
        for mode in ("without", "with"):
            s, sch = c[f"{kind} {mode}"]["service"], c[f"{kind} {mode}"]["scheduled"]
            lines.append(f"| {kind} | {'yes' if mode == 'with' else 'no'} | {s['n']:,} | {s['p50_us']:,.1f} | "
                         f"{s['p99_us']:,.1f} | {sch['p50_us']:,.1f} | {sch['p99_us']:,.1f} | {sch['p999_us']:,.1f} |")
    lines += ["", "| p99 with / without a checkpoint | pooled | median over checkpoint/quiet pairs | per pair |",
              "|---|---:|---:|---|"]
    for kind in ("read", "write"):
        for metric, label in (("scheduled", "from schedule"), ("service", "call")):
            w, wo = c[f"{kind} with"][metric]["p99_us"], c[f"{kind} without"][metric]["p99_us"]
            med = c[f"{kind} {metric} p99 ratio median over pairs"]
            lines.append(f"| {kind}, {label} | {w / wo:.2f}x | {'' if med is None else f'{med:.2f}x'} | "
                         f"{', '.join(f'{r:.1f}' for r in c[f'{kind} {metric} p99 ratios'])} |")
    return "\n".join(lines)


# --------------------------------------------------------------------------- main


def targets(result):
    out = []
    put = result.get("put")
    if put:
        by = {(r["of"], r["to"], r["threads"]): r["ratio"] for r in put["ratios"]}
        if ("kvstore sync", "sqlite WAL FULL", 8) in by:
            v = by[("kvstore sync", "sqlite WAL FULL", 8)]
            out.append(("sync, 8 writers >= 4x sqlite FULL", f"{v:.2f}x", v >= 4))
        for threads in sorted({r["threads"] for r in put["ratios"]}):
            v = by[("kvstore batch", "kvstore none", threads)]
            out.append((f"batch >= 80% of none ({threads} writer{'s' * (threads > 1)})", f"{v:.0%}", v >= 0.8))
            v = by[("kvstore batch", "sqlite WAL NORMAL", threads)]
            out.append((f"batch above sqlite NORMAL ({threads} writer{'s' * (threads > 1)})", f"{v:.2f}x", v > 1))
    rec = result.get("recovery")
    if rec:
        for name in ("log only", "checkpoint + short log"):
            if name in rec:
                c = rec[name]
                per_m = c["seconds"] / (c["items"] / 1e6)
                cpu_m = c["cpu_seconds"] / (c["items"] / 1e6)
                out.append((f"recovery of 1M items < 5 s ({name})", f"{per_m:.2f} s per 1M (CPU {cpu_m:.2f} s)",
                            per_m < 5))
    ck = result.get("checkpoint")
    if ck:
        v = ck["read scheduled p99 ratio median over pairs"]
        if v is not None:
            out.append(("checkpoint raises read p99 by <= 2x (from schedule, median over pairs)", f"{v:.2f}x",
                        v <= 2))
    return out


def report(result):
    parts = [f"machine: {one_line(result['machine'])}", ""]
    if "load_before" in result:
        parts[-1:] = [f"load average (1 min) before / after the run: {result['load_before'][0]:.1f} / "
                      f"{result.get('load_after', (0,))[0]:.1f} (other jobs share this machine)", ""]
    t = targets(result)
    if t:
        parts += ["| target | measured | met |", "|---|---:|---|"]
        parts += [f"| {name} | {value} | {'yes' if ok else '**no**'} |" for name, value, ok in t]
        parts.append("")
    if "put" in result:
        parts += ["### PutItem", "", put_table(result["put"]), ""]
    if "recovery" in result:
        parts += ["### Recovery (open in a fresh process, warm page cache)", "", recovery_table(result["recovery"]), ""]
    if "checkpoint" in result:
        parts += ["### Reads and writes while a checkpoint runs", "", checkpoint_table(result["checkpoint"]), ""]
    return "\n".join(parts)


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m bench.durability_engine", description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=2.0, help="per configuration and round (default 2)")
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    p.add_argument("--threads", default="1,8", help="writer thread counts (default 1,8)")
    p.add_argument("--items", type=int, default=1_000_000, help="items for recovery/checkpoint (default 1M)")
    p.add_argument("--only", default="put,recovery,checkpoint", help="sections to run")
    p.add_argument("--repeats", type=int, default=3, help="opens per recovery case (median shown)")
    p.add_argument("--checkpoint-seconds", type=float, default=30.0, help="checkpoint-impact run length")
    p.add_argument("--nice", type=int, default=0,
                   help="nice value for the checkpoint-impact section (e.g. -15 on a shared machine, as root)")
    p.add_argument("--readers", type=int, default=2)
    p.add_argument("--read-rate", type=int, default=2000, help="GetItem/s per reader thread")
    p.add_argument("--write-rate", type=int, default=1000, help="PutItem/s of the writer thread")
    p.add_argument("--dir", default=None, help="directory on the disk to measure (default: a temporary one)")
    p.add_argument("--keep", action="store_true", help="keep the recovery databases")
    p.add_argument("--json", default=None)
    p.add_argument("--md", default=None, help="write the Markdown report here")
    args = p.parse_args(argv)
    sections = set(args.only.split(","))
    base = args.dir or tempfile.gettempdir()
    directory = tempfile.mkdtemp(prefix="durability-engine-", dir=base)
    result = {"machine": describe(), "directory": directory, "args": vars(args)}

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    log(f"machine: {one_line(result['machine'])}; in {directory}")
    result["load_before"] = os.getloadavg()
    try:
        if "put" in sections:
            log("PutItem:")
            result["put"] = run_put(directory, args.seconds, [int(t) for t in args.threads.split(",")],
                                    args.rounds, log)
        paths = {}
        if "recovery" in sections or "checkpoint" in sections:
            log("recovery:")
            result["recovery"], paths = run_recovery(directory, args.items, args.repeats, log)
        if "checkpoint" in sections:
            log("checkpoint impact:")
            if args.nice:      # this thread and the ones it starts (Linux: nice is per thread); needs root below 0
                os.setpriority(os.PRIO_PROCESS, 0, args.nice)
            result["checkpoint"] = run_checkpoint_impact(
                paths["checkpoint + short log"], args.checkpoint_seconds, args.readers, args.read_rate,
                args.write_rate, "batch", log)
    finally:
        if not args.keep:
            shutil.rmtree(directory, ignore_errors=True)
    result["load_after"] = os.getloadavg()
    text = report(result)
    print(text)
    if args.md:
        with open(args.md, "w") as f:
            f.write(text + "\n")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
