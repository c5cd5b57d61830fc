# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False, infer_types=True
"""Storage keys, compiled: the twins of ``kvstore._pycore``'s key functions (read
that module for the formats).  Every public function returns exactly what its
``_pycore`` twin returns; anything outside the native key values (str,
canonical Decimal, Binary) and every error goes to the reference.
"""

from cpython.tuple cimport PyTuple_GET_ITEM, PyTuple_GET_SIZE
from libc.stdint cimport uint32_t
from libc.string cimport memcmp, memcpy

from kvstore._capi cimport *
from kvstore._cvalues cimport _decimal_text, _is_digit

from decimal import Decimal as _Decimal
import zlib as _zlib

from kvstore import _pycore as _ref
from kvstore._cvalues import _Fallback
from kvstore.types import Binary as _Binary

cdef object Decimal = _Decimal
cdef object Binary = _Binary


# ------------------------------------------------------------------ crc32
# zlib's CRC-32 (reflected polynomial 0xEDB88320), eight bytes a step ("slicing by
# 8": eight 256-entry tables, 8 KB).  Up to CRC_TABLE_MAX bytes this beats a call
# of zlib.crc32 on a copy of the buffer (the call and the bytes object cost more
# than the loop; zlib's own loop is no faster per byte here); longer input goes
# to zlib.crc32.  Hash components are a few bytes.  bench/results/micro_core.md
# has the measurements.

cdef enum:
    CRC_TABLE_MAX = 1024

cdef uint32_t _crc_tables[8][256]
cdef object _zlib_crc32 = _zlib.crc32


cdef void _init_crc_tables():
    cdef uint32_t c
    cdef int n, k
    for n in range(256):
        c = n
        for k in range(8):
            c = (0xEDB88320 ^ (c >> 1)) if (c & 1) else (c >> 1)
        _crc_tables[0][n] = c
    for n in range(256):            # table k: the crc of byte n followed by k zero bytes
        c = _crc_tables[0][n]
        for k in range(1, 8):
            c = _crc_tables[0][c & 0xFF] ^ (c >> 8)
            _crc_tables[k][n] = c


_init_crc_tables()


cdef inline uint32_t _le32(const unsigned char* p) noexcept:
    return <uint32_t>p[0] | (<uint32_t>p[1] << 8) | (<uint32_t>p[2] << 16) | (<uint32_t>p[3] << 24)


cdef uint32_t _crc32(uint32_t crc, const unsigned char* p, Py_ssize_t n) except? 0xFFFFFFFF:
    cdef uint32_t a, b
    if n > CRC_TABLE_MAX:
        return _zlib_crc32(PyBytes_FromStringAndSize(<const char*>p, n), crc)
    crc = ~crc
    while n >= 8:
        a = _le32(p) ^ crc
        b = _le32(p + 4)
        crc = (_crc_tables[7][a & 0xFF] ^ _crc_tables[6][(a >> 8) & 0xFF] ^ _crc_tables[5][(a >> 16) & 0xFF]
               ^ _crc_tables[4][a >> 24] ^ _crc_tables[3][b & 0xFF] ^ _crc_tables[2][(b >> 8) & 0xFF]
               ^ _crc_tables[1][(b >> 16) & 0xFF] ^ _crc_tables[0][b >> 24])
        p += 8
        n -= 8
    while n > 0:
        crc = _crc_tables[0][(crc ^ p[0]) & 0xFF] ^ (crc >> 8)
        p += 1
        n -= 1
    return ~crc


cdef inline void _put_be32(unsigned char* p, uint32_t v) noexcept nogil:
    p[0] = v >> 24
    p[1] = v >> 16
    p[2] = v >> 8
    p[3] = v


# ------------------------------------------------------------------ numbers as keys

cdef Py_ssize_t _encode_number(const char* s, Py_ssize_t n, unsigned char* out) noexcept nogil:
    """Write the key encoding of number text ``s`` into ``out`` (``n + 3`` bytes).

    Returns the length written, or -1 for text the reference would reject (it
    raises) -- the same algorithm as ``_pycore.encode_number``, step by step.
    """
    cdef bint negative
    cdef Py_ssize_t i, start, dot, first, last, exponent, w
    cdef int head
    if n == 1 and s[0] == c'0':
        out[0] = 0x80
        return 1
    if n == 0:
        return -1
    negative = s[0] == c'-'
    start = 1 if negative else 0
    dot = start
    while dot < n and s[dot] != c'.':
        dot += 1
    for i in range(start, n):
        if i != dot and not _is_digit(s[i]):
            return -1
    w = 2
    if dot - start == 1 and s[start] == c'0':
        # 0.000ddd: the exponent counts the zeros after the point, negatively.
        first = dot + 1
        while first < n and s[first] == c'0':
            first += 1
        exponent = (dot + 1) - first if dot < n else 0
        for i in range(first, n):
            out[w] = (10 - (s[i] - c'0')) if negative else (s[i] - c'0' + 1)
            w += 1
    else:
        exponent = dot - start
        last = n - 1
        while last >= start and (last == dot or s[last] == c'0'):
            last -= 1
        for i in range(start, last + 1):
            if i != dot:
                out[w] = (10 - (s[i] - c'0')) if negative else (s[i] - c'0' + 1)
                w += 1
    head = (126 - exponent) if negative else (exponent + 129)
    if head < 0 or head > 255:
        return -1
    out[0] = 0x40 if negative else 0xC0
    out[1] = head
    out[w] = 0xFF if negative else 0x00
    return w + 1



cdef bytes _encode_text(object text):
    """Key encoding of a number string (a 1-byte-kind str), or _Fallback."""
    cdef unsigned char small[64]
    cdef unsigned char* buf = small
    cdef Py_ssize_t n = PyUnicode_GET_LENGTH(text), w
    if not PyUnicode_IS_ASCII(text):
        raise _Fallback
    if n + 3 > 64:
        buf = <unsigned char*>PyMem_Malloc(n + 3)
        if buf == NULL:
            raise MemoryError()
    try:
        w = _encode_number(<const char*>PyUnicode_DATA(text), n, buf)
        if w < 0:
            raise _Fallback
        return PyBytes_FromStringAndSize(<const char*>buf, w)
    finally:
        if buf != small:
            PyMem_Free(buf)


def encode_number(text):
    """Order-preserving bytes of a canonical number string."""
    if type(text) is str:
        try:
            return _encode_text(text)
        except _Fallback:
            pass
    return _ref.encode_number(text)


# ------------------------------------------------------------------ storage keys

cdef object _raw(object value, const char** ptr, Py_ssize_t* size):
    """Point ``ptr``/``size`` at the key bytes of ``value``; return the object that owns them."""
    cdef object owner
    t = type(value)
    if t is str:
        if PyUnicode_IS_ASCII(value):
            ptr[0] = <const char*>PyUnicode_DATA(value)
            size[0] = PyUnicode_GET_LENGTH(value)
            return value
        owner = PyUnicode_AsEncodedString(value, "utf-8", "surrogatepass")
    elif t is Decimal:
        owner = _encode_text(_decimal_text(value))
    else:
        owner = value.value
        if type(owner) is not bytes:
            raise _Fallback
    ptr[0] = PyBytes_AS_STRING(owner)
    size[0] = PyBytes_GET_SIZE(owner)
    return owner


cdef bytes _prefixed(object hash_value, object tail, bint delimited_tail, object suffix):
    """crc32(hc) + hc [+ sort component of ``tail``] [+ ``suffix`` bytes], in one allocation."""
    cdef const char* hp
    cdef const char* tp = NULL
    cdef Py_ssize_t hn, tn = 0
    hown = _raw(hash_value, &hp, &hn)
    town = None
    if tail is not None:
        town = _raw(tail, &tp, &tn)
    return _prefixed_raw(hp, hn, tp, tn, tail is not None and delimited_tail and type(tail) is not Decimal, suffix)


cdef bytes _prefixed_raw(const char* hp, Py_ssize_t hn, const char* tp, Py_ssize_t tn, bint escape, object suffix):
    """``_prefixed`` of key bytes found already (``_raw``'s): ``tp`` NULL for no tail, ``escape`` for a
    delimited tail that is not a number (its zero bytes escaped, then two zero bytes)."""
    cdef const char* sp = NULL
    cdef Py_ssize_t sn = 0, zeros = 0, i, total
    cdef unsigned char lenbuf[2]
    cdef unsigned char* out
    if hn > 0xFFFF:
        raise _Fallback
    if escape:
        for i in range(tn):
            if tp[i] == 0:
                zeros += 1
    if suffix is not None:
        if type(suffix) is not bytes:
            raise _Fallback
        sp = PyBytes_AS_STRING(suffix)
        sn = PyBytes_GET_SIZE(suffix)
    total = 6 + hn + tn + zeros + (2 if escape else 0) + sn
    result = PyBytes_FromStringAndSize(NULL, total)
    out = <unsigned char*>PyBytes_AS_STRING(result)
    lenbuf[0] = hn >> 8
    lenbuf[1] = hn & 0xFF
    _put_be32(out, _crc32(_crc32(0, lenbuf, 2), <const unsigned char*>hp, hn))
    out[4] = lenbuf[0]
    out[5] = lenbuf[1]
    memcpy(out + 6, hp, hn)
    out += 6 + hn
    if escape:
        for i in range(tn):
            out[0] = tp[i]
            out += 1
            if tp[i] == 0:
                out[0] = 0xFF
                out += 1
        out[0] = 0
        out[1] = 0
        out += 2
    elif tn:
        memcpy(out, tp, tn)
        out += tn
    if sn:
        memcpy(out, sp, sn)
    return result


def key_bytes(value):
    """Raw bytes of a key value (S: UTF-8, B: bytes, N: order-preserving encoding)."""
    cdef const char* p
    cdef Py_ssize_t n
    try:
        owner = _raw(value, &p, &n)
    except Exception:
        return _ref.key_bytes(value)
    if type(owner) is bytes:
        return owner
    return PyBytes_FromStringAndSize(p, n)


def hash_component(value):
    cdef const char* p
    cdef Py_ssize_t n
    try:
        owner = _raw(value, &p, &n)
        if n > 0xFFFF:
            raise _Fallback
    except Exception:
        return _ref.hash_component(value)
    result = PyBytes_FromStringAndSize(NULL, n + 2)
    cdef unsigned char* out = <unsigned char*>PyBytes_AS_STRING(result)
    out[0] = n >> 8
    out[1] = n & 0xFF
    memcpy(out + 2, p, n)
    return result


def storage_key(hash_value, range_value=None):
    """The row key of a table (``range_value`` None for hash-only tables)."""
    try:
        return _prefixed(hash_value, range_value, False, None)
    except Exception:
        return _ref.storage_key(hash_value, range_value)


def partition_prefix(hash_value):
    """Common prefix of every row with this partition-key value (for Query)."""
    try:
        return _prefixed(hash_value, None, False, None)
    except Exception:
        return _ref.partition_prefix(hash_value)


cdef bytes _delimited(object value):
    cdef const char* p
    cdef Py_ssize_t n, i, zeros = 0
    owner = _raw(value, &p, &n)
    if type(value) is Decimal:
        return owner
    for i in range(n):
        if p[i] == 0:
            zeros += 1
    result = PyBytes_FromStringAndSize(NULL, n + zeros + 2)
    cdef unsigned char* out = <unsigned char*>PyBytes_AS_STRING(result)
    for i in range(n):
        out[0] = p[i]
        out += 1
        if p[i] == 0:
            out[0] = 0xFF
            out += 1
    out[0] = 0
    out[1] = 0
    return result


def delimited_sort_component(value):
    """Self-delimiting, order-preserving sort component (index keys)."""
    try:
        return _delimited(value)
    except Exception:
        return _ref.delimited_sort_component(value)


def index_key(hash_value, range_value, table_key):
    """Row key of an index entry: index key components, then the table row key for uniqueness."""
    try:
        return _prefixed(hash_value, range_value, True, table_key)
    except Exception:
        return _ref.index_key(hash_value, range_value, table_key)


cdef bytes _composite(object hash_values, object range_values, object suffix):
    """crc32(hash components) + hash components + delimited RANGE components + ``suffix``."""
    cdef const char* ptrs[8]
    cdef Py_ssize_t sizes[8]
    cdef Py_ssize_t zeros[8]
    cdef int escaped[8]
    cdef Py_ssize_t nh, nr, i, j, hn = 0, total, sn
    cdef const char* sp
    cdef unsigned char* out
    cdef unsigned char* start
    if type(hash_values) is not tuple or type(range_values) is not tuple or type(suffix) is not bytes:
        raise _Fallback
    nh = PyTuple_GET_SIZE(hash_values)
    nr = PyTuple_GET_SIZE(range_values)
    if nh < 1 or nh > 4 or nr > 4:
        raise _Fallback
    owners = [None] * (nh + nr)
    for i in range(nh):
        owners[i] = _raw(<object>PyTuple_GET_ITEM(hash_values, i), &ptrs[i], &sizes[i])
        if sizes[i] > 0xFFFF:
            raise _Fallback
        hn += 2 + sizes[i]
    total = 4 + hn
    for i in range(nr):
        value = <object>PyTuple_GET_ITEM(range_values, i)
        owners[nh + i] = _raw(value, &ptrs[nh + i], &sizes[nh + i])
        zeros[nh + i] = 0
        escaped[nh + i] = type(value) is not Decimal
        if escaped[nh + i]:
            for j in range(sizes[nh + i]):
                if ptrs[nh + i][j] == 0:
                    zeros[nh + i] += 1
            total += 2 + zeros[nh + i]
        total += sizes[nh + i]
    sp = PyBytes_AS_STRING(suffix)
    sn = PyBytes_GET_SIZE(suffix)
    total += sn
    result = PyBytes_FromStringAndSize(NULL, total)
    start = <unsigned char*>PyBytes_AS_STRING(result)
    out = start + 4
    for i in range(nh):
        out[0] = sizes[i] >> 8
        out[1] = sizes[i] & 0xFF
        memcpy(out + 2, ptrs[i], sizes[i])
        out += 2 + sizes[i]
    _put_be32(start, _crc32(0, start + 4, hn))
    for i in range(nh, nh + nr):
        if escaped[i]:
            for j in range(sizes[i]):
                out[0] = ptrs[i][j]
                out += 1
                if ptrs[i][j] == 0:
                    out[0] = 0xFF
                    out += 1
            out[0] = 0
            out[1] = 0
            out += 2
        else:
            memcpy(out, ptrs[i], sizes[i])
            out += sizes[i]
    if sn:
        memcpy(out, sp, sn)
    return result


def composite_index_key(hash_values, range_values, table_key):
    """Row key of an entry of a multi-attribute index (see ``kvstore._pycore``)."""
    try:
        return _composite(hash_values, range_values, table_key)
    except Exception:
        return _ref.composite_index_key(hash_values, range_values, table_key)


def sort_bound(value, delimited):
    """Bytes to compare a sort-key bound with (plain for tables, delimited for indexes)."""
    return delimited_sort_component(value) if delimited else key_bytes(value)


# ------------------------------------------------------------------ row key order
# Row keys are bytes, ordered by memcmp; the page walk (_cread) and the index
# maintenance (_cwrite) search a SortedList's sublists with these rather than
# rich comparisons.

cdef int _cmp(object a, object b) except? -2:
    """memcmp order of two bytes objects (-1, 0, 1); _Fallback for anything but bytes."""
    cdef Py_ssize_t na, nb
    cdef int c
    if type(a) is not bytes or type(b) is not bytes:
        raise _Fallback
    na = PyBytes_GET_SIZE(a)
    nb = PyBytes_GET_SIZE(b)
    c = memcmp(PyBytes_AS_STRING(a), PyBytes_AS_STRING(b), na if na < nb else nb)
    if c:
        return -1 if c < 0 else 1
    return (na > nb) - (na < nb)


cdef Py_ssize_t _bisect(list a, object x, Py_ssize_t lo, Py_ssize_t hi, bint right) except -1:
    """bisect.bisect_right (``right``) or bisect_left of ``x`` in ``a[lo:hi]``, in _cmp's order.

    The keys of a large partition are scattered over the heap, so each step
    would wait for its key's cache lines; both keys the next step can pick are
    prefetched first, so that wait overlaps the current comparison
    (bench/results/write_path.md, session 10: an insert into 16 partitions of
    12,500 keys took 1.8-2.3 µs, 1.2-1.8 µs with the prefetch and the memmove
    insert)."""
    cdef PyObject** items = kvstore_list_items(a)
    cdef PyObject* y
    cdef Py_ssize_t mid, q, nx, ny
    cdef const char* xs
    cdef int c
    if lo >= hi:
        return lo
    if type(x) is not bytes:
        raise _Fallback
    xs = PyBytes_AS_STRING(x)
    nx = PyBytes_GET_SIZE(x)
    while lo < hi:
        mid = (lo + hi) >> 1
        kvstore_prefetch_bytes(items[(lo + mid) >> 1])
        q = (mid + 1 + hi) >> 1
        if q < hi:
            kvstore_prefetch_bytes(items[q])
        y = items[mid]
        if type(<object>y) is not bytes:
            raise _Fallback
        ny = PyBytes_GET_SIZE(<object>y)
        c = memcmp(xs, PyBytes_AS_STRING(<object>y), nx if nx < ny else ny)
        if c == 0:
            c = (nx > ny) - (nx < ny)
        # right: x < y moves hi; left: y < x (that is, x > y) moves lo
        if c < 0 or (c == 0 and not right):
            hi = mid
        else:
            lo = mid + 1
    return lo
