# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False, infer_types=True
"""TransactWriteItems of the usual shape, compiled: the twins of ``kvstore._pycore``'s
``transact_actions`` (the embedded API's actions converted), ``usual_transaction`` (every check
the operation makes before it takes the locks), ``transact_images`` (the new images under the
locks) and ``transact_commit`` (the three, the locks and the commit).  Read the "transactions
(session 8)" block of ``kvstore._pycore`` for what each answers: None for anything unusual and
for any check that fails, so that the operation's general path, which words every error and
every cancellation reason, redoes such a request from its start.

The per-item work is the other modules' (keys, packing, condition and update programs, the
expression shape key), called here through their module functions; what this module removes is
the Python glue of the per-action loop around them.
"""

from cpython.object cimport PyObject
from cpython.dict cimport PyDict_Copy
from cpython.tuple cimport PyTuple_GET_ITEM

from kvstore._capi cimport *

from decimal import Decimal as _Decimal
from types import MemberDescriptorType as _MemberDescriptor

from kvstore._citems cimport _packed_item as _pack_item, _unpacked as _unpack_item
from kvstore._ckeys cimport _prefixed
from kvstore._clog cimport _commit_usual_of as _commit_usual, _wait_usual_of as _wait_usual
from kvstore._cread cimport _request_row_key
from kvstore._cwrite cimport (_apply_update_of as _apply_update, _condition_holds_of as _condition_holds,
                              _item_from_python_of as _item_from_python,
                              _transact_size_of as _transact_size,
                              _transact_size_bound_of as _transact_size_bound, _usual_actions_of as _usual_actions,
                              _write_shape_of as _write_shape)

from kvstore import _pycore as _ref

cdef object Decimal = _Decimal
cdef object _new_update = object.__new__
cdef tuple _QUIET_MEMBERS = _ref._TX_QUIET_MEMBERS
cdef tuple _CONDITION_MEMBERS = _ref._TX_CONDITION_MEMBERS
cdef Py_ssize_t _CONTEXT_SIZE = 16
# positions in the context tuple (``kvstore._pycore``'s ``TX_*``), read once
cdef Py_ssize_t _KINDS = _ref.TX_KINDS, _VALID_NAMES = _ref.TX_VALID_NAMES, _ON_FAILURE = _ref.TX_ON_FAILURE
cdef Py_ssize_t _PLAIN_MEMBERS = _ref.TX_PLAIN_MEMBERS, _USUAL_MEMBERS = _ref.TX_USUAL_MEMBERS
cdef Py_ssize_t _USUAL_UPDATE_MEMBERS = _ref.TX_USUAL_UPDATE_MEMBERS, _MAP = _ref.TX_MAP
cdef Py_ssize_t _TEMPLATES = _ref.TX_TEMPLATES, _MAX_ACTIONS = _ref.TX_MAX_ACTIONS, _MAX_SIZE = _ref.TX_MAX_SIZE
cdef Py_ssize_t _MAX_ITEM_SIZE = _ref.TX_MAX_ITEM_SIZE, _SHORT_NAME = _ref.TX_SHORT_NAME
cdef Py_ssize_t _SHORT_KEY = _ref.TX_SHORT_KEY, _SHORT_INDEX_KEY = _ref.TX_SHORT_INDEX_KEY
cdef Py_ssize_t _UPDATE_CLASS = _ref.TX_UPDATE_CLASS, _PROGRAM_CONDITION = _ref.TX_PROGRAM_CONDITION
cdef long _PARAM_TEXT = _ref._PARAM_TEXT, _PARAM_NAMES = _ref._PARAM_NAMES, _PARAM_NAME_MAP = _ref._PARAM_NAME_MAP


# ------------------------------------------------------------------ the embedded API's actions

def transact_actions(actions, allow_floats, members):
    """The usual TransactItems converted, or None (see ``kvstore._pycore``)."""
    return _transact_actions_of(actions, allow_floats, members)


cdef object _transact_actions_of(actions, allow_floats, members):
    cdef PyObject* p
    cdef list out
    cdef dict copy
    if type(actions) is not list or type(members) is not dict:
        return _ref.transact_actions(actions, allow_floats, members)
    out = []
    try:
        for action in <list>actions:
            if type(action) is not dict or len(<dict>action) != 1:
                return None
            for kind, spec in (<dict>action).items():
                pass
            p = kvstore_dict_get(<dict>members, kind)
            if p == NULL or <object>p is None or type(spec) is not dict:
                return None
            member = <object>p
            copy = dict(<dict>spec)
            p = kvstore_dict_get(copy, member)
            if p != NULL and <object>p is not None:
                if type(<object>p) is not dict:
                    return None
                copy[member] = _item_from_python(<object>p, allow_floats)
            p = kvstore_dict_get(copy, "ConditionExpression")
            if p != NULL and <object>p is not None and type(<object>p) is not str:
                return None
            for other in _CONDITION_MEMBERS:
                if kvstore_dict_get(copy, other) != NULL:
                    return None
            p = kvstore_dict_get(copy, "ExpressionAttributeValues")
            if p != NULL and <object>p is not None:
                values = <object>p
                if type(values) is not dict:
                    return None
                converted = _item_from_python(values, allow_floats)
                if converted is values:
                    return None
                copy["ExpressionAttributeValues"] = converted
            out.append({kind: copy})
    except Exception:
        return None
    return out


def transact_request(engine, kwargs, allow_floats, members, checks):
    """The embedded call's request with its actions converted, when boto3's parameter check has
    nothing to report on it, or None (see ``kvstore._pycore``: why the check may then be skipped)."""
    return _transact_request_of(engine, kwargs, allow_floats, members, checks)


cdef object _transact_request_of(engine, kwargs, allow_floats, members, checks):
    if (type(kwargs) is not dict or type(members) is not dict or type(checks) is not tuple
            or len(<tuple>checks) != 2 or type((<tuple>checks)[0]) is not frozenset
            or type((<tuple>checks)[1]) is not dict):
        return _ref.transact_request(engine, kwargs, allow_floats, members, checks)
    if engine.faults is not None or engine.metrics is not None:
        return None
    try:
        return _checked_request(<dict>kwargs, <frozenset>(<tuple>checks)[0], <dict>(<tuple>checks)[1],
                                <dict>members, allow_floats)
    except Exception:
        return None                         # (the reference's transact_actions: a value that does not convert)


cdef inline bint _ascii_text(object value):
    return type(value) is str and PyUnicode_IS_ASCII(value)


cdef object _checked_request(dict kwargs, frozenset texts, dict kinds, dict members, allow_floats):
    """The reference's check of the call and ``transact_actions`` in one pass: each spec's members
    are looked at once, its Key or Item (``members``) and ExpressionAttributeValues converted as
    they are met."""
    cdef PyObject* p
    cdef PyObject* q
    cdef PyObject* k
    cdef PyObject* v
    cdef Py_ssize_t pos, inner_pos
    cdef long code
    cdef dict copy
    cdef list out
    p = kvstore_dict_get(kwargs, "TransactItems")
    if p == NULL or type(<object>p) is not list:
        return None
    actions = <list><object>p
    pos = 0
    while PyDict_Next(kwargs, &pos, &k, &v):
        if <object>k != "TransactItems" and (<object>k not in texts or not _ascii_text(<object>v)):
            return None
    out = []
    for action in actions:
        if type(action) is not dict or PyDict_GET_SIZE(action) != 1:
            return None
        for kind, spec in (<dict>action).items():
            pass
        p = kvstore_dict_get(kinds, kind)
        q = kvstore_dict_get(members, kind)
        if p == NULL or type(<object>p) is not dict or q == NULL or <object>q is None or type(spec) is not dict:
            return None
        spec_kinds = <dict><object>p
        member = <object>q
        copy = PyDict_Copy(spec)
        pos = 0
        while PyDict_Next(spec, &pos, &k, &v):
            name = <object>k                # (owned: a lookup below may run a name's own __eq__)
            value = <object>v
            p = kvstore_dict_get(spec_kinds, name)
            if p == NULL or type(<object>p) is not int:
                return None
            code = <long><object>p
            if code == _PARAM_TEXT:
                if not _ascii_text(value):
                    return None
            elif code == _PARAM_NAMES or code == _PARAM_NAME_MAP:
                if type(value) is not dict:
                    return None
                inner_pos = 0
                while PyDict_Next(value, &inner_pos, &k, &v):
                    if not _ascii_text(<object>k) or (code == _PARAM_NAME_MAP and not _ascii_text(<object>v)):
                        return None
                if code == _PARAM_NAMES and (name == member or name == "ExpressionAttributeValues"):
                    copy[name] = _item_from_python(value, allow_floats)
            else:
                return None
        out.append({kind: copy})
    request = PyDict_Copy(kwargs)
    request["TransactItems"] = out
    return request


# ------------------------------------------------------------------ before the locks

def usual_transaction(request, tables, context):
    """``(parsed, targets, locks)`` of a usual transaction whose checks all pass, or None
    (see ``kvstore._pycore``)."""
    return _usual_transaction_of(request, tables, context)


cdef object _usual_transaction_of(request, tables, context):
    cdef PyObject* p
    if (type(request) is not dict or type(tables) is not dict or type(context) is not tuple
            or len(<tuple>context) != _CONTEXT_SIZE):
        return _ref.usual_transaction(request, tables, context)
    for member, value in (<dict>request).items():
        if member != "TransactItems" and (member not in _QUIET_MEMBERS or value != "NONE"):
            return None
    p = kvstore_dict_get(<dict>request, "TransactItems")
    if p == NULL or type(<object>p) is not list:
        return None
    actions = <list><object>p
    if len(actions) < 1 or len(actions) > <object>PyTuple_GET_ITEM(context, _MAX_ACTIONS):
        return None
    try:
        return _usual_transaction(actions, <dict>tables, <tuple>context)
    except Exception:
        return None


cdef object _usual_transaction(list actions, dict tables, tuple context):
    cdef PyObject* p
    cdef list usual, parsed, targets, locks
    cdef tuple entry, shape
    cdef dict spec, wanted
    cdef set seen
    cdef Py_ssize_t i, n, partition
    usual = _usual_actions(actions, context[_KINDS], context[_VALID_NAMES],
                           context[_ON_FAILURE])
    plain = context[_PLAIN_MEMBERS]
    templates = context[_TEMPLATES]
    update_class = context[_UPDATE_CLASS]
    if type(plain) is not frozenset or type(templates) is not dict:
        return _ref._usual_transaction(actions, tables, context)
    n = len(usual)
    parsed = []
    if update_class is not _UpdateClass or context[_PROGRAM_CONDITION] is not _ConditionClass:
        _load_slots(update_class, context[_PROGRAM_CONDITION])
    for i in range(n):
        found = <object>PyList_GET_ITEM(usual, i)
        if found is None:
            return None
        entry = <tuple>found
        kind = entry[0]
        spec = <dict>entry[1]
        shape = <tuple>entry[2]
        condition = update = None
        for member in spec:
            if member not in <frozenset>plain:
                break
        else:
            member = None
        if member is not None:              # something to compile: a known template's instance
            is_update = shape[2]
            found = _write_shape(shape[1], spec, is_update,
                                 context[_USUAL_UPDATE_MEMBERS] if is_update
                                 else context[_USUAL_MEMBERS], context[_MAP])
            if found is None:
                return None
            p = kvstore_dict_get(<dict>templates, (<tuple>found)[0])
            if p == NULL:
                return None
            parts = (<object>p).condition_and_plan
            if parts is not None:           # the instantiation's condition and Update, without the Compiled
                condition = (<tuple>parts)[0]
                update = _update_of(update_class, (<tuple>parts)[1], (<tuple>found)[1])
            else:
                compiled = (<object>p)((<tuple>found)[1])
                if compiled is None:
                    return None
                condition = compiled.condition
                update = compiled.update
        parsed.append((kind, spec, condition, update, _pack_item(spec["Item"]) if kind == "Put" else None))
    if (_transact_size_bound(parsed, plain) > context[_MAX_SIZE]
            and _transact_size(parsed, plain) > context[_MAX_SIZE]):
        return None
    targets = []
    seen = set()
    wanted = {}
    cdef Py_ssize_t short_name = context[_SHORT_NAME]
    cdef Py_ssize_t max_item_size = context[_MAX_ITEM_SIZE]
    table = None             # the previous action's table: its attributes are read once for the actions on it
    for i in range(n):
        entry = <tuple><object>PyList_GET_ITEM(parsed, i)
        kind = entry[0]
        spec = <dict>entry[1]
        p = kvstore_dict_get(tables, spec["TableName"])
        if p == NULL:
            return None
        if <object>p is not table:
            table = <object>p
            if table.collections is not None:
                return None
            schema = table.schema
            table_shift = table._shift
            table_name = table.name
            table_locks = table.locks
        if kind == "Put":
            item = spec["Item"]
            if type(item) is not dict:
                return None
            for name in <dict>item:
                if type(name) is not str or len(<str>name) == 0 or len(<str>name) > short_name:
                    return None
            packed = entry[4]
            if len(<bytes>packed) * 4 > max_item_size:
                return None
            row_key = _item_key(<dict>item, schema, context[_SHORT_KEY])
            if row_key is None or (table.indexes and not _index_keys_usual(table, <dict>item, context)):
                return None
        else:
            row_key = _request_row_key(spec["Key"], kvstore_slot(schema, _KeySchema, _s_hash_name, "hash_name"),
                                       kvstore_slot(schema, _KeySchema, _s_hash_type, "hash_type"),
                                       kvstore_slot(schema, _KeySchema, _s_range_name, "range_name"),
                                       kvstore_slot(schema, _KeySchema, _s_range_type, "range_type"))
            if row_key is None:
                return None
            update = entry[3]
            if update is not None:
                if type(update) is not update_class:
                    return None
                plan = kvstore_slot(update, _UpdateClass, _s_plan, "plan")
                if kvstore_slot(plan, _UpdatePlan, _s_nested, "nested_top_level_names"):
                    return None
                written = kvstore_slot(plan, _UpdatePlan, _s_top, "top_level_names")
                for name in kvstore_slot(schema, _KeySchema, _s_names, "names"):
                    if name in written:
                        return None
        if type(row_key) is not bytes or len(<bytes>row_key) == 0:
            return None
        target = (table, row_key)
        if target in seen:
            return None
        seen.add(target)
        targets.append(target)
        partition = (<unsigned char*>PyBytes_AS_STRING(row_key))[0] >> <Py_ssize_t>table_shift
        wanted[(table_name, partition)] = table_locks[partition]
    if len(wanted) == 1:
        locks = list(wanted.values())
    elif len(wanted) == 2:                  # sorted's order of two distinct keys, without the sort
        first, second = wanted
        if second < first:
            first, second = second, first
        locks = [wanted[first], wanted[second]]
    else:
        locks = [wanted[k] for k in sorted(wanted)]
    return parsed, targets, locks


# ------------------------------------------------------------------ slots read in place
# The objects an action's checks and images read (the table's KeySchema, the template's UpdatePlan,
# the Update and ProgramCondition made for the request) are __slots__ classes: their slots are read
# at their offsets (``kvstore_slot``), without a lookup of the name on the type per read; an
# instance of another class (a subclass included) is read with getattr.

cdef object _KeySchema = None, _UpdatePlan = None, _UpdateClass = None, _ConditionClass = None
cdef object _s_hash_name = None, _s_hash_type = None, _s_range_name = None, _s_range_type = None
cdef object _s_names = None, _s_nested = None, _s_top = None, _s_only_removes = None, _s_program = None
cdef object _s_plan = None, _s_vals = None, _s_condition_program = None, _s_condition_vals = None


cdef int _load_slots(object update_class, object condition_class) except -1:
    global _KeySchema, _UpdatePlan, _UpdateClass, _ConditionClass, _s_hash_name, _s_hash_type, _s_range_name
    global _s_range_type, _s_names, _s_nested, _s_top, _s_only_removes, _s_program, _s_plan, _s_vals
    global _s_condition_program, _s_condition_vals
    if _KeySchema is None:
        from kvstore.engine.schema import KeySchema
        from kvstore.expressions.update import UpdatePlan
        _s_hash_name = kvstore_slot_descriptor(KeySchema, "hash_name")
        _s_hash_type = kvstore_slot_descriptor(KeySchema, "hash_type")
        _s_range_name = kvstore_slot_descriptor(KeySchema, "range_name")
        _s_range_type = kvstore_slot_descriptor(KeySchema, "range_type")
        _s_names = kvstore_slot_descriptor(KeySchema, "names")
        _s_nested = kvstore_slot_descriptor(UpdatePlan, "nested_top_level_names")
        _s_top = kvstore_slot_descriptor(UpdatePlan, "top_level_names")
        _s_only_removes = kvstore_slot_descriptor(UpdatePlan, "only_removes")
        _s_program = kvstore_slot_descriptor(UpdatePlan, "program")
        _KeySchema, _UpdatePlan = KeySchema, UpdatePlan
    if update_class is not _UpdateClass:
        _s_plan = kvstore_slot_descriptor(update_class, "plan")
        _s_vals = kvstore_slot_descriptor(update_class, "vals")
        _UpdateClass = update_class
    if condition_class is not _ConditionClass:
        _s_condition_program = kvstore_slot_descriptor(condition_class, "program")
        _s_condition_vals = kvstore_slot_descriptor(condition_class, "vals")
        _ConditionClass = condition_class
    return 0


cdef object _slots_class = None     # the Update class whose slots' descriptors are these two
cdef object _plan_slot = None
cdef object _vals_slot = None


cdef object _update_of(object update_class, object plan, object vals):
    """``Update.of(plan, vals)``: when Update is the plain __slots__ class kvstore.expressions.update
    defines, allocated and its two slots filled without a Python call or an attribute lookup."""
    global _slots_class, _plan_slot, _vals_slot
    if update_class is not _slots_class:
        plan_slot = update_class.__dict__.get("plan")
        vals_slot = update_class.__dict__.get("vals")
        if (type(plan_slot) is not _MemberDescriptor or type(vals_slot) is not _MemberDescriptor
                or update_class.__new__ is not object.__new__):
            update = _new_update(update_class)
            update.plan = plan
            update.vals = vals
            return update
        _plan_slot, _vals_slot, _slots_class = plan_slot, vals_slot, update_class
    update = kvstore_new_with_slot(update_class, _plan_slot, plan)
    kvstore_set_slot(_vals_slot, update, vals)
    return update


cdef inline bint _usual_key_value(object value, object key_type, Py_ssize_t short) except -1:
    t = type(value)
    if t is str:
        return key_type == "S" and 0 < len(<str>value) <= short
    return t is Decimal and key_type == "N"


cdef object _storage_key(object hash_value, object range_value=None):
    """``_ckeys.storage_key`` without a Python call."""
    try:
        return _prefixed(hash_value, range_value, False, None)
    except Exception:
        return _ref.storage_key(hash_value, range_value)


cdef object _item_key(dict item, object schema, Py_ssize_t short):
    cdef PyObject* p
    p = kvstore_dict_get(item, schema.hash_name)
    if p == NULL or not _usual_key_value(<object>p, schema.hash_type, short):
        return None
    h = <object>p
    range_name = schema.range_name
    if range_name is None:
        return _storage_key(h)
    p = kvstore_dict_get(item, range_name)
    if p == NULL or not _usual_key_value(<object>p, schema.range_type, short):
        return None
    return _storage_key(h, <object>p)


def index_keys_usual(table, item, max_chars):
    """Whether every index key value of ``item`` is an S of at most ``max_chars`` characters or an N
    (see ``kvstore._pycore``)."""
    if type(item) is not dict or type(max_chars) is not int:
        return _ref.index_keys_usual(table, item, max_chars)
    return _usual_index_keys(table, <dict>item, max_chars)


cdef inline bint _index_keys_usual(object table, dict item, tuple context) except -1:
    return _usual_index_keys(table, item, context[_SHORT_INDEX_KEY])


cdef bint _usual_index_keys(object table, dict item, Py_ssize_t max_chars) except -1:
    cdef PyObject* p
    if table._index_key_types is None:       # the indexes changed: rebuild table.index_key_checks
        table.index_key_types()
    for check in table.index_key_checks:
        p = kvstore_dict_get(item, (<tuple>check)[0])
        if p != NULL and not _usual_key_value(<object>p, (<tuple>check)[1], max_chars):
            return False
    return True


# ------------------------------------------------------------------ under the locks

def transact_images(parsed, targets, context):
    """The writes of a prepared transaction, or None (see ``kvstore._pycore``)."""
    return _transact_images_of(parsed, targets, context)


cdef object _transact_images_of(parsed, targets, context):
    if (type(parsed) is not list or type(targets) is not list or type(context) is not tuple
            or len(<tuple>context) != _CONTEXT_SIZE or len(<list>parsed) != len(<list>targets)):
        return _ref.transact_images(parsed, targets, context)
    try:
        return _transact_images(<list>parsed, <list>targets, <tuple>context)
    except Exception:
        return None


cdef object _transact_images(list parsed, list targets, tuple context):
    cdef PyObject* p
    cdef tuple entry, target
    cdef list writes = []
    cdef Py_ssize_t i
    cdef Py_ssize_t max_item_size = context[_MAX_ITEM_SIZE]
    cdef bint indexed = False
    table = rows = None
    program_condition = context[_PROGRAM_CONDITION]
    if _KeySchema is None:
        _load_slots(context[_UPDATE_CLASS], program_condition)
    for i in range(len(parsed)):
        entry = <tuple><object>PyList_GET_ITEM(parsed, i)
        target = <tuple><object>PyList_GET_ITEM(targets, i)
        kind = entry[0]
        condition = entry[2]
        row_key = target[1]
        if target[0] is not table:      # (the attributes of the previous action's table, read once)
            table = target[0]
            rows = table.rows
            if type(rows) is not dict:
                return _ref._transact_images(parsed, targets, context)
            indexed = bool(table.indexes)
        p = kvstore_dict_get(<dict>rows, row_key)
        old_packed = None if p == NULL else <object>p
        old = None
        if old_packed is not None and (condition is not None or kind == "Update" or indexed):
            old = _unpack_item(old_packed)
        if condition is not None:
            if type(condition) is program_condition:
                holds = _condition_holds(kvstore_slot(condition, _ConditionClass, _s_condition_program, "program"),
                                         old, kvstore_slot(condition, _ConditionClass, _s_condition_vals, "vals"))
            else:
                holds = condition.evaluate(old)
            if not holds:
                return None
        if kind == "ConditionCheck":
            continue
        if kind == "Put":
            new = (<dict>entry[1])["Item"]
            packed = entry[4]
        elif kind == "Delete":
            new = packed = None
        else:
            update = entry[3]
            if update is None:
                return None
            plan = kvstore_slot(update, _UpdateClass, _s_plan, "plan")
            if old is None:
                if kvstore_slot(plan, _UpdatePlan, _s_only_removes, "only_removes"):
                    new = None
                else:
                    new = _updated(plan, update, dict((<dict>entry[1])["Key"]), False)
            else:
                new = _updated(plan, update, old, True)
            packed = None
            if new is not None:
                packed = _pack_item(new)
                if len(<bytes>packed) * 4 > max_item_size:
                    return None
                if indexed:
                    if type(new) is not dict or not _index_keys_usual(table, <dict>new, context):
                        return None
        if packed is not None or old_packed is not None:
            if not (packed is not None and packed == old_packed):
                writes.append((table, row_key, old, new, packed))
    return writes


# ------------------------------------------------------------------ the whole of it

def transact_embedded(engine, kwargs, allow_floats, members, checks, context):
    """A ``Database.transact_write_items`` call committed and waited for (its response), else its
    converted request in a 1-tuple for the general path, or None (see ``kvstore._pycore``)."""
    request = _transact_request_of(engine, kwargs, allow_floats, members, checks)
    if request is None:
        return None
    lsn = _transact_commit_of(engine, request, context)
    if lsn is None:
        return (request,)
    _wait_usual(engine, lsn)
    return {"ResponseMetadata": {"HTTPStatusCode": 200, "RetryAttempts": 0}}


def transact_commit(engine, request, context):
    """The log position of a usual transaction committed, or None (see ``kvstore._pycore``)."""
    return _transact_commit_of(engine, request, context)


cdef object _transact_commit_of(engine, request, context):
    cdef list locks
    cdef Py_ssize_t i, taken = 0
    if engine.capacity is not None or engine.contention is not None:
        return None
    prepared = _usual_transaction_of(request, engine.tables, context)
    if prepared is None:
        return None
    parsed, targets, locks = <tuple>prepared
    try:
        for i in range(len(locks)):
            (<object>PyList_GET_ITEM(locks, i)).acquire()
            taken += 1
        writes = _transact_images_of(parsed, targets, context)
        if writes is None:
            return None
        return _commit_usual(engine, writes) if writes else 0
    finally:
        for i in range(taken - 1, -1, -1):
            (<object>PyList_GET_ITEM(locks, i)).release()


cdef inline object _updated(object plan, object update, object item, bint existed):
    program = kvstore_slot(plan, _UpdatePlan, _s_program, "program")
    if program is not None:
        return _apply_update(program, item, kvstore_slot(update, _UpdateClass, _s_vals, "vals"))
    return update.apply(item, existed)
