"""Syntax trees of the three expression grammars, as the parser builds them.

Nodes hold what was written: bare names, ``#name`` / ``:value`` placeholders
and list indexes are kept unresolved, so one parsed tree (cached by its text)
serves every request; :mod:`kvstore.expressions.validate` binds it to a
request's ExpressionAttributeNames / ExpressionAttributeValues.

The grammar (DynamoDB's, in the shape of its own ANTLR grammar)::

    condition  ::= operand comparator operand
                 | operand IN "(" operand { "," operand } ")"
                 | operand BETWEEN operand AND operand
                 | function
                 | "(" condition ")"
                 | NOT condition
                 | condition AND condition          (binds tighter than OR)
                 | condition OR condition
    update     ::= section { section }
    section    ::= SET path "=" set_value { "," path "=" set_value }
                 | REMOVE path { "," path }
                 | ADD path VALUE { "," path VALUE }
                 | DELETE path VALUE { "," path VALUE }
    set_value  ::= operand | arithmetic
    arithmetic ::= operand ("+" | "-") operand | "(" arithmetic ")"
    projection ::= path { "," path }
    operand    ::= path | VALUE | function | "(" operand ")"
    function   ::= ID "(" operand { "," operand } ")"
    path       ::= (ID | NAME) { "." (ID | NAME) | "[" INDEX "]" }

One pair of parentheses around anything is allowed; a pair directly inside
another pair (``((x))``) is "redundant parentheses".
"""

__all__ = [
    "NameRef", "Path", "ValueRef", "Call", "Paren", "Arith", "Compare", "Between", "In",
    "Not", "And", "Or", "Group", "Action", "unwrap",
]


class NameRef:
    """A ``#name`` path component, resolved through ExpressionAttributeNames."""

    __slots__ = ("key",)

    def __init__(self, key):
        self.key = key

    def __repr__(self):
        return self.key


class Path:
    """``path ::= (ID | NAME) { "." (ID | NAME) | "[" INDEX "]" }``

    ``elements``: str (bare name), :class:`NameRef` or int (list index).
    """

    __slots__ = ("elements",)

    def __init__(self, elements):
        self.elements = elements

    def __repr__(self):
        return f"Path{self.elements!r}"


class ValueRef:
    """``VALUE``: a ``:value`` placeholder."""

    __slots__ = ("key",)

    def __init__(self, key):
        self.key = key

    def __repr__(self):
        return self.key


class Call:
    """``function ::= ID "(" operand { "," operand } ")"`` (name checked after parsing)."""

    __slots__ = ("name", "args")

    def __init__(self, name, args):
        self.name = name
        self.args = args

    def __repr__(self):
        return f"{self.name}{tuple(self.args)!r}"


class Paren:
    """``"(" operand ")"`` or ``"(" arithmetic ")"``: transparent, kept for the redundancy rule."""

    __slots__ = ("inner",)

    def __init__(self, inner):
        self.inner = inner


class Arith:
    """``arithmetic ::= operand ("+" | "-") operand`` (update SET values only)."""

    __slots__ = ("op", "left", "right")

    def __init__(self, op, left, right):
        self.op = op
        self.left = left
        self.right = right


class Compare:
    """``operand comparator operand`` with comparator one of ``= <> < <= > >=``."""

    __slots__ = ("op", "left", "right")

    def __init__(self, op, left, right):
        self.op = op
        self.left = left
        self.right = right


class Between:
    """``operand BETWEEN operand AND operand``."""

    __slots__ = ("operand", "low", "high")

    def __init__(self, operand, low, high):
        self.operand = operand
        self.low = low
        self.high = high


class In:
    """``operand IN "(" operand { "," operand } ")"``."""

    __slots__ = ("operand", "items")

    def __init__(self, operand, items):
        self.operand = operand
        self.items = items


class Not:
    """``NOT condition``, repeated ``count`` times (``NOT NOT x`` is legal)."""

    __slots__ = ("inner", "count")

    def __init__(self, inner, count):
        self.inner = inner
        self.count = count


class And:
    """``condition AND condition AND ...`` (one node per unparenthesised chain)."""

    __slots__ = ("items",)

    def __init__(self, items):
        self.items = items


class Or:
    """``condition OR condition OR ...``."""

    __slots__ = ("items",)

    def __init__(self, items):
        self.items = items


class Group:
    """``"(" condition ")"``: transparent, kept for the redundancy rule."""

    __slots__ = ("inner",)

    def __init__(self, inner):
        self.inner = inner


class Action:
    """One update action: ``kind`` SET / REMOVE / ADD / DELETE, target ``path``, ``value`` (or None)."""

    __slots__ = ("kind", "path", "value")

    def __init__(self, kind, path, value):
        self.kind = kind
        self.path = path
        self.value = value


def unwrap(node):
    """``node`` without its parentheses."""
    while type(node) is Paren or type(node) is Group:
        node = node.inner
    return node
