"""The request-shape template cache of :func:`~kvstore.expressions.compile_request`.

Requests repeat a few *shapes*: the same operation, texts and names, the
same value placeholders with values of the same types.  Every check but two
depends only on the shape (see :mod:`kvstore.expressions.request`), so the
first request of a shape that compiles leaves an ``instantiate(vals)``
function here, keyed by the shape; the next requests of the shape only re-run
the checks that look inside values and put their values in place.

The cache is a dict bounded to :data:`SIZE` entries, evicted oldest first a
quarter at a time (a dict finds its first entry after skipping the holes
earlier evictions left).  Lookups and stores are single dict operations;
eviction takes a lock so one thread evicts at a time.
"""

import itertools
import threading

from kvstore.expressions.compiled import Compiled
from kvstore.expressions.key_condition import values_getter
from kvstore.expressions.messages import ExpressionError, invalid

__all__ = ["TEMPLATES", "SIZE", "storable", "remember", "instantiator", "clear"]

#: instantiate functions by shape key, oldest first
TEMPLATES = {}
SIZE = 2048
_LOCK = threading.Lock()
#: a request whose texts and names add up to more characters than this gets no template (memory bound)
MAX_KEY_CHARS = 16384

_SETS = frozenset((set, frozenset))
_EMPTY_SET = object()


def storable(condition, filter, key_condition, update, projection, names):  # noqa: A002
    """Whether a request's shape is small enough to remember."""
    size = (len(condition or "") + len(filter or "") + len(key_condition or "") + len(update or "")
            + len(projection or ""))
    if names:
        for k, v in names.items():
            size += len(k) + len(v)
    return size <= MAX_KEY_CHARS


def remember(key, instantiate):
    """Store a template (an :func:`instantiator`'s), first evicting the oldest quarter when the cache is full."""
    if len(TEMPLATES) >= SIZE:
        with _LOCK:          # one evicting thread at a time; reads and stores are single dict
            # operations, and list(islice(...)) runs in C without letting another thread in
            if len(TEMPLATES) >= SIZE:
                for old in list(itertools.islice(TEMPLATES, SIZE // 4 + 1)):
                    TEMPLATES.pop(old, None)
    TEMPLATES[key] = instantiate


def clear():
    """Forget every template."""
    with _LOCK:
        TEMPLATES.clear()


def _member_type(value):
    """The class of the member of a set that ``type_of`` looks at (``_EMPTY_SET`` for an empty set)."""
    return type(next(iter(value), _EMPTY_SET))


def instantiator(checks, parts, vals=()):
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
        instantiate = lambda vals: shared   # noqa: E731
        instantiate.condition_and_plan = None
        return instantiate
    members = ()
    if _SETS.intersection(map(type, vals)):
        members = tuple((i, _member_type(v)) for i, v in enumerate(vals) if type(v) in _SETS)
    if not checks and not members:
        build.condition_and_plan = _condition_and_plan(parts)
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
    instantiate.looks_inside_values = True     # kvstore.operations.write_plans leaves such shapes alone
    instantiate.condition_and_plan = None
    return instantiate


def _condition_and_plan(parts):
    """``(condition, update plan)`` when the update alone depends on values and nothing but a condition
    is fixed (a transaction's usual Update action): ``Update.of(plan, vals)`` is then what an
    instantiation's ``update`` is, and the compiled TransactWriteItems builds that without the
    :class:`Compiled` around it (``condition_and_plan`` of every template; None otherwise)."""
    (condition, make_condition), filter_part, key_condition_part, (_, make_update), projection_part = parts
    plan = getattr(make_update, "plan", None)
    if plan is None or make_condition is not None or any(obj is not None or make is not None
                                                          for obj, make in (filter_part, key_condition_part,
                                                                            projection_part)):
        return None
    return condition, plan


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
