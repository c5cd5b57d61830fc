"""The log reader's edge cases, one test per edge (LevelDB's db/log_test.cc style).

A segment is built byte by byte with the framing functions, damaged in one
precise way, and read back with ``scan_segment``.  The question each test
pins: how far is the segment good, and is the damage a torn tail (dropped on
open) or corruption (open refuses)?
"""

import struct
import zlib

import pytest
from hypothesis import given, settings, strategies as st

from kvstore.engine import wal
from kvstore.engine.errors import CorruptionError, UnsupportedFormatError

PATH = "/db/wal-00000000000000000001.log"
H = wal.HEADER_SIZE
R = wal.RECORD_HEADER_SIZE


def segment(*writes, first_lsn=1, flags=0):
    """A segment holding ``writes`` (each a list of payloads written by one write(2)); ``flags=0``:
    written without preallocation, where a zero-filled tail is a torn write (see the PREALLOCATED tests)."""
    out = bytearray(wal.encode_segment_header(first_lsn, flags))
    lsn = first_lsn
    for payloads in writes:
        for i, payload in enumerate(payloads):
            out += wal.encode_record(lsn, payload, wal.BEGIN if i == 0 else wal.CONT)
            lsn += 1
    return bytes(out)


def payloads(data, scan):
    return [p for _lsn, p in wal.iter_payloads(data, PATH, 1, scan.end)]


def test_empty_segment_has_no_records():
    data = segment()
    scan = wal.scan_segment(data, PATH)
    assert (scan.records, scan.last_lsn, scan.end, scan.damage) == (0, None, H, None)
    assert scan.next_lsn == 1


def test_records_read_back_in_order():
    data = segment([b"ab", b"xyz"], [b"!"])
    scan = wal.scan_segment(data, PATH)
    assert scan.damage is None
    assert (scan.records, scan.last_lsn, scan.end) == (3, 3, len(data))
    assert payloads(data, scan) == [b"ab", b"xyz", b"!"]


def test_format_md_example_offsets():
    data = segment([b"ab", b"xyz"], [b"!"])
    assert data[:8] == b"\x89KVSLOG\n"
    assert len(data) == 81
    assert data[24 + 8] == wal.BEGIN and data[43 + 8] == wal.CONT and data[63 + 8] == wal.BEGIN


def test_empty_payload_round_trips():
    data = segment([b"", b"x"])
    scan = wal.scan_segment(data, PATH)
    assert payloads(data, scan) == [b"", b"x"]


def test_truncated_segment_header():
    with pytest.raises(CorruptionError, match="segment header truncated"):
        wal.scan_segment(segment()[:10], PATH)


def test_bad_magic():
    data = b"NOTALOG!" + segment()[8:]
    with pytest.raises(CorruptionError, match="bad magic") as err:
        wal.scan_segment(data, PATH)
    assert err.value.path == PATH and err.value.offset == 0


def test_bad_header_checksum():
    data = bytearray(segment())
    data[12] ^= 0x01                      # first_lsn byte
    with pytest.raises(CorruptionError, match="header checksum"):
        wal.scan_segment(bytes(data), PATH)


def test_newer_version_is_unsupported_not_corrupt():
    head = struct.pack("<8sHHQ", wal.MAGIC, 2, 0, 1)
    data = head + zlib.crc32(head).to_bytes(4, "little")
    with pytest.raises(UnsupportedFormatError, match="version 2 is not supported"):
        wal.scan_segment(data, PATH)


def test_header_lsn_must_match_file_name():
    data = segment(first_lsn=7)
    with pytest.raises(CorruptionError, match="name says 1"):
        wal.scan_segment(data, PATH)


def test_truncated_header_at_tail_is_torn():
    data = segment([b"ab"], [b"xyz"])
    cut = data[:-len(b"xyz") - R + 5]     # 5 bytes of the second record's header
    scan = wal.scan_segment(cut, PATH)
    assert scan.records == 1 and scan.end == H + R + 2
    assert scan.damage.kind == "torn"
    assert "truncated record header" in scan.damage.reason
    assert scan.damage.dropped == 5


def test_truncated_payload_at_tail_is_torn():
    data = segment([b"ab"], [b"xyz" * 10])
    scan = wal.scan_segment(data[:-1], PATH)
    assert scan.records == 1 and scan.damage.kind == "torn"
    assert "truncated payload" in scan.damage.reason


def test_bad_checksum_at_tail_is_torn():
    data = bytearray(segment([b"ab"], [b"xyz"]))
    data[-1] ^= 0xFF
    scan = wal.scan_segment(bytes(data), PATH)
    assert scan.records == 1 and scan.damage.kind == "torn"
    assert scan.damage.reason == "checksum mismatch"
    assert scan.damage.offset == H + R + 2


def test_bad_checksum_followed_by_later_write_is_corruption():
    data = bytearray(segment([b"ab"], [b"xyz"], [b"later"]))
    data[H + R + 2 + R] ^= 0xFF          # payload of the second record (its own write)
    scan = wal.scan_segment(bytes(data), PATH)
    assert scan.damage.kind == "corrupt"
    assert scan.damage.offset == H + R + 2
    assert scan.damage.later_write_at == H + R + 2 + R + 3
    with pytest.raises(CorruptionError, match="offset 43: checksum mismatch") as err:
        raise scan.damage.error()
    assert err.value.path == PATH and err.value.offset == 43
    assert "kvstore repair" in str(err.value)


def test_hole_in_last_write_is_torn_even_with_intact_records_after_it():
    # pages of the last write persisted out of order: a hole, then CONT records of the same write
    data = bytearray(segment([b"a"], [b"b" * 40, b"c" * 40, b"d" * 40]))
    start = H + R + 1
    data[start + R:start + R + 40] = b"\0" * 40
    scan = wal.scan_segment(bytes(data), PATH)
    assert scan.records == 1
    assert scan.damage.kind == "torn" and scan.damage.offset == start


def test_zero_filled_tail_is_torn():
    data = segment([b"ab"]) + b"\0" * 4096
    scan = wal.scan_segment(data, PATH)
    assert scan.records == 1 and scan.damage.kind == "torn"
    assert scan.damage.reason == "zero-filled tail (4096 bytes)"


# -- a PREALLOCATED segment: the writer allocates zeros ahead and writes into them

def test_zeros_after_the_records_of_a_preallocated_segment_are_unwritten_space():
    good = segment([b"ab"], [b"cd"], flags=wal.PREALLOCATED)
    data = good + b"\0" * 4096
    scan = wal.scan_segment(data, PATH)
    assert scan.damage is None and scan.records == 2
    assert (scan.end, scan.size, scan.flags) == (len(good), len(data), wal.PREALLOCATED)


def test_zeros_after_the_records_of_an_older_preallocated_segment_are_unwritten_space():
    good = segment([b"ab"], flags=wal.PREALLOCATED)
    scan = wal.scan_segment(good + b"\0" * 100, PATH, last=False)     # a crash came before its trim
    assert scan.damage is None and scan.end == len(good)


def test_a_write_cut_short_inside_preallocated_space_is_torn_and_reported_without_the_zeros():
    good = segment([b"ab"], flags=wal.PREALLOCATED)
    cut = wal.encode_record(2, b"x" * 40)[:30]
    scan = wal.scan_segment(good + cut + b"\0" * 4096, PATH)
    assert scan.records == 1 and scan.damage.kind == "torn"
    assert (scan.damage.offset, scan.damage.dropped) == (len(good), 30)


def test_a_later_write_ending_in_zero_bytes_after_damage_is_still_found():
    # the search for a later write runs over the whole file, so a record whose payload ends in zeros
    # (which the zero tail's trimming would cut) still proves the damage is in the middle
    good = segment([b"ab"], [b"cd"], [b"ef\0\0\0"], flags=wal.PREALLOCATED)
    first = H + R + 2
    data = bytearray(good + b"\0" * 512)
    data[first + R] ^= 0xFF                          # the second record's payload damaged
    scan = wal.scan_segment(bytes(data), PATH)
    assert scan.damage.kind == "corrupt" and scan.damage.offset == first


def test_garbage_after_the_zeros_of_a_preallocated_segment_is_torn():
    good = segment([b"ab"], flags=wal.PREALLOCATED)
    scan = wal.scan_segment(good + b"\0" * 64 + b"\xa5" * 10 + b"\0" * 64, PATH)
    assert scan.damage.kind == "torn" and scan.damage.offset == len(good) and scan.damage.dropped == 74


def test_unknown_segment_flags_are_a_format_this_kvstore_does_not_read():
    data = segment([b"ab"], flags=2)
    with pytest.raises(UnsupportedFormatError):
        wal.scan_segment(data, PATH)


def test_zeros_followed_by_a_later_write_are_corruption():
    good = segment([b"ab"], [b"cd"], [b"ef"])
    first = H + R + 2
    data = good[:first] + b"\0" * (R + 2) + good[first + R + 2:]
    scan = wal.scan_segment(data, PATH)
    assert scan.damage.kind == "corrupt" and scan.damage.offset == first


def test_invalid_record_type():
    data = bytearray(segment([b"ab"]))
    data[H + 8] = 7
    scan = wal.scan_segment(bytes(data), PATH)
    assert scan.records == 0 and scan.damage.reason == "invalid record type 7"


def test_valid_record_with_unexpected_lsn():
    data = segment() + wal.encode_record(5, b"x")
    scan = wal.scan_segment(data, PATH)
    assert scan.records == 0 and scan.damage.reason == "record has LSN 5, expected 1"


def test_damage_in_a_segment_that_is_not_the_newest_is_corruption():
    data = segment([b"ab"], [b"xyz"])[:-1]
    scan = wal.scan_segment(data, PATH, last=False)
    assert scan.damage.kind == "corrupt"
    assert "not the newest" in scan.damage.reason


def test_rotation_boundary_next_segment_continues_the_lsns():
    first = segment([b"a", b"b"])
    scan1 = wal.scan_segment(first, PATH, last=False)
    second = segment([b"c"], first_lsn=3)
    scan2 = wal.scan_segment(second, "/db/" + wal.segment_name(3), expect_lsn=scan1.next_lsn)
    assert (scan2.first_lsn, scan2.last_lsn) == (3, 3)


def test_rotation_boundary_gap_between_segments_is_corruption():
    second = segment([b"c"], first_lsn=4)
    with pytest.raises(CorruptionError, match="log records 3..3 are missing"):
        wal.scan_segment(second, "/db/" + wal.segment_name(4), expect_lsn=3)


def test_empty_segment_at_the_rotation_boundary():
    first = segment([b"a"])
    empty = segment(first_lsn=2)
    scan = wal.scan_segment(empty, "/db/" + wal.segment_name(2), expect_lsn=wal.scan_segment(first, PATH).next_lsn)
    assert scan.records == 0 and scan.next_lsn == 2


def test_every_truncation_of_the_last_write_is_a_torn_tail():
    data = segment([b"one"], [b"two", b"three"])
    boundaries = {H + R + 3, H + R + 3 + R + 3}
    for size in range(H + R + 3, len(data)):
        scan = wal.scan_segment(data[:size], PATH)
        if size in boundaries:
            assert scan.damage is None
        else:
            assert scan.damage.kind == "torn", size
        assert scan.end <= size
        assert payloads(data[:size], scan) == [b"one", b"two", b"three"][:scan.records]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(st.binary(max_size=40), min_size=1, max_size=4), min_size=1, max_size=6),
       st.data())
def test_one_damaged_byte_never_yields_wrong_records(writes, data):
    """Whatever single byte is damaged, the reader returns a prefix of what was written,
    and calls it torn only if the damage is in the last write."""
    good = segment(*writes)
    flat = [p for w in writes for p in w]
    pos = data.draw(st.integers(H, len(good) - 1))
    bad = bytearray(good)
    bad[pos] ^= data.draw(st.integers(1, 255))
    scan = wal.scan_segment(bytes(bad), PATH)
    got = payloads(bytes(bad), scan)
    assert got == flat[:len(got)]
    last_write_start = len(segment(*writes[:-1]))
    if scan.damage is not None and scan.damage.kind == "torn":
        assert scan.damage.offset >= last_write_start
    if pos < last_write_start:
        assert scan.damage is not None and scan.damage.kind == "corrupt"
