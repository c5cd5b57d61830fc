"""DynamoDB's value semantics, and conditions compiled into Python closures.

A bound condition (see :mod:`kvstore.expressions.validate`) is turned into one
closure ``f(item) -> bool`` built from small closures, with fast paths for the
shapes every application uses (``attribute_not_exists(pk)``, ``version = :v``),
so evaluating a condition costs a dict lookup and a comparison.  Compilation
is split in two stages so that requests of one shape share all the work that
does not depend on their values (see "compiling in two stages" below).

Semantics (reference section 8.5): a path that does not resolve is *absent*;
``=`` is deep equality of same-typed values (sets and maps ignore order, NS by
value) and false when either side is absent; ``<>`` is its negation, so it is
true for an absent attribute; ordering needs two S, N or B values of the same
type; any type problem on the item side makes a predicate false, never an
error.
"""

from decimal import Decimal

from kvstore.types import Binary, type_of

__all__ = [
    "MISSING", "deep_equal", "equal", "ordered", "contains", "begins_with", "size_of",
    "path_getter", "resolve", "compile_condition", "condition_part", "operand_part",
    "copy_value",
]


class _Missing:
    """The value of a path that does not resolve (distinct from NULL, which is ``None``)."""

    __slots__ = ()

    def __repr__(self):
        return "MISSING"


MISSING = _Missing()

_ORDERED = (str, Decimal, Binary)
_EMPTY = {}


# ---------------------------------------------------------------- values

def deep_equal(a, b):
    """DynamoDB equality of two present values (types must match, ``True != 1``)."""
    t = type(a)
    if t is not type(b):
        return False
    if t is dict:
        if len(a) != len(b):
            return False
        for k, v in a.items():
            w = b.get(k, MISSING)
            if w is MISSING or not deep_equal(v, w):
                return False
        return True
    if t is list:
        if len(a) != len(b):
            return False
        for x, y in zip(a, b):
            if not deep_equal(x, y):
                return False
        return True
    return a == b


def equal(a, b):
    """``a = b`` where either side may be absent (absent is never equal)."""
    return a is not MISSING and b is not MISSING and deep_equal(a, b)


def ordered(a, b):
    """The pair to compare when ``a`` and ``b`` are both S, or both N, or both B; else None."""
    t = type(a)
    if t is not type(b):
        return None
    if t is str or t is Decimal:
        return a, b
    if t is Binary:
        return a.value, b.value
    return None


def contains(x, y):
    """``contains(x, y)``: substring, set membership or list element (reference 8.5)."""
    t = type(x)
    if t is str:
        return type(y) is str and y in x
    if t is Binary:
        return type(y) is Binary and y.value in x.value
    if t is set or t is frozenset:
        for member in x:
            return type(y) is type(member) and y in x
        return False
    if t is list:
        if y is MISSING:
            return False
        for e in x:
            if deep_equal(e, y):
                return True
    return False


def begins_with(x, y):
    t = type(x)
    if t is str:
        return type(y) is str and x.startswith(y)
    if t is Binary:
        return type(y) is Binary and x.value.startswith(y.value)
    return False


def size_of(x):
    """``size(x)``: a Decimal, or MISSING for N, BOOL, NULL and absent values.

    Strings count UTF-16 code units, as DynamoDB's Java implementation does.
    """
    t = type(x)
    if t is str:
        return Decimal(len(x.encode("utf-16-le", "surrogatepass")) // 2)
    if t is Binary:
        return Decimal(len(x.value))
    if t is list or t is dict or t is set or t is frozenset:
        return Decimal(len(x))
    return MISSING


def copy_value(v):
    """A copy sharing no container with ``v`` (scalars are immutable and shared)."""
    t = type(v)
    if t is dict:
        return {k: copy_value(x) for k, x in v.items()}
    if t is list:
        return [copy_value(x) for x in v]
    if t is set or t is frozenset:
        return set(v)
    return v


# ---------------------------------------------------------------- paths

def resolve(item, path):
    """The value at ``path`` (tuple of str keys and int indexes) in ``item``, or MISSING."""
    cur = item
    for c in path:
        if type(c) is int:
            if type(cur) is list and c < len(cur):
                cur = cur[c]
            else:
                return MISSING
        elif type(cur) is dict:
            cur = cur.get(c, MISSING)
            if cur is MISSING:
                return MISSING
        else:
            return MISSING
    return cur


def path_getter(path):
    """``get(item)`` returning the value at ``path`` or MISSING (item is a dict)."""
    if len(path) == 1:
        name = path[0]

        def get(item):
            return item.get(name, MISSING)
        return get

    def get_nested(item):
        return resolve(item, path)
    return get_nested


# ---------------------------------------------------------------- compiling in two stages
#
# A bound node compiles to a *part*: ``(fn, None)`` when it reads no request
# value, so the closure is built once and shared by every request of the
# shape; else ``(None, make)`` where ``make(vals)`` builds the closures for one
# request, reading its values by slot (``vals[slot]``).  A value operand is
# ``("value", v, slot)``, or ``("value", v)`` for a value fixed at compile
# time.  Makers capture slots and types, never the values they were built from.

def compile_condition(node, vals=None):
    """``f(item) -> bool`` for a bound condition node (item is a dict), reading slots from ``vals``."""
    fn, make = condition_part(node)
    return fn if make is None else make(vals)


def condition_part(node):
    """The part (see above) of a bound condition node."""
    return _COMPILERS[node[0]](node)


def operand_part(node):
    kind = node[0]
    if kind == "path":
        return path_getter(node[1]), None
    if kind == "value":
        if len(node) == 2:
            return _constant(node[1]), None
        slot = node[2]

        def make(vals):
            value = vals[slot]
            return lambda item: value
        return None, make
    if kind == "size":
        return _combine(_size_getter, operand_part(node[1]))
    raise AssertionError(node)


def _constant(value):
    return lambda item: value


def _size_getter(inner):
    return lambda item: size_of(inner(item))


def _combine(build, *parts):
    """The part of ``build(*closures)``, where each closure comes from one of ``parts``."""
    for _, make in parts:
        if make is not None:
            break
    else:
        return build(*[fn for fn, _ in parts]), None
    if len(parts) == 1:
        only = parts[0][1]
        return None, lambda vals: build(only(vals))
    if len(parts) == 2:
        (fn1, make1), (fn2, make2) = parts
        if make1 is None:
            return None, lambda vals: build(fn1, make2(vals))
        if make2 is None:
            return None, lambda vals: build(make1(vals), fn2)
        return None, lambda vals: build(make1(vals), make2(vals))
    makes = [_keep(fn) if make is None else make for fn, make in parts]
    return None, lambda vals: build(*[m(vals) for m in makes])


def _keep(fn):
    return lambda vals: fn


# ---------------------------------------------------------------- conditions

def _compile_cmp(node):
    _, op, a, b = node
    if op == "=" or op == "<>":
        fast = _fast_equal(a, b) or _fast_equal(b, a)
        if fast is not None:
            return fast if op == "=" else _combine(_negation, fast)
        return _combine(_equal_test if op == "=" else _not_equal_test, operand_part(a), operand_part(b))
    test = _ORDER_TESTS[op]
    return _combine(lambda ga, gb: _ordered_test(ga, gb, test), operand_part(a), operand_part(b))


def _equal_test(ga, gb):
    return lambda item: equal(ga(item), gb(item))


def _not_equal_test(ga, gb):
    return lambda item: not equal(ga(item), gb(item))


def _negation(inner):
    return lambda item: not inner(item)


def _ordered_test(ga, gb, test):
    def compare(item):
        pair = ordered(ga(item), gb(item))
        return pair is not None and test(*pair)
    return compare


def _fast_equal(a, b):
    """The part of ``top_level_name = :scalar`` without the generic machinery (or None)."""
    if a[0] != "path" or len(a[1]) != 1 or b[0] != "value":
        return None
    name, value = a[1][0], b[1]
    t = type(value)
    if value is None:
        return (lambda item: item.get(name, MISSING) is None), None
    if t is str or t is Decimal or t is Binary or t is bool:
        if len(b) == 2:
            return _scalar_equal(name, t, value), None
        slot = b[2]

        def make(vals):
            value = vals[slot]

            def eq(item):
                x = item.get(name, MISSING)
                return x.__class__ is t and x == value
            return eq
        return None, make
    return None


def _scalar_equal(name, t, value):
    def eq(item):
        x = item.get(name, MISSING)
        return x.__class__ is t and x == value
    return eq


_ORDER_TESTS = {
    "<": lambda x, y: x < y,
    "<=": lambda x, y: x <= y,
    ">": lambda x, y: x > y,
    ">=": lambda x, y: x >= y,
}


def _compile_between(node):
    _, a, lo, hi = node
    return _combine(_between_test, operand_part(a), operand_part(lo), operand_part(hi))


def _between_test(ga, glo, ghi):
    def between(item):
        x = ga(item)
        low = ordered(x, glo(item))
        if low is None or low[0] < low[1]:
            return False
        high = ordered(x, ghi(item))
        return high is not None and high[0] <= high[1]
    return between


def _compile_in(node):
    _, a, items = node
    part = operand_part(a)
    if all(i[0] == "value" for i in items):
        if all(len(i) == 2 for i in items):
            candidates = [i[1] for i in items]
            return _combine(lambda ga: _in_values(ga, candidates), part)
        slots = [i[2] for i in items]
        make = _keep(part[0]) if part[1] is None else part[1]
        return None, lambda vals: _in_values(make(vals), [vals[s] for s in slots])
    return _combine(_in_operands, part, *[operand_part(i) for i in items])


def _in_values(ga, candidates):
    scalars = set()
    for v in candidates:
        if type(v) in _ORDERED:
            scalars.add((type(v), v.value if type(v) is Binary else v))

    if len(scalars) == len(candidates):
        def in_scalars(item):
            x = ga(item)
            t = type(x)
            if t is Binary:
                return (t, x.value) in scalars
            if t is str or t is Decimal:
                return (t, x) in scalars
            return False
        return in_scalars

    def in_values(item):
        x = ga(item)
        if x is MISSING:
            return False
        for v in candidates:
            if deep_equal(x, v):
                return True
        return False
    return in_values


def _in_operands(ga, *getters):
    def in_operands(item):
        x = ga(item)
        if x is MISSING:
            return False
        for g in getters:
            if equal(x, g(item)):
                return True
        return False
    return in_operands


def _compile_fn(node):
    _, name, args = node
    if name == "attribute_exists" or name == "attribute_not_exists":
        path = args[0][1]
        positive = name == "attribute_exists"
        if len(path) == 1:
            key = path[0]
            if positive:
                return (lambda item: key in item), None
            return (lambda item: key not in item), None
        if positive:
            return (lambda item: resolve(item, path) is not MISSING), None
        return (lambda item: resolve(item, path) is MISSING), None
    return _combine(_FUNCTION_TESTS[name], operand_part(args[0]), operand_part(args[1]))


def _attribute_type_test(ga, gb):
    def attribute_type(item):
        x = ga(item)
        return x is not MISSING and type_of(x) == gb(item)
    return attribute_type


def _begins_with_test(ga, gb):
    return lambda item: begins_with(ga(item), gb(item))


def _contains_test(ga, gb):
    return lambda item: contains(ga(item), gb(item))


_FUNCTION_TESTS = {"attribute_type": _attribute_type_test, "begins_with": _begins_with_test,
                   "contains": _contains_test}


def _compile_not(node):
    inner = condition_part(node[1])
    if node[2] % 2 == 0:
        return inner
    return _combine(_negation, inner)


def _compile_and(node):
    return _combine(_all_of, *[condition_part(n) for n in node[1]])


def _all_of(*parts):
    if len(parts) == 2:
        first, second = parts
        return lambda item: first(item) and second(item)

    def all_of(item):
        for p in parts:
            if not p(item):
                return False
        return True
    return all_of


def _compile_or(node):
    return _combine(_any_of, *[condition_part(n) for n in node[1]])


def _any_of(*parts):
    if len(parts) == 2:
        first, second = parts
        return lambda item: first(item) or second(item)

    def any_of(item):
        for p in parts:
            if p(item):
                return True
        return False
    return any_of


_COMPILERS = {
    "cmp": _compile_cmp,
    "between": _compile_between,
    "in": _compile_in,
    "fn": _compile_fn,
    "not": _compile_not,
    "and": _compile_and,
    "or": _compile_or,
}
