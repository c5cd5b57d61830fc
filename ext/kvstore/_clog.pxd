# What the other compiled modules call in kvstore._clog without a Python call: each is the module
# function of the same name without the underscore and "_of" (``commit_usual`` is
# ``_commit_usual_of``), its checks and its hand-over to the engine's method included.

cdef object _commit_usual_of(object engine, object writes)
cdef object _wait_usual_of(object engine, object lsn)
