"""Malformed DynamoDB requests generated from botocore's service model.

``bad_request(rng, service, operation)`` builds a request body for one
operation from its input shape, member by member, and spoils some members on
the way: a value of the wrong JSON kind, an out-of-range or oversized scalar,
deep nesting, an unknown enum, an empty container.  Other members get plausible
values (the table ``t``, key names ``pk``/``sk``), so a request reaches the
checks deep inside an operation rather than stopping at the first one.
It returns the body and the member paths it spoiled.

Besides types it spoils the CONTENT of strings (``_spoil_text``: a lone
surrogate, NUL, a very long string, a valid surrogate pair), of attribute
values (numbers at and past the 38 digits and the exponent limits, strings and
names that are not text, maps and lists nested around the 32-level limit), and
(``bad_bytes``) of the raw body: bytes that are not UTF-8, a byte-order mark,
a cut body.  A content spoil is counted as ``<path>~text`` (``~N``, ``~bytes``).
Every choice comes from the ``random.Random`` given: a seed reproduces a run.
"""

import json
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

# Numbers at and past DynamoDB's limits (38 significant digits, magnitude 1e-130 .. 9.99...e125) and
# text that is not a number in DynamoDB's grammar although Python's Decimal may read it
_NUMBER_TEXTS = [
    "9" * 38, "9" * 39, "1" + "0" * 37, "1" + "0" * 38, "0." + "0" * 129 + "1", "0." + "0" * 130 + "1",
    "9.9999999999999999999999999999999999999E+125", "1E+126", "1E-130", "1E-131", "-1E-130", "-9.99e125",
    "1e2147483647", "1e-2147483648", "1e99999999999999999999", "-0", "0e5", "00012", "1.", ".5", "+1", " 1",
    "1 ", "1e", "1e+", "0x10", "1_000", "Infinity", "-Infinity", "NaN", "sNaN", "\u0663", "1\u0000", "",
    "12345678901234567890123456789012345678.5", "0.000000000000000000000000000000000000001",
    "1" * 2000,
]


def _nested_av(rng, levels):
    """An attribute value ``levels`` maps or lists deep (DynamoDB's limit: 32 levels)."""
    value = {"S": "x"}
    for _ in range(levels):
        value = {"M": {"a": value}} if rng.random() < 0.5 else {"L": [value]}
    return value


def _text(rng):
    """A string whose content is spoiled (or, once in a while, only unusual)."""
    r = rng.random()
    if r < 0.3:
        return rng.choice(["\udcff", "\ud800", "\udfff", "\udbff"])            # a lone surrogate
    if r < 0.45:
        return "\x00"
    if r < 0.55:
        return rng.choice(["\ud83d\ude00", "\U0001F600", "\u00e9", "\u200b", "\ufeff", "\uffff"])
    if r < 0.65:
        return rng.choice(["\t", "\n", "\r\n", "\x7f", "\\", "\"", "'", "`", "$", "#", ":", "."])
    return None                                                                     # a length spoil


def _spoil_text(rng, text):
    """``text`` with its content spoiled: a character inserted, or the string made very long."""
    extra = _text(rng)
    if extra is None:              # past the name, key and item limits; the body stays under 16 MB
        n = rng.choice([256, 1025, 2049, 65536, 65537, 400_001])
        text = text or "a"
        return (text * (n // len(text) + 1))[:n]
    at = rng.randrange(len(text) + 1) if text else 0
    return text[:at] + extra + text[at:]


def _av_content(rng):
    """An attribute value whose content is spoiled (``None``: no content spoil drawn)."""
    r = rng.random()
    if r < 0.35:
        return {"N": rng.choice(_NUMBER_TEXTS)}
    if r < 0.45:
        return {"NS": [rng.choice(_NUMBER_TEXTS) for _ in range(rng.randrange(1, 3))]}
    if r < 0.6:
        return {"S": _spoil_text(rng, rng.choice(["x", "", "abc"]))}
    if r < 0.67:
        return {"SS": ["a", _spoil_text(rng, "b")]}
    if r < 0.74:
        return {"M": {_spoil_text(rng, "k"): {"S": "v"}}}
    if r < 0.8:
        return {"B": rng.choice(["AAAA\udcff", "AA\x00A", "A" * 1000 + "=", "====", "AAA", "\u00e9"])}
    if r < 0.9:
        return _nested_av(rng, rng.choice([30, 31, 32, 33, 40, 200]))
    return {"L": [{"N": "1"}] * rng.choice([0, 100, 5000])}


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
    # spoil: the chance of a wrong value at each member, or (type chance, content chance)
    type_spoil, content_spoil = spoil if type(spoil) is tuple else (spoil, spoil)
    if rng.random() < type_spoil:
        spoiled.add(path)
        return _wrong_native(rng) if native else _wrong(rng)
    kind = shape.type_name
    if shape.name == "AttributeValue":
        if native:
            return rng.choice(_NATIVE_SAMPLES[:12]) if rng.random() < 0.8 else rng.choice(_NATIVE_SAMPLES)
        if rng.random() < content_spoil * 0.5:
            spoiled.add(path + "~N")
            return _av_content(rng)
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
        out = {}
        for _ in range(rng.choice([0, 1, 1, 2])):
            key = rng.choice(keys)
            if rng.random() < content_spoil * 0.3:
                spoiled.add(f"{path}.*~text")
                key = _spoil_text(rng, key)
            out[key] = _valid(rng, shape.value, name, f"{path}.*", spoil, spoiled, depth + 1, native)
        return out
    if kind == "string":
        if shape.enum and rng.random() < 0.85:
            text = rng.choice(shape.enum)
        elif name in _PLAUSIBLE_STRINGS and rng.random() < 0.8:
            text = rng.choice(_PLAUSIBLE_STRINGS[name])
        else:
            text = rng.choice(["x", "", "a" * 300, "arn:aws:dynamodb:us-east-1:000000000000:table/t"])
        if rng.random() < content_spoil * 0.5:
            spoiled.add(path + "~text")
            return _spoil_text(rng, text)
        return text
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
    if not native and rng.random() < 0.4:     # content only: every JSON kind right, so the checks behind them run
        spoil = (0.0, spoil * 2)
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


# Byte spoils of a body's JSON text: not UTF-8 (a stray continuation byte, an invalid lead, a
# surrogate or an overlong form encoded, a truncated sequence), a byte-order mark, NUL outside strings
_BAD_BYTES = [b"\xff", b"\x80", b"\xc3", b"\xe2\x82", b"\xed\xa0\x80", b"\xed\xbf\xbf", b"\xc0\xaf",
              b"\xf4\x90\x80\x80", b"\xf8\x88\x80\x80\x80", b"\xfe\xff"]


def bad_bytes(rng, body, spoil=0.08):
    """``(raw JSON bytes of body, spoiled)``: with probability ``spoil`` the bytes are spoiled too:
    a byte sequence that is not UTF-8 inside a string (or anywhere), a BOM, NUL, or a cut body."""
    raw = json.dumps(body).encode()
    if rng.random() >= spoil:
        return raw, set()
    r = rng.random()
    if r < 0.6:                      # inside a string: right after an opening quote
        quotes = [i for i, b in enumerate(raw[:4096]) if b == 0x22]
        at = rng.choice(quotes) + 1 if quotes else 1
        raw = raw[:at] + rng.choice(_BAD_BYTES) + raw[at:]
    elif r < 0.75:
        at = rng.randrange(len(raw) + 1)
        raw = raw[:at] + rng.choice(_BAD_BYTES + [b"\x00"]) + raw[at:]
    elif r < 0.85:
        raw = b"\xef\xbb\xbf" + raw
    else:
        raw = raw[:rng.randrange(len(raw))]
    return raw, {"<body>~bytes"}
