# The capacity meter's hot path (kvstore._ccapacity), for the compiled modules that meter a request
# themselves: a Query / Scan page of ``_cread.embedded_read`` calls ``MeterCore._read``, the prepared
# UpdateItem of ``_cupdate`` admits and charges its write (``_admitted_write``, ``_charge_write_of``),
# without a Python call.  Read ``_ccapacity.pyx`` for what each holds.

cimport cython
from cpython.object cimport PyObject
from libc.stdint cimport uint64_t


cdef struct Cell:
    uint64_t hash
    unsigned long long generation
    double units
    PyObject* key                    # the row key holding a prefix longer than 24 bytes, else NULL
    Py_ssize_t n
    unsigned char held[24]           # a prefix of at most 24 bytes itself (a cell is one 64-byte line)


@cython.final
cdef class Mutex:
    cdef int held
    cdef void take(self) noexcept
    cdef void _wait(self) noexcept
    cdef void give(self) noexcept


@cython.final
cdef class Bucket:
    cdef public double rate, size, balance, at
    cdef public object limit
    cdef void _refill(self, double now) noexcept


@cython.final
cdef class KeyWindow:
    cdef public double limit
    cdef public long long second
    cdef double top                  # an exact second's most units of one value
    cdef Cell* cells
    cdef Py_ssize_t mask, count
    cdef unsigned long long generation
    cdef bint lazy                   # this second's units are in the log and the bounds, not in cells
    cdef double* bounds
    cdef Py_ssize_t bound_mask
    cdef unsigned char* log
    cdef Py_ssize_t log_len, log_cap
    cdef void _start(self, long long second) noexcept
    cdef bint _below(self, bytes key, Py_ssize_t n, uint64_t h) noexcept
    cdef bint _charge(self, bytes key, Py_ssize_t n, uint64_t h, double units) noexcept
    cdef bint _log_room(self, Py_ssize_t size) noexcept
    cdef bint _exact(self) noexcept
    cdef Cell* _cell_h(self, bytes key, Py_ssize_t n, uint64_t h, bint create) noexcept
    cdef Cell* _cell_p(self, const unsigned char* p, Py_ssize_t n, uint64_t h, PyObject* owner,
                       bint create) noexcept
    cdef bint _grow(self) noexcept
    cdef void _add(self, Cell* cell, double units) noexcept
    cdef bint _room(self, bytes prefix, double now) except -1
    cdef int _take(self, bytes prefix, double units, double now) except -1


@cython.final
cdef class TableState:
    cdef public object meta, arn
    cdef public Bucket read, write
    cdef public dict gsi_read, gsi_write
    cdef public tuple index_charges
    cdef public dict index_reads
    cdef public KeyWindow read_keys, write_keys


cdef class MeterCore:
    cdef public object engine, burst_seconds, clock
    cdef public Mutex _lock
    cdef public dict _tables
    cdef public Py_ssize_t throttled
    cdef bint system_clock
    cdef object last_table
    cdef TableState last_state
    cdef object spare                # a WriteTicket a write may take when nobody holds it (_admit_write)
    cdef int _read(self, table, index, row_key, Py_ssize_t size, consistent) except -1


cdef object _admitted_write(meter, table, row_key)
cdef int _charge_write_of(meter, ticket, old_packed, new_packed, old_item, new_item) except -1
