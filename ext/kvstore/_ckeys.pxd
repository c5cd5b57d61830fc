# Storage keys (kvstore._ckeys), for the compiled modules that build row keys themselves.

from libc.stdint cimport uint32_t

cdef uint32_t _crc32(uint32_t crc, const unsigned char* p, Py_ssize_t n) except? 0xFFFFFFFF
cdef bytes _encode_text(object text)
cdef object _raw(object value, const char** ptr, Py_ssize_t* size)
cdef bytes _prefixed(object hash_value, object tail, bint delimited_tail, object suffix)
cdef bytes _prefixed_raw(const char* hp, Py_ssize_t hn, const char* tp, Py_ssize_t tn, bint escape, object suffix)
cdef bytes _delimited(object value)
cdef int _cmp(object a, object b) except? -2
cdef Py_ssize_t _bisect(list a, object x, Py_ssize_t lo, Py_ssize_t hi, bint right) except -1
