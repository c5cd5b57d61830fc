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
from kvstore._core import apply_update
from kvstore.errors import ValidationException, invalid_parameter
from kvstore.expressions.evaluate import MISSING, copy_value, resolve
from kvstore.expressions.messages import ExpressionError, detail
from kvstore.expressions.programs import update_program
from kvstore.expressions.projection import Projection
from kvstore.expressions.validate import PathTree
from kvstore.types import decimal_result, type_of

__all__ = ["Update", "UpdatePlan", "bind_update", "NOT_FOUND", "BAD_PATH", "BAD_TYPE"]

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
    """One action at a leaf of the update tree.

    ``result(current, old_item, depth, vals) -> new value or MISSING``, where
    ``vals`` are the request's ExpressionAttributeValues by slot.
    """

    __slots__ = ("kind", "path", "result")

    def __init__(self, kind, path, result):
        self.kind = kind
        self.path = path
        self.result = result


class UpdatePlan:
    """What an update writes, independent of the request's values.

    Built once per request shape and shared: the steps (whose closures read
    values by slot), their tree, and the names the checks need.
    """

    __slots__ = ("steps", "tree", "only_removes", "target_paths", "nested_top_level_names", "top_level_names",
                 "legacy", "_projection", "program")

    def __init__(self, steps, nested, legacy=False, program=None):
        self.steps = steps
        self.program = program      # kvstore.expressions.programs' program of the steps, or None
        self.legacy = legacy
        self.target_paths = tuple(s.path for s in steps)
        self.only_removes = bool(steps) and all(s.kind in ("REMOVE", "DELETE") for s in steps)
        self.nested_top_level_names = frozenset(nested)
        self.top_level_names = frozenset(p[0] for p in self.target_paths)
        self.tree = _step_tree(steps)
        self._projection = None

    @property
    def projection(self):
        if self._projection is None:
            self._projection = Projection(self.target_paths)
        return self._projection


class Update:
    """A compiled update: an :class:`UpdatePlan` and the values of one request.

    ``apply(old_item, existed) -> new_item`` (a new dict); ``only_removes``;
    ``check_keys(key_names, index_key_names)``; ``updated_old(old)`` /
    ``updated_new(new)``; ``target_paths`` (resolved, in written order) and
    ``nested_top_level_names`` (attributes any path of the update reaches into).
    """

    __slots__ = ("plan", "vals")

    def __init__(self, steps, nested, legacy=False, vals=()):
        self.plan = UpdatePlan(steps, nested, legacy)
        self.vals = vals

    @classmethod
    def of(cls, plan, vals):
        """The update of ``plan`` for one request's values."""
        update = _new(cls)
        update.plan = plan
        update.vals = vals
        return update

    steps = property(lambda self: self.plan.steps)
    tree = property(lambda self: self.plan.tree)
    only_removes = property(lambda self: self.plan.only_removes)
    target_paths = property(lambda self: self.plan.target_paths)
    nested_top_level_names = property(lambda self: self.plan.nested_top_level_names)
    top_level_names = property(lambda self: self.plan.top_level_names)
    legacy = property(lambda self: self.plan.legacy)
    projection = property(lambda self: self.plan.projection)

    # -- checks --------------------------------------------------------------

    def check_keys(self, key_names, index_key_names=()):
        """Reject writes into key attributes (nested paths first, as DynamoDB does)."""
        plan = self.plan
        nested = plan.nested_top_level_names
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
            if name in plan.top_level_names:
                raise invalid_parameter(f"Cannot update attribute {name}. This attribute is part of the key")

    # -- application -----------------------------------------------------------

    def apply(self, old_item, existed=True):
        """The item after the update; ``old_item`` is the key-only dict when ``existed`` is false."""
        plan = self.plan
        if not existed and plan.only_removes:
            return dict(old_item)
        if plan.program is not None:
            return apply_update(plan.program, old_item, self.vals)
        return _apply_map(plan.tree, old_item, old_item, self.vals)

    # -- ReturnValues ------------------------------------------------------------

    def updated_old(self, old_item):
        """UPDATED_OLD: the written paths as they were (absent ones omitted, REMOVEd ones included)."""
        return self.plan.projection.apply(old_item)

    def updated_new(self, new_item):
        """UPDATED_NEW: the written paths as they are now (REMOVEd ones omitted)."""
        return self.plan.projection.apply(new_item)

    def __repr__(self):
        return f"Update({[(s.kind, s.path) for s in self.plan.steps]!r})"


_new = object.__new__


def _step_tree(steps):
    root = {}
    for step in steps:
        node = root
        path = step.path
        for e in path[:-1]:
            node = node.setdefault(e, {})
        node[path[-1]] = step
    return root


def _apply_map(tree, doc, old_item, vals):
    out = dict(doc)
    for key, entry in tree.items():
        if type(key) is int:
            raise ValidationException(BAD_PATH)
        if type(entry) is _Step:
            value = entry.result(doc.get(key, MISSING), old_item, len(entry.path), vals)
            if value is MISSING:
                out.pop(key, None)
            else:
                out[key] = value
        else:
            child = doc.get(key, MISSING)
            out[key] = _apply_node(entry, child, old_item, vals)
    return out


def _apply_node(tree, doc, old_item, vals):
    t = type(doc)
    if t is dict:
        return _apply_map(tree, doc, old_item, vals)
    if t is not list:
        raise ValidationException(BAD_PATH)
    n = len(doc)
    results = {}
    for key, entry in tree.items():
        if type(key) is not int:
            raise ValidationException(BAD_PATH)
        if type(entry) is _Step:
            results[key] = entry.result(doc[key] if key < n else MISSING, old_item, len(entry.path), vals)
        else:
            if key >= n:
                raise ValidationException(BAD_PATH)
            results[key] = _apply_node(entry, doc[key], old_item, vals)
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
    """Validate an update's actions against the request maps; return its part.

    ``(update, None)`` when no action reads a value (one :class:`Update`
    serves every request), else ``(None, make)`` with ``make(vals)`` the
    Update for one request's values.  DynamoDB checks the target paths first
    (depth, names, overlaps), then each action's value, in both cases from
    the last action written to the first.
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
            bound = binder.value(action.value)
            tag = type_of(bound[1])
            allowed = _ADD_TYPES if action.kind == "ADD" else _SET_TYPES
            if tag not in allowed:
                raise ExpressionError(detail(
                    "Incorrect operand type for operator or function", ("operator", action.kind),
                    ("operand type", _DOC_TYPES[tag]), ("typeSet", f"ALLOWED_FOR_{action.kind}_OPERAND")))
            values[i] = bound
    steps = []
    for action, path, value in zip(actions, resolved, values):
        steps.append(_Step(action.kind, path, _STEP_BUILDERS[action.kind](value)))
    plan = UpdatePlan(steps, binder.nested,
                      program=update_program([(a.kind, p, v) for a, p, v in zip(actions, resolved, values)]))
    if not any(value is not None and _reads_values(value) for value in values):
        return Update.of(plan, ()), None
    def make(vals):
        update = _new(Update)
        update.plan = plan
        update.vals = vals
        return update
    make.plan = plan          # what the compiled TransactWriteItems makes its Update of (templates.instantiator)
    return None, make


def _reads_values(bound):
    kind = bound[0]
    if kind == "value":
        return True
    if kind == "arith":
        return _reads_values(bound[2]) or _reads_values(bound[3])
    if kind == "call":
        return any(_reads_values(b) for b in bound[2])
    return False


def _set_step(bound):
    raw = _compile_raw(bound)

    def result(current, old_item, depth, vals):
        value = raw(old_item, vals)
        if value is MISSING:
            raise ValidationException(NOT_FOUND)
        value = copy_value(value)
        if type(value) is dict or type(value) is list:
            if depth + _container_depth(value) > limits.MAX_NESTING_DEPTH:
                raise ValidationException(_NESTING)
        return value
    return result


def _remove_step(_):
    def result(current, old_item, depth, vals):
        return MISSING
    return result


def _add_step(bound):
    tag = type_of(bound[1])
    slot = bound[2]

    def result(current, old_item, depth, vals):
        value = vals[slot]
        if current is MISSING:
            return copy_value(value)
        if type_of(current) != tag:
            raise ValidationException(BAD_TYPE)
        if tag == "N":
            return decimal_result(_EXACT.add(current, value))
        return current | value
    return result


def _delete_step(bound):
    tag = type_of(bound[1])
    slot = bound[2]

    def result(current, old_item, depth, vals):
        if current is MISSING:
            return MISSING
        if type_of(current) != tag:
            raise ValidationException(BAD_TYPE)
        remaining = current - vals[slot]
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

def _compile_raw(bound):
    """``raw(old_item, vals) -> value or MISSING`` for a SET right-hand side (raises the runtime errors)."""
    kind = bound[0]
    if kind == "value":
        slot = bound[2]
        return lambda item, vals: vals[slot]
    if kind == "path":
        path = bound[1]
        if len(path) == 1:
            name = path[0]
            return lambda item, vals: item.get(name, MISSING)
        return lambda item, vals: resolve(item, path)
    if kind == "arith":
        a, b = _operand(bound[2], Decimal), _operand(bound[3], Decimal)
        if bound[1] == "+":
            return lambda item, vals: decimal_result(_EXACT.add(a(item, vals), b(item, vals)))
        return lambda item, vals: decimal_result(_EXACT.subtract(a(item, vals), b(item, vals)))
    if kind == "call" and bound[1] == "list_append":
        a, b = _operand(bound[2][0], list), _operand(bound[2][1], list)

        def list_append(item, vals):
            first = a(item, vals)
            return first + b(item, vals)
        return list_append
    if kind == "call" and bound[1] == "if_not_exists":
        a, b = _compile_raw(bound[2][0]), _compile_raw(bound[2][1])

        def if_not_exists(item, vals):
            default = b(item, vals)
            if default is MISSING:
                raise ValidationException(NOT_FOUND)
            value = a(item, vals)
            return default if value is MISSING else value
        return if_not_exists
    raise AssertionError(bound)


def _operand(bound, required):
    """An operand of ``+``, ``-`` or list_append: must be present and of type ``required``."""
    raw = _compile_raw(bound)

    def get(item, vals):
        value = raw(item, vals)
        if value is MISSING:
            raise ValidationException(NOT_FOUND)
        if type(value) is not required:
            raise ValidationException(BAD_TYPE)
        return value
    return get
