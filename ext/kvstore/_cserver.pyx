# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False, infer_types=True
"""The HTTP front's usual request and answer, compiled (the twins of ``kvstore._pycore``'s
"wire (session 8)" block): ``parse_request`` takes apart a whole usual POST read at once, which
httptools would hand over in ten Python callbacks, and ``render_answer`` writes the usual
answer's head and body in one allocation.  Anything unusual in a request answers None and
``kvstore.server.app.HttpProtocol`` parses it with httptools; ``tests/test_core_wire.py``
checks both against their twins and against httptools.
"""

from cpython.buffer cimport PyBUF_SIMPLE, PyBuffer_Release, PyObject_GetBuffer
from cpython.long cimport PyLong_AsUnsignedLongLong
from cpython.tuple cimport PyTuple_GET_ITEM
from libc.stdint cimport uint32_t
from libc.string cimport memcmp, memcpy

from kvstore._capi cimport *
from kvstore._ckeys cimport _crc32

import zlib as _zlib

from kvstore import _pycore as _ref

cdef object _zlib_crc32 = _zlib.crc32


# ------------------------------------------------------------------ the usual request

cdef enum:
    # a header name longer than this is lowered by the reference (no SDK sends one)
    NAME_MAX = 64
    # room made in a request's headers dict at once (an SDK sends 8-10: no resize on the way)
    HEADERS_PRESIZED = 12

cdef extern from "Python.h":
    dict _PyDict_NewPresized(Py_ssize_t minused)

# character classes (what kvstore._pycore's _TOKEN, _TARGET and _FIELD hold)
cdef unsigned char _is_token[256]
cdef unsigned char _is_target[256]


cdef void _init_classes():
    cdef const unsigned char* p
    cdef int i
    for i in range(256):
        _is_token[i] = 0
        _is_target[i] = 0
    p = b"!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    while p[0]:
        _is_token[p[0]] = 1
        p += 1
    p = b"!$%&'()*+,-./0123456789:;=?@ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz~"
    while p[0]:
        _is_target[p[0]] = 1
        p += 1


_init_classes()

# The end of a run of visible ASCII and spaces (0x20-0x7E) from ``i``: eight bytes at a time on a
# little-endian machine (a header value is most of a head's bytes; Authorization alone ~200).  A
# byte under 0x20 borrows, one over 0x7E (or 0xFF's carry) sets its top bit; a borrow or carry
# only reaches the bytes after the first such byte, so the lowest flag is the first byte not visible.
cdef extern from *:
    """
    #include <stdint.h>
    #include <string.h>
    static Py_ssize_t kv_visible_end(const unsigned char* p, Py_ssize_t i, Py_ssize_t size) {
    #if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        while (i + 8 <= size) {
            uint64_t x, flags;
            memcpy(&x, p + i, 8);
            flags = (((x - 0x2020202020202020ULL) & ~x) | ((x + 0x0101010101010101ULL) | x))
                    & 0x8080808080808080ULL;
            if (flags)
                return i + (__builtin_ctzll(flags) >> 3);
            i += 8;
        }
    #endif
        while (i < size && p[i] >= 0x20 && p[i] < 0x7F)
            i++;
        return i;
    }
    """
    Py_ssize_t _visible_end "kv_visible_end"(const unsigned char* p, Py_ssize_t i, Py_ssize_t size) noexcept


cdef bint _is_framing(const unsigned char* name, Py_ssize_t n) noexcept:
    """Whether a lower-case header name is one of kvstore._pycore._FRAMING."""
    if n == 17:
        return memcmp(name, b"transfer-encoding", 17) == 0
    if n == 10:
        return memcmp(name, b"connection", 10) == 0
    if n == 16:
        return memcmp(name, b"proxy-connection", 16) == 0
    if n == 7:
        return memcmp(name, b"upgrade", 7) == 0
    if n == 6:
        return memcmp(name, b"expect", 6) == 0
    return False


# The names SDKs send, as interned str: a request's header names are these same objects (no
# str made per header, and the handler's lookups of them match by identity).
cdef tuple _KNOWN_NAMES = tuple(kvstore_intern(name) for name in (
    "host", "content-type", "x-amz-target", "content-length", "authorization", "x-amz-date", "accept-encoding",
    "user-agent", "x-amz-security-token", "x-amz-content-sha256", "amz-sdk-invocation-id", "amz-sdk-request",
    "accept", "date", "origin", "content-encoding", "x-amz-user-agent", "x-amzn-trace-id"))


# The last value each of those names had, as the str the request's headers dict got: a client
# sends the same Host, Content-Type, X-Amz-Target, ... request after request, so the value is
# compared in place and the same str handed on (no str made, and its hash, which the handler's
# lookups of the target need, is kept).  Authorization and the like differ each time and are made.
cdef list _last_values = [None] * len(_KNOWN_NAMES)


cdef Py_ssize_t _known_name(const unsigned char* lowered, Py_ssize_t n) noexcept:
    """The index of a lower-case header name in _KNOWN_NAMES, or -1."""
    cdef Py_ssize_t i
    cdef object known
    for i in range(len(_KNOWN_NAMES)):
        known = <object>PyTuple_GET_ITEM(_KNOWN_NAMES, i)
        if PyUnicode_GET_LENGTH(known) == n and memcmp(PyUnicode_DATA(known), lowered, n) == 0:
            return i
    return -1


cdef object _header_value(Py_ssize_t known, const unsigned char* p, Py_ssize_t n):
    """The str of a header value (ASCII, ``n`` bytes at ``p``) of the name _KNOWN_NAMES[known]
    (-1: another name)."""
    cdef object last
    if known < 0:
        return PyUnicode_DecodeASCII(<const char*>p, n, NULL)
    last = <object>PyList_GET_ITEM(_last_values, known)
    if last is not None and PyUnicode_GET_LENGTH(last) == n and memcmp(PyUnicode_DATA(last), p, n) == 0:
        return last
    last = PyUnicode_DecodeASCII(<const char*>p, n, NULL)
    _last_values[known] = last
    return last


cdef Py_ssize_t _digits(Py_ssize_t v) noexcept:
    """``len(str(v))``."""
    cdef Py_ssize_t n = 1
    cdef size_t u = <size_t>v
    if v < 0:
        n = 2
        u = <size_t>(-(v + 1)) + 1
    while u >= 10:
        u //= 10
        n += 1
    return n


cdef object _parse(const unsigned char* p, Py_ssize_t size, Py_ssize_t max_line, Py_ssize_t max_head,
                   Py_ssize_t max_body):
    cdef Py_ssize_t i, line_end, name_start, name_end, value_start, value_end, end, length = -1, digits, count
    cdef Py_ssize_t known
    cdef Py_ssize_t max_digits = _digits(max_body)
    cdef unsigned char lowered[NAME_MAX]
    cdef unsigned char c
    cdef dict headers
    cdef object name, target
    if size < 6 or memcmp(p, b"POST /", 6) != 0:
        return None
    # the request line: "POST " target " HTTP/1.1" CRLF
    i = 5
    while i < size and _is_target[p[i]]:
        i += 1
    if i - 5 > max_line or size - i < 11 or memcmp(p + i, b" HTTP/1.1\r\n", 11) != 0:
        return None
    target = PyUnicode_DecodeASCII(<const char*>p + 5, i - 5, NULL)
    i += 11
    headers = _PyDict_NewPresized(HEADERS_PRESIZED)
    while True:
        if i + 2 > size:
            return None
        if p[i] == c'\r':
            if p[i + 1] != c'\n':
                return None
            end = i + 2                  # the head's end
            break
        name_start = i
        while i < size and _is_token[p[i]]:
            i += 1
        name_end = i
        if name_end == name_start or i >= size or p[i] != c':':
            return None
        i += 1
        while i < size and p[i] == c' ':
            i += 1
        value_start = i
        i = _visible_end(p, i, size)
        value_end = i
        if (value_end == value_start or p[value_end - 1] == c' ' or i + 1 >= size or p[i] != c'\r'
                or p[i + 1] != c'\n'):
            return None
        i += 2
        if i > max_head:
            return None
        known = -1
        if name_end - name_start <= NAME_MAX:
            for line_end in range(name_end - name_start):
                c = p[name_start + line_end]
                lowered[line_end] = c + 32 if c'A' <= c <= c'Z' else c
            if _is_framing(lowered, name_end - name_start):
                return None
            known = _known_name(lowered, name_end - name_start)
            if known >= 0:
                name = <object>PyTuple_GET_ITEM(_KNOWN_NAMES, known)
            else:
                name = PyUnicode_DecodeASCII(<const char*>lowered, name_end - name_start, NULL)
        else:                            # longer than any framing header's name
            name = PyUnicode_DecodeASCII(<const char*>p + name_start, name_end - name_start, NULL).lower()
        if name_end - name_start == 14 and memcmp(lowered, b"content-length", 14) == 0:
            digits = value_end - value_start
            if digits > max_digits:
                return None
            length = 0
            for line_end in range(value_start, value_end):
                c = p[line_end]
                if not (c'0' <= c <= c'9'):
                    return None
                length = length * 10 + (c - c'0')
        count = PyDict_GET_SIZE(headers)
        PyDict_SetItem(headers, name, _header_value(known, p + value_start, value_end - value_start))
        if PyDict_GET_SIZE(headers) == count:
            return None                  # a repeated header: httptools' reading joins them
    if end > max_head or length < 0 or length > max_body or size - end != length:
        return None
    return (target, headers, PyBytes_FromStringAndSize(<const char*>p + end, length))


def parse_request(data, Py_ssize_t max_line, Py_ssize_t max_head, Py_ssize_t max_body):
    """``(target, headers, body)`` of ``data`` (a bytes-like object) when it is exactly one usual
    request, else None: ``kvstore._pycore.parse_request``, which says what usual is."""
    cdef Py_buffer view
    PyObject_GetBuffer(data, &view, PyBUF_SIMPLE)
    try:
        return _parse(<const unsigned char*>view.buf, view.len, max_line, max_head, max_body)
    finally:
        PyBuffer_Release(&view)


# ------------------------------------------------------------------ the usual answer

cdef enum:
    # bodies up to this many bytes: _ckeys' slicing-by-8 loop (its own limit: past it, a call to
    # zlib beats it); longer: zlib.crc32 of the body as it is
    CRC_DIRECT = 1024


cdef Py_ssize_t _decimal(char* out, unsigned long long v) noexcept:
    """Write ``v`` in decimal at ``out`` (room for 20 digits); its length."""
    cdef char digits[20]
    cdef Py_ssize_t n = 0, i
    while True:
        digits[n] = c'0' + <char>(v % 10)
        n += 1
        v //= 10
        if v == 0:
            break
    for i in range(n):
        out[i] = digits[n - 1 - i]
    return n


cdef inline char* _put(char* out, const char* text, Py_ssize_t n) noexcept:
    memcpy(out, text, n)
    return out + n


def render_answer(bytes head, bytes body, bytes date, bytes id_prefix, ids, bint keep_alive):
    """The bytes of an answer: ``kvstore._pycore.render_answer``, in one allocation."""
    return _render_answer(head, body, date, id_prefix, ids, keep_alive)


cdef bytes _render_answer(bytes head, bytes body, bytes date, bytes id_prefix, ids, bint keep_alive):
    cdef object number = next(ids)
    cdef char length_text[20]
    cdef char id_digits[20]
    cdef char crc_text[20]
    cdef const char* id_text = id_digits
    cdef Py_ssize_t length_size, id_size, crc_size, size
    cdef Py_ssize_t body_size = PyBytes_GET_SIZE(body)
    cdef uint32_t crc
    cdef bytes out, id_bytes
    cdef char* w
    cdef bint machine = False
    if type(number) is int:
        try:
            id_size = _decimal(id_digits, PyLong_AsUnsignedLongLong(number))
            machine = True
        except OverflowError:   # negative, or past 64 bits
            pass
    if not machine:             # a counter that is not a machine integer: written as %d writes it
        id_bytes = b"%d" % number
        id_text = PyBytes_AS_STRING(id_bytes)
        id_size = PyBytes_GET_SIZE(id_bytes)
    if body_size <= CRC_DIRECT:
        crc = _crc32(0, <const unsigned char*>PyBytes_AS_STRING(body), body_size)
    else:
        crc = _zlib_crc32(body)
    length_size = _decimal(length_text, <unsigned long long>body_size)
    crc_size = _decimal(crc_text, crc)
    size = (PyBytes_GET_SIZE(head) + length_size + 2 + PyBytes_GET_SIZE(date) + 18 + PyBytes_GET_SIZE(id_prefix)
            + id_size + 15 + crc_size + 2 + (0 if keep_alive else 19) + 2 + body_size)
    out = PyBytes_FromStringAndSize(NULL, size)
    w = PyBytes_AS_STRING(out)
    w = _put(w, PyBytes_AS_STRING(head), PyBytes_GET_SIZE(head))
    w = _put(w, length_text, length_size)
    w = _put(w, b"\r\n", 2)
    w = _put(w, PyBytes_AS_STRING(date), PyBytes_GET_SIZE(date))
    w = _put(w, b"x-amzn-RequestId: ", 18)
    w = _put(w, PyBytes_AS_STRING(id_prefix), PyBytes_GET_SIZE(id_prefix))
    w = _put(w, id_text, id_size)
    w = _put(w, b"\r\nx-amz-crc32: ", 15)
    w = _put(w, crc_text, crc_size)
    w = _put(w, b"\r\n", 2)
    if not keep_alive:
        w = _put(w, b"Connection: close\r\n", 19)
    w = _put(w, b"\r\n", 2)
    _put(w, PyBytes_AS_STRING(body), body_size)
    return out


# ------------------------------------------------------------------ a remembered SigV4 form

cdef inline bint _is_space(unsigned char c) noexcept:
    """str.isspace of an ASCII character."""
    return c == c' ' or 0x09 <= c <= 0x0D or 0x1C <= c <= 0x1F


cdef object _last_head = None      # the last ASCII head remembered_form looked up


def remembered_form(forms, headers, now, max_skew):
    """``kvstore._pycore.remembered_form``: the Authorization header read in place (an ASCII one
    that needs no stripping; any other goes to the twin)."""
    return _remembered_form(forms, headers, now, max_skew)


cdef object _remembered_form(forms, headers, now, max_skew):
    cdef object auth
    cdef const unsigned char* p
    cdef Py_ssize_t n, at, i
    if type(forms) is not dict or type(headers) is not dict:
        return _ref.remembered_form(forms, headers, now, max_skew)
    auth = headers.get("authorization")
    if auth is None:
        return None
    if type(auth) is not str or not PyUnicode_IS_ASCII(auth):
        return _ref.remembered_form(forms, headers, now, max_skew)
    p = <const unsigned char*>PyUnicode_DATA(auth)
    n = PyUnicode_GET_LENGTH(auth)
    if n == 0 or _is_space(p[0]) or _is_space(p[n - 1]):
        return _ref.remembered_form(forms, headers, now, max_skew)
    at = n - 12
    while at >= 0 and (p[at] != c',' or memcmp(p + at, b", Signature=", 12) != 0):
        at -= 1
    if at < 0 or at + 12 == n:
        return None                   # no ", Signature=", or nothing after it
    if _is_space(p[at + 12]):
        return _ref.remembered_form(forms, headers, now, max_skew)
    for i in range(at + 12, n):
        if p[i] == c',':
            return None
    # The head (Authorization up to ", Signature=") names the entry.  A client sends the same
    # head request after request: when it is the last one looked up, that str (its hash kept)
    # is the key, no copy made and hashed again.
    global _last_head
    head = _last_head
    if not (head is not None and PyUnicode_GET_LENGTH(head) == at
            and memcmp(PyUnicode_DATA(head), p, at) == 0):
        head = auth[:at]
        _last_head = head
    found = kvstore_dict_get(forms, head)
    if found == NULL:
        return None
    known = <object>found
    found = kvstore_dict_get(headers, "x-amz-date")
    if known[0] != (<object>found if found != NULL else None):
        return None
    found = kvstore_dict_get(headers, "date")
    if known[1] != (<object>found if found != NULL else None):
        return None
    request_time = known[3]
    if _exact_double(now) and type(max_skew) is int and -_EXACT <= max_skew <= _EXACT and _exact_double(request_time):
        # the comparison below in C doubles: each of these is a double exactly, as Python compares them
        if (<double>now - <double>max_skew <= <double>request_time
                and <double>request_time <= <double>now + <double>max_skew):
            return known
        return None
    if not now - max_skew <= request_time <= now + max_skew:
        return None
    return known


cdef double _EXACT = 9007199254740992.0      # 2 ** 53: every int up to this is a double exactly


cdef inline bint _exact_double(object x):
    """Whether ``x`` is a float, or an int a double holds exactly."""
    return type(x) is float or (type(x) is int and -_EXACT <= x <= _EXACT)


# ------------------------------------------------------------------ the usual GetItem, request to bytes

cdef object _get_item_answer = None     # kvstore._cwire.get_item_answer (imported on first use)


cdef object _put_item_answer = None     # kvstore._cwire.put_item_answer (imported on first use)
cdef object _error_answer = None        # kvstore.server.handler.error_answer


cdef object _usual_operation(server, headers, body, tuple usual, object action):
    """The operation a request ``usual_get_item`` may answer but for its action names, when the handler's
    checks before it are passed as ``kvstore._pycore._usual_handler`` passes them; else None.  With an
    ``action``, an operation of another action is None too, before the signature is looked at."""
    cdef PyObject* found
    (server_class, handler_class, any_key, system_clock, wall_time, forms, json_types, content_type, head,
     compress_from, id_prefix, ids) = usual
    handler = server.handler
    if type(server) is not server_class or type(handler) is not handler_class:
        return None
    found = kvstore_dict_get(headers, "content-type")
    if (len(body) > handler.max_body or handler.fault_endpoint or found == NULL or <object>found not in json_types
            or PyBytes_GET_SIZE(body) == 0 or kvstore_dict_get(headers, "content-encoding") != NULL):
        return None
    if server.cors is not None and kvstore_dict_get(headers, "origin") != NULL:
        return None
    targets = handler._targets
    found = kvstore_dict_get(headers, "x-amz-target")
    if type(targets) is not dict or found == NULL:
        return None
    found = kvstore_dict_get(targets, <object>found)
    if found == NULL:
        return None
    operation = <object>found
    if operation is None or (action is not None and operation.action != action):
        return None
    auth = handler.auth
    if auth is not None:
        if type(auth) is not any_key:
            return None
        clock = auth.clock
        if type(clock) is system_clock:
            now = wall_time()
        else:
            try:
                now = clock()
            except Exception:       # noqa: BLE001 - the handler answers what it answers
                return None
        known = _remembered_form(forms, headers, now, auth.max_skew)
        if known is None or known[4].key is not None:
            return None
    return operation


cdef object _usual_get_item_answer(server, body, tuple usual):
    """The usual GetItem's answer once ``_usual_operation`` passed it: its rendered bytes, or the
    (status, content type, body) of an answer to compress, or None (the general path answers)."""
    global _get_item_answer
    if _get_item_answer is None:
        from kvstore._cwire import get_item_answer
        _get_item_answer = get_item_answer
    try:
        answer = _get_item_answer(server.handler.engine, body)
    except Exception:               # noqa: BLE001 - the handler answers what it answers
        return None
    if answer is None:
        return None
    if type(answer) is not bytes or len(answer) >= usual[9]:
        return (200, usual[7], answer)
    return _render_answer(usual[8], answer, server.date_bytes, usual[10], usual[11], True)


def usual_item_request(server, headers, body, tuple usual, bint render=True):
    """``kvstore._pycore.usual_item_request``: the usual GetItem (as ``usual_get_item``) or PutItem,
    the handler's checks to the answer's bytes without a Python frame."""
    global _put_item_answer, _error_answer
    if type(headers) is not dict or type(body) is not bytes or len(usual) != 12:
        return _ref.usual_item_request(server, headers, body, usual, render)
    operation = _usual_operation(server, headers, body, usual, None)
    if operation is None:
        return None
    action = operation.action
    if action == "GetItem":
        return _usual_get_item_answer(server, body, usual)
    if action != "PutItem":
        return None
    if _put_item_answer is None:
        from kvstore._cwire import put_item_answer
        from kvstore.server.handler import error_answer
        _put_item_answer = put_item_answer
        _error_answer = error_answer
    answer = _put_item_answer(server.handler.engine, body)
    if answer is None:
        return None
    if type(answer) is not bytes:       # its commit failed: the error the general path answers
        return _error_answer(answer)
    if not render:
        return answer
    return _render_answer(usual[8], answer, server.date_bytes, usual[10], usual[11], True)


def usual_get_item(server, headers, body, tuple usual):
    """``kvstore._pycore.usual_get_item``: the handler's checks of a usual GetItem, its one step
    and the answer's head, without a Python frame."""
    if type(headers) is not dict or type(body) is not bytes or len(usual) != 12:
        return _ref.usual_get_item(server, headers, body, usual)
    if _usual_operation(server, headers, body, usual, "GetItem") is None:
        return None
    return _usual_get_item_answer(server, body, usual)
