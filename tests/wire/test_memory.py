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


def test_pinned_mmap_threshold_keeps_large_allocations_out_of_the_heap():
    # glibc raises its mmap threshold when a mapped chunk is freed: a 4 MB body freed once, and every
    # later 2 MB allocation comes from the heap (whose freed memory stays resident until a trim).
    # Pinned, they are mapped apart and unmapped when freed.  mallinfo2: arena = heap, hblkhd = mapped.
    # (With 400 KB bodies one could come from a free chunk the interpreter's start-up left in the heap,
    # depending on the environment's size: 19 of 20 were mapped under pytest, 20 without it.)
    code = """
        import sys, ctypes
        from kvstore.server import memory
        if sys.argv[1] == "pinned":
            assert memory.pin_mmap_threshold()
        class M(ctypes.Structure):
            _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                                       "fsmblks", "uordblks", "fordblks", "keepcost")]
        libc = ctypes.CDLL("libc.so.6")
        libc.mallinfo2.restype = M
        libc.malloc.restype = ctypes.c_void_p
        libc.malloc.argtypes = (ctypes.c_size_t,)
        libc.free.argtypes = (ctypes.c_void_p,)
        libc.free(libc.malloc(4 << 20))                     # one large body, freed
        before = libc.mallinfo2()
        held = [libc.malloc(2_000_000) for _ in range(20)]  # then 40 MB of 2 MB bodies
        after = libc.mallinfo2()
        print(after.arena - before.arena, after.hblkhd - before.hblkhd)
    """
    grown = {}
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("MALLOC_")}
    for mode in ("pinned", "default"):
        out = subprocess.run([sys.executable, "-c", textwrap.dedent(code), mode], capture_output=True, text=True,
                             timeout=120, env=env)
        assert out.returncode == 0, out.stderr
        grown[mode] = tuple(map(int, out.stdout.split()))
    assert grown["pinned"][0] < 1_000_000 and grown["pinned"][1] >= 40_000_000, grown    # mapped apart
    assert grown["default"][0] >= 38_000_000 and grown["default"][1] == 0, grown           # without: in the heap


def test_an_operators_malloc_mmap_threshold_is_left_alone(monkeypatch):
    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "262144")
    assert memory.pin_mmap_threshold() is False


def _get(port, body_size=0):
    import socket
    body = b'{"TableName": "%s"}' % (b"x" * body_size)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: DynamoDB_20120810.DescribeTable\r\n"
                  b"Content-Type: application/x-amz-json-1.0\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
        data = b""
        while b"\r\n\r\n" not in data:
            data += s.recv(4096)
        return data


def test_socket_reads_allocate_no_read_buffer_per_request():
    # A plain asyncio Protocol gets a fresh 256 KB bytes object per socket read (shrunk to what arrived):
    # a large allocation per request.  The server's connections read into its one buffer instead.
    import asyncio
    import tracemalloc

    import kvstore
    from kvstore.server.app import READ_BUFFER, HttpProtocol, ServerThread
    from kvstore.server.handler import RequestHandler

    db = kvstore.open(":memory:")
    try:
        with ServerThread(RequestHandler(db.engine)) as running:
            port = running.server.port
            _get(port)
            tracemalloc.start()
            try:
                base = tracemalloc.get_traced_memory()[0]
                for _ in range(50):
                    assert b" 400 " in _get(port)[:20]
                peak = tracemalloc.get_traced_memory()[1]
            finally:
                tracemalloc.stop()
            assert peak - base < READ_BUFFER // 2, (base, peak)
            buffer = running.server.read_buffer
            assert running.server.read_buffer is buffer and len(buffer) == READ_BUFFER
            assert issubclass(HttpProtocol, asyncio.BufferedProtocol)
    finally:
        db.close()


def test_connections_sharing_the_read_buffer_keep_their_own_requests():
    # Two connections' requests interleaved in pieces, bodies larger than the buffer: each answered as its own.
    import json
    import socket

    import kvstore
    from kvstore.server.app import READ_BUFFER, ServerThread
    from kvstore.server.handler import RequestHandler

    def message(name, pad):
        body = json.dumps({"TableName": name, "Pad": "y" * pad}).encode()
        return (b"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: DynamoDB_20120810.DescribeTable\r\n"
                b"Content-Type: application/x-amz-json-1.0\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))

    def answer(sock):
        data = b""
        while True:
            head, sep, rest = data.partition(b"\r\n\r\n")
            if sep:
                length = int(next(l.split(b":")[1] for l in head.split(b"\r\n") if l.lower().startswith(b"content-length")))
                if len(rest) >= length:
                    return rest[:length]
            data += sock.recv(65536)

    db = kvstore.open(":memory:")
    try:
        with ServerThread(RequestHandler(db.engine)) as running:
            port = running.server.port
            a = socket.create_connection(("127.0.0.1", port), timeout=10)
            b = socket.create_connection(("127.0.0.1", port), timeout=10)
            try:
                ma, mb = message("table-a", 3 * READ_BUFFER // 2), message("table-b", 100)
                a.sendall(ma[: len(ma) // 3])
                b.sendall(mb[:50])
                a.sendall(ma[len(ma) // 3: 2 * len(ma) // 3])
                b.sendall(mb[50:])
                got_b = json.loads(answer(b))
                a.sendall(ma[2 * len(ma) // 3:])
                got_a = json.loads(answer(a))
            finally:
                a.close()
                b.close()
    finally:
        db.close()
    assert "table-b" in got_b["message"] and "table-a" not in got_b["message"], got_b
    assert "table-a" in got_a["message"] and "table-b" not in got_a["message"], got_a
