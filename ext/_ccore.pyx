# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False, infer_types=True
"""Compiled twin of :mod:`kvstore._pycore` (read that module for the formats).

Every public function returns exactly what its ``_pycore`` twin returns for the
same argument.  The fast paths cover native values (str, canonical Decimal,
Binary, bool, None, dict, list, set); anything else -- and every error -- is
handed to the pure-Python reference, so odd inputs get the reference's result
or exception rather than a second opinion.  ``tests/test_core.py`` checks the
agreement with hypothesis.

Sections: crc32, numbers as keys, storage keys, msgpack encoder, msgpack
decoder, item size, DynamoDB JSON (the wire face's attribute values), DynamoDB
JSON text, JSON guard.
"""

from cpython.object cimport PyObject
from cpython.tuple cimport PyTuple_GET_ITEM, PyTuple_GET_SIZE
from cpython.ref cimport Py_INCREF, Py_XDECREF
from libc.stdint cimport int16_t, int32_t, int64_t, uint32_t, uint64_t
from libc.string cimport memchr, memcmp, memcpy, memmove

from _capi cimport *

from decimal import Decimal as _Decimal
from types import MemberDescriptorType as _MemberDescriptor

from kvstore import _pycore as _ref
from kvstore.types import Binary as _Binary
from kvstore.types import item_size as _ref_item_size

__all__ = [
    "EXT_N", "EXT_B", "EXT_SS", "EXT_NS", "EXT_BS",
    "encode_number", "key_bytes", "hash_component", "storage_key", "partition_prefix",
    "delimited_sort_component", "index_key", "composite_index_key", "sort_bound", "pack_item", "unpack_item",
    "item_size", "from_wire", "to_wire", "item_from_wire", "item_to_wire", "item_json", "items_json",
    "json_needs_stdlib",
]

EXT_N, EXT_B, EXT_SS, EXT_NS, EXT_BS = 1, 2, 3, 4, 5

cdef object Decimal = _Decimal
cdef object Binary = _Binary
cdef object _object_new = object.__new__


class _Fallback(Exception):
    """Raised inside the fast paths for input they do not cover: the reference decides."""


cdef enum:
    # Nesting the fast paths follow before they hand over (items nest at most 32 levels).
    MAX_DEPTH = 100
    # Size of the encoder's stack buffer; bigger items move to the heap.
    STACK_BUFFER = 1024
    # The ext type codes, as C constants.
    C_EXT_N = 1
    C_EXT_B = 2
    C_EXT_SS = 3
    C_EXT_NS = 4
    C_EXT_BS = 5


# ------------------------------------------------------------------ crc32
# zlib's CRC-32 (reflected polynomial 0xEDB88320), table-driven; computed here so
# the build needs no zlib headers.  Keys are short, one byte per step is enough.

cdef uint32_t _crc_table[256]


cdef void _init_crc_table():
    cdef uint32_t c
    cdef int n, k
    for n in range(256):
        c = n
        for k in range(8):
            c = (0xEDB88320 ^ (c >> 1)) if (c & 1) else (c >> 1)
        _crc_table[n] = c


_init_crc_table()


cdef inline uint32_t _crc32(uint32_t crc, const unsigned char* p, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    crc = ~crc
    for i in range(n):
        crc = _crc_table[(crc ^ p[i]) & 0xFF] ^ (crc >> 8)
    return ~crc


cdef inline void _put_be32(unsigned char* p, uint32_t v) noexcept nogil:
    p[0] = v >> 24
    p[1] = v >> 16
    p[2] = v >> 8
    p[3] = v


# ------------------------------------------------------------------ numbers as keys

cdef inline bint _is_digit(char c) noexcept nogil:
    return c'0' <= c <= c'9'


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


cdef inline object _decimal_text(object value):
    """``format(value, "f")`` for a Decimal, via the cheaper ``str`` when that is plain already.

    ``str`` switches to exponent notation for exponents > 0 or < -6, with "E" or
    (in a context with ``capitals=0``) "e"; without one it is the plain form.
    """
    text = str(value)
    cdef const char* p = <const char*>PyUnicode_DATA(text)
    cdef Py_ssize_t i, n = PyUnicode_GET_LENGTH(text)
    for i in range(n):
        if p[i] == c'E' or p[i] == c'e':
            return format(value, "f")
    return text


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
    cdef const char* sp = NULL
    cdef Py_ssize_t hn, tn = 0, sn = 0, zeros = 0, i, total
    cdef unsigned char lenbuf[2]
    cdef unsigned char* out
    cdef bint escape = False
    hown = _raw(hash_value, &hp, &hn)
    if hn > 0xFFFF:
        raise _Fallback
    town = None
    if tail is not None:
        town = _raw(tail, &tp, &tn)
        if delimited_tail and type(tail) is not Decimal:
            escape = True
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


# ------------------------------------------------------------------ msgpack encoder
# Writes the bytes msgpack.packb(item, default=_pycore._default, use_bin_type=True,
# strict_types=True) writes: the smallest header for every length and integer.

cdef int _grow(Writer* w, Py_ssize_t extra) except -1:
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


cdef inline void _be(unsigned char* p, uint64_t v, int n) noexcept nogil:
    cdef int i
    for i in range(n):
        p[i] = (v >> (8 * (n - 1 - i))) & 0xFF


cdef inline int _put(Writer* w, const void* data, Py_ssize_t n) except -1:
    _need(w, n)
    memcpy(w.buf + w.len, data, n)
    w.len += n
    return 0


cdef int _header(Writer* w, Py_ssize_t n, int fix, int fixbits, int marker8, int marker16,
                 int marker32) except -1:
    """Length header: a fix-format byte when ``n`` fits in ``fixbits`` bits, else 8/16/32-bit."""
    cdef unsigned char* p
    _need(w, 5)
    p = w.buf + w.len
    if fix >= 0 and n < (1 << fixbits):
        p[0] = fix | n
        w.len += 1
    elif marker8 >= 0 and n <= 0xFF:
        p[0] = marker8
        p[1] = n
        w.len += 2
    elif n <= 0xFFFF:
        p[0] = marker16
        _be(p + 1, n, 2)
        w.len += 3
    elif n <= 0xFFFFFFFF:
        p[0] = marker32
        _be(p + 1, n, 4)
        w.len += 5
    else:
        raise _Fallback
    return 0


cdef inline int _str_header(Writer* w, Py_ssize_t n) except -1:
    return _header(w, n, 0xA0, 5, 0xD9, 0xDA, 0xDB)


cdef inline int _bin_header(Writer* w, Py_ssize_t n) except -1:
    return _header(w, n, -1, 0, 0xC4, 0xC5, 0xC6)


cdef inline int _array_header(Writer* w, Py_ssize_t n) except -1:
    return _header(w, n, 0x90, 4, -1, 0xDC, 0xDD)


cdef inline int _map_header(Writer* w, Py_ssize_t n) except -1:
    return _header(w, n, 0x80, 4, -1, 0xDE, 0xDF)


cdef int _ext_header(unsigned char* p, Py_ssize_t n, int code) except -1:
    """Write an ext header for ``n`` data bytes at ``p`` (room for 6); return its length."""
    cdef int h
    if n == 1:
        p[0] = 0xD4
        h = 1
    elif n == 2:
        p[0] = 0xD5
        h = 1
    elif n == 4:
        p[0] = 0xD6
        h = 1
    elif n == 8:
        p[0] = 0xD7
        h = 1
    elif n == 16:
        p[0] = 0xD8
        h = 1
    elif n <= 0xFF:
        p[0] = 0xC7
        p[1] = n
        h = 2
    elif n <= 0xFFFF:
        p[0] = 0xC8
        _be(p + 1, n, 2)
        h = 3
    elif n <= 0xFFFFFFFF:
        p[0] = 0xC9
        _be(p + 1, n, 4)
        h = 5
    else:
        raise _Fallback
    p[h] = code
    return h + 1


cdef int _pack_ext(Writer* w, int code, const char* data, Py_ssize_t n) except -1:
    _need(w, n + 6)
    w.len += _ext_header(w.buf + w.len, n, code)
    memcpy(w.buf + w.len, data, n)
    w.len += n
    return 0


cdef int _pack_str(Writer* w, object s) except -1:
    cdef const char* p
    cdef Py_ssize_t n
    if PyUnicode_IS_ASCII(s):
        p = <const char*>PyUnicode_DATA(s)
        n = PyUnicode_GET_LENGTH(s)
    else:
        p = PyUnicode_AsUTF8AndSize(s, &n)  # msgpack does the same (and fails on lone surrogates)
    _str_header(w, n)
    return _put(w, p, n)


cdef int _pack_bytes(Writer* w, object b) except -1:
    cdef Py_ssize_t n = PyBytes_GET_SIZE(b)
    _bin_header(w, n)
    return _put(w, PyBytes_AS_STRING(b), n)


cdef int _pack_int(Writer* w, object o) except -1:
    cdef int overflow = 0
    cdef long long v = PyLong_AsLongLongAndOverflow(o, &overflow)
    cdef unsigned char* p
    if overflow < 0:
        raise _Fallback
    _need(w, 9)
    p = w.buf + w.len
    if overflow > 0:
        p[0] = 0xCF
        _be(p + 1, PyLong_AsUnsignedLongLong(o), 8)
        w.len += 9
    elif 0 <= v < 0x80 or -32 <= v < 0:
        p[0] = v & 0xFF
        w.len += 1
    elif v > 0:
        if v <= 0xFF:
            p[0] = 0xCC
            p[1] = v
            w.len += 2
        elif v <= 0xFFFF:
            p[0] = 0xCD
            _be(p + 1, v, 2)
            w.len += 3
        elif v <= 0xFFFFFFFF:
            p[0] = 0xCE
            _be(p + 1, v, 4)
            w.len += 5
        else:
            p[0] = 0xCF
            _be(p + 1, v, 8)
            w.len += 9
    elif v >= -0x80:
        p[0] = 0xD0
        p[1] = v & 0xFF
        w.len += 2
    elif v >= -0x8000:
        p[0] = 0xD1
        _be(p + 1, <uint64_t>v, 2)
        w.len += 3
    elif v >= -0x80000000:
        p[0] = 0xD2
        _be(p + 1, <uint64_t>v, 4)
        w.len += 5
    else:
        p[0] = 0xD3
        _be(p + 1, <uint64_t>v, 8)
        w.len += 9
    return 0


cdef int _pack_set(Writer* w, object s) except -1:
    """EXT_SS/NS/BS: an ext whose data is a packed array of the members."""
    cdef Py_ssize_t start, n, h
    cdef int code
    cdef unsigned char head[6]
    first = None
    for first in s:
        break
    ft = type(first)
    if ft is str:
        code = C_EXT_SS
    elif ft is Decimal:
        code = C_EXT_NS
    elif ft is Binary:
        code = C_EXT_BS
    else:
        raise _Fallback
    # Reserve room for the largest ext header, pack the array, then close the gap.
    _need(w, 6)
    start = w.len
    w.len += 6
    _array_header(w, len(s))
    for member in s:
        if type(member) is not ft:
            raise _Fallback
        if code == C_EXT_SS:
            _pack_str(w, member)
        elif code == C_EXT_NS:
            _pack_str(w, _decimal_text(member))
        else:
            value = member.value
            if type(value) is not bytes:
                raise _Fallback
            _pack_bytes(w, value)
    n = w.len - start - 6
    h = _ext_header(head, n, code)
    memmove(w.buf + start + h, w.buf + start + 6, n)
    memcpy(w.buf + start, head, h)
    w.len = start + h + n
    return 0


cdef int _pack(Writer* w, object o, int depth) except -1:
    cdef PyObject* k
    cdef PyObject* v
    cdef Py_ssize_t pos = 0, i, n
    cdef uint64_t bits
    cdef double d
    cdef unsigned char* p
    if depth > MAX_DEPTH:
        raise _Fallback
    t = type(o)
    if t is str:
        return _pack_str(w, o)
    if t is Decimal:
        text = _decimal_text(o)
        return _pack_ext(w, C_EXT_N, <const char*>PyUnicode_DATA(text), PyUnicode_GET_LENGTH(text))
    if t is dict:
        _map_header(w, PyDict_GET_SIZE(o))
        while PyDict_Next(o, &pos, &k, &v):
            if type(<object>k) is str:
                _pack_str(w, <object>k)
            else:
                _pack(w, <object>k, depth + 1)
            _pack(w, <object>v, depth + 1)
        return 0
    if o is None:
        return _put(w, b"\xc0", 1)
    if t is bool:
        return _put(w, b"\xc3" if o is True else b"\xc2", 1)
    if t is list:
        n = PyList_GET_SIZE(o)
        _array_header(w, n)
        for i in range(n):
            _pack(w, <object>PyList_GET_ITEM(o, i), depth + 1)
        return 0
    if t is Binary:
        value = o.value
        if type(value) is not bytes:
            raise _Fallback
        return _pack_ext(w, C_EXT_B, PyBytes_AS_STRING(value), PyBytes_GET_SIZE(value))
    if t is set or t is frozenset:
        return _pack_set(w, o)
    if t is int:
        return _pack_int(w, o)
    if t is float:
        d = PyFloat_AS_DOUBLE(o)
        memcpy(&bits, &d, 8)
        _need(w, 9)
        p = w.buf + w.len
        p[0] = 0xCB
        _be(p + 1, bits, 8)
        w.len += 9
        return 0
    if t is bytes:
        return _pack_bytes(w, o)
    raise _Fallback


def pack_item(item):
    """Bytes of a native item (an immutable snapshot: later changes to ``item`` do not leak in)."""
    cdef unsigned char stack[STACK_BUFFER]
    cdef Writer w
    w.buf = stack
    w.len = 0
    w.cap = STACK_BUFFER
    w.heap = False
    try:
        _pack(&w, item, 0)
        return PyBytes_FromStringAndSize(<const char*>w.buf, w.len)
    except Exception:
        return _ref.pack_item(item)
    finally:
        if w.heap:
            PyMem_Free(w.buf)


# ------------------------------------------------------------------ msgpack decoder
# Reads what msgpack.unpackb(data, ext_hook=_pycore._ext_hook, raw=False) reads,
# map keys interned as msgpack does.

cdef inline const unsigned char* _take(Reader* r, Py_ssize_t n) except NULL:
    cdef const unsigned char* p = r.data + r.pos
    if n < 0 or n > r.end - r.pos:
        raise _Fallback
    r.pos += n
    return p


cdef inline uint64_t _read_be(Reader* r, int n) except? 0xFFFFFFFFFFFFFFFF:
    cdef const unsigned char* p = _take(r, n)
    cdef uint64_t v = 0
    cdef int i
    for i in range(n):
        v = (v << 8) | p[i]
    return v


cdef inline object _read_str(Reader* r, Py_ssize_t n):
    return PyUnicode_DecodeUTF8(<const char*>_take(r, n), n, NULL)


cdef inline object _read_bin(Reader* r, Py_ssize_t n):
    return PyBytes_FromStringAndSize(<const char*>_take(r, n), n)


# Binary(data) runs a Python __init__ (~200 ns); when Binary is the plain
# __slots__ class kvstore.types defines, allocate it and fill its slot directly.
_binary_slot = Binary.__dict__.get("value")
cdef bint _binary_direct = type(_binary_slot) is _MemberDescriptor and Binary.__new__ is object.__new__


cdef inline object _binary(object data):
    if _binary_direct:
        return kvstore_new_with_slot(Binary, _binary_slot, data)
    b = _object_new(Binary)
    b.value = data
    return b


# Decimal(text) costs ~100 ns; numbers repeat (counters, prices, years), and a
# Decimal is immutable, so a direct-mapped cache from short texts to Decimals
# hands out shared instances.
cdef enum:
    NUMBER_CACHE_SIZE = 1024      # slots, a power of two
    NUMBER_CACHE_MAX_LENGTH = 22  # longer texts are converted each time

cdef struct CachedNumber:
    PyObject* value
    Py_ssize_t length
    char text[NUMBER_CACHE_MAX_LENGTH]

cdef CachedNumber _number_cache[NUMBER_CACHE_SIZE]


cdef inline uint32_t _fnv1a(const unsigned char* p, Py_ssize_t n) noexcept nogil:
    cdef uint32_t h = 2166136261u
    cdef Py_ssize_t i
    for i in range(n):
        h = (h ^ p[i]) * 16777619u
    return h


cdef object _read_number(const unsigned char* p, Py_ssize_t n):
    cdef CachedNumber* slot
    cdef PyObject* old
    if n > NUMBER_CACHE_MAX_LENGTH:
        return Decimal(PyUnicode_DecodeASCII(<const char*>p, n, NULL))
    slot = &_number_cache[_fnv1a(p, n) & (NUMBER_CACHE_SIZE - 1)]
    if slot.value != NULL and slot.length == n and memcmp(slot.text, p, n) == 0:
        return <object>slot.value
    value = Decimal(PyUnicode_DecodeASCII(<const char*>p, n, NULL))
    Py_INCREF(value)
    old = slot.value  # read again: the call above may have let another thread in
    slot.value = <PyObject*>value
    slot.length = n
    memcpy(slot.text, p, n)
    Py_XDECREF(old)
    return value


cdef Py_ssize_t _array_len(Reader* r) except -1:
    """Length of the array at the cursor (an ext set's data must be one)."""
    cdef unsigned char b = _take(r, 1)[0]
    if 0x90 <= b <= 0x9F:
        return b & 0x0F
    if b == 0xDC:
        return _read_be(r, 2)
    if b == 0xDD:
        return _read_be(r, 4)
    raise _Fallback


cdef object _read_set(const unsigned char* p, Py_ssize_t size, int code):
    cdef Reader sub
    cdef Py_ssize_t i, j, n, length
    cdef const unsigned char* text
    cdef unsigned char b
    sub.data = p
    sub.pos = 0
    sub.end = size
    n = _array_len(&sub)
    if n > size:
        raise _Fallback
    result = set()
    for i in range(n):
        b = _take(&sub, 1)[0]
        if code == C_EXT_BS:
            if b == 0xC4:
                member = _read_bin(&sub, _read_be(&sub, 1))
            elif b == 0xC5:
                member = _read_bin(&sub, _read_be(&sub, 2))
            elif b == 0xC6:
                member = _read_bin(&sub, _read_be(&sub, 4))
            else:
                raise _Fallback
            PySet_Add(result, _binary(member))
            continue
        if 0xA0 <= b <= 0xBF:
            length = b & 0x1F
        elif b == 0xD9:
            length = _read_be(&sub, 1)
        elif b == 0xDA:
            length = _read_be(&sub, 2)
        elif b == 0xDB:
            length = _read_be(&sub, 4)
        else:
            raise _Fallback
        if code == C_EXT_NS:
            # the reference decodes the member as UTF-8 first: non-ASCII text goes there
            text = _take(&sub, length)
            for j in range(length):
                if text[j] >= 0x80:
                    raise _Fallback
            PySet_Add(result, _read_number(text, length))
        else:
            PySet_Add(result, _read_str(&sub, length))
    if sub.pos != sub.end:
        raise _Fallback
    return result


cdef object _read_ext(Reader* r, Py_ssize_t n):
    cdef int code = <signed char>_take(r, 1)[0]
    cdef const unsigned char* p = _take(r, n)
    if code == C_EXT_N:
        return _read_number(p, n)
    if code == C_EXT_B:
        return _binary(PyBytes_FromStringAndSize(<const char*>p, n))
    if code == C_EXT_SS or code == C_EXT_NS or code == C_EXT_BS:
        return _read_set(p, n, code)
    raise _Fallback


# Attribute names repeat from item to item: a direct-mapped cache from the UTF-8
# bytes of short ASCII names to their interned str skips decoding and interning.
cdef enum:
    NAME_CACHE_SIZE = 1024      # slots, a power of two
    NAME_CACHE_MAX_LENGTH = 48  # longer names are decoded each time

cdef PyObject* _name_cache[NAME_CACHE_SIZE]


cdef object _read_name(Reader* r, Py_ssize_t n):
    """A map key of ``n`` UTF-8 bytes at the cursor, interned as msgpack interns it."""
    cdef const unsigned char* p = _take(r, n)
    cdef Py_ssize_t slot
    cdef PyObject* cached
    if n > NAME_CACHE_MAX_LENGTH:
        return kvstore_intern(PyUnicode_DecodeUTF8(<const char*>p, n, NULL))
    slot = _fnv1a(p, n) & (NAME_CACHE_SIZE - 1)
    cached = _name_cache[slot]
    if (cached != NULL and PyUnicode_GET_LENGTH(<object>cached) == n
            and memcmp(PyUnicode_DATA(<object>cached), p, n) == 0):
        return <object>cached
    name = kvstore_intern(PyUnicode_DecodeUTF8(<const char*>p, n, NULL))
    if PyUnicode_IS_ASCII(name):
        Py_INCREF(name)
        cached = _name_cache[slot]  # read again: the calls above may have let another thread in
        _name_cache[slot] = <PyObject*>name
        Py_XDECREF(cached)
    return name


cdef object _read_map(Reader* r, Py_ssize_t n, int depth):
    cdef Py_ssize_t i
    cdef unsigned char b
    if n > (r.end - r.pos) // 2:
        raise _Fallback
    result = {}
    for i in range(n):
        b = _take(r, 1)[0]
        if 0xA0 <= b <= 0xBF:
            key = _read_name(r, b & 0x1F)
        elif b == 0xD9:
            key = _read_name(r, _read_be(r, 1))
        elif b == 0xDA:
            key = _read_name(r, _read_be(r, 2))
        elif b == 0xDB:
            key = _read_name(r, _read_be(r, 4))
        else:
            r.pos -= 1
            key = _unpack(r, depth + 1)
            if type(key) is not bytes:  # strict_map_key: str or bytes only
                raise _Fallback
        PyDict_SetItem(result, key, _unpack(r, depth + 1))
    return result


cdef object _read_array(Reader* r, Py_ssize_t n, int depth):
    cdef Py_ssize_t i
    if n > r.end - r.pos:
        raise _Fallback
    result = PyList_New(n)
    for i in range(n):
        value = _unpack(r, depth + 1)
        Py_INCREF(value)
        PyList_SET_ITEM(result, i, value)
    return result


cdef object _unpack(Reader* r, int depth):
    cdef unsigned char b
    cdef uint64_t bits
    cdef uint32_t bits32
    cdef double d
    cdef float f
    if depth > MAX_DEPTH:
        raise _Fallback
    b = _take(r, 1)[0]
    if b <= 0x7F:
        return <long>b
    if b >= 0xE0:
        return <long><signed char>b
    if b >= 0xA0 and b <= 0xBF:
        return _read_str(r, b & 0x1F)
    if b <= 0x8F:
        return _read_map(r, b & 0x0F, depth)
    if b <= 0x9F:
        return _read_array(r, b & 0x0F, depth)
    if b == 0xC0:
        return None
    elif b == 0xC2:
        return False
    elif b == 0xC3:
        return True
    elif b == 0xC4:
        return _read_bin(r, _read_be(r, 1))
    elif b == 0xC5:
        return _read_bin(r, _read_be(r, 2))
    elif b == 0xC6:
        return _read_bin(r, _read_be(r, 4))
    elif b == 0xC7:
        return _read_ext(r, _read_be(r, 1))
    elif b == 0xC8:
        return _read_ext(r, _read_be(r, 2))
    elif b == 0xC9:
        return _read_ext(r, _read_be(r, 4))
    elif b == 0xCA:
        bits32 = <uint32_t>_read_be(r, 4)
        memcpy(&f, &bits32, 4)
        return <double>f
    elif b == 0xCB:
        bits = _read_be(r, 8)
        memcpy(&d, &bits, 8)
        return d
    elif b == 0xCC:
        return _read_be(r, 1)
    elif b == 0xCD:
        return _read_be(r, 2)
    elif b == 0xCE:
        return _read_be(r, 4)
    elif b == 0xCF:
        return _read_be(r, 8)
    elif b == 0xD0:
        return <long><signed char>_read_be(r, 1)
    elif b == 0xD1:
        return <long><int16_t>_read_be(r, 2)
    elif b == 0xD2:
        return <long><int32_t>_read_be(r, 4)
    elif b == 0xD3:
        return <long long><int64_t>_read_be(r, 8)
    elif b == 0xD4:
        return _read_ext(r, 1)
    elif b == 0xD5:
        return _read_ext(r, 2)
    elif b == 0xD6:
        return _read_ext(r, 4)
    elif b == 0xD7:
        return _read_ext(r, 8)
    elif b == 0xD8:
        return _read_ext(r, 16)
    elif b == 0xD9:
        return _read_str(r, _read_be(r, 1))
    elif b == 0xDA:
        return _read_str(r, _read_be(r, 2))
    elif b == 0xDB:
        return _read_str(r, _read_be(r, 4))
    elif b == 0xDC:
        return _read_array(r, _read_be(r, 2), depth)
    elif b == 0xDD:
        return _read_array(r, _read_be(r, 4), depth)
    elif b == 0xDE:
        return _read_map(r, _read_be(r, 2), depth)
    elif b == 0xDF:
        return _read_map(r, _read_be(r, 4), depth)
    raise _Fallback


def unpack_item(data):
    """A fresh native item from ``pack_item`` bytes."""
    cdef Reader r
    if type(data) is bytes:
        r.data = <const unsigned char*>PyBytes_AS_STRING(data)
        r.pos = 0
        r.end = PyBytes_GET_SIZE(data)
        try:
            result = _unpack(&r, 0)
            if r.pos == r.end:
                return result
        except Exception:
            pass
    return _ref.unpack_item(data)


# ------------------------------------------------------------------ item size
# kvstore.types.item_size: UTF-8 lengths counted from the code points (no
# encoding, lone surrogates count 3 bytes as with "surrogatepass").

cdef Py_ssize_t _utf8_len(object s) except -1:
    cdef Py_ssize_t i, n = PyUnicode_GET_LENGTH(s), total
    cdef int kind
    cdef void* data
    cdef Py_UCS4 c
    if PyUnicode_IS_ASCII(s):
        return n
    kind = PyUnicode_KIND(s)
    data = PyUnicode_DATA(s)
    total = n
    for i in range(n):
        c = PyUnicode_READ(kind, data, i)
        if c >= 0x80:
            total += 1 if c < 0x800 else (2 if c < 0x10000 else 3)
    return total


cdef Py_ssize_t _number_size(object value) except -1:
    """types._number_size from the plain text: 1 + ceil(digits / 2), +1 in the cases dynalite found."""
    text = _decimal_text(value)
    cdef const char* s = <const char*>PyUnicode_DATA(text)
    cdef Py_ssize_t n = PyUnicode_GET_LENGTH(text), i, k = 0, dot = -1, first = -1, last = -1
    cdef Py_ssize_t digits, adjusted, size
    cdef bint negative = n > 0 and s[0] == c'-'
    if not PyUnicode_IS_ASCII(text):
        raise _Fallback
    # k indexes the digits alone; ``dot`` is how many digits precede the point.
    for i in range(1 if negative else 0, n):
        if s[i] == c'.' and dot < 0:
            dot = k
        elif _is_digit(s[i]):
            if s[i] != c'0':
                if first < 0:
                    first = k
                last = k
            k += 1
        else:
            raise _Fallback
    if first < 0:
        return 1
    if dot < 0:
        dot = k
    digits = last - first + 1
    adjusted = dot - first - 1
    size = 1 + (digits + 1) // 2
    if digits % 2 == 0 and adjusted % 2 == 0:
        size += 1
    if negative:
        size += 1
    return size


cdef Py_ssize_t _value_size(object value, int depth) except -1:
    cdef PyObject* k
    cdef PyObject* v
    cdef Py_ssize_t pos = 0, i, n, total
    if depth > MAX_DEPTH:
        raise _Fallback
    t = type(value)
    if t is str:
        return _utf8_len(value)
    if t is Decimal:
        return _number_size(value)
    if t is Binary:
        raw = value.value
        if type(raw) is not bytes:
            raise _Fallback
        return PyBytes_GET_SIZE(raw)
    if t is bool or value is None:
        return 1
    if t is dict:
        total = 3
        while PyDict_Next(value, &pos, &k, &v):
            if type(<object>k) is not str:
                raise _Fallback
            total += 1 + _utf8_len(<object>k) + _value_size(<object>v, depth + 1)
        return total
    if t is list:
        n = PyList_GET_SIZE(value)
        total = 3 + n
        for i in range(n):
            total += _value_size(<object>PyList_GET_ITEM(value, i), depth + 1)
        return total
    if t is set or t is frozenset:
        total = 0
        for member in value:
            total += _value_size(member, depth + 1)
        return total
    raise _Fallback


def item_size(item):
    """DynamoDB's size of an item: UTF-8 names plus value sizes (``kvstore.types.item_size``)."""
    cdef PyObject* k
    cdef PyObject* v
    cdef Py_ssize_t pos = 0, total = 0
    if type(item) is dict:
        try:
            while PyDict_Next(item, &pos, &k, &v):
                if type(<object>k) is not str:
                    raise _Fallback
                total += _utf8_len(<object>k) + _value_size(<object>v, 1)
            return total
        except Exception:
            pass
    return _ref_item_size(item)


# ------------------------------------------------------------------ DynamoDB JSON
# kvstore.types.from_wire / to_wire and their item forms, for the wire face.
# The fast paths take well-formed values only: any error or oddity (a wrong JSON
# type, a number not already in canonical plain form, bad base64, a lone
# surrogate, duplicates in a set, nesting too deep, ...) raises _Fallback and
# the *whole* value goes to the reference, so which error comes first and its
# message are the reference's.  ``tests/test_core_wire.py`` checks agreement.

cdef extern from "Python.h":
    object PyUnicode_New(Py_ssize_t size, Py_UCS4 maxchar)

from kvstore import limits as _limits

cdef Py_ssize_t _max_nesting = _limits.MAX_NESTING_DEPTH
cdef Py_ssize_t _max_digits = _limits.MAX_NUMBER_DIGITS
cdef Py_ssize_t _max_exponent = _limits.MAX_NUMBER_EXPONENT
cdef Py_ssize_t _min_exponent = _limits.MIN_NUMBER_EXPONENT

cdef enum:
    TAG_S = 1
    TAG_N
    TAG_B
    TAG_BOOL
    TAG_NULL
    TAG_M
    TAG_L
    TAG_SS
    TAG_NS
    TAG_BS


cdef int _tag(object name):
    """The TAG_* code of an AttributeValue member name, 0 for any other name."""
    cdef const char* p
    cdef Py_ssize_t n
    if type(name) is not str or not PyUnicode_IS_ASCII(name):
        return 0
    p = <const char*>PyUnicode_DATA(name)
    n = PyUnicode_GET_LENGTH(name)
    if n == 1:
        if p[0] == c'S':
            return TAG_S
        if p[0] == c'N':
            return TAG_N
        if p[0] == c'M':
            return TAG_M
        if p[0] == c'L':
            return TAG_L
        if p[0] == c'B':
            return TAG_B
    elif n == 2 and p[1] == c'S':
        if p[0] == c'S':
            return TAG_SS
        if p[0] == c'N':
            return TAG_NS
        if p[0] == c'B':
            return TAG_BS
    elif n == 4:
        if memcmp(p, b"BOOL", 4) == 0:
            return TAG_BOOL
        if memcmp(p, b"NULL", 4) == 0:
            return TAG_NULL
    return 0


cdef bint _has_surrogate(object s):
    """Whether a str holds a lone surrogate (which UTF-8 cannot carry: the reference rejects it)."""
    cdef int kind = PyUnicode_KIND(s)
    cdef void* data
    cdef Py_ssize_t i
    cdef Py_UCS4 c
    if kind == 1:
        return False
    data = PyUnicode_DATA(s)
    for i in range(PyUnicode_GET_LENGTH(s)):
        c = PyUnicode_READ(kind, data, i)
        if 0xD800 <= c <= 0xDFFF:
            return True
    return False


cdef inline object _wire_string(object v):
    if type(v) is not str or (not PyUnicode_IS_ASCII(v) and _has_surrogate(v)):
        raise _Fallback
    return v


cdef object _wire_number(object v):
    """The Decimal of number text that is already canonical and plain (what
    ``types.canonical_number`` returns unchanged): ``-?(0|[1-9]d*)(.d*[1-9])?``,
    not ``-0``, at most 38 significant digits, exponent in range.  Else _Fallback."""
    cdef const char* s
    cdef Py_ssize_t n, i, start, int_end, frac_start = 0, first, last, sig, adjusted
    if type(v) is not str or not PyUnicode_IS_ASCII(v):
        raise _Fallback
    s = <const char*>PyUnicode_DATA(v)
    n = PyUnicode_GET_LENGTH(v)
    start = 1 if n and s[0] == c'-' else 0
    if start >= n:
        raise _Fallback
    if s[start] == c'0':
        i = start + 1
    else:
        i = start
        while i < n and _is_digit(s[i]):
            i += 1
        if i == start:
            raise _Fallback
    int_end = i
    if i < n:
        if s[i] != c'.':
            raise _Fallback
        i += 1
        frac_start = i
        while i < n and _is_digit(s[i]):
            i += 1
        if i != n or i == frac_start or s[n - 1] == c'0':
            raise _Fallback
    if s[start] == c'0':
        if int_end == n:
            if start:
                raise _Fallback           # "-0": canonical is "0"
            return _read_number(<const unsigned char*>s, n)
        first = frac_start                # 0.000ddd: the point is followed by a non-zero digit somewhere
        while s[first] == c'0':
            first += 1
        sig = n - first
        adjusted = frac_start - first - 1
    else:
        if int_end == n:                  # trailing zeros of an integer are not significant
            last = n - 1
            while s[last] == c'0':
                last -= 1
            sig = last - start + 1
        else:
            sig = (int_end - start) + (n - frac_start)
        adjusted = int_end - start - 1
    if sig > _max_digits or adjusted > _max_exponent or adjusted < _min_exponent:
        raise _Fallback
    return _read_number(<const unsigned char*>s, n)


# base64 (RFC 4648 alphabet, "=" padding), as base64.b64decode(validate=True) / b64encode.
cdef signed char _b64_value[256]
cdef const char* _B64_DIGITS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


cdef void _init_b64():
    cdef int i
    for i in range(256):
        _b64_value[i] = -1
    for i in range(64):
        _b64_value[<unsigned char>_B64_DIGITS[i]] = i


_init_b64()


cdef object _wire_binary(object v):
    """Binary of a valid base64 str (length a multiple of 4, at most two "=" at the end)."""
    cdef const unsigned char* s
    cdef unsigned char* out
    cdef Py_ssize_t n, i, body, pad = 0, w = 0
    cdef uint32_t quad
    if type(v) is not str or not PyUnicode_IS_ASCII(v):
        raise _Fallback
    s = <const unsigned char*>PyUnicode_DATA(v)
    n = PyUnicode_GET_LENGTH(v)
    if n % 4:
        raise _Fallback
    if n and s[n - 1] == c'=':
        pad = 2 if s[n - 2] == c'=' else 1
    body = n - pad
    for i in range(body):
        if _b64_value[s[i]] < 0:
            raise _Fallback
    result = PyBytes_FromStringAndSize(NULL, n // 4 * 3 - pad)
    out = <unsigned char*>PyBytes_AS_STRING(result)
    i = 0
    while i + 4 <= body:
        quad = ((<uint32_t>_b64_value[s[i]] << 18) | (<uint32_t>_b64_value[s[i + 1]] << 12)
                | (<uint32_t>_b64_value[s[i + 2]] << 6) | <uint32_t>_b64_value[s[i + 3]])
        out[w] = quad >> 16
        out[w + 1] = quad >> 8
        out[w + 2] = quad
        w += 3
        i += 4
    if pad:                               # the last quartet: 2 or 3 digits, extra bits ignored
        quad = (<uint32_t>_b64_value[s[i]] << 18) | (<uint32_t>_b64_value[s[i + 1]] << 12)
        if pad == 1:
            quad |= <uint32_t>_b64_value[s[i + 2]] << 6
        out[w] = quad >> 16
        if pad == 1:
            out[w + 1] = quad >> 8
    return _binary(result)


cdef object _b64encode(object raw):
    """base64.b64encode(raw).decode("ascii") of a bytes object."""
    cdef const unsigned char* p = <const unsigned char*>PyBytes_AS_STRING(raw)
    cdef Py_ssize_t n = PyBytes_GET_SIZE(raw), i = 0, w = 0
    cdef uint32_t triple
    text = PyUnicode_New((n + 2) // 3 * 4, 127)
    cdef unsigned char* out = <unsigned char*>PyUnicode_DATA(text)
    while i + 3 <= n:
        triple = (<uint32_t>p[i] << 16) | (<uint32_t>p[i + 1] << 8) | p[i + 2]
        out[w] = _B64_DIGITS[triple >> 18]
        out[w + 1] = _B64_DIGITS[(triple >> 12) & 63]
        out[w + 2] = _B64_DIGITS[(triple >> 6) & 63]
        out[w + 3] = _B64_DIGITS[triple & 63]
        w += 4
        i += 3
    if i < n:
        triple = <uint32_t>p[i] << 16
        if i + 1 < n:
            triple |= <uint32_t>p[i + 1] << 8
        out[w] = _B64_DIGITS[triple >> 18]
        out[w + 1] = _B64_DIGITS[(triple >> 12) & 63]
        out[w + 2] = _B64_DIGITS[(triple >> 6) & 63] if i + 1 < n else c'='
        out[w + 3] = c'='
    return text


cdef object _wire_set(object v, int tag):
    cdef Py_ssize_t i, n
    if type(v) is not list:
        raise _Fallback
    n = PyList_GET_SIZE(v)
    if n == 0:
        raise _Fallback
    result = set()
    for i in range(n):
        member = <object>PyList_GET_ITEM(v, i)
        if tag == TAG_SS:
            PySet_Add(result, _wire_string(member))
        elif tag == TAG_NS:
            PySet_Add(result, _wire_number(member))
        else:
            PySet_Add(result, _wire_binary(member))
    if PySet_GET_SIZE(result) != n:
        raise _Fallback                   # duplicates: the reference words the error
    return result


cdef object _from_wire(object av, Py_ssize_t depth):
    cdef PyObject* k
    cdef PyObject* v
    cdef Py_ssize_t pos = 0, i, n
    cdef int tag
    if type(av) is not dict or PyDict_GET_SIZE(av) != 1:
        raise _Fallback
    PyDict_Next(av, &pos, &k, &v)
    tag = _tag(<object>k)
    value = <object>v
    if tag == TAG_S:
        return _wire_string(value)
    if tag == TAG_N:
        return _wire_number(value)
    if tag == TAG_M:
        if type(value) is not dict or depth + 1 > _max_nesting:
            raise _Fallback
        return _map_from_wire(value, depth + 1)
    if tag == TAG_L:
        if type(value) is not list or depth + 1 > _max_nesting:
            raise _Fallback
        n = PyList_GET_SIZE(value)
        result = PyList_New(n)
        for i in range(n):
            member = _from_wire(<object>PyList_GET_ITEM(value, i), depth + 1)
            Py_INCREF(member)
            PyList_SET_ITEM(result, i, member)
        return result
    if tag == TAG_BOOL:
        if type(value) is not bool:
            raise _Fallback
        return value
    if tag == TAG_NULL:
        if value is not True:
            raise _Fallback
        return None
    if tag == TAG_B:
        return _wire_binary(value)
    if tag == TAG_SS or tag == TAG_NS or tag == TAG_BS:
        return _wire_set(value, tag)
    raise _Fallback


cdef dict _map_from_wire(object m, Py_ssize_t depth):
    """{name: native} of a map whose values sit at ``depth`` (names checked like the reference)."""
    cdef PyObject* k
    cdef PyObject* v
    cdef Py_ssize_t pos = 0
    result = {}
    while PyDict_Next(m, &pos, &k, &v):
        name = <object>k
        if type(name) is not str or (not PyUnicode_IS_ASCII(name) and _has_surrogate(name)):
            raise _Fallback
        PyDict_SetItem(result, name, _from_wire(<object>v, depth))
    return result


def from_wire(av, _depth=1):
    """Native value of one DynamoDB JSON AttributeValue (``{"S": "x"}`` -> ``"x"``)."""
    if type(_depth) is int:
        try:
            return _from_wire(av, _depth)
        except Exception:
            pass
    return _ref.from_wire(av, _depth)


def item_from_wire(item):
    """Native item of a DynamoDB JSON item (names and values checked)."""
    if type(item) is dict:
        try:
            return _map_from_wire(item, 1)
        except Exception:
            pass
    return _ref.item_from_wire(item)


cdef object _to_wire(object value, int depth):
    cdef PyObject* k
    cdef PyObject* v
    cdef Py_ssize_t pos = 0, i, n
    if depth > MAX_DEPTH:
        raise _Fallback
    t = type(value)
    if t is str:
        return {"S": value}
    if t is Decimal:
        return {"N": _decimal_text(value)}
    if t is dict:
        return {"M": _map_to_wire(value, depth + 1)}
    if t is bool:
        return {"BOOL": value}
    if value is None:
        return {"NULL": True}
    if t is list:
        n = PyList_GET_SIZE(value)
        out = PyList_New(n)
        for i in range(n):
            member = _to_wire(<object>PyList_GET_ITEM(value, i), depth + 1)
            Py_INCREF(member)
            PyList_SET_ITEM(out, i, member)
        return {"L": out}
    if t is Binary:
        raw = value.value
        if type(raw) is not bytes:
            raise _Fallback
        return {"B": _b64encode(raw)}
    if t is set or t is frozenset:
        return _set_to_wire(value)
    raise _Fallback


cdef object _set_to_wire(object value):
    """The reference's result: the first member's type names the set (SS takes the members as
    they are); NS and BS members must all be Decimal / Binary here, else _Fallback."""
    first = None
    for first in value:
        break
    else:
        raise _Fallback
    ft = type(first)
    if ft is str:
        return {"SS": list(value)}
    out = []
    if ft is Decimal:
        for member in value:
            if type(member) is not Decimal:
                raise _Fallback
            out.append(_decimal_text(member))
        return {"NS": out}
    if ft is Binary:
        for member in value:
            if type(member) is not Binary or type(member.value) is not bytes:
                raise _Fallback
            out.append(_b64encode(member.value))
        return {"BS": out}
    raise _Fallback


cdef dict _map_to_wire(object m, int depth):
    cdef PyObject* k
    cdef PyObject* v
    cdef Py_ssize_t pos = 0
    result = {}
    while PyDict_Next(m, &pos, &k, &v):
        PyDict_SetItem(result, <object>k, _to_wire(<object>v, depth))
    return result


def to_wire(value):
    """DynamoDB JSON of a native value (numbers in canonical plain form)."""
    try:
        return _to_wire(value, 0)
    except Exception:
        return _ref.to_wire(value)


def item_to_wire(item):
    """DynamoDB JSON of a native item."""
    if type(item) is dict:
        try:
            return _map_to_wire(item, 0)
        except Exception:
            pass
    return _ref.item_to_wire(item)


# ------------------------------------------------------------------ DynamoDB JSON text
# The JSON bytes of to_wire(...) written straight from native values, with no
# intermediate dicts: what json.dumps(..., ensure_ascii=False, separators=(",", ":"))
# writes, in UTF-8.  Anything else (a lone surrogate, which UTF-8 cannot carry;
# values outside the native model) goes to the reference.

cdef const char* _HEX = b"0123456789abcdef"
# Per byte: 0 when it is written as is, else the letter of its two-character escape
# ("u" for the \u00XX form).  Bytes of UTF-8 sequences are >= 0x80: written as is.
cdef unsigned char _json_escape[256]


cdef void _init_json_escape():
    cdef int i
    for i in range(256):
        _json_escape[i] = c'u' if i < 0x20 else 0
    _json_escape[c'"'] = c'"'
    _json_escape[c'\\'] = c'\\'
    _json_escape[c'\n'] = c'n'
    _json_escape[c'\r'] = c'r'
    _json_escape[c'\t'] = c't'
    _json_escape[0x08] = c'b'
    _json_escape[0x0C] = c'f'


_init_json_escape()


cdef inline bint _word_needs_escape(const unsigned char* p) noexcept nogil:
    """Whether any of 8 bytes is below 0x20, a quote or a backslash (bit tricks on one word;
    a borrow may flag a neighbour too, which only sends the word to the byte loop)."""
    cdef uint64_t v, q, b
    memcpy(&v, p, 8)
    q = v ^ 0x2222222222222222ULL
    b = v ^ 0x5C5C5C5C5C5C5C5CULL
    return ((((v - 0x2020202020202020ULL) & ~v)
             | ((q - 0x0101010101010101ULL) & ~q)
             | ((b - 0x0101010101010101ULL) & ~b)) & 0x8080808080808080ULL) != 0


cdef int _json_text(Writer* w, const unsigned char* p, Py_ssize_t n) except -1:
    """A JSON string of UTF-8 bytes: quote, backslash and control characters escaped as json does."""
    cdef Py_ssize_t i = 0, start
    cdef unsigned char c, e
    cdef unsigned char* out
    _need(w, n + 2)
    w.buf[w.len] = c'"'
    w.len += 1
    while True:
        start = i
        while i + 8 <= n and not _word_needs_escape(p + i):
            i += 8
        while i < n and _json_escape[p[i]] == 0:
            i += 1
        if i > start:
            _put(w, p + start, i - start)
        if i >= n:
            break
        c = p[i]
        e = _json_escape[c]
        i += 1
        _need(w, 6)
        out = w.buf + w.len
        out[0] = c'\\'
        out[1] = e
        if e == c'u':
            out[2] = c'0'
            out[3] = c'0'
            out[4] = _HEX[c >> 4]
            out[5] = _HEX[c & 15]
            w.len += 6
        else:
            w.len += 2
    return _put(w, b'"', 1)


cdef int _json_str(Writer* w, object s) except -1:
    cdef const char* p
    cdef Py_ssize_t n
    if type(s) is not str:
        raise _Fallback
    if PyUnicode_IS_ASCII(s):
        p = <const char*>PyUnicode_DATA(s)
        n = PyUnicode_GET_LENGTH(s)
    else:
        if _has_surrogate(s):
            raise _Fallback
        p = PyUnicode_AsUTF8AndSize(s, &n)
    return _json_text(w, <const unsigned char*>p, n)


cdef int _json_ascii(Writer* w, object s) except -1:
    """A JSON string of ASCII text that needs no escaping (number text, base64)."""
    cdef Py_ssize_t n = PyUnicode_GET_LENGTH(s)
    _need(w, n + 2)
    w.buf[w.len] = c'"'
    memcpy(w.buf + w.len + 1, PyUnicode_DATA(s), n)
    w.buf[w.len + 1 + n] = c'"'
    w.len += n + 2
    return 0


cdef int _json_number(Writer* w, object d) except -1:
    text = _decimal_text(d)
    if not PyUnicode_IS_ASCII(text):
        raise _Fallback
    return _json_ascii(w, text)


cdef int _json_binary(Writer* w, object b) except -1:
    raw = b.value
    if type(raw) is not bytes:
        raise _Fallback
    return _json_ascii(w, _b64encode(raw))


cdef int _json_set(Writer* w, object value) except -1:
    cdef bint first_member = True
    first = None
    for first in value:
        break
    else:
        raise _Fallback
    ft = type(first)
    if ft is str:
        _put(w, b'{"SS":[', 7)
    elif ft is Decimal:
        _put(w, b'{"NS":[', 7)
    elif ft is Binary:
        _put(w, b'{"BS":[', 7)
    else:
        raise _Fallback
    for member in value:
        if type(member) is not ft:
            raise _Fallback
        if not first_member:
            _put(w, b",", 1)
        first_member = False
        if ft is str:
            _json_str(w, member)
        elif ft is Decimal:
            _json_number(w, member)
        else:
            _json_binary(w, member)
    return _put(w, b"]}", 2)


cdef int _json_map(Writer* w, object m, int depth) except -1:
    """``{"name":<AttributeValue>,...}`` of a native map (an item, or the inside of an M)."""
    cdef PyObject* k
    cdef PyObject* v
    cdef Py_ssize_t pos = 0
    cdef bint first = True
    _put(w, b"{", 1)
    while PyDict_Next(m, &pos, &k, &v):
        if not first:
            _put(w, b",", 1)
        first = False
        _json_str(w, <object>k)
        _put(w, b":", 1)
        _json_value(w, <object>v, depth)
    return _put(w, b"}", 1)


cdef int _json_value(Writer* w, object value, int depth) except -1:
    """The AttributeValue JSON of a native value (``{"S":"x"}``, ...)."""
    cdef Py_ssize_t i, n
    if depth > MAX_DEPTH:
        raise _Fallback
    t = type(value)
    if t is str:
        _put(w, b'{"S":', 5)
        _json_str(w, value)
        return _put(w, b"}", 1)
    if t is Decimal:
        _put(w, b'{"N":', 5)
        _json_number(w, value)
        return _put(w, b"}", 1)
    if t is dict:
        _put(w, b'{"M":', 5)
        _json_map(w, value, depth + 1)
        return _put(w, b"}", 1)
    if t is bool:
        if value:
            return _put(w, b'{"BOOL":true}', 13)
        return _put(w, b'{"BOOL":false}', 14)
    if value is None:
        return _put(w, b'{"NULL":true}', 13)
    if t is list:
        _put(w, b'{"L":[', 6)
        n = PyList_GET_SIZE(value)
        for i in range(n):
            if i:
                _put(w, b",", 1)
            _json_value(w, <object>PyList_GET_ITEM(value, i), depth + 1)
        return _put(w, b"]}", 2)
    if t is Binary:
        _put(w, b'{"B":', 5)
        _json_binary(w, value)
        return _put(w, b"}", 1)
    if t is set or t is frozenset:
        return _json_set(w, value)
    raise _Fallback


cdef bytes _written(Writer* w):
    return PyBytes_FromStringAndSize(<const char*>w.buf, w.len)


def item_json(item):
    """JSON bytes of ``item_to_wire(item)`` (compact, UTF-8, escaped as the json module does)."""
    cdef unsigned char stack[STACK_BUFFER]
    cdef Writer w
    w.buf = stack
    w.len = 0
    w.cap = STACK_BUFFER
    w.heap = False
    try:
        if type(item) is not dict:
            raise _Fallback
        _json_map(&w, item, 1)
        return _written(&w)
    except Exception:
        pass
    finally:
        if w.heap:
            PyMem_Free(w.buf)
    return _ref.item_json(item)


def items_json(items):
    """JSON bytes of ``[item_to_wire(item) for item in items]``."""
    cdef unsigned char stack[STACK_BUFFER]
    cdef Writer w
    cdef Py_ssize_t i, n
    w.buf = stack
    w.len = 0
    w.cap = STACK_BUFFER
    w.heap = False
    try:
        if type(items) is not list:
            raise _Fallback
        n = PyList_GET_SIZE(items)
        _put(&w, b"[", 1)
        for i in range(n):
            item = <object>PyList_GET_ITEM(items, i)
            if type(item) is not dict:
                raise _Fallback
            if i:
                _put(&w, b",", 1)
            _json_map(&w, item, 1)
        _put(&w, b"]", 1)
        return _written(&w)
    except Exception:
        pass
    finally:
        if w.heap:
            PyMem_Free(w.buf)
    return _ref.items_json(items)


# ------------------------------------------------------------------ JSON guard
# orjson reads an integer beyond 64 bits as a float, where the json module keeps
# it exact, and takes deeper nesting than json can; the wire face asks this
# first and parses such bodies with json.

cdef enum:
    LONG_INTEGER_DIGITS = 19      # every integer of at most 18 digits fits in 64 bits
    JSON_NESTING = 500            # json parses this deep from any stack (its limit is ~1000 frames)


cdef bint _needs_stdlib(const unsigned char* p, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i = 0, run = 0, depth = 0, k
    cdef const unsigned char* q
    cdef unsigned char c
    while i < n:
        c = p[i]
        i += 1
        if c'0' <= c <= c'9':
            run += 1
            if run >= LONG_INTEGER_DIGITS:
                return True
            continue
        run = 0
        if c == c'"':
            # the closing quote: the next one not escaped (after an even run of backslashes)
            while True:
                q = <const unsigned char*>memchr(p + i, c'"', n - i)
                if q == NULL:
                    return True       # the string does not end
                k = q - p
                i = k + 1
                while k > 0 and p[k - 1] == c'\\':
                    k -= 1
                if (i - 1 - k) % 2 == 0:
                    break
        elif c == c'[' or c == c'{':
            depth += 1
            if depth > JSON_NESTING:
                return True
        elif c == c']' or c == c'}':
            depth -= 1
    return False


def json_needs_stdlib(data):
    """Whether JSON text ``data`` (bytes) is for the json module rather than orjson: outside its
    strings, a run of 19 or more digits or nesting deeper than 500; or a string that does not end."""
    if type(data) is not bytes:
        return _ref.json_needs_stdlib(data)
    return _needs_stdlib(<const unsigned char*>PyBytes_AS_STRING(data), PyBytes_GET_SIZE(data))
