"""The checks DynamoDB runs on a parsed expression, in its order.

Two phases, as in DynamoDB:

1. :func:`check_condition` / :func:`check_update` / :func:`check_projection`
   walk the tree in document order and find what does not depend on the
   request's maps: unknown functions and functions used in the wrong place,
   reserved words, list indexes out of range, repeated update sections.  The
   result is cached with the parsed tree.
2. A :class:`Binder` resolves ``#names`` and ``:values`` for one request and
   checks, operator by operator in post-order (operands before the operator
   using them): path depth, undefined placeholders, operand counts, operand
   types of query-side values, the same-operand rule, BETWEEN bounds, the IN
   list length and the 300-operator limit.  It produces *bound* nodes (plain
   tuples) that :mod:`kvstore.expressions.evaluate` compiles.

Almost every phase-2 check depends only on the request's *shape*: the names
map, which value placeholders exist and each value's DynamoDB type.  The two
that look inside a value (BETWEEN's lower bound above its upper bound, and
attribute_type's type name) go through :meth:`Binder.check_values`, which
runs them and records them, so that a compiled template of the request
(:mod:`kvstore.expressions`) re-runs exactly those for a request of the same
shape with other values.

Bound operands: ``("path", (str|int, ...))``, ``("value", v, slot)`` (slot:
the position of the placeholder in ExpressionAttributeValues), ``("size", op)``;
update values add ``("call", name, [ops])`` and ``("arith", "+"|"-", a, b)``.
Bound conditions: ``("cmp", op, a, b)``, ``("between", a, lo, hi)``,
``("in", a, [ops])``, ``("fn", name, [ops])``, ``("not", c, count)``,
``("and", [c])``, ``("or", [c])``.
"""

from kvstore import limits
from kvstore.expressions.messages import ExpressionError, detail, path_text, value_text
from kvstore.expressions.reserved import RESERVED_WORDS
from kvstore.expressions.tree import (
    And, Arith, Between, Call, Compare, Group, In, NameRef, Not, Or, Paren, Path, ValueRef,
)
from kvstore.types import type_of

__all__ = [
    "check_condition", "check_update", "check_projection", "Binder", "PathTree",
    "CONDITION_FUNCTIONS", "UPDATE_FUNCTIONS",
]

CONDITION_FUNCTIONS = {"attribute_exists": 1, "attribute_not_exists": 1, "attribute_type": 2,
                       "begins_with": 2, "contains": 2, "size": 1}
UPDATE_FUNCTIONS = {"if_not_exists": 2, "list_append": 2}
_MAX_INDEX = 2 ** 31 - 1

_ALL = None
_ORDERED = frozenset(("S", "N", "B"))
_STRING_BINARY = frozenset(("S", "B"))
_ITERABLE = frozenset(("S", "B", "SS", "NS", "BS", "L", "M"))
_NUMBER = frozenset(("N",))
_LIST = frozenset(("L",))
_ALL_TYPES_TEXT = "{NS,SS,L,BS,N,M,B,BOOL,NULL,S}"
_TYPE_NAMES = ("S", "SS", "N", "NS", "B", "BS", "BOOL", "NULL", "L", "M")

#: operator -> (operand types, allows absent operands: the same-operand rule applies)
_OPERATORS = {
    "=": (_ALL, True), "<>": (_ALL, True),
    "<": (_ORDERED, True), "<=": (_ORDERED, True), ">": (_ORDERED, True), ">=": (_ORDERED, True),
    "BETWEEN": (_ORDERED, True), "IN": (_ALL, True),
    "attribute_exists": (_ALL, True), "attribute_not_exists": (_ALL, True),
    "attribute_type": (_ALL, True), "contains": (_ALL, True),
    "begins_with": (_STRING_BINARY, True), "size": (_ITERABLE, True),
    "if_not_exists": (_ALL, True), "list_append": (_LIST, False),
    "+": (_NUMBER, False), "-": (_NUMBER, False),
}

_FUNCTION_CONTEXT = "The function is not allowed to be used this way in an expression"


# ================================================================ phase 1

def _check_path(path):
    for e in path.elements:
        t = type(e)
        if t is str:
            if e.upper() in RESERVED_WORDS:
                raise ExpressionError(detail("Attribute name is a reserved keyword", ("reserved keyword", e)))
        elif t is int and e > _MAX_INDEX:
            raise ExpressionError(detail("List index is not within the allowable range", ("index", f"[{e}]")))


def _condition_call(call, level):
    name = call.name
    if name not in CONDITION_FUNCTIONS:
        if name in UPDATE_FUNCTIONS:
            raise ExpressionError(detail("The function is not allowed in a condition expression",
                                         ("function", name)))
        raise ExpressionError(detail("Invalid function name", ("function", name)))
    if (level == 0 and name == "size") or (level > 0 and name != "size"):
        raise ExpressionError(detail(_FUNCTION_CONTEXT, ("function", name)))


def _walk_condition_operand(node, level):
    t = type(node)
    if t is Paren:
        _walk_condition_operand(node.inner, level)
    elif t is Path:
        _check_path(node)
    elif t is Call:
        _condition_call(node, level)
        for a in node.args:
            _walk_condition_operand(a, level + 1)


def _walk_condition(node):
    t = type(node)
    if t is Group or t is Not:
        _walk_condition(node.inner)
    elif t is And or t is Or:
        for item in node.items:
            _walk_condition(item)
    elif t is Compare:
        _walk_condition_operand(node.left, 1)
        _walk_condition_operand(node.right, 1)
    elif t is Between:
        for operand in (node.operand, node.low, node.high):
            _walk_condition_operand(operand, 1)
    elif t is In:
        _walk_condition_operand(node.operand, 1)
        for item in node.items:
            _walk_condition_operand(item, 1)
    elif t is Call:
        _walk_condition_operand(node, 0)


def check_condition(tree):
    """Phase-1 checks of a condition tree, in document order."""
    _walk_condition(tree)


def _walk_update_value(node, level):
    t = type(node)
    if t is Paren:
        _walk_update_value(node.inner, level)
    elif t is Path:
        _check_path(node)
    elif t is Arith:
        _walk_update_value(node.left, level + 1)
        _walk_update_value(node.right, level + 1)
    elif t is Call:
        name = node.name
        if name not in UPDATE_FUNCTIONS:
            if name in CONDITION_FUNCTIONS:
                raise ExpressionError(detail("The function is not allowed in an update expression",
                                             ("function", name)))
            raise ExpressionError(detail("Invalid function name", ("function", name)))
        if level > 0 and name != "if_not_exists":
            raise ExpressionError(detail(_FUNCTION_CONTEXT, ("function", name)))
        for a in node.args:
            _walk_update_value(a, level + 1)


def check_update(actions, sections):
    """Phase-1 checks of an update: per section its actions, then the repeated-section rule."""
    seen = set()
    for keyword, first, end in sections:
        for action in actions[first:end]:
            _check_path(action.path)
            if action.kind == "SET":
                _walk_update_value(action.value, 0)
        if keyword in seen:
            raise ExpressionError(f'The "{keyword}" section can only be used once in an update expression;')
        seen.add(keyword)


def check_projection(paths):
    for p in paths:
        _check_path(p)


# ================================================================ path trees

class PathTree:
    """Paths as a tree, rejecting overlapping and conflicting paths.

    Paths are added from the last written to the first; an error names the
    path being added as "path one" and one already in the tree as "path two",
    which is the order DynamoDB reports.
    """

    __slots__ = ("root",)

    def __init__(self):
        self.root = {}

    def add(self, path, leaf=None):
        node = self.root
        last = len(path) - 1
        for depth, e in enumerate(path):
            child = node.get(e, _ABSENT)
            if child is not _ABSENT:
                if type(child) is not dict or depth == last:
                    raise ExpressionError(detail(
                        "Two document paths overlap with each other; must remove or rewrite one of these paths",
                        ("path one", path_text(path)), ("path two", path_text(_leaf_path(path[:depth + 1], child)))))
                node = child
                continue
            if node:
                other = next(iter(node))
                if (type(other) is int) != (type(e) is int):
                    raise ExpressionError(detail(
                        "Two document paths conflict with each other; must remove or rewrite one of these paths",
                        ("path one", path_text(path)), ("path two", path_text(_leaf_path(path[:depth], node)))))
            if depth == last:
                node[e] = _Leaf(leaf)
            else:
                child = {}
                node[e] = child
                node = child


class _Leaf:
    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value


_ABSENT = object()


def _leaf_path(prefix, node):
    out = list(prefix)
    while type(node) is dict:
        key = next(iter(node))
        out.append(key)
        node = node[key]
    return out


# ================================================================ phase 2

class Binder:
    """Binds expressions of one request to its ExpressionAttributeNames / Values.

    Records which placeholders every expression used (for the "unused" check
    over the whole request) and, per expression, the top-level attribute names
    it reads and those it reaches into with ``.`` or ``[]``.
    """

    __slots__ = ("names", "values", "placeholders", "used_names", "used_values", "operators", "top", "nested",
                 "member", "checks")

    def __init__(self, names, values):
        self.names = names or {}
        self.values = values or {}
        self.placeholders = None
        self.used_names = set()
        self.used_values = set()
        self.checks = []
        self.start()

    def start(self, member=None):
        """Begin a new expression (operator count and name sets are per expression)."""
        self.member = member
        self.operators = 0
        self.top = set()
        self.nested = set()

    def check_values(self, check, *operands):
        """Run ``check(*values)`` on bound value operands, and record it with their slots.

        ``checks`` lists ``(member, check, slots)`` in the order they ran: the
        checks a request of the same shape must repeat on its own values.
        """
        check(*[o[1] for o in operands])
        self.checks.append((self.member, check, tuple(o[2] for o in operands)))

    # -- leaves ------------------------------------------------------------

    def path(self, path):
        elements = path.elements
        if len(elements) > limits.MAX_DOCUMENT_PATH_DEPTH:
            raise ExpressionError(detail("The document path has too many nesting levels",
                                         ("nesting levels", len(elements))))
        if len(elements) == 1 and type(elements[0]) is str:
            resolved = elements
        else:
            out = []
            names = self.names
            for e in elements:
                if type(e) is NameRef:
                    key = e.key
                    self.used_names.add(key)
                    name = names.get(key)
                    if name is None:
                        raise ExpressionError(detail(
                            "An expression attribute name used in the document path is not defined",
                            ("attribute name", key)))
                    out.append(name)
                else:
                    out.append(e)
            resolved = tuple(out)
        head = resolved[0]
        self.top.add(head)
        if len(resolved) > 1:
            self.nested.add(head)
        return resolved

    def value(self, ref):
        """The bound operand ``("value", v, slot)`` of a ``:value`` reference."""
        key = ref.key
        self.used_values.add(key)
        value = self.values.get(key, _ABSENT)
        if value is _ABSENT:
            raise ExpressionError(detail("An expression attribute value used in expression is not defined",
                                         ("attribute value", key)))
        placeholders = self.placeholders
        if placeholders is None:         # in ExpressionAttributeValues' order: a value's slot is its position
            placeholders = self.placeholders = tuple(self.values)
        return ("value", value, placeholders.index(key))

    def count(self, n=1):
        self.operators += n
        if self.operators > limits.MAX_EXPRESSION_OPERATORS:
            raise ExpressionError(detail("The expression contains too many operators",
                                         ("operator count", limits.MAX_EXPRESSION_OPERATORS + 1)))

    # -- operands ----------------------------------------------------------

    def operand(self, node, update=False):
        """``(bound operand, possible types)``; types None means "any"."""
        t = type(node)
        while t is Paren:
            node = node.inner
            t = type(node)
        if t is Path:
            return ("path", self.path(node)), _ALL
        if t is ValueRef:
            bound = self.value(node)
            return bound, frozenset((type_of(bound[1]),))
        if t is Call:
            return self.call(node, update)
        if t is Arith:
            a, ta = self.operand(node.left, update)
            b, tb = self.operand(node.right, update)
            self.operator(node.op, (a, b), (ta, tb))
            return ("arith", node.op, a, b), _NUMBER
        raise AssertionError(node)

    def call(self, node, update):
        name = node.name
        bound, types = [], []
        for a in node.args:
            b, t = self.operand(a, update)
            bound.append(b)
            types.append(t)
        arity = (UPDATE_FUNCTIONS if update else CONDITION_FUNCTIONS)[name]
        if len(bound) != arity:
            raise ExpressionError(detail("Incorrect number of operands for operator or function",
                                         ("operator or function", name), ("number of operands", len(bound))))
        self.operator(name, bound, types)
        if name == "size":
            return ("size", bound[0]), _NUMBER
        if name == "list_append":
            return ("call", name, bound), _LIST
        if name == "if_not_exists":
            return ("call", name, bound), _ALL
        return ("fn", name, bound), frozenset(("BOOL",))

    def operator(self, name, operands, types):
        """Operand types, the same-operand rule, per-operator rules, then the operator count."""
        accepted, distinct = _OPERATORS[name]
        if accepted is not None:
            for t in types:
                if t is not None and not (t & accepted):
                    raise ExpressionError(detail(
                        "Incorrect operand type for operator or function",
                        ("operator or function", name), ("operand type", _type_text(t))))
        first = operands[0]
        if distinct and len(operands) > 1 and first[0] == "path":
            for other in operands[1:]:
                if other[0] == "path" and other[1] == first[1]:
                    raise ExpressionError(detail(
                        "The first operand must be distinct from the remaining operands for this operator "
                        "or function", ("operator", name), ("first operand", path_text(first[1]))))
        rule = _RULES.get(name)
        if rule is not None:
            rule(self, name, operands, types)
        self.count()

    # -- conditions --------------------------------------------------------

    def condition(self, node):
        """Bound condition node for a condition tree."""
        t = type(node)
        while t is Group:
            node = node.inner
            t = type(node)
        if t is Compare:
            a, ta = self.operand(node.left)
            b, tb = self.operand(node.right)
            self.operator(node.op, (a, b), (ta, tb))
            return ("cmp", node.op, a, b)
        if t is And or t is Or:
            items = [self.condition(i) for i in node.items]
            self.count(len(items) - 1)
            return ("and" if t is And else "or", items)
        if t is Not:
            inner = self.condition(node.inner)
            for _ in range(node.count):
                self.count()
            return ("not", inner, node.count)
        if t is Between:
            bound = [self.operand(n) for n in (node.operand, node.low, node.high)]
            ops = [b for b, _ in bound]
            self.operator("BETWEEN", ops, [t for _, t in bound])
            return ("between", ops[0], ops[1], ops[2])
        if t is In:
            a, ta = self.operand(node.operand)
            bound = [self.operand(i) for i in node.items]
            ops = [a] + [b for b, _ in bound]
            self.operator("IN", ops, [ta] + [t for _, t in bound])
            return ("in", a, ops[1:])
        if t is Call:
            bound, _ = self.call(node, False)
            return bound
        raise AssertionError(node)


def _type_text(types):
    if len(types) == 1:
        return next(iter(types))
    return _ALL_TYPES_TEXT


def _requires_path(binder, name, operands, types):
    if operands[0][0] != "path":
        raise ExpressionError(detail("Operator or function requires a document path",
                                     ("operator or function", name)))


def _attribute_type(binder, name, operands, types):
    second = operands[1]
    if second[0] != "value" or type_of(second[1]) != "S":
        shown = _ALL_TYPES_TEXT if types[1] is None else _type_text(types[1])
        raise ExpressionError(detail("Incorrect operand type for operator or function",
                                     ("operator or function", name), ("operand type", shown)))
    binder.check_values(_type_name, second)


def _type_name(value):
    if value not in _TYPE_NAMES:
        raise ExpressionError(detail("Invalid attribute type name found", ("type", value),
                                     ("valid types", "{B,NULL,SS,BOOL,L,BS,N,NS,S,M}")))


def _between(binder, name, operands, types):
    low, high = operands[1], operands[2]
    if low[0] != "value" or high[0] != "value":
        return
    lo, hi = low[1], high[1]
    if type_of(lo) != type_of(hi):
        raise ExpressionError(detail("The BETWEEN operator requires same data type for lower and upper bounds",
                                     ("lower bound operand", value_text(lo)),
                                     ("upper bound operand", value_text(hi))))
    binder.check_values(_bounds_in_order, low, high)


def _bounds_in_order(lo, hi):
    a, b = (lo.value, hi.value) if type_of(lo) == "B" else (lo, hi)
    if a > b:
        raise ExpressionError(detail(
            "The BETWEEN operator requires upper bound to be greater than or equal to lower bound",
            ("lower bound operand", value_text(lo)), ("upper bound operand", value_text(hi))))


def _in(binder, name, operands, types):
    if len(operands) - 1 > limits.MAX_IN_OPERANDS:
        raise ExpressionError(detail("The IN operator is provided with too many operands",
                                     ("number of operands", len(operands) - 1)))


_RULES = {
    "attribute_exists": _requires_path,
    "attribute_not_exists": _requires_path,
    "if_not_exists": _requires_path,
    "attribute_type": _attribute_type,
    "BETWEEN": _between,
    "IN": _in,
}
