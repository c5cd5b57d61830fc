"""PartiQL's own reading of number parameters (reference 6.13, "Parameters").

DynamoDB parses a PartiQL number parameter like Java's BigDecimal before the
usual number rules: an exponent beyond 32 bits cannot be converted at all
(``The parameter cannot be converted to a numeric value: 1e99999999999``), and
a number whose precision minus scale passes 32 bits wraps around into the
underflow text.  These run before the value is converted, on the wire text
(:func:`check_wire`) or on a native Decimal (:func:`check_native`), in
document order, so the first fault wins.
"""

import re
from decimal import Decimal

from kvstore.errors import ValidationException

_INT_MAX = 2 ** 31 - 1
_NUMBER = re.compile(r"[+-]?(\d*)(?:\.(\d*))?[eE]([+-]?\d+)\Z")
UNDERFLOW = "Number underflow. Attempting to store a number with magnitude smaller than supported range"


NESTING = ("Nesting Levels have exceeded supported limits: Attributes in the item have nested levels beyond "
           "supported limit")


def converted(convert, value):
    """``convert(value)`` with PartiQL's text for a parameter nested too deep."""
    try:
        return convert(value)
    except ValidationException as e:
        if e.message.startswith("Nesting Levels have exceeded supported limits"):
            raise ValidationException(NESTING) from None
        raise


def check_text(text):
    m = _NUMBER.match(text) if type(text) is str else None
    if m is None:
        return
    whole, fraction, exponent = m.group(1), m.group(2) or "", int(m.group(3))
    if abs(exponent) > _INT_MAX:
        raise ValidationException(f"The parameter cannot be converted to a numeric value: {text}")
    digits = (whole + fraction).lstrip("0") or "0"
    scale = len(fraction) - exponent
    if len(digits) - scale > _INT_MAX:
        raise ValidationException(UNDERFLOW)


def check_wire(av):
    """Walk one wire AttributeValue (``{"N": ...}``, NS, L, M) before it is converted."""
    if type(av) is not dict or len(av) != 1:
        return
    (tag, value), = av.items()
    if tag == "S":
        return
    if tag == "N":
        if type(value) is str and ("e" in value or "E" in value):     # only an exponent can break 32 bits
            check_text(value)
    elif tag == "NS" and type(value) is list:
        for text in value:
            check_text(text)
    elif tag == "L" and type(value) is list:
        for member in value:
            check_wire(member)
    elif tag == "M" and type(value) is dict:
        for member in value.values():
            check_wire(member)


def check_native(value):
    """The same rules on a native value (the embedded face)."""
    if type(value) is Decimal:
        if value.is_finite():
            sign, digits, exponent = value.as_tuple()
            if abs(exponent) > _INT_MAX:
                raise ValidationException(f"The parameter cannot be converted to a numeric value: {value}")
            if len(digits) + exponent > _INT_MAX:
                raise ValidationException(UNDERFLOW)
    elif type(value) in (list, tuple, set, frozenset):
        for member in value:
            check_native(member)
    elif type(value) is dict:
        for member in value.values():
            check_native(member)
