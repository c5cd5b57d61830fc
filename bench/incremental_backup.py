"""Incremental backups: bytes a backup stores against the data that changed, its time, and the lock hold.

    python -m bench.incremental_backup [--items 1000000] [--pad 100] [--rounds 3]
                                       [--fractions 0.001,0.01,0.05,0.1] [--chain 10]
                                       [--write-rate 500] [--md FILE] [--json FILE]

One directory database (durability ``batch``: backup files are fsynced), one
table of ``--items`` items (``pk`` + a ``--pad``-character value).  Each
round, for each fraction f: every backup is deleted (so the next one is a
full run), a full backup is taken, f of the items (random, distinct) are
overwritten with new values, and a second backup is taken: the incremental
one.  The ratio of the two backups' stored bytes (files written: the run and
the manifest) is a same-run ratio; so is the ratio of their times.  Then a
chain of ``--chain`` backups, each after 1% more changes, shows what the
compaction (docs/format.md) adds over a history: folds, runs named, bytes.

Lock hold: the time ``kvstore.engine.backup.snapshot`` holds the table's
partition locks (writes to the table wait this long): it copies the row dict
without them and holds them only to re-read the keys written meanwhile.  The
snapshot's whole duration is reported beside it (before that change, the
locks were held for all of it).  A paced writer (``--write-rate`` PutItems per second on 100 keys of
the same table) runs throughout; its latency from schedule during backups is
what a client sees, against a quiet window of the same length right after
each backup; its writes add at most 100 changed items to a backup.

Read back: the time to read a backup's runs into its row dict (what a
restore reads before it creates the table), for the full and the
incremental backup.

Target (issue 16): after changing 1% of a 1M-item table, an incremental
backup stores under 5% of a full backup's bytes.
"""

import argparse
import json
import os
import random
import shutil
import statistics
import tempfile
import threading
import time

from .durability_engine import Paced, _stats
from .machine import describe, load_average, one_line

TABLE = dict(TableName="bench", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
             AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
HOT = 100


def _value(rng, n):
    return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(n))


class Timed:
    """Wraps ``backup.snapshot`` and its ``_all_locks``: per snapshot, its duration (the row-dict copy and
    its correction) and the time the table's partition locks were held (acquired to released, summed)."""

    def __init__(self, module):
        self.module, self.original, self.original_locks = module, module.snapshot, module._all_locks
        self.copies, self.holds, self.windows, self._held = [], [], [], []
        timed = self

        class Locks(module._all_locks):
            def __enter__(self):
                super().__enter__()
                self.t0 = time.perf_counter()

            def __exit__(self, *exc):
                timed._held.append(time.perf_counter() - self.t0)
                super().__exit__(*exc)

        module.snapshot = self
        module._all_locks = Locks

    def __call__(self, engine, table):
        self._held = []
        t0 = time.perf_counter()
        try:
            return self.original(engine, table)
        finally:
            self.copies.append(time.perf_counter() - t0)
            self.holds.append(sum(self._held))

    def restore(self):
        self.module.snapshot = self.original
        self.module._all_locks = self.original_locks


def run(items, pad, rounds, fractions, chain, write_rate, directory=None, log=print):
    import kvstore
    from kvstore.engine import backup as backup_module
    from kvstore.engine.backup import store

    own = directory is None
    directory = directory or tempfile.mkdtemp(prefix="bench-incremental-")
    path = os.path.join(directory, "db")
    rng = random.Random(16)
    values = [_value(rng, pad) for _ in range(256)]
    t0 = time.perf_counter()
    db = kvstore.open(path, durability="batch", checkpoint_log_bytes=1 << 50)
    timed = Timed(backup_module)
    stop = threading.Event()
    writer = None
    quiet = []
    try:
        table = db.create_table(**TABLE)
        with table.batch_writer() as batch:
            for i in range(items):
                batch.put_item(Item={"pk": f"item{i:07d}", "v": values[i & 255]})
                if i and i % 200_000 == 0:
                    log(f"    {i:,} items ({time.perf_counter() - t0:.0f} s)")
        log(f"    loaded {items:,} items in {time.perf_counter() - t0:.0f} s")
        backups = store(db.engine)
        engine_table = db.engine.tables["bench"]
        hot = [f"item{i:07d}" for i in range(0, items, max(1, items // HOT))][:HOT]
        writer = Paced(lambda g=random.Random(1): table.put_item(
            Item={"pk": hot[g.randrange(len(hot))], "v": values[g.randrange(256)]}), write_rate, stop)
        writer.thread.start()

        def backup(name):
            b0 = time.perf_counter()
            made = backups.create(engine_table, name)
            b1 = time.perf_counter()
            timed.windows.append((b0, b1))
            time.sleep(b1 - b0)                    # a quiet window as long, right after: the writer's baseline
            quiet.append((b1, time.perf_counter()))
            return made, b1 - b0

        def change(count, version):
            keys = rng.sample(range(items), count)
            with table.batch_writer() as batch:
                for i in keys:
                    batch.put_item(Item={"pk": f"item{i:07d}", "v": values[(i + version) & 255] + str(version)})

        def reset():
            for b in backups.all():
                backups.delete(b)

        def read_back(made):
            r0 = time.perf_counter()
            backups.state(made)
            return time.perf_counter() - r0

        cases = {f: [] for f in fractions}
        version = 0
        for r in range(rounds):
            for f in fractions:
                reset()
                full, full_s = backup(f"full-{r}")
                full_hold = timed.holds[-1]
                version += 1
                count = max(1, round(items * f))
                change(count, version)
                inc, inc_s = backup(f"incremental-{r}")
                new = inc.runs[-1] if inc.runs[-1] is not full.runs[-1] else None
                case = {"changed_items": count, "full_bytes": full.stored_bytes, "full_seconds": full_s,
                        "full_lock_hold_s": full_hold, "full_snapshot_s": timed.copies[-2],
                        "incremental_snapshot_s": timed.copies[-1], "incremental_bytes": inc.stored_bytes,
                        "incremental_seconds": inc_s, "incremental_lock_hold_s": timed.holds[-1],
                        "run_entries": new.entries if new else 0, "run_payload_bytes": new.size if new else 0,
                        "runs_named": len(inc.runs), "table_bytes": inc.size_bytes,
                        "read_back_full_s": read_back(full), "read_back_incremental_s": read_back(inc)}
                case["bytes_ratio"] = case["incremental_bytes"] / case["full_bytes"]
                case["time_ratio"] = case["incremental_seconds"] / case["full_seconds"]
                cases[f].append(case)
                log(f"    round {r} f={f:g}: full {full.stored_bytes:,} B {full_s:.2f} s, incremental "
                    f"{inc.stored_bytes:,} B {inc_s:.2f} s ({case['bytes_ratio']:.2%}), snapshot "
                    f"{timed.copies[-1] * 1e3:.0f} ms, lock hold {timed.holds[-1] * 1e3:.1f} ms")
        history = []
        if chain:
            reset()
            first, _ = backup("chain-0")
            history.append({"backup": 0, "stored_bytes": first.stored_bytes, "runs_named": len(first.runs),
                            "runs_bytes": sum(r.size for r in first.runs)})
            for k in range(1, chain + 1):
                version += 1
                change(max(1, items // 100), version)
                made, seconds = backup(f"chain-{k}")
                history.append({"backup": k, "stored_bytes": made.stored_bytes, "runs_named": len(made.runs),
                                "runs_bytes": sum(r.size for r in made.runs), "seconds": seconds})
            history.append({"restore_read_s": read_back(made)})
        stop.set()
        writer.thread.join()
        in_backup, outside = [], []
        for start, _service, scheduled in writer.samples:
            if any(b0 <= start < b1 for b0, b1 in timed.windows):
                in_backup.append(scheduled)
            elif any(q0 <= start < q1 for q0, q1 in quiet):
                outside.append(scheduled)
    finally:
        stop.set()
        timed.restore()
        db.close()
        if own:
            shutil.rmtree(directory, ignore_errors=True)
    return {"items": items, "pad": pad, "rounds": rounds, "cases": {str(f): c for f, c in cases.items()},
            "chain": history, "lock_hold_s": timed.holds, "snapshot_s": timed.copies,
            "writer_during_backups": _stats(in_backup) if in_backup else None,
            "writer_outside_backups": _stats(outside) if outside else None, "write_rate": write_rate,
            "load_average_at_end": load_average()}


def _median(cases, key):
    return statistics.median(c[key] for c in cases)


def report(result, machine):
    lines = [f"# Incremental backups ({result['items']:,} items)", "",
             f"machine: {one_line(machine)}; load average at start {machine.get('load_average_at_start')}, "
             f"at end {result['load_average_at_end']} (a shared machine: times are noisy, ratios are same-run)",
             f"`{machine.get('argv', '')}`", "",
             "Per fraction: every backup deleted, a full backup, the fraction of items overwritten, an incremental "
             f"backup; medians over {result['rounds']} rounds. Stored bytes are the files a backup wrote (its run "
             "and manifest).", "",
             "| changed | items | full backup | incremental | incremental / full | changed payload | stored / changed "
             "| full time | incr. time | time ratio | lock hold full / incr. | snapshot full / incr. | read back full / incr. |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for f, cases in result["cases"].items():
        changed = _median(cases, "run_payload_bytes")
        lines.append(
            f"| {float(f):.1%} | {int(_median(cases, 'changed_items')):,} | {_median(cases, 'full_bytes'):,.0f} B "
            f"| {_median(cases, 'incremental_bytes'):,.0f} B | **{_median(cases, 'bytes_ratio'):.2%}** "
            f"| {changed:,.0f} B | {_median(cases, 'incremental_bytes') / changed if changed else 0:.2f} "
            f"| {_median(cases, 'full_seconds'):.2f} s | {_median(cases, 'incremental_seconds'):.2f} s "
            f"| {_median(cases, 'time_ratio'):.2f} | {_median(cases, 'full_lock_hold_s') * 1e3:.2f} / "
            f"{_median(cases, 'incremental_lock_hold_s') * 1e3:.2f} ms "
            f"| {_median(cases, 'full_snapshot_s') * 1e3:.0f} / {_median(cases, 'incremental_snapshot_s') * 1e3:.0f} ms "
            f"| {_median(cases, 'read_back_full_s'):.2f} / {_median(cases, 'read_back_incremental_s'):.2f} s |")
    lines += ["", "*changed payload*: row keys + packed items of the run the incremental backup wrote (what "
              "changed, plus at most 100 items of the paced writer); *stored / changed*: the file overhead "
              "(msgpack framing, crcs, the manifest)."]
    holds, copies = sorted(result["lock_hold_s"]), sorted(result["snapshot_s"])
    lines += ["", f"Over all {len(holds)} backups: the snapshot (row-dict copy without the locks, then the "
              f"correction under them) took median {statistics.median(copies) * 1e3:.0f} ms, max "
              f"{copies[-1] * 1e3:.0f} ms; the table's partition locks were held median "
              f"{statistics.median(holds) * 1e3:.2f} ms, max {holds[-1] * 1e3:.2f} ms (the re-read of the keys "
              "written during the copy). Before this change the locks were held for the whole copy, so the "
              "snapshot time is also what the lock hold was."]
    during, outside = result["writer_during_backups"], result["writer_outside_backups"]
    if during and outside:
        lines += ["", f"Paced writer ({result['write_rate']} PutItem/s on the same table), latency from schedule:",
                  "", "| | n | p50 | p99 | max |", "|---|---|---|---|---|",
                  f"| during backups | {during['n']:,} | {during['p50_us']:,.0f} us | {during['p99_us']:,.0f} us "
                  f"| {during['max_us']:,.0f} us |",
                  f"| quiet window after each backup | {outside['n']:,} | {outside['p50_us']:,.0f} us | {outside['p99_us']:,.0f} us "
                  f"| {outside['max_us']:,.0f} us |"]
    chain = [h for h in result["chain"] if "backup" in h]
    if chain:
        lines += ["", f"A chain of {len(chain) - 1} backups, each after 1% more changes (compaction folds small "
                  "runs into the new one):", "", "| backup | stored | runs named | bytes a restore reads |",
                  "|---|---|---|---|"]
        for h in chain:
            lines.append(f"| {h['backup']} | {h['stored_bytes']:,} B | {h['runs_named']} | {h['runs_bytes']:,} B |")
        tail = [h for h in result["chain"] if "restore_read_s" in h]
        if tail:
            lines += ["", f"Reading the last chain backup's runs back: {tail[0]['restore_read_s']:.2f} s."]
    return "\n".join(lines) + "\n"


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--items", type=int, default=1_000_000)
    p.add_argument("--pad", type=int, default=100)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--fractions", default="0.001,0.01,0.05,0.1")
    p.add_argument("--chain", type=int, default=10)
    p.add_argument("--write-rate", type=int, default=500)
    p.add_argument("--dir", help="where the database goes (default: a temporary folder, removed after)")
    p.add_argument("--md", help="write the report (markdown) here")
    p.add_argument("--json", help="write the raw result here")
    args = p.parse_args()
    machine = describe()
    result = run(args.items, args.pad, args.rounds, [float(f) for f in args.fractions.split(",")], args.chain,
                 args.write_rate, args.dir)
    text = report(result, machine)
    print(text)
    if args.md:
        with open(args.md, "w") as f:
            f.write(text)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": machine, "result": result}, f, indent=1)


if __name__ == "__main__":
    main()
