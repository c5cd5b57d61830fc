"""Check and compile the expressions of one request: :func:`compile_request`.

Parsing and the checks that depend only on the text are cached per (kind,
text); the checks that depend on the request's ExpressionAttributeNames /
Values run once per request *shape* (texts, names, value placeholders and
value types), and a request of a known shape only re-runs the two checks that
look inside values (the shape cache is :mod:`kvstore.expressions.templates`).

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

from kvstore import limits
from kvstore.errors import ValidationException
from kvstore.expressions import parser, placeholders, templates
from kvstore.expressions.compiled import FIELDS, Condition, ProgramCondition
from kvstore.expressions.evaluate import condition_part
from kvstore.expressions.key_condition import key_condition_part
from kvstore.expressions.messages import ExpressionError, detail, invalid
from kvstore.expressions.programs import condition_program, reads_values
from kvstore.expressions.projection import Projection
from kvstore.expressions.templates import TEMPLATES, instantiator, remember, storable
from kvstore.expressions.update import bind_update
from kvstore.expressions.validate import Binder, PathTree, check_condition, check_projection, check_update

__all__ = ["compile_request", "prepare", "clear_cache"]

_STR_TYPES = frozenset((str,))
_MAP = object()


def compile_request(operation, condition=None, filter=None, key_condition=None, update=None,  # noqa: A002
                    projection=None, names=None, values=None):
    """Check and compile the expressions of one request (see the module docstring).

    Arguments are the wire members: expression strings (None when absent),
    ``names`` / ``values`` as given (None when absent; values already native).
    Raises ValidationException with DynamoDB's message for the first problem
    in DynamoDB's order.

    The first request of a shape that compiles leaves a template (see
    :func:`kvstore.expressions.templates.instantiator`); the next ones only
    re-run the checks that look inside values and put their values in place.
    The objects returned read only this request's values (those that read no
    value at all are shared).
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
            instantiate = TEMPLATES.get(key)
        except TypeError:       # an unhashable operation: not worth remembering
            instantiate = key = None
        if instantiate is not None:
            compiled = instantiate(vals)
            if compiled is not None:
                return compiled
            key = None          # a set whose members are of another type: compile in full, keep the template
    instantiate = _template(operation, condition, filter, key_condition, update, projection, names, values)
    if key is not None and storable(condition, filter, key_condition, update, projection, names):
        remember(key, instantiate)
    return instantiate(vals if key is not None else tuple(values.values()) if values else ())


def prepare(operation, condition=None, filter=None, key_condition=None, update=None,  # noqa: A002
            projection=None, names=None, values=None):
    """``instantiate(vals) -> Compiled`` of this request's shape, for a caller that keeps its own plan
    per shape (a prepared Query or Scan, :mod:`kvstore.operations.read_plans`).

    Raises the shape's first error as :func:`compile_request` does.  ``instantiate`` re-runs the
    checks that look inside values, in order, and returns None when a set's member type differs
    from the shape's (the caller then takes :func:`compile_request`).
    """
    return _template(operation, condition, filter, key_condition, update, projection, names, values)


def clear_cache():
    """Forget every parsed expression and template (tests and benchmarks)."""
    _parsed.cache_clear()
    templates.clear()


def _template(operation, condition, filter, key_condition, update, projection, names, values):  # noqa: A002
    """Check a request in DynamoDB's order, raising its first error; return its instantiate function."""
    present = [(arg, member, text) for arg, member, text in (
        ("update", "UpdateExpression", update), ("condition", "ConditionExpression", condition),
        ("filter", "FilterExpression", filter), ("projection", "ProjectionExpression", projection),
        ("key_condition", "KeyConditionExpression", key_condition)) if text is not None]
    if names is not None or values is not None:
        placeholders.check_placeholder_maps(operation, [member for _, member, _ in present], names, values)
    parts = dict.fromkeys(FIELDS, (None, None))
    if not present:
        return instantiator((), list(parts.values()))
    placeholders.check_names(names)
    placeholders.check_values(values)
    placeholders.check_name_values(names)
    binder = Binder(names, values)
    for arg, member, text in present:
        binder.start(member)
        parts[arg] = _compile_one(arg, member, text, binder)
    placeholders.check_unused(names, values, binder.used_names, binder.used_values)
    return instantiator(binder.checks, list(parts.values()), tuple(values.values()) if values else ())


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


def _build_condition(tree, binder):
    bound = binder.condition(tree)
    fn, make = condition_part(bound)
    top, nested = frozenset(binder.top), frozenset(binder.nested)
    program = condition_program(bound) if binder.member == "ConditionExpression" else None
    if program is not None:
        return _program_condition_part(program, top, nested, make is not None or reads_values(program))
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


def _program_condition_part(program, top, nested, reads_values):
    """The part of a ConditionExpression of a shape :mod:`kvstore.expressions.programs` covers."""
    if not reads_values:
        return ProgramCondition(program, (), top, nested), None

    def make_condition(vals):
        condition = _new(ProgramCondition)
        condition.program = program
        condition.vals = vals
        condition.top_level_names = top
        condition.nested_top_level_names = nested
        return condition
    return None, make_condition


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
