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
that depend on the request's ExpressionAttributeNames / Values run once per
request *shape* (texts, names, value placeholders and value types), and a
request of a known shape only re-runs the two checks that look inside values
(see :func:`compile_request`).  Legacy parameters (Expected, AttributeUpdates,
...) live in :mod:`kvstore.expressions.legacy`.

What each check depends on (phase 2, see :mod:`kvstore.expressions.validate`):

* the shape only: which members are present, the placeholder maps' types,
  emptiness, keys and names; expression text type, emptiness and size;
  syntax and phase-1 checks; path depth and undefined ``#names`` /
  ``:values``; operand counts; operand types (a value's DynamoDB type, and
  for a set its members' type); the same-operand rule; functions that need
  a path; BETWEEN bounds of different types; the IN list length; the
  operator count; update path overlaps and ADD / DELETE operand types; key
  condition structure; unused names and values;
* inside values (re-run for every request): BETWEEN's lower bound above its
  upper bound, and attribute_type's type name;
* at use (unchanged, on each request's objects): KeyCondition.resolve
  (types against the schema, empty and oversized key values), update
  application, condition evaluation.
"""

import functools
import itertools
import re
import threading
from decimal import Decimal

from kvstore import limits
from kvstore.errors import ValidationException
from kvstore.expressions import parser
from kvstore.expressions.evaluate import condition_part
from kvstore.expressions.key_condition import KeyCondition, ResolvedKeyCondition, key_condition_part, values_getter
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

    def __init__(self, condition=None, filter=None, key_condition=None, update=None,  # noqa: A002
                 projection=None):
        self.condition = condition
        self.filter = filter
        self.key_condition = key_condition
        self.update = update
        self.projection = projection


#: Compiled's members, in its constructor's order
_FIELDS = ("condition", "filter", "key_condition", "update", "projection")


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

    Requests repeat a few *shapes*: the same operation, texts and names, the
    same value placeholders with values of the same types.  Every check but
    two depends only on the shape, so the first request of a shape that
    compiles leaves a template (see :func:`_instantiator`); the next ones
    only re-run the checks that look inside values and put their values in
    place.  The objects returned read only this request's values (those that
    read no value at all are shared).
    """
    # The shape key, inline because it is computed for every request.  Only exact
    # str texts, names and placeholders, and dict maps, get one: anything else takes
    # the full path, which raises exactly what it should.
    key = None
    if ((condition is None or condition.__class__ is str) and (filter is None or filter.__class__ is str)
            and (key_condition is None or key_condition.__class__ is str)
            and (update is None or update.__class__ is str)
            and (projection is None or projection.__class__ is str)):
        if names is None:
            names_key = None
        elif (names.__class__ is dict and _STR_TYPES.issuperset(map(type, names))
              and _STR_TYPES.issuperset(map(type, names.values()))):
            names_key = tuple(names.items())
        else:
            names_key = False
        if names_key is not False:
            if values is None:
                vals = ()
                key = (operation, condition, filter, key_condition, update, projection, names_key)
            elif values.__class__ is dict:
                vals = tuple(values.values())
                # a map (even empty), its placeholders, the classes of the placeholders and of the values
                key = (operation, condition, filter, key_condition, update, projection, names_key, _MAP,
                       *values, *map(type, (*values, *vals)))
    if key is not None:
        try:
            instantiate = _TEMPLATES.get(key)
        except TypeError:       # an unhashable operation: not worth remembering
            instantiate = key = None
        if instantiate is not None:
            compiled = instantiate(vals)
            if compiled is not None:
                return compiled
            key = None          # a set whose members are of another type: compile in full, keep the template
    instantiate = _template(operation, condition, filter, key_condition, update, projection, names, values)
    if key is not None and _storable(condition, filter, key_condition, update, projection, names):
        _remember(key, instantiate)
    return instantiate(vals if key is not None else tuple(values.values()) if values else ())


_SCALARS = frozenset((str, Decimal, bool, type(None), Binary))
_NATIVE = _SCALARS | {dict, list, set, frozenset}
_STR_TYPES = frozenset((str,))
_SETS = frozenset((set, frozenset))
_EMPTY_SET = object()
_MAP = object()


def _member_type(value):
    """The class of the member of a set that ``type_of`` looks at (``_EMPTY_SET`` for an empty set)."""
    return type(next(iter(value), _EMPTY_SET))


#: instantiate functions (see _instantiator) by shape key, oldest first (FIFO eviction, a quarter
#: at a time: a dict finds its first entry after skipping the holes earlier evictions left)
_TEMPLATES = {}
_TEMPLATES_SIZE = 2048
_TEMPLATES_LOCK = threading.Lock()
#: a request whose texts and names add up to more characters than this gets no template (memory bound)
_MAX_KEY_CHARS = 16384


def _storable(condition, filter, key_condition, update, projection, names):  # noqa: A002
    size = (len(condition or "") + len(filter or "") + len(key_condition or "") + len(update or "")
            + len(projection or ""))
    if names:
        for k, v in names.items():
            size += len(k) + len(v)
    return size <= _MAX_KEY_CHARS


def _remember(key, instantiate):
    if len(_TEMPLATES) >= _TEMPLATES_SIZE:
        with _TEMPLATES_LOCK:          # one evicting thread at a time; reads and stores are single dict
            # operations, and list(islice(...)) runs in C without letting another thread in
            if len(_TEMPLATES) >= _TEMPLATES_SIZE:
                for old in list(itertools.islice(_TEMPLATES, _TEMPLATES_SIZE // 4 + 1)):
                    _TEMPLATES.pop(old, None)
    _TEMPLATES[key] = instantiate


def _instantiator(checks, parts, vals=()):
    """``instantiate(vals) -> Compiled`` for every request of a shape that compiled.

    ``checks``: ``(member, check, slots)`` that look inside values, in the
    order DynamoDB runs them (every other check passed for the shape, so the
    first of these that fails is the request's error).  ``parts``: per member
    of :class:`Compiled`, ``(object, None)`` shared by every request or
    ``(None, make)`` with ``make(vals)`` its object for one request, ``vals``
    being ExpressionAttributeValues' values in their order.  ``vals``: the
    values of the request that built the template.  The shape key holds the
    class of each value; for a set the template also depends on the class of
    its members (SS, NS or BS), which ``instantiate`` checks, returning None
    when it differs.
    """
    build = _builder(parts)
    if build is None:
        shared = Compiled(*[obj for obj, _ in parts])
        return lambda vals: shared
    members = ()
    if _SETS.intersection(map(type, vals)):
        members = tuple((i, _member_type(v)) for i, v in enumerate(vals) if type(v) in _SETS)
    if not checks and not members:
        return build
    checks = tuple((member, check, values_getter(slots)) for member, check, slots in checks)

    def instantiate(vals):
        for i, member in members:
            if _member_type(vals[i]) is not member:
                return None
        for member, check, get in checks:
            try:
                check(*get(vals))
            except ExpressionError as e:
                raise invalid(member, e.message) from None
        return build(vals)
    return instantiate


def _builder(parts):
    """``build(vals) -> Compiled`` from the five parts, or None when no part depends on values."""
    fixed, variable = [], []
    for i, (obj, make) in enumerate(parts):
        fixed.append(obj)
        if make is not None:
            variable.append((i, make))
    if not variable:
        return None
    if len(variable) == 1:          # the usual request
        return _build_one(fixed, *variable[0])
    if len(variable) == 2:          # update and condition, key condition and filter
        return _build_two(fixed, *variable[0], *variable[1])
    return _build_many(fixed, variable)


def _build_one(fixed, i, make):
    a, b, c, d, e = fixed
    if i == 0:
        return lambda vals: Compiled(make(vals), b, c, d, e)
    if i == 1:
        return lambda vals: Compiled(a, make(vals), c, d, e)
    if i == 2:
        return lambda vals: Compiled(a, b, make(vals), d, e)
    if i == 3:
        return lambda vals: Compiled(a, b, c, make(vals), e)
    return lambda vals: Compiled(a, b, c, d, make(vals))


def _build_two(fixed, i, make1, j, make2):
    def build_two(vals):
        objs = fixed.copy()
        objs[i] = make1(vals)
        objs[j] = make2(vals)
        return Compiled(*objs)
    return build_two


def _build_many(fixed, variable):
    def build(vals):
        objs = fixed.copy()
        for i, make in variable:
            objs[i] = make(vals)
        return Compiled(*objs)
    return build


def _template(operation, condition, filter, key_condition, update, projection, names, values):  # noqa: A002
    """Check a request in DynamoDB's order, raising its first error; return its instantiate function."""
    present = [(arg, member, text) for arg, member, text in (
        ("update", "UpdateExpression", update), ("condition", "ConditionExpression", condition),
        ("filter", "FilterExpression", filter), ("projection", "ProjectionExpression", projection),
        ("key_condition", "KeyConditionExpression", key_condition)) if text is not None]
    if names is not None or values is not None:
        check_placeholder_maps(operation, [member for _, member, _ in present], names, values)
    parts = dict.fromkeys(_FIELDS, (None, None))
    if not present:
        return _instantiator((), list(parts.values()))
    if names is not None:
        _check_names(names)
    if values is not None:
        _check_values(values)
    if names:
        _check_name_values(names)
    binder = Binder(names, values)
    for arg, member, text in present:
        binder.start(member)
        parts[arg] = _compile_one(arg, member, text, binder)
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
    return _instantiator(binder.checks, list(parts.values()), tuple(values.values()) if values else ())


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
    """Forget every parsed expression and template (tests and benchmarks)."""
    _parsed.cache_clear()
    with _TEMPLATES_LOCK:
        _TEMPLATES.clear()


def _build_condition(tree, binder):
    bound = binder.condition(tree)
    fn, make = condition_part(bound)
    top, nested = frozenset(binder.top), frozenset(binder.nested)
    if make is None:
        return Condition(fn, top, nested), None

    def make_condition(vals):
        condition = _new(Condition)
        condition._fn = make(vals)
        condition.top_level_names = top
        condition.nested_top_level_names = nested
        return condition
    return None, make_condition


_new = object.__new__


def _build_key_condition(tree, binder):
    return key_condition_part(binder.condition(tree))


def _build_projection(paths, binder):
    tree = PathTree()
    resolved = [None] * len(paths)
    for i in range(len(paths) - 1, -1, -1):
        resolved[i] = binder.path(paths[i])
        tree.add(resolved[i])
    return Projection(resolved), None


def _build_update(parsed, binder):
    actions, _ = parsed
    return bind_update(actions, binder)


_BUILDERS = {"condition": _build_condition, "filter": _build_condition, "key_condition": _build_key_condition,
             "projection": _build_projection, "update": _build_update}
