"""The request-level checks of ExpressionAttributeNames and ExpressionAttributeValues (reference 8.2).

Which maps a request may carry, their keys' syntax and size, the names'
values, the values' DynamoDB validity, and placeholders no expression used.
They run in DynamoDB's order from :func:`kvstore.expressions.request.compile_request`
(:func:`check_placeholder_maps` also from the legacy parameters' mixing
check); each raises ValidationException with DynamoDB's message.
"""

import re
from decimal import Decimal

from kvstore import limits
from kvstore.errors import ValidationException
from kvstore.expressions.messages import detail
from kvstore.types import Binary

__all__ = ["check_placeholder_maps", "check_names", "check_values", "check_name_values", "check_unused"]

#: which expressions of an operation may consume ExpressionAttributeValues (for the message);
#: TransactWriteItems actions pass their kind (Put, Update, Delete, ConditionCheck)
_VALUE_CONSUMERS = {
    "PutItem": ("ConditionExpression",), "Put": ("ConditionExpression",),
    "DeleteItem": ("ConditionExpression",), "Delete": ("ConditionExpression",),
    "ConditionCheck": ("ConditionExpression",),
    "UpdateItem": ("UpdateExpression", "ConditionExpression"), "Update": ("UpdateExpression", "ConditionExpression"),
    "Query": ("FilterExpression", "KeyConditionExpression"),
    "Scan": ("FilterExpression",),
}

_NAME_KEY = re.compile(r"#[A-Za-z0-9_]+\Z")
_VALUE_KEY = re.compile(r":[A-Za-z0-9_]+\Z")

_NATIVE = frozenset((str, Decimal, bool, type(None), Binary, dict, list, set, frozenset))


def check_placeholder_maps(operation, expressions, names, values):
    """Names and values are allowed only beside expressions that can use them.

    ``expressions``: the expression members present in the request.  A
    ProjectionExpression uses names but not values.
    """
    if names is not None and not expressions:
        raise ValidationException("ExpressionAttributeNames can only be specified when using expressions")
    if values is not None and not any(m != "ProjectionExpression" for m in expressions):
        consumers = _VALUE_CONSUMERS.get(operation)
        if consumers is None:
            raise ValidationException("ExpressionAttributeValues can only be specified when using expressions")
        verb = "are" if len(consumers) > 1 else "is"
        raise ValidationException("ExpressionAttributeValues can only be specified when using expressions: "
                                  f"{' and '.join(consumers)} {verb} null")


def check_names(names):
    """ExpressionAttributeNames is a non-empty map whose keys are ``#name`` placeholders."""
    if names is not None:
        for _ in _keys("ExpressionAttributeNames", names, "attribute names", _NAME_KEY, with_size=True):
            pass


def check_name_values(names):
    """Each name a placeholder stands for is a non-empty string of at most 64 KB (checked after the values)."""
    if not names:
        return
    for key, name in names.items():
        if type(name) is not str:
            raise ValidationException(f"ExpressionAttributeNames contains invalid value: {name!r} is not a string "
                                      f"for key {key}")
        if name == "":
            raise ValidationException(f"ExpressionAttributeNames contains invalid value: Empty attribute name "
                                      f"for key {key}")
        if len(name.encode("utf-8", "surrogatepass")) > limits.MAX_ATTRIBUTE_NAME_SIZE:
            raise ValidationException("ExpressionAttributeNames contains invalid value: Attribute name is too "
                                      f"large, must be less than 65536 bytes for key {key}")


def check_values(values):
    """ExpressionAttributeValues is a non-empty map of ``:value`` placeholders to DynamoDB values."""
    if values is None:
        return
    for key in _keys("ExpressionAttributeValues", values, "values", _VALUE_KEY, with_size=False):
        value = values[key]
        if value.__class__ not in _NATIVE or (value.__class__ in (set, frozenset) and not value):
            raise ValidationException("ExpressionAttributeValues contains invalid value: Supplied AttributeValue "
                                      f"is not a valid DynamoDB value for key {key}")


def check_unused(names, values, used_names, used_values):
    """Every placeholder given is used by some expression of the request (names first)."""
    if names:
        unused = [k for k in names if k not in used_names]
        if unused:
            raise ValidationException("Value provided in ExpressionAttributeNames unused in expressions: "
                                      f"keys: {{{', '.join(unused)}}}")
    if values:
        unused = [k for k in values if k not in used_values]
        if unused:
            raise ValidationException("Value provided in ExpressionAttributeValues unused in expressions: "
                                      f"keys: {{{', '.join(unused)}}}")


def _keys(member, mapping, what, pattern, with_size):
    """Check that ``mapping`` is a non-empty map, then yield its keys, each once its syntax is checked."""
    if type(mapping) is not dict:
        raise ValidationException(f"{member} must be a map of placeholders to {what}")
    if not mapping:
        raise ValidationException(f"{member} must not be empty")
    for key in mapping:
        if type(key) is not str:
            raise ValidationException(f'{member} contains invalid key: Syntax error; key: "{key}"')
        size = len(key.encode("utf-8", "surrogatepass"))
        if size > limits.MAX_PLACEHOLDER_SIZE:
            message = "The expression attribute map contains a key that is too long"
            raise ValidationException(f"{member} contains invalid key: "
                                      + (detail(message, ("size of key", size)) if with_size else message + ";"))
        if not pattern.match(key):
            raise ValidationException(f'{member} contains invalid key: Syntax error; key: "{key}"')
        yield key
