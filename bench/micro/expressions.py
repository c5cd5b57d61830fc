"""Per-call time of the expression layer: compile_request and evaluation.

Expressions sit on every request's hot path: each request compiles its
expressions (parsing is cached per text, binding to the request's names and
values is not) and each item read or written evaluates them.  Each row times
one call: ``repeats`` runs of ``number`` calls (sized so a run takes ~20 ms)
and reports the median in microseconds.  Not a test.

    python -m bench.micro.expressions
    python -m bench.micro.expressions --output bench/results/micro_expressions.md
"""

import argparse
import platform
import statistics
import sys
import timeit
from decimal import Decimal

from kvstore.expressions import clear_cache, compile_request

ITEM = {
    "pk": "customer#0042", "sk": Decimal("1700000000123"), "version": Decimal(7), "status": "open",
    "name": "Zoë Example", "tags": {"vip", "beta"}, "scores": [Decimal(1), Decimal(2), Decimal(3)],
    "address": {"city": "Lyon", "zip": "69001", "lines": ["1 rue X", "bât. B"]}, "active": True,
}

CONDITIONS = [
    ("attribute_not_exists(pk)", None, None),
    ("version = :v", None, {":v": Decimal(7)}),
    ("#s IN (:a, :b) AND size(tags) > :n", {"#s": "status"}, {":a": "open", ":b": "held", ":n": Decimal(1)}),
    ("address.city = :c OR (attribute_exists(active) AND NOT contains(tags, :t))", None,
     {":c": "Paris", ":t": "vip"}),
]
UPDATES = [
    ("SET version = version + :one", None, {":one": Decimal(1)}),
    ("SET #n = :n, address.zip = :z REMOVE scores[0] ADD tags :t", {"#n": "name"},
     {":n": "Zoe", ":z": "69002", ":t": {"new"}}),
]
PROJECTIONS = [("pk, address.city, scores[1]", None)]


def per_call_us(fn, repeats=7, budget=0.02):
    timer = timeit.Timer(fn)
    number = 1
    while timer.timeit(number) < budget / 10:
        number *= 2
    number = max(1, int(number * 10 * budget / max(timer.timeit(number), 1e-9) / 10))
    runs = [timer.timeit(number) / number for _ in range(repeats)]
    return statistics.median(runs) * 1e6


def _timings(call):
    """(remembered, bind, cold) microseconds of ``call()`` (one compile_request)."""
    from kvstore import expressions

    call()

    def bind():
        expressions._RESULTS.clear()
        call()

    def cold():
        clear_cache()
        call()
    return per_call_us(call), per_call_us(bind), per_call_us(cold)


def rows():
    out = []
    for text, names, values in CONDITIONS:
        def call(t=text, n=names, v=values):
            return compile_request("PutItem", condition=t, names=n, values=v)
        compiled = call().condition
        out.append(("condition", text) + _timings(call) + (per_call_us(lambda c=compiled: c.evaluate(ITEM)),))
    for text, names, values in UPDATES:
        def call(t=text, n=names, v=values):
            return compile_request("UpdateItem", update=t, names=n, values=v)
        compiled = call().update
        out.append(("update", text) + _timings(call) + (per_call_us(lambda c=compiled: c.apply(ITEM, True)),))
    for text, names in PROJECTIONS:
        def call(t=text, n=names):
            return compile_request("GetItem", projection=t, names=n)
        compiled = call().projection
        out.append(("projection", text) + _timings(call) + (per_call_us(lambda c=compiled: c.apply(ITEM)),))
    return out


def _cpu():
    try:
        from bench.machine import cpu_model
        return cpu_model() or "cpu n/a"
    except Exception:
        return "cpu n/a"


def report():
    lines = [
        "# Expression layer: microseconds per call",
        "",
        f"Python {platform.python_version()} on {platform.machine()}, {_cpu()}; "
        "median of 7 runs.  compile_request: *remembered* = same text, names and scalar values as an earlier "
        "request; *bind* = parse cached, new values (checks + binding + closures); *cold* = nothing cached "
        "(tokenize, parse, checks, bind).  *run* = evaluate / apply / project on a 9-attribute item.",
        "",
        "| kind | expression | remembered µs | bind µs | cold µs | run µs |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for kind, text, remembered, bind, cold, run in rows():
        lines.append(f"| {kind} | `{text}` | {remembered:.2f} | {bind:.1f} | {cold:.1f} | {run:.2f} |")
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
