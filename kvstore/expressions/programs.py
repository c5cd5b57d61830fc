"""Condition and update programs: the common expression shapes as small tuples the core evaluates.

A bound ConditionExpression or UpdateExpression (see :mod:`kvstore.expressions.validate`)
of a shape every application uses compiles here into a *program*, a tree of tuples
that ``kvstore._core.condition_holds(program, item, vals)`` and
``kvstore._core.apply_update(program, item, vals)`` evaluate in one call (compiled
in ``ext/kvstore/_cwrite.pyx``; the pure-Python twin, which defines what a program
means, is in :mod:`kvstore._pycore`).  A program reads the request's
ExpressionAttributeValues by slot, so one program serves every request of a shape.

Covered (anything else compiles to None and keeps the closures of
:mod:`kvstore.expressions.evaluate` / :mod:`kvstore.expressions.update`):

* conditions: ``attribute_exists(p)``, ``attribute_not_exists(p)``, ``p op :v``
  and ``:v op p`` for ``= <> < <= > >=``, and AND / OR / NOT of those, where
  ``p`` is a top-level or nested path (map keys and list indexes);
* updates: ``SET p = operand`` where an operand is ``:v``, a path,
  ``x + y`` / ``x - y`` of those, or ``if_not_exists(path, operand)``;
  ``REMOVE p``; ``ADD p :n`` of a number; targets are top-level or nested
  map paths (no list index), as a tree in the order the general update walks it.

Program nodes (the opcodes are ``kvstore._pycore``'s):

* condition: ``(C_EXISTS, path)``, ``(C_NOT_EXISTS, path)``,
  ``(C_CMP, op, path, slot)`` (op: 0 ``=``, 1 ``<>``, 2 ``<``, 3 ``<=``, 4 ``>``,
  5 ``>=``), ``(C_AND, (node, ...))``, ``(C_OR, (node, ...))``, ``(C_NOT, node)``;
* update: a tuple of entries ``(name, U_SET, operand, depth)``,
  ``(name, U_REMOVE, None, depth)``, ``(name, U_ADD, slot, depth)`` and
  ``(name, U_NODE, entries, depth)`` (a nested map's own entries); operands
  ``(O_VALUE, slot)``, ``(O_PATH, path)``, ``(O_ADD, a, b)``, ``(O_SUBTRACT, a, b)``,
  ``(O_IF_NOT_EXISTS, path operand, default operand)``.
"""

from decimal import Decimal

from kvstore._pycore import (C_AND, C_CMP, C_EXISTS, C_NOT, C_NOT_EXISTS, C_OR, O_ADD, O_IF_NOT_EXISTS, O_PATH,
                             O_SUBTRACT, O_VALUE, U_ADD, U_NODE, U_REMOVE, U_SET)
from kvstore.types import Binary

__all__ = ["condition_program", "update_program", "reads_values"]

_OPS = {"=": 0, "<>": 1, "<": 2, "<=": 3, ">": 4, ">=": 5}
_FLIPPED = {"=": "=", "<>": "<>", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
_SCALARS = (str, Decimal, Binary, bool, type(None))
_MAX_NODES = 64


def _path(path):
    if all((type(c) is str) or (type(c) is int and c >= 0) for c in path):
        return tuple(path)
    return None


def _slot(operand):
    if operand[0] == "value" and len(operand) == 3 and type(operand[2]) is int:
        return operand[2]
    return None


def condition_program(node):
    """The program of a bound condition node, or None when its shape is not covered."""
    try:
        return _condition(node, [0])
    except _NotCovered:
        return None


class _NotCovered(Exception):
    pass


def reads_values(program):
    """Whether a condition program reads a request value (``x = :null`` does, though the general
    evaluator's closure needs no value for it)."""
    op = program[0]
    if op == C_CMP:
        return True
    if op == C_AND or op == C_OR:
        return any(reads_values(inner) for inner in program[1])
    if op == C_NOT:
        return reads_values(program[1])
    return False


def _condition(node, count):
    count[0] += 1
    if count[0] > _MAX_NODES:
        raise _NotCovered
    kind = node[0]
    if kind == "fn" and node[1] in ("attribute_exists", "attribute_not_exists"):
        arg = node[2][0]
        path = _path(arg[1]) if arg[0] == "path" else None
        if path is None:
            raise _NotCovered
        return (C_EXISTS if node[1] == "attribute_exists" else C_NOT_EXISTS, path)
    if kind == "cmp":
        _, op, a, b = node
        if a[0] != "path":
            a, b, op = b, a, _FLIPPED[op]
        if a[0] != "path":
            raise _NotCovered
        path, slot = _path(a[1]), _slot(b)
        if path is None or slot is None:
            raise _NotCovered
        if type(b[1]) not in _SCALARS and op not in ("=", "<>"):
            raise _NotCovered
        return (C_CMP, _OPS[op], path, slot)
    if kind == "and" or kind == "or":
        return (C_AND if kind == "and" else C_OR, tuple(_condition(n, count) for n in node[1]))
    if kind == "not":
        inner = _condition(node[1], count)
        return inner if node[2] % 2 == 0 else (C_NOT, inner)
    raise _NotCovered


def update_program(steps):
    """The program of an update's steps (``kvstore.expressions.update._Step``: kind, path and the bound
    value it was built from), or None when a step is not covered."""
    root = {}
    try:
        for kind, path, bound in steps:
            if not path or not all(type(c) is str for c in path):
                raise _NotCovered
            if kind == "SET":
                entry = (U_SET, _operand(bound, True))
            elif kind == "REMOVE":
                entry = (U_REMOVE, None)
            elif kind == "ADD":
                slot = _slot(bound)
                if slot is None or type(bound[1]) is not Decimal:
                    raise _NotCovered
                entry = (U_ADD, slot)
            else:
                raise _NotCovered
            node = root
            for name in path[:-1]:
                node = node.setdefault(name, {})
                if type(node) is not dict:
                    raise _NotCovered
            node[path[-1]] = entry + (len(path),)
    except _NotCovered:
        return None
    return _entries(root, 1)


def _entries(tree, depth):
    out = []
    for name, entry in tree.items():
        if type(entry) is dict:
            out.append((name, U_NODE, _entries(entry, depth + 1), depth))
        else:
            out.append((name,) + entry)
    return tuple(out)


def _operand(bound, top):
    kind = bound[0]
    if kind == "value":
        slot = _slot(bound)
        if slot is None:
            raise _NotCovered
        return (O_VALUE, slot)
    if kind == "path":
        path = _path(bound[1])
        if path is None:
            raise _NotCovered
        return (O_PATH, path)
    if kind == "arith":
        return (O_ADD if bound[1] == "+" else O_SUBTRACT, _operand(bound[2], False), _operand(bound[3], False))
    if kind == "call" and bound[1] == "if_not_exists":
        first, default = bound[2]
        if first[0] != "path":
            raise _NotCovered
        return (O_IF_NOT_EXISTS, _operand(first, False), _operand(default, False))
    raise _NotCovered
