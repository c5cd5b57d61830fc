"""KeyConditionExpression (and legacy KeyConditions): which partition and sort-key range a Query reads.

A key condition is parsed and checked like any condition, then reduced to at
most one simple condition per attribute (:func:`extract`, structural errors,
all prefixed ``Invalid KeyConditionExpression: `` as the current service
does), and finally matched against the queried key schema by
:meth:`KeyCondition.resolve` (schema errors, without prefix), in DynamoDB's
order::

    key_condition ::= hash_eq [ AND range_cond ] | range_cond AND hash_eq
    hash_eq       ::= K = :v | :v = K
    range_cond    ::= K op :v | :v op K       (op in = < <= > >=, flipped when reversed)
                    | K BETWEEN :lo AND :hi | begins_with(K, :v)
"""

from decimal import Decimal
from operator import itemgetter

from kvstore import limits
from kvstore.errors import ValidationException, invalid_parameter
from kvstore.expressions.evaluate import begins_with, deep_equal, ordered
from kvstore.expressions.messages import ExpressionError
from kvstore.types import Binary, type_of, value_size

__all__ = ["KeyCondition", "ResolvedKeyCondition", "ResolvedCompositeKeyCondition", "extract", "key_condition_part", "values_getter", "NON_INDEXABLE"]

_OPERATORS = {"=": "EQ", "<": "LT", "<=": "LE", ">": "GT", ">=": "GE"}
_FLIPPED = {"EQ": "EQ", "LT": "GT", "LE": "GE", "GT": "LT", "GE": "LE"}
NON_INDEXABLE = frozenset(("NULL", "NOT_NULL", "NE", "CONTAINS", "NOT_CONTAINS", "IN"))
_NO_NAMES = frozenset()
_new = object.__new__


def extract(bound):
    """``{attribute: (operator, (values...))}`` from a bound key-condition tree (see validate)."""
    return {name: (op, tuple(o[1] for o in operands)) for name, (op, operands) in _operands(bound).items()}


def key_condition_part(bound):
    """``(None, make)``: ``make(vals)`` is the :class:`KeyCondition` of a request of this shape.

    The structure (operators, attributes, which slot holds which value) is
    checked once; a request only puts its values in place.
    """
    conditions = _operands(bound)
    names = frozenset(conditions)
    if len(conditions) == 2:
        (name1, (op1, operands1)), (name2, (op2, operands2)) = conditions.items()
        if len(operands1) == 1 and len(operands2) == 1:        # the usual hash = :p AND range op :s
            slot1, slot2 = operands1[0][2], operands2[0][2]

            def make_pair(vals):
                key = _new(KeyCondition)
                key.conditions = {name1: (op1, (vals[slot1],)), name2: (op2, (vals[slot2],))}
                key.legacy = False
                key.top_level_names = names
                key.nested_top_level_names = _NO_NAMES
                return key
            return None, make_pair
    if len(conditions) == 1:
        ((name1, (op1, operands1)),) = conditions.items()
        if len(operands1) == 1:                                 # hash = :p
            slot1 = operands1[0][2]

            def make_one(vals):
                key = _new(KeyCondition)
                key.conditions = {name1: (op1, (vals[slot1],))}
                key.legacy = False
                key.top_level_names = names
                key.nested_top_level_names = _NO_NAMES
                return key
            return None, make_one
    entries = [(name, op, values_getter([o[2] for o in operands])) for name, (op, operands) in conditions.items()]

    def make(vals):
        conditions = {}
        for name, op, get in entries:
            conditions[name] = (op, get(vals))
        return KeyCondition.of(conditions, names)
    return None, make


def values_getter(slots):
    """``get(vals) -> tuple`` of the values at ``slots``."""
    if len(slots) == 1:
        slot = slots[0]
        return lambda vals: (vals[slot],)
    if not slots:
        return lambda vals: ()
    return itemgetter(*slots)


def _operands(bound):
    """``{attribute: (operator, (bound value operands...))}``, raising the structural errors."""
    conditions = {}
    _extract(bound, conditions)
    return conditions


def _extract(node, conditions):
    kind = node[0]
    if kind == "and":
        for item in node[1]:
            _extract(item, conditions)
        return
    if kind == "cmp":
        op = _OPERATORS.get(node[1])
        if op is None:
            raise ExpressionError(f"Invalid operator used in KeyConditionExpression: {node[1]}")
        operands, shown = (node[2], node[3]), node[1]
    elif kind == "between":
        op, operands, shown = "BETWEEN", node[1:], "BETWEEN"
    elif kind == "fn" and node[1] == "begins_with":
        op, operands, shown = "BEGINS_WITH", node[2], "begins_with"
    else:
        shown = {"or": "OR", "not": "NOT", "in": "IN"}.get(kind) or node[1]
        raise ExpressionError(f"Invalid operator used in KeyConditionExpression: {shown}")
    name = None
    values = []
    for operand in operands:
        if operand[0] == "path":
            if name is not None:
                raise ExpressionError("Invalid condition in KeyConditionExpression: "
                                      "Multiple attribute names used in one condition")
            if len(operand[1]) > 1:
                raise ExpressionError("KeyConditionExpressions cannot have conditions on nested attributes")
            name = operand[1][0]
        elif operand[0] == "value":
            if name is None:
                if op in ("BETWEEN", "BEGINS_WITH"):
                    raise ExpressionError(f"Invalid condition in KeyConditionExpression: {shown} operator "
                                          "must have the key attribute as its first operand")
                op = _FLIPPED[op]
            values.append(operand)
        else:
            raise ExpressionError("KeyConditionExpressions cannot contain nested operations")
    if name is None:
        raise ExpressionError("Invalid condition in KeyConditionExpression: No key attribute specified")
    if name in conditions:
        raise ExpressionError("KeyConditionExpressions must only contain one condition per key")
    conditions[name] = (op, tuple(values))


class KeyCondition:
    """Conditions on key attributes, not yet matched to a key schema."""

    __slots__ = ("conditions", "legacy", "top_level_names", "nested_top_level_names")

    def __init__(self, conditions, legacy=False):
        self.conditions = conditions
        self.legacy = legacy
        self.top_level_names = frozenset(conditions)
        self.nested_top_level_names = _NO_NAMES

    @classmethod
    def of(cls, conditions, top_level_names):
        """A KeyConditionExpression's conditions whose attribute names are known already."""
        key = _new(cls)
        key.conditions = conditions
        key.legacy = False
        key.top_level_names = top_level_names
        key.nested_top_level_names = _NO_NAMES
        return key

    def resolve(self, hash_name, range_name, attribute_types, index_name=None):
        """Match the conditions to a key schema (``range_name`` None for hash-only).

        ``attribute_types`` maps key attribute names to "S", "N" or "B".
        Returns a :class:`ResolvedKeyCondition`; raises DynamoDB's errors.
        """
        conditions = self.conditions
        legacy = self.legacy
        n = len(conditions)
        if legacy and (n == 0 or n > 2):
            raise ValidationException("Conditions can be of length 1 or 2 only")
        keys = 2 if range_name is not None else 1
        if n > keys:
            if legacy:
                raise ValidationException("Query key condition not supported")
            raise ValidationException(f"The number of query conditions ({n}) exceeds the number of key attributes "
                                      f"defined in the schema ({keys})")
        hash_condition = conditions.get(hash_name)
        if hash_condition is None:
            raise ValidationException(f"Query condition missed key schema element: {hash_name}")
        op, values = hash_condition
        if legacy and op in NON_INDEXABLE:
            raise ValidationException("Attempted conditional constraint is not an indexable operation")
        _check_types(values, attribute_types[hash_name])
        if op != "EQ":
            raise ValidationException("Query key condition not supported")
        _check_not_empty(values, hash_name, index_name)
        range_op, range_values = None, ()
        if range_name is not None:
            range_condition = conditions.get(range_name)
            if range_condition is None:
                if n > 1:
                    raise ValidationException(f"Query condition missed key schema element: {range_name}")
            else:
                range_op, range_values = range_condition
                if legacy and range_op in NON_INDEXABLE:
                    raise ValidationException("Attempted conditional constraint is not an indexable operation")
                for v in range_values:
                    if (v.__class__ is str or v.__class__ is Binary) and value_size(v) > limits.MAX_RANGE_KEY_SIZE:
                        raise invalid_parameter(
                            "Aggregated size of all range keys has exceeded the size limit of 1024 bytes")
                _check_types(range_values, attribute_types[range_name])
                _check_not_empty(range_values, range_name, index_name)
        return ResolvedKeyCondition(values[0], range_op, range_values, tuple(conditions))

    def resolve_composite(self, schema, index_name=None):
        """Match the conditions to a multi-attribute GSI key (``schema.composite``).

        Every HASH component needs ``=``; the RANGE components named must be a
        left-to-right prefix of the key schema with ``=`` on all but the last.
        Returns a :class:`ResolvedCompositeKeyCondition`; raises DynamoDB's errors.

        The structure (which attribute carries which operator) is checked once
        per shape and schema (:func:`_composite_plan`); a request of a valid
        shape only has its values checked.  Anything unusual -- a bad shape, a
        value of the wrong type, empty or long -- goes to
        :meth:`_resolve_composite_checked`, the reference that raises DynamoDB's
        error in DynamoDB's order.
        """
        conditions = self.conditions
        shape = (schema, self.legacy, tuple([(name, c[0]) for name, c in conditions.items()]))
        plan = _composite_plans.get(shape)
        if plan is None:
            if len(_composite_plans) >= 1024:
                _composite_plans.clear()
            plan = _composite_plans[shape] = _composite_plan(schema, shape[2], self.legacy)
        if plan is False:
            return self._resolve_composite_checked(schema, index_name)
        hashes, ranges = plan
        hash_values = []
        for name, key_type in hashes:
            v = conditions[name][1][0]
            if _KEY_TAGS.get(v.__class__) != key_type or (key_type == "S" and not v) or \
                    (key_type == "B" and not v.value):
                return self._resolve_composite_checked(schema, index_name)
            hash_values.append(v)
        equal_values = []
        range_op, range_values = None, ()
        for name, key_type, op in ranges:
            values = conditions[name][1]
            for v in values:
                if _KEY_TAGS.get(v.__class__) != key_type or (key_type == "S" and not 0 < len(v) <= 256) or \
                        (key_type == "B" and not 0 < len(v.value) <= limits.MAX_RANGE_KEY_SIZE):
                    return self._resolve_composite_checked(schema, index_name)
            if op == "EQ":
                equal_values.append(values[0])
            else:
                range_op, range_values = op, values
        return ResolvedCompositeKeyCondition(tuple(hash_values), tuple(equal_values), range_op, range_values,
                                             tuple(conditions))

    def _resolve_composite_checked(self, schema, index_name):
        conditions = self.conditions
        legacy = self.legacy
        n = len(conditions)
        if legacy and n == 0:
            raise ValidationException("Conditions can be of length 1 or 2 only")
        keys = len(schema.names)
        if n > keys:
            if legacy:
                raise ValidationException("Query key condition not supported")
            raise ValidationException(f"The number of query conditions ({n}) exceeds the number of key attributes "
                                      f"defined in the schema ({keys})")
        if legacy:
            for op, _ in conditions.values():
                if op in NON_INDEXABLE:
                    raise ValidationException("Attempted conditional constraint is not an indexable operation")
        hash_values = []
        for name, key_type in zip(schema.hash_names, schema.hash_types):
            condition = conditions.get(name)
            if condition is None:
                raise ValidationException(_HASH_EQUALITY.format(name))
            op, values = condition
            _check_types(values, key_type)
            if op != "EQ":
                raise ValidationException(_HASH_EQUALITY.format(name))
            _check_not_empty(values, name, index_name)
            hash_values.append(values[0])
        range_names = schema.range_names
        named = [i for i, name in enumerate(range_names) if name in conditions]
        if len(named) + len(schema.hash_names) < n:      # a condition on an attribute that is no component
            missing = next(name for name in range_names if name not in conditions)
            raise ValidationException(f"Query condition missed key schema element: {missing}")
        equal_values = []
        range_op, range_values = None, ()
        if named:
            last = named[-1]
            for i in range(last):
                condition = conditions.get(range_names[i])
                if condition is None or condition[0] != "EQ":
                    later = next(range_names[j] for j in named if j > i)
                    raise ValidationException(
                        f"RANGE key attributes {range_names[i]} must have equality conditions specified in the "
                        f"query because a condition is present on key attribute {later}")
            for i in range(last + 1):
                name = range_names[i]
                op, values = conditions[name]
                for v in values:
                    if (v.__class__ is str or v.__class__ is Binary) and value_size(v) > limits.MAX_RANGE_KEY_SIZE:
                        raise invalid_parameter(
                            "Aggregated size of all range keys has exceeded the size limit of 1024 bytes")
                _check_types(values, schema.range_types[i])
                _check_not_empty(values, name, index_name)
                if op == "EQ":
                    equal_values.append(values[0])
                else:
                    range_op, range_values = op, values
        return ResolvedCompositeKeyCondition(tuple(hash_values), tuple(equal_values), range_op, range_values,
                                             tuple(conditions))

    def __repr__(self):
        return f"KeyCondition({self.conditions!r})"


def _composite_plan(schema, shape, legacy):
    """``(hashes, ranges)`` to read a valid key condition of ``shape`` ((name, operator) pairs) on a
    multi-attribute key: ``hashes`` ((name, type) per HASH component), ``ranges`` ((name, type, operator)
    per RANGE component named, in schema order).  False when the shape breaks a rule (the checked
    path then raises the error)."""
    ops = dict(shape)
    if not ops or len(ops) > len(schema.names) or (legacy and not NON_INDEXABLE.isdisjoint(ops.values())):
        return False
    if any(ops.get(name) != "EQ" for name in schema.hash_names):
        return False
    named = [i for i, name in enumerate(schema.range_names) if name in ops]
    if len(named) + len(schema.hash_names) != len(ops) or named != list(range(len(named))):
        return False
    if any(ops[schema.range_names[i]] != "EQ" for i in named[:-1]):
        return False
    return (tuple(zip(schema.hash_names, schema.hash_types)),
            tuple((schema.range_names[i], schema.range_types[i], ops[schema.range_names[i]]) for i in named))


_composite_plans = {}
_KEY_TAGS = {str: "S", Decimal: "N", Binary: "B"}

#: the text for a HASH component of a multi-attribute key without an ``=`` condition
#: (DynamoDB's exact wording is unverified; its RANGE counterpart below is pinned)
_HASH_EQUALITY = "HASH key attributes {} must have equality conditions specified in the query"


class ResolvedCompositeKeyCondition:
    """A key condition on a multi-attribute GSI key.

    ``hash_values`` (every HASH component), ``equal_values`` (the leading RANGE
    components compared with ``=``), then ``range_op`` / ``range_values`` (None
    or LT LE GT GE BETWEEN BEGINS_WITH on the next RANGE component).
    """

    __slots__ = ("hash_values", "equal_values", "range_op", "range_values", "names")

    def __init__(self, hash_values, equal_values, range_op, range_values, names):
        self.hash_values = hash_values
        self.equal_values = equal_values
        self.range_op = range_op
        self.range_values = range_values
        self.names = names

    def bounds(self, schema):
        return schema.composite_bounds(self.hash_values, self.equal_values, self.range_op, self.range_values)

    def check_start_key(self, schema, key):
        """Raise DynamoDB's error when an ExclusiveStartKey lies outside this condition."""
        if any(not deep_equal(key[n], v) for n, v in zip(schema.hash_names, self.hash_values)):
            raise ValidationException(
                "The provided starting key is outside query boundaries based on provided conditions")
        names = schema.range_names
        matches = all(deep_equal(key[n], v) for n, v in zip(names, self.equal_values))
        if matches and self.range_op is not None:
            matches = ResolvedKeyCondition(None, self.range_op, self.range_values, ()).matches_range(
                key[names[len(self.equal_values)]])
        if not matches:
            raise ValidationException("The provided starting key does not match the range key predicate")

    def __repr__(self):
        return (f"ResolvedCompositeKeyCondition(hash={self.hash_values!r}, equal={self.equal_values!r}, "
                f"range_op={self.range_op!r}, range_values={self.range_values!r})")


def _check_types(values, expected):
    for v in values:
        if type_of(v) != expected:
            raise invalid_parameter("Condition parameter type does not match schema type")


def _check_not_empty(values, name, index_name):
    for v in values:
        if (v.__class__ is str and v == "") or (v.__class__ is Binary and not v.value):
            what = "string" if type(v) is str else "binary"
            if index_name is not None:
                raise ValidationException(
                    "One or more parameter values are not valid. A value specified for a secondary index "
                    "key is not supported. The AttributeValue for a key attribute cannot contain an empty "
                    f"{what} value. IndexName: {index_name}, IndexKey: {name}")
            raise ValidationException("One or more parameter values are not valid. The AttributeValue for "
                                      f"a key attribute cannot contain an empty {what} value. Key: {name}")


class ResolvedKeyCondition:
    """``hash_value``, ``range_op`` (None or EQ LT LE GT GE BETWEEN BEGINS_WITH), ``range_values``, ``names``."""

    __slots__ = ("hash_value", "range_op", "range_values", "names")

    def __init__(self, hash_value, range_op, range_values, names):
        self.hash_value = hash_value
        self.range_op = range_op
        self.range_values = range_values
        self.names = names

    def matches_range(self, value):
        """Whether a sort-key value satisfies the range condition (ExclusiveStartKey checks)."""
        op = self.range_op
        if op is None:
            return True
        if op == "EQ":
            return deep_equal(value, self.range_values[0])
        if op == "BEGINS_WITH":
            return begins_with(value, self.range_values[0])
        if op == "BETWEEN":
            low = ordered(value, self.range_values[0])
            high = ordered(value, self.range_values[1])
            return low is not None and high is not None and low[0] >= low[1] and high[0] <= high[1]
        pair = ordered(value, self.range_values[0])
        if pair is None:
            return False
        x, y = pair
        return {"LT": x < y, "LE": x <= y, "GT": x > y, "GE": x >= y}[op]

    def __repr__(self):
        return (f"ResolvedKeyCondition(hash={self.hash_value!r}, range_op={self.range_op!r}, "
                f"range_values={self.range_values!r})")
