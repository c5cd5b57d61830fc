"""Property: every path that makes a number yields DynamoDB's canonical value.

``types.number`` has fast paths for ints and already-canonical Decimals; they
must agree with the reference canonicalisation (``canonical_number`` of the
text) on every input, in value and in representation, and reject exactly what
it rejects.
"""

from decimal import Decimal

import hypothesis.strategies as st
from hypothesis import given

from kvstore.errors import ValidationException
from kvstore.types import canonical_number, number

DECIMALS = st.decimals(allow_nan=False, allow_infinity=False, min_value=Decimal("-1e140"),
                       max_value=Decimal("1e140"), places=None) | st.builds(
    lambda digits, exp, neg: Decimal((neg, digits, exp)),
    st.lists(st.integers(0, 9), min_size=1, max_size=45).map(tuple), st.integers(-140, 130), st.integers(0, 1))


def reference(text):
    try:
        return Decimal(canonical_number(text))
    except ValidationException as e:
        return e.message


def made(value):
    try:
        return number(value)
    except ValidationException as e:
        return e.message


@given(DECIMALS)
def test_decimal_numbers_are_canonical(d):
    expected = reference(format(d, "f") if d.is_finite() else str(d))
    got = made(d)
    assert type(got) is type(expected)
    if isinstance(got, Decimal):
        assert str(got) == str(expected) and format(got, "f") == canonical_number(format(d, "f"))
    else:
        assert got == expected


@given(st.integers(-(10 ** 45), 10 ** 45))
def test_int_numbers_are_canonical(i):
    got, expected = made(i), reference(str(i))
    assert got == expected and str(got) == str(expected)
