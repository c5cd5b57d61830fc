"""Checkpoints and recovery: fuzzy snapshots, released segments, torn tails, corruption, repair."""

import os
import threading

import msgpack
import pytest

from kvstore.engine import checkpoint as ckpt
from kvstore.engine import wal
from kvstore.engine.durability import Durability
from kvstore.engine.errors import CorruptionError, UnsupportedFormatError
from kvstore.engine.fs import FaultyFS, SimulatedCrash


def opened(directory, policy="sync", fs=None, **kw):
    d = Durability(directory, policy, fs, **kw)
    rec = d.recover()
    d.start()
    return d, rec


def files(directory, suffix):
    return sorted(n for n in os.listdir(directory) if n.endswith(suffix))


class ModelEngine:
    """Just enough of an engine: a dict of items, a lock per key, after-image records."""

    def __init__(self, durability, keys=16):
        self.d = durability
        self.items = {}
        self.locks = [threading.Lock() for _ in range(keys)]

    def put(self, key, value):
        with self.locks[key % len(self.locks)]:
            lsn = self.d.append(msgpack.packb([key, value]))
            self.items[key] = value
        self.d.wait_durable(lsn)

    def chunks(self):
        yield {"catalog": "v1"}
        for k in range(len(self.locks)):        # one "partition" per key, copied under its lock
            with self.locks[k]:
                rows = {key: v for key, v in self.items.items() if key % len(self.locks) == k}
            yield rows

    @staticmethod
    def load(rec):
        items = {}
        chunks = list(rec.snapshot_chunks())
        if chunks:
            assert chunks[0] == {"catalog": "v1"}
            for rows in chunks[1:]:
                items.update(rows)
        for payload in rec.log_payloads():
            key, value = msgpack.unpackb(payload)
            items[key] = value
        return items


def test_checkpoint_round_trips_msgpack_chunks(tmp_path):
    d, _ = opened(tmp_path)
    chunks = [{"catalog": [1, 2]}, [[b"\x00key", b"packed"], [b"k2", b"v2"]], {b"bytes-key": "x"}]
    info = d.checkpoint(lambda: iter(chunks))
    assert info["chunks"] == 3 and info["start_lsn"] == 1
    d.close()
    d, rec = opened(tmp_path)
    assert list(rec.snapshot_chunks()) == chunks
    assert rec.report["checkpoint"]["file"].endswith(ckpt.checkpoint_name(1))
    d.close()


def test_fuzzy_checkpoint_with_concurrent_writes_recovers_the_final_state(tmp_path):
    d, _ = opened(tmp_path, "batch", batch_interval=0.001)
    engine = ModelEngine(d)
    stop = threading.Event()

    def writer(seed):
        n = 0
        while not stop.is_set() or n < 200:
            engine.put((seed * 7 + n) % 40, f"{seed}-{n}")
            n += 1

    threads = [threading.Thread(target=writer, args=(s,)) for s in range(3)]
    for t in threads:
        t.start()
    for _ in range(3):
        d.checkpoint(engine.chunks)
    stop.set()
    for t in threads:
        t.join()
    final = dict(engine.items)
    d.close()
    d, rec = opened(tmp_path)
    assert ModelEngine.load(rec) == final
    d.close()


def test_checkpoint_releases_old_segments_and_checkpoints(tmp_path):
    d, _ = opened(tmp_path, segment_bytes=200)
    engine = ModelEngine(d)
    for i in range(30):
        engine.put(i, "x" * 20)
    d.checkpoint(engine.chunks)
    for i in range(30):
        engine.put(i, "y" * 20)
    before = files(tmp_path, ".log")
    info = d.checkpoint(engine.chunks)
    after = files(tmp_path, ".log")
    assert len(after) < len(before) and info["released"]
    assert files(tmp_path, ".ckpt") == [os.path.basename(info["file"])]
    for name in after:          # what remains starts at or after the segment holding L0
        assert wal.parse_segment_name(name) >= wal.parse_segment_name(after[0])
    d.close()
    d, rec = opened(tmp_path)
    assert ModelEngine.load(rec) == {i: "y" * 20 for i in range(30)}
    d.close()


def test_automatic_checkpoint_when_the_log_grows(tmp_path):
    d, _ = opened(tmp_path, "sync", checkpoint_log_bytes=2000)
    engine = ModelEngine(d)
    d.set_checkpoint_source(engine.chunks)
    i = 0
    while d.last_checkpoint is None and i < 100000:
        engine.put(i % 50, "v" * 30)
        i += 1
    assert d.last_checkpoint is not None
    d.close()
    d, rec = opened(tmp_path)
    assert ModelEngine.load(rec) == engine.items
    d.close()


def test_checkpoint_needs_a_source():
    d = Durability("/db", "sync", FaultyFS())
    d.recover()
    d.start()
    with pytest.raises(ValueError, match="produce_chunks"):
        d.checkpoint()
    d.close()


def test_crash_before_the_checkpoint_is_published_recovers_from_the_log():
    fs = FaultyFS()
    d, _ = opened("/db", "sync", fs)
    engine = ModelEngine(d)
    for i in range(10):
        engine.put(i, i)
    fs.crash_at("rename", path=".ckpt")
    with pytest.raises(SimulatedCrash):
        d.checkpoint(engine.chunks)
    fs2 = fs.reboot("keep")
    assert any(n.endswith(".ckpt.tmp") for n in fs2.listdir("/db"))
    d, rec = opened("/db", "sync", fs2)
    assert rec.report["checkpoint"] is None and rec.report["removed"]
    assert ModelEngine.load(rec) == {i: i for i in range(10)}
    d.close()


def test_leftover_segments_before_the_checkpoint_are_removed_on_open():
    fs = FaultyFS()
    d, _ = opened("/db", "sync", fs, segment_bytes=100)
    engine = ModelEngine(d)
    for i in range(10):
        engine.put(i, "z" * 30)
    fs.fail("remove", times=None)        # a crash right after publishing would leave them too
    d.checkpoint(engine.chunks)
    fs.clear()
    stale = [n for n in fs.listdir("/db") if n.endswith(".log")]
    d.close()
    d, rec = opened("/db", "sync", fs)
    assert rec.report["removed"]
    assert len([n for n in fs.listdir("/db") if n.endswith(".log")]) < len(stale)
    assert ModelEngine.load(rec) == {i: "z" * 30 for i in range(10)}
    d.close()


def test_torn_tail_is_dropped_reported_and_the_file_truncated(tmp_path):
    d, _ = opened(tmp_path)
    for p in (b"a", b"b"):
        d.wait_durable(d.append(p))
    d.close()
    seg = tmp_path / files(tmp_path, ".log")[-1]
    good = seg.stat().st_size
    with open(seg, "ab") as f:
        f.write(wal.encode_record(3, b"half written")[:20])
    d, rec = opened(tmp_path)
    assert rec.report["dropped"] == [{"file": str(seg), "offset": good, "bytes": 20,
                                      "reason": "truncated payload (record of 12 bytes, 3 present)"}]
    assert "dropped 20 bytes" in rec.describe()
    assert seg.stat().st_size == good
    d.wait_durable(d.append(b"c"))
    d.close()
    d, rec = opened(tmp_path)
    assert list(rec.log_payloads()) == [b"a", b"b", b"c"]
    d.close()


def write_three_segments(directory):
    d, _ = opened(directory, segment_bytes=60)
    for p in (b"a" * 30, b"b" * 30, b"c" * 30, b"d" * 30):
        d.wait_durable(d.append(p))
    d.close()
    return [directory / n for n in files(directory, ".log")]


def flip(path, offset):
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


def test_corrupt_record_in_the_middle_refuses_to_open(tmp_path):
    d, _ = opened(tmp_path)
    for p in (b"first", b"second", b"third"):
        d.wait_durable(d.append(p))
    d.close()
    seg = tmp_path / files(tmp_path, ".log")[0]
    flip(seg, wal.HEADER_SIZE + wal.RECORD_HEADER_SIZE + 2)
    with pytest.raises(CorruptionError) as err:
        Durability(tmp_path, "sync").recover()
    assert err.value.path == str(seg) and err.value.offset == wal.HEADER_SIZE
    assert "checksum mismatch" in str(err.value) and "kvstore repair" in str(err.value)
    with pytest.raises(CorruptionError):     # not DatabaseLockedError: refusing released the lock
        Durability(tmp_path, "sync").recover()


def test_corrupt_record_in_an_older_segment_refuses_and_repair_cuts_there(tmp_path):
    segs = write_three_segments(tmp_path)
    assert len(segs) >= 3
    flip(segs[1], wal.HEADER_SIZE + 20)
    with pytest.raises(CorruptionError, match="not the newest"):
        Durability(tmp_path, "sync").recover()
    d = Durability(tmp_path, "sync", repair=True)
    rec = d.recover()
    assert list(rec.log_payloads()) == [b"a" * 30]
    assert rec.report["repaired"] and len(rec.report["dropped"]) == len(segs) - 1
    d.start()
    d.wait_durable(d.append(b"after repair"))
    d.close()
    lost = os.listdir(tmp_path / "lost")
    assert os.path.basename(segs[2]) in lost
    d, rec = opened(tmp_path)
    assert list(rec.log_payloads()) == [b"a" * 30, b"after repair"]
    d.close()


def test_missing_segment_is_a_gap(tmp_path):
    segs = write_three_segments(tmp_path)
    os.remove(segs[1])
    with pytest.raises(CorruptionError, match="are missing"):
        Durability(tmp_path, "sync").recover()


def test_damaged_checkpoint_refuses_and_repair_falls_back_to_the_log(tmp_path):
    d, _ = opened(tmp_path)
    engine = ModelEngine(d)
    for i in range(5):
        engine.put(i, i)
    info = d.checkpoint(engine.chunks)     # log segment 1 stays: it also holds L0
    d.close()
    flip(tmp_path / os.path.basename(info["file"]), ckpt.HEADER.size + 10)
    with pytest.raises(CorruptionError, match="checkpoint chunk checksum mismatch"):
        Durability(tmp_path, "sync").recover()
    d = Durability(tmp_path, "sync", repair=True)
    rec = d.recover()
    assert ModelEngine.load(rec) == {i: i for i in range(5)}
    d.close()
    assert os.listdir(tmp_path / "lost") == [os.path.basename(info["file"])]


def test_damaged_checkpoint_without_the_log_behind_it_is_unrepairable(tmp_path):
    d, _ = opened(tmp_path, segment_bytes=50)
    engine = ModelEngine(d)
    for i in range(10):
        engine.put(i, "w" * 30)
    info = d.checkpoint(engine.chunks)
    d.close()
    assert not (tmp_path / wal.segment_name(1)).exists()
    flip(tmp_path / os.path.basename(info["file"]), 30)
    with pytest.raises(CorruptionError, match="cannot be repaired"):
        Durability(tmp_path, "sync", repair=True).recover()


def test_log_shorter_than_the_checkpoint_needs_is_corruption(tmp_path):
    d, _ = opened(tmp_path)
    engine = ModelEngine(d)
    engine.put(1, 1)
    d.checkpoint(lambda: iter([engine.items]))
    engine.put(2, 2)                    # after L0: needed from the log
    d.close()
    seg = tmp_path / files(tmp_path, ".log")[-1]
    # rewrite the checkpoint with L1 beyond the end of the log
    cp = tmp_path / files(tmp_path, ".ckpt")[0]
    data = cp.read_bytes()
    foot = ckpt.FOOTER.pack(ckpt.END_MARKER, 1, 99, 0)[:-4]
    cp.write_bytes(data[:-ckpt.FOOTER.size] + foot + ckpt.zlib.crc32(foot).to_bytes(4, "little"))
    with pytest.raises(CorruptionError, match="needs it through LSN 98"):
        Durability(tmp_path, "sync").recover()
    assert seg.exists()


def test_checkpoint_from_a_newer_version_is_unsupported(tmp_path):
    d, _ = opened(tmp_path)
    info = d.checkpoint(lambda: iter([1]))
    d.close()
    path = tmp_path / os.path.basename(info["file"])
    data = bytearray(path.read_bytes())
    data[8] = 9
    head = bytes(data[:20])
    data[20:24] = ckpt.zlib.crc32(head).to_bytes(4, "little")
    path.write_bytes(bytes(data))
    with pytest.raises(UnsupportedFormatError, match="version 9"):
        Durability(tmp_path, "sync", repair=True).recover()


def test_truncated_checkpoint_is_detected(tmp_path):
    d, _ = opened(tmp_path)
    info = d.checkpoint(lambda: iter([b"x" * 100]))
    d.close()
    path = tmp_path / os.path.basename(info["file"])
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(CorruptionError, match="footer truncated"):
        Durability(tmp_path, "sync").recover()


def test_engine_refuses_a_checkpoint_chunk_it_does_not_know(tmp_path):
    """Only the catalog and flat row chunks exist; anything else is refused, never guessed at."""
    from kvstore.engine.database import Engine

    d, _ = opened(tmp_path)
    d.checkpoint(lambda: iter([["catalog", []], ["rows", "things", [[b"k", b"v"]]]]))
    d.close()
    with pytest.raises(CorruptionError, match="unknown checkpoint chunk kind 'rows'"):
        Engine(str(tmp_path))
