"""What ``kvstore serve`` tells the C allocator, so its RSS stays flat under steady traffic.

Measured in the soak (bench/results/rss.md, bench/traced_serve.py): after the
warm-up, the memory Python holds is flat (tracemalloc: no allocation site keeps
growing; gc-tracked objects by type constant), and so is what glibc's malloc has
handed out (``mallinfo2`` "in use", ~6.5 MB).  What grew was malloc's *free*
memory: its heaps kept freed chunks (from request and answer buffers above
pymalloc's 512 bytes, among them each socket read's 256 KB buffer that asyncio
allocates and shrinks) spread over pages it never gave back, 9.6 -> 21.5 MB in
1.1M requests, and each thread of the request pool that ran a request got an
arena of its own (up to 8 per core) with its own such free memory.  The server's
RSS followed: about 2-4 MB per million requests, with a bounded key set.

Three measures, all glibc-only (elsewhere they do nothing):

* :func:`limit_arenas`: at most ``ARENAS`` malloc arenas (``mallopt(M_ARENA_MAX)``,
  as ``MALLOC_ARENA_MAX`` does; an explicit ``MALLOC_ARENA_MAX`` in the
  environment wins).  The event loop serves most requests on one thread; the
  pool's threads share the second arena instead of one each.  Contention on the
  arena lock is low: most allocations are pymalloc's, which malloc never sees.
* :func:`pin_mmap_threshold`: allocations of 128 KB or more are always mapped
  apart and unmapped when freed.  By default glibc raises that threshold each
  time it frees such a chunk; the soak's malformed requests (bodies of up to
  ~400 KB) raised it, and from then on their bodies and the copies made while
  parsing them came from the heap: between two releases a burst of them left
  tens of MB of free but resident heap (session 6, bench/results/rss.md).
* :class:`Releaser`: every ``RELEASE_SECONDS`` on the event loop,
  ``malloc_trim(0)``, which returns the whole free pages of every arena to the
  kernel (madvise), not only the heap's top.  Cost: a walk of malloc's free
  lists, measured 0.02-0.25 ms for a 50 MB heap; once per 10 s it is nothing
  beside the requests, and the pages it returns are faulted back only if used.
"""

import ctypes
import ctypes.util
import os

__all__ = ["ARENAS", "MMAP_THRESHOLD", "RELEASE_SECONDS", "limit_arenas", "pin_mmap_threshold", "release",
           "Releaser"]

#: malloc arenas at most in the server process (glibc's default: 8 per core)
ARENAS = 2
#: allocations of this size and more are mapped on their own and unmapped when freed (glibc's default,
#: pinned: glibc raises it up to 32 MB each time such a chunk is freed)
MMAP_THRESHOLD = 128 * 1024
#: how often the server returns malloc's free pages to the kernel
RELEASE_SECONDS = 10.0
_M_ARENA_MAX = -8          # glibc malloc.h
_M_MMAP_THRESHOLD = -3


def _libc():
    """glibc, or None (another C library, or no ctypes)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
        libc.malloc_trim.argtypes = (ctypes.c_size_t,)
        return libc
    except (OSError, AttributeError):
        return None


_LIBC = None


def _glibc():
    global _LIBC
    if _LIBC is None:
        _LIBC = _libc() or False
    return _LIBC or None


def limit_arenas(arenas=ARENAS):
    """Cap malloc's arenas (before the server's threads start); True when glibc took it."""
    if "MALLOC_ARENA_MAX" in os.environ:          # the operator's own choice
        return False
    libc = _glibc()
    return bool(libc is not None and libc.mallopt(_M_ARENA_MAX, arenas) == 1)


def pin_mmap_threshold(threshold=MMAP_THRESHOLD):
    """Keep allocations of ``threshold`` bytes and more out of malloc's heaps, for good; True when glibc took it.

    glibc maps a chunk of ``M_MMAP_THRESHOLD`` (128 KB) or more on its own, but when
    such a chunk is freed it raises the threshold to that chunk's size (up to 32 MB):
    after the first request body of a few hundred KB, every later one (and the copies
    made of it while it is parsed) comes from the heap, whose freed memory stays
    resident until the next :func:`release`, and a peak of large requests between two
    releases is a new RSS high-water mark.  Setting the threshold explicitly turns the
    adjustment off (as ``MALLOC_MMAP_THRESHOLD_`` does; an operator's wins).  The cost is
    an mmap and munmap per allocation of 128 KB or more: the server allocates such
    buffers only for request or answer bodies that large (the socket reads go into one
    buffer per server, kvstore.server.app).
    """
    if "MALLOC_MMAP_THRESHOLD_" in os.environ:     # the operator's own choice
        return False
    libc = _glibc()
    return bool(libc is not None and libc.mallopt(_M_MMAP_THRESHOLD, threshold) == 1)


def release():
    """Return malloc's free pages to the kernel now; True when some were (glibc only)."""
    libc = _glibc()
    return bool(libc is not None and libc.malloc_trim(0))


class Releaser:
    """:func:`release` every ``every`` seconds on an asyncio loop, until :meth:`stop`."""

    def __init__(self, loop, every=RELEASE_SECONDS):
        self.loop, self.every = loop, every
        self.releases = 0
        self._handle = loop.call_later(every, self._tick) if _glibc() is not None else None

    def _tick(self):
        release()
        self.releases += 1
        self._handle = self.loop.call_later(self.every, self._tick)

    def stop(self):
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
