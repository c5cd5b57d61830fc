"""PartiQL conditions, values and updates as DynamoDB expressions.

A statement is run by the item operations, so its WHERE becomes a
KeyConditionExpression / FilterExpression / ConditionExpression and its
SET/REMOVE an UpdateExpression, with every name behind a ``#n`` placeholder
and every value behind a ``:v`` placeholder.  Rendering happens once per
statement (plans are cached); per request only the values are bound, by the
getters collected here, from the request's ``Parameters``.
"""

from decimal import Decimal

from kvstore.errors import ValidationException
from kvstore.limits import MAX_NESTING_DEPTH
from kvstore.partiql import tree as t
from kvstore.partiql.errors import at
from kvstore.partiql.parser import TYPE_NAMES
from kvstore.types import Binary, type_of

#: functions that are conditions
CONDITION_FUNCTIONS = frozenset(("attribute_exists", "attribute_not_exists", "attribute_type", "begins_with",
                                 "contains"))
ORDERING = frozenset(("<", "<=", ">", ">="))
_UNORDERED = frozenset(("BOOL", "NULL", "L", "M", "SS", "NS", "BS"))
_FLIP = {"=": "=", "<>": "<>", "<": ">", "<=": ">=", ">": "<", ">=": "<="}


def is_value(node):
    return isinstance(node, (t.Lit, t.Param, t.ListExpr, t.MapExpr, t.BagExpr))


NESTING = ("Nesting Levels have exceeded supported limits: Attributes in the item have nested levels beyond "
           "supported limit")


def getter(node, location="root", depth=2):
    """``get(params) -> native value`` for a value node (literal, ``?``, list, map or set).

    ``depth``: the level of M/L the value sits at, the item itself being 1 (an INSERT's
    VALUE map starts at 1, a value in a WHERE or SET at 2); past 32 levels it is refused.
    """
    if depth > MAX_NESTING_DEPTH and isinstance(node, (t.ListExpr, t.MapExpr)):
        raise ValidationException(NESTING)
    if isinstance(node, t.Lit):
        value = node.value
        if isinstance(value, str) and node.token is not None and node.token.kind == "op":
            raise at("Unexpected path component", node.token)      # COUNT(*)'s star
        return lambda params: value
    if isinstance(node, t.Param):
        i = node.index
        return lambda params: params[i]
    if isinstance(node, t.ListExpr):
        parts = [getter(n, f"{location}[{i}]", depth + 1) for i, n in enumerate(node.items)]
        if all(isinstance(n, t.Lit) for n in node.items):
            value = [p(None) for p in parts]
            return lambda params: list(value)
        return lambda params: [p(params) for p in parts]
    if isinstance(node, t.MapExpr):
        keys = [k for k, _ in node.pairs]
        if len(set(keys)) != len(keys):
            duplicate = next(k for k in keys if keys.count(k) > 1)
            raise ValidationException(f"Duplicate map key in the item: {duplicate}")
        parts = [(k, getter(n, f"{location}.{k}", depth + 1)) for k, n in node.pairs]
        return lambda params: {k: p(params) for k, p in parts}
    if isinstance(node, t.BagExpr):
        parts = [getter(n) for n in node.items]
        return lambda params: make_set([p(params) for p in parts])
    if isinstance(node, t.Call):
        raise at(f"Unsupported data type: {node.name} under key {location}", node.token)
    raise at(f"Unsupported data type: {type(node).__name__.lower()} under key {location}", node.token)


def make_set(members):
    """A set literal's value: one type of number, string or binary members, no duplicates."""
    kinds = {type(m) for m in members}
    if len(kinds) != 1 or not kinds <= {str, Decimal, Binary}:
        raise ValidationException("One or more parameter values were invalid: "
                                  "A set may only contain numbers, strings or binaries of one type")
    out = set(members)
    if len(out) != len(members):
        shown = ", ".join(str(m.value if type(m) is Binary else m) for m in members)
        raise ValidationException(
            f"One or more parameter values were invalid: Input collection [{shown}] contains duplicates.")
    return out


class Renderer:
    """Collects ``#n`` names and ``:v`` values while expressions are rendered."""

    def __init__(self):
        self.names = {}            # attribute name -> placeholder
        self.values = []           # getters, ``:v{i}`` in order
        self.checks = []           # (operator, getter): ordering operands checked per request

    # -- pieces --------------------------------------------------------------------

    def name(self, attribute):
        placeholder = self.names.get(attribute)
        if placeholder is None:
            placeholder = self.names[attribute] = f"#n{len(self.names)}"
        return placeholder

    def path(self, node):
        out = [self.name(node.steps[0])]
        for step in node.steps[1:]:
            out.append(f"[{step}]" if isinstance(step, int) else "." + self.name(step))
        return "".join(out)

    def value(self, get):
        self.values.append(get)
        return f":v{len(self.values) - 1}"

    def names_map(self):
        return {p: n for n, p in self.names.items()} or None

    def bind(self, params):
        """ExpressionAttributeValues for one request (None when there are none)."""
        for op, get in self.checks:
            check_ordered(op, get(params))
        if not self.values:
            return None
        return {f":v{i}": get(params) for i, get in enumerate(self.values)}

    # -- conditions ----------------------------------------------------------------------

    def condition(self, node):
        """Text of a condition; ``(text, precedence)`` with 0 = OR, 1 = AND, 2 = anything tighter."""
        return self._condition(node)[0]

    def _condition(self, node):
        kind = type(node)
        if kind is t.And:
            return " AND ".join(self._wrapped(n, 1) for n in node.operands), 1
        if kind is t.Or:
            return " OR ".join(self._wrapped(n, 0) for n in node.operands), 0
        if kind is t.Not:
            return "NOT " + self._wrapped(node.operand, 2), 2
        if kind is t.Compare:
            return self._compare(node), 2
        if kind is t.Between:
            text = (f"{self.operand(node.operand, 'BETWEEN')} BETWEEN {self.operand(node.low, 'BETWEEN')} "
                    f"AND {self.operand(node.high, 'BETWEEN')}")
            return (f"NOT ({text})", 2) if node.negated else (text, 2)
        if kind is t.In:
            if not node.items:
                raise ValidationException("Statement wasn't well formed, can't be processed: Unexpected term")
            text = f"{self.operand(node.operand)} IN ({', '.join(self.operand(i) for i in node.items)})"
            return (f"NOT ({text})", 2) if node.negated else (text, 2)
        if kind is t.Is:
            return self._is(node), 2
        if kind is t.Call:
            return self._function(node), 2
        if kind is t.Path:
            return f"{self.path(node)} = {self.value(lambda params: True)}", 2
        raise ValidationException(f"Unsupported operation: {kind.__name__} as a condition")

    def _wrapped(self, node, level):
        text, precedence = self._condition(node)
        return f"({text})" if precedence < level or (level == 2 and precedence < 2) else text

    def _compare(self, node):
        op, left, right = node.op, node.left, node.right
        for fn, other in ((left, right), (right, left)):
            if isinstance(fn, t.Call) and fn.name in CONDITION_FUNCTIONS and isinstance(other, t.Lit) \
                    and type(other.value) is bool and op in ("=", "<>"):
                text = self._function(fn)
                return text if other.value == (op == "=") else f"NOT {text}"
        return f"{self.operand(left, op)} {op} {self.operand(right, op)}"

    def _is(self, node):
        operand = self.operand(node.operand)
        if node.type_name == "MISSING":
            return f"attribute_exists({operand})" if node.negated else f"attribute_not_exists({operand})"
        types = ("NULL",) if node.type_name == "NULL" else TYPE_NAMES[node.type_name]
        tests = [f"attribute_type({operand}, {self.value(_constant(name))})" for name in types]
        text = " OR ".join(tests)
        if node.negated:
            return f"NOT ({text})" if len(tests) > 1 else f"NOT {text}"
        return f"({text})" if len(tests) > 1 else text

    def _function(self, node):
        name = node.name
        if name not in CONDITION_FUNCTIONS:
            raise at(f"Unrecognized function: {name}", node.token)
        check_arity(node)
        return f"{name}({', '.join(self.operand(a) for a in node.args)})"

    def operand(self, node, op=None):
        if isinstance(node, t.Path):
            return self.path(node)
        if is_value(node):
            get = getter(node)
            if op in ORDERING or op == "BETWEEN":
                self.checks.append((op, get))
            return self.value(get)
        if isinstance(node, t.Call):
            if node.name == "size":
                check_arity(node)
                return f"size({', '.join(self.operand(a) for a in node.args)})"
            if node.name in CONDITION_FUNCTIONS:
                return self._function(node)
            raise at(f"Unrecognized function: {node.name}", node.token)
        if isinstance(node, t.Arith):
            raise at("Unsupported operation: arithmetic in a condition", node.token)
        text, _ = self._condition(node)
        return f"({text})"

    # -- updates -----------------------------------------------------------------------------

    def update(self, actions):
        """UpdateExpression text of SET / REMOVE actions (set_add / set_delete become ADD / DELETE)."""
        sections = {"SET": [], "REMOVE": [], "ADD": [], "DELETE": []}
        for verb, path, value in actions:
            target = self.path(path)
            if verb == "REMOVE":
                sections["REMOVE"].append(target)
            elif isinstance(value, t.Call) and value.name in ("set_add", "set_delete"):
                sections["ADD" if value.name == "set_add" else "DELETE"].append(
                    f"{target} {self._set_function(path, value)}")
            else:
                sections["SET"].append(f"{target} = {self._set_value(value)}")
        out = []
        for verb, items in sections.items():
            if items:
                out.append(f"{verb} {', '.join(items)}")
        return " ".join(out)

    def _set_function(self, path, call):
        upper = call.name.upper()
        if len(call.args) != 2:
            raise at(f"{upper} must have exactly two arguments", call.token)
        first, second = call.args
        if not isinstance(first, t.Path) or first.steps != path.steps:
            raise at(f"The first argument to {upper} must equal the assignment value", call.token)
        message = f"The second argument to {upper} must be a value with type SET"
        if isinstance(second, t.Param):
            i = second.index

            def get(params):
                value = params[i]
                if type(value) not in (set, frozenset):
                    raise at(message, first.token)
                return value
            return self.value(get)
        if not isinstance(second, t.BagExpr):
            raise at(message, first.token)
        return self.value(getter(second))

    def _set_value(self, node):
        if isinstance(node, t.Arith):
            return f"{self._set_value(node.left)} {node.op} {self._set_value(node.right)}"
        if isinstance(node, t.Call):
            if node.name in ("list_append", "if_not_exists"):
                return f"{node.name}({', '.join(self._set_value(a) for a in node.args)})"
            raise at(f"Unrecognized function: {node.name}", node.token)
        if isinstance(node, t.Path):
            return self.path(node)
        if is_value(node):
            return self.value(getter(node))
        raise at("Unexpected path component", node.token)


_ARITY = {"attribute_exists": 1, "attribute_not_exists": 1, "attribute_type": 2, "begins_with": 2,
          "contains": 2, "size": 1}


def check_arity(node):
    if len(node.args) != _ARITY[node.name]:
        raise ValidationException("Incorrect number of operands for operator or function; operator or function: "
                                  f"{node.name}, number of operands: {len(node.args)}")


def _constant(value):
    return lambda params: value


def check_ordered(op, value):
    kind = type_of(value)
    if kind in _UNORDERED:
        raise ValidationException("Incorrect operand type for operator or function; "
                                  f"operator or function: {op}, operand type: {kind}")


def flip(op):
    return _FLIP[op]
