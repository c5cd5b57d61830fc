"""Faults: disk full, failed fsync, failures during rotation, and crashes at chosen points.

The promise under test: a record is acknowledged only once it is durable; a
failed write leaves the log consistent and it continues once the fault
clears; after a crash the log holds every acknowledged record and is a
prefix of what was appended.
"""

import errno

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from kvstore.engine import wal
from kvstore.engine.durability import Durability
from kvstore.engine.errors import DurabilityError
from kvstore.engine.fs import FaultyFS, SimulatedCrash


def opened(fs, policy="sync", **kw):
    d = Durability("/db", policy, fs, **kw)
    rec = d.recover()
    d.start()
    return d, rec


def replayed(fs):
    d = Durability("/db", "sync", fs)
    try:
        rec = d.recover()
        return list(rec.log_payloads()), rec
    finally:
        d.close()


def segment_payloads(fs):
    out = []
    for name in sorted(fs.listdir("/db")):
        if wal.parse_segment_name(name):
            data = fs.read_bytes("/db/" + name)
            scan = wal.scan_segment(data, "/db/" + name)
            assert scan.damage is None, scan.damage
            out += [p for _l, p in wal.iter_payloads(data, "/db/" + name, 1, scan.end)]
    return out


def test_disk_full_short_write_is_not_acknowledged_and_the_log_continues():
    fs = FaultyFS()
    d, _ = opened(fs)
    d.wait_durable(d.append(b"a"))
    fs.fail("write", errno.ENOSPC, path="wal-", partial=5, times=None)
    b = d.append(b"b")
    with pytest.raises(DurabilityError, match="No space left on device") as err:
        d.wait_durable(b)
    assert err.value.cause.errno == errno.ENOSPC
    assert d.durable_lsn == 1 and d.failure is not None
    with pytest.raises(DurabilityError, match="cannot be written"):
        d.append(b"refused while the disk is full")
    fs.clear()                           # space returns
    d.flush()
    assert d.failure is None
    d.wait_durable(d.append(b"c"))
    d.close()
    assert segment_payloads(fs) == [b"a", b"b", b"c"]      # the short write left no trace


def test_failed_fsync_rewrites_from_the_last_synced_offset():
    fs = FaultyFS()
    d, _ = opened(fs)
    d.wait_durable(d.append(b"a"))
    fs.fail("sync", errno.EIO, path="wal-")
    b = d.append(b"b")
    with pytest.raises(DurabilityError, match="Input/output error"):
        d.wait_durable(b)
    truncates = fs.calls.get("truncate", 0)
    d.flush()                            # the retry truncates back and writes b again
    assert fs.calls["truncate"] == truncates + 1
    assert d.durable_lsn == b
    d.close()
    assert segment_payloads(fs) == [b"a", b"b"]


def test_failed_fsync_then_power_cut_keeps_only_what_was_acknowledged():
    fs = FaultyFS()
    d, _ = opened(fs)
    d.wait_durable(d.append(b"a"))
    fs.fail("sync", errno.EIO, path="wal-")
    with pytest.raises(DurabilityError):
        d.wait_durable(d.append(b"b"))
    fs.crash()
    got, _ = replayed(fs.reboot("drop"))
    assert got == [b"a"]


def test_disk_full_while_rotating_a_segment():
    fs = FaultyFS()
    d, _ = opened(fs, segment_bytes=100)
    for i in range(4):
        d.wait_durable(d.append(b"x" * 40))
    fs.fail("create", errno.ENOSPC, times=None)
    lsn = d.append(b"y" * 40)
    with pytest.raises(DurabilityError, match="No space"):
        d.wait_durable(lsn)
    assert not [n for n in fs.listdir("/db") if n.endswith(".tmp")]
    fs.clear()
    d.flush()
    d.close()
    assert segment_payloads(fs) == [b"x" * 40] * 4 + [b"y" * 40]


def test_batch_policy_reports_a_failing_log_and_refuses_new_writes():
    fs = FaultyFS()
    d, _ = opened(fs, "batch", batch_interval=0.001)
    fs.fail("write", errno.ENOSPC, path="wal-", times=None)
    lsn = d.append(b"a")
    with pytest.raises(DurabilityError):
        d.flush()
    with pytest.raises(DurabilityError):
        d.wait_durable(lsn)
    with pytest.raises(DurabilityError):
        d.append(b"b")
    fs.clear()
    d.flush()
    d.wait_durable(lsn)
    d.close()
    assert segment_payloads(fs) == [b"a"]


def test_close_reports_a_final_flush_that_fails_and_still_releases_the_lock():
    fs = FaultyFS()
    d, _ = opened(fs, "batch", batch_interval=60)
    d.append(b"a")
    fs.fail("write", errno.EIO, path="wal-", times=None)
    with pytest.raises(DurabilityError):
        d.close()
    fs.clear()
    d2, _ = opened(fs)                   # the lock was released
    d2.close()


def test_disk_full_while_allocating_log_space_is_not_acknowledged_and_the_log_continues():
    fs = FaultyFS()
    d, _ = opened(fs)
    d.wait_durable(d.append(b"a"))
    big = b"b" * (wal.PREALLOCATE + 10)          # beyond the space allocated so far
    fs.fail("allocate", errno.ENOSPC, path="wal-")
    with pytest.raises(DurabilityError):
        d.wait_durable(d.append(big))
    d.flush()                                       # the rule fired once: the pending batch is rewritten
    assert d.failure is None
    d.wait_durable(d.append(b"c"))
    d.close()
    got, rec = replayed(fs)
    assert got == [b"a", big, b"c"] and rec.report["dropped"] == []


def test_crash_during_a_write_loses_only_the_unacknowledged_record():
    fs = FaultyFS()
    d, _ = opened(fs)
    for p in (b"a", b"b"):
        d.wait_durable(d.append(p))
    fs.crash_at("write", path="wal-", partial=9)
    with pytest.raises(SimulatedCrash):
        d.wait_durable(d.append(b"c" * 50))
    # the write lands in allocated space (zeros after it); the torn model keeps a random part of it
    for mode, seed in [("keep", 1), ("drop", 1)] + [("torn", seed) for seed in range(20)]:
        got, rec = replayed(fs.reboot(mode, seed=seed))
        assert got == [b"a", b"b"]
        if mode == "keep":
            assert [x["bytes"] for x in rec.report["dropped"]] == [9]    # not the zeros after it


# ---------------------------------------------------------------- crash anywhere


CRASH_POINTS = [("write", "wal-"), ("sync", "wal-"), ("allocate", "wal-"), ("truncate", "wal-"), ("create", ".tmp"),
                ("rename", None), ("fsync_dir", None), ("remove", None), ("sync", ".ckpt")]


def run_until_crash(fs, ops, segment_bytes):
    """Single-threaded workload; returns (appended payloads, acknowledged count)."""
    appended, acked, applied = [], 0, []
    try:
        d, _ = opened(fs, "sync", segment_bytes=segment_bytes)
        for i, op in enumerate(ops):
            if op == "checkpoint":
                d.checkpoint(lambda: iter([list(applied)]))
                continue
            payload = f"{i}".encode() * op
            d.append(payload)
            appended.append(payload)
            applied.append(payload)
            d.wait_durable(len(appended))
            acked = len(appended)
        d.close()
    except SimulatedCrash:
        pass
    return appended, acked


def recovered_sequence(fs):
    d = Durability("/db", "sync", fs)
    try:
        rec = d.recover()
        chunks = list(rec.snapshot_chunks())
        base = chunks[0] if chunks else []
        return base + list(rec.log_payloads())
    finally:
        d.close()


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=st.lists(st.one_of(st.integers(1, 60), st.just("checkpoint")), min_size=1, max_size=25),
       point=st.sampled_from(CRASH_POINTS), after=st.integers(0, 12), partial=st.integers(0, 80),
       mode=st.sampled_from(["keep", "drop", "torn"]), seed=st.integers(0, 1000),
       segment_bytes=st.sampled_from([150, 1 << 20]))
def test_crash_anywhere_keeps_every_acknowledged_record_and_a_prefix(ops, point, after, partial, mode, seed,
                                                                     segment_bytes):
    fs = FaultyFS()
    op, path = point
    if op == "write":
        fs.crash_at(op, path=path, after=after, partial=partial)
    else:
        fs.crash_at(op, path=path, after=after)
    appended, acked = run_until_crash(fs, ops, segment_bytes)
    fs.crash()
    got = recovered_sequence(fs.reboot(mode, seed))
    assert got == appended[:len(got)]
    assert len(got) >= acked
