# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False
"""Capacity enforcement's hot path, compiled: the twin of ``kvstore.capacity``'s pure meter core.

``kvstore.capacity`` holds the model (read its docstring) and everything that
runs rarely: creating and resizing a table's buckets, throttling, batches and
transactions, large items.  This module holds what every enforced request runs
(``MeterCore``: ``admit_write`` / ``charge_write``, ``read`` /
``read_item``) and the state they touch as C fields (``Bucket``,
``KeyWindow``, ``TableState``), so that a request that is admitted costs a
clock reading (CLOCK_REALTIME read in C for the SystemClock), two holds of one
lock (a flag the GIL guards), an append to the key window's log (or, once a value
may have reached its limit this second, a lookup of the key's cell in a C hash
table: ``KeyWindow``) and double sums: no Python frame and no Python object
made but the write's ticket.  The operations call it through the module
functions ``admit_write`` / ``charge_write`` / ``read_item`` (builtins: cheaper
for the interpreter to call than the meter's methods).  ``kvstore.capacity.PyCapacityMeter`` is the reference:
``tests/test_capacity_core.py`` checks with hypothesis that both take the
same decisions and leave the same bucket states over random requests and
clock moves.

The lock (``Mutex``) is the one the cold Python code takes with ``with
meter._lock:`` too; a thread that finds it held waits with the GIL released,
as with ``threading.Lock``.  Nothing that can run Python code happens while it is held.

``_ccapacity.pxd`` declares these classes for the compiled modules: ``_cread``'s
one-call Query / Scan page meters itself through ``MeterCore._read``, with no
Python call (a Python frame cost a page ~1k instructions); ``_cupdate``'s prepared
UpdateItem admits and charges through ``_admitted_write`` and ``_charge_write_of``.
The usual write's charge (an admitted ticket, images of at most 256 packed bytes,
whole-dict items for the index entries) is ``_charge_one``, a few lines kept apart
from ``_charge_write``'s general case so that the hot path touches few lines of
code.  The hot path takes no reference to the state it reads under the lock (the
meter's ``_tables`` holds it) and reuses the meter's spare ``WriteTicket``
(bench/results/capacity.md, session 16).
"""

cimport cython
from cpython.object cimport PyObject
from cpython.dict cimport PyDict_GetItemWithError
from cpython.exc cimport PyErr_Clear
from cpython.tuple cimport PyTuple_GET_SIZE, PyTuple_GET_ITEM
from libc.limits cimport LLONG_MIN
from libc.stdint cimport uint64_t
from libc.stdlib cimport calloc, free, malloc, realloc
from libc.string cimport memcmp, memcpy, memset
from cpython.ref cimport _Py_REFCNT, Py_DECREF, Py_INCREF
from posix.time cimport CLOCK_REALTIME, clock_gettime, timespec

from kvstore._capi cimport (
    kvstore_dict_get, PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE, PyDict_SetItem, PyList_GET_ITEM,
    PyList_GET_SIZE,
)

from time import time as _time

from kvstore import limits as _limits
from kvstore.clock import SystemClock as _SystemClock

cdef object SystemClock = _SystemClock


cdef inline double _wall_time() except? -1:
    """``time.time()`` without a call into Python or a float object: CPython's own arithmetic
    (nanoseconds of CLOCK_REALTIME, exact seconds when whole, else divided by 1e9)."""
    cdef timespec ts
    cdef long long t
    if clock_gettime(CLOCK_REALTIME, &ts) != 0:
        return _time()
    if ts.tv_nsec == 0:                 # t % 10**9 == 0, and t // 10**9 is the second
        return <double>ts.tv_sec
    t = <long long>ts.tv_sec * 1000000000 + ts.tv_nsec
    return <double>t / 1e9
cdef Py_ssize_t SMALL_WRITE = 1024 // 4     # packed bytes of an image surely within one write unit
cdef Py_ssize_t SMALL_READ = 1024           # packed bytes of an item surely within one read unit (4 KB)

#: ``KeyWindow.second`` before any request: no second of the clock
NO_SECOND = LLONG_MIN


cdef extern from *:
    """
    #ifdef Py_GIL_DISABLED
    #error "kvstore._ccapacity.Mutex relies on the GIL: give it an atomic flag before building free-threaded"
    #endif
    """

cdef extern from *:
    """
    #define KV_LIKELY(x) __builtin_expect(!!(x), 1)
    #define KV_UNLIKELY(x) __builtin_expect(!!(x), 0)
    #define KV_PREFETCH(p) __builtin_prefetch((const void*)(p), 1, 3)
    """
    # the admitted case is the one laid out straight (the long way's code out of the hot path's lines)
    bint KV_LIKELY(bint)
    bint KV_UNLIKELY(bint)
    # a hint that the line at p is about to be written: its load starts now, nothing waits for it
    void KV_PREFETCH(const void* p) noexcept

cdef extern from "<stdlib.h>" nogil:
    int posix_memalign(void** out, size_t alignment, size_t size)

cdef extern from "Python.h":
    PyObject* PyBytes_FromStringAndSize_raw "PyBytes_FromStringAndSize" (const char* v, Py_ssize_t n)

cdef extern from "<sched.h>" nogil:
    int sched_yield()


cdef class Mutex:
    """A lock (``threading.Lock``'s semantics for its users here) that costs the compiled path no atomic operation.

    ``held`` is read and written only by a thread holding the GIL, and the GIL
    is not given up between reading it and setting it, so the GIL makes
    taking it atomic: an admitted request's hold is a test and two stores.
    A thread that finds it held gives up the GIL and yields until the holder
    (the cold Python code, whose ``with meter._lock:`` blocks may run Python
    code and so give up the GIL) releases it.  The hot path holds it only
    across C code that makes no Python object and runs no Python code, so
    it never gives the GIL up while holding it.  (A pthread mutex costs ~80
    instructions a hold, ``PyThread_acquire_lock`` ~130: it reads the
    monotonic clock for a deadline even when it does not wait.)
    """

    cdef void take(self) noexcept:
        if self.held:
            self._wait()
        self.held = 1

    cdef void _wait(self) noexcept:
        while self.held:
            with nogil:
                sched_yield()

    cdef void give(self) noexcept:
        self.held = 0

    def acquire(self):
        self.take()
        return True

    def release(self):
        if not self.held:
            raise RuntimeError("release unlocked lock")
        self.give()

    def locked(self):
        return bool(self.held)

    def __enter__(self):
        self.take()
        return self

    def __exit__(self, *exc):
        self.give()
        return False


cdef class Bucket:
    """A token bucket: ``rate`` units per second, at most ``size`` banked (``kvstore.capacity.Bucket``)."""

    def __init__(self, rate, size, start, now, limit):
        self.rate = rate
        self.size = size
        self.balance = rate
        self.at = start
        self.limit = limit
        self._refill(now)

    cdef void _refill(self, double now) noexcept:
        cdef double balance
        if now > self.at:
            balance = self.balance + (now - self.at) * self.rate
            self.balance = balance if balance < self.size else self.size
            self.at = now

    def refill(self, double now):
        self._refill(now)

    def resize(self, rate, size):
        self.rate = rate
        self.size = size
        if self.balance > self.size:
            self.balance = self.size


# A ``Cell`` (declared in _ccapacity.pxd) holds the units one partition-key value consumed in the second
# ``generation`` of its window.  The prefix is ``key[:n]``: ``key`` is a row key of the partition (a strong
# reference, not a copy), so a new cell builds no bytes; ``key`` NULL is an empty slot.


cdef inline Py_ssize_t _prefix_len(bytes row_key):
    """Length of a row key's partition-key prefix (``engine.table.collection_prefix`` without building it)."""
    cdef const unsigned char* p = <const unsigned char*>PyBytes_AS_STRING(row_key)
    cdef Py_ssize_t n = PyBytes_GET_SIZE(row_key), end
    if n < 6:
        return n
    end = 6 + ((p[4] << 8) | p[5])
    return n if end >= n else end


cdef inline uint64_t _prefix_hash(const unsigned char* p, Py_ssize_t n) noexcept:
    """The hash of a partition-key prefix (the window's counters and cells): eight bytes at a time,
    the tail byte by byte, then splitmix64's finaliser, so that the low bits pick slots well.  (FNV-1a
    byte by byte cost ~70 instructions of a 10-byte prefix, this ~30: bench/results/capacity.md,
    session 16.)"""
    cdef uint64_t h = <uint64_t>n * 0x9E3779B97F4A7C15ULL, w
    while n >= 8:
        memcpy(&w, p, 8)
        h = (h ^ w) * 0xBF58476D1CE4E5B9ULL
        h ^= h >> 32
        p += 8
        n -= 8
    w = 0
    while n > 0:
        n -= 1
        w = (w << 8) | p[n]
    h ^= w
    h = (h ^ (h >> 30)) * 0xBF58476D1CE4E5B9ULL
    h = (h ^ (h >> 27)) * 0x94D049BB133111EBULL
    return h ^ (h >> 31)


#: slots of a new window (a power of two); a window shrinks back to this at a new second when the one
#: before used less than a sixteenth of a table of more than ``KEEP_SLOTS`` slots
cdef Py_ssize_t FIRST_SLOTS = 16
cdef Py_ssize_t KEEP_SLOTS = 8192
#: a prefix of at most this many bytes is kept in its cell (``Cell.held``), not as a reference to its
#: row key: a probe then reads no other memory, and a slot taken over frees nothing (a busy second's
#: window outgrows the caches, and those reads were most of the meter's time: bench/results/capacity.md)
cdef Py_ssize_t HELD = 24
#: a lazy second's counters (``KeyWindow.bounds``): at most this many, a power of two (8 KB of doubles)
DEF BOUNDS = 1024
#: a log record: the prefix's hash (8 bytes), the units (a double), the prefix's length (8), then the
#: prefix, padded to 8 bytes
DEF LOG_HEAD = 24
#: bytes of log a window starts with, keeps from one second to the next (when the last used a sixteenth
#: of it or more), and may hold: a second that would log more is replayed into cells (``_exact``)
cdef Py_ssize_t LOG_FIRST = 4096
cdef Py_ssize_t LOG_KEEP = 1 << 16
cdef Py_ssize_t LOG_MAX = 1 << 24


cdef inline void _log_put(unsigned char* at, const unsigned char* p, Py_ssize_t n, uint64_t h,
                          double units) noexcept:
    (<uint64_t*>at)[0] = h
    (<double*>(at + 8))[0] = units
    (<long long*>(at + 16))[0] = n
    memcpy(at + LOG_HEAD, p, n)


cdef inline PyObject* _bytes_copy(const unsigned char* p, Py_ssize_t n) noexcept:
    """A new bytes object of ``p[:n]`` (a new reference), or NULL with no exception set."""
    cdef PyObject* b = PyBytes_FromStringAndSize_raw(<const char*>p, n)
    if b == NULL:
        PyErr_Clear()
    return b


cdef Cell* _cells(Py_ssize_t n) noexcept:
    """``n`` zeroed cells (generation 0: empty slots), each on a cache line of its own (NULL when
    memory runs out): ``calloc``'s 16-byte alignment put most 64-byte cells across two lines, and a
    probe of a window larger than the caches then waited for both."""
    cdef void* cells = NULL
    if posix_memalign(&cells, 64, n * sizeof(Cell)) != 0:
        return NULL
    memset(cells, 0, n * sizeof(Cell))
    return <Cell*>cells


cdef void _release(Cell* cells, Py_ssize_t mask) noexcept:
    """Drop the row keys a table of cells holds."""
    cdef Py_ssize_t i
    cdef PyObject* key
    for i in range(mask + 1):
        key = cells[i].key
        if key != NULL:
            cells[i].key = NULL
            Py_DECREF(<object>key)


cdef class KeyWindow:
    """One partition's limit per partition-key value, in one-second windows (``kvstore.capacity._KeyWindow``).

    The reference keeps ``{prefix: units}`` and empties it every second.  Here
    a second starts *lazy*: a charge appends ``(hash, units, prefix)`` to a log
    (a byte buffer written in order) and adds its units to one of
    ``bound_slots`` counters picked by the prefix's hash (``_prefix_hash``, read in
    place in the row key).  A counter is the sum of what every value hashing
    to it used this second, so it bounds each of them: while a value's
    counter is below ``limit`` the value is too, and it is admitted without
    looking further (the reference's decision).  The first time a value's
    counter is not below the limit, the window replays its log into cells
    (``_exact``) and is *exact* for the rest of the second: each value's
    units are in its :class:`Cell`, found in an open-addressing table of C
    structs (linear probing on the hash; a new second empties it in O(1) by
    bumping ``generation``: a cell of an earlier generation is an empty slot,
    sound for linear probing because nothing is removed within a generation).
    A log that would outgrow ``LOG_MAX`` bytes is replayed too.

    Why: a second's cells outgrow the caches, and the write to a new value's
    cell was a trip to memory on every write of a new key: 3-5 % of a PutItem
    or UpdateItem in time, for ~60 instructions (bench/results/capacity.md,
    session 15).  The log is written in order, line after line, and the
    counters (8 KB) stay in the caches.

    A prefix of at most 24 bytes (``HELD``) is copied into its cell; a
    longer one's cell keeps a bytes object holding it (its row key, or a copy
    made from the log) until a new value takes its slot.  Nothing here can run
    Python code (a bytes object is not tracked by the collector), so the
    meter's lock is never held across a garbage collection.  ``used`` gives
    the reference's dict, ``peak`` the most units any value holds this second.

    In an exact second, ``top`` is that most.  While it is below ``limit``
    no value can be refused, so a write's admission decides without reading
    its cell and only asks for the cell's line, which the write's charge
    reads microseconds later.
    """

    def __cinit__(self):
        self.cells = _cells(FIRST_SLOTS)
        self.bounds = <double*>calloc(BOUNDS, sizeof(double))
        self.log = <unsigned char*>malloc(LOG_FIRST)
        if self.cells == NULL or self.bounds == NULL or self.log == NULL:
            raise MemoryError()
        self.mask = FIRST_SLOTS - 1
        self.count = 0                     # cells of the current generation
        self.generation = 1                # (_cells' zeros are generation 0: empty)
        self.bound_mask = BOUNDS - 1
        self.log_cap = LOG_FIRST
        self.log_len = 0
        self.lazy = False                  # (no second yet: the first request starts one)

    def __init__(self, limit):
        self.limit = limit
        self.second = LLONG_MIN

    def __dealloc__(self):
        if self.cells != NULL:
            _release(self.cells, self.mask)
            free(self.cells)
        free(self.bounds)
        free(self.log)

    @property
    def bound_slots(self):
        """How many counters bound the values' units in a lazy second (a power of two, at most 1,024).
        Tests set fewer, before the window's first request, so that values share counters."""
        return self.bound_mask + 1

    @bound_slots.setter
    def bound_slots(self, Py_ssize_t n):
        if n < 1 or n > BOUNDS or n & (n - 1):
            raise ValueError(f"bound_slots must be a power of two from 1 to {BOUNDS}")
        if self.second != LLONG_MIN:
            raise ValueError("bound_slots is set before the window's first request")
        self.bound_mask = n - 1

    @property
    def exact(self):
        """Whether the current second's units are in cells (else in the log and the counters)."""
        return not self.lazy

    @property
    def peak(self):
        """The most units any value used in the current second (0.0 when none did)."""
        if self.lazy:
            return max(self.used.values(), default=0.0)
        return self.top

    cdef void _start(self, long long second) noexcept:
        """A new second: every value starts again from nothing, lazily."""
        cdef Cell* fresh
        cdef unsigned char* log
        if self.mask + 1 > KEEP_SLOTS and 16 * self.count < self.mask + 1:
            fresh = _cells(FIRST_SLOTS)
            if fresh != NULL:
                _release(self.cells, self.mask)
                free(self.cells)
                self.cells = fresh
                self.mask = FIRST_SLOTS - 1
        if self.log_cap > LOG_KEEP and 16 * self.log_len < self.log_cap:
            log = <unsigned char*>malloc(LOG_FIRST)
            if log != NULL:
                free(self.log)
                self.log = log
                self.log_cap = LOG_FIRST
        self.second = second
        self.generation += 1
        self.count = 0
        self.top = 0.0
        self.log_len = 0
        memset(self.bounds, 0, (self.bound_mask + 1) * sizeof(double))
        self.lazy = True

    cdef bint _below(self, bytes key, Py_ssize_t n, uint64_t h) noexcept:
        """Whether the value ``key[:n]`` (hash ``h``) used less than the limit in the current second
        (False also when memory runs out for the cells: the long way then raises MemoryError)."""
        cdef Cell* cell
        if self.lazy:
            if self.bounds[h & <uint64_t>self.bound_mask] < self.limit:
                return True
            if not self._exact():
                return False
        if self.top < self.limit:
            return True
        cell = self._cell_h(key, n, h, False)
        return cell == NULL or cell.units < self.limit

    cdef bint _charge(self, bytes key, Py_ssize_t n, uint64_t h, double units) noexcept:
        """``units`` more to the value ``key[:n]`` (hash ``h``) in the current second (False when memory
        ran out, and nothing was counted)."""
        cdef Cell* cell
        cdef Py_ssize_t size
        if self.lazy:
            size = LOG_HEAD + ((n + 7) & ~7)
            if self.log_len + size <= self.log_cap or self._log_room(size):
                _log_put(self.log + self.log_len, <const unsigned char*>PyBytes_AS_STRING(key), n, h, units)
                self.log_len += size
                self.bounds[h & <uint64_t>self.bound_mask] += units
                return True
            if not self._exact():
                return False
        cell = self._cell_h(key, n, h, True)
        if cell == NULL:
            return False
        self._add(cell, units)
        return True

    cdef bint _log_room(self, Py_ssize_t size) noexcept:
        """Room for ``size`` more bytes of log (False past ``LOG_MAX``, or when memory runs out)."""
        cdef Py_ssize_t cap = self.log_cap
        cdef unsigned char* log
        while cap < self.log_len + size:
            cap *= 2
        if cap > LOG_MAX:
            return False
        log = <unsigned char*>realloc(self.log, cap)
        if log == NULL:
            return False
        self.log = log
        self.log_cap = cap
        return True

    cdef bint _exact(self) noexcept:
        """Replay the current second's log into cells: the window is exact for the rest of the second
        (False, still lazy and with nothing lost, when memory runs out)."""
        cdef Py_ssize_t at = 0, n
        cdef uint64_t h
        cdef Cell* cell
        while at < self.log_len:
            h = (<uint64_t*>(self.log + at))[0]
            n = <Py_ssize_t>(<long long*>(self.log + at + 16))[0]
            cell = self._cell_p(self.log + at + LOG_HEAD, n, h, NULL, True)
            if cell == NULL:          # the cells start again; the log still holds everything
                self.generation += 1
                self.count = 0
                self.top = 0.0
                return False
            self._add(cell, (<double*>(self.log + at + 8))[0])
            at += LOG_HEAD + ((n + 7) & ~7)
        self.log_len = 0
        self.lazy = False
        return True

    cdef Cell* _cell_h(self, bytes key, Py_ssize_t n, uint64_t h, bint create) noexcept:
        """The cell of the prefix ``key[:n]`` (hash ``h``) in the current second, an exact one (made when
        absent and ``create``; NULL when absent and not ``create``, or when memory runs out)."""
        return self._cell_p(<const unsigned char*>PyBytes_AS_STRING(key), n, h, <PyObject*>key, create)

    cdef Cell* _cell_p(self, const unsigned char* p, Py_ssize_t n, uint64_t h, PyObject* owner,
                       bint create) noexcept:
        """:meth:`_cell_h` of the prefix at ``p``, held by the bytes object ``owner`` (NULL: none; a cell
        made for a prefix longer than ``HELD`` then holds a copy)."""
        cdef Py_ssize_t i = <Py_ssize_t>(h & <uint64_t>self.mask)
        cdef unsigned long long generation = self.generation
        cdef Cell* cell
        cdef PyObject* old
        while True:
            cell = &self.cells[i]
            if cell.generation != generation:
                break
            if cell.hash == h and cell.n == n:
                if n <= HELD:
                    if memcmp(cell.held, p, n) == 0:
                        return cell
                elif cell.key == owner or memcmp(PyBytes_AS_STRING(<object>cell.key), p, n) == 0:
                    return cell
            i = (i + 1) & self.mask
        if not create:
            return NULL
        if 2 * (self.count + 1) > self.mask + 1:
            if not self._grow():
                return NULL
            return self._cell_p(p, n, h, owner, True)
        old = cell.key
        if n <= HELD:
            memcpy(cell.held, p, n)
            if old != NULL:
                cell.key = NULL
                Py_DECREF(<object>old)      # a bytes object: nothing runs
        elif owner == NULL or old != owner:
            if owner == NULL:
                owner = _bytes_copy(p, n)    # a new reference, or NULL
                if owner == NULL:
                    return NULL
            else:
                Py_INCREF(<object>owner)
            cell.key = owner
            if old != NULL:
                Py_DECREF(<object>old)
        cell.n = n
        cell.hash = h
        cell.units = 0.0
        cell.generation = generation
        self.count += 1
        return cell

    cdef bint _grow(self) noexcept:
        """Four times the slots, with the current generation's cells (the others are released)."""
        cdef Py_ssize_t size = 4 * (self.mask + 1), i, j, mask = size - 1
        cdef Cell* cells = _cells(size)
        if cells == NULL:
            return False
        for i in range(self.mask + 1):
            if self.cells[i].generation == self.generation:
                j = <Py_ssize_t>(self.cells[i].hash & <uint64_t>mask)
                while cells[j].generation == self.generation:
                    j = (j + 1) & mask
                cells[j] = self.cells[i]
                self.cells[i].key = NULL
        _release(self.cells, self.mask)
        free(self.cells)
        self.cells = cells
        self.mask = mask
        return True

    cdef bint _room(self, bytes prefix, double now) except -1:
        cdef Py_ssize_t n = PyBytes_GET_SIZE(prefix)
        cdef uint64_t h
        if <long long>now != self.second:
            self._start(<long long>now)
            return True
        h = _prefix_hash(<const unsigned char*>PyBytes_AS_STRING(prefix), n)
        if self.lazy and self.bounds[h & <uint64_t>self.bound_mask] >= self.limit and not self._exact():
            raise MemoryError()
        return self._below(prefix, n, h)

    cdef int _take(self, bytes prefix, double units, double now) except -1:
        cdef Py_ssize_t n = PyBytes_GET_SIZE(prefix)
        if <long long>now == self.second:
            if not self._charge(prefix, n, _prefix_hash(<const unsigned char*>PyBytes_AS_STRING(prefix), n), units):
                raise MemoryError()
        return 0

    cdef void _add(self, Cell* cell, double units) noexcept:
        """``units`` more to a cell of the current second (every charge of an exact second goes through
        here, so that ``top`` bounds every cell)."""
        cell.units += units
        if cell.units > self.top:
            self.top = cell.units

    def room(self, bytes prefix, double now):
        return self._room(prefix, now)

    def take(self, bytes prefix, double units, double now):
        self._take(prefix, units, now)

    @property
    def used(self):
        """``{prefix: units}`` of the current second, as the reference keeps it (a cell made by an
        admission not charged yet holds nothing and is left out)."""
        cdef Py_ssize_t i, at = 0, n
        cdef Cell* cell
        out = {}
        if self.lazy:
            while at < self.log_len:
                n = <Py_ssize_t>(<long long*>(self.log + at + 16))[0]
                prefix = PyBytes_FromStringAndSize(<const char*>(self.log + at + LOG_HEAD), n)
                out[prefix] = out.get(prefix, 0.0) + (<double*>(self.log + at + 8))[0]
                at += LOG_HEAD + ((n + 7) & ~7)
            return {prefix: units for prefix, units in out.items() if units}
        for i in range(self.mask + 1):
            cell = &self.cells[i]
            if cell.generation == self.generation and cell.units:
                if cell.n <= HELD:
                    out[PyBytes_FromStringAndSize(<const char*>cell.held, cell.n)] = cell.units
                else:
                    out[(<bytes>cell.key)[:cell.n]] = cell.units
        return out


cdef inline bint _window_below(KeyWindow keys, bytes key, Py_ssize_t n, uint64_t h) noexcept:
    """``keys._below(key, n, h)`` with a lazy second's usual answer (the value's counter is below the
    limit) inline: the hot path calls no function of the window."""
    if keys.lazy and keys.bounds[h & <uint64_t>keys.bound_mask] < keys.limit:
        return True
    return keys._below(key, n, h)


cdef inline bint _window_charge(KeyWindow keys, bytes key, Py_ssize_t n, uint64_t h, double units) noexcept:
    """``keys._charge(key, n, h, units)`` with a lazy second's usual case (the log has room) inline."""
    cdef Py_ssize_t size
    if keys.lazy:
        size = LOG_HEAD + ((n + 7) & ~7)
        if keys.log_len + size <= keys.log_cap:
            _log_put(keys.log + keys.log_len, <const unsigned char*>PyBytes_AS_STRING(key), n, h, units)
            keys.log_len += size
            keys.bounds[h & <uint64_t>keys.bound_mask] += units
            return True
    return keys._charge(key, n, h, units)


cdef class TableState:
    """The buckets of one table (``kvstore.capacity._TableState``)."""

    # index_charges: ``((write bucket, index key names, index, view), ...)`` per GSI and LSI of the table;
    # index_reads: ``{index: GSI read bucket, or None for an LSI}`` (``kvstore.capacity._TableState``)

    def __init__(self):
        self.meta = None
        self.read = self.write = None
        self.gsi_read = {}
        self.gsi_write = {}
        self.index_charges = ()
        self.index_reads = {}
        self.read_keys = KeyWindow(_limits.PARTITION_READ_UNITS)
        self.write_keys = KeyWindow(_limits.PARTITION_WRITE_UNITS)
        self.arn = None


cdef inline bint _in_index(object item, tuple names):
    """Whether ``item`` holds every key attribute of an index (so it has an entry there)."""
    cdef Py_ssize_t i
    for i in range(PyTuple_GET_SIZE(names)):
        if kvstore_dict_get(item, <object>PyTuple_GET_ITEM(names, i)) == NULL:
            return False
    return True


cdef inline bint _same_key(object old, object new, tuple names) except -1:
    cdef Py_ssize_t i
    cdef object name
    for i in range(PyTuple_GET_SIZE(names)):
        name = <object>PyTuple_GET_ITEM(names, i)
        if not (<object>kvstore_dict_get(old, name) == <object>kvstore_dict_get(new, name)):
            return False
    return True


cdef inline bint _same_view(object old, object new, tuple names) except -1:
    """Whether two items hold the same values (or absence) of the attributes ``names``."""
    cdef Py_ssize_t i
    cdef PyObject* a
    cdef PyObject* b
    cdef object name
    for i in range(PyTuple_GET_SIZE(names)):
        name = <object>PyTuple_GET_ITEM(names, i)
        a = kvstore_dict_get(old, name)
        b = kvstore_dict_get(new, name)
        if a == NULL or b == NULL:
            if a != b:
                return False
        elif not (<object>a == <object>b):
            return False
    return True


@cython.final
@cython.no_gc
@cython.freelist(16)
cdef class WriteTicket:
    """What :meth:`MeterCore.admit_write` hands :meth:`MeterCore.charge_write`: the reference's ticket
    ``(table, row_key, state, None, now)`` as C fields (a tuple and a float object cost more to make and
    free than the write's whole charge); indexable as that tuple.  Holds no container: no cycle."""

    cdef readonly object table
    cdef readonly bytes row_key
    cdef readonly TableState state
    cdef readonly double now
    cdef Py_ssize_t n                 # the length of the row key's partition-key prefix
    cdef uint64_t hash                # and its hash (KeyWindow._cell_h)

    def __len__(self):
        return 5

    def __getitem__(self, i):
        return (self.table, self.row_key, self.state, None, self.now)[i]


cdef class MeterCore:
    """The hot half of ``kvstore.capacity.CapacityMeter`` (which subclasses it); ``kvstore.capacity``'s
    ``PyMeterCore`` is its reference, method for method."""

    # last_table / last_state: the last table found in ``_tables`` and its state (a table is most often
    # followed by itself); under the lock, and forgotten whenever ``_tables`` drops an entry (``forget_last``)

    def __init__(self, engine, burst_seconds=_limits.BURST_SECONDS):
        self.engine = engine
        self.clock = engine.clock           # a database's clock is fixed when it opens
        self.system_clock = type(self.clock) is SystemClock
        self.burst_seconds = burst_seconds
        self._lock = Mutex()
        self._tables = {}
        self.throttled = 0
        self.last_table = None
        self.last_state = None
        self.spare = None

    def forget_last(self):
        """``_tables`` is about to drop entries (the caller holds the lock)."""
        self.last_table = None
        self.last_state = None

    def admit_write(self, table, bytes row_key):
        """Raise DynamoDB's throttling error unless a write may start; else a ticket for :meth:`charge_write`:
        a :class:`WriteTicket` when admitted at once, else (the long way) the reference's tuple."""
        return _admit_write_or_throttle(self, table, row_key)

    def try_write(self, table, bytes row_key):
        """:meth:`admit_write` without raising: the ticket (the reference's tuple), or the ``Throttle``
        (batches, transactions)."""
        cdef WriteTicket ticket = _admit_write(self, table, table.meta, row_key)
        if ticket is None:
            return self._try_write(table, row_key)
        return (ticket.table, ticket.row_key, ticket.state, None, ticket.now)

    def charge_write(self, ticket, old_packed, new_packed, old_item=None, new_item=None):
        """A write admitted by :meth:`admit_write` replaced ``old_packed`` with ``new_packed`` (None: absent).

        Units are ConsumedCapacity's; images of at most 256 packed bytes are
        within one unit (``common.check_item_size``), anything larger is
        measured by DynamoDB's item size (``CapacityMeter._write_units``).
        The usual case (an admitted ticket, small images, items as dicts) is
        a few lines of C (``_charge_one``); the rest is ``_charge_write``.
        """
        _charge_usual(self, ticket, old_packed, new_packed, old_item, new_item)

    def charge_read(self, ticket, size, consistent):
        """A read admitted by ``try_read`` consumed ``size`` bytes, DynamoDB's item size of what it read."""
        cdef double units
        cdef Py_ssize_t n = size
        cdef Bucket bucket = <Bucket?>ticket[0]
        cdef KeyWindow keys = <KeyWindow?>ticket[1]
        prefix = ticket[2]
        cdef double now = ticket[3]
        units = 1 if n <= 4096 else <double>((n + 4095) // 4096)
        if not consistent:
            units /= 2
        self._lock.take()
        bucket.balance -= units
        if prefix is not None:
            keys._take(prefix, units, now)
        self._lock.give()

    def read_item(self, table, bytes row_key, packed, consistent):
        """GetItem's admission and charge in one call (``PyMeterCore.read_item``): ``packed`` (None:
        absent) is measured by DynamoDB's size only when its packed length does not already bound it
        to one unit."""
        cdef Py_ssize_t n = 0
        if packed is not None:
            n = len(packed)
            if n > SMALL_READ:
                n = self._read_size(packed)
        _meter_read(self, table, table.meta, None, row_key, n, consistent)

    def read_item_admitted(self, table, bytes row_key, packed, consistent):
        """:meth:`read_item` when it would admit the read at once (then True, charged), else False with
        nothing charged or counted (``PyMeterCore.read_item_admitted``): the wire's one-step GetItem
        then hands the request to the general path, which meters it (a throttle counts once)."""
        cdef Py_ssize_t n = 0
        if packed is not None:
            n = len(packed)
            if n > SMALL_READ:
                n = self._read_size(packed)
        return _admitted_read(self, table, table.meta, None, row_key, n, consistent)

    def read(self, table, index, row_key, Py_ssize_t size, consistent):
        """A read's admission and charge in one call and one lock hold (``PyMeterCore.read``)."""
        _meter_read(self, table, table.meta, index, row_key, size, consistent)

    cdef int _read(self, table, index, row_key, Py_ssize_t size, consistent) except -1:
        """:meth:`read` for the compiled modules (``_cread``'s pages): no Python call."""
        return _meter_read(self, table, table.meta, index, row_key, size, consistent)


cdef inline double _now(MeterCore self) except? -1:
    """The meter's clock: CLOCK_REALTIME read in C for the SystemClock, else the engine's clock."""
    if self.system_clock:
        return _wall_time()
    return self.clock()


cdef inline TableState _current(MeterCore self, table, meta):
    """The table's state when its rates are current (``state.meta is table.meta``), else None
    (the caller holds the lock)."""
    cdef PyObject* found
    cdef TableState state
    if table is self.last_table:
        state = self.last_state
    else:
        found = PyDict_GetItemWithError(self._tables, table)     # a Table hashes by identity
        if found == NULL:
            PyErr_Clear()
            return None
        state = <TableState>found
        self.last_table = table
        self.last_state = state
    if state.meta is meta:
        return state
    return None


cdef inline PyObject* _current_p(MeterCore self, table, meta) noexcept:
    """:func:`_current` as a borrowed reference (``_tables`` holds the state), NULL for None: the hot
    path takes no reference to what it only reads under the lock."""
    cdef PyObject* found
    if table is self.last_table:
        found = <PyObject*>self.last_state
    else:
        found = PyDict_GetItemWithError(self._tables, table)     # a Table hashes by identity
        if found == NULL:
            PyErr_Clear()
            return NULL
        self.last_table = table
        self.last_state = <TableState>found
    if (<TableState>found).meta is meta:
        return found
    return NULL


cdef inline WriteTicket _admit_write(MeterCore self, table, meta, bytes row_key):
    """The admitted case of a write, in one lock hold: its ticket, or None for the long way (``meta``:
    ``table.meta``, read by the caller).  The state, buckets and window are borrowed from ``_tables``
    (nothing here runs Python code, so nothing can drop them): no reference counting."""
    cdef WriteTicket ticket
    cdef Py_ssize_t n = 0
    cdef uint64_t h = 0
    cdef double now = _now(self)
    cdef PyObject* state
    cdef PyObject* bucket
    cdef PyObject* keys
    cdef PyObject* charges
    cdef bint admitted = False
    cdef Py_ssize_t i
    self._lock.take()
    state = _current_p(self, table, meta)
    if state != NULL:
        bucket = <PyObject*>(<TableState>state).write
        (<Bucket>bucket)._refill(now)
        if (<Bucket>bucket).balance > 0:
            admitted = True
            charges = <PyObject*>(<TableState>state).index_charges
            for i in range(PyTuple_GET_SIZE(<tuple>charges)):
                bucket = PyTuple_GET_ITEM(<tuple>PyTuple_GET_ITEM(<tuple>charges, i), 0)
                (<Bucket>bucket)._refill(now)
                if (<Bucket>bucket).balance <= 0:
                    admitted = False
            keys = <PyObject*>(<TableState>state).write_keys
            if admitted:
                if (<KeyWindow>keys).second == <long long>now:
                    n = _prefix_len(row_key)
                    h = _prefix_hash(<const unsigned char*>PyBytes_AS_STRING(row_key), n)
                    if (<KeyWindow>keys).lazy or (<KeyWindow>keys).top >= (<KeyWindow>keys).limit:
                        admitted = _window_below(<KeyWindow>keys, row_key, n, h)
                    else:
                        # an exact second where no value has reached the limit, so neither has this
                        # one: the cell is not read now, only fetched for the charge, which writes it
                        KV_PREFETCH(&(<KeyWindow>keys).cells[<Py_ssize_t>(h & <uint64_t>(<KeyWindow>keys).mask)])
                else:
                    admitted = False
    self._lock.give()
    if not admitted:
        return None
    # the meter's spare ticket when nobody else holds it (its last write was charged and dropped it:
    # the usual case), else a new one, which becomes the spare.  (Making and freeing one cost ~90
    # instructions a write: bench/results/capacity.md, session 16.)
    # The state is taken first: what the other assignments release (a ticket's earlier table, key
    # or the old spare) cannot then be what frees it.
    if self.spare is not None and _Py_REFCNT(<PyObject*>self.spare) == 1:     # (the meter's reference)
        ticket = <WriteTicket>self.spare
    else:
        ticket = WriteTicket.__new__(WriteTicket)
    if <PyObject*>ticket.state != state:
        ticket.state = <TableState>state
    if ticket.table is not table:
        ticket.table = table
    ticket.row_key = row_key
    ticket.now = now
    ticket.n = n
    ticket.hash = h
    if ticket is not self.spare:
        self.spare = ticket
    return ticket


cdef inline bint _small(object packed):
    """Whether a write's image (None: absent) is surely within one write unit: at most 256 packed bytes."""
    if packed is None:
        return True
    if type(packed) is bytes:
        return PyBytes_GET_SIZE(packed) <= SMALL_WRITE
    return len(packed) <= SMALL_WRITE


cdef object _admit_write_or_throttle(MeterCore self, table, bytes row_key):
    """:meth:`MeterCore.admit_write`: no Python call."""
    return _admit_write_or_throttle_m(self, table, table.meta, row_key)


cdef inline object _admit_write_or_throttle_m(MeterCore self, table, meta, bytes row_key):
    """:func:`_admit_write_or_throttle` of a table whose ``meta`` the caller read."""
    ticket = _admit_write(self, table, meta, row_key)
    if KV_UNLIKELY(ticket is None):
        ticket = self._try_write(table, row_key)
        if type(ticket) is not tuple:
            raise ticket.error()
    return ticket


cdef object _admitted_write(meter, table, row_key):
    """The compiled meter's admitted case of a write, for the compiled modules (``_ccapacity.pxd``): its
    ticket, or None when ``meter`` is not exactly the compiled meter (``_METER_CLASS``) or the write is
    not admitted at once; the caller then calls ``meter.admit_write``, which throttles it or admits it
    the long way.  (``_cupdate`` called ``_admit_write_or_throttle`` inside a try block after an
    ``isinstance`` test: ~60 instructions of its admission.)"""
    if type(meter) is _METER_CLASS and type(row_key) is bytes:
        return _admit_write(<MeterCore>meter, table, table.meta, <bytes>row_key)
    return None


cdef int _charge_write_of(meter, ticket, old_packed, new_packed, old_item, new_item) except -1:
    """``meter.charge_write(ticket, ...)`` for the compiled modules (``_ccapacity.pxd``): in C for the
    compiled meter (``_METER_CLASS``), else the meter's method."""
    if type(meter) is _METER_CLASS:
        return _charge_usual(<MeterCore>meter, ticket, old_packed, new_packed, old_item, new_item)
    meter.charge_write(ticket, old_packed, new_packed, old_item, new_item)
    return 0


cdef inline int _charge_usual(MeterCore self, ticket, old_packed, new_packed, old_item, new_item) except -1:
    """:meth:`MeterCore.charge_write` with no Python call: the usual charge (an admitted ticket, small
    images) inline in its callers, anything else ``_charge_write``."""
    cdef WriteTicket admitted
    cdef tuple charges
    cdef Py_ssize_t n
    cdef double gsi_units[16]
    if KV_LIKELY(type(ticket) is WriteTicket and _small(old_packed) and _small(new_packed)):
        admitted = <WriteTicket>ticket
        charges = admitted.state.index_charges
        n = PyTuple_GET_SIZE(charges)
        if n == 0 or (old_item is None and new_item is None):
            _charge_one(self, admitted, charges, 0, NULL)
            return 0
        if n <= 16 and (old_item is None or type(old_item) is dict) and (new_item is None or type(new_item) is dict):
            _small_index_units(charges, n, old_item, new_item, gsi_units)
            _charge_one(self, admitted, charges, n, gsi_units)
            return 0
    return _charge_write(self, ticket, old_packed, new_packed, old_item, new_item)


cdef inline void _charge_one(MeterCore self, WriteTicket ticket, tuple charges, Py_ssize_t n,
                             const double* gsi_units) noexcept:
    """One write unit to an admitted ticket's table and key, and ``gsi_units[i]`` to the bucket of
    ``charges[i]`` (``i < n``), as ``_charge_write`` takes them from a write of small images (the
    table's bucket, the key's window in the ticket's second, then the indexes' buckets)."""
    cdef PyObject* keys = <PyObject*>ticket.state.write_keys       # (borrowed: the ticket holds the state)
    cdef Py_ssize_t i
    self._lock.take()
    ticket.state.write.balance -= 1
    if <long long>ticket.now == (<KeyWindow>keys).second:
        _window_charge(<KeyWindow>keys, ticket.row_key, ticket.n, ticket.hash, 1)
    for i in range(n):
        if gsi_units[i]:
            (<Bucket>PyTuple_GET_ITEM(<tuple>PyTuple_GET_ITEM(charges, i), 0)).balance -= gsi_units[i]
    self._lock.give()


cdef int _small_index_units(tuple charges, Py_ssize_t n, object old_item, object new_item,
                            double* gsi_units) except -1:
    """What a write of small images (dicts, or None: absent) costs each of the first ``n`` index
    charges of its table (``kvstore.capacity._small_index_write_units``): 2 when its entry moves to
    another key, 1 when one is written or removed, 0 when it is left as it was."""
    cdef Py_ssize_t i
    cdef tuple charge, names
    cdef bint new_in, old_in
    for i in range(n):
        charge = <tuple>PyTuple_GET_ITEM(charges, i)
        names = <tuple>PyTuple_GET_ITEM(charge, 1)
        new_in = new_item is not None and _in_index(new_item, names)
        old_in = old_item is not None and _in_index(old_item, names)
        if new_in and old_in:
            if not _same_key(old_item, new_item, names):
                gsi_units[i] = 2
            else:
                view = <object>PyTuple_GET_ITEM(charge, 3)
                if view is None:
                    gsi_units[i] = 0 if old_item == new_item else 1
                else:
                    gsi_units[i] = 0 if _same_view(old_item, new_item, <tuple>view) else 1
        else:
            gsi_units[i] = 1 if new_in or old_in else 0
    return 0


cdef int _charge_write(MeterCore self, ticket, old_packed, new_packed, old_item, new_item) except -1:
    """:meth:`MeterCore.charge_write` of any ticket and images (the reference's ``charge_write``, step for step)."""
    cdef TableState state
    cdef double now
    cdef bytes row_key
    cdef double units
    cdef Py_ssize_t old_len = 0 if old_packed is None else (
        PyBytes_GET_SIZE(old_packed) if type(old_packed) is bytes else len(old_packed))
    cdef Py_ssize_t new_len = 0 if new_packed is None else (
        PyBytes_GET_SIZE(new_packed) if type(new_packed) is bytes else len(new_packed))
    cdef bint small = old_len <= SMALL_WRITE and new_len <= SMALL_WRITE
    cdef tuple charges
    cdef Py_ssize_t i, n
    cdef double gsi_units[16]
    cdef KeyWindow keys
    cdef Py_ssize_t key_n
    cdef uint64_t key_hash
    if type(ticket) is WriteTicket:
        state = (<WriteTicket>ticket).state
        now = (<WriteTicket>ticket).now
        row_key = (<WriteTicket>ticket).row_key
        key_n = (<WriteTicket>ticket).n
        key_hash = (<WriteTicket>ticket).hash
    else:                                      # the long way's tuple
        state = <TableState?>(<tuple?>ticket)[2]
        now = ticket[4]
        row_key = ticket[1]
        key_n = _prefix_len(row_key)
        key_hash = _prefix_hash(<const unsigned char*>PyBytes_AS_STRING(row_key), key_n)
    charges = state.index_charges
    n = PyTuple_GET_SIZE(charges)
    large_gsi = None
    if small:
        units = 1
    else:
        units = self._write_units(old_packed, old_item, new_packed, new_item)
    if n and (old_item is not None or new_item is not None):
        if small and n <= 16 and (old_item is None or type(old_item) is dict) \
                and (new_item is None or type(new_item) is dict):
            _small_index_units(charges, n, old_item, new_item, gsi_units)
        else:
            large_gsi = self._index_write_units(state, row_key, old_item, new_item, small)
            n = 0
    else:
        n = 0
    self._lock.take()
    state.write.balance -= units
    keys = state.write_keys
    if <long long>now == keys.second:          # KeyWindow._take, inline
        _window_charge(keys, row_key, key_n, key_hash, units)
    for i in range(n):
        if gsi_units[i]:
            (<Bucket>PyTuple_GET_ITEM(<tuple>PyTuple_GET_ITEM(charges, i), 0)).balance -= gsi_units[i]
    if large_gsi:
        for bucket, gsi in large_gsi:
            (<Bucket?>bucket).balance -= <double>gsi
    self._lock.give()
    return 0


cdef inline int _meter_read(MeterCore self, table, meta, index, row_key, Py_ssize_t size, consistent) except -1:
    """A read's admission and charge: the admitted case in one lock hold (``_admitted_read``), anything
    else the long way (``try_read``: its throttling error, or a charge)."""
    if KV_UNLIKELY(not _admitted_read(self, table, meta, index, row_key, size, consistent)):
        ticket = self.try_read(table, index, row_key)
        if type(ticket) is not tuple:
            raise ticket.error()
        self.charge_read(ticket, size, consistent)
    return 0


cdef inline bint _admitted_read(MeterCore self, table, meta, index, row_key, Py_ssize_t size, consistent) except -1:
    """The admitted case in one lock hold, of a read of the table (``row_key``: the partition read, None
    for a Scan) or of an index: the bucket ``try_read`` would pick (an LSI draws on the table's, a
    GSI on its own, with no per-key window), charged.  False when it is not that case; then nothing
    is charged or counted (a refill to ``now`` and a per-key window moved to this second are what the
    long way does first), so the caller may meter the read the long way, or hand it to a path that
    does."""
    cdef double now, units
    cdef PyObject* state
    cdef PyObject* bucket = NULL
    cdef PyObject* keys
    cdef PyObject* found
    cdef Py_ssize_t n
    cdef uint64_t h
    cdef bint admitted = False, keyed = False
    units = 1 if size <= 4096 else <double>((size + 4095) // 4096)
    if not consistent:
        units /= 2
    if row_key is None or type(row_key) is bytes:
        now = _now(self)
        self._lock.take()
        # (the state, its buckets and window borrowed, as in _admit_write)
        state = _current_p(self, table, meta)
        if state != NULL:
            if index is None:
                bucket = <PyObject*>(<TableState>state).read
                keyed = row_key is not None
            else:
                found = kvstore_dict_get((<TableState>state).index_reads, index)     # an Index hashes by identity
                if found != NULL:
                    if <object>found is None:                         # an LSI: the table's capacity
                        bucket = <PyObject*>(<TableState>state).read
                        keyed = row_key is not None
                    else:
                        bucket = found
        if bucket != NULL:
            (<Bucket>bucket)._refill(now)
            if (<Bucket>bucket).balance > 0:
                if keyed:
                    keys = <PyObject*>(<TableState>state).read_keys
                    if (<KeyWindow>keys).second != <long long>now:          # KeyWindow._room's new second
                        (<KeyWindow>keys)._start(<long long>now)
                    n = _prefix_len(row_key)
                    h = _prefix_hash(<const unsigned char*>PyBytes_AS_STRING(row_key), n)
                    if _window_below(<KeyWindow>keys, row_key, n, h) and \
                            _window_charge(<KeyWindow>keys, row_key, n, h, units):
                        admitted = True
                        (<Bucket>bucket).balance -= units
                else:
                    admitted = True
                    (<Bucket>bucket).balance -= units
        self._lock.give()
    return admitted


# ------------------------------------------------------------------ the operations' calls (session 15)
# ``put_item.run``, ``update_item.run``, ``delete_item.run`` and ``get_item.run`` / ``run_key`` call the
# meter through these module functions (``kvstore.capacity.admit_write`` ...) rather than its methods: a
# builtin of the METH_FASTCALL convention costs the interpreter less to call than a method of the
# meter's Python class (no lookup through its class, no CyFunction binding, no argument parsing):
# ~150 instructions a call (bench/results/capacity.md, session 15).  Each is its method's
# admitted case when ``meter`` is exactly the compiled ``CapacityMeter`` (``_METER_CLASS``), else the
# method itself (the reference ``PyCapacityMeter``, or a subclass that may override it).

#: the class whose methods these functions stand for (``kvstore.capacity.CapacityMeter``)
cdef object _METER_CLASS = None


def register_meter_class(cls):
    """``kvstore.capacity`` names the compiled meter's class (a Python subclass of :class:`MeterCore`)."""
    global _METER_CLASS
    if not issubclass(cls, MeterCore):
        raise TypeError("not a MeterCore subclass")
    _METER_CLASS = cls


cdef extern from *:
    """
    /* kvstore._ccapacity's admit_write / charge_write / read_item: builtins of the METH_FASTCALL
       convention, so that the interpreter calls them through its specialised CALL of a builtin and
       nothing parses keywords or takes references to the arguments (what Cython's own def functions
       do costs 80-120 instructions a call). kv_calls holds the Cython functions that do the work. */
    typedef PyObject *(*kv_call)(PyObject **args);
    static kv_call kv_calls[3];
    static const Py_ssize_t kv_arity[3] = {4, 6, 6};
    static const char *const kv_names[3] = {"admit_write", "charge_write", "read_item"};

    static PyObject *kv_fast(int which, PyObject *const *args, Py_ssize_t nargs) {
        if (nargs != kv_arity[which]) {
            PyErr_Format(PyExc_TypeError, "%s() takes exactly %zd positional arguments (%zd given)",
                         kv_names[which], kv_arity[which], nargs);
            return NULL;
        }
        return kv_calls[which]((PyObject **)args);
    }
    static PyObject *kv_admit_write(PyObject *m, PyObject *const *a, Py_ssize_t n) { return kv_fast(0, a, n); }
    static PyObject *kv_charge_write(PyObject *m, PyObject *const *a, Py_ssize_t n) { return kv_fast(1, a, n); }
    static PyObject *kv_read_item(PyObject *m, PyObject *const *a, Py_ssize_t n) { return kv_fast(2, a, n); }

    static PyMethodDef kv_defs[3] = {
        {"admit_write", (PyCFunction)(void (*)(void))kv_admit_write, METH_FASTCALL,
         "admit_write(meter, table, meta, row_key): meter.admit_write(table, row_key); meta is table.meta"},
        {"charge_write", (PyCFunction)(void (*)(void))kv_charge_write, METH_FASTCALL,
         "charge_write(meter, ticket, old_packed, new_packed, old_item, new_item): meter.charge_write(...)"},
        {"read_item", (PyCFunction)(void (*)(void))kv_read_item, METH_FASTCALL,
         "read_item(meter, table, meta, row_key, packed, consistent): meter.read_item(table, row_key, ...)"},
    };

    static PyObject *kv_function(int which) { return PyCFunction_NewEx(&kv_defs[which], NULL, NULL); }
    """
    ctypedef object (*kv_call)(PyObject** args)
    kv_call kv_calls[3]
    object kv_function(int which)


cdef object _admit_write_call(PyObject** args):
    """``admit_write(meter, table, meta, row_key)``: ``meter.admit_write(table, row_key)``; ``meta`` is
    ``table.meta`` (the interpreter reads it for ~10 instructions, the C API for ~150)."""
    meter = <object>args[0]
    row_key = <object>args[3]
    if type(meter) is _METER_CLASS and type(row_key) is bytes:
        return _admit_write_or_throttle_m(<MeterCore>meter, <object>args[1], <object>args[2], <bytes>row_key)
    return meter.admit_write(<object>args[1], row_key)


cdef object _charge_write_call(PyObject** args):
    """``charge_write(meter, ticket, old_packed, new_packed, old_item, new_item)``:
    ``meter.charge_write(ticket, old_packed, new_packed, old_item, new_item)``."""
    meter = <object>args[0]
    if type(meter) is _METER_CLASS:
        _charge_usual(<MeterCore>meter, <object>args[1], <object>args[2], <object>args[3], <object>args[4],
                      <object>args[5])
    else:
        meter.charge_write(<object>args[1], <object>args[2], <object>args[3], <object>args[4], <object>args[5])
    return None


cdef object _read_item_call(PyObject** args):
    """``read_item(meter, table, meta, row_key, packed, consistent)``: ``meter.read_item(table, row_key,
    packed, consistent)``; ``meta`` is ``table.meta``."""
    cdef Py_ssize_t n = 0
    meter = <object>args[0]
    row_key = <object>args[3]
    packed = <object>args[4]
    if type(meter) is not _METER_CLASS or type(row_key) is not bytes:
        meter.read_item(<object>args[1], row_key, packed, <object>args[5])
        return None
    if packed is not None:
        n = PyBytes_GET_SIZE(packed) if type(packed) is bytes else len(packed)
        if n > SMALL_READ:
            n = (<MeterCore>meter)._read_size(packed)
    _meter_read(<MeterCore>meter, <object>args[1], <object>args[2], None, row_key, n, <object>args[5])
    return None


kv_calls[0] = _admit_write_call
kv_calls[1] = _charge_write_call
kv_calls[2] = _read_item_call
admit_write = kv_function(0)
charge_write = kv_function(1)
read_item = kv_function(2)
