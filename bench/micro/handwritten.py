"""The compiled core's hand-written CRC-32 and base64 against the standard library's.

Issue 17 keeps a hand-written primitive only where it measurably beats what the
standard library offers: this builds ``handwritten.pyx`` (copies of the core's
loops next to calls of ``zlib.crc32`` and ``binascii``) in a temporary folder,
times each side inside one compiled loop, interleaved run by run, and prints the
medians and ratios as a Markdown section (``--append FILE`` adds it to a file,
bench/results/micro_core.md).

    python -m bench.micro.handwritten
    python -m bench.micro.handwritten --append bench/results/micro_core.md
"""

import argparse
import base64
import importlib.util
import os
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))

CRC_SIZES = (8, 16, 32, 48, 64, 96, 128, 256, 1024, 2048, 4096, 16384)
BASE64_SIZES = (16, 100, 1024, 65536)


def build(folder):
    """Compile handwritten.pyx into ``folder`` and import it."""
    from Cython.Build import cythonize
    from setuptools import Distribution, Extension

    extension = Extension("kvstore_handwritten", [os.path.join(HERE, "handwritten.pyx")],
                          extra_compile_args=["-O2"])
    dist = Distribution({"ext_modules": cythonize([extension], build_dir=folder, quiet=True)})
    command = dist.get_command_obj("build_ext")
    command.build_lib = folder
    command.build_temp = folder
    command.ensure_finalized()
    command.run()
    path = command.get_ext_fullpath("kvstore_handwritten")
    spec = importlib.util.spec_from_file_location("kvstore_handwritten", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def median_ns(functions, arg, reps, repeats):
    """Median ns per call of each of ``functions(arg, reps)``, run after run in alternation."""
    runs = [[] for _ in functions]
    for _ in range(repeats):
        for i, f in enumerate(functions):
            start = time.perf_counter()
            f(arg, reps)
            runs[i].append((time.perf_counter() - start) / reps * 1e9)
    return [statistics.median(r) for r in runs]


def run(module, repeats):
    rows = []
    for size in CRC_SIZES:
        data = bytes((i * 7) % 256 for i in range(size))
        assert module.crc_table(data, 1) == module.crc_zlib(data, 1)
        reps = max(100, 3_000_000 // (size + 60))
        hand, std, std_object = median_ns([module.crc_table, module.crc_zlib, module.crc_zlib_object], data, reps,
                                          repeats)
        rows.append(("CRC-32", f"{size} bytes", hand, "`zlib.crc32` of a copy", std))
        rows.append(("CRC-32", f"{size} bytes", hand, "`zlib.crc32` of the object", std_object))
    for size in BASE64_SIZES:
        data = bytes((i * 7) % 256 for i in range(size))
        text = base64.b64encode(data).decode("ascii")
        assert module.b64encode_hand(data, 1) == module.b64encode_stdlib(data, 1) == text
        assert module.b64decode_hand(text, 1) == module.b64decode_stdlib(text, 1) == data
        reps = max(20, 2_000_000 // (size + 50))
        hand, std = median_ns([module.b64encode_hand, module.b64encode_stdlib], data, reps, repeats)
        rows.append(("base64 encode", f"{size} bytes", hand, "`binascii.b2a_base64`", std))
        hand, std = median_ns([module.b64decode_hand, module.b64decode_stdlib], text, reps, repeats)
        rows.append(("base64 decode", f"{size} bytes", hand, "`binascii.a2b_base64(strict_mode=True)`", std))
    return rows


def markdown(rows, repeats):
    lines = [
        "## Hand-written primitives against the standard library",
        "",
        f"Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.  Method: each primitive in a compiled "
        f"loop, the two sides run after run in alternation, median of {repeats} runs; ns per call.  "
        "Produced by `python -m bench.micro.handwritten`.",
        "",
        "| primitive | input | hand-written ns | standard library | stdlib ns | stdlib / hand-written |",
        "|---|---|---:|---|---:|---:|",
    ]
    for name, label, hand, std_name, std in rows:
        lines.append(f"| {name} | {label} | {hand:.1f} | {std_name} | {std:.1f} | {std / hand:.2f}x |")
    lines += [
        "",
        "What the core does with these figures: the CRC-32 loop (eight bytes a step) is kept up to 1 KB where "
        "the alternative is `zlib.crc32` of a copy (hash components: `CRC_TABLE_MAX` in ext/kvstore/_ckeys.pyx) "
        "and up to 512 bytes where it is `zlib.crc32` of the object (log records: ext/kvstore/_clog.pyx); longer "
        "input goes to `zlib.crc32`; the base64 codec is "
        "kept whole (it wins at every size: `binascii` returns bytes that must become a str, and its strict "
        "decoder is slower than the table).",
    ]
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.micro.handwritten", description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=21, help="runs per cell (the median is reported)")
    parser.add_argument("--append", help="also append the section to this file")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        text = markdown(run(build(folder), args.repeats), args.repeats)
    sys.stdout.write(text)
    if args.append:
        with open(args.append, "a") as f:
            f.write("\n" + text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
