# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The hand-written CRC-32 and base64 of kvstore's compiled core against the
standard library's, timed inside one compiled loop so only the primitive is
measured (bench/micro/handwritten.py builds this file and runs it).

The CRC-32 and base64 code here is a copy of ext/kvstore/_ckeys.pyx's loop
(eight bytes a step) and ext/kvstore/_cwire.pyx's codec (without the Binary
wrapping); the alternatives are what the core would call instead:
``zlib.crc32`` on a bytes object made from the buffer the key is written into
(hash components), or on the payload object itself (log records, which
ext/kvstore/_clog.pyx frames), ``binascii.b2a_base64`` /
``a2b_base64(strict_mode=True)``.
"""

from libc.stdint cimport uint32_t

cdef extern from "Python.h":
    object PyBytes_FromStringAndSize(const char* s, Py_ssize_t size)
    char* PyBytes_AS_STRING(object b)
    Py_ssize_t PyBytes_GET_SIZE(object b)
    bint PyUnicode_IS_ASCII(object s)
    Py_ssize_t PyUnicode_GET_LENGTH(object s)
    void* PyUnicode_DATA(object s)
    object PyUnicode_New(Py_ssize_t size, Py_UCS4 maxchar)

import binascii
import zlib

cdef object _zlib_crc32 = zlib.crc32
cdef object _b2a = binascii.b2a_base64
cdef object _a2b = binascii.a2b_base64


class _Fallback(Exception):
    pass


cdef uint32_t _crc_tables[8][256]


cdef void _init_crc_tables():
    cdef uint32_t c
    cdef int n, k
    for n in range(256):
        c = n
        for k in range(8):
            c = (0xEDB88320 ^ (c >> 1)) if (c & 1) else (c >> 1)
        _crc_tables[0][n] = c
    for n in range(256):
        c = _crc_tables[0][n]
        for k in range(1, 8):
            c = _crc_tables[0][c & 0xFF] ^ (c >> 8)
            _crc_tables[k][n] = c


_init_crc_tables()


cdef inline uint32_t _le32(const unsigned char* p) noexcept nogil:
    return <uint32_t>p[0] | (<uint32_t>p[1] << 8) | (<uint32_t>p[2] << 16) | (<uint32_t>p[3] << 24)


cdef inline uint32_t _crc32_table(uint32_t crc, const unsigned char* p, Py_ssize_t n) noexcept nogil:
    cdef uint32_t a, b
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


def crc_table(bytes b, int reps):
    cdef uint32_t x = 0
    for _ in range(reps):
        x ^= _crc32_table(0, <const unsigned char*>PyBytes_AS_STRING(b), PyBytes_GET_SIZE(b))
    return x


def crc_zlib(bytes b, int reps):
    """What a hash component would call instead: zlib.crc32 of a bytes object made from the key's buffer."""
    cdef uint32_t x = 0
    for _ in range(reps):
        x ^= <uint32_t>_zlib_crc32(PyBytes_FromStringAndSize(PyBytes_AS_STRING(b), PyBytes_GET_SIZE(b)))
    return x


def crc_zlib_object(bytes b, int reps):
    """What a log record would call instead: zlib.crc32 of the payload object itself (no copy)."""
    cdef uint32_t x = 0
    for _ in range(reps):
        x ^= <uint32_t>_zlib_crc32(b)
    return x


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
    return result


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


def b64encode_hand(bytes b, int reps):
    for _ in range(reps):
        x = _b64encode(b)
    return x


def b64encode_stdlib(bytes b, int reps):
    for _ in range(reps):
        x = _b2a(b, newline=False).decode("ascii")
    return x


def b64decode_hand(str s, int reps):
    for _ in range(reps):
        x = _wire_binary(s)
    return x


def b64decode_stdlib(str s, int reps):
    for _ in range(reps):
        x = _a2b(s, strict_mode=True)
    return x
