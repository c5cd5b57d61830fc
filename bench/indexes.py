"""Secondary indexes, batches and transactions beside single-item operations, in-process.

``python -m bench.indexes [--items N] [--rounds R]``

Workloads (fixed parameters, ~200-byte items, uniform keys, seed 7):

- put_plain / put_2gsi: PutItem to a table without indexes / with two GSIs (ALL and KEYS_ONLY)
- lsi_query runs on a third table with one LSI (ALL)
- get: GetItem;  gsi_query / lsi_query: Query of 10 items on a GSI / an LSI
- batch_write_25 / batch_get_100: BatchWriteItem of 25 puts / BatchGetItem of 100 keys
- transact_2 / transact_10: TransactWriteItems of 2 / 10 puts

Each round runs every workload for a short slice, in turn (interleaved), so
the machine's drift hits them alike; latencies go into one histogram per
workload, and the report gives p50/p99/p99.9 and ops/s, plus the two ratios
issue 17 sets targets for: put_2gsi / put_plain p50 (<= 1.6) and transact_2 /
put_plain p50 (<= 2).  ``--workloads put_plain,put_2gsi`` runs a subset (a
ratio is reported when put_plain and its workload are in it); the tables then
grow faster, as every round's slices go to fewer workloads.
"""

import argparse
import json
import random
import time
from decimal import Decimal

import kvstore
from .histogram import Histogram
from .machine import describe, one_line

FILLER = "x" * 120


def _item(pk, sk, rng):
    return {"pk": pk, "sk": Decimal(sk), "grp": f"g{rng.randrange(100)}", "rank": Decimal(rng.randrange(10 ** 6)),
            "name": f"name-{pk}-{sk}", "filler": FILLER}


def setup(items, seed=7):
    rng = random.Random(seed)
    db = kvstore.open(":memory:")
    key = [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}]
    defs = [{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "N"},
            {"AttributeName": "grp", "AttributeType": "S"}, {"AttributeName": "rank", "AttributeType": "N"}]
    plain = db.create_table(TableName="plain", KeySchema=key, AttributeDefinitions=defs[:2],
                            BillingMode="PAY_PER_REQUEST")
    indexed = db.create_table(
        TableName="indexed", KeySchema=key, AttributeDefinitions=defs, BillingMode="PAY_PER_REQUEST",
        GlobalSecondaryIndexes=[
            {"IndexName": "by_grp", "KeySchema": [{"AttributeName": "grp", "KeyType": "HASH"},
                                                  {"AttributeName": "rank", "KeyType": "RANGE"}],
             "Projection": {"ProjectionType": "ALL"}},
            {"IndexName": "by_rank", "KeySchema": [{"AttributeName": "rank", "KeyType": "HASH"}],
             "Projection": {"ProjectionType": "KEYS_ONLY"}}])
    local = db.create_table(
        TableName="local", KeySchema=key, AttributeDefinitions=defs[:2] + defs[3:], BillingMode="PAY_PER_REQUEST",
        LocalSecondaryIndexes=[
            {"IndexName": "by_pk_rank", "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                                                      {"AttributeName": "rank", "KeyType": "RANGE"}],
             "Projection": {"ProjectionType": "ALL"}}])
    partitions = max(1, items // 20)
    for table in (plain, indexed, local):
        with table.batch_writer() as batch:
            for i in range(items):
                batch.put_item(Item=_item(f"p{i % partitions}", i // partitions, rng))
    return db, plain, indexed, local, partitions


def workloads(db, plain, indexed, local, partitions, items, rng):
    """name -> zero-argument callable doing one operation."""
    counter = iter(range(10 ** 12))

    def put(table):
        n = next(counter)
        return lambda: table.put_item(Item=_item(f"p{rng.randrange(partitions)}", items + n, rng))

    def batch_write():
        base = items + next(counter) * 25
        db.batch_write_item(RequestItems={"plain": [
            {"PutRequest": {"Item": _item(f"p{rng.randrange(partitions)}", base + j, rng)}} for j in range(25)]})

    def batch_get():
        keys = {(f"p{rng.randrange(partitions)}", rng.randrange(20)) for _ in range(100)}
        while len(keys) < 100:
            keys.add((f"p{rng.randrange(partitions)}", rng.randrange(20)))
        db.batch_get_item(RequestItems={"plain": {"Keys": [{"pk": p, "sk": s} for p, s in keys]}})

    def transact(n):
        def run():
            base = items + next(counter) * n
            db.transact_write_items(TransactItems=[
                {"Put": {"TableName": "plain", "Item": _item(f"p{rng.randrange(partitions)}", base + j, rng)}}
                for j in range(n)])
        return run

    return {
        "put_plain": lambda: put(plain)(),
        "put_2gsi": lambda: put(indexed)(),
        "get": lambda: plain.get_item(Key={"pk": f"p{rng.randrange(partitions)}", "sk": rng.randrange(20)}),
        "gsi_query": lambda: indexed.query(IndexName="by_grp", KeyConditionExpression="grp = :g",
                                           ExpressionAttributeValues={":g": f"g{rng.randrange(100)}"}, Limit=10),
        "lsi_query": lambda: local.query(IndexName="by_pk_rank", KeyConditionExpression="pk = :p",
                                           ExpressionAttributeValues={":p": f"p{rng.randrange(partitions)}"},
                                           Limit=10),
        "batch_write_25": batch_write,
        "batch_get_100": batch_get,
        "transact_2": transact(2),
        "transact_10": transact(10),
    }


def run(items=100_000, rounds=5, slice_seconds=0.4, seed=7, only=None):
    db, plain, indexed, local, partitions = setup(items, seed)
    rng = random.Random(seed)
    ops = workloads(db, plain, indexed, local, partitions, items, rng)
    if only:
        ops = {name: ops[name] for name in only}
    hists = {name: Histogram() for name in ops}
    busy = {name: 0.0 for name in ops}
    for name, op in ops.items():            # warm-up
        for _ in range(200):
            op()
    for _ in range(rounds):
        for name, op in ops.items():
            h = hists[name]
            clock = time.perf_counter_ns
            end = time.perf_counter() + slice_seconds
            while time.perf_counter() < end:
                t0 = clock()
                op()
                dt = clock() - t0
                h.record(dt)
                busy[name] += dt / 1e9
    db.close()
    results = {}
    for name, h in hists.items():
        s = h.summary()
        results[name] = {"count": s["count"], "p50_us": s["p50"] / 1000, "p99_us": s["p99"] / 1000,
                         "p999_us": s["p99.9"] / 1000, "ops_per_s": s["count"] / busy[name]}
    return results


def report(results, machine, items):
    lines = [f"# Indexes, batches and transactions (in-process, {items:,} items per table)", "",
             f"Machine: {one_line(machine)}", "",
             "| workload | p50 µs | p99 µs | p99.9 µs | ops/s |", "|---|---:|---:|---:|---:|"]
    for name, r in results.items():
        lines.append(f"| {name} | {r['p50_us']:.1f} | {r['p99_us']:.1f} | {r['p999_us']:.1f} | {r['ops_per_s']:,.0f} |")
    lines += ["", "| target | measured | goal |", "|---|---:|---:|"]
    for name, label, goal in RATIOS:
        if name in results and "put_plain" in results:
            ratio = results[name]["p50_us"] / results["put_plain"]["p50_us"]
            lines.append(f"| {label}, p50 | {ratio:.2f}x | <= {goal}x |")
    return "\n".join(lines)


#: (workload, what its p50 over put_plain's is, issue 17's goal for that ratio)
RATIOS = (("put_2gsi", "PutItem with two GSIs / PutItem without indexes", 1.6),
          ("transact_2", "TransactWriteItems of 2 / PutItem", 2))


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.indexes", description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--slice", type=float, default=0.4, help="seconds per workload per round")
    parser.add_argument("--workloads", help="comma-separated subset of the workloads (default: all)")
    parser.add_argument("--json", help="also write the results as JSON to this file")
    parser.add_argument("--markdown", help="also write the Markdown report to this file")
    args = parser.parse_args(argv)
    machine = describe()
    names = list(workloads(None, None, None, None, 1, 0, random.Random()))
    only = args.workloads.split(",") if args.workloads else None
    unknown = sorted(set(only or ()) - set(names))
    if unknown:
        parser.error(f"unknown workloads: {', '.join(unknown)} (known: {', '.join(names)})")
    results = run(args.items, args.rounds, args.slice, only=only)
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
