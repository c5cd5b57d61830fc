"""DynamoDB's expression error texts, and the internal error that carries them.

Errors found while parsing or checking one expression are raised as
:class:`ExpressionError` holding the bare text (``Syntax error; token: ...``);
:func:`kvstore.expressions.compile_request` adds the ``Invalid <Kind>: `` prefix
of the expression it was working on.  Parameters follow DynamoDB's format:
``<message>; <name>: <value>, <name>: <value>``.
"""

import base64
from decimal import Decimal

from kvstore.errors import ValidationException
from kvstore.types import Binary, type_of

__all__ = ["ExpressionError", "detail", "path_text", "value_text", "invalid"]


class ExpressionError(Exception):
    """An error in one expression; ``message`` lacks the ``Invalid <Kind>: `` prefix."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


def detail(message, *pairs):
    """``message; k1: v1, k2: v2`` (just ``message;`` without pairs), as DynamoDB prints it."""
    if not pairs:
        return message + ";"
    return message + "; " + ", ".join(f"{k}: {v}" for k, v in pairs)


def path_text(path):
    """A resolved document path as DynamoDB prints it: ``[a, b, [1], c]``."""
    return "[" + ", ".join(f"[{e}]" if type(e) is int else e for e in path) + "]"


def value_text(value):
    """``AttributeValue: {N:5}`` rendering of a scalar (as in the BETWEEN messages)."""
    tag = type_of(value)
    if type(value) is Decimal:
        shown = format(value, "f")
    elif type(value) is Binary:
        shown = base64.b64encode(value.value).decode("ascii")
    else:
        shown = value
    return f"AttributeValue: {{{tag}:{shown}}}"


def invalid(kind, message):
    """The ValidationException ``Invalid <kind>: <message>``."""
    return ValidationException(f"Invalid {kind}: {message}")
