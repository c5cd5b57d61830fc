"""The log's staging area: acknowledged records that a process crash must not lose.

Under ``batch`` and ``none`` a write is acknowledged before its record is in a
log file: the record waits in the log's buffer until the flusher writes it
(every few milliseconds).  A process killed in between (kill -9, the OOM
killer) would lose it although the machine lived on.  So ``append`` also
copies each framed record into ``wal-staging``, a file mapped into memory: a
store into a shared mapping is in the kernel's page cache at once, without a
system call, and outlives the process.  Opening the directory appends the
staged records that continue the log to the log (``read`` below; the grammar
is in docs/format.md, "The staging area").

Layout: two regions of ``region_bytes``; records go into the current region
one after another, framed exactly as in a segment.  When the log takes its
buffer to write it (``switch``), appends move to the other region if every
record staged there is already written, else they continue where they are; so
a region is overwritten only once what it held is in the log.  A record that
does not fit is not staged (``put`` answers False), and the log then
acknowledges nothing until its own write has caught up.

Reading: a region's chain is its records from its start, each whole (crc)
and with the LSN after the one before; torn bytes or an older record left
from an earlier round end it.  From the log's next LSN the chain holding it
is taken, then the other one if it continues it.  Records the log already
has are never taken, so stale contents cannot come back.

Memory: the pages of the mapping a process has stored into stay in its RSS
(a shared file mapping's pages are counted as the process's, RssFile).  Under
load the flusher lags, a region fills further than usual, and those pages
would stay resident for good (a +1.4 MB step seen in the soak,
bench/results/rss.md).  So when appends leave a region that went past its
first ``KEEP_BYTES``, the pages past them are dropped from the process
(``madvise(MADV_DONTNEED)``): their bytes stay in the file and the page cache,
and are faulted in again if a later burst reaches them.

Cost: one memory copy per record, under the log's lock; an open reads the
file once (2 x ``region_bytes``).  A power cut may lose what the kernel had
not written back yet, which is what ``batch`` allows (the last few ms).
"""

import mmap
import os

from . import wal

NAME = "wal-staging"
REGION_BYTES = 2 << 20
#: the first bytes of each region stay resident; pages past them are released when appends leave the region
KEEP_BYTES = 64 << 10
_MADV_DONTNEED = getattr(mmap, "MADV_DONTNEED", None)
_EMPTY = bytes(wal.RECORD_HEADER_SIZE)


class Staging:
    """The mapped staging file of a running log (calls come under the log's lock)."""

    __slots__ = ("fs", "path", "region_bytes", "_buffer", "_region", "_offset", "_full", "_last")

    def __init__(self, fs, directory, region_bytes=REGION_BYTES):
        self.fs = fs
        self.path = os.path.join(directory, NAME)
        self.region_bytes = region_bytes
        self._buffer = fs.map(self.path, 2 * region_bytes)
        self._clear()                     # what an open promoted is in the log now
        self._region = 0
        self._offset = 0
        self._full = False                # a record did not fit: the rest of this region is unused
        self._last = [0, 0]               # highest LSN staged in each region

    def put(self, record, lsn):
        """Stage one framed record; False if it does not fit in the current region."""
        start = self._offset
        end = start + len(record)
        if self._full or end > self.region_bytes:
            self._full = True
            return False
        base = self._region * self.region_bytes
        self._buffer[base + start:base + end] = record
        self._offset = end
        self._last[self._region] = lsn
        return True

    def switch(self, written_lsn):
        """The log took its buffer: stage into the other region if all it holds is written by now."""
        other = 1 - self._region
        if self._last[other] <= written_lsn:
            if self._offset > KEEP_BYTES:
                self._release(self._region * self.region_bytes + KEEP_BYTES, self._offset - KEEP_BYTES)
            self._region, self._offset, self._full = other, 0, False
            self._last[other] = 0

    def _release(self, start, length):
        """Drop the pages of ``[start, start + length)`` from the process (a real mapping only; the bytes
        stay in the file).  ``start`` is page-aligned (KEEP_BYTES and region_bytes are multiples of it)."""
        madvise = getattr(self._buffer, "madvise", None)
        if madvise is None or _MADV_DONTNEED is None or start % mmap.PAGESIZE:
            return
        end = min(start + length + mmap.PAGESIZE - 1, len(self._buffer))
        length = (end - start) // mmap.PAGESIZE * mmap.PAGESIZE
        if length > 0:
            try:
                madvise(_MADV_DONTNEED, start, length)
            except (OSError, ValueError):       # not worth failing a write for: the pages stay resident
                pass

    def close(self, written):
        """Unmap; ``written``: every record is in the log, so the regions are cleared for a quick open."""
        if written:
            self._clear()
        self.fs.unmap(self._buffer)
        self._buffer = None

    def _clear(self):
        for base in (0, self.region_bytes):
            self._buffer[base:base + len(_EMPTY)] = _EMPTY


def read(fs, directory, next_lsn):
    """``(lsn, payload)`` of the staged records that continue a log whose next LSN is ``next_lsn``."""
    path = os.path.join(directory, NAME)
    if not fs.exists(path):
        return []
    data = fs.read_bytes(path)
    half = len(data) // 2
    chains = [_chain(data, 0, half), _chain(data, half, len(data))]
    found, expect = [], next_lsn
    progress = True
    while progress:
        progress = False
        for chain in chains:
            if chain and chain[0][0] <= expect <= chain[-1][0]:
                found.extend(chain[expect - chain[0][0]:])
                expect = chain[-1][0] + 1
                progress = True
    return found


def _chain(data, start, end):
    """The records from ``start``, each whole and with the LSN after the one before."""
    view = memoryview(data)
    chain, offset, expect = [], start, None
    while True:
        checked = wal.check_record(data, view, offset, end, expect)
        if isinstance(checked, str):
            return chain
        length, lsn = checked
        body = offset + wal.RECORD_HEADER_SIZE
        chain.append((lsn, bytes(view[body:body + length])))
        offset, expect = body + length, lsn + 1
