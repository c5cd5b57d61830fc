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
    text = str(value)
    cdef const char* p = <const char*>PyUnicode_DATA(text)
    cdef Py_ssize_t i, n = PyUnicode_GET_LENGTH(text)
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

