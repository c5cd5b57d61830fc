"""Durable-write benchmark of the log alone, beside sqlite3 in WAL mode.

    python -m bench.durability [--seconds 2] [--threads 1,8] [--dir PATH] [--json FILE]

Each operation writes one ~200-byte record and waits until it is durable per
the policy: for kvstore ``append`` + ``wait_durable`` (``sync``: fsynced
through group commit; ``batch``: fsynced by the flusher within 5 ms); for
sqlite3 an autocommit ``INSERT OR REPLACE`` of a 200-byte row
(``synchronous=FULL``: fsynced per commit; ``NORMAL``: WAL synced at
checkpoints).  Same run, same disk, same threads.  Ratios compare like with
like: ``sync`` against FULL, ``batch`` against NORMAL.  The engine's own
write path (locks, indexes, item packing) is not in this number; the
full-engine version lives in the main harness.
"""

import argparse
import json
import os
import random
import shutil
import sqlite3
import sys
import tempfile
import threading
import time

import msgpack

from .histogram import Histogram
from .machine import describe, one_line
from kvstore.engine.durability import Durability

VALUE = 200


def _value(rng):
    return bytes(rng.getrandbits(8) for _ in range(VALUE))


def _drive(threads, seconds, make_op):
    """Run ``threads`` workers for ``seconds``; each calls its op in a loop. Latencies in ns."""
    latencies = [[] for _ in range(threads)]
    start_gate = threading.Barrier(threads + 1)
    stop = threading.Event()

    def worker(i):
        op = make_op(i)
        lat = latencies[i]
        clock = time.perf_counter_ns
        start_gate.wait()
        while not stop.is_set():
            t0 = clock()
            op()
            lat.append(clock() - t0)

    workers = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    start_gate.wait()
    t0 = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for w in workers:
        w.join()
    wall = time.perf_counter() - t0
    merged = Histogram()
    for lat in latencies:
        merged.record_many(lat)
    micros = merged.micros()
    return {"ops": merged.count, "ops_per_s": merged.count / wall, "p50_us": micros["p50_us"],
            "p99_us": micros["p99_us"]}


def bench_kvstore(directory, policy, threads, seconds):
    path = tempfile.mkdtemp(prefix=f"wal-{policy}-", dir=directory)
    d = Durability(path, policy)
    d.recover()
    d.start()

    def make_op(i):
        rng = random.Random(i)
        value = _value(rng)

        def op():
            payload = msgpack.packb([f"user{rng.randrange(100000):06d}", value])
            d.wait_durable(d.append(payload))
        return op

    try:
        result = _drive(threads, seconds, make_op)
    finally:
        d.close()
        shutil.rmtree(path, ignore_errors=True)
    return result


def bench_sqlite(directory, synchronous, threads, seconds):
    path = tempfile.mkdtemp(prefix=f"sqlite-{synchronous}-", dir=directory)
    db = os.path.join(path, "bench.db")
    setup = sqlite3.connect(db)
    setup.execute("PRAGMA journal_mode=WAL")
    setup.execute("CREATE TABLE kv (k TEXT PRIMARY KEY, v BLOB)")
    setup.commit()
    connections = []

    def make_op(i):
        conn = sqlite3.connect(db, isolation_level=None, check_same_thread=False, timeout=60)
        conn.execute(f"PRAGMA synchronous={synchronous}")
        connections.append(conn)
        rng = random.Random(i)
        value = _value(rng)

        def op():
            conn.execute("INSERT OR REPLACE INTO kv VALUES (?, ?)", (f"user{rng.randrange(100000):06d}", value))
        return op

    try:
        result = _drive(threads, seconds, make_op)
    finally:
        for conn in connections:
            conn.close()
        setup.close()
        shutil.rmtree(path, ignore_errors=True)
    return result


CONFIGS = (("kvstore wal sync", bench_kvstore, "sync", "sqlite WAL FULL"),
           ("sqlite WAL FULL", bench_sqlite, "FULL", None),
           ("kvstore wal batch", bench_kvstore, "batch", "sqlite WAL NORMAL"),
           ("sqlite WAL NORMAL", bench_sqlite, "NORMAL", None))


def run(directory, seconds, thread_counts, rounds=3):
    """Every configuration ``rounds`` times, interleaved (fsync latency on shared disks drifts);
    each row is the round with the median ops/s."""
    samples = {}
    for _ in range(rounds):
        for threads in thread_counts:
            for name, fn, arg, baseline in CONFIGS:
                result = fn(directory, arg, threads, seconds)
                samples.setdefault((name, threads), []).append(dict(result, target=name, threads=threads,
                                                                    baseline=baseline))
    rows = []
    for threads in thread_counts:
        for name, *_ in CONFIGS:
            runs = sorted(samples[(name, threads)], key=lambda r: r["ops_per_s"])
            row = dict(runs[len(runs) // 2], rounds_ops_per_s=[round(r["ops_per_s"]) for r in runs])
            rows.append(row)
    by_key = {(r["target"], r["threads"]): r for r in rows}
    for r in rows:
        if r["baseline"]:
            base = by_key[(r["baseline"], r["threads"])]
            r["ratio"] = r["ops_per_s"] / base["ops_per_s"] if base["ops_per_s"] else None
    return rows


def table(rows):
    lines = ["| target | threads | ops/s (median) | p50 µs | p99 µs | vs | ops/s per round |",
             "|---|---:|---:|---:|---:|---|---|"]
    for r in rows:
        vs = f"{r['ratio']:.2f}x {r['baseline']}" if r.get("ratio") else ""
        lines.append(f"| {r['target']} | {r['threads']} | {r['ops_per_s']:,.0f} | {r['p50_us']:,.1f} | "
                     f"{r['p99_us']:,.1f} | {vs} | {', '.join(f'{x:,}' for x in r['rounds_ops_per_s'])} |")
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m bench.durability", description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=2.0, help="per configuration and round (default 2)")
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds; the median is shown (default 3)")
    p.add_argument("--threads", default="1,8", help="comma-separated thread counts (default 1,8)")
    p.add_argument("--dir", default=None, help="directory on the disk to measure (default: a temporary one)")
    p.add_argument("--json", default=None, help="also write the results here")
    args = p.parse_args(argv)
    directory = args.dir or tempfile.gettempdir()
    machine = describe()
    print(f"durable writes of ~{VALUE}-byte records, {args.rounds} interleaved rounds of {args.seconds:g} s "
          f"per configuration (median shown), in {directory}")
    print(f"machine: {one_line(machine)}")
    rows = run(directory, args.seconds, [int(t) for t in args.threads.split(",")], args.rounds)
    print(table(rows))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": machine, "directory": directory, "seconds": args.seconds, "rows": rows}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
