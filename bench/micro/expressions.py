"""Per-call time of the expression layer: compile_request and evaluation, and a 10-item Query.

Expressions sit on every request's hot path: each request compiles its
expressions and each item read or written evaluates them.  Real requests repeat
a few *shapes* (same texts, names and value types) with new values every call
(``pk = :p AND sk >= :s`` with a new ``:p`` per Query), so the column that
matters is "new values".  Each row times one call: ``repeats`` runs of
``number`` calls (sized so a run takes ~20 ms) and reports the fastest run in
microseconds (the least disturbed by other processes).  Not a test.

    python -m bench.micro.expressions
    python -m bench.micro.expressions --output bench/results/micro_expressions.md
"""

import argparse
import itertools
import platform
import sqlite3
import sys
from decimal import Decimal

import kvstore.expressions as expressions
from kvstore.expressions import clear_cache, compile_request
from kvstore.types import type_of

from ..machine import cpu_model
from .timing import per_call_us

ITEM = {
    "pk": "customer#0042", "sk": Decimal("1700000000123"), "version": Decimal(7), "status": "open",
    "name": "Zoë Example", "tags": {"vip", "beta"}, "scores": [Decimal(1), Decimal(2), Decimal(3)],
    "address": {"city": "Lyon", "zip": "69001", "lines": ["1 rue X", "bât. B"]}, "active": True,
    "a": "x", "b": Decimal(3),
}

#: distinct value maps per row: more than any result cache keyed by exact values remembers
DISTINCT = 4096


def _n(i):
    return Decimal(i)


#: (kind, operation, compile_request arguments without values, values(i) or None)
REQUESTS = [
    ("key condition", "Query", {"key_condition": "pk = :p AND sk >= :s"},
     lambda i: {":p": f"customer#{i:05d}", ":s": _n(1700000000000 + i)}),
    ("key condition", "Query", {"key_condition": "#p = :p AND begins_with(#s, :s)",
                                "names": {"#p": "pk", "#s": "sk"}},
     lambda i: {":p": f"customer#{i:05d}", ":s": f"order#{i % 97}"}),
    ("key + filter", "Query", {"key_condition": "pk = :p AND sk BETWEEN :lo AND :hi",
                               "filter": "#s = :st AND size(tags) > :n", "names": {"#s": "status"}},
     lambda i: {":p": f"customer#{i:05d}", ":lo": _n(i), ":hi": _n(i + 100), ":st": "open", ":n": _n(i % 3)}),
    ("condition", "PutItem", {"condition": "attribute_not_exists(pk)"}, None),
    ("condition", "PutItem", {"condition": "version = :v"}, lambda i: {":v": _n(i)}),
    ("condition", "PutItem", {"condition": "#s IN (:a, :b) AND size(tags) > :n", "names": {"#s": "status"}},
     lambda i: {":a": f"open{i}", ":b": "held", ":n": _n(i % 5)}),
    ("condition", "PutItem",
     {"condition": "address.city = :c OR (attribute_exists(active) AND NOT contains(tags, :t))"},
     lambda i: {":c": f"Paris{i}", ":t": "vip"}),
    ("update", "UpdateItem", {"update": "SET version = version + :one"}, lambda i: {":one": _n(i)}),
    ("update", "UpdateItem", {"update": "SET a = :a, b = b + :n"}, lambda i: {":a": f"x{i}", ":n": _n(i)}),
    ("update + condition", "UpdateItem", {"update": "SET a = :a, version = :new", "condition": "version = :old"},
     lambda i: {":a": f"x{i}", ":new": _n(i + 1), ":old": _n(i)}),
    ("update", "UpdateItem", {"update": "SET #n = :n, address.zip = :z REMOVE scores[0] ADD tags :t",
                              "names": {"#n": "name"}},
     lambda i: {":n": f"Zoe{i}", ":z": f"{i:05d}", ":t": {f"new{i}"}}),
    ("projection", "GetItem", {"projection": "pk, address.city, scores[1]"}, None),
]


def _forget_compiled():
    """Forget compiled results and templates but keep parsed texts (works on every version of the layer)."""
    for module, name in ((expressions, "_RESULTS"), (expressions, "_TEMPLATES"),
                         (getattr(expressions, "templates", None), "TEMPLATES")):
        cache = getattr(module, name, None)
        if cache is not None:
            cache.clear()


def _timings(operation, args, make_values):
    """(same values, new values, new shape, cold) microseconds of one compile_request."""
    first = make_values(0) if make_values else None

    def same():
        return compile_request(operation, values=first, **args)

    maps = itertools.cycle([make_values(i) for i in range(DISTINCT)] if make_values else [None])

    def new_values():
        return compile_request(operation, values=next(maps), **args)

    def new_shape():
        _forget_compiled()
        same()

    def cold():
        clear_cache()
        same()
    same()
    return per_call_us(same), per_call_us(new_values), per_call_us(new_shape), per_call_us(cold)


def _run_time(compiled):
    """Microseconds to use the compiled request once on ITEM (evaluate / apply / project / resolve)."""
    parts = []
    if compiled.key_condition is not None:
        key = compiled.key_condition
        types = {name: type_of(values[0]) for name, (_, values) in key.conditions.items()}
        parts.append(lambda: key.resolve("pk", "sk", types))
    for condition in (compiled.condition, compiled.filter):
        if condition is not None:
            parts.append(lambda c=condition: c.evaluate(ITEM))
    if compiled.update is not None:
        parts.append(lambda u=compiled.update: u.apply(ITEM, True))
    if compiled.projection is not None:
        parts.append(lambda p=compiled.projection: p.apply(ITEM))

    def run():
        for p in parts:
            p()
    return per_call_us(run)


def _shown(args):
    texts = [args[k] for k in ("key_condition", "filter", "condition", "update", "projection") if k in args]
    return " ; ".join(f"`{t}`" for t in texts)


def rows():
    out = []
    for kind, operation, args, make_values in REQUESTS:
        compiled = compile_request(operation, values=make_values(0) if make_values else None, **args)
        out.append((kind, _shown(args)) + _timings(operation, args, make_values) + (_run_time(compiled),))
    return out


# ---------------------------------------------------------------- Query of 10 items

def query_engine(partitions=1000, per_partition=10):
    from kvstore.api import Database

    db = Database(":memory:", durability="none")
    db.create_table(TableName="bench", BillingMode="PAY_PER_REQUEST",
                    KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                               {"AttributeName": "sk", "KeyType": "RANGE"}],
                    AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                          {"AttributeName": "sk", "AttributeType": "N"}])
    table = db.Table("bench")
    with table.batch_writer() as writer:
        for p in range(partitions):
            for s in range(per_partition):
                writer.put_item(Item={"pk": f"customer#{p:05d}", "sk": s, "status": "open", "total": p * 10 + s,
                                      "note": "x" * 40})
    return db


def query_rows(partitions=1000):
    """(what, µs per call) for a 10-item Query with new values each call, and sqlite3's 10-row range SELECT.

    The values cycle through DISTINCT (partition, lower bound) pairs, so no
    cache keyed by exact values can remember them.
    """
    from kvstore.operations import execute

    db = query_engine(partitions)
    engine = db.engine
    pairs = [(f"customer#{i % partitions:05d}", -i) for i in range(DISTINCT)]
    requests = itertools.cycle([
        {"TableName": "bench", "KeyConditionExpression": "pk = :p AND sk >= :s",
         "ExpressionAttributeValues": {":p": p, ":s": Decimal(s)}} for p, s in pairs])
    assert len(execute(engine, "Query", next(requests))["Items"]) == 10
    out = [("kvstore `execute(engine, \"Query\", ...)`, native request",
            per_call_us(lambda: execute(engine, "Query", next(requests))))]
    table = db.Table("bench")
    keys = itertools.cycle(pairs)

    def query():
        p, s = next(keys)
        return table.query(KeyConditionExpression="pk = :p AND sk >= :s", ExpressionAttributeValues={":p": p, ":s": s})
    assert len(query()["Items"]) == 10
    out.append(("kvstore `Table.query(KeyConditionExpression=..., ExpressionAttributeValues=...)`", per_call_us(query)))
    db.close()

    con = sqlite3.connect(":memory:")
    con.execute("CREATE TABLE t (pk TEXT, sk INTEGER, status TEXT, total INTEGER, note TEXT, PRIMARY KEY (pk, sk))"
                " WITHOUT ROWID")
    con.executemany("INSERT INTO t VALUES (?, ?, ?, ?, ?)",
                    [(f"customer#{p:05d}", s, "open", p * 10 + s, "x" * 40)
                     for p in range(partitions) for s in range(10)])
    sql = "SELECT pk, sk, status, total, note FROM t WHERE pk = ? AND sk >= ? ORDER BY sk"
    keys = itertools.cycle(pairs)
    out.append(("sqlite3 10-row range SELECT (fetchall)", per_call_us(lambda: con.execute(sql, next(keys))
                                                                      .fetchall())))
    con.close()
    return out


def report():
    lines = [
        "# Expression layer: microseconds per call",
        "",
        f"Python {platform.python_version()} on {platform.machine()}, {cpu_model()}; best of 7 runs.  "
        "compile_request: *same values* = the same request again; *new values* = same texts, names and value "
        f"types, a new value map each call (cycling through {DISTINCT}); *new shape* = parsed texts cached, "
        "nothing else; *cold* = nothing cached (tokenize, parse, checks, bind).  *run* = use the result once: "
        "resolve a key condition, evaluate a condition / apply an update / project on a 11-attribute item.",
        "",
        "| kind | expressions | same values µs | new values µs | new shape µs | cold µs | run µs |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for kind, text, same, new, shape, cold, run in rows():
        lines.append(f"| {kind} | {text} | {same:.2f} | {new:.2f} | {shape:.1f} | {cold:.1f} | {run:.2f} |")
    lines += [
        "",
        "In-process Query returning 10 items of one partition (1000 partitions of 10), new values each call "
        f"(cycling through {DISTINCT} partition key and lower bound pairs):",
        "",
        "| request | µs per call |",
        "|---|---:|",
    ]
    for what, us in query_rows():
        lines.append(f"| {what} | {us:.1f} |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", help="write the Markdown table here too")
    args = parser.parse_args(argv)
    text = report()
    sys.stdout.write(text)
    if args.output:
        with open(args.output, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
