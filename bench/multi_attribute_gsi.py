"""A GSI with a multi-attribute key against a single-attribute GSI holding the same data, in-process.

``python -m bench.multi_attribute_gsi [--items N] [--rounds R] [--markdown FILE]``

Two tables hold the same items (~200 bytes, seed 7).  Table ``multi`` has a
GSI keyed on three HASH components (tenant S, region S, status S) and two
RANGE components (day N, seq N); table ``single`` has a GSI keyed on the same
values concatenated into one HASH attribute (``tenant#region#status``) and one
RANGE attribute (zero-padded ``day#seq``, so string order is tuple order) --
the synthetic keys single-table designs used before multi-attribute keys.

Workloads, in pairs whose two sides alternate call by call (and the pairs round by round), so
the machine's drift -- on a shared machine, mostly other processes -- hits both sides alike:

- query_multi / query_single: Query of one partition, first RANGE value equal and a
  range on the second (``day = :d AND seq >= :s`` against ``gsk BETWEEN :lo AND :hi``),
  Limit 10 -- the same ten items;
- query_multi_hash / query_single_hash: equality on the partition only, Limit 10;
- put_multi / put_single: PutItem of a new item into each table.

The report gives p50/p99 per workload and, per target, the median of the per-round p50
ratios (with their range) beside the overall ones: Query on the multi-attribute GSI at most
1.3x the single-attribute one (p50), PutItem at most 1.2x.
"""

import argparse
import json
import random
import statistics
import time
from decimal import Decimal

import kvstore
from .histogram import Histogram
from .machine import describe, one_line

FILLER = "x" * 100
TENANTS, REGIONS, STATUSES, DAYS = 20, 4, 3, 3


def _values(rng, seq):
    return (f"t{rng.randrange(TENANTS)}", f"r{rng.randrange(REGIONS)}", f"s{rng.randrange(STATUSES)}",
            rng.randrange(DAYS), seq)


def _multi_item(pk, values):
    tenant, region, status, day, seq = values
    return {"pk": pk, "tenant": tenant, "region": region, "status": status, "day": Decimal(day),
            "seq": Decimal(seq), "filler": FILLER}


def _single_item(pk, values):
    tenant, region, status, day, seq = values
    item = _multi_item(pk, values)
    item["gpk"] = f"{tenant}#{region}#{status}"
    item["gsk"] = f"{day:05d}#{seq:09d}"
    return item


def setup(items, seed=7):
    db = kvstore.open(":memory:")
    key = [{"AttributeName": "pk", "KeyType": "HASH"}]

    def define(*pairs):
        return [{"AttributeName": n, "AttributeType": t} for n, t in (("pk", "S"),) + pairs]
    multi = db.create_table(
        TableName="multi", KeySchema=key, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=define(("tenant", "S"), ("region", "S"), ("status", "S"), ("day", "N"), ("seq", "N")),
        GlobalSecondaryIndexes=[{"IndexName": "idx", "Projection": {"ProjectionType": "ALL"}, "KeySchema": [
            {"AttributeName": "tenant", "KeyType": "HASH"}, {"AttributeName": "region", "KeyType": "HASH"},
            {"AttributeName": "status", "KeyType": "HASH"}, {"AttributeName": "day", "KeyType": "RANGE"},
            {"AttributeName": "seq", "KeyType": "RANGE"}]}])
    single = db.create_table(
        TableName="single", KeySchema=key, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=define(("gpk", "S"), ("gsk", "S")),
        GlobalSecondaryIndexes=[{"IndexName": "idx", "Projection": {"ProjectionType": "ALL"}, "KeySchema": [
            {"AttributeName": "gpk", "KeyType": "HASH"}, {"AttributeName": "gsk", "KeyType": "RANGE"}]}])
    rng = random.Random(seed)
    rows = [_values(rng, i) for i in range(items)]
    for table, make in ((multi, _multi_item), (single, _single_item)):
        with table.batch_writer() as batch:
            for i, values in enumerate(rows):
                batch.put_item(Item=make(f"p{i}", values))
    return db, multi, single


def workloads(multi, single, items, rng):
    """name -> zero-argument callable; the multi/single pairs read the same items for the same draw."""
    draws = [(f"t{rng.randrange(TENANTS)}", f"r{rng.randrange(REGIONS)}", f"s{rng.randrange(STATUSES)}",
              rng.randrange(DAYS), rng.randrange(items // 2)) for _ in range(4096)]
    state = {"multi": 0, "single": 0, "multi_hash": 0, "single_hash": 0}

    def draw(name):
        i = state[name]
        state[name] = i + 1
        return draws[i % len(draws)]

    def query_multi():
        t, r, s, d, q = draw("multi")
        return multi.query(
            IndexName="idx", Limit=10,
            KeyConditionExpression="tenant = :t AND #r = :r AND #s = :s AND #d = :d AND seq >= :q",
            ExpressionAttributeNames={"#r": "region", "#s": "status", "#d": "day"},
            ExpressionAttributeValues={":t": t, ":r": r, ":s": s, ":d": d, ":q": q})

    def query_single():
        t, r, s, d, q = draw("single")
        return single.query(
            IndexName="idx", Limit=10, KeyConditionExpression="gpk = :p AND gsk BETWEEN :lo AND :hi",
            ExpressionAttributeValues={":p": f"{t}#{r}#{s}", ":lo": f"{d:05d}#{q:09d}", ":hi": f"{d:05d}#999999999"})

    def query_multi_hash():
        t, r, s, _, _ = draw("multi_hash")
        return multi.query(IndexName="idx", Limit=10,
                           KeyConditionExpression="tenant = :t AND #r = :r AND #s = :s",
                           ExpressionAttributeNames={"#r": "region", "#s": "status"},
                           ExpressionAttributeValues={":t": t, ":r": r, ":s": s})

    def query_single_hash():
        t, r, s, _, _ = draw("single_hash")
        return single.query(IndexName="idx", Limit=10, KeyConditionExpression="gpk = :p",
                            ExpressionAttributeValues={":p": f"{t}#{r}#{s}"})

    put_rng = {"multi": random.Random(11), "single": random.Random(11)}
    counters = {"multi": iter(range(items, 10 ** 12)), "single": iter(range(items, 10 ** 12))}

    def put(table, make, name):
        def run():
            n = next(counters[name])
            table.put_item(Item=make(f"n{n}", _values(put_rng[name], n)))
        return run

    return {
        "query_multi": query_multi, "query_single": query_single,
        "query_multi_hash": query_multi_hash, "query_single_hash": query_single_hash,
        "put_multi": put(multi, _multi_item, "multi"), "put_single": put(single, _single_item, "single"),
    }


def check_same_answers(ops):
    """The paired queries must read the same items, or the comparison means nothing."""
    for a, b in (("query_multi", "query_single"), ("query_multi_hash", "query_single_hash")):
        for _ in range(50):
            left = [i["pk"] for i in ops[a]()["Items"]]
            right = [i["pk"] for i in ops[b]()["Items"]]
            assert left == right, (a, left, right)


TARGETS = (("query_multi", "query_single", 1.3), ("query_multi_hash", "query_single_hash", 1.3),
           ("put_multi", "put_single", 1.2))


def run(items=50_000, rounds=9, slice_seconds=0.3, seed=7):
    """Per workload: count, p50/p99 over all rounds, ops/s; per target: the per-round p50 ratios."""
    db, multi, single = setup(items, seed)
    ops = workloads(multi, single, items, random.Random(seed))
    check_same_answers(ops)
    hists = {name: Histogram() for name in ops}
    busy = {name: 0.0 for name in ops}
    ratios = {(a, b): [] for a, b, _ in TARGETS}
    for op in ops.values():              # warm-up
        for _ in range(300):
            op()
    clock = time.perf_counter_ns
    for _ in range(rounds):
        for a, b, _goal in TARGETS:         # the two sides of a ratio alternate call by call
            round_hists = {a: Histogram(), b: Histogram()}
            pair = ((a, ops[a], round_hists[a]), (b, ops[b], round_hists[b]))
            end = time.perf_counter() + 2 * slice_seconds
            while time.perf_counter() < end:
                for name, op, h in pair:
                    t0 = clock()
                    op()
                    dt = clock() - t0
                    h.record(dt)
                    busy[name] += dt / 1e9
            for name, h in round_hists.items():
                hists[name].merge(h)
            ratios[(a, b)].append(round_hists[a].percentile(50) / round_hists[b].percentile(50))
    db.close()
    results = {}
    for name, h in hists.items():
        s = h.summary()
        results[name] = {"count": s["count"], "p50_us": s["p50"] / 1000, "p99_us": s["p99"] / 1000,
                         "ops_per_s": s["count"] / busy[name]}
    results["ratios"] = {f"{a} / {b}": sorted(r) for (a, b), r in ratios.items()}
    return results


def report(results, machine, items):
    lines = [f"# Multi-attribute GSI (3 HASH + 2 RANGE) against a single-attribute GSI (in-process, "
             f"{items:,} items per table)", "", f"Machine: {one_line(machine)}", "",
             "| workload | p50 µs | p99 µs | ops/s |", "|---|---:|---:|---:|"]
    for name, r in results.items():
        if name != "ratios":
            lines.append(f"| {name} | {r['p50_us']:.1f} | {r['p99_us']:.1f} | {r['ops_per_s']:,.0f} |")
    lines += ["", "| ratio (same run, alternating calls) | p50, median of rounds | p50, rounds min-max | "
              "p50 overall | p99 overall | goal (p50) |", "|---|---:|---:|---:|---:|---:|"]
    for a, b, goal in TARGETS:
        per_round = results["ratios"][f"{a} / {b}"]
        p50 = results[a]["p50_us"] / results[b]["p50_us"]
        p99 = results[a]["p99_us"] / results[b]["p99_us"]
        lines.append(f"| {a} / {b} | {statistics.median(per_round):.2f}x | {per_round[0]:.2f}-{per_round[-1]:.2f}x "
                     f"| {p50:.2f}x | {p99:.2f}x | <= {goal}x |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.multi_attribute_gsi", description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--slice", type=float, default=0.3, help="seconds per workload per round")
    parser.add_argument("--json", help="also write the results as JSON to this file")
    parser.add_argument("--markdown", help="also write the Markdown report to this file")
    args = parser.parse_args(argv)
    machine = describe()
    results = run(args.items, args.rounds, args.slice)
    text = report(results, machine, args.items)
    print(text)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(text + "\n")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": machine, "items": args.items, "results": results}, f, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
