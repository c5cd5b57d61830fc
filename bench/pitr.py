"""Point-in-time recovery: what PITR costs PutItem, and how long a restore of a 1M-item table takes.

    python -m bench.pitr [--puts 20000] [--rounds 6] [--items 1000000] [--updates 10000] [--restores 3]
                         [--dir DIR] [--md FILE] [--json FILE]

*Write cost.*  Two directory databases (``batch`` durability) open side by
side, one table each; PITR is on in one of them only.  Each round times
``--puts`` PutItem calls (one thread, 200-byte items) on each database and
times them in 20 alternating chunks, so a shared machine's noise hits both
modes alike; the report gives each round's p50 and throughput ratio (PITR on
/ off) and their median over rounds.
The same is done for two in-memory databases (there PITR keeps the history in
memory).

*Restore.*  A directory database whose PITR table holds ``--items`` items
(about 150 bytes each, loaded with BatchWriteItem), then a checkpoint, then
``--updates`` UpdateItem calls a millisecond apart on the engine's manual
clock.  Each restore targets the middle of the updates: it reads the
checkpoint, replays the log after it up to that time, builds the table and its
partitions, links the checkpoint and logs the rows changed since it
(``kvstore/engine/pitr.py``).  A second measurement restores from the log
alone (before any checkpoint), which logs every row of the new table.

Targets (issue 16): PITR costs at most 10% on PutItem p50 and throughput; a
restore to a point in time of a 1M-item table takes under 5 seconds.
"""

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time

from .durability_engine import _stats
from .machine import describe, load_average, one_line

TABLE = dict(KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
             AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
START = 1_767_225_600.0
PAD = "x" * 150
#: a round's puts per mode are timed in this many alternating chunks
CHUNKS = 20


def _enable(db, name):
    db.meta.client.update_continuous_backups(TableName=name, PointInTimeRecoverySpecification={
        "PointInTimeRecoveryEnabled": True})


def write_cost(directory, puts, rounds, log=print):
    """Per round: PutItem latencies and throughput with PITR off and on, for directory and in-memory databases."""
    import kvstore
    out = {}
    for kind in ("directory", "memory"):
        dbs = {}
        for mode in ("off", "on"):
            path = os.path.join(directory, f"cost-{mode}") if kind == "directory" else ":memory:"
            db = dbs[mode] = kvstore.open(path, checkpoint_log_bytes=1 << 40) if kind == "directory" \
                else kvstore.open(path)
            db.create_table(TableName="bench", **TABLE)
            if mode == "on":
                _enable(db, "bench")
        rows = []
        try:
            for r in range(rounds):
                samples = {"off": [], "on": []}
                busy = {"off": 0.0, "on": 0.0}
                for chunk in range(CHUNKS):            # short alternating chunks: noise hits both modes alike
                    for mode in (("off", "on") if (r + chunk) % 2 == 0 else ("on", "off")):
                        table = dbs[mode].Table("bench")
                        t0 = time.perf_counter()
                        for i in range(chunk * (puts // CHUNKS), (chunk + 1) * (puts // CHUNKS)):
                            c0 = time.perf_counter()
                            table.put_item(Item={"pk": f"r{r}-{i}", "n": i, "pad": PAD})
                            samples[mode].append(time.perf_counter() - c0)
                        busy[mode] += time.perf_counter() - t0
                result = {mode: {"latency": _stats(samples[mode]), "per_second": len(samples[mode]) / busy[mode]}
                          for mode in ("off", "on")}
                result["p50 ratio"] = result["on"]["latency"]["p50_us"] / result["off"]["latency"]["p50_us"]
                result["throughput ratio"] = result["on"]["per_second"] / result["off"]["per_second"]
                rows.append(result)
                log(f"  {kind} round {r + 1}: p50 {result['off']['latency']['p50_us']:.1f} / "
                    f"{result['on']['latency']['p50_us']:.1f} us, {result['off']['per_second']:,.0f} / "
                    f"{result['on']['per_second']:,.0f} puts/s (off / on)")
        finally:
            for db in dbs.values():
                db.close()
        out[kind] = {"rounds": rows,
                     "p50 ratio median": statistics.median(r["p50 ratio"] for r in rows),
                     "throughput ratio median": statistics.median(r["throughput ratio"] for r in rows)}
    return out


def restore_time(directory, items, updates, restores, log=print):
    """Seconds of restores of an ``items``-item table: from a checkpoint plus log, and from the log alone."""
    import kvstore
    from kvstore.clock import ManualClock
    path = os.path.join(directory, "restore")
    clock = ManualClock(START)
    db = kvstore.open(path, clock=clock, checkpoint_log_bytes=1 << 40)
    out = {"items": items, "updates": updates}
    try:
        db.create_table(TableName="big", **TABLE)
        _enable(db, "big")
        t0 = time.perf_counter()
        with db.Table("big").batch_writer() as batch:
            for i in range(items):
                batch.put_item(Item={"pk": f"item{i:08d}", "n": i, "pad": PAD})
        out["load_seconds"] = time.perf_counter() - t0
        log(f"  loaded {items:,} items in {out['load_seconds']:.1f} s")
        clock.advance(1)
        out["log_only"] = _restores(db, clock(), restores, "log", log)
        db.checkpoint()
        table = db.Table("big")
        first = clock() + 0.001
        for i in range(updates):
            clock.advance(0.001)
            table.update_item(Key={"pk": f"item{i * (items // max(updates, 1)):08d}"},
                              UpdateExpression="SET n = n + :one", ExpressionAttributeValues={":one": 1})
        middle = first + (updates // 2) * 0.001
        out["checkpoint_and_log"] = _restores(db, middle, restores, "ckpt", log)
        out["table_bytes"] = db.engine.tables["big"].size_bytes
    finally:
        db.close()
    return out


def _restores(db, when, restores, label, log):
    engine = db.engine
    seconds, phases = [], []
    for k in range(restores):
        source = engine.tables["big"]
        t0 = time.perf_counter()
        rows = engine.pitr.rows_at(source, when)
        t1 = time.perf_counter()
        t_start, cpu_start = time.perf_counter(), time.process_time()
        db.meta.client.restore_table_to_point_in_time(SourceTableName="big", TargetTableName=f"{label}{k}",
                                                      RestoreDateTime=when)
        total, cpu = time.perf_counter() - t_start, time.process_time() - cpu_start
        seconds.append(total)
        phases.append({"read history": t1 - t0, "cpu": cpu, "load": load_average()})
        assert len(engine.tables[f"{label}{k}"].rows) == len(rows)
        log(f"  restore ({label}) {k + 1}: {total:.2f} s, {cpu:.2f} s of CPU (reading the history alone: "
            f"{t1 - t0:.2f} s)")
        db.meta.client.delete_table(TableName=f"{label}{k}")
    return {"seconds": seconds, "median": statistics.median(seconds),
            "cpu_seconds": [p["cpu"] for p in phases], "cpu_median": statistics.median(p["cpu"] for p in phases),
            "load": [p["load"] for p in phases],
            "read_history_median": statistics.median(p["read history"] for p in phases)}


def report(result, machine):
    c, r = result["cost"], result["restore"]
    lines = [f"machine: {one_line(machine)}", ""]
    if "load_before" in result:
        lines += [f"load average (1 min) before / after: {result['load_before']:.1f} / {result['load_after']:.1f} "
                  "(other jobs share this machine)", ""]
    d = c["directory"]
    p50, thr = d["p50 ratio median"], d["throughput ratio median"]
    ck, ck_cpu = r["checkpoint_and_log"]["median"], r["checkpoint_and_log"]["cpu_median"]
    lines += ["| target | measured | met |", "|---|---:|---|",
              f"| PutItem p50 with PITR on / off, directory database (median of same-run round ratios) <= 1.10 "
              f"| {p50:.3f}x | {'yes' if p50 <= 1.10 else '**no**'} |",
              f"| PutItem throughput with PITR on / off >= 0.90 | {thr:.3f}x | {'yes' if thr >= 0.90 else '**no**'} |",
              f"| restore to a point in time of a {r['items']:,}-item table < 5 s (median wall time) | {ck:.2f} s | "
              f"{'yes' if ck < 5 else '**no**'} |",
              f"| ... the same restore's CPU time (what it costs on an unloaded core) | {ck_cpu:.2f} s | "
              f"{'yes' if ck_cpu < 5 else '**no**'} |", ""]
    for kind in ("directory", "memory"):
        lines += [f"PutItem, {kind} database, one thread, 200-byte items:", "",
                  "| round | p50 off µs | p50 on µs | p50 ratio | puts/s off | puts/s on | throughput ratio |",
                  "|---:|---:|---:|---:|---:|---:|---:|"]
        for i, row in enumerate(c[kind]["rounds"], 1):
            lines.append(f"| {i} | {row['off']['latency']['p50_us']:.1f} | {row['on']['latency']['p50_us']:.1f} | "
                         f"{row['p50 ratio']:.3f} | {row['off']['per_second']:,.0f} | {row['on']['per_second']:,.0f} "
                         f"| {row['throughput ratio']:.3f} |")
        lines += [f"| median | | | {c[kind]['p50 ratio median']:.3f} | | | {c[kind]['throughput ratio median']:.3f} |",
                  ""]
    lines += [f"Restore of a {r['items']:,}-item table ({r['table_bytes'] / 2**20:,.0f} MiB of packed items; "
              f"loaded in {r['load_seconds']:.0f} s):", "",
              "| history read from | restores | median s | each s | CPU s of the process (median) | "
              "load average at each | reading the history alone (median s) |",
              "|---|---:|---:|---|---:|---|---:|"]
    for key, label in (("checkpoint_and_log", f"a checkpoint + {r['updates']:,} logged updates after it"),
                       ("log_only", f"the log alone ({r['items']:,} batch-write records)")):
        x = r[key]
        lines.append(f"| {label} | {len(x['seconds'])} | {x['median']:.2f} | "
                     f"{', '.join(f'{s:.2f}' for s in x['seconds'])} | {x['cpu_median']:.2f} | "
                     f"{', '.join(str(v) for v in x['load'])} | {x['read_history_median']:.2f} |")
    return "\n".join(lines)


def run(puts, rounds, items, updates, restores, directory=None, log=print):
    own = directory is None
    directory = directory or tempfile.mkdtemp(prefix="kvstore-bench-pitr-")
    try:
        return {"cost": write_cost(directory, puts, rounds, log),
                "restore": restore_time(directory, items, updates, restores, log)}
    finally:
        if own:
            shutil.rmtree(directory, ignore_errors=True)


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m bench.pitr", description=__doc__.split("\n\n")[0])
    p.add_argument("--puts", type=int, default=20_000, help="PutItem calls per mode per round (default 20k)")
    p.add_argument("--rounds", type=int, default=6)
    p.add_argument("--items", type=int, default=1_000_000, help="items of the restored table (default 1M)")
    p.add_argument("--updates", type=int, default=10_000, help="logged updates after the checkpoint")
    p.add_argument("--restores", type=int, default=3)
    p.add_argument("--dir", help="where the databases go (default: a temporary directory)")
    p.add_argument("--md", help="write the report (markdown) here")
    p.add_argument("--json", help="write the raw result here")
    args = p.parse_args(argv)
    machine = describe()
    load_before = load_average()
    result = run(args.puts, args.rounds, args.items, args.updates, args.restores, args.dir)
    result["load_before"], result["load_after"] = load_before, load_average()
    text = report(result, machine)
    print(text)
    if args.md:
        with open(args.md, "w") as f:
            f.write("# Point-in-time recovery (`python -m bench.pitr`)\n\n" + text + "\n")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": machine, "result": result}, f, indent=1)


if __name__ == "__main__":
    main()
