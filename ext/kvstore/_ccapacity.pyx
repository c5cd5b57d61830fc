# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False
"""Capacity enforcement's hot path, compiled: the twin of ``kvstore.capacity``'s pure meter core.

``kvstore.capacity`` holds the model (read its docstring) and everything that
runs rarely: creating and resizing a table's buckets, throttling, batches and
transactions, large items.  This module holds what every enforced request runs
(``MeterCore``: ``admit_write`` / ``charge_write``, ``read`` /
``read_item``) and the state they touch as C fields (``Bucket``,
``KeyWindow``, ``TableState``), so that a request that is admitted costs a
clock reading (CLOCK_REALTIME read in C for the SystemClock), two holds of one lock, a few dict lookups and double sums:
no Python frame.  ``kvstore.capacity.PyCapacityMeter`` is the reference:
``tests/test_capacity_core.py`` checks with hypothesis that both take the
same decisions and leave the same bucket states over random requests and
clock moves.

The lock is a bare ``PyThread`` lock (``Mutex``), the one the cold Python
code takes with ``with meter._lock:`` too; the hot path tries it without
waiting and only otherwise waits with the GIL released, as ``threading.Lock``
does.  Nothing that can run Python code happens while it is held.
"""

cimport cython
from cpython.object cimport PyObject
from cpython.dict cimport PyDict_GetItem
from cpython.tuple cimport PyTuple_GET_SIZE, PyTuple_GET_ITEM
from libc.limits cimport LLONG_MIN
from libc.stdint cimport uint64_t
from libc.string cimport memcmp
from posix.time cimport CLOCK_REALTIME, clock_gettime, timespec

from kvstore._capi cimport (
    PyBytes_AS_STRING, PyBytes_GET_SIZE, PyDict_SetItem, PyList_GET_ITEM, PyList_GET_SIZE,
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
    t = <long long>ts.tv_sec * 1000000000 + ts.tv_nsec
    if t % 1000000000 == 0:
        return <double>(t // 1000000000)
    return <double>t / 1e9
cdef Py_ssize_t SMALL_WRITE = 1024 // 4     # packed bytes of an image surely within one write unit
cdef Py_ssize_t SMALL_READ = 1024           # packed bytes of an item surely within one read unit (4 KB)

#: ``KeyWindow.second`` before any request: no second of the clock
NO_SECOND = LLONG_MIN


cdef extern from "pythread.h":
    ctypedef void* PyThread_type_lock
    PyThread_type_lock PyThread_allocate_lock()
    void PyThread_free_lock(PyThread_type_lock)
    int PyThread_acquire_lock(PyThread_type_lock, int) nogil
    void PyThread_release_lock(PyThread_type_lock) nogil


cdef class Mutex:
    """A lock (``threading.Lock``'s semantics) the compiled path takes without a method call."""

    cdef PyThread_type_lock lock

    def __cinit__(self):
        self.lock = PyThread_allocate_lock()
        if self.lock == NULL:
            raise MemoryError()

    def __dealloc__(self):
        if self.lock != NULL:
            PyThread_free_lock(self.lock)

    cdef inline void take(self):
        if not PyThread_acquire_lock(self.lock, 0):
            with nogil:
                PyThread_acquire_lock(self.lock, 1)

    cdef inline void give(self):
        PyThread_release_lock(self.lock)

    def acquire(self):
        self.take()
        return True

    def release(self):
        self.give()

    def __enter__(self):
        self.take()
        return self

    def __exit__(self, *exc):
        self.give()
        return False


cdef class Bucket:
    """A token bucket: ``rate`` units per second, at most ``size`` banked (``kvstore.capacity.Bucket``)."""

    cdef public double rate, size, balance, at
    cdef public object limit

    def __init__(self, rate, size, start, now, limit):
        self.rate = rate
        self.size = size
        self.balance = rate
        self.at = start
        self.limit = limit
        self._refill(now)

    cdef inline void _refill(self, double now):
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


@cython.freelist(64)
@cython.no_gc
cdef class KeyCell:
    """The units one partition-key value consumed in the second ``generation`` of its window.

    The prefix is ``key[:n]``: ``key`` is a row key of the partition (held, not
    copied), so a new cell builds no bytes.  Holds no container, so no cycle
    (``no_gc``: the collector never scans cells).
    """

    cdef bytes key
    cdef Py_ssize_t n
    cdef uint64_t hash
    cdef double units
    cdef unsigned long long generation
    cdef KeyCell next                     # another value in the same slot


cdef inline Py_ssize_t _prefix_len(bytes row_key):
    """Length of a row key's partition-key prefix (``engine.table.collection_prefix`` without building it)."""
    cdef const unsigned char* p = <const unsigned char*>PyBytes_AS_STRING(row_key)
    cdef Py_ssize_t n = PyBytes_GET_SIZE(row_key), end
    if n < 6:
        return n
    end = 6 + ((p[4] << 8) | p[5])
    return n if end >= n else end


cdef inline uint64_t _fnv(const unsigned char* p, Py_ssize_t n):
    cdef uint64_t h = 14695981039346656037ULL
    cdef Py_ssize_t i
    for i in range(n):
        h = (h ^ p[i]) * 1099511628211ULL
    return h


#: cells a window keeps from one second to the next (beyond this it starts empty again)
cdef Py_ssize_t KEEP_CELLS = 4096


cdef class KeyWindow:
    """One partition's limit per partition-key value, in one-second windows (``kvstore.capacity._KeyWindow``).

    The reference keeps ``{prefix: units}`` and empties it every second.  Here
    a value's :class:`KeyCell` is found in an open hash table of chains
    (``slots``, FNV-1a of the prefix read in place in the row key: no bytes
    built, no SipHash, no float object), and a new second only bumps
    ``generation``: a cell of an earlier generation counts as nothing and is
    reset when next found, so the cells of the values in use are made once,
    not every second.  The table is emptied at a new second when it holds
    more than ``KEEP_CELLS`` cells (``epoch`` counts that, so a ticket's cell
    from before is known to be gone).  ``used`` gives the reference's dict.
    """

    cdef public double limit
    cdef public long long second
    cdef list slots
    cdef Py_ssize_t count
    cdef unsigned long long generation, epoch

    def __init__(self, limit):
        self.limit = limit
        self.second = LLONG_MIN
        self.slots = [None] * 8
        self.count = 0
        self.generation = 0
        self.epoch = 0

    cdef inline void _start(self, long long second):
        """A new second: every value starts again from nothing."""
        self.second = second
        self.generation += 1
        if self.count > KEEP_CELLS:
            self.slots = [None] * 8
            self.count = 0
            self.epoch += 1

    cdef KeyCell _cell(self, bytes key, Py_ssize_t n, bint create):
        """The cell of the prefix ``key[:n]`` in the current second (made when absent and ``create``)."""
        cdef const unsigned char* p = <const unsigned char*>PyBytes_AS_STRING(key)
        cdef uint64_t h = _fnv(p, n)
        cdef list slots = self.slots
        cdef Py_ssize_t mask = PyList_GET_SIZE(slots) - 1
        cdef PyObject* head = PyList_GET_ITEM(slots, <Py_ssize_t>(h & mask))
        cdef KeyCell cell = <KeyCell>head
        while cell is not None:
            if cell.hash == h and cell.n == n and memcmp(PyBytes_AS_STRING(cell.key), p, n) == 0:
                if cell.generation != self.generation:
                    cell.units = 0.0
                    cell.generation = self.generation
                return cell
            cell = cell.next
        if not create:
            return None
        cell = KeyCell.__new__(KeyCell)
        cell.key = key
        cell.n = n
        cell.hash = h
        cell.units = 0.0
        cell.generation = self.generation
        cell.next = <KeyCell>head
        slots[h & mask] = cell
        self.count += 1
        if self.count > 2 * (mask + 1):
            self._grow()
        return cell

    cdef void _grow(self):
        cdef list old = self.slots, slots = [None] * (4 * PyList_GET_SIZE(self.slots))
        cdef Py_ssize_t i, mask = PyList_GET_SIZE(slots) - 1
        cdef KeyCell cell, following
        for i in range(PyList_GET_SIZE(old)):
            cell = <KeyCell>PyList_GET_ITEM(old, i)
            while cell is not None:
                following = cell.next
                cell.next = <KeyCell>PyList_GET_ITEM(slots, <Py_ssize_t>(cell.hash & mask))
                slots[cell.hash & mask] = cell
                cell = following
        self.slots = slots

    cdef inline bint _room(self, bytes prefix, double now) except -1:
        cdef long long second = <long long>now
        cdef KeyCell cell
        if second != self.second:
            self._start(second)
            return True
        cell = self._cell(prefix, PyBytes_GET_SIZE(prefix), False)
        return cell is None or cell.units < self.limit

    cdef inline int _take(self, bytes prefix, double units, double now) except -1:
        cdef KeyCell cell
        if <long long>now == self.second:
            cell = self._cell(prefix, PyBytes_GET_SIZE(prefix), True)
            cell.units += units
        return 0

    def room(self, bytes prefix, double now):
        return self._room(prefix, now)

    def take(self, bytes prefix, double units, double now):
        self._take(prefix, units, now)

    @property
    def used(self):
        """``{prefix: units}`` of the current second, as the reference keeps it (a cell made by an
        admission not charged yet holds nothing and is left out)."""
        cdef KeyCell cell
        out = {}
        for head in self.slots:
            cell = <KeyCell>head
            while cell is not None:
                if cell.generation == self.generation and cell.units:
                    out[cell.key[:cell.n]] = cell.units
                cell = cell.next
        return out


cdef class TableState:
    """The buckets of one table (``kvstore.capacity._TableState``)."""

    cdef public object meta, arn
    cdef public Bucket read, write
    cdef public dict gsi_read, gsi_write
    #: ``((write bucket, index key names, index, view), ...)`` per GSI and LSI of the table
    #: (``kvstore.capacity._TableState``)
    cdef public tuple index_charges
    cdef public KeyWindow read_keys, write_keys

    def __init__(self):
        self.meta = None
        self.read = self.write = None
        self.gsi_read = {}
        self.gsi_write = {}
        self.index_charges = ()
        self.read_keys = KeyWindow(_limits.PARTITION_READ_UNITS)
        self.write_keys = KeyWindow(_limits.PARTITION_WRITE_UNITS)
        self.arn = None


cdef inline bint _in_index(object item, tuple names):
    """Whether ``item`` holds every key attribute of an index (so it has an entry there)."""
    cdef Py_ssize_t i
    for i in range(PyTuple_GET_SIZE(names)):
        if PyDict_GetItem(item, <object>PyTuple_GET_ITEM(names, i)) == NULL:
            return False
    return True


cdef inline bint _same_key(object old, object new, tuple names) except -1:
    cdef Py_ssize_t i
    cdef object name
    for i in range(PyTuple_GET_SIZE(names)):
        name = <object>PyTuple_GET_ITEM(names, i)
        if not (<object>PyDict_GetItem(old, name) == <object>PyDict_GetItem(new, name)):
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
        a = PyDict_GetItem(old, name)
        b = PyDict_GetItem(new, name)
        if a == NULL or b == NULL:
            if a != b:
                return False
        elif not (<object>a == <object>b):
            return False
    return True


cdef class MeterCore:
    """The hot half of ``kvstore.capacity.CapacityMeter`` (which subclasses it); ``kvstore.capacity``'s
    ``PyMeterCore`` is its reference, method for method."""

    cdef public object engine, burst_seconds, clock
    cdef public Mutex _lock
    cdef public dict _tables
    cdef public Py_ssize_t throttled
    cdef bint system_clock

    def __init__(self, engine, burst_seconds=_limits.BURST_SECONDS):
        self.engine = engine
        self.clock = engine.clock           # a database's clock is fixed when it opens
        self.system_clock = type(self.clock) is SystemClock
        self.burst_seconds = burst_seconds
        self._lock = Mutex()
        self._tables = {}
        self.throttled = 0

    cdef inline double _clock(self) except? -1:
        if self.system_clock:
            return _wall_time()
        return self.clock()

    def admit_write(self, table, bytes row_key):
        """Raise DynamoDB's throttling error unless a write may start; else a ticket for :meth:`charge_write`:
        the reference's ``(table, row_key, state, prefix, now)`` with the key's :class:`KeyCell` and the
        window's epoch in place of the prefix."""
        ticket = self._admit_write(table, row_key)
        if ticket is None:
            ticket = self._try_write(table, row_key)
            if type(ticket) is not tuple:
                raise ticket.error()
        return ticket

    def try_write(self, table, bytes row_key):
        """:meth:`admit_write` without raising: the ticket, or the ``Throttle`` (batches, transactions)."""
        ticket = self._admit_write(table, row_key)
        if ticket is None:
            return self._try_write(table, row_key)
        return ticket

    cdef object _admit_write(self, table, bytes row_key):
        """The admitted case of a write, in one lock hold: its ticket, or None for the long way."""
        cdef double now = self._clock()
        cdef TableState state
        cdef Bucket bucket
        cdef KeyWindow keys
        cdef KeyCell cell
        cdef PyObject* found
        cdef bint admitted = False
        cdef tuple charges
        cdef Py_ssize_t i
        meta = table.meta
        self._lock.take()
        found = PyDict_GetItem(self._tables, table)
        if found != NULL and (<TableState>found).meta is meta:
            state = <TableState>found
            bucket = state.write
            bucket._refill(now)
            if bucket.balance > 0:
                admitted = True
                charges = state.index_charges
                for i in range(PyTuple_GET_SIZE(charges)):
                    bucket = <Bucket>PyTuple_GET_ITEM(<tuple>PyTuple_GET_ITEM(charges, i), 0)
                    bucket._refill(now)
                    if bucket.balance <= 0:
                        admitted = False
                keys = state.write_keys
                if admitted:
                    if keys.second == <long long>now:
                        cell = keys._cell(row_key, _prefix_len(row_key), True)
                        admitted = cell.units < keys.limit
                    else:
                        admitted = False
        self._lock.give()
        if admitted:
            return (table, row_key, state, None, now, cell, keys.epoch)
        return None

    def charge_write(self, tuple ticket, old_packed, new_packed, old_item=None, new_item=None):
        """A write admitted by :meth:`admit_write` replaced ``old_packed`` with ``new_packed`` (None: absent).

        Units are ConsumedCapacity's; images of at most 256 packed bytes are
        within one unit (``common.check_item_size``), anything larger is
        measured by DynamoDB's item size (``CapacityMeter._write_units``).
        """
        cdef TableState state = <TableState?>ticket[2]
        cdef double now = ticket[4]
        cdef double units
        cdef Py_ssize_t old_len = 0 if old_packed is None else len(old_packed)
        cdef Py_ssize_t new_len = 0 if new_packed is None else len(new_packed)
        cdef bint small = old_len <= SMALL_WRITE and new_len <= SMALL_WRITE
        cdef tuple charges = state.index_charges
        cdef tuple charge
        cdef tuple names
        cdef Py_ssize_t i, n = PyTuple_GET_SIZE(charges)
        cdef double gsi_units[16]
        cdef bint new_in, old_in
        cdef KeyWindow keys
        cdef KeyCell cell = None
        cdef unsigned long long epoch = 0
        cdef bytes row_key = ticket[1]
        if PyTuple_GET_SIZE(ticket) > 5:           # admit_write's: the key's cell (the long way's: none)
            cell = <KeyCell?>ticket[5]
            epoch = ticket[6]
        large_gsi = None
        if small:
            units = 1
        else:
            units = self._write_units(old_packed, old_item, new_packed, new_item)
        if n and (old_item is not None or new_item is not None):
            if small and n <= 16 and (old_item is None or type(old_item) is dict) \
                    and (new_item is None or type(new_item) is dict):
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
            else:
                large_gsi = self._index_write_units(state, row_key, old_item, new_item, small)
                n = 0
        else:
            n = 0
        self._lock.take()
        state.write.balance -= units
        keys = state.write_keys
        if <long long>now == keys.second:          # the ticket's cell, unless the second or the cells are new
            if cell is None or cell.generation != keys.generation or epoch != keys.epoch:
                cell = keys._cell(row_key, _prefix_len(row_key), True)
            cell.units += units
        for i in range(n):
            if gsi_units[i]:
                (<Bucket>PyTuple_GET_ITEM(<tuple>PyTuple_GET_ITEM(charges, i), 0)).balance -= gsi_units[i]
        if large_gsi:
            for bucket, gsi in large_gsi:
                (<Bucket?>bucket).balance -= <double>gsi
        self._lock.give()

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
        self._read(table, None, row_key, n, consistent)

    def read(self, table, index, row_key, Py_ssize_t size, consistent):
        """A read's admission and charge in one call and one lock hold (``PyMeterCore.read``)."""
        self._read(table, index, row_key, size, consistent)

    cdef int _read(self, table, index, row_key, Py_ssize_t size, consistent) except -1:
        cdef double now, units
        cdef TableState state
        cdef Bucket bucket
        cdef KeyWindow keys
        cdef KeyCell cell
        cdef PyObject* found
        cdef bint admitted = False
        units = 1 if size <= 4096 else <double>((size + 4095) // 4096)
        if not consistent:
            units /= 2
        if index is None and type(row_key) is bytes:
            now = self._clock()
            meta = table.meta
            self._lock.take()
            found = PyDict_GetItem(self._tables, table)
            if found != NULL and (<TableState>found).meta is meta:
                state = <TableState>found
                bucket = state.read
                bucket._refill(now)
                if bucket.balance > 0:
                    keys = state.read_keys
                    if keys.second != <long long>now:          # KeyWindow._room's new second
                        keys._start(<long long>now)
                    cell = keys._cell(row_key, _prefix_len(row_key), True)
                    if cell.units < keys.limit:
                        admitted = True
                        bucket.balance -= units
                        cell.units += units
            self._lock.give()
        if not admitted:
            ticket = self.try_read(table, index, row_key)
            if type(ticket) is not tuple:
                raise ticket.error()
            self.charge_read(ticket, size, consistent)
        return 0
