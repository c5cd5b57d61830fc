"""Malformed DynamoDB requests generated from botocore's service model.

``bad_request(rng, service, operation)`` builds a request body for one
operation from its input shape, member by member, and spoils some members on
the way: a value of the wrong JSON kind, an out-of-range or oversized scalar,
deep nesting, an unknown enum, an empty container.  Other members get plausible
values (the table ``t``, key names ``pk``/``sk``), so a request reaches the
checks deep inside an operation rather than stopping at the first one.
It returns the body and the member paths it spoiled.
"""

from decimal import Decimal

import botocore.session

_SESSION = botocore.session.get_session()
MODELS = {s: _SESSION.get_service_model(s) for s in ("dynamodb", "dynamodbstreams")}
TABLE = "ttt"

_PLAUSIBLE_STRINGS = {
    "TableName": [TABLE, TABLE, "missing", "x"], "IndexName": ["gsi", "lsi", "nope"],
    "AttributeName": ["pk", "sk", "a"], "KeyType": ["HASH", "RANGE"], "AttributeType": ["S", "N", "B"],
    "ProjectionType": ["ALL", "KEYS_ONLY", "INCLUDE"],
    "ConditionExpression": ["attribute_exists(pk)", "a = :v", "#n < :v", "(("],
    "UpdateExpression": ["SET a = :v", "ADD n :v", "REMOVE a", "SET a = a + :v", "SET"],
    "KeyConditionExpression": ["pk = :v", "pk = :v AND sk > :v", "#n = :v"],
    "FilterExpression": ["a = :v", "size(a) > :v"], "ProjectionExpression": ["a, #n", "pk", "a[0].b"],
}
_AV_SAMPLES = [
    {"S": "x"}, {"N": "1"}, {"N": "1e200"}, {"N": "9" * 39}, {"B": "AAAA"}, {"BOOL": True}, {"NULL": True},
    {"SS": ["a", "a"]}, {"NS": []}, {"L": [{"S": "x"}]}, {"M": {"k": {"N": "x"}}}, {"S": ""},
    {"S": 1}, {"N": []}, {}, {"S": "a", "N": "1"}, {"Q": "x"}, "x", 1, None, [],
]


def _wrong(rng, depth=0):
    """A JSON value of any kind, sometimes deeply nested or oversized."""
    r = rng.random()
    if r < 0.12:
        return rng.choice([True, False])
    if r < 0.24:
        return rng.choice([0, -1, 1, 2 ** 31, 2 ** 63, 10 ** 30, -(10 ** 20), 1.5, -0.0, 1e300])
    if r < 0.36:
        return rng.choice(["", "x", "HASH", "S", "ALL", "\u0000", "\udcff", "a" * 70000])
    if r < 0.48:
        return None
    if r < 0.6 and depth < 3:
        return [_wrong(rng, depth + 1) for _ in range(rng.randrange(3))]
    if r < 0.72 and depth < 3:
        return {rng.choice(["S", "N", "Delete", "Update", "x", ""]): _wrong(rng, depth + 1)
                for _ in range(rng.randrange(3))}
    if r < 0.8:
        nest = {"x": 1}
        for _ in range(rng.choice([10, 100, 400, 800])):
            nest = [nest] if rng.random() < 0.5 else {"a": nest}
        return nest
    return rng.choice(_AV_SAMPLES)


# Python values where an attribute value belongs (the embedded API and boto3's resource layer take these)
_NATIVE_SAMPLES = [
    "x", 1, Decimal("1.5"), Decimal("1e200"), b"\x00", True, None, {"a", "b"}, {1, 2}, [1, "x"], {"k": [1]}, "",
    1.5, object(), set(), [object()], {1: 2}, (1, 2), frozenset({b"x"}), 10 ** 40, float("nan"),
]


def _wrong_native(rng, depth=0):
    """A Python value of any type, for calls: what a caller might pass by mistake."""
    r = rng.random()
    if r < 0.5:
        return _wrong(rng, depth)
    return rng.choice([5, -1, 2.5, "x", "", None, True, [], (), {}, {"x": 1}, [1, "a"], ("a",), {5: "x"},
                       b"x", bytearray(b"x"), {1, 2}, object(), Decimal("1"), 10 ** 30, [{"x": None}]])


def _valid(rng, shape, name, path, spoil, spoiled, depth, native=False):
    if rng.random() < spoil:
        spoiled.add(path)
        return _wrong_native(rng) if native else _wrong(rng)
    kind = shape.type_name
    if shape.name == "AttributeValue":
        if native:
            return rng.choice(_NATIVE_SAMPLES[:12]) if rng.random() < 0.8 else rng.choice(_NATIVE_SAMPLES)
        return rng.choice(_AV_SAMPLES[:12]) if rng.random() < 0.8 else rng.choice(_AV_SAMPLES)
    if kind == "structure":
        out = {}
        if depth > 6:
            return out
        for member, sub in shape.members.items():
            if member in shape.required_members or rng.random() < 0.35:
                out[member] = _valid(rng, sub, member, f"{path}.{member}", spoil, spoiled, depth + 1, native)
        return out
    if kind == "list":
        if depth > 6:
            return []
        return [_valid(rng, shape.member, name, f"{path}[]", spoil, spoiled, depth + 1, native)
                for _ in range(rng.choice([0, 1, 1, 2, 3]))]
    if kind == "map":
        if depth > 6:
            return {}
        keys = ["pk", "sk", ":v", "#n", "a", TABLE]
        return {rng.choice(keys): _valid(rng, shape.value, name, f"{path}.*", spoil, spoiled, depth + 1, native)
                for _ in range(rng.choice([0, 1, 1, 2]))}
    if kind == "string":
        if shape.enum and rng.random() < 0.85:
            return rng.choice(shape.enum)
        if name in _PLAUSIBLE_STRINGS and rng.random() < 0.8:
            return rng.choice(_PLAUSIBLE_STRINGS[name])
        return rng.choice(["x", "", "a" * 300, "arn:aws:dynamodb:us-east-1:000000000000:table/t"])
    if kind in ("integer", "long"):
        return rng.choice([1, 0, -1, 5, 10 ** 12, 2 ** 40])
    if kind == "double":
        return rng.choice([0.5, 70.0, -1.0, 1e308])
    if kind == "boolean":
        return rng.choice([True, False])
    if kind == "timestamp":
        return rng.choice([0, 1.7e9, -1, 1e12])
    if kind == "blob":
        return rng.choice(["AAAA", "not base64!", ""])
    return None


def bad_request(rng, service, operation, spoil=0.15, native=False):
    """``(body, spoiled member paths)`` of a malformed request for ``operation``.

    ``native``: the keyword arguments of a call instead (Python values where
    attribute values belong, Python objects of any type as spoilt values), for
    the embedded API and boto3's resource client.
    """
    shape = MODELS[service].operation_model(operation).input_shape
    spoiled = set()
    body = _valid(rng, shape, operation, operation, 0.0, spoiled, 0, native) if shape is not None else {}
    if shape is not None:
        for member, sub in shape.members.items():
            if rng.random() < 0.5:
                body[member] = _valid(rng, sub, member, f"{operation}.{member}", spoil, spoiled, 1, native)
    if not spoiled and shape is not None and shape.members:
        member = rng.choice(list(shape.members))
        body[member] = _wrong_native(rng) if native else _wrong(rng)
        spoiled.add(f"{operation}.{member}")
    if native and rng.random() < 0.1:
        body[rng.choice(["Foo", "tablename", "Key ", "Itemz"])] = 1            # an unknown member
        spoiled.add(f"{operation}.<unknown>")
    return body, spoiled
