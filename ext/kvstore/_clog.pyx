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
from kvstore._citems cimport _packed

import zlib as _zlib

from kvstore import _pycore as _ref
from kvstore._cvalues import _Fallback
from kvstore._cwrite import apply_writes as _apply_writes
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
    cdef Py_ssize_t n
    cdef uint32_t crc
    cdef unsigned char* out
    cdef const unsigned char* body
    n = PyBytes_GET_SIZE(payload)
    record = PyBytes_FromStringAndSize(NULL, RECORD_HEADER_SIZE + n)
    out = <unsigned char*>PyBytes_AS_STRING(record)
    _le(out + 4, <uint64_t>n, 4)
    out[8] = <unsigned char>rtype
    _le(out + 9, lsn, 8)
    body = <const unsigned char*>PyBytes_AS_STRING(payload)
    memcpy(out + RECORD_HEADER_SIZE, body, n)
    crc = _crc32(0, out + 4, RECORD_HEADER_SIZE - 4)
    if n > CRC_TABLE_MAX:
        crc = _zlib_crc32(payload, crc)
    else:
        crc = _crc32(crc, body, n)
    _le(out, crc, 4)
    return record


# ------------------------------------------------------------------ the append

def append_record(durability, payload):
    """``Durability.append``: the LSN of ``payload``, framed, buffered and staged (see
    ``kvstore._pycore.append_record``, which answers whatever is not the usual case)."""
    cdef PyObject* p
    cdef dict fields
    cdef list buf
    cdef Py_ssize_t buf_bytes
    cdef bint big = False
    if type(payload) is not bytes or PyBytes_GET_SIZE(payload) > _MAX_PAYLOAD:
        return _ref.append_record(durability, payload)
    found = PyObject_GenericGetDict(durability, NULL)
    if type(found) is not dict:
        return _ref.append_record(durability, payload)
    fields = <dict>found
    p = kvstore_dict_get(fields, "_failure")
    if p == NULL or <object>p is not None:
        return _ref.append_record(durability, payload)       # (refuses)
    p = kvstore_dict_get(fields, "_state")
    if p == NULL or <object>p != "running":
        return _ref.append_record(durability, payload)
    staging = fields["_staging"]
    if staging is not None and type(staging) is not Staging:
        return _ref.append_record(durability, payload)
    lock = fields["_lock"]
    lock.acquire()
    try:
        lsn = fields["_next_lsn"]
        if type(lsn) is not int or not 0 < lsn < (1 << 63) or type(fields["_buf"]) is not list:
            lsn = None                                  # (the reference, after the lock is released)
        else:
            fields["_next_lsn"] = lsn + 1
            buf = <list>fields["_buf"]
            if len(buf):
                record = _frame(<uint64_t>lsn, <bytes>payload, <unsigned char>_CONT)
            else:
                record = _frame(<uint64_t>lsn, <bytes>payload, <unsigned char>_BEGIN)
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
        return _ref.append_record(durability, payload)
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
    try:
        if (type(writes) is not list or not writes or engine.closed is not False or engine.streams.enabled
                or engine.pitr.names or engine.listeners):
            return engine.commit(writes)
        durability = engine.durability
    except AttributeError:
        return engine.commit(writes)
    for w in <list>writes:
        if type(w) is not tuple or len(<tuple>w) != 5 or (<tuple>w)[0].deleted:
            return engine.commit(writes)        # (DeleteTable won the race: the method's error)
    lsn = 0
    if durability is not None:
        try:
            lsn = durability.append(write_record(writes))
        except _LOG_ERRORS:         # refused before anything was buffered: the method answers, worded once
            return engine.commit(writes)
    _apply_writes(writes)
    return lsn


def wait_usual(engine, lsn):
    """``engine.wait_durable(lsn)``, returning at once where the method would: no stream reader to
    wake, and no log, or ``lsn`` durable already, or a ``batch`` / ``none`` log that holds it in its
    staging area and has no failure (``Durability.wait_durable``).  Anything else: the method."""
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
