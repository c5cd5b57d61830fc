"""boto3's client-side parameter check, for the embedded API: ``ParamValidationError``.

boto3 checks every call against botocore's service model before sending it:
a value of the wrong Python type at any member (``Key=5``, ``Item=[...]``,
``ProvisionedThroughput={"ReadCapacityUnits": "x"}``) or an unknown member is
``botocore.exceptions.ParamValidationError``, whose message lists every
problem it found (missing required members and values under a minimum
included).  The embedded API (``kvstore.open(...)``: Table, resource and
client methods) raises the same error with the same message for the same
calls, so code moved between boto3 and kvstore sees one behaviour, and a
malformed call never reaches an operation to fail there with a TypeError.

Only a wrong type or an unknown member raises here (and, once there is none,
a lone surrogate in a string that is not an attribute value: the
ValidationException the wire face answers, see ``kvstore.types.LONE_SURROGATE``).  A call whose only
problems are missing members or values under a minimum goes on to the
operation, which answers DynamoDB's own ValidationException (what a client
that does not validate, or boto3 with ``parameter_validation=False``, gets);
the tests of DynamoDB's validation rely on that.  A ``bool`` where a number
belongs passes boto3 (``bool`` is an ``int``) and DynamoDB refuses it as JSON
``true``: that is the SerializationException the wire face answers.

The error is ``kvstore.errors.ParamValidationError``; when botocore is
installed, the raised class also derives from
``botocore.exceptions.ParamValidationError`` so ``except`` clauses written for
boto3 catch it.  botocore is not needed: the shapes come from
``kvstore/_request_shapes.py`` (generated from its model, shared with the wire face).  Attribute
values were converted from Python before (``kvstore.types.from_python``, which
raises boto3's TypeError for an unsupported type), so they are not walked.

Cost: one pass over the members given (attribute values skipped, an item's
attribute names looked at once); the full report is built only on failure.
"""

import datetime
import decimal
from collections.abc import MutableSequence

from kvstore import errors
from kvstore._core import shape_ok
from kvstore._request_shapes import KEY_MINIMUM, MINIMUM, OPERATIONS, REQUIRED, SHAPES
from kvstore.types import holds_lone_surrogate, lone_surrogate_error

__all__ = ["check", "converted_sequence", "raw_value_errors", "ParamValidationError"]

ParamValidationError = errors.ParamValidationError

# botocore's ParamValidator: the Python types each kind accepts (isinstance), as it names them
_TYPES = {
    "structure": (dict,), "map": (dict,), "list": (list, tuple),
    "string": (str,), "integer": (int,), "long": (int,), "boolean": (bool,),
    "double": (float, decimal.Decimal, int), "float": (float, decimal.Decimal, int),
    "blob": (bytes, bytearray, str), "timestamp": (datetime.datetime, datetime.date, str, int, float),
}
_NAMES = {kind: ", ".join(str(t) for t in types) for kind, types in _TYPES.items()}
_NAMES["blob"] = f"{bytes}, {bytearray}, file-like object"
_NAMES["timestamp"] = f"{datetime.datetime}, timestamp-string"
_NUMBERS = ("integer", "long", "double", "float")


# boto3 converts Python values only inside a list (a MutableSequence): in a tuple where the model has a
# list of attribute values (AttributeValueList, PartiQL Parameters) or of keys (BatchGetItem's Keys) they
# stay as they are, so botocore checks them as DynamoDB JSON, the AttributeValue structure below
_RAW_SHAPES = {
    "_RawValue": ("structure", {"S": "_RawText", "N": "_RawText", "B": "_RawBlob", "SS": "_RawTexts",
                                "NS": "_RawTexts", "BS": "_RawBlobs", "M": "_RawMap", "L": "_RawList",
                                "NULL": "_RawFlag", "BOOL": "_RawFlag"}),
    "_RawText": "string", "_RawBlob": "blob", "_RawFlag": "boolean", "_RawTexts": ("list", "_RawText"),
    "_RawBlobs": ("list", "_RawBlob"), "_RawMap": ("map", "_RawValue"), "_RawList": ("list", "_RawValue"),
    "_RawKey": ("map", "_RawValue"),
}
_SHAPES = {**SHAPES, **_RAW_SHAPES}


def converted_sequence(value):
    """Whether boto3 converts the Python values in ``value`` where the model has a list: in a list
    (any MutableSequence), not in a tuple."""
    return value.__class__ is list or (value.__class__ is not tuple and isinstance(value, MutableSequence))


def raw_value_errors(value, key=False):
    """What botocore reports for ``value`` as a DynamoDB JSON attribute value (``key``: as a key, a map
    of them), wrong types and unknown members: an empty list when it would pass."""
    found = []
    _walk(value, "_RawKey" if key else "_RawValue", "", found, False)
    return found


def _kind(name):
    shape = SHAPES[name]
    if shape == "AV":
        return "AV"
    return shape if isinstance(shape, str) else shape[0]


def _timestamp(value):
    """Whether botocore takes ``value`` as a timestamp (a datetime, epoch seconds, or a date string)."""
    if isinstance(value, datetime.datetime):
        return True
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            try:
                datetime.datetime.fromisoformat(value)
                return True
            except ValueError:
                import email.utils
                try:
                    return email.utils.parsedate_to_datetime(value) is not None
                except (TypeError, ValueError, IndexError):
                    return False
    if not isinstance(value, (int, float, decimal.Decimal)):
        return False
    try:
        datetime.datetime.fromtimestamp(float(value), datetime.timezone.utc)
        return True
    except (OverflowError, ValueError, OSError):
        return False


def _names(value, path, errors_, depth=0):
    """Attribute names that are not strings inside a Python attribute value, named as boto3 reports
    them once its serializer made the value DynamoDB JSON (``Item.a.M (key: 1)``, ``Item.a.L[0].M ...``)."""
    if depth > 64:
        return
    if isinstance(value, dict):
        path += ".M"
        for key, inner in value.items():
            if type(key) is not str:
                errors_.append(("type", f"{path} (key: {key})", key, "string"))
            _names(inner, f"{path}.{key}", errors_, depth + 1)
    elif isinstance(value, (list, tuple)):
        for i, inner in enumerate(value):
            _names(inner, f"{path}.L[{i}]", errors_, depth + 1)


def _walk(value, name, path, errors_, full, names=False):
    """Append botocore's errors for ``value`` of shape ``name`` at ``path`` (``full``: all of them, in
    botocore's order; else only wrong types and unknown members; ``names``: look inside attribute
    values for attribute names that are not strings)."""
    shape = _SHAPES[name]
    if shape == "AV":
        if names:
            _names(value, path, errors_)
        return
    kind = shape if isinstance(shape, str) else shape[0]
    if kind == "timestamp":
        if not _timestamp(value):
            errors_.append(("type", path, value, kind))
        return
    if not isinstance(value, _TYPES[kind]) and not (kind == "blob" and hasattr(value, "read")):
        errors_.append(("type", path, value, kind))
        return
    if kind == "structure":
        members = shape[1]
        if full:
            for member in REQUIRED.get(name, ()):
                if member not in value:
                    errors_.append(("missing", path, member, None))
        for member in value:
            if member not in members:
                errors_.append(("unknown", path, member, list(members)))
        for member, inner in value.items():
            sub = members.get(member)
            if sub is not None:
                _walk(inner, sub, f"{path}.{member}", errors_, full, names)
        return
    if kind == "string":
        if not value.isascii() and holds_lone_surrogate(value):
            errors_.append(("text", path, value, None))
        if not full:
            return
    if kind in _NUMBERS and type(value) is bool and not full:
        errors_.append(("bool", path, value, kind))
        return
    if full and name in MINIMUM:
        if kind in ("string", "list", "blob"):
            if len(value) < MINIMUM[name]:
                errors_.append(("length", path, len(value), MINIMUM[name]))
        elif kind in _NUMBERS and value < MINIMUM[name]:
            errors_.append(("range", path, value, MINIMUM[name]))
    if kind == "list":
        sub = shape[1]
        if not converted_sequence(value):      # a tuple: its values were not converted (see _RAW_SHAPES)
            if _SHAPES[sub] == "AV":
                sub = "_RawValue"
            elif _SHAPES[sub] == ("map", "AttributeValue"):       # BatchGetItem's Keys
                sub = "_RawKey"
        if _SHAPES[sub] != "AV" or names:
            for i, inner in enumerate(value):
                _walk(inner, sub, f"{path}[{i}]", errors_, full, names)
    elif kind == "map":
        sub = shape[1]
        walk_values = _SHAPES[sub] != "AV" or names
        key_minimum = KEY_MINIMUM.get(name, 0) if full else 0
        for key, inner in value.items():
            if type(key) is not str:
                errors_.append(("type", f"{path} (key: {key})", key, "string"))
            elif not key.isascii() and holds_lone_surrogate(key):
                errors_.append(("text", f"{path} (key)", key, None))
            elif len(key) < key_minimum:
                errors_.append(("length", f"{path} (key: {key})", len(key), key_minimum))
            if walk_values:
                _walk(inner, sub, f"{path}.{key}", errors_, full, names)


def _line(error):
    reason, path, value, extra = error
    path = path[1:] if path.startswith(".") else (path or "input")
    if reason == "type":
        return f"Invalid type for parameter {path}, value: {value}, type: {type(value)}, valid types: {_NAMES[extra]}"
    if reason == "missing":
        return f'Missing required parameter in {path}: "{value}"'
    if reason == "unknown":
        return f'Unknown parameter in {path}: "{value}", must be one of: {", ".join(extra)}'
    if reason == "length":
        return f"Invalid length for parameter {path}, value: {value}, valid min length: {extra}"
    return f"Invalid value for parameter {path}, value: {value}, valid min value: {extra}"


_FAST = {}      # shape name -> {member: (exact types, kind, member shape)} for members checked without a walk

# kinds of a member checked at a glance (``kvstore._core.shape_ok`` reads them)
LEAF, TEXT, NAMES, STRUCTURE, STRUCTURES, STRUCTURE_LISTS = 0, 1, 2, 3, 4, 5


def _fast_table(name):
    """The members of structure ``name`` checked at a glance: leaves of an exact type (TEXT: a string,
    LEAF: a boolean or an integer), items and keys (NAMES: attribute names only), and structures
    (STRUCTURE) or lists of structures (STRUCTURES) made of such members."""
    table = _FAST.get(name)
    if table is not None:
        return table
    table = _FAST[name] = {}             # (a structure that holds itself finds this one)
    for member, sub in SHAPES[name][1].items():
        shape = SHAPES[sub]
        if isinstance(shape, str):
            if shape == "string":
                table[member] = ((str,), TEXT, None)
            elif shape in ("boolean", "integer", "long"):
                table[member] = (_TYPES[shape], LEAF, None)
        elif shape[0] == "map" and SHAPES[shape[1]] == "AV" and sub not in KEY_MINIMUM:
            table[member] = ((dict,), NAMES, None)                # an item or key: attribute names only
        elif shape[0] == "structure":
            table[member] = ((dict,), STRUCTURE, sub)
        elif shape[0] == "list" and not isinstance(SHAPES[shape[1]], str) and SHAPES[shape[1]][0] == "structure":
            table[member] = ((list, tuple), STRUCTURES, shape[1])   # e.g. TransactItems
        elif shape[0] == "map" and _list_of_structures(shape[1]) is not None:
            table[member] = ((dict,), STRUCTURE_LISTS, _list_of_structures(shape[1]))  # BatchWriteItem's RequestItems
    return table


def _list_of_structures(name):
    """The structure of the elements of list shape ``name``, or None when it is no list of structures."""
    shape = SHAPES[name]
    if isinstance(shape, str) or shape[0] != "list":
        return None
    element = SHAPES[shape[1]]
    return shape[1] if not isinstance(element, str) and element[0] == "structure" else None


#: a map of attribute names to strings (ExpressionAttributeNames), a kind ``transaction_checks`` adds
NAME_MAP = 6


def transaction_checks():
    """What ``kvstore._core.transact_request`` holds a TransactWriteItems call to, from the model:
    ``(the request's string members, {kind of action: {member: TEXT, NAMES or NAME_MAP}})``.

    A call that passes it has nothing for :func:`check` to report: every member known, of its
    exact type (so of botocore's type), every string and every map key ASCII (so no lone surrogate),
    and no number member (so no ``bool`` to refuse); attribute values are not looked at, as the walk
    does not look at them.  A member of another kind (none in today's model) fails it."""
    input_members = SHAPES[OPERATIONS["TransactWriteItems"]][1]
    texts = frozenset(m for m, sub in input_members.items() if SHAPES[sub] == "string")
    kinds = {}
    for kind, structure in SHAPES[SHAPES[input_members["TransactItems"]][1]][1].items():
        members = kinds[kind] = {}
        for member, sub in SHAPES[structure][1].items():
            shape = SHAPES[sub]
            if shape == "string":
                members[member] = TEXT
            elif shape[0] == "map" and SHAPES[shape[1]] == "AV" and sub not in KEY_MINIMUM:
                members[member] = NAMES
            elif shape[0] == "map" and SHAPES[shape[1]] == "string" and sub not in KEY_MINIMUM:
                members[member] = NAME_MAP
    return texts, kinds


def _fast_ok(shape, request):
    """True when every member is of a kind checked at a glance and of its exact type (the common call:
    ``TableName`` and ``Item`` / ``Key``, a transaction's actions made of those); anything else takes
    the walk, which then finds what to report.  (Values under a minimum alone raise nothing here:
    DynamoDB's checks answer.)  Compiled: ``kvstore._core.shape_ok``."""
    return shape_ok(_FAST, _fast_table, shape, request)


def check(action, request, attribute_names=False):
    """Raise boto3's ParamValidationError for a wrong type or unknown member anywhere in ``request``.

    ``request`` is the call's keyword arguments after attribute values were
    converted (``Database.native_request``), or before when their conversion
    failed; ``attribute_names`` then also looks inside the Python attribute
    values for names that are not strings (``{"m": {1: 2}}``), which boto3
    reports once its serializer has made them DynamoDB JSON.  Unknown actions
    are left to the operation registry (UnknownOperationException).
    """
    root = OPERATIONS.get(action)
    if root is None:
        return
    if not attribute_names and _fast_ok(root, request):
        return
    found = []
    _walk(request, root, "", found, False, attribute_names)
    if not found:
        return
    if any(e[0] not in ("bool", "text") for e in found):
        report = []
        _walk(request, root, "", report, True, attribute_names)
        raise errors.param_validation_error("\n".join(_line(e) for e in report if e[0] != "text"))
    bools = [e for e in found if e[0] == "bool"]
    if bools:                                 # DynamoDB's SerializationException before its validation
        from kvstore.server.shapes import mismatch
        raise mismatch(bools[0][2], bools[0][3])
    raise lone_surrogate_error()              # as the wire face answers (docs/compatibility.md)
