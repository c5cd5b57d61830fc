"""The syntax tree the PartiQL parser builds: statements, conditions and values.

Values are :class:`Lit` (a native constant, converted once at parse time),
:class:`Param` (the n-th ``?``), containers of those, paths, function calls
and ``+``/``-``.  Every node keeps the token it started at for positions in
error messages.
"""


class Node:
    __slots__ = ("token", "params")


class Lit(Node):
    __slots__ = ("value",)

    def __init__(self, value, token):
        self.value, self.token = value, token


class Param(Node):
    __slots__ = ("index",)

    def __init__(self, index, token):
        self.index, self.token = index, token


class ListExpr(Node):
    __slots__ = ("items",)

    def __init__(self, items, token):
        self.items, self.token = items, token


class MapExpr(Node):
    __slots__ = ("pairs",)

    def __init__(self, pairs, token):
        self.pairs, self.token = pairs, token        # [(key str, node)]


class BagExpr(Node):
    __slots__ = ("items",)

    def __init__(self, items, token):
        self.items, self.token = items, token


class Path(Node):
    """``a.b[0]."c"``: ``steps`` are names (str) and list indexes (int); the first is a name."""

    __slots__ = ("steps",)

    def __init__(self, steps, token):
        self.steps, self.token = steps, token

    @property
    def last_name(self):
        return next(s for s in reversed(self.steps) if isinstance(s, str))


class Call(Node):
    __slots__ = ("name", "args")

    def __init__(self, name, args, token):
        self.name, self.args, self.token = name, args, token      # name lower-cased


class Arith(Node):
    __slots__ = ("op", "left", "right")

    def __init__(self, op, left, right, token):
        self.op, self.left, self.right, self.token = op, left, right, token


class Compare(Node):
    __slots__ = ("op", "left", "right")

    def __init__(self, op, left, right, token):
        self.op, self.left, self.right, self.token = op, left, right, token


class Between(Node):
    __slots__ = ("operand", "low", "high", "negated")

    def __init__(self, operand, low, high, negated, token):
        self.operand, self.low, self.high, self.negated, self.token = operand, low, high, negated, token


class In(Node):
    __slots__ = ("operand", "items", "negated")

    def __init__(self, operand, items, negated, token):
        self.operand, self.items, self.negated, self.token = operand, items, negated, token


class Is(Node):
    __slots__ = ("operand", "type_name", "negated")

    def __init__(self, operand, type_name, negated, token):
        self.operand, self.type_name, self.negated, self.token = operand, type_name, negated, token


class Not(Node):
    __slots__ = ("operand",)

    def __init__(self, operand, token):
        self.operand, self.token = operand, token


class And(Node):
    __slots__ = ("operands",)

    def __init__(self, operands, token):
        self.operands, self.token = operands, token


class Or(Node):
    __slots__ = ("operands",)

    def __init__(self, operands, token):
        self.operands, self.token = operands, token


# ---------------------------------------------------------------- statements

class Select(Node):
    """``projection`` None for ``*``; ``order``: [(name, descending)]."""

    __slots__ = ("projection", "table", "index", "where", "order")

    def __init__(self, projection, table, index, where, order, token):
        self.projection, self.table, self.index, self.where, self.order = projection, table, index, where, order
        self.token = token


class Insert(Node):
    __slots__ = ("table", "value")

    def __init__(self, table, value, token):
        self.table, self.value, self.token = table, value, token


class Update(Node):
    """``actions``: ("SET", Path, value node) and ("REMOVE", Path, None) in statement order."""

    __slots__ = ("table", "actions", "where", "returning")

    def __init__(self, table, actions, where, returning, token):
        self.table, self.actions, self.where, self.returning, self.token = table, actions, where, returning, token


class Delete(Node):
    __slots__ = ("table", "where", "returning")

    def __init__(self, table, where, returning, token):
        self.table, self.where, self.returning, self.token = table, where, returning, token


class Exists(Node):
    """``EXISTS(SELECT ...)``: a transaction's condition check."""

    __slots__ = ("select",)

    def __init__(self, select, token):
        self.select, self.token = select, token
