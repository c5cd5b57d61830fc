"""Write-ahead log segments: record framing, the segment writer and the reader.

The byte grammar is in docs/format.md; this module is its executable form.
A segment is ``header record*``; a record is
``crc:u32 length:u32 type:u8 lsn:u64 payload``.  The reader never guesses:
it returns how far the segment is good and, if it stops early, where and
why, and whether the damage is a torn tail (nothing valid from a later write
follows) or corruption in the middle.

Complexity: framing a record is O(p) for a payload of p bytes (one crc32);
``write_batch`` is one write(2) and, unless the policy is ``none``, one
fsync for a whole batch of records; ``scan_segment`` and ``iter_payloads``
are O(segment bytes), one crc32 pass; looking past damage for a later write
(``_find_later_write``) is O(rest of the segment).
"""

import os
import re
import struct
import zlib

from .errors import CorruptionError, UnsupportedFormatError

MAGIC = b"\x89KVSLOG\n"
VERSION = 1
SEGMENT_HEADER = struct.Struct("<8sHHQI")      # magic, version, flags, first_lsn, crc
RECORD_HEADER = struct.Struct("<IIBQ")         # crc, length, type, lsn
_RECORD_TAIL = struct.Struct("<IBQ")           # the part of the header the crc covers
HEADER_SIZE = SEGMENT_HEADER.size              # 24
RECORD_HEADER_SIZE = RECORD_HEADER.size        # 17

BEGIN = 1        # first record of one write(2)
CONT = 2         # a later record of the same write(2)
#: segment header flag: the writer allocates zero-filled space ahead of its writes and writes into it, so
#: a rest of the file that is all zeros is unwritten space, not damage (docs/format.md)
PREALLOCATED = 1
#: how far past the write that needs it a segment's file is extended (64 KiB steps gave half the gain:
#: each extension's fdatasync commits a new size again)
PREALLOCATE = 1 << 20
MAX_PAYLOAD = 1 << 30
WAKE_BYTES = 4 << 20     # a log buffer this big wakes the flusher before its interval (durability.py)

_NAME = re.compile(r"^wal-(\d{20})\.log$")


def segment_name(first_lsn):
    return f"wal-{first_lsn:020d}.log"


def parse_segment_name(name):
    """First LSN encoded in a segment file name, or None if it is not a segment."""
    m = _NAME.match(name)
    return int(m.group(1)) if m else None


# --------------------------------------------------------------------------- framing


def encode_record(lsn, payload, rtype=BEGIN):
    """One framed record (header + payload)."""
    tail = _RECORD_TAIL.pack(len(payload), rtype, lsn)
    crc = zlib.crc32(payload, zlib.crc32(tail))
    return crc.to_bytes(4, "little") + tail + payload


def encode_segment_header(first_lsn, flags=PREALLOCATED):
    head = SEGMENT_HEADER.pack(MAGIC, VERSION, flags, first_lsn, 0)[:-4]
    return head + zlib.crc32(head).to_bytes(4, "little")


def segment_flags(data):
    """The flags of a segment whose header ``decode_segment_header`` accepted."""
    return SEGMENT_HEADER.unpack_from(data, 0)[2]


def decode_segment_header(data, path):
    """First LSN of a segment; raises CorruptionError / UnsupportedFormatError."""
    if len(data) < HEADER_SIZE:
        raise CorruptionError(path, 0, f"segment header truncated ({len(data)} of {HEADER_SIZE} bytes)")
    magic, version, flags, first_lsn, crc = SEGMENT_HEADER.unpack_from(data, 0)
    if magic != MAGIC:
        raise CorruptionError(path, 0, "bad magic: not a kvstore log segment")
    if zlib.crc32(data[:HEADER_SIZE - 4]) != crc:
        raise CorruptionError(path, 0, "segment header checksum mismatch")
    if version != VERSION or flags & ~PREALLOCATED:
        raise UnsupportedFormatError(path, version if version != VERSION else f"{version} with flags {flags:#x}",
                                     VERSION)
    expected = parse_segment_name(os.path.basename(path))
    if expected is not None and expected != first_lsn:
        raise CorruptionError(path, 0, f"segment header says first LSN {first_lsn}, its name says {expected}")
    return first_lsn


# --------------------------------------------------------------------------- reading


class Damage:
    """Where a segment stops being readable and what that means.

    ``kind`` is ``"torn"`` (a tail that an interrupted write can leave: drop it)
    or ``"corrupt"`` (data that was once durable is damaged: refuse to open).
    """

    __slots__ = ("path", "offset", "reason", "kind", "size", "later_write_at")

    def __init__(self, path, offset, reason, kind, size, later_write_at=None):
        self.path, self.offset, self.reason, self.kind = path, offset, reason, kind
        self.size, self.later_write_at = size, later_write_at

    @property
    def dropped(self):
        """Bytes from the damage to the end of the file."""
        return self.size - self.offset

    def error(self):
        reason = self.reason
        if self.later_write_at is not None:
            reason += f" (followed by valid records written later, at offset {self.later_write_at})"
        return CorruptionError(self.path, self.offset, reason)

    def as_dict(self):
        return {"file": self.path, "offset": self.offset, "bytes": self.dropped,
                "reason": self.reason, "kind": self.kind}

    def __repr__(self):
        return f"Damage({self.path!r}, offset={self.offset}, {self.kind}: {self.reason})"


class SegmentScan:
    """The result of reading one segment: ``first_lsn``, ``records``, ``last_lsn``
    (None if it has no good record), ``end`` (offset after the last good
    record), ``size`` and ``damage`` (None if the whole file is good)."""

    __slots__ = ("path", "first_lsn", "records", "last_lsn", "end", "size", "damage", "flags")

    def __init__(self, path, first_lsn, size, flags=0):
        self.path, self.first_lsn, self.size, self.flags = path, first_lsn, size, flags
        self.records, self.last_lsn, self.end, self.damage = 0, None, HEADER_SIZE, None

    @property
    def next_lsn(self):
        return self.first_lsn if self.last_lsn is None else self.last_lsn + 1


def check_record(data, view, offset, end, expect_lsn):
    """(length, lsn) of the record at ``offset``, or a reason string."""
    if end - offset < RECORD_HEADER_SIZE:
        return f"truncated record header ({end - offset} of {RECORD_HEADER_SIZE} bytes)"
    crc, length, rtype, lsn = RECORD_HEADER.unpack_from(data, offset)
    if offset + RECORD_HEADER_SIZE + length > end:
        return f"truncated payload (record of {length} bytes, {end - offset - RECORD_HEADER_SIZE} present)"
    if rtype != BEGIN and rtype != CONT:
        return f"invalid record type {rtype}"
    if zlib.crc32(view[offset + 4:offset + RECORD_HEADER_SIZE + length]) != crc:
        return "checksum mismatch"
    if expect_lsn is not None and lsn != expect_lsn:
        return f"record has LSN {lsn}, expected {expect_lsn}"
    return length, lsn


def _find_later_write(data, view, start, end, after_lsn):
    """Offset of a valid BEGIN record after ``start`` with an LSN beyond ``after_lsn``, or None.

    Finds candidates by their type byte (C-speed ``find``), then checks the
    LSN range and the checksum.
    """
    max_lsn = after_lsn + 1 + (end - start) // RECORD_HEADER_SIZE
    marker = bytes([BEGIN])
    p = data.find(marker, start + 9, end)
    while p != -1:
        offset = p - 8
        if offset + RECORD_HEADER_SIZE <= end:
            crc, length, _rtype, lsn = RECORD_HEADER.unpack_from(data, offset)
            if (after_lsn < lsn <= max_lsn and offset + RECORD_HEADER_SIZE + length <= end
                    and zlib.crc32(view[offset + 4:offset + RECORD_HEADER_SIZE + length]) == crc):
                return offset
        p = data.find(marker, p + 1, end)
    return None


def scan_segment(data, path, expect_lsn=None, last=True):
    """Read a whole segment (``data`` is its bytes) and say how much of it is good.

    ``expect_lsn`` is the LSN the first record must have (None: the header's).
    ``last`` says whether this is the newest segment, the only place where a
    torn tail is legitimate.  Header problems raise CorruptionError.
    """
    first_lsn = decode_segment_header(data, path)
    flags = segment_flags(data)
    scan = SegmentScan(path, first_lsn, len(data), flags)
    if expect_lsn is not None and first_lsn != expect_lsn:
        raise CorruptionError(path, 0, f"log records {expect_lsn}..{first_lsn - 1} are missing "
                                       f"(the segment before it ends at LSN {expect_lsn - 1})"
                              if first_lsn > expect_lsn else
                              f"segment starts at LSN {first_lsn}, which the previous segment already has")
    view = memoryview(data)
    end = len(data)
    offset, lsn = HEADER_SIZE, first_lsn
    unpack_from, crc32 = RECORD_HEADER.unpack_from, zlib.crc32
    while offset < end:
        # the good case inline (this loop runs once per record at every open); check_record says why not
        if end - offset >= RECORD_HEADER_SIZE:
            crc, length, rtype, rlsn = unpack_from(data, offset)
            stop = offset + RECORD_HEADER_SIZE + length
            if (stop <= end and rlsn == lsn and (rtype == BEGIN or rtype == CONT)
                    and crc32(view[offset + 4:stop]) == crc):
                offset = stop
                lsn += 1
                continue
        written = end
        if flags & PREALLOCATED:
            written = offset + len(data[offset:end].rstrip(b"\0"))
            if written == offset:
                break                       # the allocated space the writer has not reached: the end
        reason = check_record(data, view, offset, end, lsn)
        scan.damage = _classify(data, view, path, offset, end, reason, lsn - 1, last, written)
        break
    scan.records = lsn - first_lsn
    scan.last_lsn = lsn - 1 if lsn > first_lsn else None
    scan.end = offset
    return scan


def _classify(data, view, path, offset, end, reason, last_good_lsn, last, written=None):
    """The damage at ``offset``; ``written``: where a preallocated segment's zeros start after it (the
    damage reported stops there; a later write is still looked for up to ``end``)."""
    size = end if written is None else written
    if data.count(b"\0", offset, end) == end - offset:
        reason = f"zero-filled tail ({end - offset} bytes)"
    if not last:
        return Damage(path, offset, reason + " in a segment that is not the newest", "corrupt", size)
    later = _find_later_write(data, view, offset, end, last_good_lsn)
    if later is not None:
        return Damage(path, offset, reason, "corrupt", size, later)
    return Damage(path, offset, reason, "torn", size)


def iter_payloads(data, path, start_lsn, end, verify=True):
    """Yield ``(lsn, payload)`` of the records up to offset ``end`` with LSN >= start_lsn.

    ``verify=False`` skips the checksums: for data that ``scan_segment``
    has just checked, under the directory lock (recovery), where checking
    again would only double the cost of the slowest loop of an open.  The
    LSN sequence is still checked, so reading something else than what was
    scanned cannot go unnoticed.
    """
    view = memoryview(data)
    offset = HEADER_SIZE
    unpack_from = RECORD_HEADER.unpack_from
    expect = None
    while offset < end:
        crc, length, _rtype, lsn = unpack_from(data, offset)
        stop = offset + RECORD_HEADER_SIZE + length
        if stop > end or (expect is not None and lsn != expect) or (
                verify and zlib.crc32(view[offset + 4:stop]) != crc):
            raise CorruptionError(path, offset, "record changed after it was checked")
        expect = lsn + 1
        if lsn >= start_lsn:
            yield lsn, data[offset + RECORD_HEADER_SIZE:stop]
        offset = stop


# --------------------------------------------------------------------------- writing


class SegmentWriter:
    """Appends batches to one segment file and remembers the last synced offset.

    A failed write or sync leaves the file's tail unknown (after a failed
    fsync the kernel may have marked unwritten pages clean), so the next
    ``write_batch`` first truncates back to ``synced`` and the caller
    rewrites every pending batch from memory.

    A segment flagged ``PREALLOCATED`` (every new one) is written in place:
    its file is extended with zeros ahead of the writes (``allocate``), so a
    batch's fdatasync commits the data alone, not a new file size, as
    sqlite's reused WAL does (bench/results/durability_engine.md: +12-14 %
    PutItem/s under ``sync`` with 8 writers on a fast disk).
    """

    def __init__(self, fs, path, first_lsn, file, size, sync, preallocated=False, allocated=None):
        self.fs, self.path, self.first_lsn = fs, path, first_lsn
        self._file, self.synced, self._sync = file, size, sync
        self.dirty = False                    # a write or sync failed since ``synced``
        self.records = 0
        self.preallocated = preallocated
        self.allocated = size if allocated is None else allocated     # the file's size

    @classmethod
    def create(cls, fs, directory, first_lsn, sync=True):
        """A new, empty segment, created atomically (temp name, sync, rename, sync directory)."""
        path = os.path.join(directory, segment_name(first_lsn))
        tmp = path + ".tmp"
        try:
            f = fs.create(tmp)
            try:
                f.write(encode_segment_header(first_lsn))
                if sync:
                    f.sync()
            finally:
                f.close()
            fs.rename(tmp, path)
            if sync:
                fs.fsync_dir(directory)
        except OSError:
            try:
                fs.remove(tmp)
            except OSError:
                pass
            raise
        return cls(fs, path, first_lsn, fs.open_append(path), HEADER_SIZE, sync, preallocated=True)

    @classmethod
    def reopen(cls, fs, path, first_lsn, size, sync=True, flags=0):
        """Continue an existing segment whose good content ends at ``size`` (``flags``: its header's)."""
        f = fs.open_append(path)
        preallocated = bool(flags & PREALLOCATED)
        return cls(fs, path, first_lsn, f, size, sync, preallocated, f.size() if preallocated else size)

    @property
    def size(self):
        return self.synced

    def write_batch(self, data, records):
        """Write ``data`` (framed records, first one BEGIN) and sync it; OSError on failure."""
        try:
            if self.dirty:
                self._file.truncate(self.synced)
                if self._sync:
                    self._file.sync()
                self.dirty = False
                self.allocated = self.synced
            if self.preallocated:
                need = self.synced + len(data)
                if need > self.allocated:
                    size = need + PREALLOCATE
                    self._file.allocate(size)
                    self.allocated = size
                self._file.write_at(self.synced, data)
            else:
                self._file.write(data)
            if self._sync:
                self._file.sync()
        except OSError:
            self.dirty = True
            raise
        self.synced += len(data)
        self.records += records

    def trim(self):
        """Give back the allocated space past the last written batch: a rotated or closed segment keeps
        none.  Best effort: if the file system refuses, the zeros stay, and the header's flag says they
        are unwritten space (as after a crash before this)."""
        if not self.preallocated or self.dirty or self.allocated <= self.synced:
            return
        try:
            self._file.truncate(self.synced)
            if self._sync:
                self._file.sync()
        except OSError:
            return
        self.allocated = self.synced

    def sync(self):
        if not self.dirty:
            self._file.sync()

    def close(self):
        self._file.close()
