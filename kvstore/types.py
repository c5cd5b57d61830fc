"""Attribute values: the native model, its validation, and DynamoDB JSON.

Inside kvstore an item is a ``dict`` of native values, exactly as boto3's
resource layer hands them to users:

=========  =======================================================
DynamoDB   native value
=========  =======================================================
S          ``str``
N          ``decimal.Decimal`` built from the canonical plain string
B          :class:`Binary` (``.value`` holds the bytes)
BOOL       ``bool``
NULL       ``None``
M          ``dict`` of str -> value
L          ``list``
SS/NS/BS   ``set`` of str / Decimal / Binary (never empty)
=========  =======================================================

Conversion happens once at each edge: :func:`from_python` validates what a
Python caller passes, :func:`from_wire` / :func:`to_wire` translate DynamoDB JSON
for the HTTP face and the boto3 hook.  Numbers are canonicalised on the way in
(``1e3`` and ``1000.0`` are the same number, stored as ``1000``), so equality of
native values is DynamoDB's equality.
"""

import base64
import binascii
import re
from decimal import Decimal, InvalidOperation

from kvstore import limits
from kvstore.errors import SerializationException, ValidationException, invalid_parameter

__all__ = [
    "Binary", "canonical_number", "number", "type_of", "from_python", "from_wire", "to_wire",
    "item_from_wire", "item_to_wire", "item_size", "value_size", "TYPE_NAMES",
    "LONE_SURROGATE", "lone_surrogate_error", "holds_lone_surrogate",
]

TYPE_NAMES = ("S", "N", "B", "BOOL", "NULL", "M", "L", "SS", "NS", "BS")


class Binary:
    """Bytes of a B value, like ``boto3.dynamodb.types.Binary``.

    Compares equal to another Binary or to ``bytes`` with the same content and
    hashes like its bytes, so it can live in a binary set.
    """

    __slots__ = ("value",)

    def __init__(self, value):
        if isinstance(value, Binary):
            value = value.value
        elif isinstance(value, (bytearray, memoryview)):
            value = bytes(value)
        elif not isinstance(value, bytes):
            raise TypeError(f"Value must be of the following types: {Binary}, bytes, bytearray")
        self.value = value

    def __eq__(self, other):
        if isinstance(other, Binary):
            return self.value == other.value
        if isinstance(other, (bytes, bytearray)):
            return self.value == other
        return getattr(other, "value", None) == self.value if type(other).__name__ == "Binary" else NotImplemented

    def __ne__(self, other):
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    def __hash__(self):
        return hash(self.value)

    def __repr__(self):
        return f"Binary({self.value!r})"

    def __str__(self):
        return self.value.decode("latin-1")

    def __bytes__(self):
        return self.value

    def __len__(self):
        return len(self.value)


# ---------------------------------------------------------------- numbers

_NUMBER_RE = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\Z")


def canonical_number(text):
    """Validate a number string and return DynamoDB's canonical plain form.

    >>> canonical_number("1.50e2"), canonical_number("-0.0"), canonical_number("007")
    ('150', '0', '7')

    Raises ValidationException with DynamoDB's text for malformed numbers, more
    than 38 significant digits, overflow and underflow.
    """
    if not isinstance(text, str) or not _NUMBER_RE.match(text):
        if text == "":
            raise ValidationException("The parameter cannot be converted to a numeric value")
        raise ValidationException(f"The parameter cannot be converted to a numeric value: {text}")
    try:
        value = Decimal(text)
    except InvalidOperation:        # an exponent past Decimal's (and Java BigDecimal's 32-bit) range
        raise ValidationException(f"The parameter cannot be converted to a numeric value: {text}") from None
    return _canonical_decimal(value)


def _canonical_decimal(d):
    sign, digits, exponent = d.as_tuple()
    if not any(digits):
        return "0"
    digits = list(digits)
    while digits[0] == 0:
        digits.pop(0)
    while digits[-1] == 0:
        digits.pop()
        exponent += 1
    n = len(digits)
    adjusted = exponent + n - 1
    if adjusted > limits.MAX_NUMBER_EXPONENT:
        raise ValidationException(
            "Number overflow. Attempting to store a number with magnitude larger than supported range")
    if adjusted < limits.MIN_NUMBER_EXPONENT:
        raise ValidationException(
            "Number underflow. Attempting to store a number with magnitude smaller than supported range")
    if n > limits.MAX_NUMBER_DIGITS:
        raise ValidationException("Attempting to store more than 38 significant digits in a Number")
    return format(Decimal((sign, digits, exponent)), "f")


_INT_LIMIT = 10 ** limits.MAX_NUMBER_DIGITS
#: a plain decimal with no leading or trailing zeros: what canonical_number returns
_CANONICAL_RE = re.compile(r"(?:-?[1-9][0-9]*(?:\.[0-9]*[1-9])?|-?0\.[0-9]*[1-9]|0)\Z")


def number(value):
    """A canonical Decimal from an int, Decimal or number string (validated)."""
    if isinstance(value, str):
        return Decimal(canonical_number(value))
    if isinstance(value, int) and not isinstance(value, bool):
        if -_INT_LIMIT < value < _INT_LIMIT:   # at most 38 digits: Decimal(int) is already canonical
            return Decimal(value)
        return Decimal(_canonical_decimal(Decimal(value)))
    if isinstance(value, Decimal):
        text = str(value)
        if len(text) <= limits.MAX_NUMBER_DIGITS and _CANONICAL_RE.match(text):
            return value        # already canonical, at most 38 digits, so within range
        if not value.is_finite():
            raise TypeError("Infinity and NaN not supported")
        return Decimal(_canonical_decimal(value))
    raise TypeError(f"not a number: {value!r}")


_OVERFLOW = "Number overflow. Attempting to store a number with magnitude larger than supported range"


def decimal_result(value):
    """Check the result of exact arithmetic (SET a = a + :v, ADD) against N's limits.

    A result needing more than 38 significant digits is, in DynamoDB's words,
    a "Number overflow" (reference 1.3), not the "38 significant digits" text a
    stored literal gets.
    """
    try:
        return Decimal(_canonical_decimal(value))
    except ValidationException as e:
        if e.message.startswith("Attempting to store more than 38"):
            raise ValidationException(_OVERFLOW) from None
        raise


# ---------------------------------------------------------------- type tags

_SET_TAGS = {str: "SS", Decimal: "NS", Binary: "BS"}

def type_of(value):
    """The DynamoDB type tag of a native value (``"S"``, ``"N"``, ... ``"BS"``)."""
    t = type(value)
    if t is str:
        return "S"
    if t is Decimal:
        return "N"
    if t is bool:
        return "BOOL"
    if value is None:
        return "NULL"
    if t is dict:
        return "M"
    if t is list:
        return "L"
    if t is Binary:
        return "B"
    if t is set or t is frozenset:
        for member in value:
            return _SET_TAGS[type(member)]
        raise TypeError("empty set has no DynamoDB type")
    raise TypeError(f"not a native attribute value: {value!r}")


# ---------------------------------------------------------------- from Python

def same_value(a, b):
    """DynamoDB equality of two native values, strict about types: ``True`` is not the number 1
    (Python's ``==`` says it is), a list is not a set."""
    if type(a) is not type(b):
        return False
    if type(a) is dict:
        return a.keys() == b.keys() and all(same_value(v, b[k]) for k, v in a.items())
    if type(a) is list:
        return len(a) == len(b) and all(map(same_value, a, b))
    return a == b


def from_python(value, allow_floats=False, _depth=1):
    """Validate a value passed by a Python caller and return its native form.

    Mirrors boto3's TypeSerializer: ``bool`` before ``int``; ``int``/``Decimal``
    become canonical Decimals; ``bytes``/``bytearray``/``Binary`` become
    :class:`Binary`; tuples become lists; ``float`` raises TypeError unless
    ``allow_floats`` (then it converts through its shortest exact repr).
    """
    t = type(value)
    if t is str:
        return value if value.isascii() else _utf8_string(value)
    if t is bool or value is None:
        return value
    if t is int:
        if -_INT_LIMIT < value < _INT_LIMIT:
            return Decimal(value)
        return number(value)
    if t is Decimal:
        return number(value)
    if t is dict:
        _check_depth(_depth + 1)
        out = {}
        for k, v in value.items():
            if type(k) is not str:
                raise TypeError(f"Map keys must be strings, not {type(k).__name__}: {k!r}")
            if not k.isascii():
                _utf8_string(k)
            out[k] = from_python(v, allow_floats, _depth + 1)
        return out
    if t is list or t is tuple:
        _check_depth(_depth + 1)
        return [from_python(v, allow_floats, _depth + 1) for v in value]
    if t is set or t is frozenset:
        return _set_from_python(value, allow_floats)
    if t is Binary:
        return value
    if t is bytes or t is bytearray:
        return Binary(value)
    if t is float:
        if not allow_floats:
            raise TypeError("Float types are not supported. Use Decimal types instead.")
        if value != value or value in (float("inf"), float("-inf")):
            raise TypeError("Infinity and NaN not supported")
        return number(Decimal(repr(value)))
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return number(int(value))
    if isinstance(value, Decimal):
        return number(Decimal(value))
    if isinstance(value, str):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)) or (t.__name__ == "Binary" and hasattr(value, "value")):
        return Binary(bytes(value.value if hasattr(value, "value") else value))
    if isinstance(value, dict):
        return from_python(dict(value), allow_floats, _depth)
    if isinstance(value, (list, tuple)):
        return from_python(list(value), allow_floats, _depth)
    if isinstance(value, (set, frozenset)):
        return from_python(set(value), allow_floats, _depth)
    raise TypeError(f'Unsupported type "{t}" for value "{value}"')


#: kvstore's answer to a lone surrogate (``"\\udcff"`` in the JSON, or such a Python str) in any string of a
#: request; DynamoDB's own answer is not documented (docs/compatibility.md, "Lone surrogates")
LONE_SURROGATE = ("One or more parameter values were invalid: a string contains a lone surrogate and is not "
                  "valid UTF-8")


def lone_surrogate_error():
    return ValidationException(LONE_SURROGATE)


def _utf8_string(text):
    """``text`` if it is valid Unicode (no lone surrogates, which UTF-8 cannot carry)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise lone_surrogate_error() from None
    return text


def holds_lone_surrogate(value):
    """Whether any str inside ``value`` (dict keys included, at any depth) holds a lone surrogate.

    The one check every string of a request passes (table and index names,
    expressions, placeholders, tags, tokens ...: attribute values are checked as
    they are converted).  Iterative, so a deeply nested request cannot exhaust
    the stack; ASCII strings cost one ``isascii``.
    """
    stack = [value]
    pop, push, extend = stack.pop, stack.append, stack.extend
    while stack:
        v = pop()
        if isinstance(v, str):
            if not v.isascii():
                try:
                    v.encode("utf-8")
                except UnicodeEncodeError:
                    return True
        elif isinstance(v, dict):
            for k, inner in v.items():
                push(k)
                push(inner)
        elif isinstance(v, (list, tuple, set, frozenset)):
            extend(v)
    return False


def _set_from_python(value, allow_floats):
    if not value:
        # boto3's serializer sends an empty Python set as {"NS": []}: DynamoDB's answer is the NS one
        raise invalid_parameter("An number set  may not be empty")
    members = [from_python(v, allow_floats) for v in value]
    kinds = {type(m) for m in members}
    if len(kinds) != 1 or not kinds <= {str, Decimal, Binary}:
        raise TypeError(f'Unsupported type "{type(value)}" for value "{value}"')
    result = set(members)
    if len(result) != len(members):
        # 1 and Decimal("1.0") are one number: DynamoDB rejects the duplicate.
        raise invalid_parameter("Input collection contains duplicates")
    return result


def _check_depth(depth):
    if depth > limits.MAX_NESTING_DEPTH:
        # DynamoDB's text, as captured on its PartiQL parameter path (reference 6.13): the same
        # check of an attribute value's depth serves every operation
        raise ValidationException("Nesting Levels have exceeded supported limits: Attributes in the item have "
                                  "nested levels beyond supported limit")


# ---------------------------------------------------------------- DynamoDB JSON

_SET_EMPTY = {
    "SS": "An string set  may not be empty",
    "NS": "An number set  may not be empty",
    "BS": "Binary sets should not be empty",
}


def _b64decode(text):
    if not isinstance(text, str):
        raise SerializationException("Binary value must be a base64 string")
    if len(text) % 4:
        raise SerializationException(
            f"Base64 encoded length is expected a multiple of 4 bytes but found: {len(text)}")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise SerializationException("Base64 encoded value contains invalid characters") from None


def from_wire(av, _depth=1):
    """Native value of one DynamoDB JSON AttributeValue (``{"S": "x"}`` -> ``"x"``).

    Raises DynamoDB's ValidationException / SerializationException for malformed
    values (empty or multiple tags, bad numbers, empty sets, duplicates, JSON
    types that do not match the tag, bad base64).
    """
    if type(av) is not dict:
        raise SerializationException("Unexpected value type in payload")
    if len(av) != 1:
        known = [k for k in av if k in _FROM_WIRE]
        if len(known) > 1:
            raise ValidationException(
                "Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes")
        if not known:
            raise ValidationException(
                "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes")
        tag = known[0]
    else:
        (tag,) = av
        if tag not in _FROM_WIRE:
            raise ValidationException(
                "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes")
    return _FROM_WIRE[tag](av[tag], _depth)


def _s(v, depth):
    if type(v) is not str:
        raise SerializationException(f"{_json_kind(v)} cannot be converted to String")
    return v if v.isascii() else _utf8_string(v)


def _n(v, depth):
    if type(v) is not str:
        raise SerializationException(f"{_json_kind(v)} cannot be converted to String")
    if v.isascii() and v.isdigit() and len(v) <= limits.MAX_NUMBER_DIGITS and (v[0] != "0" or len(v) == 1):
        return Decimal(v)      # a plain integer is already canonical: skip the general path (10x cheaper)
    return Decimal(canonical_number(v))


def _b(v, depth):
    return Binary(_b64decode(v))


def _bool(v, depth):
    if type(v) is not bool:
        raise SerializationException(f"{_json_kind(v)} cannot be converted to Boolean")
    return v


def _null(v, depth):
    if type(v) is not bool:
        raise SerializationException(f"{_json_kind(v)} cannot be converted to Boolean")
    if not v:
        raise invalid_parameter("Null attribute value types must have the value of true")
    return None


def _m(v, depth):
    if type(v) is not dict:
        raise SerializationException(f"{_json_kind(v)} cannot be converted to Map")
    _check_depth(depth + 1)
    for k in v:
        if not k.isascii():
            _utf8_string(k)
    return {k: from_wire(x, depth + 1) for k, x in v.items()}


def _l(v, depth):
    if type(v) is not list:
        raise SerializationException(f"{_json_kind(v)} cannot be converted to List")
    _check_depth(depth + 1)
    return [from_wire(x, depth + 1) for x in v]


def _ss(v, depth):
    return _wire_set("SS", v, _s)


def _ns(v, depth):
    return _wire_set("NS", v, _n)


def _bs(v, depth):
    return _wire_set("BS", v, _b)


def _wire_set(tag, v, convert):
    if type(v) is not list:
        raise SerializationException(f"{_json_kind(v)} cannot be converted to List")
    if not v:
        raise invalid_parameter(_SET_EMPTY[tag])
    members = [convert(x, 0) for x in v]
    result = set(members)
    if len(result) != len(members):
        if tag == "SS":
            raise invalid_parameter(f"Input collection [{', '.join(v)}] contains duplicates.")
        if tag == "BS":
            raise invalid_parameter(f"Input collection [{', '.join(v)}]of type BS contains duplicates.")
        raise invalid_parameter("Input collection contains duplicates")
    return result


def _json_kind(v):
    if isinstance(v, bool):
        return "BOOLEAN_VALUE"
    if isinstance(v, (int, float)):
        return "NUMBER_VALUE"
    if isinstance(v, str):
        return "STRING_VALUE"
    if isinstance(v, list):
        return "START_ARRAY"
    if isinstance(v, dict):
        return "START_OBJECT"
    return "VALUE_NULL"


_FROM_WIRE = {"S": _s, "N": _n, "B": _b, "BOOL": _bool, "NULL": _null, "M": _m, "L": _l,
              "SS": _ss, "NS": _ns, "BS": _bs}


def to_wire(value):
    """DynamoDB JSON of a native value (numbers in canonical plain form)."""
    t = type(value)
    if t is str:
        return {"S": value}
    if t is Decimal:
        return {"N": format(value, "f")}
    if t is bool:
        return {"BOOL": value}
    if value is None:
        return {"NULL": True}
    if t is dict:
        return {"M": {k: to_wire(v) for k, v in value.items()}}
    if t is list:
        return {"L": [to_wire(v) for v in value]}
    if t is Binary:
        return {"B": base64.b64encode(value.value).decode("ascii")}
    if t is set or t is frozenset:
        tag = type_of(value)
        if tag == "SS":
            return {"SS": list(value)}
        if tag == "NS":
            return {"NS": [format(v, "f") for v in value]}
        return {"BS": [base64.b64encode(v.value).decode("ascii") for v in value]}
    raise TypeError(f"not a native attribute value: {value!r}")


def item_from_wire(item):
    if type(item) is not dict:
        raise SerializationException("Unexpected value type in payload")
    for k in item:
        if not k.isascii():
            _utf8_string(k)
    return {k: from_wire(v) for k, v in item.items()}


def item_to_wire(item):
    return {k: to_wire(v) for k, v in item.items()}


# ---------------------------------------------------------------- sizes

def _number_size(d):
    sign, digits, exponent = d.as_tuple()
    if not any(digits):
        return 1
    digits = list(digits)
    while digits and digits[-1] == 0:
        digits.pop()
        exponent += 1
    n = len(digits)
    size = 1 + (n + 1) // 2
    if n % 2 == 0 and (exponent + n - 1) % 2 == 0:
        size += 1
    if sign:
        size += 1
    return size


def value_size(value):
    """Bytes a value counts towards the 400 KB item limit (reference section 2.2)."""
    t = type(value)
    if t is str:
        return len(value.encode("utf-8", "surrogatepass"))
    if t is Decimal:
        return _number_size(value)
    if t is Binary:
        return len(value.value)
    if t is bool or value is None:
        return 1
    if t is dict:
        return 3 + sum(1 + len(k.encode("utf-8", "surrogatepass")) + value_size(v) for k, v in value.items())
    if t is list:
        return 3 + sum(1 + value_size(v) for v in value)
    if t is set or t is frozenset:
        return sum(value_size(v) for v in value)
    raise TypeError(f"not a native attribute value: {value!r}")


def item_size(item):
    """DynamoDB's size of an item: UTF-8 names plus value sizes."""
    return sum(len(k.encode("utf-8", "surrogatepass")) + value_size(v) for k, v in item.items())
