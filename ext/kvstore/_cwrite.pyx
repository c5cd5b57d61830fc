# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False, infer_types=True
"""The write path, compiled: the twins of ``kvstore._pycore``'s ``sorted_add`` /
``sorted_remove`` (a row or entry key into or out of a SortedList partition),
``project_packed`` (an index entry's projected item cut out of the packed item),
``update_indexes`` (every index of a table moved from the old image to the
new one in one pass) and ``same_value`` (whether an update changed the item).  Read ``kvstore._pycore`` for what each does; anything
outside the shapes covered here goes to that reference, as in the other modules.
"""

from cpython.object cimport PyObject
from cpython.dict cimport PyDict_Copy
from cpython.ref cimport Py_INCREF, Py_XDECREF
from cpython.tuple cimport PyTuple_GET_ITEM, PyTuple_GET_SIZE, PyTuple_New, PyTuple_SET_ITEM
from libc.string cimport memcmp, memcpy

from kvstore._capi cimport *
from kvstore._cvalues cimport *
from kvstore._ckeys cimport _bisect, _cmp, _prefixed, _prefixed_raw, _raw
from kvstore._citems cimport _unpack, _unpacked

from decimal import Decimal as _Decimal

from sortedcontainers import SortedList as _SortedList

from kvstore import _pycore as _ref
from kvstore import limits as _limits
from kvstore._cvalues import _Fallback
from kvstore.types import Binary as _Binary

cdef object Decimal = _Decimal
cdef object Binary = _Binary
cdef object SortedList = _SortedList
cdef Py_ssize_t _max_hash_key = _limits.MAX_HASH_KEY_SIZE
cdef Py_ssize_t _max_range_key = _limits.MAX_RANGE_KEY_SIZE


# ------------------------------------------------------------------ SortedList partitions
# Keys are bytes, so bisect with memcmp (``_ckeys._bisect``: the order bytes give), and
# do inline what SortedList.add / .remove do in the usual case: the sublist
# neither splits nor merges and no positional index is built.  Everything else
# (the split, the merge, the index, a missing key's ValueError) is the
# SortedList's own method.

cdef int _sorted_add(object keys, object key) except -1:
    cdef list maxes, lists, sub
    cdef dict fields
    cdef Py_ssize_t n, pos, idx
    cdef bint tail = False
    if type(keys) is not SortedList or type(key) is not bytes:
        keys.add(key)
        return 0
    fields = PyObject_GenericGetDict(keys, NULL)
    maxes = kvstore_field(fields, keys, "_maxes")
    lists = kvstore_field(fields, keys, "_lists")
    n = len(maxes)
    if n == 0 or len(lists) != n:
        keys.add(key)
        return 0
    try:
        pos = _bisect(maxes, key, 0, n, True)
        if pos == n:                       # past every sublist's maximum: the last one's new maximum
            pos -= 1
            sub = lists[pos]
            idx = len(sub)
            tail = True
        else:
            sub = lists[pos]
            idx = _bisect(sub, key, 0, len(sub), True)
    except _Fallback:
        keys.add(key)
        return 0
    if tail:
        sub.append(key)
        maxes[pos] = key
    else:
        kvstore_list_insert(sub, idx, key)
    if len(sub) > (<Py_ssize_t>kvstore_field(fields, keys, "_load") << 1) or kvstore_field(fields, keys, "_index"):
        keys._expand(pos)                  # split the sublist, or keep the positional index
    fields["_len"] = kvstore_field(fields, keys, "_len") + 1
    return 0


cdef int _sorted_remove(object keys, object key) except -1:
    cdef list maxes, lists, sub
    cdef dict fields
    cdef Py_ssize_t n, pos, idx
    if type(keys) is not SortedList or type(key) is not bytes:
        keys.remove(key)
        return 0
    fields = PyObject_GenericGetDict(keys, NULL)
    maxes = kvstore_field(fields, keys, "_maxes")
    lists = kvstore_field(fields, keys, "_lists")
    n = len(maxes)
    if n == 0 or len(lists) != n:
        keys.remove(key)
        return 0
    try:
        pos = _bisect(maxes, key, 0, n, False)
        if pos == n:
            keys.remove(key)               # not a member: its ValueError
            return 0
        sub = lists[pos]
        idx = _bisect(sub, key, 0, len(sub), False)
        if idx == len(sub) or _cmp(<object>PyList_GET_ITEM(sub, idx), key) != 0:
            keys.remove(key)
            return 0
    except _Fallback:
        keys.remove(key)
        return 0
    if len(sub) - 1 > (<Py_ssize_t>kvstore_field(fields, keys, "_load") >> 1) \
            and not kvstore_field(fields, keys, "_index"):
        del sub[idx]
        maxes[pos] = sub[len(sub) - 1]
        fields["_len"] = kvstore_field(fields, keys, "_len") - 1
    else:
        keys._delete(pos, idx)             # merge with a neighbour, or keep the positional index
    return 0


def sorted_add(keys, key):
    """``keys.add(key)`` (see ``kvstore._pycore``)."""
    _sorted_add(keys, key)


def sorted_remove(keys, key):
    """``keys.remove(key)`` (see ``kvstore._pycore``)."""
    _sorted_remove(keys, key)


# ------------------------------------------------------------------ projections
# A packed item is a msgpack map written in the item's order; the projection of
# the item packs to the same map header (fewer entries) over the same entries'
# bytes, so it is cut out of the packed item instead of packed again.

cdef inline Py_ssize_t _read_be(const unsigned char* p, int n) noexcept:
    cdef Py_ssize_t v = 0
    cdef int i
    for i in range(n):
        v = (v << 8) | p[i]
    return v


cdef Py_ssize_t _skip(const unsigned char* p, Py_ssize_t pos, Py_ssize_t end, int depth) except -1:
    """Position after the msgpack value at ``pos``; _Fallback for anything malformed or too deep."""
    cdef unsigned char b
    cdef Py_ssize_t n = 0, i
    if pos >= end or depth > MAX_DEPTH:
        raise _Fallback
    b = p[pos]
    if b <= 0x7F or b >= 0xE0 or b == 0xC0 or b == 0xC2 or b == 0xC3:
        return pos + 1
    if 0xA0 <= b <= 0xBF:
        n = pos + 1 + (b & 0x1F)
    elif 0x80 <= b <= 0x8F or 0x90 <= b <= 0x9F or b in (0xDC, 0xDD, 0xDE, 0xDF):
        if b <= 0x8F:
            n, pos = 2 * (b & 0x0F), pos + 1
        elif b <= 0x9F:
            n, pos = b & 0x0F, pos + 1
        else:
            if pos + (3 if b in (0xDC, 0xDE) else 5) > end:
                raise _Fallback
            if b == 0xDC:
                n, pos = _read_be(p + pos + 1, 2), pos + 3
            elif b == 0xDD:
                n, pos = _read_be(p + pos + 1, 4), pos + 5
            elif b == 0xDE:
                n, pos = 2 * _read_be(p + pos + 1, 2), pos + 3
            else:
                n, pos = 2 * _read_be(p + pos + 1, 4), pos + 5
        for i in range(n):
            pos = _skip(p, pos, end, depth + 1)
        return pos
    elif b == 0xC4 or b == 0xD9:
        if pos + 2 > end:
            raise _Fallback
        n = pos + 2 + p[pos + 1]
    elif b == 0xC5 or b == 0xDA:
        if pos + 3 > end:
            raise _Fallback
        n = pos + 3 + _read_be(p + pos + 1, 2)
    elif b == 0xC6 or b == 0xDB:
        if pos + 5 > end:
            raise _Fallback
        n = pos + 5 + _read_be(p + pos + 1, 4)
    elif b == 0xC7:
        if pos + 2 > end:
            raise _Fallback
        n = pos + 3 + p[pos + 1]
    elif b == 0xC8:
        if pos + 3 > end:
            raise _Fallback
        n = pos + 4 + _read_be(p + pos + 1, 2)
    elif b == 0xC9:
        if pos + 5 > end:
            raise _Fallback
        n = pos + 6 + _read_be(p + pos + 1, 4)
    elif b == 0xCA or b == 0xCE or b == 0xD2:
        n = pos + 5
    elif b == 0xCB or b == 0xCF or b == 0xD3:
        n = pos + 9
    elif b == 0xCC or b == 0xD0:
        n = pos + 2
    elif b == 0xCD or b == 0xD1:
        n = pos + 3
    elif b == 0xD4:
        n = pos + 3
    elif b == 0xD5:
        n = pos + 4
    elif b == 0xD6:
        n = pos + 6
    elif b == 0xD7:
        n = pos + 10
    elif b == 0xD8:
        n = pos + 18
    else:
        raise _Fallback
    if n > end:
        raise _Fallback
    return n


cdef bytes _project(object packed, object names):
    """``project_packed`` of a set of str ``names``; _Fallback for anything unusual."""
    if type(names) is not frozenset and type(names) is not set:
        raise _Fallback
    return _project_as(packed, names, None)


cdef inline bint _utf8_in(const unsigned char* name, Py_ssize_t n, tuple encoded) noexcept:
    """Whether the UTF-8 bytes ``name[:n]`` are one of ``encoded`` (bytes)."""
    cdef Py_ssize_t i
    for i in range(PyTuple_GET_SIZE(encoded)):
        e = <object>PyTuple_GET_ITEM(encoded, i)
        if PyBytes_GET_SIZE(e) == n and memcmp(PyBytes_AS_STRING(e), name, n) == 0:
            return True
    return False


cdef inline bint _map_head(const unsigned char* p, Py_ssize_t end, Py_ssize_t* count, Py_ssize_t* pos) noexcept:
    """Read the fixmap or map 16 head of the ``end`` bytes at ``p``: its entry count and the position
    after it; False when the bytes start with no such head."""
    cdef unsigned char b
    if end < 1:
        return False
    b = p[0]
    if 0x80 <= b <= 0x8F:
        count[0], pos[0] = b & 0x0F, 1
    elif b == 0xDE and end >= 3:
        count[0], pos[0] = _read_be(p + 1, 2), 3
    else:
        return False
    return True


cdef inline bint _key_head(const unsigned char* p, Py_ssize_t end, Py_ssize_t* pos, Py_ssize_t* klen) noexcept:
    """Read the str head (fixstr, str 8 or str 16) of a map key at ``pos[0]``: the key's length, and
    ``pos[0]`` moved to its first byte; False when no such head is there or the key passes ``end``."""
    cdef unsigned char b
    cdef Py_ssize_t at = pos[0]
    if at >= end:
        return False
    b = p[at]
    if 0xA0 <= b <= 0xBF:
        klen[0], at = b & 0x1F, at + 1
    elif b == 0xD9 and at + 2 <= end:
        klen[0], at = p[at + 1], at + 2
    elif b == 0xDA and at + 3 <= end:
        klen[0], at = _read_be(p + at + 1, 2), at + 3
    else:
        return False
    pos[0] = at
    return at + klen[0] <= end


cdef bytes _project_as(object packed, object names, tuple encoded):
    """The projection of ``packed`` onto ``names`` (a set of str), or, when ``encoded`` is not None,
    onto the attributes whose names' UTF-8 bytes are among ``encoded`` (an index's projected names
    encoded once, ``Index.write_plan``: no name is decoded)."""
    cdef const unsigned char* p
    cdef Py_ssize_t end, pos, count, i, kstart, klen, vstart, header, kept = 0, total = 0
    cdef Py_ssize_t starts[64]
    cdef Py_ssize_t stops[64]
    cdef unsigned char* out
    cdef bint keep
    if type(packed) is not bytes:
        raise _Fallback
    p = <const unsigned char*>PyBytes_AS_STRING(packed)
    end = PyBytes_GET_SIZE(packed)
    if not _map_head(p, end, &count, &pos):
        raise _Fallback
    for i in range(count):
        kstart = pos
        if not _key_head(p, end, &pos, &klen):
            raise _Fallback
        if encoded is not None:
            keep = _utf8_in(p + pos, klen, encoded)
        else:
            keep = PyUnicode_DecodeUTF8(<const char*>(p + pos), klen, "surrogatepass") in names
        vstart = pos + klen
        pos = _skip(p, vstart, end, 1)
        if keep:
            if kept == 64:
                raise _Fallback
            starts[kept] = kstart
            stops[kept] = pos
            total += pos - kstart
            kept += 1
    if pos != end:
        raise _Fallback
    header = 1 if kept < 16 else 3
    result = PyBytes_FromStringAndSize(NULL, header + total)
    out = <unsigned char*>PyBytes_AS_STRING(result)
    if kept < 16:
        out[0] = 0x80 | kept
    else:
        out[0] = 0xDE
        out[1] = (kept >> 8) & 0xFF
        out[2] = kept & 0xFF
    out += header
    for i in range(kept):
        memcpy(out, p + starts[i], stops[i] - starts[i])
        out += stops[i] - starts[i]
    return result


def project_packed(packed, names):
    """The packed projection of a packed item onto the attribute ``names`` (see ``kvstore._pycore``)."""
    try:
        return _project(packed, names)
    except Exception:
        return _ref.project_packed(packed, names)


# ------------------------------------------------------------------ index maintenance

cdef object _MISSING = object()


cdef inline bint _indexable(object value, object key_type, Py_ssize_t max_size) except -1:
    """``kvstore.engine.index._indexable``: the declared type, not empty, within the key size."""
    cdef const char* ptr
    cdef Py_ssize_t size
    t = type(value)
    if t is str:
        if key_type != "S":
            return False
        size = PyUnicode_GET_LENGTH(value)
        if 0 < size <= max_size // 4:
            return True
    elif t is Decimal:
        return key_type == "N"
    elif t is Binary:
        if key_type != "B":
            return False
    else:
        return False
    _raw(value, &ptr, &size)
    return 0 < size <= max_size


# One pass for all of a table's indexes (``_update_all``): each index's ``write_plan`` (a tuple made
# once, when the index is: its key attributes and types, its projection's names encoded, its
# entries dict, sorted partitions and shift) is read with one attribute lookup; a number key value
# that two indexes share (or the old and new images hold, as the same object) is encoded once per
# write (``_KeyMemo``); a new entry goes into the entries dict with one lookup (``setdefault``).

cdef struct _KeyMemo:
    PyObject* value      # the Decimal last encoded (borrowed: the images outlive the pass)
    PyObject* owner      # its key bytes (a reference the memo holds)


cdef inline object _memo_raw(object value, const char** ptr, Py_ssize_t* size, _KeyMemo* memo):
    """``_raw`` of ``value``, a Decimal's encoding taken from or left in ``memo``."""
    cdef object owner
    if type(value) is not Decimal:
        return _raw(value, ptr, size)
    if memo.value == <PyObject*>value:
        owner = <object>memo.owner
    else:
        owner = _raw(value, ptr, size)
        Py_INCREF(owner)
        Py_XDECREF(memo.owner)
        memo.owner = <PyObject*>owner
        memo.value = <PyObject*>value
    ptr[0] = PyBytes_AS_STRING(owner)
    size[0] = PyBytes_GET_SIZE(owner)
    return owner


cdef object _entry_key(object item, tuple plan, object row_key, _KeyMemo* memo):
    """``Index.entry_key`` of a one-attribute HASH (and RANGE) index; ``plan`` is its
    ``write_plan``, whose first four members are ``(hash name, hash type, range name or None,
    range type)``."""
    cdef PyObject* h
    cdef PyObject* r = NULL
    cdef const char* hp
    cdef const char* tp = NULL
    cdef Py_ssize_t hn, tn = 0
    h = kvstore_dict_get(item, <object>PyTuple_GET_ITEM(plan, 0))
    if h == NULL or not _indexable(<object>h, <object>PyTuple_GET_ITEM(plan, 1), _max_hash_key):
        return None
    range_name = <object>PyTuple_GET_ITEM(plan, 2)
    if range_name is not None:
        r = kvstore_dict_get(item, range_name)
        if r == NULL or not _indexable(<object>r, <object>PyTuple_GET_ITEM(plan, 3), _max_range_key):
            return None
    hown = _memo_raw(<object>h, &hp, &hn, memo)
    if range_name is None:
        return _prefixed_raw(hp, hn, NULL, 0, False, row_key)
    town = _memo_raw(<object>r, &tp, &tn, memo)
    return _prefixed_raw(hp, hn, tp, tn, type(<object>r) is not Decimal, row_key)


cdef inline bint _same_key_value(dict old_item, dict new_item, object name) except -1:
    """Whether ``name`` is absent from both images or holds equal key-typed values (a key's bytes
    depend on its value alone: ``storage_key(Decimal("1.0")) == storage_key(Decimal("1"))``)."""
    cdef PyObject* a = kvstore_dict_get(old_item, name)
    cdef PyObject* b = kvstore_dict_get(new_item, name)
    if a == b:
        return True
    if a == NULL or b == NULL:
        return False
    t = type(<object>a)
    return t is type(<object>b) and (t is str or t is Decimal or t is Binary) and <object>a == <object>b


cdef int _update_index(object index, object row_key, object old_item, object new_item, object new_packed,
                       _KeyMemo* memo) except -1:
    plan = index.write_plan
    if plan is None or type(plan) is not tuple or PyTuple_GET_SIZE(plan) != 8 or type(row_key) is not bytes \
            or (old_item is not None and type(old_item) is not dict) \
            or (new_item is not None and type(new_item) is not dict):
        index.update(row_key, old_item, new_item, new_packed)     # a multi-attribute key, or unusual arguments
        return 0
    range_name = <object>PyTuple_GET_ITEM(plan, 2)
    if (old_item is not None and new_item is not None
            and _same_key_value(<dict>old_item, <dict>new_item, <object>PyTuple_GET_ITEM(plan, 0))
            and (range_name is None or _same_key_value(<dict>old_item, <dict>new_item, range_name))):
        old_item = None            # the entry keeps its key: only its value is written (Index.update)
    try:
        old_key = _entry_key(old_item, <tuple>plan, row_key, memo) if old_item is not None else None
        new_key = _entry_key(new_item, <tuple>plan, row_key, memo) if new_item is not None else None
    except Exception:
        index.update(row_key, old_item, new_item, new_packed)
        return 0
    cdef PyObject* p
    entries = <object>PyTuple_GET_ITEM(plan, 5)
    partitions = <object>PyTuple_GET_ITEM(plan, 6)
    shift_object = <object>PyTuple_GET_ITEM(plan, 7)
    if type(entries) is not dict or type(partitions) is not list or type(shift_object) is not int:
        index.update(row_key, old_item, new_item, new_packed)
        return 0
    cdef int shift = shift_object
    cdef Py_ssize_t delta = 0, n
    if old_key is not None and (new_key is None or _cmp(old_key, new_key) != 0):
        previous = (<dict>entries).pop(old_key, None)
        if previous is not None:           # absent only while a backfill has not reached this row
            delta -= len(previous)
            _sorted_remove((<list>partitions)[(<bytes>old_key)[0] >> shift], old_key)
    if new_key is not None:
        projection = <object>PyTuple_GET_ITEM(plan, 4)
        if projection is None:
            value = new_packed
        else:
            try:
                if type(projection) is tuple:
                    value = _project_as(new_packed, None, <tuple>projection)
                else:
                    value = _project(new_packed, projection)
            except Exception:
                value = index.project(new_item, new_packed)
        n = PyDict_GET_SIZE(entries)
        p = PyDict_SetDefault(entries, new_key, value)       # borrowed: what the dict holds now
        if PyDict_GET_SIZE(entries) != n:                     # a new entry
            _sorted_add((<list>partitions)[(<bytes>new_key)[0] >> shift], new_key)
        else:
            if <object>p is None:
                _sorted_add((<list>partitions)[(<bytes>new_key)[0] >> shift], new_key)
            else:
                delta -= len(<object>p)
            (<dict>entries)[new_key] = value
        delta += len(value)
    if delta:
        index.size_bytes += delta
    return 0


cdef int _update_all(object indexes, object row_key, object old_item, object new_item, object new_packed) except -1:
    """``Index.update`` of each of ``indexes`` (an iterable), in one pass sharing the encoding of
    number key values (``_KeyMemo``)."""
    cdef _KeyMemo memo
    memo.value = NULL
    memo.owner = NULL
    try:
        for index in indexes:
            _update_index(index, row_key, old_item, new_item, new_packed, &memo)
    finally:
        Py_XDECREF(memo.owner)
    return 0


cdef object _key_image(object packed, object indexes):
    """The attributes of the packed item ``packed`` that key one of ``indexes`` (every one with a
    ``write_plan``), unpacked into a dict, the others skipped: all that moving an index from the
    item needs (``_update_index`` reads an old image's key attributes alone).  None when it cannot
    tell (a multi-attribute key, many key names, an unusual name or packing): unpack it all."""
    cdef PyObject* names[16]
    cdef const char* name_ptr[16]
    cdef Py_ssize_t name_len[16]
    cdef int count = 0, i, j
    cdef const unsigned char* p
    cdef Py_ssize_t end, pos, n, k, klen, vstart
    cdef Reader r
    if type(packed) is not bytes:
        return None
    for index in indexes:
        plan = index.write_plan
        if type(plan) is not tuple or PyTuple_GET_SIZE(plan) != 8:
            return None
        for j in range(0, 3, 2):
            name = <object>PyTuple_GET_ITEM(plan, j)
            if name is None:
                continue
            if type(name) is not str or not PyUnicode_IS_ASCII(name):
                return None
            i = 0
            while i < count and <object>names[i] != name:
                i += 1
            if i == count:
                if count == 16:
                    return None
                names[count] = <PyObject*>name     # borrowed: the plan holds it
                name_ptr[count] = <const char*>PyUnicode_DATA(name)
                name_len[count] = PyUnicode_GET_LENGTH(name)
                count += 1
    p = <const unsigned char*>PyBytes_AS_STRING(packed)
    end = PyBytes_GET_SIZE(packed)
    if not _map_head(p, end, &n, &pos):
        return None
    result = {}
    try:
        for k in range(n):
            if not _key_head(p, end, &pos, &klen):
                return None
            vstart = pos + klen
            i = 0
            while i < count and not (name_len[i] == klen and memcmp(name_ptr[i], p + pos, klen) == 0):
                i += 1
            if i < count:
                r.data = p
                r.pos = vstart
                r.end = end
                result[<object>names[i]] = _unpack(&r, 1)
                pos = r.pos
            else:
                pos = _skip(p, vstart, end, 1)
    except Exception:
        return None
    if pos != end:
        return None
    return result


def update_indexes(indexes, row_key, old_item, new_item, new_packed):
    """``Index.update`` of each of ``indexes``, in one pass (see ``kvstore._pycore``)."""
    _update_all(indexes, row_key, old_item, new_item, new_packed)


# ------------------------------------------------------------------ "did the update change the item?"

cdef object _same_ref = None


cdef int _same(object a, object b, int depth) except -1:
    """1 when ``kvstore.types.same_value(a, b)`` is true, else 0; values outside the native model
    (and nesting past MAX_DEPTH) are compared by the reference."""
    cdef PyObject* p
    t = type(a)
    if t is not type(b):
        return 0
    if depth > MAX_DEPTH:
        return 1 if _same_ref(a, b) else 0
    if t is dict:
        if len(<dict>a) != len(<dict>b):
            return 0
        for k, v in (<dict>a).items():
            p = kvstore_dict_get(b, k)
            if p == NULL or not _same(v, <object>p, depth + 1):
                return 0
        return 1
    if t is list:
        if len(<list>a) != len(<list>b):
            return 0
        for i in range(len(<list>a)):
            if not _same(<object>PyList_GET_ITEM(a, i), <object>PyList_GET_ITEM(b, i), depth + 1):
                return 0
        return 1
    if t is str or t is Decimal or t is Binary or t is bool or a is None or t is set:
        return 1 if a == b else 0
    return 1 if _same_ref(a, b) else 0


def same_value(a, b):
    """Whether two native values are equal as DynamoDB sees them (see ``kvstore._pycore``)."""
    return _same_value_of(a, b)


cdef object _same_value_of(a, b):
    # (the compiled modules' call: no Python call protocol; _cwrite.pxd)
    global _same_ref
    if _same_ref is None:
        _same_ref = _ref.same_value
    return _same(a, b, 1) == 1


# ------------------------------------------------------------------ an embedded call's item
# The embedded API takes Python values (boto3's TypeSerializer's types); an item
# of ASCII strings, canonical Decimals, small ints, bools and None converts here
# without a Python call per attribute, and every other value goes through
# ``kvstore.types.from_python`` as before.

cdef object _from_python = None


cdef bint _canonical_text(object text) except -1:
    """Whether ``str(Decimal)`` is kvstore's canonical number text of at most 38 characters:
    ``-?[1-9][0-9]*(\\.[0-9]*[1-9])?``, ``-?0\\.[0-9]*[1-9]`` or ``0`` (``types._CANONICAL_RE``)."""
    cdef Py_ssize_t n, i = 0, dot = -1
    cdef const char* p
    if not PyUnicode_IS_ASCII(text):
        return False
    n = PyUnicode_GET_LENGTH(text)
    if n < 1 or n > 38:
        return False
    p = <const char*>PyUnicode_DATA(text)
    if n == 1 and p[0] == c'0':
        return True
    if p[0] == c'-':
        i = 1
        if n == 1:
            return False
    if p[i] == c'0':
        # only "0." followed by digits ending in a non-zero one
        if i + 1 >= n or p[i + 1] != c'.':
            return False
        dot = i + 1
    elif not (c'1' <= p[i] <= c'9'):
        return False
    for j in range(i + 1, n):
        if p[j] == c'.':
            if dot >= 0 and dot != j:
                return False
            dot = j
        elif not _is_digit(p[j]):
            return False
    if dot >= 0:
        return dot < n - 1 and p[n - 1] != c'0'
    return True


def item_from_python(item, allow_floats=False):
    """A Python caller's item in the native model (see ``kvstore._pycore``)."""
    return _item_from_python_of(item, allow_floats)


cdef object _item_from_python_of(item, allow_floats):
    # (the compiled modules' call: no Python call protocol; _cwrite.pxd)
    global _from_python
    cdef int overflow
    cdef long long n
    if _from_python is None:
        from kvstore.types import from_python
        _from_python = from_python
    if type(item) is not dict:
        return item
    out = {}
    for k, v in (<dict>item).items():
        if type(k) is not str:
            return item                   # kvstore.params reports the name's type, as boto3 does
        if not PyUnicode_IS_ASCII(k):
            _from_python(k)
        t = type(v)
        if t is str:
            out[k] = v if PyUnicode_IS_ASCII(v) else _from_python(v, allow_floats)
        elif t is Decimal:
            out[k] = v if _small_index(v) >= 0 or _canonical_text(str(v)) else _from_python(v, allow_floats)
        elif t is bool or v is None:
            out[k] = v
        elif t is int:
            overflow = 0
            n = PyLong_AsLongLongAndOverflow(v, &overflow)
            if overflow == 0 and SMALL_MIN <= n < SMALL_MIN + SMALL_COUNT:
                out[k] = _small_decimal(n)
            else:
                out[k] = Decimal(v) if overflow == 0 else _from_python(v, allow_floats)
        else:
            out[k] = _from_python(v, allow_floats)
    return out


# Decimal(n) of a small int is a call of the type (~500 instructions): the counters and increments of
# embedded calls are the shared Decimals of _cvalues ("small integers"), as stored ones read back are.


# ------------------------------------------------------------------ boto3's parameter check at a glance
# ``kvstore.params`` checks the common call (members of an exact type, an item's
# names all str, a transaction's actions made of those) without its walk; the
# tables of member specs are its own (``params._fast_table``).

cdef Py_ssize_t _shape_depth = _ref.SHAPE_DEPTH


cdef int _shape_ok(dict tables, object build, object shape, dict request, Py_ssize_t depth) except -1:
    cdef PyObject* p
    cdef PyObject* q
    cdef tuple spec, types
    cdef object kind
    cdef Py_ssize_t i
    if depth > _shape_depth:
        return 0
    p = kvstore_dict_get(tables, shape)
    table = build(shape) if p == NULL else <object>p
    if type(table) is not dict:
        return _shape_ref(tables, build, shape, request, depth)
    for member, value in request.items():
        q = kvstore_dict_get(<dict>table, member)
        if q == NULL:
            return 0
        if type(<object>q) is not tuple or len(<tuple>q) != 3 or type((<tuple>q)[0]) is not tuple:
            return _shape_ref(tables, build, shape, request, depth)
        spec = <tuple>q
        types = <tuple>spec[0]
        t = type(value)
        for i in range(len(types)):
            if <object>PyTuple_GET_ITEM(types, i) is t:
                break
        else:
            return 0
        kind = spec[1]
        if kind == 1:
            if t is not str:
                return _shape_ref(tables, build, shape, request, depth)
            if not PyUnicode_IS_ASCII(value):
                return 0                  # the walk looks for a lone surrogate
        elif kind == 2:
            if t is not dict:
                return _shape_ref(tables, build, shape, request, depth)
            for name in <dict>value:
                if type(name) is not str:
                    return 0
        elif kind == 3:
            if t is not dict:
                return _shape_ref(tables, build, shape, request, depth)
            if not _shape_ok(tables, build, spec[2], <dict>value, depth + 1):
                return 0
        elif kind == 4:
            if t is not list and t is not tuple:
                return _shape_ref(tables, build, shape, request, depth)
            for element in value:
                if type(element) is not dict or not _shape_ok(tables, build, spec[2], <dict>element, depth + 1):
                    return 0
        elif kind == 5:
            if t is not dict:
                return _shape_ref(tables, build, shape, request, depth)
            for name, elements in (<dict>value).items():
                if type(name) is not str or not PyUnicode_IS_ASCII(name):
                    return 0
                if type(elements) is not list and type(elements) is not tuple:
                    return 0
                for element in elements:
                    if type(element) is not dict or not _shape_ok(tables, build, spec[2], <dict>element, depth + 1):
                        return 0
    return 1


cdef int _shape_ref(dict tables, object build, object shape, dict request, Py_ssize_t depth) except -1:
    """The reference's answer for a table outside what params builds."""
    return 1 if _ref.shape_ok(tables, build, shape, request, depth) else 0


def shape_ok(tables, build, shape, request, depth=0):
    """Whether ``request`` is a call ``kvstore.params`` passes at a glance (see ``kvstore._pycore``)."""
    if type(tables) is not dict or type(request) is not dict or type(depth) is not int:
        return _ref.shape_ok(tables, build, shape, request, depth)
    return _shape_ok(tables, build, shape, request, depth) == 1


# ------------------------------------------------------------------ condition and update programs
# ``kvstore.expressions.programs`` compiles the common ConditionExpression and
# UpdateExpression shapes into tuples; ``kvstore._pycore`` defines what they
# mean.  Here: the same in C for native values (str, canonical Decimal, bool,
# None, Binary, maps and lists), the number arithmetic's usual result (at most
# 38 characters in plain notation) without the reference's checks, and every
# error, every container value of SET / ADD and every other value handed to the
# reference.

from cpython.object cimport PyObject_RichCompareBool, Py_EQ, Py_NE, Py_LT, Py_LE, Py_GT, Py_GE
cimport cython

cdef object _expr_missing = None
cdef object _deep_equal = None
cdef object _exact_add = None
cdef object _exact_subtract = None


cdef int _load_expressions() except -1:
    global _expr_missing, _deep_equal, _exact_add, _exact_subtract
    missing, resolve, deep_equal, ordered, copy_value, update = _ref._expressions()
    _exact_add = update._EXACT.add
    _exact_subtract = update._EXACT.subtract
    _deep_equal = deep_equal
    _expr_missing = missing
    return 0


cdef object _resolve(object item, tuple path):
    """The value at ``path`` in ``item`` (a dict), or NULL-as-None sentinel ``_expr_missing``."""
    cdef PyObject* p
    cdef Py_ssize_t i, n, c
    cur = item
    for i in range(len(path)):
        step = <object>PyTuple_GET_ITEM(path, i)
        if type(step) is str:
            if type(cur) is not dict:
                return _expr_missing
            p = kvstore_dict_get(cur, step)
            if p == NULL:
                return _expr_missing
            cur = <object>p
        elif type(step) is int:
            if type(cur) is not list:
                return _expr_missing
            c = step
            n = len(<list>cur)
            if c < 0:
                raise _Fallback()
            if c >= n:
                return _expr_missing
            cur = <object>PyList_GET_ITEM(cur, c)
        else:
            raise _Fallback()
    return cur


cdef int _equal(object x, object v) except -1:
    """``evaluate.equal(x, v)`` of an item's value (maybe missing) and a request's value."""
    if x is _expr_missing:
        return 0
    t = type(x)
    if t is not type(v):
        return 0
    if t is str or t is Decimal or t is bool or t is Binary:
        return PyObject_RichCompareBool(x, v, Py_EQ)
    if x is None:
        return 1
    return 1 if _deep_equal(x, v) else 0


cdef int _order(object x, object v, int test) except -1:
    """``<``, ``<=``, ``>``, ``>=`` (test 2..5) of two S, N or B values; else false."""
    cdef int op
    t = type(x)
    if t is not type(v):
        return 0
    if t is Binary:
        x = (<object>x).value
        v = (<object>v).value
        if type(x) is not bytes or type(v) is not bytes:
            raise _Fallback()
    elif t is not str and t is not Decimal:
        return 0
    op = Py_LT if test == 2 else Py_LE if test == 3 else Py_GT if test == 4 else Py_GE
    return PyObject_RichCompareBool(x, v, op)


cdef inline object _slot_value(tuple vals, object slot):
    cdef Py_ssize_t i
    if type(slot) is not int:
        raise _Fallback()
    i = slot
    if i < 0 or i >= len(vals):
        raise _Fallback()                 # (the reference raises the IndexError)
    return <object>PyTuple_GET_ITEM(vals, i)


@cython.boundscheck(True)
cdef int _holds(tuple node, object item, tuple vals) except -1:
    cdef Py_ssize_t i
    cdef int test
    op = node[0]
    if op == 0 or op == 1:
        found = _resolve(item, <tuple?>node[1]) is not _expr_missing
        return found if op == 0 else not found
    if op == 2:
        x = _resolve(item, <tuple?>node[2])
        v = _slot_value(vals, node[3])
        test = node[1]
        if test == 0:
            return _equal(x, v)
        if test == 1:
            return not _equal(x, v)
        return _order(x, v, test)
    if op == 3 or op == 4:
        inner = <tuple?>node[1]
        for i in range(len(inner)):
            if _holds(<tuple?><object>PyTuple_GET_ITEM(inner, i), item, vals) != (op == 3):
                return op == 4
        return op == 3
    if op == 5:
        return not _holds(<tuple?>node[1], item, vals)
    raise _Fallback()


def condition_holds(program, item, vals):
    """Whether the condition ``program`` holds for ``item`` (see ``kvstore._pycore``)."""
    return _condition_holds_of(program, item, vals)


cdef object _condition_holds_of(program, item, vals):
    # (the compiled modules' call: no Python call protocol; _cwrite.pxd)
    if _expr_missing is None:
        _load_expressions()
    if type(program) is not tuple or type(vals) is not tuple or (item is not None and type(item) is not dict):
        return _ref.condition_holds(program, item, vals)
    try:
        return _holds(<tuple>program, {} if item is None else item, <tuple>vals) == 1
    except (_Fallback, TypeError, IndexError, KeyError, OverflowError):
        return _ref.condition_holds(program, item, vals)


cdef object _number_add(object a, object b, bint subtract):
    cdef Py_ssize_t i = _small_index(a), j
    if i >= 0:
        j = _small_index(b)
        if j >= 0:                        # two shared small integers: Decimal(x + y), exponent 0
            r = _small_decimal(i - j if subtract else i + j + 2 * SMALL_MIN)
            if r is not None:
                return r
    r = _exact_subtract(a, b) if subtract else _exact_add(a, b)
    if type(r) is Decimal and _canonical_text(str(r)):
        return r                          # already canonical, at most 38 digits: within N's range
    return _ref.number_add(a, b, subtract)


def number_add(a, b, subtract=False):
    """``a + b`` (``a - b``) of two Decimals within N's limits (see ``kvstore._pycore``)."""
    if _expr_missing is None:
        _load_expressions()
    if type(a) is not Decimal or type(b) is not Decimal:
        return _ref.number_add(a, b, subtract)
    return _number_add(a, b, subtract)


@cython.boundscheck(True)
cdef object _operand(tuple operand, object item, tuple vals):
    kind = operand[0]
    if kind == 0:
        return _slot_value(vals, operand[1])
    if kind == 1:
        return _resolve(item, <tuple?>operand[1])
    if kind == 2 or kind == 3:
        a = _operand(<tuple?>operand[1], item, vals)
        if type(a) is not Decimal:
            raise _Fallback()             # NOT_FOUND / BAD_TYPE: the reference raises them in order
        b = _operand(<tuple?>operand[2], item, vals)
        if type(b) is not Decimal:
            raise _Fallback()
        return _number_add(a, b, kind == 3)
    if kind == 4:
        default = _operand(<tuple?>operand[2], item, vals)
        if default is _expr_missing:
            raise _Fallback()
        value = _operand(<tuple?>operand[1], item, vals)
        return default if value is _expr_missing else value
    raise _Fallback()


cdef inline bint _plain_value(object value):
    """A value SET / ADD stores as it is (copy_value returns it, no nesting to check)."""
    t = type(value)
    return t is str or t is Decimal or t is bool or value is None or t is Binary


@cython.boundscheck(True)
cdef dict _apply_entries(tuple entries, dict doc, object item, tuple vals):
    cdef PyObject* p
    cdef tuple entry
    cdef dict out = PyDict_Copy(doc)
    for i in range(len(entries)):
        entry = <tuple?><object>PyTuple_GET_ITEM(entries, i)
        name = entry[0]
        op = entry[1]
        if op == 3:
            p = kvstore_dict_get(doc, name)
            if p == NULL or type(<object>p) is not dict:
                raise _Fallback()         # BAD_PATH
            out[name] = _apply_entries(<tuple?>entry[2], <dict>p, item, vals)
        elif op == 0:
            value = _operand(<tuple?>entry[2], item, vals)
            if value is _expr_missing or not _plain_value(value):
                raise _Fallback()         # NOT_FOUND, or a copy and a nesting check
            out[name] = value
        elif op == 1:
            if kvstore_dict_get(out, name) != NULL:
                del out[name]
        elif op == 2:
            value = _slot_value(vals, entry[2])
            if type(value) is not Decimal:
                raise _Fallback()
            p = kvstore_dict_get(doc, name)
            if p == NULL:
                out[name] = value
            elif type(<object>p) is not Decimal:
                raise _Fallback()         # BAD_TYPE
            else:
                out[name] = _number_add(<object>p, value, False)
        else:
            raise _Fallback()
    return out


def apply_update(program, item, vals):
    """The item after the update ``program`` (see ``kvstore._pycore``)."""
    return _apply_update_of(program, item, vals)


cdef object _apply_update_of(program, item, vals):
    # (the compiled modules' call: no Python call protocol; _cwrite.pxd)
    if _expr_missing is None:
        _load_expressions()
    if type(program) is not tuple or type(item) is not dict or type(vals) is not tuple:
        return _ref.apply_update(program, item, vals)
    try:
        return _apply_entries(<tuple>program, <dict>item, item, <tuple>vals)
    except (_Fallback, TypeError, IndexError, KeyError, OverflowError):
        return _ref.apply_update(program, item, vals)


# ------------------------------------------------------------------ a write's expression shape

def write_shape(operation, request, update, allowed, map_marker):
    """The template key of a write's expressions and its values, or None (see ``kvstore._pycore``)."""
    return _write_shape_of(operation, request, update, allowed, map_marker)


cdef object _write_shape_of(operation, request, update, allowed, map_marker):
    # (the compiled modules' call: no Python call protocol; _cwrite.pxd)
    cdef PyObject* p
    cdef PyObject* k
    cdef PyObject* v
    cdef Py_ssize_t n, pos = 0, i = 0
    cdef tuple vals, key, names_key
    if type(request) is not dict or type(allowed) is not frozenset:
        return _ref.write_shape(operation, request, update, allowed, map_marker)
    for member in <dict>request:
        if member not in <frozenset>allowed:
            return None
    p = kvstore_dict_get(request, "ConditionExpression")
    condition = None if p == NULL else <object>p
    text = None
    if update:
        p = kvstore_dict_get(request, "UpdateExpression")
        if p != NULL:
            text = <object>p
    if condition is None and text is None:
        return None
    if (condition is not None and type(condition) is not str) or (text is not None and type(text) is not str):
        return None
    # the tuples are filled in place: tuple(d.values()), tuple(d.items()) and tuple concatenation
    # made most of this function's cost (~4.9k instructions of an UpdateItem's 65k)
    p = kvstore_dict_get(request, "ExpressionAttributeNames")
    if p == NULL or <object>p is None:
        names_key = None
    elif type(<object>p) is dict:
        names = <dict><object>p
        names_key = PyTuple_New(PyDict_GET_SIZE(names))
        while PyDict_Next(names, &pos, &k, &v):
            if type(<object>k) is not str or type(<object>v) is not str:
                return None
            _tuple_set(names_key, i, (<object>k, <object>v))
            i += 1
    else:
        return None
    p = kvstore_dict_get(request, "ExpressionAttributeValues")
    if p == NULL or <object>p is None:
        return (operation, condition, None, None, text, None, names_key), ()
    if type(<object>p) is not dict:
        return None
    values = <dict><object>p
    # (operation, condition, None, None, text, None, names_key, map_marker, the value names, their
    # types, the values' types), and the values
    n = PyDict_GET_SIZE(values)
    vals = PyTuple_New(n)
    key = PyTuple_New(8 + 3 * n)
    _tuple_set(key, 0, operation)
    _tuple_set(key, 1, condition)
    _tuple_set(key, 2, None)
    _tuple_set(key, 3, None)
    _tuple_set(key, 4, text)
    _tuple_set(key, 5, None)
    _tuple_set(key, 6, names_key)
    _tuple_set(key, 7, map_marker)
    pos = i = 0
    while PyDict_Next(values, &pos, &k, &v):
        _tuple_set(vals, i, <object>v)
        _tuple_set(key, 8 + i, <object>k)
        _tuple_set(key, 8 + n + i, type(<object>k))
        _tuple_set(key, 8 + 2 * n + i, type(<object>v))
        i += 1
    return key, vals


cdef inline void _tuple_set(tuple t, Py_ssize_t i, object x) noexcept:
    """Fill slot ``i`` of a new tuple (PyTuple_SET_ITEM steals the reference it is given)."""
    Py_INCREF(x)
    PyTuple_SET_ITEM(t, i, x)


# ------------------------------------------------------------------ TransactWriteItems

from kvstore._citems cimport _packed_item as _pack_item


def usual_actions(actions, kinds, valid_names, on_failure):
    """Per action, ``(kind, spec, shape)`` of the usual action or None (see ``kvstore._pycore``)."""
    return _usual_actions_of(actions, kinds, valid_names, on_failure)


cdef object _usual_actions_of(actions, kinds, valid_names, on_failure):
    # (the compiled modules' call: no Python call protocol; _cwrite.pxd)
    cdef PyObject* p
    cdef list out
    if (type(actions) is not list or type(kinds) is not dict or type(valid_names) is not set
            or type(on_failure) is not tuple):
        return _ref.usual_actions(actions, kinds, valid_names, on_failure)
    out = []
    for action in <list>actions:
        usual = None
        if type(action) is dict and len(<dict>action) == 1:
            for kind, spec in (<dict>action).items():
                pass
            p = kvstore_dict_get(kinds, kind)
            if p != NULL and type(spec) is dict:
                shape = <object>p
                if type(shape) is not tuple or len(<tuple>shape) != 4:
                    return _ref.usual_actions(actions, kinds, valid_names, on_failure)
                p = kvstore_dict_get(spec, "TableName")
                if p != NULL and type(<object>p) is str and <object>p in <set>valid_names:
                    p = kvstore_dict_get(spec, (<tuple>shape)[0])
                    if p != NULL and <object>p is not None:
                        last = (<tuple>shape)[3]
                        if last is not None:
                            p = kvstore_dict_get(spec, last)
                        if last is None or (p != NULL and <object>p is not None):
                            p = kvstore_dict_get(spec, "ReturnValuesOnConditionCheckFailure")
                            if (None if p == NULL else <object>p) in <tuple>on_failure:
                                usual = (kind, spec, shape)
        out.append(usual)
    return out


cdef bint _members_within(dict spec, frozenset members) except -1:
    for member in spec:
        if member not in members:
            return False
    return True


cdef Py_ssize_t _expressions_length(dict spec) except -1:
    """Characters of an action's ConditionExpression and UpdateExpression (each may be absent)."""
    cdef PyObject* p
    cdef Py_ssize_t total = 0
    p = kvstore_dict_get(spec, "ConditionExpression")
    if p != NULL and <object>p:
        total += len(<object>p)
    p = kvstore_dict_get(spec, "UpdateExpression")
    if p != NULL and <object>p:
        total += len(<object>p)
    return total


def transact_size(parsed, plain_members):
    """Bytes a TransactWriteItems' parsed actions carry (see ``kvstore._pycore``)."""
    return _transact_size_of(parsed, plain_members)


cdef object _transact_size_of(parsed, plain_members):
    # (the compiled modules' call: no Python call protocol; _cwrite.pxd)
    cdef PyObject* p
    cdef Py_ssize_t total = 0
    if type(parsed) is not list or type(plain_members) is not frozenset:
        return _ref.transact_size(parsed, plain_members)
    for entry in <list>parsed:
        if type(entry) is not tuple or len(<tuple>entry) != 5 or type((<tuple>entry)[1]) is not dict:
            return _ref.transact_size(parsed, plain_members)
        spec = <dict>(<tuple>entry)[1]
        packed = (<tuple>entry)[4]
        if packed is not None:
            if type(packed) is not bytes:
                return _ref.transact_size(parsed, plain_members)
            total += len(<bytes>packed)
            # (not a for-else whose else continues: Cython 3.3 then skips releasing the loop's
            # reference to the dict, and every Put's spec leaked)
            if _members_within(<dict>spec, <frozenset>plain_members):
                continue
        else:
            p = kvstore_dict_get(spec, "Key")
            if p == NULL:
                return _ref.transact_size(parsed, plain_members)     # (its KeyError)
            total += len(_pack_item(<object>p))
        total += _expressions_length(<dict>spec)
        p = kvstore_dict_get(spec, "ExpressionAttributeValues")
        if p != NULL and <object>p:
            total += len(_pack_item(<object>p))
    return total


def transact_size_bound(parsed, plain_members):
    """At least ``transact_size(parsed, plain_members)``, without packing (see ``kvstore._pycore``)."""
    return _transact_size_bound_of(parsed, plain_members)


cdef object _transact_size_bound_of(parsed, plain_members):
    # (the compiled modules' call: no Python call protocol; _cwrite.pxd)
    cdef PyObject* p
    cdef Py_ssize_t total = 0, bound
    if type(parsed) is not list or type(plain_members) is not frozenset:
        return _ref.transact_size_bound(parsed, plain_members)
    for entry in <list>parsed:
        if type(entry) is not tuple or len(<tuple>entry) != 5 or type((<tuple>entry)[1]) is not dict:
            return _transact_size_of(parsed, plain_members)
        spec = <dict>(<tuple>entry)[1]
        packed = (<tuple>entry)[4]
        if packed is not None:
            if type(packed) is not bytes:
                return _transact_size_of(parsed, plain_members)
            total += len(<bytes>packed)
            if _members_within(spec, <frozenset>plain_members):
                continue
        else:
            p = kvstore_dict_get(spec, "Key")
            bound = -1 if p == NULL else _packed_bound(<object>p)
            if bound < 0:
                return _transact_size_of(parsed, plain_members)
            total += bound
        total += _expressions_length(<dict>spec)
        p = kvstore_dict_get(spec, "ExpressionAttributeValues")
        if p != NULL and <object>p:
            bound = _packed_bound(<object>p)
            if bound < 0:
                return _transact_size_of(parsed, plain_members)
            total += bound
    return total


cdef Py_ssize_t _packed_bound(object values) except -2:
    """At least ``len(pack_item(values))`` for a map of flat values (ASCII names and strings), or -1
    for anything else."""
    cdef PyObject* k
    cdef PyObject* v
    cdef Py_ssize_t pos = 0, total = 5
    if type(values) is not dict:
        return -1
    while PyDict_Next(values, &pos, &k, &v):
        if type(<object>k) is not str or not PyUnicode_IS_ASCII(<object>k):
            return -1
        total += 5 + PyUnicode_GET_LENGTH(<object>k)
        t = type(<object>v)
        if t is str:
            if not PyUnicode_IS_ASCII(<object>v):
                return -1
            total += 5 + PyUnicode_GET_LENGTH(<object>v)
        elif t is Decimal:
            text = str(<object>v)
            if not PyUnicode_IS_ASCII(text) or "E" in text or "e" in text:
                return -1                 # format(v, "f") is not str(v): it may be longer
            total += 6 + PyUnicode_GET_LENGTH(text)
        elif t is bool or <object>v is None:
            total += 1
        elif t is Binary and type((<object>v).value) is bytes:
            total += 6 + len(<bytes>(<object>v).value)
        else:
            return -1
    return total


# ------------------------------------------------------------------ a row installed

def apply_row(rows, partitions, shift, row_key, new_packed):
    """``Table.apply`` of a table without indexes or TTL; returns the change of its stored bytes
    (see ``kvstore._pycore``)."""
    if (type(rows) is not dict or type(partitions) is not list or type(shift) is not int
            or type(row_key) is not bytes or len(<bytes>row_key) == 0
            or (new_packed is not None and type(new_packed) is not bytes)):
        return _ref.apply_row(rows, partitions, shift, row_key, new_packed)
    return _apply_row(<dict>rows, <list>partitions, shift, <bytes>row_key, new_packed)


cdef object _apply_row(dict rows, list partitions, Py_ssize_t shift, bytes row_key, object new_packed):
    cdef PyObject* p
    cdef Py_ssize_t n
    p = kvstore_dict_get(rows, row_key)
    n = (<unsigned char*>PyBytes_AS_STRING(row_key))[0] >> shift
    if n >= len(partitions) or (p != NULL and type(<object>p) is not bytes):
        return _ref.apply_row(rows, partitions, shift, row_key, new_packed)
    if new_packed is None:
        if p == NULL:
            return 0
        old = <object>p
        del rows[row_key]
        _sorted_remove(<object>PyList_GET_ITEM(partitions, n), row_key)
        return -len(<bytes>old)
    if p == NULL:
        rows[row_key] = new_packed
        _sorted_add(<object>PyList_GET_ITEM(partitions, n), row_key)
        return len(<bytes>new_packed)
    old = <object>p
    rows[row_key] = new_packed
    return len(<bytes>new_packed) - len(<bytes>old)


def apply_writes(writes):
    """``Table.apply`` of each of ``Database.commit``'s writes (see ``kvstore._pycore``): a table
    without TTL or local indexes in one step here, its global indexes moved under its index lock."""
    return _apply_writes_of(writes)


cdef object _apply_writes_of(writes):
    # (the compiled modules' call: no Python call protocol; _cwrite.pxd)
    cdef PyObject* p
    cdef Py_ssize_t n
    if type(writes) is not list:
        return _ref.apply_writes(writes)
    for w in <list>writes:
        if type(w) is not tuple or len(<tuple>w) != 5:
            _ref.apply_writes([w])
            continue
        table, row_key, old_item, new_item, new_packed = <tuple>w
        rows = table.rows
        partitions = table.partitions
        shift = table._shift
        partition_bytes = table.partition_bytes
        if (table.expiry is not None or table.collections is not None or type(rows) is not dict
                or type(partitions) is not list or type(shift) is not int or type(partition_bytes) is not list
                or type(row_key) is not bytes or len(<bytes>row_key) == 0
                or (new_packed is not None and type(new_packed) is not bytes)):
            table.apply(row_key, old_item, new_item, new_packed)
            continue
        n = (<unsigned char*>PyBytes_AS_STRING(row_key))[0] >> <Py_ssize_t>shift
        if n >= len(<list>partition_bytes):
            table.apply(row_key, old_item, new_item, new_packed)
            continue
        if not table.indexes:
            (<list>partition_bytes)[n] += _apply_row(<dict>rows, <list>partitions, shift, <bytes>row_key, new_packed)
            continue
        p = kvstore_dict_get(<dict>rows, row_key)
        if p == NULL and new_packed is None:
            continue
        if old_item is None and p != NULL:
            old_item = _key_image(<object>p, table.indexes.values())     # what the indexes read of it
            if old_item is None:
                old_item = _unpacked(<object>p)
        (<list>partition_bytes)[n] += _apply_row(<dict>rows, <list>partitions, shift, <bytes>row_key, new_packed)
        lock = table.index_lock
        lock.acquire()
        try:
            _update_all(table.indexes.values(), row_key, old_item, new_item, new_packed)
        finally:
            lock.release()
