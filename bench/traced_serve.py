"""``kvstore serve`` under tracemalloc, for finding what grows in the soak (bench/soak.py).

    python -m bench.traced_serve --snapshots DIR [--every 120] [--frames 10] -- <kvstore serve arguments>
    python -m bench.traced_serve --snapshots DIR --census [--every 15] -- <kvstore serve arguments>
    python -m bench.traced_serve --compare DIR/first.snap DIR/last.snap [--top 20]

The first form runs the server as ``kvstore serve`` does, with tracemalloc
started before anything is imported, and dumps a snapshot (``DIR/<pid>-<n>.snap``,
with the number of requests the server had answered in its name) every ``--every``
seconds.  bench/soak.py uses it when ``KVSTORE_SOAK_TRACEMALLOC=DIR`` is set (off
by default: tracemalloc costs the server about half its throughput).  The second
form prints the allocation sites whose live size grew between two snapshots, by
traceback and by line.  ``--census`` runs without tracemalloc, at full speed, and
appends one JSON line per ``--every`` seconds to ``DIR/census-<pid>.jsonl``: RSS
(anonymous / file), glibc's malloc figures (``mallinfo2``: heap size, in use,
free), pymalloc's blocks, threads, the sizes of the server's caches and the
count of gc-tracked objects by type.  tracemalloc sees what Python holds; the
census shows what the allocators keep beside it (bench/results/rss.md).
"""

import argparse
import os
import sys
import threading
import time
import tracemalloc


def _count_requests():
    """Requests the server has answered (the x-amzn-RequestId counter of kvstore.server.handler)."""
    handler = sys.modules.get("kvstore.server.handler")
    if handler is None:
        return 0
    counter = handler._id_counter
    return int(repr(counter)[6:-1]) - 10 ** 19     # itertools.count(n) -> "count(n)", not consumed


def _mallinfo():
    """glibc's malloc statistics (bytes): arena (heap from sbrk), in use, free in the heap, mmapped."""
    import ctypes

    class Mallinfo2(ctypes.Structure):
        _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                                   "fsmblks", "uordblks", "fordblks", "keepcost")]
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallinfo2.restype = Mallinfo2
    except (OSError, AttributeError):
        return {}
    m = libc.mallinfo2()
    return {"arena": m.arena, "in_use": m.uordblks, "free": m.fordblks, "mmapped": m.hblkhd}


def _status():
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(("VmRSS:", "RssAnon:", "RssFile:", "RssShmem:")):
                name, value = line.split(":")
                out[name] = int(value.split()[0]) * 1024
    return out


def _pymalloc_arenas():
    """pymalloc's arenas now and at most (sys._debugmallocstats, which writes to fd 2)."""
    import tempfile
    with tempfile.TemporaryFile("w+") as tmp:
        sys.stderr.flush()
        saved = os.dup(2)
        try:
            os.dup2(tmp.fileno(), 2)
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        tmp.seek(0)
        out = {}
        for line in tmp:
            if line.startswith("# arenas highwater mark"):
                out["pymalloc_arenas_max"] = int(line.split("=")[1])
            elif line.startswith("# arenas allocated current"):
                out["pymalloc_arenas"] = int(line.split("=")[1])
        return out


def census():
    """One line of the process's memory: RSS parts, malloc's and pymalloc's figures, the server's caches,
    and the count of gc-tracked objects by type (cheap enough to take every few seconds at full speed)."""
    import gc
    import json
    counts = {}
    for o in gc.get_objects():
        t = type(o).__qualname__
        counts[t] = counts.get(t, 0) + 1
    caches = {}
    try:
        from kvstore.expressions.templates import TEMPLATES
        caches["templates"] = len(TEMPLATES)
        from kvstore.server import auth
        caches["sigv4_forms"] = len(auth._FORMS)
    except Exception:          # not imported yet
        pass
    return json.dumps({"requests": _count_requests(), **_status(), "pymalloc_blocks": sys.getallocatedblocks(),
                       "threads": len(os.listdir("/proc/self/task")), **_pymalloc_arenas(),
                       **_mallinfo(), "caches": caches, "types": counts})


def serve(snapshots, every, frames, argv, mode="tracemalloc"):
    if mode == "tracemalloc":
        tracemalloc.start(frames)
    os.makedirs(snapshots, exist_ok=True)
    stop = threading.Event()

    def dump():
        n = 0
        while not stop.wait(every):
            n += 1
            if mode == "census":
                if os.environ.get("KVSTORE_CENSUS_TRIM"):        # an experiment: what malloc_trim gives back
                    import ctypes
                    ctypes.CDLL("libc.so.6").malloc_trim(0)
                with open(os.path.join(snapshots, f"census-{os.getpid()}.jsonl"), "a") as f:
                    f.write(census() + "\n")
                continue
            path = os.path.join(snapshots, f"{os.getpid()}-{n:03d}-{_count_requests()}.snap")
            tracemalloc.take_snapshot().dump(path + ".tmp")
            os.replace(path + ".tmp", path)

    threading.Thread(target=dump, daemon=True, name="tracemalloc-dump").start()
    from kvstore.server.main import main
    try:
        return main(argv)
    finally:
        stop.set()


def compare(first, last, top, frames=10):
    a, b = tracemalloc.Snapshot.load(first), tracemalloc.Snapshot.load(last)
    total_a = sum(t.size for t in a.statistics("filename"))
    total_b = sum(t.size for t in b.statistics("filename"))
    print(f"traced: {total_a / 2 ** 20:.2f} MiB -> {total_b / 2 ** 20:.2f} MiB ({(total_b - total_a) / 2 ** 20:+.2f})")
    print("\nby line:")
    for st in [s for s in b.compare_to(a, "lineno") if s.size_diff > 0][:top]:
        print(f"  +{st.size_diff / 1024:.1f} KiB ({st.count_diff:+d} blocks) {st.traceback[0]}")
    print("\nby traceback:")
    for st in [s for s in b.compare_to(a, "traceback") if s.size_diff > 0][:top]:
        print(f"+{st.size_diff / 1024:.1f} KiB ({st.count_diff:+d} blocks), now {st.size / 1024:.1f} KiB")
        for line in st.traceback.format(limit=frames, most_recent_first=True):
            print("    " + line.strip())


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    rest = []
    if "--" in argv:
        i = argv.index("--")
        argv, rest = argv[:i], argv[i + 1:]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--snapshots")
    parser.add_argument("--every", type=float, default=120.0)
    parser.add_argument("--frames", type=int, default=10)
    parser.add_argument("--census", action="store_true",
                        help="no tracemalloc: append a census line (RSS parts, malloc figures, object counts by "
                             "type, cache sizes) to DIR/census-<pid>.jsonl every --every seconds, at full speed")
    parser.add_argument("--compare", nargs=2, metavar=("FIRST", "LAST"))
    parser.add_argument("--top", type=int, default=20)
    args = parser.parse_args(argv)
    if args.compare:
        compare(*args.compare, args.top, args.frames)
        return 0
    if not args.snapshots:
        parser.error("--snapshots DIR (or --compare FIRST LAST)")
    return serve(args.snapshots, args.every, args.frames, rest, "census" if args.census else "tracemalloc")


if __name__ == "__main__":
    sys.exit(main())
