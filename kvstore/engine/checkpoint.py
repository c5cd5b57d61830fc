"""Checkpoint files: a versioned header, msgpack chunks each with a checksum, a footer.

Grammar in docs/format.md.  The chunks are the engine's (a catalog chunk,
then row chunks); this module frames, checks and streams them and never looks
inside.  A checkpoint is published by renaming a fully written, fsynced
temporary file, so a file with the final name is complete unless the disk
damaged it afterwards -- which ``validate`` detects.
"""

import os
import re
import struct
import time
import zlib

import msgpack

from .errors import CorruptionError, UnsupportedFormatError

MAGIC = b"\x89KVSCKP\n"
VERSION = 1
HEADER = struct.Struct("<8sHHQI")          # magic, version, flags, start_lsn, crc
CHUNK = struct.Struct("<II")               # length, crc
FOOTER = struct.Struct("<IQQI")            # END_MARKER, chunks, end_lsn, crc
END_MARKER = 0xFFFFFFFF
_BLOCK = 1 << 20
#: A checkpoint is background work beside requests, and it needs the GIL to pack.  Releasing the GIL
#: for a write is not enough to hand it over: the releasing thread takes it back before a waiting
#: thread has even woken up, and the waiter only gets it when the interpreter forces a switch
#: (sys.getswitchinterval(), 5 ms).  So after every YIELD_EVERY seconds of work the writer sleeps
#: YIELD_SECONDS, long enough for a waiting request thread to wake and take the GIL; working a third
#: of the time also leaves a core to requests on a small machine (bench/results/durability_engine.md).
#: A checkpoint of 1M items takes ~2.5 s instead of ~1 s; None turns the pauses off.
YIELD_EVERY = 0.00005
YIELD_SECONDS = 0.0001

_NAME = re.compile(r"^checkpoint-(\d{20})\.ckpt$")


def checkpoint_name(start_lsn):
    return f"checkpoint-{start_lsn:020d}.ckpt"


def parse_checkpoint_name(name):
    m = _NAME.match(name)
    return int(m.group(1)) if m else None


class CheckpointInfo:
    """What ``validate`` found: ``start_lsn`` (L0), ``end_lsn`` (L1), ``chunks``, ``size``."""

    __slots__ = ("path", "start_lsn", "end_lsn", "chunks", "size")

    def __init__(self, path, start_lsn, end_lsn, chunks, size):
        self.path, self.start_lsn, self.end_lsn, self.chunks, self.size = path, start_lsn, end_lsn, chunks, size

    def as_dict(self):
        return {"file": self.path, "start_lsn": self.start_lsn, "end_lsn": self.end_lsn,
                "chunks": self.chunks, "bytes": self.size}


def write_checkpoint(fs, directory, start_lsn, chunks, before_publish, sync=True):
    """Write ``chunks`` (msgpack-able objects) as ``checkpoint-<start_lsn>.ckpt``.

    ``before_publish()`` runs after the last chunk and before the file gets its
    final name; it must make the log durable through the LSN it returns minus
    one (the footer's end_lsn).  Returns a CheckpointInfo.
    """
    path = os.path.join(directory, checkpoint_name(start_lsn))
    tmp = path + ".tmp"
    f = fs.create(tmp)
    try:
        head = HEADER.pack(MAGIC, VERSION, 0, start_lsn, 0)[:-4]
        f.write(head + zlib.crc32(head).to_bytes(4, "little"))
        size, count = HEADER.size, 0
        packer = msgpack.Packer(use_bin_type=True)
        pause, last = time.sleep, time.monotonic()
        for chunk in chunks:
            if YIELD_EVERY is not None and time.monotonic() - last >= YIELD_EVERY:
                pause(YIELD_SECONDS)
                last = time.monotonic()
            data = packer.pack(chunk)
            length = len(data).to_bytes(4, "little")
            crc = zlib.crc32(data, zlib.crc32(length))
            f.write(length + crc.to_bytes(4, "little") + data)
            size += CHUNK.size + len(data)
            count += 1
        end_lsn = before_publish()
        foot = FOOTER.pack(END_MARKER, count, end_lsn, 0)[:-4]
        f.write(foot + zlib.crc32(foot).to_bytes(4, "little"))
        size += FOOTER.size
        if sync:
            f.sync()
    except Exception:
        f.close()
        _remove_quietly(fs, tmp)
        raise
    f.close()
    try:
        fs.rename(tmp, path)
        if sync:
            fs.fsync_dir(directory)
    except Exception:
        _remove_quietly(fs, tmp)
        raise
    return CheckpointInfo(path, start_lsn, end_lsn, count, size)


def _remove_quietly(fs, path):
    try:
        fs.remove(path)
    except OSError:
        pass


class _Stream:
    """Reads a checkpoint sequentially, tracking the offset for error messages."""

    def __init__(self, fs, path):
        self.path = path
        self.file = fs.open_read(path)
        self.buf = b""
        self.i = 0            # read position in buf
        self.pos = 0          # offset in the file of buf[i]
        self.eof = False

    def _fill(self, n):
        if len(self.buf) - self.i >= n or self.eof:
            return
        parts = [self.buf[self.i:]]
        have = len(parts[0])
        while have < n and not self.eof:
            block = self.file.read(max(_BLOCK, n - have))
            if not block:
                self.eof = True
            parts.append(block)
            have += len(block)
        self.buf, self.i = b"".join(parts), 0

    def take(self, n):
        self._fill(n)
        data = self.buf[self.i:self.i + n]
        self.i += len(data)
        self.pos += len(data)
        return data

    def at_end(self):
        self._fill(1)
        return self.i >= len(self.buf)

    def close(self):
        self.file.close()


def _read_header(stream):
    data = stream.take(HEADER.size)
    if len(data) < HEADER.size:
        raise CorruptionError(stream.path, 0, f"checkpoint header truncated ({len(data)} of {HEADER.size} bytes)")
    magic, version, _flags, start_lsn, crc = HEADER.unpack(data)
    if magic != MAGIC:
        raise CorruptionError(stream.path, 0, "bad magic: not a kvstore checkpoint")
    if zlib.crc32(data[:-4]) != crc:
        raise CorruptionError(stream.path, 0, "checkpoint header checksum mismatch")
    if version != VERSION:
        raise UnsupportedFormatError(stream.path, version, VERSION)
    expected = parse_checkpoint_name(os.path.basename(stream.path))
    if expected is not None and expected != start_lsn:
        raise CorruptionError(stream.path, 0, f"checkpoint header says LSN {start_lsn}, its name says {expected}")
    return start_lsn


def _frames(stream):
    """Yield (offset, data) per chunk, then return (chunks, end_lsn) -- all checked."""
    count = 0
    while True:
        offset = stream.pos
        head = stream.take(CHUNK.size)
        if len(head) < CHUNK.size:
            raise CorruptionError(stream.path, offset, "checkpoint ends without its footer (truncated)")
        length, crc = CHUNK.unpack(head)
        if length == END_MARKER:
            rest = stream.take(FOOTER.size - CHUNK.size)
            foot = head + rest
            if len(foot) < FOOTER.size:
                raise CorruptionError(stream.path, offset, "checkpoint footer truncated")
            _marker, chunks, end_lsn, fcrc = FOOTER.unpack(foot)
            if zlib.crc32(foot[:-4]) != fcrc:
                raise CorruptionError(stream.path, offset, "checkpoint footer checksum mismatch")
            if chunks != count:
                raise CorruptionError(stream.path, offset, f"checkpoint footer counts {chunks} chunks, file has {count}")
            if not stream.at_end():
                raise CorruptionError(stream.path, stream.pos, "unexpected bytes after the checkpoint footer")
            return count, end_lsn
        data = stream.take(length)
        if len(data) < length:
            raise CorruptionError(stream.path, offset, f"checkpoint chunk truncated ({len(data)} of {length} bytes)")
        if zlib.crc32(data, zlib.crc32(head[:4])) != crc:
            raise CorruptionError(stream.path, offset, "checkpoint chunk checksum mismatch")
        count += 1
        yield offset, data


def validate(fs, path):
    """Check every byte of a checkpoint; CheckpointInfo, or CorruptionError with the offset."""
    stream = _Stream(fs, path)
    try:
        start_lsn = _read_header(stream)
        frames = _frames(stream)
        while True:
            try:
                next(frames)
            except StopIteration as done:
                chunks, end_lsn = done.value
                break
        return CheckpointInfo(path, start_lsn, end_lsn, chunks, stream.pos)
    finally:
        stream.close()


def read_chunks(fs, path):
    """Yield the decoded chunks of a (validated) checkpoint in order."""
    stream = _Stream(fs, path)
    try:
        _read_header(stream)
        for offset, data in _frames(stream):
            try:
                yield msgpack.unpackb(data, raw=False, strict_map_key=False)
            except ValueError as exc:
                raise CorruptionError(path, offset, f"checkpoint chunk is not valid msgpack: {exc}") from None
    finally:
        stream.close()
