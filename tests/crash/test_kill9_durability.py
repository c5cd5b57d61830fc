"""kill -9 in the middle of durable writes: every acknowledged write survives.

A child process writes under the ``sync`` policy (or ``batch`` and ``none``,
whose flusher writes only every second here, so the acknowledged writes the
kill finds unwritten come back from the staging area) from four threads, runs
checkpoints, and prints each write once ``wait_durable`` returned.  The
parent kills it with SIGKILL at a random moment, reopens the directory and
checks that every acknowledged write is there, in order, for several rounds
on the same directory.
"""

import os
import random
import signal
import subprocess
import sys
import textwrap

import msgpack
import pytest

from kvstore.engine.durability import Durability

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

CHILD = textwrap.dedent("""
    import sys, threading, types, msgpack
    m = types.ModuleType("kvstore"); m.__path__ = [sys.argv[3] + "/kvstore"]; sys.modules["kvstore"] = m
    sys.path.insert(0, sys.argv[3])
    from kvstore.engine.durability import Durability
    d = Durability(sys.argv[1], sys.argv[4], segment_bytes=4096, checkpoint_log_bytes=16384, batch_interval=1.0)
    rec = d.recover()
    chunks = list(rec.snapshot_chunks())
    state = (chunks[0] if chunks else []) + [p.decode() for p in rec.log_payloads()]
    lock = threading.Lock()
    out = threading.Lock()
    def snapshot():
        with lock:                    # the contract: copy under the lock writers append under
            return [list(state)]
    d.set_checkpoint_source(lambda: iter(snapshot()))
    d.start()
    def writer(t):
        for i in range(100000):
            payload = f"{sys.argv[2]}-{t}-{i}"
            with lock:
                lsn = d.append(payload.encode())
                state.append(payload)
            d.wait_durable(lsn)
            with out:
                print(lsn, payload, flush=True)
    for t in range(4):
        threading.Thread(target=writer, args=(t,), daemon=True).start()
    threading.Event().wait()
""")


def recovered(path):
    d = Durability(path, "sync")
    try:
        rec = d.recover()
        chunks = list(rec.snapshot_chunks())
        return (chunks[0] if chunks else []) + [p.decode() for p in rec.log_payloads()]
    finally:
        d.close()


@pytest.mark.parametrize("policy", ["sync", "batch", "none"])
def test_acknowledged_writes_survive_kill_9(tmp_path, policy):
    rng = random.Random(1234)
    acked_all = []
    for round_ in range(4):
        proc = subprocess.Popen([sys.executable, "-c", CHILD, str(tmp_path), f"r{round_}", ROOT, policy],
                                stdout=subprocess.PIPE, text=True)
        acked = []
        target = rng.randint(50, 400)
        for line in proc.stdout:
            acked.append(line.split())
            if len(acked) >= target:
                break
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        proc.stdout.close()
        acked_all += [payload for _lsn, payload in sorted(acked, key=lambda a: int(a[0]))]
        got = recovered(tmp_path)
        assert set(acked_all) <= set(got)
        assert len(got) == len(set(got))
        # in LSN order: the acknowledged writes appear in the order of their LSNs
        positions = [got.index(p) for p in acked_all]
        assert positions == sorted(positions)
