"""DynamoDB expressions: parse once, check in DynamoDB's order, evaluate on native items.

:func:`compile_request` is the one entry point the operations use::

    compiled = compile_request(operation="UpdateItem", condition="attribute_exists(pk)",
                               update="SET #c = #c + :one", names={"#c": "count"},
                               values={":one": Decimal(1)})
    compiled.condition.evaluate(old_item)      # -> bool (old_item None: the item is missing)
    new_item = compiled.update.apply(old_item, True)

It returns :class:`Compiled` with ``condition``, ``filter``, ``key_condition``,
``update`` and ``projection`` (each None when not given).  Parsing and the
checks that depend only on the text are cached per (kind, text); the checks
that depend on the request's ExpressionAttributeNames / Values run for every
request.  Legacy parameters (Expected, AttributeUpdates, ...) live in
:mod:`kvstore.expressions.legacy`.
"""

import functools
import re
from decimal import Decimal

from kvstore import limits
from kvstore.errors import ValidationException
from kvstore.expressions import parser
from kvstore.expressions.evaluate import compile_condition
from kvstore.expressions.key_condition import KeyCondition, ResolvedKeyCondition, extract
from kvstore.expressions.messages import ExpressionError, detail, invalid
from kvstore.expressions.projection import Projection
from kvstore.expressions.update import Update, bind_update
from kvstore.expressions.validate import Binder, PathTree, check_condition, check_projection, check_update
from kvstore.types import Binary

__all__ = ["compile_request", "check_placeholder_maps", "Compiled", "Condition", "KeyCondition",
           "ResolvedKeyCondition", "Update", "Projection", "clear_cache"]

_EMPTY_ITEM = {}


class Condition:
    """A compiled ConditionExpression / FilterExpression (or legacy Expected / filter).

    ``evaluate(item)``: item is a dict, or None for a missing item (every
    attribute absent).  ``top_level_names``: top-level attributes it reads;
    ``nested_top_level_names``: those it reaches into with ``.`` or ``[]``.
    """

    __slots__ = ("_fn", "top_level_names", "nested_top_level_names")

    def __init__(self, fn, top_level_names, nested_top_level_names=frozenset()):
        self._fn = fn
        self.top_level_names = frozenset(top_level_names)
        self.nested_top_level_names = frozenset(nested_top_level_names)

    def evaluate(self, item):
        return self._fn(_EMPTY_ITEM if item is None else item)

    __call__ = evaluate


class Compiled:
    __slots__ = ("condition", "filter", "key_condition", "update", "projection")

    def __init__(self):
        self.condition = self.filter = self.key_condition = self.update = self.projection = None


# ---------------------------------------------------------------- request rules

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


def compile_request(operation, condition=None, filter=None, key_condition=None, update=None,  # noqa: A002
                    projection=None, names=None, values=None):
    """Check and compile the expressions of one request (see the module docstring).

    Arguments are the wire members: expression strings (None when absent),
    ``names`` / ``values`` as given (None when absent; values already native).
    Raises ValidationException with DynamoDB's message for the first problem
    in DynamoDB's order.

    The result is a pure function of the arguments, so successful results are
    remembered for requests whose values are all scalars (the usual
    ``version = :v``); the compiled objects are immutable and shared.
    """
    key = _result_key(operation, condition, filter, key_condition, update, projection, names, values)
    if key is not None:
        compiled = _RESULTS.get(key)
        if compiled is not None:
            return compiled
    compiled = _compile_request(operation, condition, filter, key_condition, update, projection, names, values)
    if key is not None:
        if len(_RESULTS) >= _RESULTS_SIZE:
            try:
                del _RESULTS[next(iter(_RESULTS))]
            except (RuntimeError, KeyError, StopIteration):   # another thread got there first
                pass
        _RESULTS[key] = compiled
    return compiled


_RESULTS = {}
_RESULTS_SIZE = 2048
_SCALARS = frozenset((str, Decimal, bool, type(None), Binary))
_NATIVE = _SCALARS | {dict, list, set, frozenset}


def _result_key(operation, condition, filter, key_condition, update, projection, names, values):  # noqa: A002
    """Hashable key of a request whose compilation may be remembered (None: do not remember)."""
    if names is not None:
        if type(names) is not dict:
            return None
        names_key = tuple(names.items())
    else:
        names_key = None
    if values is not None:
        if type(values) is not dict:
            return None
        values_key = []
        for k, v in values.items():
            t = v.__class__
            if t not in _SCALARS:
                return None
            values_key.append((k, t, v))
        values_key = tuple(values_key)
    else:
        values_key = None
    key = (operation, condition, filter, key_condition, update, projection, names_key, values_key)
    try:
        hash(key)
    except TypeError:
        return None
    return key


def _compile_request(operation, condition, filter, key_condition, update, projection, names, values):  # noqa: A002
    present = [(arg, member, text) for arg, member, text in (
        ("update", "UpdateExpression", update), ("condition", "ConditionExpression", condition),
        ("filter", "FilterExpression", filter), ("projection", "ProjectionExpression", projection),
        ("key_condition", "KeyConditionExpression", key_condition)) if text is not None]
    if names is not None or values is not None:
        check_placeholder_maps(operation, [member for _, member, _ in present], names, values)
    compiled = Compiled()
    if not present:
        return compiled
    if names is not None:
        _check_names(names)
    if values is not None:
        _check_values(values)
    if names:
        _check_name_values(names)
    binder = Binder(names, values)
    for arg, member, text in present:
        binder.start()
        setattr(compiled, arg, _compile_one(arg, member, text, binder))
    if names:
        unused = [k for k in names if k not in binder.used_names]
        if unused:
            raise ValidationException("Value provided in ExpressionAttributeNames unused in expressions: "
                                      f"keys: {{{', '.join(unused)}}}")
    if values:
        unused = [k for k in values if k not in binder.used_values]
        if unused:
            raise ValidationException("Value provided in ExpressionAttributeValues unused in expressions: "
                                      f"keys: {{{', '.join(unused)}}}")
    return compiled


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


def _check_names(names):
    if names is None:
        return
    if type(names) is not dict:
        raise ValidationException("ExpressionAttributeNames must be a map of placeholders to attribute names")
    if not names:
        raise ValidationException("ExpressionAttributeNames must not be empty")
    for key in names:
        _check_key("ExpressionAttributeNames", key, _NAME_KEY, with_size=True)


def _check_name_values(names):
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


def _check_values(values):
    if values is None:
        return
    if type(values) is not dict:
        raise ValidationException("ExpressionAttributeValues must be a map of placeholders to values")
    if not values:
        raise ValidationException("ExpressionAttributeValues must not be empty")
    for key, value in values.items():
        _check_key("ExpressionAttributeValues", key, _VALUE_KEY, with_size=False)
        if value.__class__ not in _NATIVE or (value.__class__ in (set, frozenset) and not value):
            raise ValidationException("ExpressionAttributeValues contains invalid value: Supplied AttributeValue "
                                      f"is not a valid DynamoDB value for key {key}")


def _check_key(member, key, pattern, with_size):
    if type(key) is not str:
        raise ValidationException(f'{member} contains invalid key: Syntax error; key: "{key}"')
    size = len(key.encode("utf-8", "surrogatepass"))
    if size > limits.MAX_PLACEHOLDER_SIZE:
        message = "The expression attribute map contains a key that is too long"
        raise ValidationException(f"{member} contains invalid key: "
                                  + (detail(message, ("size of key", size)) if with_size else message + ";"))
    if not pattern.match(key):
        raise ValidationException(f'{member} contains invalid key: Syntax error; key: "{key}"')


# ---------------------------------------------------------------- one expression

def _compile_one(arg, member, text, binder):
    if type(text) is not str:
        raise ValidationException(f"Invalid {member}: The expression must be a string")
    try:
        if text == "":
            raise ExpressionError("The expression can not be empty;")
        size = len(text.encode("utf-8", "surrogatepass"))
        if size > limits.MAX_EXPRESSION_SIZE:
            message = "Expression size has exceeded the maximum allowed size"
            if arg in ("condition", "filter"):
                raise ExpressionError(detail(message, ("expression size", size)))
            raise ExpressionError(message + ";")
        tree = _parsed(_GRAMMARS[arg], text)
        if type(tree) is ExpressionError:
            raise ExpressionError(tree.message)
        return _BUILDERS[arg](tree, binder)
    except ExpressionError as e:
        raise invalid(member, e.message) from None


_GRAMMARS = {"condition": "condition", "filter": "condition", "key_condition": "condition",
             "update": "update", "projection": "projection"}


@functools.lru_cache(maxsize=4096)
def _parsed(grammar, text):
    """Parsed and phase-1-checked tree of ``text`` (or the ExpressionError it raised)."""
    try:
        if grammar == "condition":
            tree = parser.parse_condition(text)
            check_condition(tree)
        elif grammar == "update":
            tree = parser.parse_update(text)
            check_update(*tree)
        else:
            tree = parser.parse_projection(text)
            check_projection(tree)
    except ExpressionError as e:
        return e
    return tree


def clear_cache():
    """Forget every parsed expression and remembered result (tests and benchmarks)."""
    _parsed.cache_clear()
    _RESULTS.clear()


def _build_condition(tree, binder):
    bound = binder.condition(tree)
    return Condition(compile_condition(bound), binder.top, binder.nested)


def _build_key_condition(tree, binder):
    bound = binder.condition(tree)
    key = KeyCondition(extract(bound))
    return key


def _build_projection(paths, binder):
    tree = PathTree()
    resolved = [None] * len(paths)
    for i in range(len(paths) - 1, -1, -1):
        resolved[i] = binder.path(paths[i])
        tree.add(resolved[i])
    return Projection(resolved)


def _build_update(parsed, binder):
    actions, _ = parsed
    return bind_update(actions, binder)


_BUILDERS = {"condition": _build_condition, "filter": _build_condition, "key_condition": _build_key_condition,
             "projection": _build_projection, "update": _build_update}
