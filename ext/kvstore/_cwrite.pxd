# What the other compiled modules call in kvstore._cwrite without a Python call: each is the module
# function of the same name without the underscore and "_of" (``write_shape`` is ``_write_shape_of``),
# its type checks and its fallback to the reference included.

cdef object _item_from_python_of(item, allow_floats)
cdef object _condition_holds_of(program, item, vals)
cdef object _apply_update_of(program, item, vals)
cdef object _write_shape_of(operation, request, update, allowed, map_marker)
cdef object _usual_actions_of(actions, kinds, valid_names, on_failure)
cdef object _transact_size_of(parsed, plain_members)
cdef object _transact_size_bound_of(parsed, plain_members)
cdef object _apply_writes_of(writes)
cdef object _same_value_of(a, b)
