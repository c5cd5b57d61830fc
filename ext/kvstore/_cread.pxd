# The wire GetItem's key (kvstore._cread), for kvstore._cwire's reading of the usual GetItem body, and a
# request's row key for kvstore._ctransact.

cdef Py_ssize_t _plain_number(const char* s, Py_ssize_t n) noexcept nogil
cdef bytes _row_key(const char* hp, Py_ssize_t hn, const char* rp, Py_ssize_t rn)
cdef object _request_row_key(object key, object hash_name, object hash_tag, object range_name, object range_tag)
