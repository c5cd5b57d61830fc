# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False, infer_types=True
"""Native-value primitives the compiled modules share (declared in ``_cvalues.pxd``).

``_Fallback`` is what a fast path raises for input it does not cover: the
public function catches it and hands the call to the pure-Python reference
(``kvstore._pycore``), so odd inputs get the reference's result or exception.
"""

from cpython.object cimport PyObject
from cpython.ref cimport Py_INCREF, Py_XDECREF
from libc.stdint cimport uint32_t
from libc.string cimport memcmp, memcpy

from kvstore._capi cimport *

from decimal import Decimal as _Decimal
from types import MemberDescriptorType as _MemberDescriptor

from kvstore.types import Binary as _Binary

cdef object Decimal = _Decimal
cdef object Binary = _Binary
cdef object _object_new = object.__new__


class _Fallback(Exception):
    """Raised inside the fast paths for input they do not cover: the reference decides."""


cdef object _decimal_text(object value):
    """``format(value, "f")`` for a Decimal, via the cheaper ``str`` when that is plain already.

    ``str`` switches to exponent notation for exponents > 0 or < -6, with "E" or
    (in a context with ``capitals=0``) "e"; without one it is the plain form.
    """
    cdef Py_ssize_t i = _small_index(value)
    if i >= 0:
        return <object>PyList_GET_ITEM(_small_texts, i)
    text = str(value)
    cdef const char* p = <const char*>PyUnicode_DATA(text)
    cdef Py_ssize_t n = PyUnicode_GET_LENGTH(text)
    for i in range(n):
        if p[i] == c'E' or p[i] == c'e':
            return format(value, "f")
    return text

# Binary(data) runs a Python __init__ (~200 ns); when Binary is the plain
# __slots__ class kvstore.types defines, allocate it and fill its slot directly.
_binary_slot = Binary.__dict__.get("value")
cdef bint _binary_direct = type(_binary_slot) is _MemberDescriptor and Binary.__new__ is object.__new__


cdef object _binary(object data):
    if _binary_direct:
        return kvstore_new_with_slot(Binary, _binary_slot, data)
    b = _object_new(Binary)
    b.value = data
    return b


# ------------------------------------------------------------------ small integers
# Counters are small integers: the Decimals of SMALL_MIN..SMALL_MIN + SMALL_COUNT - 1 are made once
# and shared (a Decimal is immutable; ``Decimal(n)`` is a call of the type, ~500 instructions), by
# ``_read_number`` for their canonical texts and by ``item_from_python`` for small ints.  Which of
# them an object is, is found from its address (``_small_index``), so the arithmetic of two of them
# (``SET cnt = cnt + :one``) and their text need no Decimal call: each is ``Decimal(n)``, exponent 0,
# whose ``str`` is ``str(n)`` (never "-0": 0 is ``Decimal(0)``).

cdef list _small_decimals = [Decimal(n) for n in range(SMALL_MIN, SMALL_MIN + SMALL_COUNT)]
cdef list _small_texts = [str(n) for n in range(SMALL_MIN, SMALL_MIN + SMALL_COUNT)]
cdef PyObject* _small_keys[SMALL_SLOTS]
cdef short _small_values[SMALL_SLOTS]


cdef inline size_t _small_slot(PyObject* o) noexcept nogil:
    return ((<size_t>o >> 4) * <size_t>0x9E3779B97F4A7C15ULL) >> (8 * sizeof(size_t) - SMALL_SLOT_BITS)


cdef int _small_fill() except -1:
    cdef Py_ssize_t i
    cdef size_t s
    cdef PyObject* o
    for i in range(SMALL_COUNT):
        o = PyList_GET_ITEM(_small_decimals, i)
        s = _small_slot(o)
        while _small_keys[s] != NULL:
            s = (s + 1) & (SMALL_SLOTS - 1)
        _small_keys[s] = o
        _small_values[s] = <short>i
    return 0


_small_fill()


cdef Py_ssize_t _small_index(object value) noexcept:
    """The position of ``value`` in the shared small Decimals (its value less SMALL_MIN), or -1 when
    it is not one of them (any other object, an equal Decimal included)."""
    cdef PyObject* o = <PyObject*>value
    cdef size_t s = _small_slot(o)
    cdef PyObject* k
    while True:
        k = _small_keys[s]
        if k == o:
            return _small_values[s]
        if k == NULL:
            return -1
        s = (s + 1) & (SMALL_SLOTS - 1)


cdef object _small_decimal(long long n):
    """The shared ``Decimal(n)``, or None when ``n`` is outside the shared range."""
    if SMALL_MIN <= n < SMALL_MIN + SMALL_COUNT:
        return <object>PyList_GET_ITEM(_small_decimals, n - SMALL_MIN)
    return None


cdef inline long _small_int_text(const unsigned char* p, Py_ssize_t n) noexcept nogil:
    """The value of ``p[:n]`` when it is the canonical text of a shared small integer
    (``-?[1-9][0-9]*`` or ``0``, in range), else NOT_SMALL."""
    cdef Py_ssize_t i = 0
    cdef long v = 0
    cdef bint negative = False
    if n == 1 and p[0] == c'0':
        return 0
    if n > 0 and p[0] == c'-':
        negative = True
        i = 1
    if i >= n or p[i] == c'0':
        return NOT_SMALL
    while i < n:
        if not c'0' <= p[i] <= c'9':
            return NOT_SMALL
        v = v * 10 + (p[i] - c'0')
        i += 1
    if negative:
        v = -v
    if SMALL_MIN <= v < SMALL_MIN + SMALL_COUNT:
        return v
    return NOT_SMALL


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


cdef object _read_number(const unsigned char* p, Py_ssize_t n):
    cdef CachedNumber* slot
    cdef PyObject* old
    cdef long v
    if n <= 5:                      # a small integer's text: its shared Decimal (see _small_decimal)
        v = _small_int_text(p, n)
        if v != NOT_SMALL:
            return <object>PyList_GET_ITEM(_small_decimals, v - SMALL_MIN)
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

