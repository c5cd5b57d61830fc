# What the other compiled modules take from kvstore._ctransact without a Python call: the usual-case
# check of an item's index key values (``_cupdate`` runs it before calling ``check_index_keys``).

cdef bint _usual_index_keys(object table, dict item, Py_ssize_t max_chars) except -1
