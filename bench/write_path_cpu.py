"""Instructions per embedded PutItem, UpdateItem and TransactWriteItems, counted with callgrind (issue 17 item 2).

Each operation runs ``base`` and ``base + extra`` times in a child process
under ``valgrind --tool=callgrind`` (PYTHONHASHSEED=0, the collector off, exit
without teardown); the difference divided by ``extra`` is what one call
executes through the boto3-shaped Table / Database API, independent of the
machine's load.  Tables: in memory, durability ``none``, 2,000 items of ~190
bytes (``WRITE_PATH_ITEMS`` sets another count: callgrind runs 50x slower); "plain" has no index, "indexed" two GSIs (ALL and KEYS_ONLY), as
``bench.indexes`` builds them (``put_plain`` / ``put_2gsi`` replace stored items, the ``*_new`` ones put new
items, as ``bench.indexes`` does); "items" is ``kvstore bench``'s table (one GSI, ALL), which the
``*_items`` calls use through the harness's own ``TableSession`` operations.  ``--logged``: in a temporary directory under
durability ``batch`` instead, so each write also builds, frames and stages its
log record (what ``kvstore bench``'s on-disk target does); the flusher thread
is kept asleep while calls are counted, so only the writer's own work is.

    python -m bench.write_path_cpu
    python -m bench.write_path_cpu --ops put_plain,put_2gsi --extra 1000
    python -m bench.write_path_cpu --logged --ops put_plain,update_conditional
    python -m bench.write_path_cpu --profile transact_2_put     # cProfile of the Python time instead
    python -m bench.write_path_cpu --opcodes put_plain,transact_2_put   # Python bytecodes per call, by function
    python -m bench.write_path_cpu --logged --breakdown transact_2_items  # instructions by compiled function

The bytecode count (``sys.settrace`` opcode events) is exact and quick, so it
guides work on the Python glue between two callgrind runs; it does not see
time spent inside compiled functions.
"""

import argparse
import gc
import os
import re
import subprocess
import sys
from decimal import Decimal

OPS = ("put_plain", "put_2gsi", "put_plain_new", "put_2gsi_new", "transact_2_put", "update_conditional", "update_conditional_2gsi", "transact_2_update",
       "transact_2_update_2gsi", "delete_put", "update_conditional_items", "transact_2_items")
ITEMS = int(os.environ.get("WRITE_PATH_ITEMS", "2000"))      # items per table (children inherit it)
LOGGED = os.environ.get("WRITE_PATH_LOGGED") == "1"          # on disk under durability batch (--logged)
FILLER = "x" * 120


def _key(n):
    m = n % ITEMS
    return {"pk": f"p{m:06d}", "sk": Decimal(m % 7)}


def _item(n):
    m = n % ITEMS
    return {"pk": f"p{m:06d}", "sk": Decimal(m % 7), "grp": f"g{n % 100}", "rank": Decimal(n * 7919 % 10 ** 6),
            "name": f"name-{n}", "cnt": Decimal(5), "filler": FILLER}


def _new_item(n):
    """A new item (a key no call has written), as ``bench.indexes`` puts."""
    item = _item(n)
    item["pk"] = f"q{n:07d}"
    return item


def _setup():
    import kvstore

    if LOGGED:
        import tempfile

        from kvstore.engine.durability import Durability
        # the flusher sleeps through the count (its writes, on another thread, would be counted too and
        # vary with the machine's load); the records wait in the buffer and the staging area meanwhile
        Durability.__init__.__kwdefaults__["batch_interval"] = 3600.0
        db = kvstore.open(tempfile.mkdtemp(prefix="write-path-cpu-"), durability="batch")
    else:
        db = kvstore.open(":memory:", durability="none")
    key = [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}]
    defs = [{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "N"},
            {"AttributeName": "grp", "AttributeType": "S"}, {"AttributeName": "rank", "AttributeType": "N"}]
    db.create_table(TableName="plain", KeySchema=key, AttributeDefinitions=defs[:2], BillingMode="PAY_PER_REQUEST")
    db.create_table(
        TableName="indexed", KeySchema=key, AttributeDefinitions=defs, BillingMode="PAY_PER_REQUEST",
        GlobalSecondaryIndexes=[
            {"IndexName": "by_grp", "KeySchema": [{"AttributeName": "grp", "KeyType": "HASH"},
                                                  {"AttributeName": "rank", "KeyType": "RANGE"}],
             "Projection": {"ProjectionType": "ALL"}},
            {"IndexName": "by_rank", "KeySchema": [{"AttributeName": "rank", "KeyType": "HASH"}],
             "Projection": {"ProjectionType": "KEYS_ONLY"}}])
    plain, indexed = db.Table("plain"), db.Table("indexed")
    for n in range(ITEMS):
        plain.put_item(Item=_item(n))
        indexed.put_item(Item=_item(n))
    from .datasets import Items

    data = Items(ITEMS)              # kvstore bench's table: one GSI (grp, ts) of projection ALL
    db.create_table(**data.create_table_kwargs("items"))
    items = db.Table("items")
    for record in data.records():
        items.put_item(Item=record)
    return db, plain, indexed, data


def _operation(name, db, plain, indexed, data):
    if name == "put_plain":
        return lambda n: plain.put_item(Item=_item(n))
    if name == "put_2gsi":
        return lambda n: indexed.put_item(Item=_item(n))
    if name == "put_plain_new":
        return lambda n: plain.put_item(Item=_new_item(n))
    if name == "put_2gsi_new":
        return lambda n: indexed.put_item(Item=_new_item(n))
    if name == "transact_2_put":
        return lambda n: db.transact_write_items(TransactItems=[
            {"Put": {"TableName": "plain", "Item": _item(2 * n)}},
            {"Put": {"TableName": "plain", "Item": _item(2 * n + 1)}}])
    if name in ("update_conditional", "update_conditional_2gsi"):
        return lambda n: (plain if name == "update_conditional" else indexed).update_item(
            Key=_key(n), UpdateExpression="SET cnt = cnt + :one",
            ConditionExpression="attribute_exists(pk) AND cnt < :max",
            ExpressionAttributeValues={":one": 1, ":max": 10 ** 12})

    if name in ("transact_2_update", "transact_2_update_2gsi"):
        table = "plain" if name == "transact_2_update" else "indexed"

        def update(n, expression):
            return {"Update": {"TableName": table, "Key": _key(n),
                               "UpdateExpression": expression, "ConditionExpression": "attribute_exists(pk)",
                               "ExpressionAttributeValues": {":one": 1}}}
        return lambda n: db.transact_write_items(TransactItems=[update(n, "SET cnt = cnt - :one"),
                                                                update(n + 1, "SET cnt = cnt + :one")])
    if name in ("update_conditional_items", "transact_2_items"):   # as kvstore bench's workloads
        from .targets.dynamo import TableSession

        session = TableSession(db, {"items": "items", "usertable": "items"}, native_transactions=True)
        keys = [data.key(n * 7919 % ITEMS) for n in range(ITEMS)]
        if name == "update_conditional_items":
            op, prepared = session.op_update_conditional, [session.prepare_update_conditional(*k) for k in keys]
        else:
            op, prepared = session.op_transact, [session.prepare_transact(k, keys[(n + 1) % ITEMS])
                                                 for n, k in enumerate(keys)]
        return lambda n: op(prepared[n % ITEMS])      # prepared outside the count, as the harness does
    if name == "delete_put":
        def f(n):
            plain.delete_item(Key=_key(n))
            plain.put_item(Item=_item(n))
        return f
    raise ValueError(name)


def _child(name, calls):
    f = _operation(name, *_setup())
    for n in range(200):
        f(n)
    gc.disable()
    for n in range(200, 200 + calls):
        f(n)
    sys.stdout.flush()
    os._exit(0)


def instructions(name, base=200, extra=1000, out_files=None):
    """Instructions one call executes: the difference of two callgrind runs, ``base`` and ``base + extra``
    calls, divided by ``extra``.  ``out_files``: the two runs' callgrind output files (else discarded)."""
    env = dict(os.environ, PYTHONHASHSEED="0", WRITE_PATH_ITEMS=str(ITEMS), WRITE_PATH_LOGGED="1" if LOGGED else "0")
    totals = []
    for i, calls in enumerate((base, base + extra)):
        out = out_files[i] if out_files else "/dev/null"
        run = subprocess.run(["setarch", "-R", "valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
                              sys.executable, "-m", "bench.write_path_cpu", "--child", name, str(calls)],
                             capture_output=True, text=True, env=env, check=True)
        totals.append(int(re.search(r"Collected : (\d+)", run.stderr).group(1)))
    return (totals[1] - totals[0]) / extra


def breakdown(name, extra=1000, top=40):
    """``(total, [(inclusive instructions per call, function)])``: where one call's instructions go, by
    function (inclusive), from the same two runs as :func:`instructions` and ``callgrind_annotate``."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="write-path-breakdown-") as tmp:
        files = [os.path.join(tmp, "base.out"), os.path.join(tmp, "more.out")]
        total = instructions(name, extra=extra, out_files=files)
        per_file = []
        for path in files:
            text = subprocess.run(["callgrind_annotate", "--tree=none", "--inclusive=yes", "--threshold=100", path],
                                  capture_output=True, text=True, check=True).stdout
            counts = {}
            for line in text.splitlines():
                m = re.match(r"\s*([\d,]+)\s+(?:\(\s*[\d.]+%\)\s+)?(\S.*)", line)
                if m and not m.group(2).startswith(("=>", "<", "*", "> ")):
                    function = re.sub(r"\s*\[.*\]$", "", m.group(2)).strip()
                    counts[function] = counts.get(function, 0) + int(m.group(1).replace(",", ""))
            per_file.append(counts)
    base, more = per_file
    rows = [((more.get(f, 0) - base.get(f, 0)) / extra, f) for f in set(base) | set(more)]
    rows = [r for r in rows if "kvstore" in r[1] and "Vectorcall" not in r[1] and "FastCall" not in r[1]]
    return total, sorted(rows, reverse=True)[:top]


def _profile(name, calls):
    import cProfile
    import pstats

    f = _operation(name, *_setup())
    for n in range(200):
        f(n)
    profile = cProfile.Profile()
    profile.enable()
    for n in range(200, 200 + calls):
        f(n)
    profile.disable()
    pstats.Stats(profile).sort_stats("tottime").print_stats(30)


def opcodes(name, calls=20):
    """Python bytecodes one call executes, per (file, function), averaged over ``calls``."""
    import collections

    f = _operation(name, *_setup())
    for n in range(200):
        f(n)
    counts = collections.Counter()

    def tracer(frame, event, arg):
        frame.f_trace_opcodes = True
        if event == "opcode":
            code = frame.f_code
            counts[(os.path.relpath(code.co_filename), code.co_name)] += 1
        return tracer

    sys.settrace(tracer)
    for n in range(200, 200 + calls):
        f(n)
    sys.settrace(None)
    return {k: v / calls for k, v in counts.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.write_path_cpu", description=__doc__.split("\n")[0])
    parser.add_argument("--extra", type=int, default=1000)
    parser.add_argument("--ops", default=",".join(OPS))
    parser.add_argument("--profile", metavar="OP")
    parser.add_argument("--opcodes", metavar="OPS")
    parser.add_argument("--breakdown", metavar="OP", help="instructions per call by compiled function (inclusive)")
    parser.add_argument("--logged", action="store_true", help="on disk under durability batch (see above)")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    global LOGGED
    LOGGED = LOGGED or args.logged
    if args.child:
        _child(args.child[0], int(args.child[1]))
        return 0
    if args.opcodes:
        for name in args.opcodes.split(","):
            counts = opcodes(name)
            print("%s: %.0f bytecodes per call" % (name, sum(counts.values())))
            for (path, function), n in sorted(counts.items(), key=lambda kv: -kv[1])[:15]:
                print("  %7.1f  %s:%s" % (n, path, function))
        return 0
    if args.profile:
        _profile(args.profile, 5000)
        return 0
    if args.breakdown:
        total, rows = breakdown(args.breakdown, extra=args.extra)
        print("%s: %.1fk instructions per call; by compiled function, inclusive:" % (args.breakdown, total / 1000))
        for n, function in rows:
            print("  %8.0f  %s" % (n, function.split(":")[-1]))
        return 0
    import kvstore
    print("core: %s" % getattr(kvstore, "implementation", "?"))
    print("| operation | instructions per call |")
    print("|---|---:|")
    for name in args.ops.split(","):
        print("| %s | %.1fk |" % (name, instructions(name, extra=args.extra) / 1000), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
