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

Two measures, both glibc-only (elsewhere they do nothing):

* :func:`limit_arenas`: at most ``ARENAS`` malloc arenas (``mallopt(M_ARENA_MAX)``,
  as ``MALLOC_ARENA_MAX`` does; an explicit ``MALLOC_ARENA_MAX`` in the
  environment wins).  The event loop serves most requests on one thread; the
  pool's threads share the second arena instead of one each.  Contention on the
  arena lock is low: most allocations are pymalloc's, which malloc never sees.
* :class:`Releaser`: every ``RELEASE_SECONDS`` on the event loop,
  ``malloc_trim(0)``, which returns the whole free pages of every arena to the
  kernel (madvise), not only the heap's top.  Cost: a walk of malloc's free
  lists, measured 0.02-0.25 ms for a 50 MB heap; once per 10 s it is nothing
  beside the requests, and the pages it returns are faulted back only if used.
"""

import ctypes
import ctypes.util
import os

__all__ = ["ARENAS", "RELEASE_SECONDS", "limit_arenas", "release", "Releaser"]

#: malloc arenas at most in the server process (glibc's default: 8 per core)
ARENAS = 2
#: how often the server returns malloc's free pages to the kernel
RELEASE_SECONDS = 10.0
_M_ARENA_MAX = -8          # glibc malloc.h


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
