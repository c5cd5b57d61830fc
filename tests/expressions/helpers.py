"""Small helpers shared by the expression tests."""

from decimal import Decimal

import pytest

from kvstore.errors import ValidationException
from kvstore.expressions import compile_request


def N(x):
    """A canonical native number, as the wire and Python faces produce them."""
    return Decimal(str(x))


def error(operation="PutItem", **kwargs):
    """The ValidationException message compile_request raises for these arguments."""
    with pytest.raises(ValidationException) as e:
        compile_request(operation, **kwargs)
    return e.value.message


def condition(text, names=None, values=None):
    return compile_request("PutItem", condition=text, names=names, values=values).condition


def update(text, names=None, values=None):
    return compile_request("UpdateItem", update=text, names=names, values=values).update


def projection(text, names=None):
    return compile_request("GetItem", projection=text, names=names).projection


def key_condition(text, names=None, values=None):
    return compile_request("Query", key_condition=text, names=names, values=values).key_condition
