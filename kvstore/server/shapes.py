"""The JSON shape check of every request member, at any depth (DynamoDB's deserializer).

DynamoDB's front end reads a request body into typed Java objects before any
validation: a value of the wrong JSON kind anywhere (a list where a number
belongs, a string where a structure belongs, ``{"Delete": "x"}`` in
``GlobalSecondaryIndexUpdates``) is a ``SerializationException``, never a
constraint error and never a crash further in.  ``wire.check_shape`` checks the
top-level members; this module checks what sits below them, driven by the
request shapes of the botocore service model.

botocore is not a dependency of the server, so the shapes it needs are
generated from the model into ``kvstore/_request_shapes.py`` (shared with the embedded API's
parameter check, ``kvstore.params``; ``python -m
kvstore.server.shapes`` rewrites it; ``tests/wire/test_malformed_requests.py``
checks it is current).  Attribute values (``AttributeValue`` and maps and
lists of them) are left to ``kvstore.types.from_wire``, which checks them as it
converts them, so a request costs nothing here unless it carries a member with
non-attribute-value structure inside (checked members are found per operation
once: GetItem with a ``Key`` walks nothing).

Cost: one pass over the checked members, linear in their size.
"""

import math

from kvstore.errors import SerializationException, ValidationException
from kvstore._request_shapes import OPERATIONS as _INPUTS, SHAPES as _SHAPES

__all__ = ["check_nested", "deep_members"]

_SCALARS = {"string": (str,), "blob": (str,), "boolean": (bool,), "integer": (int, float),
            "long": (int, float), "double": (int, float), "timestamp": (int, float)}
_TARGETS = {"string": "String", "blob": "String", "boolean": "Boolean", "integer": "Integer",
            "long": "Long", "double": "Double", "timestamp": "Date"}


def _java_number_class(v):
    if isinstance(v, float):
        return "java.lang.Double"
    if -32768 <= v <= 32767:
        return "java.lang.Short"
    if -2147483648 <= v <= 2147483647:
        return "java.lang.Integer"
    return "java.lang.Long"


def mismatch(v, kind):
    """The SerializationException DynamoDB's (Java) deserializer gives for ``v`` where ``kind`` belongs."""
    if type(v) is list:
        return SerializationException("Start of list found where not expected")
    if type(v) is dict:
        return SerializationException("Start of structure or map found where not expected.")
    if kind == "list":
        return SerializationException("Expected list or null")
    if kind == "map":
        return SerializationException("Expected map or null")
    if kind == "structure":
        return SerializationException("Expected null")
    if type(v) is bool:
        java = "java.lang.Boolean"
    elif type(v) is str:
        if kind == "boolean":
            return SerializationException(f"'{v.upper()}' can not be converted to an Boolean")
        java = "java.lang.String"
    else:
        java = _java_number_class(v)
    return SerializationException(f"class {java} can not be converted to an {_TARGETS[kind]}")


def _needs_walk(name, seen=None):
    """Whether a value of shape ``name`` may hold something other than attribute values and is nested."""
    shape = _SHAPES[name]
    if shape == "AV" or isinstance(shape, str):
        return False
    seen = seen or set()
    if name in seen:
        return False
    seen.add(name)
    kind = shape[0]
    if kind == "list" or kind == "map":
        inner = _SHAPES[shape[1]]
        if inner == "AV":
            return False
        return True
    return True                                         # a structure


def deep_members(action):
    """``{member: shape name}`` of the top-level members of ``action`` whose insides need checking."""
    root = _INPUTS.get(action)
    if root is None:
        return {}
    members = _SHAPES[root][1]
    return {m: s for m, s in members.items() if _needs_walk(s)}


def _check(value, name, depth):
    shape = _SHAPES[name]
    if shape == "AV":
        return value                                    # from_wire checks attribute values
    if isinstance(shape, str):
        if type(value) not in _SCALARS[shape]:
            raise mismatch(value, shape)
        if type(value) is float and shape in ("integer", "long"):
            if not math.isfinite(value):
                raise SerializationException()
            return int(value)                           # Java's deserializer truncates
        if type(value) is float and not math.isfinite(value):
            raise SerializationException()
        return value
    if depth > 64:                                       # deeper than any shape of the model nests
        raise SerializationException()
    kind = shape[0]
    if kind == "structure":
        if type(value) is not dict:
            raise mismatch(value, "structure")
        members = shape[1]
        absent = None
        for member, inner in value.items():
            sub = members.get(member)
            if inner is None:
                absent = (absent or []) + [member]
            elif sub is not None:                       # unknown members are ignored, as DynamoDB does
                try:
                    checked = _check(inner, sub, depth + 1)
                except _NullMember as e:
                    e.parts.append(_lower_camel(member))
                    raise
                if checked is not inner:
                    value[member] = checked
        if absent:
            for member in absent:
                del value[member]
        return value
    if kind == "list":
        if type(value) is not list:
            raise mismatch(value, "list")
        sub = shape[1]
        for i, inner in enumerate(value):
            if inner is not None:
                try:
                    checked = _check(inner, sub, depth + 1)
                except _NullMember as e:
                    e.parts += ["member", str(i + 1)]
                    raise
                if checked is not inner:
                    value[i] = checked
            elif type(_SHAPES[sub]) is tuple and _SHAPES[sub][0] == "structure":
                raise _NullMember(["member", str(i + 1)])
        return value
    if type(value) is not dict:                         # a map
        raise mismatch(value, "map")
    sub = shape[1]
    for key, inner in value.items():
        if inner is not None:
            try:
                checked = _check(inner, sub, depth + 1)
            except _NullMember as e:
                e.parts.append(key)
                raise
            if checked is not inner:
                value[key] = checked
    return value


class _NullMember(Exception):
    """A ``null`` element of a list of structures; carries the member path (innermost first)."""

    def __init__(self, parts):
        super().__init__()
        self.parts = parts


def _lower_camel(name):
    return name[:1].lower() + name[1:]


_DEEP = {}


def check_nested(action, body):
    """Check (in place) the insides of ``body``'s members of ``action``.

    A value of the wrong JSON kind is a SerializationException; a ``null``
    element of a list of structures is the constraint error DynamoDB's
    validator gives (``Value null at 'keySchema.1.member' ... must not be null``).
    """
    deep = _DEEP.get(action)
    if deep is None:
        deep = _DEEP[action] = tuple(deep_members(action).items())
    for member, name in deep:
        if member in body:
            value = body[member]
            if value is not None:
                try:
                    body[member] = _check(value, name, 0)
                except _NullMember as e:
                    path = ".".join([_lower_camel(member)] + e.parts[::-1])
                    raise ValidationException(
                        f"1 validation error detected: Value null at '{path}' failed to satisfy constraint: "
                        "Member must not be null") from None
    return body


# ------------------------------------------------------------------ generation from botocore

def generate():
    """The text of ``_request_shapes.py`` from botocore's DynamoDB and DynamoDB Streams models."""
    import pprint

    import botocore.session

    session = botocore.session.get_session()
    shapes, operations, required, minimum, key_minimum = {}, {}, {}, {}, {}

    def visit(shape):
        key = shape.name
        if key in shapes:
            return key
        if shape.metadata.get("required"):
            required[key] = tuple(shape.metadata["required"])
        if "min" in shape.metadata and shape.type_name != "structure":
            minimum[key] = shape.metadata["min"]
        if key == "AttributeValue":
            shapes[key] = "AV"
            return key
        kind = shape.type_name
        if kind == "structure":
            shapes[key] = None                          # recursion guard
            shapes[key] = ("structure", {m: visit(s) for m, s in shape.members.items()})
        elif kind == "list":
            shapes[key] = None
            shapes[key] = ("list", visit(shape.member))
        elif kind == "map":
            shapes[key] = None
            shapes[key] = ("map", visit(shape.value))
            if "min" in shape.key.metadata:
                key_minimum[key] = shape.key.metadata["min"]
        else:
            shapes[key] = kind
        return key

    def dated(shape, seen=()):
        """Where ``shape`` holds timestamps: True for a timestamp, else a tree of members (``*``: a map's values)."""
        kind = shape.type_name
        if kind == "timestamp":
            return True
        if shape.name in seen:
            return None
        seen = seen + (shape.name,)
        if kind == "list":
            return dated(shape.member, seen)
        if kind == "map":
            inner = dated(shape.value, seen)
            return None if inner is None else {"*": inner}
        if kind == "structure":
            tree = {m: t for m, s in shape.members.items() if (t := dated(s, seen)) is not None}
            return tree or None
        return None

    timestamps = {}
    for service in ("dynamodb", "dynamodbstreams"):
        model = session.get_service_model(service)
        for op in model.operation_names:
            shape = model.operation_model(op).input_shape
            if shape is not None:
                operations[op] = visit(shape)
            output = model.operation_model(op).output_shape
            if output is not None and (tree := dated(output)) is not None:
                timestamps[op] = tree
    return ('"""Request shapes of DynamoDB and DynamoDB Streams (generated by ``python -m kvstore.server.shapes``'
            ' from botocore\'s service models; do not edit)."""\n\n'
            f"OPERATIONS = {pprint.pformat(operations, width=110)}\n\n"
            "# members in the model's order (botocore reports unknown members against it)\n"
            f"SHAPES = {pprint.pformat(shapes, width=110, sort_dicts=False)}\n\n"
            "# botocore's client-side checks beside the kinds (kvstore.params): a structure's required members,\n"
            "# a string's or list's minimum length and a number's minimum value\n"
            f"REQUIRED = {pprint.pformat(required, width=110)}\n\n"
            f"MINIMUM = {pprint.pformat(minimum, width=110)}\n\n"
            "# a map's minimum key length\n"
            f"KEY_MINIMUM = {pprint.pformat(key_minimum, width=110)}\n\n"
            "# where each response holds timestamps (the embedded API returns them as datetimes, as botocore\n"
            "# parses them): True marks a timestamp, a dict the members below (lists are walked through,\n"
            "# ``*`` stands for every value of a map)\n"
            f"RESPONSE_TIMESTAMPS = {pprint.pformat(timestamps, width=110)}\n")


if __name__ == "__main__":          # pragma: no cover - regenerates the table
    import pathlib
    pathlib.Path(__file__).parent.parent.joinpath("_request_shapes.py").write_text(generate())
