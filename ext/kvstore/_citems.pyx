# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False, infer_types=True
"""Item packing, compiled: ``pack_item``, ``unpack_item`` and ``item_size``, the
twins of ``kvstore._pycore``'s (read that module for the format).

The msgpack codec is kvstore's own rather than msgpack-python's because it
writes and reads kvstore's ext types (N, B, the sets) without a Python callback
per value, and caches attribute names and short number texts while decoding
(bench/results/micro_core.md has the gains).  Anything outside the native model
and every error goes to the reference.
"""

from cpython.object cimport PyObject
from cpython.ref cimport Py_INCREF, Py_XDECREF
from libc.stdint cimport int16_t, int32_t, int64_t, uint32_t, uint64_t
from libc.string cimport memcmp, memcpy, memmove

from kvstore._capi cimport *
from kvstore._cvalues cimport *

cdef extern from "Python.h":
    dict _PyDict_NewPresized(Py_ssize_t minused)
    dict PyDict_Copy(object d)
    object PyUnicode_New(Py_ssize_t size, Py_UCS4 maxchar)
    tuple PyTuple_New(Py_ssize_t n)
    void PyTuple_SET_ITEM(object t, Py_ssize_t i, object o)    # steals a reference
    PyObject* PyTuple_GET_ITEM(object t, Py_ssize_t i)

import gc
from decimal import Decimal as _Decimal

from kvstore import _pycore as _ref
from kvstore._cvalues import _Fallback
from kvstore.types import Binary as _Binary

cdef object Decimal = _Decimal
cdef object Binary = _Binary


# ------------------------------------------------------------------ msgpack encoder
# Writes the bytes msgpack.packb(item, default=_pycore._default, use_bin_type=True,
# strict_types=True) writes: the smallest header for every length and integer.

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


cdef bytes _packed(object o):
    """The msgpack bytes of ``o``; raises what ``_pack`` raises (``_Fallback`` for what it does not pack)."""
    cdef unsigned char stack[STACK_BUFFER]
    cdef Writer w
    w.buf = stack
    w.len = 0
    w.cap = STACK_BUFFER
    w.heap = False
    try:
        _pack(&w, o, 0)
        return PyBytes_FromStringAndSize(<const char*>w.buf, w.len)
    finally:
        if w.heap:
            PyMem_Free(w.buf)


def pack_item(item):
    """Bytes of a native item (an immutable snapshot: later changes to ``item`` do not leak in)."""
    return _packed_item(item)


cdef object _packed_item(object item):
    """``pack_item`` for the compiled modules: the fast writer, or the reference for what it does not write."""
    try:
        return _packed(item)
    except Exception:
        return _ref.pack_item(item)



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


cdef inline bint _ascii(const unsigned char* p, Py_ssize_t n) noexcept:
    """Whether the ``n`` bytes at ``p`` are all ASCII (eight at a time)."""
    cdef uint64_t word, high = 0
    cdef Py_ssize_t i = 0
    while i + 8 <= n:
        memcpy(&word, p + i, 8)
        high |= word
        i += 8
    while i < n:
        high |= p[i]
        i += 1
    return (high & 0x8080808080808080ULL) == 0


cdef inline object _read_str(Reader* r, Py_ssize_t n):
    """The str of the ``n`` UTF-8 bytes at the cursor.  ASCII text (most attribute values) is
    copied into a new str directly, without the UTF-8 decoder's layers; one character and
    anything else go to the decoder (which shares one-character strs)."""
    cdef const unsigned char* p = _take(r, n)
    if n > 1 and _ascii(p, n):
        s = PyUnicode_New(n, 127)
        memcpy(PyUnicode_DATA(s), p, n)
        return s
    return PyUnicode_DecodeUTF8(<const char*>p, n, NULL)


cdef inline object _read_bin(Reader* r, Py_ssize_t n):
    return PyBytes_FromStringAndSize(<const char*>_take(r, n), n)



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


# The items of a table mostly share their attribute names, in one order (their layout).  An item
# whose names are the last layout's is read comparing each name's bytes with the layout's (no hash,
# no cache lookup), and its dict is a copy of the layout's template (the names, each to None) with
# the values written into the copy's entries (``kvstore_fill_values``): ~0.45k instructions for a
# 6-attribute item where inserting into an empty dict costs ~1.5k.  Layouts are remembered in a direct-mapped table by a signature of
# their names' addresses (the names are interned, and a layout holds them); a layout gets its
# template the second time its signature is seen, so items of names never repeated pay only the
# signature.
cdef enum:
    LAYOUT_MAX = 16         # attributes of an item read by layout (a fixmap's 15, and 16)
    LAYOUT_SLOTS = 256      # slots of the table of layouts, a power of two

cdef class _Layout:
    """An item layout: its names (ASCII, distinct, in the item's order) and its template dict."""
    cdef Py_ssize_t n
    cdef tuple names
    cdef dict template


cdef extern from *:
    """
    /* The values of a fresh copy of a layout's template written into its table's entries: the
       template's table holds str keys only (CPython's "unicode" kind), so its copy's entries are
       (key, value) pairs after the index array, the values None; each gets its value as
       PyDict_SetItem would give it (a reference, the dict tracked by the collector when the value
       may hold references), without the lookup and the insert's bookkeeping (~200 instructions a
       value on 3.11).  The table's layout is CPython 3.11's and 3.12's (internal/pycore_dict.h,
       mirrored here); on any other version, or a table that is not what it should be (its keys not
       ``names`` in order), 0 and nothing written: the caller sets the values. */
    #if PY_VERSION_HEX >= 0x030B0000 && PY_VERSION_HEX < 0x030D0000
    typedef struct {
        Py_ssize_t dk_refcnt;
        uint8_t dk_log2_size;
        uint8_t dk_log2_index_bytes;
        uint8_t dk_kind;
        uint32_t dk_version;
        Py_ssize_t dk_usable;
        Py_ssize_t dk_nentries;
        char dk_indices[];
    } kvstore_dict_keys;
    typedef struct { PyObject* me_key; PyObject* me_value; } kvstore_unicode_entry;
    #define KVSTORE_DICT_KEYS_UNICODE 1

    static int kvstore_fill_values(PyObject* d, PyObject** names, PyObject** values, Py_ssize_t n) {
        PyDictObject* mp = (PyDictObject*)d;
        kvstore_dict_keys* dk = (kvstore_dict_keys*)mp->ma_keys;
        kvstore_unicode_entry* entries;
        Py_ssize_t i;
        int track = 0;
        if (mp->ma_values != NULL || dk->dk_kind != KVSTORE_DICT_KEYS_UNICODE || dk->dk_nentries != n
                || mp->ma_used != n)
            return 0;
        entries = (kvstore_unicode_entry*)(dk->dk_indices + ((size_t)1 << dk->dk_log2_index_bytes));
        for (i = 0; i < n; i++)
            if (entries[i].me_key != names[i] || entries[i].me_value == NULL)
                return 0;
        for (i = 0; i < n; i++) {
            PyObject* old = entries[i].me_value;
            PyObject* value = values[i];
            Py_INCREF(value);
            entries[i].me_value = value;
            Py_DECREF(old);
            if (PyType_IS_GC(Py_TYPE(value)) && PyObject_IS_GC(value)
                    && (!PyTuple_CheckExact(value) || PyObject_GC_IsTracked(value)))
                track = 1;
        }
        if (track && !PyObject_GC_IsTracked(d))
            PyObject_GC_Track(d);
        return 1;
    }
    #else
    static int kvstore_fill_values(PyObject* d, PyObject** names, PyObject** values, Py_ssize_t n) {
        return 0;
    }
    #endif
    """
    bint kvstore_fill_values(dict d, PyObject** names, PyObject** values, Py_ssize_t n)


cdef bint _fills_in_place():
    """Whether ``kvstore_fill_values`` fills a template's copy here as ``PyDict_SetItem`` would
    (checked once at import, on this interpreter)."""
    cdef PyObject* names[2]
    cdef PyObject* values[2]
    a, b = kvstore_intern("kvstore a"), kvstore_intern("kvstore b")
    va, vb = [1], "two"
    names[0], names[1] = <PyObject*>a, <PyObject*>b
    values[0], values[1] = <PyObject*>va, <PyObject*>vb
    template = {a: None, b: None}
    copy = PyDict_Copy(template)
    if not kvstore_fill_values(copy, names, values, 2):
        return False
    return (list(copy.items()) == [(a, va), (b, vb)] and copy[a] is va and copy.get(b) is vb
            and list(template.values()) == [None, None] and gc.is_tracked(copy))


cdef _Layout _last_layout = None


cdef struct _LayoutSlot:
    uint64_t signature      # of the names last seen in this slot
    PyObject* layout        # their _Layout (a reference), or NULL while seen once or never usable

cdef _LayoutSlot _layout_slots[LAYOUT_SLOTS]
cdef bint _fill_in_place = _fills_in_place()


cdef inline bint _same_name(PyObject* name, const unsigned char* p, Py_ssize_t n) noexcept:
    """Whether the ASCII str ``name`` is the ``n`` bytes at ``p``."""
    cdef const unsigned char* q
    cdef Py_ssize_t i
    if PyUnicode_GET_LENGTH(<object>name) != n:
        return False
    q = <const unsigned char*>PyUnicode_DATA(<object>name)
    for i in range(n):
        if q[i] != p[i]:
            return False
    return True


cdef _Layout _layout_of(PyObject** names, Py_ssize_t n):
    """The layout of ``names`` when its signature was seen before (made on the second sight), else None."""
    cdef Py_ssize_t i
    cdef uint64_t signature = <uint64_t>n
    cdef _LayoutSlot* slot
    cdef _Layout layout
    for i in range(n):
        signature = (signature ^ (<uint64_t><size_t>names[i] >> 4)) * 0x100000001B3ULL
    slot = &_layout_slots[(signature ^ (signature >> 29)) & (LAYOUT_SLOTS - 1)]
    if slot.signature != signature:
        slot.signature = signature           # first sight
        Py_XDECREF(slot.layout)
        slot.layout = NULL
        return None
    if slot.layout != NULL:
        layout = <_Layout>slot.layout
        if layout.n == n:
            for i in range(n):
                if PyTuple_GET_ITEM(layout.names, i) != names[i]:
                    break
            else:
                return layout
        return None                          # (another layout's signature: it keeps the slot)
    key = PyTuple_New(n)
    template = {}
    for i in range(n):
        name = <object>names[i]
        Py_INCREF(name)
        PyTuple_SET_ITEM(key, i, name)
        if PyUnicode_IS_ASCII(name):
            template[name] = None
    if len(template) != n:                   # a name not ASCII, or one twice: never by layout
        return None
    layout = _Layout.__new__(_Layout)
    layout.n = n
    layout.names = key
    layout.template = template
    Py_INCREF(layout)
    slot.layout = <PyObject*>layout
    return layout


cdef object _read_item(Reader* r, Py_ssize_t n):
    """``_read_map`` of a top-level map of 1 to LAYOUT_MAX entries whose names are short strs (under
    32 bytes), by layout (see above); None, the cursor where it was, for any other map."""
    global _last_layout
    cdef PyObject* names[LAYOUT_MAX]
    cdef PyObject* values[LAYOUT_MAX]
    cdef Py_ssize_t i, named = 0, valued = 0, length, start = r.pos
    cdef const unsigned char* p
    cdef unsigned char b
    cdef _Layout layout = _last_layout
    cdef bint same = layout is not None and layout.n == n
    try:
        for i in range(n):
            b = _take(r, 1)[0]
            if b < 0xA0 or b > 0xBF:
                r.pos = start
                return None
            length = b & 0x1F
            if same:
                p = _take(r, length)
                if _same_name(PyTuple_GET_ITEM(layout.names, i), p, length):
                    name = <object>PyTuple_GET_ITEM(layout.names, i)
                else:
                    same = False
                    r.pos -= length
                    name = _read_name(r, length)
            else:
                name = _read_name(r, length)
            Py_INCREF(name)
            names[i] = <PyObject*>name
            named = i + 1
            value = _unpack(r, 1)
            Py_INCREF(value)
            values[i] = <PyObject*>value
            valued = i + 1
        if not same:
            layout = _layout_of(names, n)
        if layout is None:
            item = _PyDict_NewPresized(n)
        else:
            item = PyDict_Copy(layout.template)
            _last_layout = layout
            if _fill_in_place and kvstore_fill_values(item, names, values, n):
                return item
        for i in range(n):
            PyDict_SetItem(item, <object>names[i], <object>values[i])
        return item
    finally:
        for i in range(named):
            Py_XDECREF(names[i])
        for i in range(valued):
            Py_XDECREF(values[i])


cdef object _read_map(Reader* r, Py_ssize_t n, int depth):
    cdef Py_ssize_t i
    cdef unsigned char b
    if n > (r.end - r.pos) // 2:
        raise _Fallback
    if depth == 0 and 0 < n <= LAYOUT_MAX:
        item = _read_item(r, n)
        if item is not None:
            return item
    result = _PyDict_NewPresized(n)      # sized once: a map of 6 to 10 attributes is not resized on the way
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


cdef object _unpack_bytes(object data):
    """The item packed in ``data`` (bytes), or _Fallback when the fast path cannot read it all."""
    cdef Reader r
    r.data = <const unsigned char*>PyBytes_AS_STRING(data)
    r.pos = 0
    r.end = PyBytes_GET_SIZE(data)
    result = _unpack(&r, 0)
    if r.pos != r.end:
        raise _Fallback
    return result


def unpack_item(data):
    """A fresh native item from ``pack_item`` bytes."""
    return _unpacked(data)


cdef object _unpacked(object data):
    """``unpack_item`` for the compiled modules: the fast reader, or the reference for what it does not read."""
    if type(data) is bytes:
        try:
            return _unpack_bytes(data)
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
    return _ref.item_size(item)



# ------------------------------------------------------------------ DynamoDB's size of a packed item
# What capacity charges: item_size(unpack_item(packed)) read off the bytes, without building the item
# (no str, Decimal or dict is made; a number's size comes from its stored text).

cdef Py_ssize_t _text_number_size(const unsigned char* s, Py_ssize_t n) except -1:
    """``_number_size`` of a number's stored (plain) text."""
    cdef Py_ssize_t i, k = 0, dot = -1, first = -1, last = -1, digits, adjusted, size
    cdef bint negative = n > 0 and s[0] == c'-'
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


cdef inline Py_ssize_t _str_len(Reader* r, unsigned char b) except -1:
    """Length of the str whose marker ``b`` was just read, or -2 when ``b`` is not a str marker."""
    if 0xA0 <= b <= 0xBF:
        return b & 0x1F
    if b == 0xD9:
        return _read_be(r, 1)
    if b == 0xDA:
        return _read_be(r, 2)
    if b == 0xDB:
        return _read_be(r, 4)
    return -2


cdef Py_ssize_t _set_size(const unsigned char* p, Py_ssize_t size, int code) except -1:
    cdef Reader sub
    cdef Py_ssize_t i, n, length, total = 0
    cdef unsigned char b
    sub.data = p
    sub.pos = 0
    sub.end = size
    n = _array_len(&sub)
    if n > size:
        raise _Fallback
    for i in range(n):
        b = _take(&sub, 1)[0]
        if code == C_EXT_BS:
            if b == 0xC4:
                length = _read_be(&sub, 1)
            elif b == 0xC5:
                length = _read_be(&sub, 2)
            elif b == 0xC6:
                length = _read_be(&sub, 4)
            else:
                raise _Fallback
            _take(&sub, length)
            total += length
            continue
        length = _str_len(&sub, b)
        if length < 0:
            raise _Fallback
        if code == C_EXT_NS:
            total += _text_number_size(_take(&sub, length), length)
        else:
            _take(&sub, length)
            total += length
    if sub.pos != sub.end:
        raise _Fallback
    return total


cdef Py_ssize_t _ext_size(Reader* r, Py_ssize_t n) except -1:
    cdef int code = <signed char>_take(r, 1)[0]
    cdef const unsigned char* p = _take(r, n)
    if code == C_EXT_N:
        return _text_number_size(p, n)
    if code == C_EXT_B:
        return n
    if code == C_EXT_SS or code == C_EXT_NS or code == C_EXT_BS:
        return _set_size(p, n, code)
    raise _Fallback


cdef Py_ssize_t _packed_value_size(Reader* r, int depth) except -1:
    """DynamoDB's size of the value at the cursor; _Fallback for anything but DynamoDB's types."""
    cdef unsigned char b
    cdef Py_ssize_t n, i, total, length
    if depth > MAX_DEPTH:
        raise _Fallback
    b = _take(r, 1)[0]
    length = _str_len(r, b)
    if length >= 0:
        _take(r, length)
        return length
    if b == 0xC0 or b == 0xC2 or b == 0xC3:
        return 1
    if 0xD4 <= b <= 0xD8:
        return _ext_size(r, 1 << (b - 0xD4))
    if b == 0xC7:
        return _ext_size(r, _read_be(r, 1))
    if b == 0xC8:
        return _ext_size(r, _read_be(r, 2))
    if b == 0xC9:
        return _ext_size(r, _read_be(r, 4))
    if 0x90 <= b <= 0x9F or b == 0xDC or b == 0xDD:
        n = b & 0x0F if b <= 0x9F else _read_be(r, 2 if b == 0xDC else 4)
        if n > r.end - r.pos:
            raise _Fallback
        total = 3 + n
        for i in range(n):
            total += _packed_value_size(r, depth + 1)
        return total
    if 0x80 <= b <= 0x8F or b == 0xDE or b == 0xDF:
        n = b & 0x0F if b <= 0x8F else _read_be(r, 2 if b == 0xDE else 4)
        if n > (r.end - r.pos) // 2:
            raise _Fallback
        total = 3
        for i in range(n):
            length = _str_len(r, _take(r, 1)[0])
            if length < 0:
                raise _Fallback
            _take(r, length)
            total += 1 + length + _packed_value_size(r, depth + 1)
        return total
    raise _Fallback      # native ints, floats, bytes (allow_floats and other non-DynamoDB values)


cdef bint _flat_item(object packed):
    """Whether a stored item holds only strings, numbers, binaries, booleans and nulls (no list, map or
    set): then its DynamoDB size is below its packed length (each name and value is stored verbatim after a
    marker of at least one byte, a number's size is at most half its text plus three bytes, and a
    boolean or null is one byte either way), so a page of such items packed in 4 KB is one read unit.
    False for anything else, or anything unusual (the caller then measures)."""
    cdef const unsigned char* p
    cdef Py_ssize_t pos = 0, end, n, i, length
    cdef unsigned char b
    cdef int code
    if type(packed) is not bytes:
        return False
    p = <const unsigned char*>PyBytes_AS_STRING(packed)
    end = PyBytes_GET_SIZE(packed)
    if end < 1:
        return False
    b = p[0]
    if 0x80 <= b <= 0x8F:
        n = b & 0x0F
        pos = 1
    else:
        return False                       # maps of 16 attributes or more are measured
    for i in range(2 * n):                 # names and values alike: str, or (values) the flat kinds
        if pos >= end:
            return False
        b = p[pos]
        pos += 1
        if 0xA0 <= b <= 0xBF:
            length = b & 0x1F
        elif b == 0xD9 and pos + 1 <= end:
            length = p[pos]
            pos += 1
        elif b == 0xDA and pos + 2 <= end:
            length = (p[pos] << 8) | p[pos + 1]
            pos += 2
        elif i % 2 == 0:
            return False                   # a name is a str
        elif b == 0xC0 or b == 0xC2 or b == 0xC3:
            length = 0
        elif 0xD4 <= b <= 0xD8 and pos + 1 <= end:
            length = 1 << (b - 0xD4)
            code = p[pos]
            pos += 1
            if code != C_EXT_N and code != C_EXT_B:
                return False
        elif b == 0xC7 and pos + 2 <= end:
            length = p[pos]
            code = p[pos + 1]
            pos += 2
            if code != C_EXT_N and code != C_EXT_B:
                return False
        elif b == 0xC8 and pos + 3 <= end:
            length = (p[pos] << 8) | p[pos + 1]
            code = p[pos + 2]
            pos += 3
            if code != C_EXT_N and code != C_EXT_B:
                return False
        else:
            return False
        pos += length
    return pos == end


def packed_item_size(packed):
    """``item_size(unpack_item(packed))``: DynamoDB's size of a stored item, read off its bytes."""
    cdef Reader r
    cdef Py_ssize_t n, i, length, total = 0
    cdef unsigned char b
    if type(packed) is bytes:
        r.data = <const unsigned char*>PyBytes_AS_STRING(packed)
        r.pos = 0
        r.end = PyBytes_GET_SIZE(packed)
        try:
            b = _take(&r, 1)[0]
            if 0x80 <= b <= 0x8F or b == 0xDE or b == 0xDF:
                n = b & 0x0F if b <= 0x8F else _read_be(&r, 2 if b == 0xDE else 4)
                if n <= (r.end - r.pos) // 2:
                    for i in range(n):
                        length = _str_len(&r, _take(&r, 1)[0])
                        if length < 0:
                            raise _Fallback
                        _take(&r, length)
                        total += length + _packed_value_size(&r, 1)
                    if r.pos == r.end:
                        return total
        except _Fallback:
            pass
    return _ref.item_size(_ref.unpack_item(packed))