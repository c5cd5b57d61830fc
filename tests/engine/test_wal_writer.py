"""The log writer: policies, group commit, rotation, lifecycle."""

import threading

import pytest

from kvstore.engine import wal
from kvstore.engine.durability import Durability
from kvstore.engine.errors import DurabilityError
from kvstore.engine.fs import FaultyFS, RealFS


def opened(directory, policy="sync", fs=None, **kw):
    d = Durability(directory, policy, fs, **kw)
    rec = d.recover()
    d.start()
    return d, rec


def replayed(directory, fs=None):
    d = Durability(directory, "sync", fs)
    try:
        rec = d.recover()
        return list(rec.log_payloads()), rec
    finally:
        d.close()


class GatedFS(FaultyFS):
    """Log syncs wait for ``gate``; ``in_sync`` is set when the first one starts."""

    def __init__(self):
        super().__init__()
        self.gate, self.in_sync, self.syncs = threading.Event(), threading.Event(), 0

    def open_append(self, path):
        f = super().open_append(path)
        inner = f.sync

        def sync():
            self.syncs += 1
            self.in_sync.set()
            self.gate.wait()
            inner()
        f.sync = sync
        return f


def test_sync_policy_acknowledged_records_survive_reopen(tmp_path):
    d, _ = opened(tmp_path)
    lsns = [d.append(f"item-{i}".encode()) for i in range(5)]
    for lsn in lsns:
        d.wait_durable(lsn)
    assert lsns == [1, 2, 3, 4, 5] and d.durable_lsn == 5
    d.close()
    got, rec = replayed(tmp_path)
    assert got == [f"item-{i}".encode() for i in range(5)]
    assert rec.report["records"] == 5 and rec.report["next_lsn"] == 6


def test_lsns_continue_after_reopen(tmp_path):
    d, _ = opened(tmp_path)
    d.wait_durable(d.append(b"a"))
    d.close()
    d, rec = opened(tmp_path)
    assert rec.next_lsn == 2
    assert d.append(b"b") == 2
    d.close()
    assert replayed(tmp_path)[0] == [b"a", b"b"]


def test_group_commit_followers_share_one_sync():
    fs = GatedFS()
    d, _ = opened("/db", "sync", fs)
    first = d.append(b"leader")
    leader = threading.Thread(target=d.wait_durable, args=(first,))
    leader.start()
    assert fs.in_sync.wait(10)
    # the leader is inside fsync; appends do not wait for it
    lsns = [d.append(f"follower-{i}".encode()) for i in range(7)]
    followers = [threading.Thread(target=d.wait_durable, args=(lsn,)) for lsn in lsns]
    for t in followers:
        t.start()
    fs.gate.set()
    for t in [leader, *followers]:
        t.join(10)
        assert not t.is_alive()
    assert d.durable_lsn == 8
    assert fs.syncs == 2                 # one for the leader, one for all seven followers
    d.close()


class InterruptedLock:
    """A follower's lock whose sleep ends in KeyboardInterrupt, as a signal to the main thread would end
    it: before anyone wakes it (``when="asleep"``) or just as it is woken (``when="woken"``)."""

    def __init__(self, when):
        self.lock, self.when, self.calls, self.woken = threading.Lock(), when, 0, threading.Event()

    def acquire(self, blocking=True, timeout=-1):
        self.calls += 1
        if self.calls == 1:                  # taken by its follower before it sleeps
            return self.lock.acquire()
        if self.when == "woken":
            self.lock.acquire()
            self.woken.set()
        raise KeyboardInterrupt

    def release(self):
        self.lock.release()


def _followers_with_one_interrupted(monkeypatch, when):
    """A leader inside a gated sync, then four followers, the third with an InterruptedLock.  The
    leader's sync takes its own record only; the first follower leads the next batch, which makes
    the other three durable, and they wake one another last to first: "last", then "middle", which
    must wake "second"."""
    import kvstore.engine.durability as durability_module
    fs = GatedFS()
    d, _ = opened("/db", "sync", fs)
    leader = threading.Thread(target=d.wait_durable, args=(d.append(b"leader"),))
    leader.start()
    assert fs.in_sync.wait(10)
    interrupted = InterruptedLock(when)
    outcomes = {}

    def follow(name):
        try:
            d.wait_durable(d.append(name.encode()))
            outcomes[name] = "durable"
        except KeyboardInterrupt:
            outcomes[name] = "interrupted"

    threads = []
    for name in ("first", "second", "middle", "last"):
        make = (lambda: interrupted) if name == "middle" else threading.Lock
        monkeypatch.setattr(durability_module, "_allocate_lock", make)
        threads.append(threading.Thread(target=follow, args=(name,)))
        threads[-1].start()
        if name == "middle" and when == "asleep":
            threads[-1].join(10)                 # it left the queue at once
            continue
        expected = len(threads) - (when == "asleep" and name == "last")
        for _ in range(10_000):                  # in order: each is asleep before the next comes
            if len(d._waiters) >= expected:
                break
            threading.Event().wait(0.001)
        assert len(d._waiters) >= expected
    return d, fs, leader, threads, outcomes, interrupted


def test_a_follower_interrupted_as_it_is_woken_wakes_the_next_one_in_its_place(monkeypatch):
    # followers made durable wake one another in turn; one that stops waiting must not strand the rest
    d, fs, leader, threads, outcomes, interrupted = _followers_with_one_interrupted(monkeypatch, "woken")
    fs.gate.set()
    for t in [leader, *threads]:
        t.join(10)
        assert not t.is_alive()
    assert interrupted.woken.is_set()
    assert outcomes == {"first": "durable", "second": "durable", "middle": "interrupted", "last": "durable"}
    assert d._chain == [] and d._waiters == []
    d.close()


def test_a_follower_interrupted_before_the_sync_leaves_the_queue(monkeypatch):
    d, fs, leader, threads, outcomes, interrupted = _followers_with_one_interrupted(monkeypatch, "asleep")
    assert outcomes == {"middle": "interrupted"} and len(d._waiters) == 3
    fs.gate.set()
    for t in [leader, *threads]:
        t.join(10)
        assert not t.is_alive()
    assert outcomes == {"first": "durable", "second": "durable", "middle": "interrupted", "last": "durable"}
    assert d._chain == [] and d._waiters == []
    d.close()


def test_a_sync_wakes_one_durable_follower_and_each_wakes_the_next(tmp_path):
    d, _ = opened(tmp_path, "sync")
    d.wait_durable(d.append(b"a"))
    locks = [threading.Lock() for _ in range(4)]
    for lock in locks:
        lock.acquire()
    with d._cond:
        d._waiters = [(1, lock) for lock in locks[:3]] + [(2, locks[3])]
        d._release_waiters()
        assert [lock.locked() for lock in locks] == [True, True, False, True]   # the last durable one
        assert d._chain == locks[:2] and d._waiters == [(2, locks[3])]
        d._waiters = []
        d._chain = []
    d.close()


def test_many_threads_sync_every_record_exactly_once(tmp_path):
    d, _ = opened(tmp_path, "sync")
    acked = []
    lock = threading.Lock()

    def writer(t):
        for i in range(60):
            payload = f"{t}:{i}".encode()
            lsn = d.append(payload)
            d.wait_durable(lsn)
            with lock:
                acked.append((lsn, payload))

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    d.close()
    got, _ = replayed(tmp_path)
    assert got == [p for _lsn, p in sorted(acked)]
    assert len(got) == 480


def test_batch_policy_returns_at_once_and_flusher_makes_it_durable():
    fs = FaultyFS()
    d, _ = opened("/db", "batch", fs, batch_interval=0.001)
    lsn = d.append(b"x")
    d.wait_durable(lsn)                  # returns without a sync of its own
    d.flush()
    assert d.durable_lsn == lsn
    d.close()
    assert replayed("/db", fs.reboot("drop"))[0] == [b"x"]


def test_none_policy_never_syncs():
    fs = FaultyFS()
    d, _ = opened("/db", "none", fs, segment_bytes=200)
    for i in range(20):
        d.wait_durable(d.append(b"y" * 30))
    d.close()
    assert fs.calls.get("sync", 0) == 0 and fs.calls.get("fsync_dir", 0) == 0
    assert len(replayed("/db", fs.reboot("keep"))[0]) == 20


def test_segments_rotate_at_the_size_threshold_and_records_never_span_them():
    fs = FaultyFS()
    d, _ = opened("/db", "sync", fs, segment_bytes=300)
    for i in range(40):
        d.wait_durable(d.append(f"record-{i:02d}".encode() * 3))
    d.close()
    names = [n for n in fs.listdir("/db") if wal.parse_segment_name(n)]
    assert len(names) > 5
    lsn = 1
    for name in sorted(names):
        scan = wal.scan_segment(fs.read_bytes("/db/" + name), "/db/" + name, lsn)
        assert scan.damage is None and scan.end == scan.size
        lsn = scan.next_lsn
    got, rec = replayed("/db", fs)
    assert got == [f"record-{i:02d}".encode() * 3 for i in range(40)]
    assert len(rec.report["segments"]) == len(names)


def test_a_segment_is_written_into_space_allocated_ahead_and_trimmed_when_closed(tmp_path):
    d, _ = opened(tmp_path)
    path = tmp_path / wal.segment_name(1)
    d.wait_durable(d.append(b"first"))
    allocated = path.stat().st_size
    assert allocated >= wal.HEADER_SIZE + wal.PREALLOCATE        # zeros ahead of the writes
    for i in range(50):
        d.wait_durable(d.append(b"x" * 100))
    assert path.stat().st_size == allocated          # the batches went into the allocated space
    d.close()
    scan = wal.scan_segment(path.read_bytes(), str(path))
    assert scan.flags == wal.PREALLOCATED and scan.damage is None and scan.end == scan.size   # trimmed
    assert replayed(tmp_path)[0] == [b"first"] + [b"x" * 100] * 50


def test_a_reopened_preallocated_segment_continues_after_its_records_not_after_its_zeros():
    fs = FaultyFS()
    d, _ = opened("/db", "sync", fs)
    d.wait_durable(d.append(b"a"))
    fs.crash()                                       # killed: the allocated zeros stay
    fs = fs.reboot("drop")
    assert fs.size("/db/" + wal.segment_name(1)) > wal.PREALLOCATE
    d, rec = opened("/db", "sync", fs)
    assert rec.report["dropped"] == []              # zeros are unwritten space, not a torn tail
    d.wait_durable(d.append(b"b"))
    d.close()
    assert replayed("/db", fs)[0] == [b"a", b"b"]


def test_a_trim_the_file_system_refuses_leaves_the_zeros_and_loses_nothing():
    fs = FaultyFS()
    d, _ = opened("/db", "sync", fs)
    d.wait_durable(d.append(b"a"))
    fs.fail("truncate", path="wal-")                 # the close's trim
    d.close()                                        # not an error: the zeros are unwritten space
    assert fs.size("/db/" + wal.segment_name(1)) > wal.PREALLOCATE
    got, rec = replayed("/db", fs)
    assert got == [b"a"] and rec.report["dropped"] == []


def test_reopen_appends_to_the_last_segment_until_it_is_full():
    fs = FaultyFS()
    for _ in range(3):
        d, _ = opened("/db", "sync", fs)
        d.wait_durable(d.append(b"z"))
        d.close()
    assert [n for n in fs.listdir("/db") if n.endswith(".log")] == [wal.segment_name(1)]
    assert replayed("/db", fs)[0] == [b"z"] * 3


def test_append_before_start_and_after_close_is_refused(tmp_path):
    d = Durability(tmp_path, "sync")
    with pytest.raises(DurabilityError, match="new, not open for writing"):
        d.append(b"x")
    d.recover()
    d.start()
    d.close()
    d.close()                            # idempotent
    with pytest.raises(DurabilityError, match="closed"):
        d.append(b"x")


def test_unknown_policy_is_rejected():
    with pytest.raises(ValueError, match="sync, batch, none"):
        Durability("/nowhere", "always")


def test_writes_go_through_the_real_file_layer_by_default(tmp_path):
    d = Durability(tmp_path)
    assert isinstance(d.fs, RealFS) and d.policy == "batch"


@pytest.mark.parametrize("fallocate", [True, False], ids=["posix_fallocate", "without-fallocate"])
def test_a_real_file_allocates_zeros_and_writes_in_place(tmp_path, monkeypatch, fallocate):
    from kvstore.engine import fs as fs_module
    if not fallocate:                                # macOS, or a file system that refuses it
        monkeypatch.setattr(fs_module, "_fallocate", None)
    path = str(tmp_path / "f")
    f = RealFS().create(path)
    f.write(b"abc")
    f.allocate(100)
    f.write_at(3, b"de")
    f.write(b"!")                                    # an append goes after the allocated zeros
    f.allocate(50)                                   # never shrinks
    f.close()
    assert open(path, "rb").read() == b"abcde" + b"\0" * 95 + b"!"
