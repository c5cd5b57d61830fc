"""The TTL sweeper: how long deleting 100k expired items takes, and what it does to foreground reads.

    python -m bench.ttl [--items 100000] [--live 100000] [--rounds 5] [--readers 2] [--rate 2000]
                        [--slice-us 100] [--pause-us 100] [--md FILE] [--json FILE]

One in-memory database, one table holding ``--live`` items that never expire
(what the readers read) and, each round, ``--items`` more that have expired.
Paced reader threads (GetItem of a random live item, ``--rate`` per second
each) run throughout.  Each round: load the expired items (not measured),
then the sweep (``engine.ttl.run()`` in its own thread, as the engine's
scheduler runs it) and right after it a quiet phase of the same length.
Samples belong to the phase their scheduled start fell in, so each sweep is
paired with a quiet phase a moment later (a shared machine's noise hits both
alike); the report gives pooled percentiles and the median over pairs.

*from schedule* latency counts from when the call should have started: a
GIL or lock held by the sweeper shows there (a request arriving on a socket
would wait the same).  *call* is the GetItem call alone.

Target (issue 11): GetItem p99 during the sweep at most 2x without it.
"""

import argparse
import json
import random
import statistics
import threading
import time

from .durability_engine import Paced, _stats, by_phase
from .machine import describe, load_average, one_line

TABLE = dict(TableName="bench", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
             AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
START = 1_700_000_000


def run(items, live, rounds, readers, rate, slice_us, pause_us, log=print):
    import kvstore
    from kvstore.clock import ManualClock
    clock = ManualClock(START)
    db = kvstore.open(":memory:", clock=clock, ttl_sweep_seconds=None)
    sweeper = db.engine.ttl
    sweeper.slice_seconds = slice_us / 1e6
    sweeper.pause_seconds = None if pause_us is None else pause_us / 1e6
    table = db.create_table(**TABLE)
    db.meta.client.update_time_to_live(TableName="bench", TimeToLiveSpecification={"Enabled": True,
                                                                                    "AttributeName": "exp"})
    rng = random.Random(7)
    value = "".join(rng.choice("abcdefghij") for _ in range(150))
    with table.batch_writer() as writer:
        for i in range(live):
            writer.put_item(Item={"pk": f"live{i:07d}", "exp": START + 10 * 365 * 86400, "v": value})
    stop = threading.Event()
    reads = [Paced(lambda g=random.Random(i): table.get_item(Key={"pk": f"live{g.randrange(live):07d}"}),
                   rate, stop) for i in range(readers)]
    phases, sweeps = [], []
    try:
        for t in reads:
            t.thread.start()
        for r in range(rounds):
            due = int(clock()) + 1
            with table.batch_writer() as writer:
                for i in range(items):
                    writer.put_item(Item={"pk": f"r{r}-{i:07d}", "exp": due, "v": value})
            sweeper.run()                          # nothing due yet: the heap holds the new entries
            time.sleep(0.5)
            clock.set(due)
            result = {}
            thread = threading.Thread(target=lambda: result.setdefault("deleted", sweeper.run()))
            c0 = time.perf_counter()
            thread.start()
            thread.join()
            c1 = time.perf_counter()
            time.sleep(c1 - c0)
            c2 = time.perf_counter()
            assert result["deleted"] == items, result
            phases.append((c0, c1, c2))
            sweeps.append(c1 - c0)
            log(f"  round {r + 1}: swept {items:,} items in {c1 - c0:.2f} s")
        stop.set()
        for t in reads:
            t.thread.join()
    finally:
        db.close()
    out = {"items": items, "live": live, "rounds": rounds, "readers": readers, "rate": rate,
           "slice_us": slice_us, "pause_us": pause_us, "sweep_seconds": sweeps,
           "sweep_seconds_median": statistics.median(sweeps)}
    pooled, paired = by_phase([x for t in reads for x in t.samples], phases)
    pairs = [{m: {"service": _stats([x[1] for x in xs]), "scheduled": _stats([x[2] for x in xs])}
              for m, xs in (("with", w), ("without", wo))} for w, wo in paired]
    for mode, xs in pooled.items():
        out[mode] = {"service": _stats([x[1] for x in xs]), "scheduled": _stats([x[2] for x in xs])}
    for metric in ("service", "scheduled"):
        for p in ("p50_us", "p99_us"):
            ratios = sorted(pair["with"][metric][p] / pair["without"][metric][p] for pair in pairs
                            if pair["without"][metric][p])
            out[f"{metric} {p} ratios"] = ratios
            out[f"{metric} {p} ratio median"] = statistics.median(ratios) if ratios else None
    return out


def report(result, machine):
    c = result
    lines = [f"machine: {one_line(machine)}", ""]
    if "load_before" in c:
        lines += [f"load average (1 min) before / after: {c['load_before']:.1f} / {c['load_after']:.1f} "
                  "(other jobs share this machine)", ""]
    ratio = c["scheduled p99_us ratio median"]
    if ratio is None:
        measured = "no sweep/quiet pair had reads in both phases (the sweep ended before a read fell in it)"
        met = "unmeasured"
    else:
        measured, met = f"{ratio:.2f}x", "yes" if ratio <= 2 else "**no**"
    lines += ["| target | measured | met |", "|---|---:|---|",
              f"| GetItem p99 during a {c['items']:,}-item sweep <= 2x without (from schedule, median over "
              f"pairs) | {measured} | {met} |", "",
              f"Sweep of {c['items']:,} expired items (table of {c['items'] + c['live']:,}), {c['rounds']} rounds: "
              f"median {c['sweep_seconds_median']:.2f} s ({c['items'] / c['sweep_seconds_median']:,.0f} deletes/s); "
              f"each round {', '.join(f'{s:.2f}' for s in c['sweep_seconds'])} s.  Pacing: at most "
              f"{c['slice_us']} µs of work per partition-lock hold, then a {c['pause_us']} µs sleep.  "
              f"{c['readers']} reader threads at {c['rate']:,} GetItem/s each.", "",
              "| GetItem | sweep running | n | call p50 µs | call p99 µs | from schedule p50 µs | "
              "from schedule p99 µs | from schedule p99.9 µs |",
              "|---|---|---:|---:|---:|---:|---:|---:|"]
    for mode in ("without", "with"):
        s, sch = c[mode]["service"], c[mode]["scheduled"]
        lines.append(f"| | {'yes' if mode == 'with' else 'no'} | {s['n']:,} | {s['p50_us']:,.1f} | {s['p99_us']:,.1f} "
                     f"| {sch['p50_us']:,.1f} | {sch['p99_us']:,.1f} | {sch['p999_us']:,.1f} |")
    lines += ["", "| with / without the sweep | pooled | median over sweep/quiet pairs | per pair |",
              "|---|---:|---:|---|"]
    for metric, label in (("scheduled", "from schedule"), ("service", "call")):
        for p in ("p50_us", "p99_us"):
            w, wo = c["with"][metric][p], c["without"][metric][p]
            med = c[f"{metric} {p} ratio median"]
            pooled = f"{w / wo:.2f}x" if w is not None and wo else ""
            lines.append(f"| {p[:3]}, {label} | {pooled} | {'' if med is None else f'{med:.2f}x'} | "
                         f"{', '.join(f'{r:.1f}' for r in c[f'{metric} {p} ratios'])} |")
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m bench.ttl", description=__doc__.split("\n\n")[0])
    p.add_argument("--items", type=int, default=100_000, help="expired items per sweep (default 100k)")
    p.add_argument("--live", type=int, default=100_000, help="items that never expire (default 100k)")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--readers", type=int, default=2)
    p.add_argument("--rate", type=int, default=2000, help="GetItem/s per reader (default 2000)")
    p.add_argument("--slice-us", type=int, default=100, help="sweeper work per lock hold (default 100)")
    p.add_argument("--pause-us", type=int, default=100, help="sweeper sleep between batches (default 100)")
    p.add_argument("--md", help="write the report (markdown) here")
    p.add_argument("--json", help="write the raw result here")
    args = p.parse_args(argv)
    machine = describe()
    load_before = load_average()
    result = run(args.items, args.live, args.rounds, args.readers, args.rate, args.slice_us, args.pause_us)
    result["load_before"], result["load_after"] = load_before, load_average()
    text = report(result, machine)
    print(text)
    if args.md:
        with open(args.md, "w") as f:
            f.write("# TTL sweep (`python -m bench.ttl`)\n\n" + text + "\n")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": machine, "result": result}, f, indent=1)


if __name__ == "__main__":
    main()
