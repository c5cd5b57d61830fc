"""The log's staging area (kvstore/engine/staging.py, docs/format.md "The staging area").

Under ``batch`` and ``none`` an acknowledged record may not be in a log file
yet; the staging area keeps a copy that outlives the process.  Each test pins
one edge: a killed process (``reboot("keep")``: the kernel kept every store),
a power cut (``drop``/``torn``: only what was synced, or a random part of the
rest), both regions in use, a region reused, a record too big to stage.
"""

import pytest

from kvstore.engine import staging
from kvstore.engine.durability import Durability
from kvstore.engine.fs import FaultyFS, SimulatedCrash

NEVER = 3600.0          # a flusher interval no test reaches: only the test decides when the log is written


def opened(fs, policy="batch", **kw):
    d = Durability("/db", policy, fs, batch_interval=NEVER, **kw)
    rec = d.recover()
    d.start()
    return d, rec


def killed(d, fs, mode="keep", seed=None):
    """The process dies: no close, its threads stop; the machine keeps what ``mode`` says."""
    fs.crash()
    d._stop.set()
    d._wake.set()
    return fs.reboot(mode, seed)


def replayed(fs):
    d = Durability("/db", "sync", fs)
    try:
        rec = d.recover()
        return [p.decode() for p in rec.log_payloads()], rec
    finally:
        d.close()


def acknowledge(d, *payloads):
    for p in payloads:
        d.wait_durable(d.append(p.encode()))


@pytest.mark.parametrize("policy", ["batch", "none"])
def test_acknowledged_records_the_flusher_never_wrote_survive_a_killed_process(policy):
    fs = FaultyFS()
    d, _ = opened(fs, policy)
    acknowledge(d, *[f"w{i}" for i in range(50)])
    assert d.durable_lsn == 0                        # nothing reached a log file
    got, rec = replayed(killed(d, fs))
    assert got == [f"w{i}" for i in range(50)]
    assert any("were only in wal-staging" in note for note in rec.report["notes"])


def test_promoted_records_are_in_the_log_for_every_later_open():
    fs = FaultyFS()
    d, _ = opened(fs)
    acknowledge(d, "a", "b")
    fs = killed(d, fs)
    d, rec = opened(fs)
    assert rec.next_lsn == 3
    acknowledge(d, "c")
    d.close()
    assert replayed(fs)[0] == ["a", "b", "c"]


def test_sync_policy_stages_nothing():
    fs = FaultyFS()
    d, _ = opened(fs, "sync")
    acknowledge(d, "a")
    d.close()
    assert staging.NAME not in fs.listdir("/db")


def test_a_clean_close_leaves_nothing_to_promote():
    fs = FaultyFS()
    d, _ = opened(fs)
    acknowledge(d, "a", "b")
    d.close()
    got, rec = replayed(fs)
    assert got == ["a", "b"]
    assert not any("wal-staging" in note for note in rec.report["notes"])


def test_records_taken_by_a_write_that_died_and_later_ones_in_the_other_region_come_back_in_order():
    fs = FaultyFS()
    d, _ = opened(fs)
    acknowledge(d, "a", "b", "c")                    # region 0
    fs.crash_at("write", path="wal-0")
    with pytest.raises(SimulatedCrash):
        d.flush()                                    # took a..c (appends move to region 1), died writing
    fs.crashed = False                               # the threads of the dying process still run a moment
    acknowledge(d, "d", "e")                         # region 1
    got, _ = replayed(killed(d, fs))
    assert got == ["a", "b", "c", "d", "e"]


def test_a_reused_region_never_brings_back_its_older_records():
    fs = FaultyFS()
    d, _ = opened(fs)
    acknowledge(d, *[f"long-record-{i:04d}" for i in range(6)])   # region 0
    d.flush()                                                    # written; appends go to region 1
    acknowledge(d, "x1", "x2")
    d.flush()                                                    # written; region 0 is free again
    acknowledge(d, "y")                                          # overwrites the start of region 0
    got, _ = replayed(killed(d, fs))
    assert got == [f"long-record-{i:04d}" for i in range(6)] + ["x1", "x2", "y"]


def test_a_region_still_unwritten_is_not_reused():
    fs = FaultyFS()
    d, _ = opened(fs)
    acknowledge(d, "a")                              # region 0
    fs.crash_at("write", path="wal-0")
    with pytest.raises(SimulatedCrash):
        d.flush()                                    # a taken, not written; appends go to region 1
    fs.crashed = False
    acknowledge(d, "b")
    with d._cond:                                    # the next take: region 0 still holds unwritten "a"
        d._staging.switch(d.durable_lsn)
    acknowledge(d, "c")
    got, _ = replayed(killed(d, fs))
    assert got == ["a", "b", "c"]


def test_a_record_too_big_to_stage_is_written_before_it_is_acknowledged():
    fs = FaultyFS()
    d, _ = opened(fs, staging_bytes=64)
    acknowledge(d, "small")
    assert d.durable_lsn == 0
    acknowledge(d, "x" * 100)                        # does not fit in a 64-byte region
    assert d.durable_lsn == 2                        # written (and synced) with the one before it
    acknowledge(d, "after")                          # staged again, in the other region
    assert d.durable_lsn == 2
    got, _ = replayed(killed(d, fs))
    assert got == ["small", "x" * 100, "after"]


def test_records_after_an_unstaged_one_in_its_region_are_written_before_they_are_acknowledged():
    fs = FaultyFS()
    d, _ = opened(fs, staging_bytes=64)
    with d._cond:
        d._staging._full = True                      # the current region took its last record
    acknowledge(d, "a")
    assert d.durable_lsn == 1
    got, _ = replayed(killed(d, fs, "drop"))
    assert got == ["a"]


def test_records_after_a_torn_log_write_come_back_from_staging():
    fs = FaultyFS()
    d, _ = opened(fs)
    acknowledge(d, *[f"w{i}" for i in range(10)])
    fs.crash_at("write", path="wal-0", partial=40)  # the log write tears after 40 bytes
    with pytest.raises(SimulatedCrash):
        d.flush()
    got, rec = replayed(killed(d, fs))
    assert got == [f"w{i}" for i in range(10)]
    assert rec.report["dropped"]                     # the torn tail was cut before the promotion


@pytest.mark.parametrize("seed", range(20))
def test_a_power_cut_leaves_a_prefix_of_the_acknowledged_records(seed):
    fs = FaultyFS()
    d, _ = opened(fs)
    acknowledge(d, *[f"s{i}" for i in range(5)])
    d.flush()                                        # synced: survives any power cut
    acknowledge(d, *[f"u{i}" for i in range(20)])    # only staged: a power cut may keep any part
    got, _ = replayed(killed(d, fs, "torn", seed))
    everything = [f"s{i}" for i in range(5)] + [f"u{i}" for i in range(20)]
    assert got == everything[:len(got)] and len(got) >= 5


def _resident_kib(path):
    """Resident KiB of this process's mapping of ``path`` (/proc/self/smaps)."""
    with open("/proc/self/smaps") as f:
        lines = f.read().splitlines()
    for i, line in enumerate(lines):
        if line.endswith(path):
            return next(int(l.split()[1]) for l in lines[i + 1:] if l.startswith("Rss:"))
    raise AssertionError(f"{path} not mapped")


@pytest.mark.skipif(not hasattr(__import__("mmap"), "MADV_DONTNEED")
                    or not __import__("os").path.exists("/proc/self/smaps"), reason="Linux's madvise and smaps")
def test_a_burst_leaves_no_resident_pages_past_keep_bytes_once_appends_leave_the_region(tmp_path):
    # Under load the flusher lags and a region fills far: without the release its touched pages stayed in the
    # server's RSS for good.  The bytes themselves stay in the file (read below).
    import os

    from kvstore.engine import wal
    from kvstore.engine.fs import RealFS
    area = staging.Staging(RealFS(), str(tmp_path))
    path = os.path.join(str(tmp_path), staging.NAME)
    try:
        lsn = 0
        while area._offset < 1536 << 10:                        # 1.5 MB of region 0
            lsn += 1
            assert area.put(wal.encode_record(lsn, b"v" * 1000), lsn)
        assert _resident_kib(path) >= 1500
        area.switch(0)                                          # region 1 was empty: appends move there
        assert area._region == 1
        assert _resident_kib(path) <= (staging.KEEP_BYTES >> 10) + 8
        staged = staging.read(RealFS(), str(tmp_path), 1)
        assert [p for _, p in staged] == [b"v" * 1000] * lsn    # nothing was lost from the file
    finally:
        area.close(written=False)
