# Item packing (kvstore._citems), for the compiled modules that pack or unpack items themselves.

from kvstore._capi cimport Reader, Writer

cdef int _header(Writer* w, Py_ssize_t n, int fix, int fixbits, int marker8, int marker16, int marker32) except -1
cdef int _pack(Writer* w, object o, int depth) except -1
cdef bytes _packed(object o)
cdef object _packed_item(object item)
cdef object _unpack(Reader* r, int depth)
cdef object _unpack_bytes(object data)
cdef object _unpacked(object data)
cdef bint _flat_item(object packed)
