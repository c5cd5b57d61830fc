# cython: language_level=3
"""The write-ahead log's per-write work, compiled: a write's record, its frame, its append.

Every acknowledged write appends one log record (docs/format.md): the msgpack
payload ``["W", [[table name, row key, packed item or nil], ...]]`` framed as
``crc:u32 length:u32 type:u8 lsn:u64 payload``.  In Python that was a list
per write, ``msgpack.packb`` (which builds a Packer per call) and
``wal.encode_record`` (a struct pack, a crc32 call and two concatenations):
about 3 us of a 12 us PutItem on the reference machine
(bench/results/write_path.md, session 8).  Here each is one pass into one
buffer.  The pure twins are ``kvstore._pycore.write_record`` and
``kvstore.engine.wal.encode_record`` (the executable spec); the output is
byte-identical (tests/test_core_log.py).

``commit_usual`` and ``wait_usual`` are ``Database.commit`` and
``Database.wait_durable`` of the usual write (no stream, point-in-time
table or listener; a record the staging area holds), for the compiled
operations; every other case is the method's (``kvstore._pycore`` has the
two as calls of the methods).

``append_record`` is ``Durability.append`` (the log's next LSN, the record
framed into its buffer and copied into the staging area, under its lock):
in Python about 140 bytecodes a write with ``Staging.put`` (bench/results/
write_path.md, session 12); here the durability's fields are read from its
instance dict and the record is copied into the mapping with one memcpy.
Its twin is ``kvstore._pycore.append_record``, which also answers every
unusual case (a log that refuses, a staging area of another kind); the two
leave the same buffer, staging bytes and fields (tests/test_core_log.py).
"""

from cpython.buffer cimport PyBUF_WRITABLE, PyBuffer_Release, PyObject_GetBuffer
from libc.stdint cimport uint32_t, uint64_t
from libc.string cimport memcpy

from kvstore._capi cimport *
from kvstore._cvalues cimport *
from kvstore._ckeys cimport _crc32
from kvstore._citems cimport _header, _pack, _packed
from kvstore._cwrite cimport _apply_writes_of as _apply_writes

import zlib as _zlib

from kvstore import _pycore as _ref
from kvstore._cvalues import _Fallback
from kvstore.engine import wal as _wal
from kvstore.engine.errors import DurabilityError as _DurabilityError
from kvstore.engine.staging import Staging as _Staging

cdef object _zlib_crc32 = _zlib.crc32
cdef object Staging = _Staging
cdef tuple _LOG_ERRORS = (OSError, _DurabilityError)
cdef Py_ssize_t _MAX_PAYLOAD = _wal.MAX_PAYLOAD, _WAKE_BYTES = _wal.WAKE_BYTES
cdef int _BEGIN = _wal.BEGIN, _CONT = _wal.CONT

cdef enum:
    RECORD_HEADER_SIZE = 17      # crc:u32 length:u32 type:u8 lsn:u64
    CRC_TABLE_MAX = 512          # longer payloads: zlib.crc32 of the object (no copy) wins from 0.5-1 KB


def write_record(writes):
    """The payload of the log record of ``writes`` (``Database.commit``'s tuples
    ``(table, row key, old item, new item, new packed)``): what
    ``msgpack.packb(["W", [[table.name, row key, new packed], ...]], use_bin_type=True)`` gives."""
    if type(writes) is not list:
        return _ref.write_record(writes)
    for write in writes:
        if type(write) is not tuple or len(<tuple>write) != 5:
            return _ref.write_record(writes)
    try:
        return _packed(["W", [[w[0].name, w[1], w[4]] for w in writes]])
    except _Fallback:
        return _ref.write_record(writes)


cdef inline void _le(unsigned char* p, uint64_t v, int n) noexcept:
    cdef int i
    for i in range(n):
        p[i] = <unsigned char>(v >> (8 * i))


def frame_record(lsn, payload, rtype):
    """``payload`` framed as one log record of type ``rtype`` at ``lsn`` (``wal.encode_record``)."""
    if type(payload) is not bytes or type(lsn) is not int or type(rtype) is not int or not (
            0 <= lsn < (1 << 64) and 0 <= rtype < 256 and PyBytes_GET_SIZE(payload) < (1 << 32)):
        return _ref.frame_record(lsn, payload, rtype)
    return _frame(<uint64_t>lsn, <bytes>payload, <unsigned char>rtype)


cdef bytes _frame(uint64_t lsn, bytes payload, unsigned char rtype):
    cdef Py_ssize_t n = PyBytes_GET_SIZE(payload)
    record = PyBytes_FromStringAndSize(NULL, RECORD_HEADER_SIZE + n)
    memcpy(PyBytes_AS_STRING(record) + RECORD_HEADER_SIZE, PyBytes_AS_STRING(payload), n)
    _fill_header(<bytes>record, lsn, rtype)
    return <bytes>record


cdef int _fill_header(bytes record, uint64_t lsn, unsigned char rtype) except -1:
    """The header of ``record`` (a new bytes object nothing else holds yet: its payload after
    RECORD_HEADER_SIZE bytes) written in place: length, type, LSN and the CRC-32 of the rest."""
    cdef Py_ssize_t n = PyBytes_GET_SIZE(record) - RECORD_HEADER_SIZE
    cdef uint32_t crc
    cdef unsigned char* out = <unsigned char*>PyBytes_AS_STRING(record)
    _le(out + 4, <uint64_t>n, 4)
    out[8] = <unsigned char>rtype
    _le(out + 9, lsn, 8)
    crc = _crc32(0, out + 4, RECORD_HEADER_SIZE - 4)
    if n > CRC_TABLE_MAX:
        crc = _zlib_crc32(memoryview(record)[RECORD_HEADER_SIZE:], crc)
    else:
        crc = _crc32(crc, out + RECORD_HEADER_SIZE, n)
    _le(out, crc, 4)
    return 0


# ------------------------------------------------------------------ the append

def append_record(durability, payload):
    """``Durability.append``: the LSN of ``payload``, framed, buffered and staged (see
    ``kvstore._pycore.append_record``, which answers whatever is not the usual case)."""
    if type(payload) is not bytes:
        return _ref.append_record(durability, payload)
    return _append(durability, <bytes>payload, None)


cdef object _append(object durability, bytes payload, bytes record):
    """``append_record`` of ``payload``, or of ``record`` when ``payload`` is None: a record whose
    header is still to be written (``_fill_header``), its payload after it (``_commit_usual_of``
    builds the two in one buffer, and calls this only where ``durability.append`` would be the
    class's, this module's ``append_record``: an instance's own is called here)."""
    cdef PyObject* p
    cdef dict fields
    cdef list buf
    cdef Py_ssize_t buf_bytes
    cdef bint big = False
    found = PyObject_GenericGetDict(durability, NULL)
    if payload is None:
        if type(found) is dict and kvstore_dict_get(found, "append") != NULL:
            return durability.append(record[RECORD_HEADER_SIZE:])     # (an instance's own append: its call)
        if PyBytes_GET_SIZE(record) - RECORD_HEADER_SIZE > _MAX_PAYLOAD:
            payload = record[RECORD_HEADER_SIZE:]
    if payload is not None and PyBytes_GET_SIZE(payload) > _MAX_PAYLOAD:
        return _ref.append_record(durability, payload)
    if type(found) is not dict:
        return _ref.append_record(durability, payload if payload is not None else record[RECORD_HEADER_SIZE:])
    fields = <dict>found
    cdef bint usual = False
    p = kvstore_dict_get(fields, "_failure")
    if p != NULL and <object>p is None:
        p = kvstore_dict_get(fields, "_state")
        if p != NULL and <object>p == "running":
            staging = fields["_staging"]
            usual = staging is None or type(staging) is Staging
    if not usual:
        # refused (a failure, a closed log), or a staging area of another kind: the reference
        return _ref.append_record(durability, payload if payload is not None else record[RECORD_HEADER_SIZE:])
    lock = fields["_lock"]
    lock.acquire()
    try:
        lsn = fields["_next_lsn"]
        if type(lsn) is not int or not 0 < lsn < (1 << 63) or type(fields["_buf"]) is not list:
            lsn = None                                  # (the reference, after the lock is released)
        else:
            fields["_next_lsn"] = lsn + 1
            buf = <list>fields["_buf"]
            if payload is None:
                _fill_header(record, <uint64_t>lsn, <unsigned char>(_CONT if len(buf) else _BEGIN))
            else:
                record = _frame(<uint64_t>lsn, payload, <unsigned char>(_CONT if len(buf) else _BEGIN))
            if not len(buf):
                fields["_buf_first"] = lsn
            buf.append(record)
            buf_bytes = fields["_buf_bytes"]
            buf_bytes += PyBytes_GET_SIZE(record)
            fields["_buf_bytes"] = buf_bytes
            if staging is not None and not _stage(staging, <bytes>record, lsn):
                fields["_unstaged"] = lsn
            big = buf_bytes >= _WAKE_BYTES
            gather_target = fields["_gather_target"]
            if gather_target and len(buf) >= gather_target:
                fields["_gathered"].notify()
    finally:
        lock.release()
    if lsn is None:
        return _ref.append_record(durability, payload if payload is not None else record[RECORD_HEADER_SIZE:])
    if big:
        fields["_wake"].set()
    return lsn


cdef bint _stage(object staging, bytes record, object lsn) except -1:
    """``Staging.put(record, lsn)`` (kvstore/engine/staging.py): the bytes copied into the current
    region of the mapping; False when they do not fit."""
    cdef Py_buffer view
    cdef Py_ssize_t start, end, base, region_bytes, region
    start = staging._offset
    end = start + PyBytes_GET_SIZE(record)
    region_bytes = staging.region_bytes
    if staging._full or end > region_bytes:
        staging._full = True
        return False
    region = staging._region
    base = region * region_bytes
    PyObject_GetBuffer(staging._buffer, &view, PyBUF_WRITABLE)
    try:
        if view.len < base + end:            # a mapping shorter than its regions: the reference's error
            return staging.put(record, lsn)
        memcpy(<char*>view.buf + base + start, PyBytes_AS_STRING(record), PyBytes_GET_SIZE(record))
    finally:
        PyBuffer_Release(&view)
    staging._offset = end
    staging._last[region] = lsn
    return True


# ------------------------------------------------------------------ a write committed, waited for

cdef inline object _field(dict fields, str name):
    cdef PyObject* p = kvstore_dict_get(fields, name)
    if p == NULL:
        raise _Fallback()
    return <object>p


def commit_usual(engine, writes):
    """``engine.commit(writes)`` where that is the usual case (an open database, every table still
    there, no stream enabled, no table with point-in-time recovery, no listener): the writes' log
    record appended and the writes applied; its LSN.  A log that refuses the record, anything else, and any
    writes that are not ``commit``'s list of 5-tuples, or an engine without those attributes: the
    method."""
    return _commit_usual_of(engine, writes)


cdef object _commit_usual_of(object engine, object writes):
    # (the compiled operations' call: no Python call protocol; _clog.pxd)
    cdef PyObject* p
    try:
        if (type(writes) is not list or not writes or engine.closed is not False or engine.streams.enabled
                or engine.pitr.names or engine.listeners):
            return engine.commit(writes)
        durability = engine.durability
    except AttributeError:
        return engine.commit(writes)
    table = None
    for w in <list>writes:
        if type(w) is not tuple or len(<tuple>w) != 5:
            return engine.commit(writes)
        if (<tuple>w)[0] is not table:          # (a table's writes follow one another: read once)
            table = (<tuple>w)[0]
            if table.deleted:
                return engine.commit(writes)    # (DeleteTable won the race: the method's error)
    lsn = 0
    if durability is not None:
        try:
            # Durability.append itself (this module's append_record, not overridden by a subclass or
            # the instance): the record built with its payload in one buffer; else the method
            p = kvstore_type_dict_get(type(durability), "append")
            record = None
            if p != NULL and <object>p is _append_function:
                record = _write_record_framed(<list>writes)
            if record is not None:
                lsn = _append(durability, None, <bytes>record)
            else:
                lsn = durability.append(write_record(writes))
        except _LOG_ERRORS:         # refused before anything was buffered: the method answers, worded once
            return engine.commit(writes)
    _apply_writes(writes)
    return lsn


cdef object _write_record_framed(list writes):
    """``write_record(writes)`` after RECORD_HEADER_SIZE bytes left for its frame's header, in one new
    bytes object, or None for ``write_record`` (a table name that is not a str, a row key that is not
    bytes, a packed item that is neither bytes nor None)."""
    cdef unsigned char stack[STACK_BUFFER]
    cdef Writer w
    cdef tuple write
    _writer_init(&w, stack, STACK_BUFFER)
    try:
        _need(&w, RECORD_HEADER_SIZE)
        w.len = RECORD_HEADER_SIZE
        _put(&w, b"\x92\xa1W", 3)                  # ["W", [...]]
        _header(&w, len(writes), 0x90, 4, -1, 0xDC, 0xDD)
        table = name = None
        for item in writes:
            write = <tuple>item
            if write[0] is not table:
                table = write[0]
                name = table.name
            row_key = write[1]
            packed = write[4]
            if type(name) is not str or type(row_key) is not bytes or (packed is not None and type(packed) is not bytes):
                return None
            _put(&w, b"\x93", 1)                    # [table name, row key, packed item or nil]
            _pack(&w, name, 0)
            _pack(&w, row_key, 0)
            _pack(&w, packed, 0)
        return PyBytes_FromStringAndSize(<const char*>w.buf, w.len)
    except _Fallback:
        return None
    finally:
        _writer_free(&w)


def wait_usual(engine, lsn):
    """``engine.wait_durable(lsn)``, returning at once where the method would: no stream reader to
    wake, and no log, or ``lsn`` durable already, or a ``batch`` / ``none`` log that holds it in its
    staging area and has no failure (``Durability.wait_durable``).  Anything else: the method."""
    return _wait_usual_of(engine, lsn)


cdef object _wait_usual_of(object engine, object lsn):
    # (the compiled operations' call: no Python call protocol; _clog.pxd)
    try:
        if engine.streams.woke or type(lsn) is not int:
            return engine.wait_durable(lsn)
        durability = engine.durability
    except AttributeError:
        return engine.wait_durable(lsn)
    if not lsn or durability is None:
        return None
    try:
        fields = PyObject_GenericGetDict(durability, NULL)      # (read as ``append_record`` reads them)
        if type(fields) is not dict:
            return engine.wait_durable(lsn)
        durable = _field(<dict>fields, "_durable_lsn")
        if lsn <= durable:
            return None
        if (_field(<dict>fields, "policy") != "sync" and _field(<dict>fields, "_failure") is None
                and not _field(<dict>fields, "_unstaged") > durable):
            return None
    except _Fallback:
        pass
    return engine.wait_durable(lsn)


cdef object _append_function = append_record      # what Durability.append is (kvstore/engine/durability.py)
