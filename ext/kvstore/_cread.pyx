# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False, infer_types=True
"""The read path, compiled: the twins of ``kvstore._pycore``'s ``request_row_key``
(GetItem's key validated and encoded in one step), ``wire_row_key`` (the same
from the wire's DynamoDB JSON, without making the values native first), ``take_forward`` /
``take_reverse`` (row keys of a SortedList between bounds), ``read_page``
(one Query/Scan page: seek, take keys in order, look up, unpack, Limit, the
1 MB cap), ``read_shape`` and ``query_bounds`` (a prepared plan's shape key and
key-condition bounds) and ``embedded_read`` (a ``Table.query`` / ``Table.scan``
call of a prepared plan's plain page, shape to response, in one call).  Read ``kvstore._pycore`` for what each returns; anything outside
the shapes covered here goes to that reference.
"""

from cpython.object cimport PyObject
from cpython.list cimport PyList_Append
from libc.stdint cimport uint32_t
from libc.string cimport memcmp, memcpy

from kvstore._capi cimport *
from kvstore._cvalues cimport *
from kvstore._ckeys cimport _bisect, _cmp, _crc32, _encode_text, _raw, _prefixed
from kvstore._citems cimport _unpack_bytes
from kvstore._ccapacity cimport MeterCore

from decimal import Decimal as _Decimal

from sortedcontainers import SortedList as _SortedList

from kvstore import _pycore as _ref
from kvstore import limits as _limits
from kvstore._cvalues import _Fallback
from kvstore._citems import item_size as _item_size
from kvstore.types import Binary as _Binary

cdef object Decimal = _Decimal
cdef object Binary = _Binary
cdef Py_ssize_t _max_hash_key = _limits.MAX_HASH_KEY_SIZE
cdef Py_ssize_t _max_range_key = _limits.MAX_RANGE_KEY_SIZE
cdef Py_ssize_t _max_page_size = _limits.MAX_PAGE_SIZE


# ------------------------------------------------------------------ GetItem's key

cdef inline object _tag_type(object tag):
    """The native type of a key attribute type ("S", "N", "B"), None for anything else."""
    if tag == "S":
        return str
    if tag == "N":
        return Decimal
    if tag == "B":
        return Binary
    return None


def request_row_key(key, hash_name, hash_tag, range_name, range_tag):
    """The row key of a request's ``Key`` when it is valid, else None (see ``kvstore._pycore``)."""
    return _request_row_key(key, hash_name, hash_tag, range_name, range_tag)


cdef object _request_row_key(object key, object hash_name, object hash_tag, object range_name, object range_tag):
    cdef const char* hp
    cdef const char* rp = NULL
    cdef Py_ssize_t hn, rn = 0
    cdef PyObject* h
    cdef PyObject* r
    if type(key) is not dict or PyDict_GET_SIZE(key) != (1 if range_name is None else 2):
        return None
    h = kvstore_dict_get(key, hash_name)
    if h == NULL or type(<object>h) is not _tag_type(hash_tag):
        return None
    try:
        hown = _raw(<object>h, &hp, &hn)
        if hn == 0 or (hash_tag != "N" and hn > _max_hash_key) or hn > 0xFFFF:
            return None
        rown = None
        if range_name is not None:
            r = kvstore_dict_get(key, range_name)
            if r == NULL or type(<object>r) is not _tag_type(range_tag):
                return None
            rown = _raw(<object>r, &rp, &rn)
            if rn == 0 or (range_tag != "N" and rn > _max_range_key):
                return None
    except _Fallback:
        return _ref.request_row_key(key, hash_name, hash_tag, range_name, range_tag)
    return _row_key(hp, hn, rp, rn)


# ------------------------------------------------------------------ the wire GetItem's key

cdef Py_ssize_t _plain_number(const char* s, Py_ssize_t n) noexcept nogil:
    """1 when ``s`` is a number in plain notation whose canonical form has the same digits
    (``-?(0|[1-9][0-9]*)(.[0-9]*[1-9])?``, not ``-0``, at most 38 characters), else 0."""
    cdef Py_ssize_t i = 0
    if n == 0 or n > 38:
        return 0
    if s[0] == c'-':
        i = 1
        if n == 1:
            return 0
    if s[i] == c'0':
        i += 1
        if i == n:
            return 0 if s[0] == c'-' else 1          # "0", not "-0"
        if s[i] != c'.':
            return 0
    else:
        if not (c'1' <= s[i] <= c'9'):
            return 0
        while i < n and c'0' <= s[i] <= c'9':
            i += 1
        if i == n:
            return 1
        if s[i] != c'.':
            return 0
    # a fraction: at least one digit, the last not 0
    i += 1
    if i == n or s[n - 1] == c'0':
        return 0
    while i < n:
        if not (c'0' <= s[i] <= c'9'):
            return 0
        i += 1
    return 1


cdef object _wire_key_raw(object av, object tag, const char** ptr, Py_ssize_t* size):
    """The owner of the key bytes of wire value ``av`` (``{tag: text}``) when plainly valid, else None."""
    cdef PyObject* t
    if type(av) is not dict or PyDict_GET_SIZE(av) != 1:
        return None
    t = kvstore_dict_get(av, tag)
    if t == NULL or type(<object>t) is not str or not PyUnicode_IS_ASCII(<object>t):
        return None
    text = <object>t
    n = PyUnicode_GET_LENGTH(text)
    if n == 0:
        return None
    if tag == "S":
        ptr[0] = <const char*>PyUnicode_DATA(text)
        size[0] = n
        return text
    if tag == "N" and _plain_number(<const char*>PyUnicode_DATA(text), n):
        owner = _encode_text(text)
        ptr[0] = PyBytes_AS_STRING(owner)
        size[0] = PyBytes_GET_SIZE(owner)
        return owner
    return None


def wire_row_key(key, hash_name, hash_tag, range_name, range_tag):
    """The row key of a wire ``Key`` whose values are plainly valid, else None (see ``kvstore._pycore``)."""
    cdef const char* hp = NULL
    cdef const char* rp = NULL
    cdef Py_ssize_t hn = 0, rn = 0
    cdef PyObject* h
    cdef PyObject* r
    if type(key) is not dict or PyDict_GET_SIZE(key) != (1 if range_name is None else 2):
        return None
    h = kvstore_dict_get(key, hash_name)
    if h == NULL:
        return None
    try:
        hown = _wire_key_raw(<object>h, hash_tag, &hp, &hn)
        if hown is None or (hash_tag == "S" and hn > _max_hash_key) or hn > 0xFFFF:
            return None
        rown = None
        if range_name is not None:
            r = kvstore_dict_get(key, range_name)
            if r == NULL:
                return None
            rown = _wire_key_raw(<object>r, range_tag, &rp, &rn)
            if rown is None or (range_tag == "S" and rn > _max_range_key):
                return None
    except _Fallback:
        return _ref.wire_row_key(key, hash_name, hash_tag, range_name, range_tag)
    return _row_key(hp, hn, rp, rn)


cdef bytes _row_key(const char* hp, Py_ssize_t hn, const char* rp, Py_ssize_t rn):
    """The row key of the key bytes ``hp[:hn]`` and ``rp[:rn]`` (``rn`` 0: no range key): the crc32 of
    the hash component (its 2-byte length and bytes), the component, the range bytes."""
    cdef unsigned char* out
    cdef unsigned char lenbuf[2]
    cdef uint32_t crc
    result = PyBytes_FromStringAndSize(NULL, 6 + hn + rn)
    out = <unsigned char*>PyBytes_AS_STRING(result)
    lenbuf[0] = hn >> 8
    lenbuf[1] = hn & 0xFF
    crc = _crc32(_crc32(0, lenbuf, 2), <const unsigned char*>hp, hn)
    out[0] = crc >> 24
    out[1] = crc >> 16
    out[2] = crc >> 8
    out[3] = crc
    out[4] = lenbuf[0]
    out[5] = lenbuf[1]
    memcpy(out + 6, hp, hn)
    if rn:
        memcpy(out + 6 + hn, rp, rn)
    return result


# ------------------------------------------------------------------ row keys between bounds
# Row keys are bytes; the SortedList's sublists (``_lists``) and their maxima
# (``_maxes``) are searched with memcmp (``_ckeys._cmp``) rather than rich comparisons.

cdef inline list _as_list(object value):
    """``value`` when it is a list (a SortedList's ``_maxes`` / ``_lists``), else _Fallback."""
    if type(value) is not list:
        raise _Fallback
    return value


cdef inline dict _fields(object keys):
    """The instance dict of SortedList ``keys``, where ``_maxes`` and ``_lists`` are read
    (``kvstore_field``: no type lookup); _Fallback for any other object."""
    if type(keys) is not _SortedList:
        raise _Fallback
    return PyObject_GenericGetDict(keys, NULL)


cdef list _take_forward(object keys, object lo, bint lo_inc, object hi, bint hi_inc, Py_ssize_t n):
    cdef dict fields = _fields(keys)
    cdef list maxes = _as_list(kvstore_field(fields, keys, "_maxes"))
    cdef list lists = _as_list(kvstore_field(fields, keys, "_lists"))
    if len(lists) != len(maxes):
        raise _Fallback
    cdef list sub, out
    cdef Py_ssize_t pos, idx, stop, nmax = len(maxes)
    if nmax == 0:
        return []
    if lo is None:
        pos = idx = 0
    else:
        pos = _bisect(maxes, lo, 0, nmax, not lo_inc)
        if pos == nmax:
            return []
        sub = lists[pos]
        idx = _bisect(sub, lo, 0, len(sub), not lo_inc)
    sub = lists[pos]
    stop = min(len(sub), idx + n)
    if hi is not None and stop > idx:
        c = _cmp(sub[stop - 1], hi)
        if c > 0 or (c == 0 and not hi_inc):
            # the range ends in this sublist
            return sub[idx:_bisect(sub, hi, idx, stop, hi_inc)]
    out = sub[idx:stop]
    while len(out) < n and pos + 1 < len(lists):
        if hi is not None:
            c = _cmp(maxes[pos], hi)
            if not (c < 0 or (hi_inc and c == 0)):
                break
        pos += 1
        out += (<list>lists[pos])[:n - len(out)]
    if hi is not None and out:
        c = _cmp(out[len(out) - 1], hi)
        if c > 0 or (c == 0 and not hi_inc):
            out = out[:_bisect(out, hi, 0, len(out), hi_inc)]
    return out


cdef list _take_reverse(object keys, object lo, bint lo_inc, object hi, bint hi_inc, Py_ssize_t n):
    cdef dict fields = _fields(keys)
    cdef list maxes = _as_list(kvstore_field(fields, keys, "_maxes"))
    cdef list lists = _as_list(kvstore_field(fields, keys, "_lists"))
    if len(lists) != len(maxes):
        raise _Fallback
    cdef list sub, out, ascending
    cdef Py_ssize_t pos, start, end, nmax = len(maxes)
    if nmax == 0:
        return []
    if hi is None:
        pos = len(lists) - 1
        end = len(<list>lists[pos])
    else:
        pos = _bisect(maxes, hi, 0, nmax, hi_inc)
        if pos == nmax:
            pos -= 1
            end = len(<list>lists[pos])
        else:
            sub = lists[pos]
            end = _bisect(sub, hi, 0, len(sub), hi_inc)
    start = max(0, end - n)
    sub = lists[pos]
    if lo is not None and start < end and _cmp(sub[start], lo) < 0:    # the range starts in this sublist
        start = _bisect(sub, lo, start, end, not lo_inc)
        return sub[start:end][::-1]
    out = sub[start:end][::-1]
    while len(out) < n and pos > 0:
        if lo is not None:
            if len(<list>lists[pos]) == 0:
                raise _Fallback
            c = _cmp((<list>lists[pos])[0], lo)
            if not (c > 0 or (lo_inc and c == 0)):
                break
        pos -= 1
        sub = lists[pos]
        out += sub[max(0, len(sub) - (n - len(out))):][::-1]
    if lo is not None and out:
        c = _cmp(out[len(out) - 1], lo)
        if c < 0 or (c == 0 and not lo_inc):
            ascending = out[::-1]
            out = out[:len(out) - _bisect(ascending, lo, 0, len(ascending), not lo_inc)]
    return out


cdef inline bint _bound_ok(object bound):
    return bound is None or type(bound) is bytes


def take_forward(keys, lo, lo_inc, hi, hi_inc, n):
    """Up to ``n`` keys of SortedList ``keys`` from ``lo`` upwards, not past ``hi`` (see ``kvstore._pycore``)."""
    if _bound_ok(lo) and _bound_ok(hi) and type(n) is int and n >= 0:
        try:
            return _take_forward(keys, lo, lo_inc, hi, hi_inc, n)
        except Exception:
            pass
    return _ref.take_forward(keys, lo, lo_inc, hi, hi_inc, n)


def take_reverse(keys, lo, lo_inc, hi, hi_inc, n):
    """Up to ``n`` keys of SortedList ``keys`` from ``hi`` downwards, not below ``lo`` (see ``kvstore._pycore``)."""
    if _bound_ok(lo) and _bound_ok(hi) and type(n) is int and n >= 0:
        try:
            return _take_reverse(keys, lo, lo_inc, hi, hi_inc, n)
        except Exception:
            pass
    return _ref.take_reverse(keys, lo, lo_inc, hi, hi_inc, n)


# ------------------------------------------------------------------ one Query/Scan page

cdef list _take(object keys, object lo, bint lo_inc, object hi, bint hi_inc, Py_ssize_t n, bint reverse):
    try:
        if reverse:
            return _take_reverse(keys, lo, lo_inc, hi, hi_inc, n)
        return _take_forward(keys, lo, lo_inc, hi, hi_inc, n)
    except _Fallback:
        if reverse:
            return _ref.take_reverse(keys, lo, lo_inc, hi, hi_inc, n)
        return _ref.take_forward(keys, lo, lo_inc, hi, hi_inc, n)


cdef object _unpack_one(object packed):
    if type(packed) is bytes:
        try:
            return _unpack_bytes(packed)
        except Exception:
            pass
    return _ref.unpack_item(packed)


# What a marker byte of a stored item starts, for _flat_packed: 0 anything but the flat kinds, 1 fixstr,
# 2 str8, 3 str16, 4 nil or a boolean, 5 fixext, 6 ext8, 7 ext16
cdef unsigned char _MARK[256]


cdef void _init_marks() noexcept:
    cdef int b
    for b in range(256):
        _MARK[b] = 0
    for b in range(0xA0, 0xC0):
        _MARK[b] = 1
    _MARK[0xD9] = 2
    _MARK[0xDA] = 3
    _MARK[0xC0] = _MARK[0xC2] = _MARK[0xC3] = 4
    for b in range(0xD4, 0xD9):
        _MARK[b] = 5
    _MARK[0xC7] = 6
    _MARK[0xC8] = 7


_init_marks()


cdef bint _flat_packed(object packed) noexcept:
    """``_citems._flat_item`` (``kvstore._pycore.flat_item``) with one table lookup per marker: whether a
    stored item of fewer than 16 attributes holds only strings, numbers, binaries, booleans and nulls
    (its DynamoDB size is then below its packed length).  False for anything else or unusual."""
    cdef const unsigned char* p
    cdef Py_ssize_t pos = 1, end, i, n, length
    cdef unsigned char b, kind
    if type(packed) is not bytes:
        return False
    p = <const unsigned char*>PyBytes_AS_STRING(packed)
    end = PyBytes_GET_SIZE(packed)
    if end < 1 or not (0x80 <= p[0] <= 0x8F):
        return False                       # maps of 16 attributes or more are measured
    n = 2 * (p[0] & 0x0F)
    for i in range(n):                     # names and values alike: str, or (values) the flat kinds
        if pos >= end:
            return False
        b = p[pos]
        pos += 1
        kind = _MARK[b]
        if kind == 1:
            pos += b & 0x1F
            continue
        if kind == 0 or (kind > 3 and not (i & 1)):
            return False                   # not a flat kind, or a name that is not a str
        if kind == 4:
            continue
        if kind == 2:
            if pos + 1 > end:
                return False
            length = p[pos]
            pos += 1
        elif kind == 3:
            if pos + 2 > end:
                return False
            length = (p[pos] << 8) | p[pos + 1]
            pos += 2
        else:
            if kind == 5:
                if pos + 1 > end:
                    return False
                length = 1 << (b - 0xD4)
                b = p[pos]
                pos += 1
            elif kind == 6:
                if pos + 2 > end:
                    return False
                length = p[pos]
                b = p[pos + 1]
                pos += 2
            else:
                if pos + 3 > end:
                    return False
                length = (p[pos] << 8) | p[pos + 1]
                b = p[pos + 2]
                pos += 3
            if b != C_EXT_N and b != C_EXT_B:
                return False
        pos += length
    return pos == end


cdef object _read_size(list found, Py_ssize_t read_bytes, bint flat):
    """``kvstore._pycore.read_size`` of a page whose items ``found`` were unpacked (``flat``: every item
    was :func:`_flat_packed`, as far as they were checked: while the page held at most 4 KB): the
    page's stored length when that settles its read units, else the DynamoDB size of its items (of
    the unpacked items: ``packed_item_size`` is ``item_size`` of the unpacked item)."""
    if read_bytes <= 1024 or (read_bytes <= 4096 and flat):
        return read_bytes
    return sum(map(_item_size, found))


def read_page(partitions, locks, shift, lo, lo_inc, hi, hi_inc, reverse, chunk, values, limit, page_size, unpack,
              sized=False):
    """One Query/Scan page of a table or index: ``(found, read_bytes, stopped)`` (see ``kvstore._pycore``)."""
    if (type(partitions) is not list or type(locks) is not list or type(values) is not dict
            or not (lo is None or (type(lo) is bytes and PyBytes_GET_SIZE(lo) > 0))
            or not (hi is None or (type(hi) is bytes and PyBytes_GET_SIZE(hi) > 0))
            or type(shift) is not int or type(chunk) is not int or type(page_size) is not int
            or not (limit is None or type(limit) is int)):
        return _ref.read_page(partitions, locks, shift, lo, lo_inc, hi, hi_inc, reverse, chunk, values, limit,
                              page_size, unpack, sized)
    cdef Py_ssize_t c_shift, c_chunk, c_limit, c_page
    try:
        c_shift = shift
        c_chunk = chunk
        c_page = page_size
        c_limit = -1 if limit is None else limit
        if c_shift < 0 or c_shift > 8 or c_chunk < 1 or (limit is not None and c_limit < 0) \
                or len(partitions) != len(locks) or len(partitions) == 0:
            raise _Fallback
    except Exception:
        return _ref.read_page(partitions, locks, shift, lo, lo_inc, hi, hi_inc, reverse, chunk, values, limit,
                              page_size, unpack, sized)
    return _read_page(partitions, locks, c_shift, lo, lo_inc, hi, hi_inc, reverse, c_chunk, values, c_limit,
                      c_page, unpack, sized)


cdef tuple _read_page(list partitions, list locks, Py_ssize_t c_shift, object lo, bint c_lo_inc, object hi,
                      bint c_hi_inc, bint c_reverse, Py_ssize_t c_chunk, dict values, Py_ssize_t c_limit,
                      Py_ssize_t c_page, bint c_unpack, bint sized):
    """``read_page`` on arguments it checked: ``lo`` / ``hi`` None or non-empty bytes, ``c_limit`` -1 for
    none, ``c_shift`` 0..8, ``c_chunk`` >= 1, as many partitions as locks and at least one."""
    cdef Py_ssize_t read_bytes = 0, p, first, last, nparts, step, size
    cdef bint c_sized = sized and c_unpack
    cdef bint c_flat = c_sized                 # every item read so far is _flat_packed (sized pages only)
    cdef bint plo_inc, phi_inc
    cdef PyObject* found_value
    cdef list batch
    nparts = len(partitions)
    first = 0 if lo is None else (<unsigned char>PyBytes_AS_STRING(lo)[0]) >> c_shift
    last = nparts - 1 if hi is None else min(nparts - 1, (<unsigned char>PyBytes_AS_STRING(hi)[0]) >> c_shift)
    found = []
    if c_reverse:
        p, step = last, -1
    else:
        p, step = first, 1
    while first <= p <= last:
        keys = partitions[p]
        lock = locks[p]
        plo, plo_inc, phi, phi_inc = lo, c_lo_inc, hi, c_hi_inc
        while True:
            with lock:
                batch = _take(keys, plo, plo_inc, phi, phi_inc, c_chunk, c_reverse)
            for row_key in batch:
                found_value = kvstore_dict_get(values, row_key)
                if found_value == NULL:       # removed after the key list was read
                    continue
                packed = <object>found_value
                PyList_Append(found, _unpack_one(packed) if c_unpack else packed)
                size = PyBytes_GET_SIZE(packed) if type(packed) is bytes else len(packed)
                read_bytes += size
                if c_flat and read_bytes <= 4096:         # (past 4 KB the page is measured anyway)
                    c_flat = _flat_packed(packed)
                if len(found) == c_limit or read_bytes >= c_page:
                    return found, _read_size(found, read_bytes, c_flat) if c_sized else read_bytes, True
            if len(batch) < c_chunk:
                break
            if c_reverse:
                phi, phi_inc = batch[len(batch) - 1], False
            else:
                plo, plo_inc = batch[len(batch) - 1], False
        p += step
    return found, _read_size(found, read_bytes, c_flat) if c_sized else read_bytes, False


# ------------------------------------------------------------------ prepared Query and Scan plans

cdef frozenset _SHAPE_MEMBERS = _ref._SHAPE_MEMBERS
cdef frozenset _VALUE_MEMBERS = _ref._VALUE_MEMBERS


def read_shape(tuple prefix, request):
    """The shape key of a Query or Scan request, or None (see ``kvstore._pycore``)."""
    if type(request) is not dict:
        return _ref.read_shape(prefix, request)
    return _read_shape(prefix, request)


cdef object _read_shape(tuple prefix, dict request):
    cdef list key
    key = list(prefix)
    for member, value in (<dict>request).items():
        if member in _VALUE_MEMBERS:
            key.append(member)
        elif member in _SHAPE_MEMBERS and (type(value) is str or type(value) is bool):
            key.append(member)
            key.append(value)
        else:
            return None
    names = (<dict>request).get("ExpressionAttributeNames")
    if names is not None:
        if type(names) is not dict:
            return None
        for k, v in (<dict>names).items():
            if type(k) is not str or type(v) is not str:
                return None
        key.append(tuple((<dict>names).items()))
    values = (<dict>request).get("ExpressionAttributeValues")
    if values is not None:
        if type(values) is not dict:
            return None
        placeholders = []
        classes = []
        for k, v in (<dict>values).items():
            if type(k) is not str:
                return None
            placeholders.append(k)
            classes.append(type(v))
        key.append(tuple(placeholders))
        key.append(tuple(classes))
    return tuple(key)


cdef inline bint _short_key(object value, object tag, Py_ssize_t most):
    t = type(value)
    if t is not _tag_type(tag):
        return False
    if t is str:
        return 0 < PyUnicode_GET_LENGTH(value) <= most // 4
    if t is Binary:
        raw = value.value
        return type(raw) is bytes and 0 < PyBytes_GET_SIZE(raw) <= most
    return True


cdef object _successor(bytes prefix):
    cdef Py_ssize_t n = PyBytes_GET_SIZE(prefix)
    cdef const unsigned char* p = <const unsigned char*>PyBytes_AS_STRING(prefix)
    while n > 0 and p[n - 1] == 0xFF:
        n -= 1
    if n == 0:
        return None
    result = PyBytes_FromStringAndSize(<const char*>p, n)
    (<unsigned char*>PyBytes_AS_STRING(result))[n - 1] += 1
    return result


def query_bounds(hash_value, hash_tag, op, values, range_tag, bint delimited):
    """Row-key bounds of a Query whose key values are plainly valid, else None (see ``kvstore._pycore``)."""
    return _query_bounds(hash_value, hash_tag, op, values, range_tag, delimited)


cdef object _query_bounds(object hash_value, object hash_tag, object op, object values, object range_tag,
                          bint delimited):
    if not _short_key(hash_value, hash_tag, _max_hash_key):
        return None
    for v in values:
        if not _short_key(v, range_tag, _max_range_key):
            return None
    try:
        prefix = _prefixed(hash_value, None, False, None)
        end = _successor(prefix)
        if op is None:
            return prefix, True, end, False
        if op == "BEGINS_WITH":
            if type(values[0]) is Decimal:      # (a KeyConditionExpression never has it: the reference)
                return _ref.query_bounds(hash_value, hash_tag, op, values, range_tag, delimited)
            if delimited:
                start = _prefixed(hash_value, values[0], True, None)
                start = start[:len(start) - 2]      # no terminator: a prefix
            else:
                start = _prefixed(hash_value, values[0], False, None)
            return start, True, _successor(start) or end, False
        if op == "BETWEEN":
            lo = _prefixed(hash_value, values[0], delimited, None)
            hi = _prefixed(hash_value, values[1], delimited, None)
            return lo, True, (_successor(hi) or end) if delimited else hi, not delimited
        bound = _prefixed(hash_value, values[0], delimited, None)
        if op == "EQ":
            return bound, True, (_successor(bound) or end) if delimited else bound, not delimited
        if op == "LT":
            return prefix, True, bound, False
        if op == "LE":
            return prefix, True, (_successor(bound) or end) if delimited else bound, not delimited
        if op == "GT":
            if delimited:
                return _successor(bound), True, end, False
            return bound, False, end, False
        if op == "GE":
            return bound, True, end, False
        return None
    except Exception:
        return _ref.query_bounds(hash_value, hash_tag, op, values, range_tag, delimited)


# ------------------------------------------------------------------ read plans (session 8)
# A Table.query / Table.scan call of a known shape answered in one call: shape key, plan lookup,
# the values' checks, the key-condition bounds, the page walk and the response (``kvstore._pycore``'s
# ``embedded_read`` and ``_plan_page`` say what each step takes and declines).

def embedded_read(engine, prefix, kwargs):
    """A call's response from its plan's ``page`` spec, else its shape key or None (see ``kvstore._pycore``)."""
    if type(kwargs) is not dict or type(prefix) is not tuple:
        return _ref.embedded_read(engine, prefix, kwargs)
    if engine.metrics is not None or engine.faults is not None or "TableName" in <dict>kwargs:
        return None
    shape = _read_shape(prefix, kwargs)
    if shape is None:
        return None
    embedded = _get(engine.read_plans, shape)
    if embedded is None:
        return shape
    page = embedded.page
    if type(page) is not tuple:
        return shape
    response = _plan_page(page, engine.tables, kwargs, engine.capacity)
    return shape if response is None else response


cdef inline object _get(object mapping, object key):
    """``mapping.get(key)``, without the method call when ``mapping`` is a dict (the engine's are)."""
    cdef PyObject* found
    if type(mapping) is not dict:
        return mapping.get(key)
    found = kvstore_dict_get(mapping, key)
    return None if found == NULL else <object>found


cdef inline bint _ascii_str(PyObject* value):
    return value != NULL and type(<object>value) is str and PyUnicode_IS_ASCII(<object>value)


cdef int _charge_page(object meter, object table, object index, object row_key, object size, dict kwargs,
                      bint query) except -1:
    """``kvstore._pycore._charge_page``: the compiled meter's admission and charge of the page
    (``MeterCore._read``, no Python call), else the reference's."""
    cdef PyObject* consistent
    if not isinstance(meter, MeterCore):
        _ref._charge_page(meter, table, index, row_key, size, kwargs, query)
        return 0
    consistent = kvstore_dict_get(kwargs, "ConsistentRead")
    try:
        (<MeterCore>meter)._read(table, index, row_key, size, None if consistent == NULL else <object>consistent)
    except Exception as e:         # DynamoDB's throttling error: the call's answer
        e._operation_name = "Query" if query else "Scan"
        raise
    return 0


cdef object _plan_page(tuple page, object tables, dict kwargs, object meter):
    cdef PyObject* found
    cdef Py_ssize_t c_limit = -1, c_chunk = 128
    cdef bint lo_inc = True, hi_inc = False
    table_name, table, index, query, hash_slot, range_slot, op, delimited, reverse, key_names, start_schema = page
    if _get(tables, table_name) is not table:
        return None
    if index is not None and (_get(table.indexes, index.name) is not index or index.status != "ACTIVE"):
        return None
    limit = None
    found = kvstore_dict_get(kwargs, "Limit")
    if found != NULL:
        limit = <object>found
        if type(limit) is not int or limit < 1:
            return None
        c_limit = limit if limit < 0x4000000000000000 else -1    # (a Limit past any page is none)
        if c_limit != -1 and c_limit < 128:
            c_chunk = c_limit + 1
    lo = hi = None
    if query:
        found = kvstore_dict_get(kwargs, "ExpressionAttributeValues")
        if kvstore_dict_get(kwargs, "ExclusiveStartKey") != NULL or found == NULL or type(<object>found) is not dict:
            return None
        values = <object>found
        found = kvstore_dict_get(values, hash_slot)
        if not _ascii_str(found):
            return None
        hash_value = <object>found
        if op is None:
            range_values = ()
        else:
            found = kvstore_dict_get(values, range_slot)
            if not _ascii_str(found):
                return None
            range_values = (<object>found,)
        bounds = _query_bounds(hash_value, "S", op, range_values, "S", delimited)
        if bounds is None:
            return None
        lo, lo_inc, hi, hi_inc = bounds
    else:
        c_chunk = 128
        found = kvstore_dict_get(kwargs, "ExclusiveStartKey")
        if found != NULL:
            start = <object>found
            if start_schema is None or type(start) is not dict:
                return None
            for value in (<dict>start).values():
                if type(value) is not str or not PyUnicode_IS_ASCII(value):
                    return None
            hash_name, range_name = start_schema
            lo = _request_row_key(start, hash_name, "S", range_name, "S" if range_name is not None else None)
            if lo is None:
                return None
            lo_inc = False
    structure = table if index is None else index
    partitions, locks, shift = structure.partitions, structure.locks, table._shift
    rows = table.rows if index is None else index.entries
    if (type(partitions) is list and type(locks) is list and type(rows) is dict and type(shift) is int
            and 0 <= shift <= 8 and 0 < len(partitions) == len(locks)
            and (lo is None or (type(lo) is bytes and PyBytes_GET_SIZE(lo) > 0))
            and (hi is None or (type(hi) is bytes and PyBytes_GET_SIZE(hi) > 0))):
        items, size, stopped = _read_page(partitions, locks, shift, lo, lo_inc, hi, hi_inc, reverse, c_chunk, rows,
                                          c_limit, _max_page_size, True, meter is not None)
    else:
        items, size, stopped = _ref.read_page(partitions, locks, shift, lo, lo_inc, hi, hi_inc, reverse, c_chunk,
                                              rows, limit, _max_page_size, True, meter is not None)
    if meter is not None:
        _charge_page(meter, table, index, lo if query and index is None else None, size, kwargs, query)
    count = len(items)
    response = {"Items": items, "Count": count, "ScannedCount": count}
    if stopped:
        last = (<list>items)[count - 1]
        response["LastEvaluatedKey"] = {name: last[name] for name in key_names}
    response["ResponseMetadata"] = {"HTTPStatusCode": 200, "RetryAttempts": 0}
    return response
