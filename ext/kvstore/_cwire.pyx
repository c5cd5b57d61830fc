# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False, infer_types=True
"""DynamoDB JSON, compiled: the wire face's conversions (``from_wire``,
``to_wire``, ``item_from_wire``, ``item_to_wire``), the JSON text of items
written without building the dicts (``item_json``, ``items_json``) and the JSON
guard (``json_needs_stdlib``), the twins of ``kvstore._pycore``'s.
"""

from cpython.object cimport PyObject
from cpython.ref cimport Py_INCREF
from libc.stdint cimport uint32_t, uint64_t
from libc.string cimport memchr, memcmp, memcpy

from kvstore._capi cimport *
from kvstore._cvalues cimport *

from decimal import Decimal as _Decimal

from kvstore import _pycore as _ref
from kvstore._cvalues import _Fallback
from kvstore.types import Binary as _Binary

cdef object Decimal = _Decimal
cdef object Binary = _Binary


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


# ------------------------------------------------------------------ the usual GetItem's answer
# kvstore._pycore.get_item_answer (the wire face's most frequent request, body bytes to answer
# bytes) for the usual body orjson reads, a key of plain S and N values and an item this module's
# writer takes: no Python frame, the item's JSON written behind '{"Item":' in one buffer.  Anything
# else goes to the twin, which decides it as the reference does.

from kvstore._citems cimport _unpack_bytes
from kvstore._ckeys cimport _encode_text
from kvstore._cread cimport _plain_number, _row_key
from kvstore._cvalues cimport C_EXT_N

cdef Py_ssize_t _max_hash_key = _limits.MAX_HASH_KEY_SIZE
cdef Py_ssize_t _max_range_key = _limits.MAX_RANGE_KEY_SIZE

# kvstore.clock.stopwatch (time.perf_counter) read in C: the clock kvstore._cmetrics reads
cdef extern from *:
    """
    #if PY_VERSION_HEX >= 0x030D0000
    static double kv_wire_stopwatch(void) {
        PyTime_t t;
        if (PyTime_PerfCounterRaw(&t) < 0) return 0.0;
        return PyTime_AsSecondsDouble(t);
    }
    #else
    static double kv_wire_stopwatch(void) { return _PyTime_AsSecondsDouble(_PyTime_GetPerfCounter()); }
    #endif
    """
    double kv_wire_stopwatch() nogil

# The usual body read in place: ``{"TableName": "<name>", "Key": {"<attr>": {"<tag>": "<text>"}, ...}}``
# (members in either order, one or two key attributes, JSON whitespace anywhere between tokens),
# every string printable ASCII without escapes.  orjson (and the json module) read such a body as
# exactly these strings, so the row key is built from the bytes (``_cread._row_key``, as
# ``wire_row_key`` builds it) with no dict or str made; any other body is parsed as before.

cdef struct _Text:
    const unsigned char* p
    Py_ssize_t n


cdef struct _GetItemBody:
    _Text table
    _Text attrs[2]
    _Text tags[2]
    _Text texts[2]
    Py_ssize_t count            # key attributes


cdef inline Py_ssize_t _blank(const unsigned char* p, Py_ssize_t i, Py_ssize_t n) noexcept:
    while i < n and (p[i] == c' ' or p[i] == c'\n' or p[i] == c'\r' or p[i] == c'\t'):
        i += 1
    return i


cdef Py_ssize_t _token(const unsigned char* p, Py_ssize_t i, Py_ssize_t n, unsigned char c) noexcept:
    """The index after ``c`` at ``i`` (whitespace before it skipped), or -1."""
    i = _blank(p, i, n)
    if i < n and p[i] == c:
        return i + 1
    return -1


cdef Py_ssize_t _text(const unsigned char* p, Py_ssize_t i, Py_ssize_t n, _Text* out) noexcept:
    """The index after a string at ``i`` (whitespace before it skipped) of printable ASCII and no
    escape, its characters in ``out``; -1 for anything else."""
    cdef Py_ssize_t start
    i = _blank(p, i, n)
    if i >= n or p[i] != c'"':
        return -1
    i += 1
    start = i
    while i < n and p[i] != c'"':
        if p[i] < 0x20 or p[i] > 0x7E or p[i] == c'\\':
            return -1
        i += 1
    if i >= n:
        return -1
    out.p = p + start
    out.n = i - start
    return i + 1


cdef inline bint _is(_Text t, const char* word, Py_ssize_t n) noexcept:
    return t.n == n and memcmp(t.p, word, n) == 0


cdef bint _read_get_item(const unsigned char* p, Py_ssize_t n, _GetItemBody* body) noexcept:
    """Whether ``p[:n]`` is the usual GetItem body (above), read into ``body``."""
    cdef _Text name
    cdef Py_ssize_t i, member
    cdef bint have_table = False, have_key = False
    i = _token(p, 0, n, c'{')
    for member in range(2):
        if member and i >= 0:
            i = _token(p, i, n, c',')
        if i < 0:
            return False
        i = _text(p, i, n, &name)
        if i < 0:
            return False
        i = _token(p, i, n, c':')
        if i < 0:
            return False
        if _is(name, "TableName", 9) and not have_table:
            have_table = True
            i = _text(p, i, n, &body.table)
        elif _is(name, "Key", 3) and not have_key:
            have_key = True
            i = _token(p, i, n, c'{')
            body.count = 0
            while i >= 0:
                if body.count == 2:
                    return False
                i = _text(p, i, n, &body.attrs[body.count])
                if i >= 0:
                    i = _token(p, i, n, c':')
                if i >= 0:
                    i = _token(p, i, n, c'{')
                if i >= 0:
                    i = _text(p, i, n, &body.tags[body.count])
                if i >= 0:
                    i = _token(p, i, n, c':')
                if i >= 0:
                    i = _text(p, i, n, &body.texts[body.count])
                if i >= 0:
                    i = _token(p, i, n, c'}')
                if i < 0:
                    return False
                body.count += 1
                i = _blank(p, i, n)
                if i < n and p[i] == c',':
                    i += 1
                elif i < n and p[i] == c'}':
                    i += 1
                    break
                else:
                    return False
        else:
            return False
    if i < 0:
        return False
    i = _token(p, i, n, c'}')
    if i < 0 or _blank(p, i, n) != n:
        return False
    # two attributes of one name are one in a dict: the general reading decides
    return not (body.count == 2 and body.attrs[0].n == body.attrs[1].n
                and memcmp(body.attrs[0].p, body.attrs[1].p, body.attrs[0].n) == 0)


cdef inline bint _names(_Text t, object name) noexcept:
    """Whether the characters of ``t`` are the str ``name``."""
    return (type(name) is str and PyUnicode_IS_ASCII(name) and PyUnicode_GET_LENGTH(name) == t.n
            and memcmp(PyUnicode_DATA(name), t.p, t.n) == 0)


cdef object _key_bytes(_Text text, object tag, Py_ssize_t most, const char** ptr, Py_ssize_t* size):
    """The owner of the key bytes of a key value read in place (``_cread._wire_key_raw`` of its
    dict: an S of 1 to ``most`` characters, an N in plain notation), or None."""
    if text.n == 0:
        return None
    if tag == "S":
        if text.n > most:
            return None
        ptr[0] = <const char*>text.p
        size[0] = text.n
        return tag                # the bytes are the body's
    if tag == "N" and _plain_number(<const char*>text.p, text.n):
        try:
            owner = _encode_text(PyUnicode_DecodeASCII(<const char*>text.p, text.n, NULL))
        except _Fallback:
            return None
        ptr[0] = PyBytes_AS_STRING(owner)
        size[0] = PyBytes_GET_SIZE(owner)
        return owner
    return None


cdef object _last_table_name = None       # the str of the last table name read in place


cdef object _table_name(_Text t):
    """The str of a table name read in place: the last one's when the same (its hash kept)."""
    global _last_table_name
    name = _last_table_name
    if name is not None and PyUnicode_GET_LENGTH(name) == t.n and memcmp(PyUnicode_DATA(name), t.p, t.n) == 0:
        return name
    name = PyUnicode_DecodeASCII(<const char*>t.p, t.n, NULL)
    _last_table_name = name
    return name


cdef object _body_row_key(_GetItemBody* body, object schema):
    """The row key of a body read in place, for ``schema``; None when ``wire_row_key`` of its Key would
    not build it from the text (the general reading decides then)."""
    cdef const char* hp = NULL
    cdef const char* rp = NULL
    cdef Py_ssize_t hn = 0, rn = 0, h = 0
    range_name = schema.range_name
    if body.count != (1 if range_name is None else 2):
        return None
    hash_name = schema.hash_name
    if not _names(body.attrs[0], hash_name):
        h = 1
        if body.count != 2 or not _names(body.attrs[1], hash_name):
            return None
    hash_tag = schema.hash_type
    if not _names(body.tags[h], hash_tag):
        return None
    hown = _key_bytes(body.texts[h], hash_tag, _max_hash_key, &hp, &hn)
    if hown is None or hn > 0xFFFF:
        return None
    if range_name is not None:
        range_tag = schema.range_type
        if not _names(body.attrs[1 - h], range_name) or not _names(body.tags[1 - h], range_tag):
            return None
        rown = _key_bytes(body.texts[1 - h], range_tag, _max_range_key, &rp, &rn)
        if rown is None:
            return None
    return _row_key(hp, hn, rp, rn)


cdef bint _get_item_ready = False
cdef object _orjson_loads = None          # orjson.loads when kvstore.server.wire reads with orjson
cdef object _wire_row_key = None
cdef object _read_units = None
cdef object _item_size = None
cdef Py_ssize_t _one_unit_packed = 0
cdef object _TABLE_NAME = kvstore_intern("TableName")
cdef object _KEY = kvstore_intern("Key")


cdef int _get_item_setup() except -1:
    """The functions get_item_answer calls (imported on first use: kvstore.server.wire imports
    this module)."""
    global _get_item_ready, _orjson_loads, _wire_row_key, _read_units, _item_size, _one_unit_packed
    from kvstore.server import wire
    from kvstore._cread import wire_row_key
    from kvstore._citems import item_size
    from kvstore.operations.common import read_units
    from kvstore.operations.get_item import _ONE_UNIT_PACKED
    _orjson_loads = wire._orjson_loads if wire._ORJSON else None
    _wire_row_key = wire_row_key
    _item_size = item_size
    _read_units = read_units
    _one_unit_packed = _ONE_UNIT_PACKED
    _get_item_ready = True
    return 0


cdef inline object _usual_body(object body, object member, PyObject** name, PyObject** value):
    """The usual request ``body`` (bytes orjson reads: ``_orjson_loads`` is set) parsed: a dict of just
    TableName (a str, borrowed into ``name[0]``) and ``member`` (a dict, borrowed into ``value[0]``),
    both alive as long as the dict returned; None for anything else (the general path answers it)."""
    cdef PyObject* found
    try:
        request = _orjson_loads(body)
    except Exception:   # noqa: BLE001 - the general path raises the SerializationException
        return None
    if type(request) is not dict or PyDict_GET_SIZE(request) != 2:
        return None
    found = kvstore_dict_get(request, _TABLE_NAME)
    if found == NULL or type(<object>found) is not str:
        return None
    name[0] = found
    found = kvstore_dict_get(request, member)
    if found == NULL or type(<object>found) is not dict:
        return None
    value[0] = found
    return request


def get_item_answer(engine, body):
    """``kvstore._pycore.get_item_answer``: the JSON body answering the usual GetItem ``body``, else None."""
    cdef PyObject* found
    cdef PyObject* value
    cdef _GetItemBody read
    if not _get_item_ready:
        _get_item_setup()
    if _orjson_loads is None:
        # the json module's backend (KVSTORE_JSON=json) escapes what this writer and orjson write as
        # UTF-8: its answers are the twin's, written by kvstore.server.wire
        return _ref.get_item_answer(engine, body)
    if engine.faults is not None:
        return None
    if type(body) is bytes and _read_get_item(<const unsigned char*>PyBytes_AS_STRING(body), PyBytes_GET_SIZE(body),
                                              &read):
        tables = engine.tables
        if type(tables) is dict:
            name = _table_name(read.table)
            found = kvstore_dict_get(tables, name)
            if found == NULL:
                return None
            table = <object>found
            row_key = _body_row_key(&read, table.schema)
            if row_key is not None:
                return _get_item_json(engine, table, name, row_key, body)
    if (type(body) is not bytes
            or _needs_stdlib(<const unsigned char*>PyBytes_AS_STRING(body), PyBytes_GET_SIZE(body))):
        return _ref.get_item_answer(engine, body)
    request = _usual_body(body, _KEY, &found, &value)
    if request is None:
        return None
    name = <object>found
    key = <object>value
    tables = engine.tables
    if type(tables) is not dict:
        return _ref.get_item_answer(engine, body)
    found = kvstore_dict_get(tables, name)
    if found == NULL:
        return None
    table = <object>found
    schema = table.schema
    row_key = _wire_row_key(key, schema.hash_name, schema.hash_type, schema.range_name, schema.range_type)
    if row_key is None:
        return _ref.get_item_answer(engine, body)
    return _get_item_json(engine, table, name, row_key, body)


# An item's JSON written straight from its packed bytes (kvstore._citems' msgpack), for the usual
# items: maps of ASCII names, ASCII strings, plain numbers, BOOL, NULL, L and M.  It is the text
# ``_json_map(unpack_item(packed))`` writes -- the same names and values in the same order -- with
# no dict, str or Decimal made.  A number is written as stored only when its text is in plain
# notation with its canonical digits (``_plain_number``: then ``format(Decimal(text), "f")`` is the
# text); anything else (another type, a binary or set, a non-ASCII string, a repeated name, nesting
# past PACKED_JSON_DEPTH) answers 0 and the item is unpacked and written as before.

cdef enum:
    PACKED_JSON_DEPTH = 32
    PACKED_MAP_NAMES = 32        # a map of more attributes is unpacked (its names are checked for repeats)


cdef inline bint _ascii_run(const unsigned char* p, Py_ssize_t n) noexcept:
    cdef Py_ssize_t i = 0
    cdef uint64_t v
    while i + 8 <= n:
        memcpy(&v, p + i, 8)
        if v & 0x8080808080808080ULL:
            return False
        i += 8
    while i < n:
        if p[i] >= 0x80:
            return False
        i += 1
    return True


cdef inline Py_ssize_t _big_endian(const unsigned char* p, int size) noexcept:
    cdef Py_ssize_t v = 0
    cdef int k
    for k in range(size):
        v = (v << 8) | p[k]
    return v


cdef inline Py_ssize_t _container_count(const unsigned char* p, Py_ssize_t n, Py_ssize_t* at, unsigned char b,
                                        unsigned char wide16) noexcept:
    """Entries of the msgpack map or array whose header byte ``b`` is at ``at[0]``: its low four bits
    (fixmap, fixarray), a 2-byte count (``b == wide16``: map 16, array 16) or a 4-byte one (``b ==
    wide16 + 1``); ``at[0]`` moved past the header.  -1 when the header runs past ``n``."""
    cdef Py_ssize_t a = at[0]
    cdef int size
    if b == wide16 or b == wide16 + 1:
        size = 2 if b == wide16 else 4
        if a + 1 + size > n:
            return -1
        at[0] = a + 1 + size
        return _big_endian(p + a + 1, size)
    at[0] = a + 1
    return b & 0x0F


cdef Py_ssize_t _packed_str(const unsigned char* p, Py_ssize_t n, Py_ssize_t* i) noexcept:
    """The length of an ASCII msgpack str at ``p[i[0]]``, the cursor moved to its first byte; -1
    for anything else."""
    cdef Py_ssize_t at = i[0], size
    cdef unsigned char b
    if at >= n:
        return -1
    b = p[at]
    if 0xA0 <= b <= 0xBF:
        size = b & 0x1F
        at += 1
    elif b == 0xD9 and at + 2 <= n:
        size = p[at + 1]
        at += 2
    elif b == 0xDA and at + 3 <= n:
        size = _big_endian(p + at + 1, 2)
        at += 3
    elif b == 0xDB and at + 5 <= n:
        size = _big_endian(p + at + 1, 4)
        at += 5
    else:
        return -1
    if size > n - at or not _ascii_run(p + at, size):
        return -1
    i[0] = at
    return size


cdef int _packed_map(Writer* w, const unsigned char* p, Py_ssize_t n, Py_ssize_t* i, Py_ssize_t count,
                     int depth) except -1:
    """``{"name":<AttributeValue>,...}`` of the ``count`` entries at the cursor; 0: not written here."""
    cdef Py_ssize_t k, j, size
    cdef const unsigned char* names[PACKED_MAP_NAMES]
    cdef Py_ssize_t sizes[PACKED_MAP_NAMES]
    if count > PACKED_MAP_NAMES:
        return 0
    _put(w, b"{", 1)
    for k in range(count):
        size = _packed_str(p, n, i)
        if size < 0:
            return 0
        for j in range(k):               # a repeated name is one entry of the unpacked dict
            if sizes[j] == size and memcmp(names[j], p + i[0], size) == 0:
                return 0
        names[k] = p + i[0]
        sizes[k] = size
        if k:
            _put(w, b",", 1)
        _json_text(w, p + i[0], size)
        i[0] += size
        _put(w, b":", 1)
        if _packed_value(w, p, n, i, depth) != 1:
            return 0
    _put(w, b"}", 1)
    return 1


cdef int _packed_value(Writer* w, const unsigned char* p, Py_ssize_t n, Py_ssize_t* i, int depth) except -1:
    """The AttributeValue JSON of the packed value at the cursor; 0: not written here."""
    cdef Py_ssize_t at = i[0], count, size, k
    cdef unsigned char b
    if at >= n or depth > PACKED_JSON_DEPTH:
        return 0
    b = p[at]
    if 0xA0 <= b <= 0xBF or 0xD9 <= b <= 0xDB:
        size = _packed_str(p, n, i)
        if size < 0:
            return 0
        _put(w, b'{"S":', 5)
        _json_text(w, p + i[0], size)
        i[0] += size
        return _put(w, b"}", 1) + 1
    if 0xC7 <= b <= 0xC9 or 0xD4 <= b <= 0xD8:
        if b == 0xC7 and at + 2 <= n:
            size = p[at + 1]
            at += 2
        elif b == 0xC8 and at + 3 <= n:
            size = _big_endian(p + at + 1, 2)
            at += 3
        elif b == 0xC9 and at + 5 <= n:
            size = _big_endian(p + at + 1, 4)
            at += 5
        elif b >= 0xD4:
            size = 1 << (b - 0xD4)
            at += 1
        else:
            return 0
        if at >= n or size > n - at - 1 or <signed char>p[at] != C_EXT_N:
            return 0
        at += 1
        if not _plain_number(<const char*>p + at, size):
            return 0
        _put(w, b'{"N":"', 6)
        _put(w, p + at, size)
        i[0] = at + size
        return _put(w, b'"}', 2) + 1
    if b == 0xC0:
        i[0] = at + 1
        return _put(w, b'{"NULL":true}', 13) + 1
    if b == 0xC2 or b == 0xC3:
        i[0] = at + 1
        if b == 0xC3:
            return _put(w, b'{"BOOL":true}', 13) + 1
        return _put(w, b'{"BOOL":false}', 14) + 1
    if 0x80 <= b <= 0x8F or b == 0xDE or b == 0xDF:
        count = _container_count(p, n, &at, b, 0xDE)
        if count < 0:
            return 0
        i[0] = at
        _put(w, b'{"M":', 5)
        if _packed_map(w, p, n, i, count, depth + 1) != 1:
            return 0
        return _put(w, b"}", 1) + 1
    if 0x90 <= b <= 0x9F or b == 0xDC or b == 0xDD:
        count = _container_count(p, n, &at, b, 0xDC)
        if count < 0:
            return 0
        if count > n - at:
            return 0
        i[0] = at
        _put(w, b'{"L":[', 6)
        for k in range(count):
            if k:
                _put(w, b",", 1)
            if _packed_value(w, p, n, i, depth + 1) != 1:
                return 0
        return _put(w, b"]}", 2) + 1
    return 0


cdef int _packed_item_json(Writer* w, object packed) except -1:
    """``{"Item":<item>}`` of a packed item, written from its bytes; 0: not written here (the
    writer then holds a partial text)."""
    cdef const unsigned char* p = <const unsigned char*>PyBytes_AS_STRING(packed)
    cdef Py_ssize_t n = PyBytes_GET_SIZE(packed), i = 0, count
    cdef unsigned char b
    if n == 0:
        return 0
    b = p[0]
    if not (0x80 <= b <= 0x8F or b == 0xDE or b == 0xDF):
        return 0
    count = _container_count(p, n, &i, b, 0xDE)
    if count < 0:
        return 0
    _put(w, b'{"Item":', 8)
    if _packed_map(w, p, n, &i, count, 1) != 1 or i != n:
        return 0
    return _put(w, b"}", 1) + 1


cdef object _get_item_json(engine, table, name, row_key, body):
    """The answer of get_item_answer once the row key is known."""
    cdef unsigned char stack[STACK_BUFFER]
    cdef Writer w
    cdef PyObject* found
    cdef double started = 0.0
    rows = table.rows
    if type(rows) is not dict:
        return _ref.get_item_answer(engine, body)
    metrics = engine.metrics
    if metrics is not None:
        started = kv_wire_stopwatch()
    found = kvstore_dict_get(rows, row_key)
    meter = engine.capacity
    if meter is not None and not meter.read_item_admitted(table, row_key, None if found == NULL else <object>found,
                                                          None):
        return None         # not admitted at once: the general path meters it (and throttles)
    if found == NULL:
        if metrics is not None:
            metrics.get_item_answered(name, kv_wire_stopwatch() - started, False)
        return b"{}"
    packed = <object>found
    large = len(packed) > _one_unit_packed
    w.buf = stack
    w.len = 0
    w.cap = STACK_BUFFER
    w.heap = False
    try:
        if not (large and metrics is not None) and type(packed) is bytes and _packed_item_json(&w, packed) == 1:
            if metrics is not None:
                metrics.get_item_answered(name, kv_wire_stopwatch() - started, True)
            return _written(&w)
        w.len = 0
        item = _unpack(packed)
        if metrics is not None:
            metrics.get_item_answered(name, kv_wire_stopwatch() - started, True)
            if large:       # as get_item.run: the units past the first of an item that may be over 4 KB
                units = _read_units(_item_size(item), False)
                if units > 0.5:
                    metrics.consumed_read(name, units - 0.5)
        try:
            if type(item) is dict:
                _put(&w, b'{"Item":', 8)
                _json_map(&w, item, 1)
                _put(&w, b"}", 1)
                return _written(&w)
        except Exception:   # noqa: BLE001 - a value this writer leaves to the general one
            pass
    finally:
        if w.heap:
            PyMem_Free(w.buf)
    return _ref._get_item_json(item)


cdef object _unpack(object packed):
    """``unpack_item(packed)``."""
    if type(packed) is bytes:
        try:
            return _unpack_bytes(packed)
        except Exception:   # noqa: BLE001 - the reference reads it, or raises what it raises
            pass
    return _ref.unpack_item(packed)


# ------------------------------------------------------------------ the usual PutItem (session 15)
# kvstore._pycore.put_item_answer (its docstring says what it answers and when it declines): the
# body parsed by orjson, the item converted, put_item.run's usual checks done in C where they pass
# (names short and non-empty, the packed item under a quarter of the size limit, a key of its declared
# type and short enough, no index, no item collection) and put_item.run's own Python otherwise, then
# the same lock, commit and wait.  Anything the twin decides differently (the json module's backend,
# a body orjson may not read) goes to it.

cdef bint _put_item_ready = False
cdef object _ITEM = kvstore_intern("Item")
cdef object _pack_item = None
cdef object _unpack_item = None
cdef object _storage_key = None
cdef object _commit_usual = None
cdef object _wait_usual = None
cdef object _check_attribute_names = None
cdef object _check_item_size = None
cdef object _key_from_item = None
cdef object _check_index_keys = None
cdef object _check_collection_size = None
cdef object _write_units_of = None
cdef object _DynamoDBError = None
cdef Py_ssize_t _short_key = 0
cdef Py_ssize_t _short_name = 0
cdef Py_ssize_t _max_item_size = _limits.MAX_ITEM_SIZE


cdef int _put_item_setup() except -1:
    global _put_item_ready, _pack_item, _unpack_item, _storage_key, _commit_usual, _wait_usual
    global _check_attribute_names, _check_item_size, _key_from_item, _check_index_keys, _check_collection_size
    global _write_units_of, _DynamoDBError, _short_key, _short_name
    from kvstore._citems import pack_item, unpack_item
    from kvstore._ckeys import storage_key
    from kvstore._clog import commit_usual, wait_usual
    from kvstore.errors import DynamoDBError
    from kvstore.operations import common
    if not _get_item_ready:
        _get_item_setup()
    _pack_item, _unpack_item, _storage_key = pack_item, unpack_item, storage_key
    _commit_usual, _wait_usual = commit_usual, wait_usual
    _check_attribute_names, _check_item_size = common.check_attribute_names, common.check_item_size
    _key_from_item, _check_index_keys = common.key_from_item, common.check_index_keys
    _check_collection_size, _write_units_of = common.check_collection_size, common.write_units_of
    _short_key, _short_name = common._SHORT_KEY, common._SHORT_NAME
    _DynamoDBError = DynamoDBError
    _put_item_ready = True
    return 0


def put_item_answer(engine, body):
    """``kvstore._pycore.put_item_answer``: ``b"{}"`` once the usual PutItem ``body`` is written, None
    for the general path (nothing written), or the DynamoDBError its commit failed with."""
    cdef PyObject* found
    cdef PyObject* value
    if not _put_item_ready:
        _put_item_setup()
    if (_orjson_loads is None or type(body) is not bytes
            or _needs_stdlib(<const unsigned char*>PyBytes_AS_STRING(body), PyBytes_GET_SIZE(body))):
        return _ref.put_item_answer(engine, body)
    if engine.faults is not None or engine.capacity is not None or engine.contention is not None:
        return None
    request = _usual_body(body, _ITEM, &found, &value)
    if request is None:
        return None
    name = <object>found
    item = <object>value
    tables = engine.tables
    if type(tables) is not dict:
        return _ref.put_item_answer(engine, body)
    found = kvstore_dict_get(tables, name)
    if found == NULL:
        return None
    table = <object>found
    if table.deleted or engine.closed:
        return None
    metrics = engine.metrics
    if metrics is not None and table.indexes:
        return None
    return _put_usual_item(engine, table, name, item, metrics)


cdef inline bint _usual_key_value(object value, object declared) noexcept:
    """``common.key_from_item``'s usual key attribute: a short S or an N of the declared type."""
    if type(value) is str:
        return declared == "S" and 0 < PyUnicode_GET_LENGTH(value) <= _short_key
    return type(value) is Decimal and declared == "N"


cdef object _usual_row_key(object table, dict item):
    """``common.key_from_item`` of ``item``, in C for the usual key (else its Python, which raises)."""
    cdef PyObject* found
    schema = table.schema
    found = kvstore_dict_get(item, schema.hash_name)
    if found != NULL and _usual_key_value(<object>found, schema.hash_type):
        range_name = schema.range_name
        if range_name is None:
            return _storage_key(<object>found)
        h = <object>found
        found = kvstore_dict_get(item, range_name)
        if found != NULL and _usual_key_value(<object>found, schema.range_type):
            return _storage_key(h, <object>found)
    return _key_from_item(table, item)


cdef bint _usual_names(dict item):
    """No attribute name of ``item`` empty or long enough to exceed the limit (``check_attribute_names``'s
    first test)."""
    cdef Py_ssize_t n
    if PyDict_GET_SIZE(item) == 0:
        return False
    for name in item:
        if type(name) is not str:
            return False
        n = PyUnicode_GET_LENGTH(name)
        if n == 0 or n > _short_name:
            return False
    return True


cdef object _put_usual_item(engine, table, name, wire_item, metrics):
    """``kvstore._pycore._put_usual_item``."""
    cdef double started = kv_wire_stopwatch()
    cdef object old = None
    try:
        item = item_from_wire(wire_item)
        if type(item) is not dict:
            return None
        if not _usual_names(<dict>item):
            _check_attribute_names(item)
        packed = _pack_item(item)
        if type(packed) is not bytes or PyBytes_GET_SIZE(packed) * 4 > _max_item_size:
            _check_item_size(item, packed=packed)
        row_key = _usual_row_key(table, <dict>item)
        indexes = table.indexes
        if indexes:
            _check_index_keys(table, item)
    except Exception:       # noqa: BLE001 - the general path raises it, in DynamoDB's order
        return None
    with table.lock_for(row_key):
        old_packed = table.rows.get(row_key)
        if indexes and old_packed is not None:
            old = _unpack_item(old_packed)
        if table.collections is not None:
            try:
                _check_collection_size(table, row_key, old_packed, packed)
            except Exception:   # noqa: BLE001 - the general path raises it
                return None
        try:
            lsn = _commit_usual(engine, [(table, row_key, old, item, packed)])
        except _DynamoDBError as e:
            if metrics is not None:
                metrics.put_item_failed(name, e)
            return e
        except Exception:   # noqa: BLE001 - a bug: answered as the general path answers it
            return _ref.put_item_internal_error(metrics, name)
    try:
        _wait_usual(engine, lsn)
        if metrics is not None:
            if ((old_packed is None or PyBytes_GET_SIZE(old_packed) * 4 <= 1024)
                    and PyBytes_GET_SIZE(packed) * 4 <= 1024):
                units = 1
            else:
                units = _write_units_of(old_packed, packed, item)
            metrics.put_item_answered(name, kv_wire_stopwatch() - started, units)
    except _DynamoDBError as e:
        if metrics is not None:
            metrics.put_item_failed(name, e)
        return e
    except Exception:       # noqa: BLE001 - a bug: answered as the general path answers it
        return _ref.put_item_internal_error(metrics, name)
    return b"{}"
