# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False, infer_types=True
"""A prepared UpdateItem, compiled: the twin of ``kvstore._pycore``'s ``run_update_plan``, which
is what ``kvstore.operations.write_plans.UpdatePlan.run`` does with a ``Table.update_item`` call
of a shape seen before (convert the Key and values, admit under enforced capacity, lock, read,
condition, update, size and index-key checks, commit, wait, charge).  Every step is the same call
as the twin's, in the same order, with the same answers: None hands the call to the reference
path before anything changed; a false condition raises the reference's
ConditionalCheckFailedException.  What this removes is the Python glue between the steps.
"""

from cpython.object cimport PyObject

from kvstore._capi cimport *
from kvstore._citems cimport _packed_item, _unpacked
from kvstore._ccapacity cimport _admitted_write, _charge_write_of
from kvstore._clog cimport _commit_usual_of as _commit_usual, _wait_usual_of as _wait_usual
from kvstore._cread cimport _request_row_key
from kvstore._ctransact cimport _usual_index_keys
from kvstore._cwrite cimport (_apply_update_of as _apply_update, _condition_holds_of as _condition_holds,
                              _same_value_of as _same_value,
                              _item_from_python_of as _item_from_python, _write_shape_of as _write_shape)

from kvstore import _pycore as _ref
from kvstore import limits as _limits
from cpython.dict cimport PyDict_Copy

cdef Py_ssize_t _CONTEXT_SIZE = _ref.UPDATE_PLAN_CONTEXT_SIZE
cdef Py_ssize_t _EMBEDDED_CONTEXT_SIZE = _ref.EMBEDDED_UPDATE_CONTEXT_SIZE
# the checks' usual cases, tested here before calling them (each check's own first test, so a call
# they would return from at once is not made): a packed image of at most a quarter of the item size
# limit, index key values that are short strings or numbers, a table without item collections
cdef Py_ssize_t _MAX_ITEM_SIZE = _limits.MAX_ITEM_SIZE
cdef Py_ssize_t _SHORT_INDEX_KEY = _limits.MAX_RANGE_KEY_SIZE // 4


def run_update_plan(engine, plan, kwargs, context):
    """The response of ``kwargs`` (a ``Table.update_item`` call's) through ``plan``, or None for the
    reference path (see ``kvstore._pycore``)."""
    if type(kwargs) is not dict or type(context) is not tuple or len(<tuple>context) != _CONTEXT_SIZE:
        return _ref.run_update_plan(engine, plan, kwargs, context)
    return _run(engine, plan, <dict>kwargs, <tuple>context)


def embedded_update(engine, prefix, kwargs, context):
    """The response of a ``Table.update_item`` call through the prepared plan of its shape, else its
    shape key, or None when it has none a plan serves (see ``kvstore._pycore``)."""
    cdef PyObject* p
    if (type(kwargs) is not dict or type(context) is not tuple or len(<tuple>context) != _EMBEDDED_CONTEXT_SIZE
            or type((<tuple>context)[0]) is not tuple or len(<tuple>(<tuple>context)[0]) != _CONTEXT_SIZE):
        return _ref.embedded_update(engine, prefix, kwargs, context)
    if engine.contention is not None or engine.faults is not None or engine.metrics is not None:
        return None
    p = kvstore_dict_get(<dict>kwargs, "UpdateExpression")
    if p == NULL or <object>p is None:
        return None
    found = _write_shape(prefix, kwargs, True, (<tuple>context)[1], (<tuple>context)[2])
    if found is None:
        return None
    shape = (<tuple>found)[0]
    plans = engine.write_plans
    if type(plans) is not dict:
        plan = plans.get(shape)
        if plan is None:
            return shape
        response = run_update_plan(engine, plan, kwargs, (<tuple>context)[0])
        return shape if response is None else response
    p = kvstore_dict_get(<dict>plans, shape)
    if p == NULL or <object>p is None:
        return shape
    response = _run(engine, <object>p, <dict>kwargs, <tuple>(<tuple>context)[0])
    return shape if response is None else response


# write_plans.UpdatePlan is a __slots__ class: its slots are read in place (``kvstore_slot``)
cdef object _Plan = None
cdef object _s_table = None, _s_condition = None, _s_update = None, _s_only_removes = None
cdef object _s_key_schema = None, _s_allow_floats = None


cdef int _load_slots() except -1:
    global _Plan, _s_table, _s_condition, _s_update, _s_only_removes, _s_key_schema, _s_allow_floats
    from kvstore.operations.write_plans import UpdatePlan
    _s_table = kvstore_slot_descriptor(UpdatePlan, "table")
    _s_condition = kvstore_slot_descriptor(UpdatePlan, "condition")
    _s_update = kvstore_slot_descriptor(UpdatePlan, "update")
    _s_only_removes = kvstore_slot_descriptor(UpdatePlan, "only_removes")
    _s_key_schema = kvstore_slot_descriptor(UpdatePlan, "key_schema")
    _s_allow_floats = kvstore_slot_descriptor(UpdatePlan, "allow_floats")
    _Plan = UpdatePlan
    return 0


cdef object _run(object engine, object plan, dict kwargs, tuple context):
    cdef PyObject* p
    error_class, condition_failed, check_item_size, check_index_keys, check_collection_size, too_big, \
        no_request, response_metadata = context
    if _Plan is None:
        _load_slots()
    table = kvstore_slot(plan, _Plan, _s_table, "table")
    tables = engine.tables
    if type(tables) is not dict:
        return _ref.run_update_plan(engine, plan, kwargs, context)
    p = kvstore_dict_get(<dict>tables, table.name)
    if p == NULL or <object>p is not table or engine.closed:
        return None
    allow_floats = kvstore_slot(plan, _Plan, _s_allow_floats, "allow_floats")
    try:
        key = _item_from_python(kwargs["Key"], allow_floats)
        p = kvstore_dict_get(kwargs, "ExpressionAttributeValues")
        vals = () if p == NULL or <object>p is None else \
            tuple(_item_from_python(<object>p, allow_floats).values())
    except Exception:      # noqa - the reference path converts again and raises its error
        return None
    schema = kvstore_slot(plan, _Plan, _s_key_schema, "key_schema")
    if type(schema) is not tuple or len(<tuple>schema) != 4:
        return _ref.run_update_plan(engine, plan, kwargs, context)
    row_key = _request_row_key(key, (<tuple>schema)[0], (<tuple>schema)[1], (<tuple>schema)[2], (<tuple>schema)[3])
    if row_key is None:
        return None
    meter = engine.capacity
    ticket = None
    if meter is not None:
        ticket = _admitted_write(meter, table, row_key)     # (the compiled meter's admitted case)
        if ticket is None:
            try:
                ticket = meter.admit_write(table, row_key)
            except error_class as e:
                e._operation_name = "UpdateItem"
                raise
    lock = table.locks[(<unsigned char*>PyBytes_AS_STRING(row_key))[0] >> <Py_ssize_t>table._shift]
    lock.acquire()
    try:
        rows = table.rows
        if type(rows) is not dict:
            return None
        p = kvstore_dict_get(<dict>rows, row_key)
        old_packed = None if p == NULL else <object>p
        old = None if p == NULL else _unpacked(old_packed)
        new = packed = None
        try:
            condition = kvstore_slot(plan, _Plan, _s_condition, "condition")
            failed = condition is not None and not _condition_holds(condition, old, vals)
            if not failed:
                if old is not None:
                    new = _apply_update(kvstore_slot(plan, _Plan, _s_update, "update"), old, vals)
                elif not kvstore_slot(plan, _Plan, _s_only_removes, "only_removes"):
                    new = _apply_update(kvstore_slot(plan, _Plan, _s_update, "update"), dict(key), vals)
                if new is not None and not _same_value(new, old):
                    packed = _packed_item(new)
                    if len(<bytes>packed) * 4 > _MAX_ITEM_SIZE:
                        check_item_size(new, too_big, packed)
                    if table.indexes:
                        if type(new) is not dict or not _usual_index_keys(table, <dict>new, _SHORT_INDEX_KEY):
                            check_index_keys(table, new, True)
                        if table.collections is not None:
                            check_collection_size(table, row_key, old_packed, packed)
        except error_class:    # the reference path raises it, in DynamoDB's order of checks
            return None
        if failed:
            if ticket is not None:     # a failed conditional write is charged as if it had written
                _charge_write_of(meter, ticket, old_packed, None, old, None)
            e = condition_failed(old, no_request, table, old_packed, None, row_key)
            e._operation_name = "UpdateItem"
            raise e
        try:
            lsn = 0 if packed is None else _commit_usual(engine, [(table, row_key, old, new, packed)])
        except error_class as e:   # the log could not take it, or DeleteTable won the race
            e._operation_name = "UpdateItem"
            raise
    finally:
        lock.release()
    try:
        _wait_usual(engine, lsn)
    except error_class as e:
        e._operation_name = "UpdateItem"
        raise
    if ticket is not None:
        _charge_write_of(meter, ticket, old_packed, None if new is None else old_packed if packed is None else packed,
                         old, new)
    return {"ResponseMetadata": PyDict_Copy(response_metadata) if type(response_metadata) is dict
            else dict(response_metadata)}
