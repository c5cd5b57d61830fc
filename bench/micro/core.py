"""Per-function time of ``kvstore._pycore`` against ``kvstore._ccore``.

Each row times one call with one input: ``repeats`` runs of ``number`` calls
each (``number`` sized so a run takes ~10 ms), alternating the two cores run by
run, and reports the median per call in microseconds and the speedup.  Inputs
are the bench ``items`` record (what the harness's GetItem / PutItem move), a
"rich" item using every DynamoDB type, and items whose numbers are all distinct
(so the compiled decoder's number cache misses).

    python -m bench.micro.core                 # print the Markdown table
    python -m bench.micro.core --output bench/results/micro_core.md
"""

import argparse
import platform
import random
import statistics
import sys
import time
import timeit

from kvstore import _ccore, _pycore
from kvstore.types import Binary, number

from ..machine import cpu_model, load_average
from .timing import calibrate

# ------------------------------------------------------------------ inputs


def bench_record():
    """The bench ``items`` record (bench.datasets.Items) as the engine stores it."""
    from ..datasets import Items

    record = Items(10_000).record(4242)
    return {k: number(v) if type(v) is int else v for k, v in record.items()}


RICH = {
    "pk": "customer#0042", "sk": number("1700000000123"),
    "name": "Zoë Example", "email": "zoe@example.com", "active": True, "deleted": None,
    "balance": number("-1234.56"), "ratio": number("0.000125"), "visits": number("42"),
    "tags": {"vip", "beta", "eu-west"}, "scores": {number("1"), number("2.5"), number("99")},
    "keys": {Binary(b"\x00\x01"), Binary(b"\xff")},
    "avatar": Binary(bytes(range(64))),
    "address": {"street": "1 Rue de la Paix", "city": "Paris", "zip": "75002",
                "geo": {"lat": number("48.8686"), "lon": number("2.3314")}},
    "orders": [{"id": "o-1", "total": number("19.99"), "items": [number("1"), number("2")]},
               {"id": "o-2", "total": number("5"), "items": []}],
}


def distinct_number_items(count=2000, seed=11):
    """Items of ten numbers each, all different: the number cache cannot help."""
    rng = random.Random(seed)
    return [{f"n{i}": number(f"{rng.randrange(10**9)}.{rng.randrange(10**4):04d}") for i in range(10)}
            for _ in range(count)]


# ------------------------------------------------------------------ cases


def cases():
    """``(function name, input label, args)`` for every row of the table."""
    record = bench_record()
    sk = number("1700000000123")
    nul = "a\x00b\x00c"
    return [
        ("encode_number", '"-1234.5678"', ("-1234.5678",)),
        ("key_bytes", "S (9 chars)", ("p00000042",)),
        ("key_bytes", "S (non-ASCII)", ("Zoë Example",)),
        ("key_bytes", "N", (sk,)),
        ("key_bytes", "B (16 bytes)", (Binary(b"\x00" * 16),)),
        ("hash_component", "S", ("p00000042",)),
        ("storage_key", "S", ("p00000042",)),
        ("storage_key", "S, S", ("p00000042", "s0042")),
        ("storage_key", "S, N", ("customer#0042", sk)),
        ("partition_prefix", "S", ("p00000042",)),
        ("delimited_sort_component", "S with NULs", (nul,)),
        ("delimited_sort_component", "N", (sk,)),
        ("index_key", "S, S, row key", ("g000042", "0000004242", _pycore.storage_key("p00000042", "s0042"))),
        ("sort_bound", "S, delimited", ("s0042", True)),
        ("pack_item", "bench record", (record,)),
        ("pack_item", "rich item", (RICH,)),
        ("unpack_item", "bench record", (_pycore.pack_item(record),)),
        ("unpack_item", "rich item", (_pycore.pack_item(RICH),)),
        ("item_size", "bench record", (record,)),
        ("item_size", "rich item", (RICH,)),
    ]


def _timer(function, args):
    names = ", ".join(f"a{i}" for i in range(len(args)))
    env = {"f": function, **{f"a{i}": a for i, a in enumerate(args)}}
    return timeit.Timer(f"f({names})", globals=env)


def _cycling_timer(function, inputs):
    """Times ``function`` over a rotating list of inputs (distinct-number items)."""
    env = {"f": function, "inputs": inputs, "n": len(inputs), "i": [0]}
    return timeit.Timer("j = i[0]; i[0] = j + 1; f(inputs[j % n])", globals=env)


def measure(py_timer, c_timer, repeats):
    """Median µs per call of each timer, runs interleaved so drift hits both alike."""
    py_number, c_number = calibrate(py_timer), calibrate(c_timer)
    py_runs, c_runs = [], []
    for _ in range(repeats):
        py_runs.append(py_timer.timeit(py_number) / py_number * 1e6)
        c_runs.append(c_timer.timeit(c_number) / c_number * 1e6)
    return statistics.median(py_runs), statistics.median(c_runs)


def run(repeats):
    rows = []
    for name, label, args in cases():
        py_us, c_us = measure(_timer(getattr(_pycore, name), args), _timer(getattr(_ccore, name), args), repeats)
        rows.append((f"`{name}`", label, py_us, c_us))
    distinct = distinct_number_items()
    packed = [_pycore.pack_item(item) for item in distinct]
    py_us, c_us = measure(_cycling_timer(_pycore.unpack_item, packed), _cycling_timer(_ccore.unpack_item, packed),
                          repeats)
    rows.append(("`unpack_item`", "10 distinct N (cache misses)", py_us, c_us))

    # What one write and one read of the bench record cost in the core, end to end.
    record = bench_record()
    record_packed = _pycore.pack_item(record)

    def put(core):
        def f():
            core.item_size(record)
            core.storage_key(record["pk"], record["sk"])
            return core.pack_item(record)
        return f

    def get(core):
        def f():
            core.storage_key(record["pk"], record["sk"])
            return core.unpack_item(record_packed)
        return f

    for label, make in (("PutItem's core work", put), ("GetItem's core work", get)):
        py_us, c_us = measure(_timer(make(_pycore), ()), _timer(make(_ccore), ()), repeats)
        rows.append(("composite", label, py_us, c_us))
    return rows


def machine_line():
    import Cython
    import msgpack

    return (f"{cpu_model()}; {platform.python_implementation()} {platform.python_version()}; "
            f"Cython {Cython.__version__}; msgpack {'.'.join(map(str, msgpack.version))}; "
            f"{platform.platform()}")


def markdown(rows, repeats, load_before):
    lines = [
        "# Micro-benchmark: `kvstore._pycore` vs `kvstore._ccore`",
        "",
        f"Machine: {machine_line()}  ",
        f"Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; load average (1/5/15 min) "
        f"{load_before} before, {load_average()} after  ",
        f"Method: median of {repeats} runs of ~10 ms each per cell, the two cores interleaved; "
        "time per call in µs, including the call itself; the speedup is the better guide when the machine "
        "is busy.  Produced by `python -m bench.micro.core`.",
        "",
        "| function | input | `_pycore` µs | `_ccore` µs | speedup |",
        "|---|---|---:|---:|---:|",
    ]
    for name, label, py_us, c_us in rows:
        lines.append(f"| {name} | {label} | {py_us:.3f} | {c_us:.3f} | {py_us / c_us:.1f}x |")
    lines += [
        "",
        "Inputs: *bench record* is the harness's `items` record (pk, sk, grp, ts as S, cnt as N, a 100-character "
        "payload); *rich item* has every type (S, N, B, BOOL, NULL, SS, NS, BS, nested M and L). "
        "The compiled decoder caches attribute names and short number texts, so repeated decodes of one item "
        "hit those caches; the *distinct N* row shows the miss case.",
    ]
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.micro.core", description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=31, help="runs per cell (the median is reported)")
    parser.add_argument("--output", help="also write the table to this file")
    args = parser.parse_args(argv)
    load_before = load_average()
    text = markdown(run(args.repeats), args.repeats, load_before)
    sys.stdout.write(text)
    if args.output:
        with open(args.output, "w") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
