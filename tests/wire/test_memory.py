"""kvstore/server/memory.py: what ``kvstore serve`` tells glibc's malloc so RSS stays flat (bench/results/rss.md).

Each check runs in a fresh interpreter: both settings are process-wide.  They
measure memory (RSS, malloc's own statistics), never time.
"""

import subprocess
import sys
import textwrap

import pytest

from kvstore.server import memory

pytestmark = pytest.mark.skipif(memory._glibc() is None, reason="glibc's malloc only")


def _run(code):
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return out


def test_release_gives_malloc_free_pages_back_to_the_kernel():
    # Freed chunks between live ones stay resident (malloc trims only its heap's top): the soak's
    # growth.  release() returns their whole pages.
    out = _run("""
        from kvstore.server import memory
        def anon():
            with open("/proc/self/status") as f:
                return next(int(l.split()[1]) for l in f if l.startswith("RssAnon:"))
        chunks = [bytes(4000) for _ in range(40000)]        # ~160 MB above pymalloc's 512 bytes
        del chunks[::2]                                     # every other one freed: no page is free at the top
        del chunks[:-100]                                   # and most of the rest, but the last ones pin the heap
        before = anon()
        assert memory.release()
        print(before, anon())
    """)
    before, after = map(int, out.stdout.split())
    assert before - after > 50_000, (before, after)          # KiB: most of the freed memory went back


def test_the_server_process_has_at_most_two_malloc_arenas():
    # Without the cap each of 8 threads allocating at once gets an arena of its own (8 per core).
    code = """
        import sys, threading, ctypes
        from kvstore.server import memory
        if sys.argv[1] == "capped":
            assert memory.limit_arenas()
        barrier = threading.Barrier(8)
        def work():
            barrier.wait()
            for _ in range(20000):
                bytearray(1000)
        threads = [threading.Thread(target=work) for _ in range(8)]
        for t in threads: t.start()
        for t in threads: t.join()
        ctypes.CDLL("libc.so.6").malloc_stats()             # "Arena N:" per arena, on stderr
    """
    arenas = {}
    for mode in ("capped", "default"):
        out = subprocess.run([sys.executable, "-c", textwrap.dedent(code), mode], capture_output=True, text=True,
                             timeout=120, env={k: v for k, v in __import__("os").environ.items()
                                               if k != "MALLOC_ARENA_MAX"})
        assert out.returncode == 0, out.stderr
        arenas[mode] = out.stderr.count("Arena ")
    assert arenas["capped"] <= memory.ARENAS < arenas["default"], arenas


def test_an_operators_malloc_arena_max_is_left_alone(monkeypatch):
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert memory.limit_arenas() is False


def test_the_releaser_runs_on_the_loop_until_stopped():
    import asyncio

    async def main():
        releaser = memory.Releaser(asyncio.get_running_loop(), every=0.01)
        while releaser.releases < 3:
            await asyncio.sleep(0.01)
        releaser.stop()
        n = releaser.releases
        await asyncio.sleep(0.05)
        return n, releaser.releases

    n, later = asyncio.run(main())
    assert n >= 3 and later == n
