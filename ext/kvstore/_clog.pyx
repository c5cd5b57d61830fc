# cython: language_level=3
"""The write-ahead log's per-write work, compiled: a write's record and its frame.

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
"""

from libc.stdint cimport uint32_t, uint64_t
from libc.string cimport memcpy

from kvstore._capi cimport *
from kvstore._cvalues cimport *
from kvstore._ckeys cimport _crc32
from kvstore._citems cimport _packed

import zlib as _zlib

from kvstore import _pycore as _ref
from kvstore._cvalues import _Fallback

cdef object _zlib_crc32 = _zlib.crc32

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
    cdef Py_ssize_t n
    cdef uint32_t crc
    cdef unsigned char* out
    cdef const unsigned char* body
    if type(payload) is not bytes or type(lsn) is not int or type(rtype) is not int or not (
            0 <= lsn < (1 << 64) and 0 <= rtype < 256 and PyBytes_GET_SIZE(payload) < (1 << 32)):
        return _ref.frame_record(lsn, payload, rtype)
    n = PyBytes_GET_SIZE(payload)
    record = PyBytes_FromStringAndSize(NULL, RECORD_HEADER_SIZE + n)
    out = <unsigned char*>PyBytes_AS_STRING(record)
    _le(out + 4, <uint64_t>n, 4)
    out[8] = <unsigned char>rtype
    _le(out + 9, <uint64_t>lsn, 8)
    body = <const unsigned char*>PyBytes_AS_STRING(payload)
    memcpy(out + RECORD_HEADER_SIZE, body, n)
    crc = _crc32(0, out + 4, RECORD_HEADER_SIZE - 4)
    if n > CRC_TABLE_MAX:
        crc = _zlib_crc32(payload, crc)
    else:
        crc = _crc32(crc, body, n)
    _le(out, crc, 4)
    return record
