"""UpdateExpression (and legacy AttributeUpdates): binding and application.

Application follows DynamoDB (reference 8.7): every right-hand side reads the
item as it was *before* the update; the target paths form a tree that is
walked over the old item to build the new one, so

* a nested target needs its parent to exist with the right kind (map for
  ``.name``, list for ``[i]``), else "The document path provided in the update
  expression is invalid for update";
* list elements are addressed by their original index: ``SET a[7]`` past the
  end appends (several appends land in index order), ``REMOVE a[1], a[2]``
  removes the two original elements and the rest shift left;
* ADD treats a missing number as 0 and a missing set as empty; DELETE of the
  last members removes the attribute.

The new item shares unchanged attributes with the old one (both are treated
as immutable by the engine) and copies everything it writes.
"""

import decimal
from decimal import Decimal

from kvstore import limits
from kvstore.errors import ValidationException, invalid_parameter
from kvstore.expressions.evaluate import MISSING, copy_value, path_getter
from kvstore.expressions.messages import ExpressionError, detail
from kvstore.expressions.projection import Projection
from kvstore.expressions.validate import PathTree
from kvstore.types import decimal_result, type_of

__all__ = ["Update", "bind_update", "NOT_FOUND", "BAD_PATH", "BAD_TYPE"]

NOT_FOUND = "The provided expression refers to an attribute that does not exist in the item"
BAD_PATH = "The document path provided in the update expression is invalid for update"
BAD_TYPE = "An operand in the update expression has an incorrect data type"
_NESTING = (f"Nesting Levels have exceeded supported limits: the item has nested attributes deeper than "
            f"{limits.MAX_NESTING_DEPTH} levels")

# Exact sums: 38 significant digits spread over exponents -130..125 need ~300 digits.
_EXACT = decimal.Context(prec=400, Emax=999999, Emin=-999999)

_DOC_TYPES = {"S": "STRING", "N": "NUMBER", "B": "BINARY", "BOOL": "BOOLEAN", "NULL": "NULL",
              "L": "LIST", "M": "MAP", "SS": "STRING_SET", "NS": "NUMBER_SET", "BS": "BINARY_SET"}
_ADD_TYPES = frozenset(("N", "SS", "NS", "BS"))
_SET_TYPES = frozenset(("SS", "NS", "BS"))


class _Step:
    """One action at a leaf of the update tree: ``result(current) -> new value or MISSING``."""

    __slots__ = ("kind", "path", "result")

    def __init__(self, kind, path, result):
        self.kind = kind
        self.path = path
        self.result = result


class Update:
    """A compiled update.

    ``apply(old_item, existed) -> new_item`` (a new dict); ``only_removes``;
    ``check_keys(key_names, index_key_names)``; ``updated_old(old)`` /
    ``updated_new(new)``; ``target_paths`` (resolved, in written order) and
    ``nested_top_level_names`` (attributes any path of the update reaches into).
    """

    __slots__ = ("steps", "tree", "only_removes", "target_paths", "nested_top_level_names",
                 "top_level_names", "_projection", "legacy")

    def __init__(self, steps, nested, legacy=False):
        self.steps = steps
        self.legacy = legacy
        self.target_paths = tuple(s.path for s in steps)
        self.only_removes = all(s.kind in ("REMOVE", "DELETE") for s in steps)
        self.nested_top_level_names = frozenset(nested)
        self.top_level_names = frozenset(p[0] for p in self.target_paths)
        self.tree = _step_tree(steps)
        self._projection = None

    # -- checks --------------------------------------------------------------

    def check_keys(self, key_names, index_key_names=()):
        """Reject writes into key attributes (nested paths first, as DynamoDB does)."""
        nested = self.nested_top_level_names
        if nested:
            for name in key_names:
                if name in nested:
                    raise ValidationException("Key attributes must be scalars; list random access '[]' and map "
                                              f"lookup '.' are not allowed: Key: {name}")
            for name in index_key_names:
                if name in nested:
                    raise ValidationException("Key attributes must be scalars; list random access '[]' and map "
                                              f"lookup '.' are not allowed: IndexKey: {name}")
        for name in key_names:
            if name in self.top_level_names:
                raise invalid_parameter(f"Cannot update attribute {name}. This attribute is part of the key")

    # -- application -----------------------------------------------------------

    def apply(self, old_item, existed=True):
        """The item after the update; ``old_item`` is the key-only dict when ``existed`` is false."""
        if not existed and self.only_removes:
            return dict(old_item)
        return _apply_map(self.tree, old_item, old_item)

    # -- ReturnValues ------------------------------------------------------------

    @property
    def projection(self):
        if self._projection is None:
            self._projection = Projection(self.target_paths)
        return self._projection

    def updated_old(self, old_item):
        """UPDATED_OLD: the written paths as they were (absent ones omitted, REMOVEd ones included)."""
        return self.projection.apply(old_item)

    def updated_new(self, new_item):
        """UPDATED_NEW: the written paths as they are now (REMOVEd ones omitted)."""
        return self.projection.apply(new_item)

    def __repr__(self):
        return f"Update({[(s.kind, s.path) for s in self.steps]!r})"


def _step_tree(steps):
    root = {}
    for step in steps:
        node = root
        path = step.path
        for e in path[:-1]:
            node = node.setdefault(e, {})
        node[path[-1]] = step
    return root


def _apply_map(tree, doc, old_item):
    out = dict(doc)
    for key, entry in tree.items():
        if type(key) is int:
            raise ValidationException(BAD_PATH)
        if type(entry) is _Step:
            value = entry.result(doc.get(key, MISSING), old_item, len(entry.path))
            if value is MISSING:
                out.pop(key, None)
            else:
                out[key] = value
        else:
            child = doc.get(key, MISSING)
            out[key] = _apply_node(entry, child, old_item)
    return out


def _apply_node(tree, doc, old_item):
    t = type(doc)
    if t is dict:
        return _apply_map(tree, doc, old_item)
    if t is not list:
        raise ValidationException(BAD_PATH)
    n = len(doc)
    results = {}
    for key, entry in tree.items():
        if type(key) is not int:
            raise ValidationException(BAD_PATH)
        if type(entry) is _Step:
            results[key] = entry.result(doc[key] if key < n else MISSING, old_item, len(entry.path))
        else:
            if key >= n:
                raise ValidationException(BAD_PATH)
            results[key] = _apply_node(entry, doc[key], old_item)
    if all(k < n for k in results) and all(v is not MISSING for v in results.values()):
        out = list(doc)
        for k, v in results.items():
            out[k] = v
        return out
    merged = dict(enumerate(doc))
    merged.update(results)
    return [v for _, v in sorted(merged.items()) if v is not MISSING]


# ================================================================ binding

def bind_update(actions, binder):
    """Validate an update's actions against the request maps; return an :class:`Update`.

    DynamoDB checks the target paths first (depth, names, overlaps), then each
    action's value, in both cases from the last action written to the first.
    """
    tree = PathTree()
    resolved = [None] * len(actions)
    for i in range(len(actions) - 1, -1, -1):
        path = binder.path(actions[i].path)
        tree.add(path)
        resolved[i] = path
    values = [None] * len(actions)
    for i in range(len(actions) - 1, -1, -1):
        action = actions[i]
        if action.kind == "SET":
            values[i], _ = binder.operand(action.value, update=True)
        elif action.kind in ("ADD", "DELETE"):
            value = binder.value(action.value)
            tag = type_of(value)
            allowed = _ADD_TYPES if action.kind == "ADD" else _SET_TYPES
            if tag not in allowed:
                raise ExpressionError(detail(
                    "Incorrect operand type for operator or function", ("operator", action.kind),
                    ("operand type", _DOC_TYPES[tag]), ("typeSet", f"ALLOWED_FOR_{action.kind}_OPERAND")))
            values[i] = value
    steps = []
    for action, path, value in zip(actions, resolved, values):
        steps.append(_Step(action.kind, path, _STEP_BUILDERS[action.kind](value)))
    return Update(steps, binder.nested)


def _set_step(bound):
    evaluate = _compile_value(bound)

    def result(current, old_item, depth):
        value = copy_value(evaluate(old_item))
        if type(value) is dict or type(value) is list:
            if depth + _container_depth(value) > limits.MAX_NESTING_DEPTH:
                raise ValidationException(_NESTING)
        return value
    return result


def _remove_step(_):
    def result(current, old_item, depth):
        return MISSING
    return result


def _add_step(value):
    tag = type_of(value)

    def result(current, old_item, depth):
        if current is MISSING:
            return copy_value(value)
        if type_of(current) != tag:
            raise ValidationException(BAD_TYPE)
        if tag == "N":
            return decimal_result(_EXACT.add(current, value))
        return current | value
    return result


def _delete_step(value):
    tag = type_of(value)

    def result(current, old_item, depth):
        if current is MISSING:
            return MISSING
        if type_of(current) != tag:
            raise ValidationException(BAD_TYPE)
        remaining = current - value
        return remaining if remaining else MISSING
    return result


_STEP_BUILDERS = {"SET": _set_step, "REMOVE": _remove_step, "ADD": _add_step, "DELETE": _delete_step}


def _container_depth(value):
    t = type(value)
    if t is dict:
        return 1 + max((_container_depth(v) for v in value.values()), default=0)
    if t is list:
        return 1 + max((_container_depth(v) for v in value), default=0)
    return 0


# ================================================================ SET values

def _compile_value(bound):
    """``evaluate(old_item) -> value`` for a SET right-hand side (raises the runtime errors)."""
    raw = _compile_raw(bound)

    def evaluate(item):
        value = raw(item)
        if value is MISSING:
            raise ValidationException(NOT_FOUND)
        return value
    return evaluate


def _compile_raw(bound):
    kind = bound[0]
    if kind == "value":
        value = bound[1]
        return lambda item: value
    if kind == "path":
        return path_getter(bound[1])
    if kind == "arith":
        a, b = _operand(bound[2], Decimal), _operand(bound[3], Decimal)
        if bound[1] == "+":
            return lambda item: decimal_result(_EXACT.add(a(item), b(item)))
        return lambda item: decimal_result(_EXACT.subtract(a(item), b(item)))
    if kind == "call" and bound[1] == "list_append":
        a, b = _operand(bound[2][0], list), _operand(bound[2][1], list)

        def list_append(item):
            first = a(item)
            return first + b(item)
        return list_append
    if kind == "call" and bound[1] == "if_not_exists":
        a, b = _compile_raw(bound[2][0]), _compile_raw(bound[2][1])

        def if_not_exists(item):
            default = b(item)
            if default is MISSING:
                raise ValidationException(NOT_FOUND)
            value = a(item)
            return default if value is MISSING else value
        return if_not_exists
    raise AssertionError(bound)


def _operand(bound, required):
    """An operand of ``+``, ``-`` or list_append: must be present and of type ``required``."""
    raw = _compile_raw(bound)

    def get(item):
        value = raw(item)
        if value is MISSING:
            raise ValidationException(NOT_FOUND)
        if type(value) is not required:
            raise ValidationException(BAD_TYPE)
        return value
    return get
