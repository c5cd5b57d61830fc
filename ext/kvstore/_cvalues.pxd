# Shared by every compiled module: the native-value primitives (number text,
# Decimal and Binary construction, the lone-surrogate check) and the growing
# output buffer of the msgpack and JSON writers.  Inline functions are compiled
# into each module that cimports them; the others live in kvstore._cvalues.

from libc.stdint cimport uint32_t, uint64_t
from libc.string cimport memcpy

from kvstore._capi cimport *

cdef enum:
    # Nesting the fast paths follow before they hand over (items nest at most 32 levels).
    MAX_DEPTH = 100
    # Size of a writer's stack buffer; bigger outputs move to the heap.
    STACK_BUFFER = 1024
    # The msgpack ext type codes of kvstore._pycore, as C constants.
    C_EXT_N = 1
    C_EXT_B = 2
    C_EXT_SS = 3
    C_EXT_NS = 4
    C_EXT_BS = 5
    # The shared small-integer Decimals (_cvalues.pyx, "small integers"): their range, and the
    # address table that finds them (SMALL_SLOTS = 2 ** SMALL_SLOT_BITS slots, a third full).
    SMALL_MIN = -256
    SMALL_COUNT = 1280
    SMALL_SLOT_BITS = 12
    SMALL_SLOTS = 4096
    NOT_SMALL = -1000000


cdef object _decimal_text(object value)
cdef Py_ssize_t _small_index(object value) noexcept
cdef object _small_decimal(long long n)
cdef object _read_number(const unsigned char* p, Py_ssize_t n)
cdef object _binary(object data)
cdef bint _has_surrogate(object s)


cdef inline bint _is_digit(char c) noexcept nogil:
    return c'0' <= c <= c'9'


cdef inline uint32_t _fnv1a(const unsigned char* p, Py_ssize_t n) noexcept nogil:
    cdef uint32_t h = 2166136261u
    cdef Py_ssize_t i
    for i in range(n):
        h = (h ^ p[i]) * 16777619u
    return h


cdef inline void _be(unsigned char* p, uint64_t v, int n) noexcept nogil:
    cdef int i
    for i in range(n):
        p[i] = (v >> (8 * (n - 1 - i))) & 0xFF


# ------------------------------------------------------------------ Writer

cdef inline void _writer_init(Writer* w, unsigned char* stack, Py_ssize_t size) noexcept nogil:
    w.buf = stack
    w.len = 0
    w.cap = size
    w.heap = False


cdef inline void _writer_free(Writer* w) noexcept:
    if w.heap:
        PyMem_Free(w.buf)


cdef inline int _grow(Writer* w, Py_ssize_t extra) except -1:
    cdef Py_ssize_t cap = w.cap * 2
    cdef unsigned char* buf
    if cap < w.len + extra:
        cap = w.len + extra
    if w.heap:
        buf = <unsigned char*>PyMem_Realloc(w.buf, cap)
    else:
        buf = <unsigned char*>PyMem_Malloc(cap)
        if buf != NULL:
            memcpy(buf, w.buf, w.len)
    if buf == NULL:
        raise MemoryError()
    w.buf = buf
    w.cap = cap
    w.heap = True
    return 0


cdef inline int _need(Writer* w, Py_ssize_t extra) except -1:
    if w.len + extra > w.cap:
        _grow(w, extra)
    return 0


cdef inline int _put(Writer* w, const void* data, Py_ssize_t n) except -1:
    _need(w, n)
    memcpy(w.buf + w.len, data, n)
    w.len += n
    return 0
