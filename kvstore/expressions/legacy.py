"""The pre-expression parameters (reference section 9), compiled to the same objects.

``Expected`` + ``ConditionalOperator`` -> :class:`~kvstore.expressions.Condition`,
``QueryFilter`` / ``ScanFilter`` -> Condition, ``KeyConditions`` ->
:class:`~kvstore.expressions.KeyCondition`, ``AttributeUpdates`` ->
:class:`~kvstore.expressions.Update`, ``AttributesToGet`` ->
:class:`~kvstore.expressions.Projection`.  Legacy parameters name top-level
attributes only: ``a.b`` is the attribute literally called "a.b".

:func:`check_mixing` runs first for every operation: expression and legacy
parameters may not be combined, placeholder maps need expressions, and
ConditionalOperator needs two or more conditions.
"""

from kvstore import limits
from kvstore.errors import ValidationException, constraint_error, invalid_parameter
from kvstore.expressions.compiled import Condition
from kvstore.expressions.evaluate import MISSING, begins_with, contains, copy_value, equal, ordered
from kvstore.expressions.key_condition import KeyCondition
from kvstore.expressions.placeholders import check_placeholder_maps
from kvstore.expressions.projection import Projection
from kvstore.expressions.update import Update, _EXACT, _Step
from kvstore.types import decimal_result, type_of

__all__ = ["check_mixing", "expected_condition", "filter_condition", "key_conditions", "attribute_updates",
           "attributes_to_get", "OPERATORS"]

_LEGACY_MEMBERS = ("AttributeUpdates", "AttributesToGet", "Expected", "QueryFilter", "ScanFilter",
                   "ConditionalOperator")
_EXPRESSION_MEMBERS = ("UpdateExpression", "ProjectionExpression", "ConditionExpression", "FilterExpression",
                       "KeyConditionExpression")
_LEGACY_KEYS = frozenset(_LEGACY_MEMBERS + ("KeyConditions",))
_CONDITION_MAP = {"Query": "QueryFilter", "Scan": "ScanFilter"}

_ALL = frozenset(("S", "N", "B", "BOOL", "NULL", "SS", "NS", "BS", "L", "M"))
_SCALAR = frozenset(("S", "N", "B"))
#: ComparisonOperator -> (number of values: int, or None for "one or more"; accepted value types)
OPERATORS = {
    "EQ": (1, _ALL), "NE": (1, _ALL),
    "LT": (1, _SCALAR), "LE": (1, _SCALAR), "GT": (1, _SCALAR), "GE": (1, _SCALAR),
    "NULL": (0, _ALL), "NOT_NULL": (0, _ALL),
    "CONTAINS": (1, frozenset(("S", "N", "B", "BOOL", "NULL"))),
    "NOT_CONTAINS": (1, frozenset(("S", "N", "B", "BOOL", "NULL"))),
    "BEGINS_WITH": (1, frozenset(("S", "B"))),
    "IN": (None, _SCALAR),
    "BETWEEN": (2, _SCALAR),
}
_OPERATOR_ENUM = "[IN, NULL, BETWEEN, LT, NOT_CONTAINS, EQ, GT, NOT_NULL, NE, LE, BEGINS_WITH, GE, CONTAINS]"
_TYPE_MISMATCH = "Type mismatch for attribute to update"


def _check_name(name):
    """A legacy parameter's attribute name: a non-empty string of at most 65535 UTF-8 bytes."""
    if type(name) is not str or name == "":
        raise ValidationException("Empty attribute name")
    if len(name.encode("utf-8", "surrogatepass")) > limits.MAX_ATTRIBUTE_NAME_SIZE:
        raise ValidationException("Attribute name is too large, must be less than 65536 bytes")


# ================================================================ request rules

def check_mixing(operation, request):
    """DynamoDB's first checks on a request's expression and legacy members.

    ``request`` is the dict of wire members.  Raises the mixing error listing
    both sides in DynamoDB's order, then the placeholder-map rules, then the
    ConditionalOperator rules.
    """
    get = request.get
    if not _LEGACY_KEYS.isdisjoint(request):          # most requests name no legacy member at all
        legacy = [m for m in _LEGACY_MEMBERS if get(m) is not None]
        if get("KeyConditionExpression") is not None and get("KeyConditions") is not None:
            legacy.append("KeyConditions")
        expressions = [m for m in _EXPRESSION_MEMBERS if get(m) is not None]
        if legacy and expressions:
            raise ValidationException("Can not use both expression and non-expression parameters in the same "
                                      f"request: Non-expression parameters: {{{', '.join(legacy)}}} "
                                      f"Expression parameters: {{{', '.join(expressions)}}}")
    names, values = get("ExpressionAttributeNames"), get("ExpressionAttributeValues")
    if (names is not None or values is not None) and get("KeyConditionExpression") is None \
            and get("ConditionExpression") is None and get("UpdateExpression") is None \
            and get("FilterExpression") is None:     # with any of those, both maps are allowed
        check_placeholder_maps(operation, [m for m in _EXPRESSION_MEMBERS if get(m) is not None], names, values)
    if get("ConditionalOperator") is not None:
        conditions = get(_CONDITION_MAP.get(operation, "Expected"))
        count = len(conditions) if isinstance(conditions, dict) else 0
        if count == 0:
            raise ValidationException("ConditionalOperator cannot be used without Filter or Expected")
        if count == 1:
            raise ValidationException(
                "ConditionalOperator can only be used when Filter or Expected has two or more elements")


# ================================================================ conditions

def expected_condition(expected, conditional_operator=None):
    """Condition for ``Expected`` (``{attr: {Value?, Exists?, ComparisonOperator?, AttributeValueList?}}``)."""
    if not isinstance(expected, dict):
        raise constraint_error([(str(expected), "expected", "Member must be a map")])
    tests = []
    for attr, spec in expected.items():
        _check_name(attr)
        op, values = _expected_entry(attr, spec)
        tests.append(_predicate(attr, op, values))
    return Condition(_combine(tests, _conditional_operator(conditional_operator)), expected.keys())


def _expected_entry(attr, spec):
    """``(operator, values)`` of one ExpectedAttributeValue, checked in DynamoDB's order."""
    if not isinstance(spec, dict):
        raise invalid_parameter(f"ExpectedAttributeValue must not be null for Attribute: {attr}")
    exists = spec.get("Exists")
    op = spec.get("ComparisonOperator")
    value = spec.get("Value")
    value_list = spec.get("AttributeValueList")
    has_value = "Value" in spec          # a NULL value is the native None
    if exists is not None and op is not None:
        raise invalid_parameter(f"Exists and ComparisonOperator cannot be used together for Attribute: {attr}")
    if has_value and value_list is not None:
        raise invalid_parameter(f"Value and AttributeValueList cannot be used together for Attribute: {attr}")
    if op is None and value_list is not None:
        raise invalid_parameter(f"AttributeValueList can only be used with a ComparisonOperator for Attribute: "
                                f"{attr}")
    if exists is False and has_value:
        raise invalid_parameter(f"Value cannot be used when Exists is false for Attribute: {attr}")
    if not has_value and value_list is None:
        if op is not None:
            if op not in ("NULL", "NOT_NULL"):
                _check_operator_name(op, f"expected.{attr}.member.comparisonOperator")
                raise invalid_parameter(f"Value or AttributeValueList must be used with ComparisonOperator: {op} "
                                        f"for Attribute: {attr}")
        elif exists is None:
            raise invalid_parameter(f"Value must be provided when Exists is null for Attribute: {attr}")
        elif exists:
            raise invalid_parameter(f"Value must be provided when Exists is true for Attribute: {attr}")
        else:
            return "NULL", ()
    if op is None:
        return "EQ", (value,)
    values = (value,) if has_value else tuple(value_list or ())
    _check_arguments(op, values, f"expected.{attr}.member.comparisonOperator")
    return op, values


def filter_condition(filters, conditional_operator=None, member="ScanFilter"):
    """Condition for ``QueryFilter`` / ``ScanFilter`` (``{attr: {ComparisonOperator, AttributeValueList?}}``)."""
    if not isinstance(filters, dict):
        raise constraint_error([(str(filters), _lower(member), "Member must be a map")])
    tests = []
    for attr, spec in filters.items():
        _check_name(attr)
        op, values = _condition_entry(attr, spec, member)
        tests.append(_predicate(attr, op, values))
    return Condition(_combine(tests, _conditional_operator(conditional_operator)), filters.keys())


def _condition_entry(attr, spec, member):
    path = f"{_lower(member)}.{attr}.member.comparisonOperator"
    if not isinstance(spec, dict) or spec.get("ComparisonOperator") is None:
        raise constraint_error([(None, path, "Member must not be null")])
    op = spec["ComparisonOperator"]
    values = tuple(spec.get("AttributeValueList") or ())
    _check_arguments(op, values, path)
    return op, values


def _lower(member):
    return member[0].lower() + member[1:]


def _check_operator_name(op, path):
    if op not in OPERATORS:
        raise constraint_error([(str(op), path, f"Member must satisfy enum value set: {_OPERATOR_ENUM}")])


def _check_arguments(op, values, path):
    """Number and types of an AttributeValueList for a ComparisonOperator."""
    _check_operator_name(op, path)
    count, accepted = OPERATORS[op]
    if (count is None and not values) or (count is not None and len(values) != count):
        raise invalid_parameter(f"Invalid number of argument(s) for the {op} ComparisonOperator")
    if values:
        first = type_of(values[0])
        for v in values:
            tag = type_of(v)
            if tag not in accepted:
                raise invalid_parameter(f"ComparisonOperator {op} is not valid for {tag} AttributeValue type")
            if tag != first:
                raise invalid_parameter("AttributeValues inside AttributeValueList must be of same type")
    if op == "BETWEEN":
        low, high = ordered(values[0], values[1])
        if low > high:
            raise ValidationException(
                "The BETWEEN condition was provided a range where the lower bound is greater than the upper bound")


def _conditional_operator(value):
    if value is None or value == "AND":
        return "AND"
    if value == "OR":
        return "OR"
    raise constraint_error([(str(value), "conditionalOperator", "Member must satisfy enum value set: [OR, AND]")])


def _combine(tests, operator):
    if not tests:
        return lambda item: True
    if len(tests) == 1:
        return tests[0]
    if operator == "AND":
        return lambda item: all(t(item) for t in tests)
    return lambda item: any(t(item) for t in tests)


def _predicate(attr, op, values):
    """``test(item) -> bool`` for one legacy condition on top-level attribute ``attr``."""
    if op == "NULL":
        return lambda item: attr not in item
    if op == "NOT_NULL":
        return lambda item: attr in item
    if op == "EQ":
        v = values[0]
        return lambda item: equal(item.get(attr, MISSING), v)
    if op == "NE":
        v = values[0]
        return lambda item: not equal(item.get(attr, MISSING), v)
    if op in ("LT", "LE", "GT", "GE"):
        v = values[0]
        test = {"LT": lambda x, y: x < y, "LE": lambda x, y: x <= y,
                "GT": lambda x, y: x > y, "GE": lambda x, y: x >= y}[op]

        def compare(item):
            pair = ordered(item.get(attr, MISSING), v)
            return pair is not None and test(*pair)
        return compare
    if op == "BETWEEN":
        low, high = values

        def between(item):
            x = item.get(attr, MISSING)
            a, b = ordered(x, low), ordered(x, high)
            return a is not None and b is not None and a[0] >= a[1] and b[0] <= b[1]
        return between
    if op == "IN":
        return lambda item: any(equal(item.get(attr, MISSING), v) for v in values)
    if op == "BEGINS_WITH":
        v = values[0]
        return lambda item: begins_with(item.get(attr, MISSING), v)
    if op == "CONTAINS":
        v = values[0]
        return lambda item: contains(item.get(attr, MISSING), v)
    if op == "NOT_CONTAINS":
        v = values[0]

        def not_contains(item):
            x = item.get(attr, MISSING)
            return x is not MISSING and not contains(x, v)
        return not_contains
    raise AssertionError(op)


def key_conditions(conditions):
    """KeyCondition for legacy ``KeyConditions`` (resolved against the key schema by the Query)."""
    if not isinstance(conditions, dict):
        raise constraint_error([(str(conditions), "keyConditions", "Member must be a map")])
    out = {}
    for attr, spec in conditions.items():
        _check_name(attr)
        op, values = _condition_entry(attr, spec, "KeyConditions")
        out[attr] = (op, values)
    return KeyCondition(out, legacy=True)


# ================================================================ updates

_ADD_TYPES = frozenset(("N", "SS", "NS", "BS", "L"))
_SET_TYPES = frozenset(("SS", "NS", "BS"))


def attribute_updates(updates):
    """Update for legacy ``AttributeUpdates`` (``{attr: {Action?: PUT|ADD|DELETE, Value?}}``)."""
    if not isinstance(updates, dict):
        raise constraint_error([(str(updates), "attributeUpdates", "Member must be a map")])
    steps = []
    for attr, spec in updates.items():
        _check_name(attr)
        if not isinstance(spec, dict):
            raise ValidationException("Supplied AttributeValueUpdate is empty, must contain one of the "
                                      f"supported actions: {attr} is null")
        action = spec.get("Action") or "PUT"
        if action not in ("PUT", "ADD", "DELETE"):
            raise constraint_error([(str(action), f"attributeUpdates.{attr}.member.action",
                                     "Member must satisfy enum value set: [ADD, PUT, DELETE]")])
        value = spec.get("Value")
        has_value = "Value" in spec          # a NULL value is the native None
        if not has_value and action != "DELETE":
            raise invalid_parameter("Only DELETE action is allowed when no attribute value is specified")
        if has_value:
            tag = type_of(value)
            if action == "DELETE" and tag not in _SET_TYPES:
                raise invalid_parameter(f"DELETE action with value is not supported for the type {tag}")
            if action == "ADD" and tag not in _ADD_TYPES:
                raise invalid_parameter(f"ADD action is not supported for the type {tag}")
        kind = {"PUT": "SET", "ADD": "ADD", "DELETE": "DELETE" if has_value else "REMOVE"}[action]
        steps.append(_Step(kind, (attr,), _LEGACY_STEPS[kind](value)))
    return Update(steps, (), legacy=True)


def _put(value):
    def result(current, old_item, depth, vals):
        return copy_value(value)
    return result


def _remove(_):
    def result(current, old_item, depth, vals):
        return MISSING
    return result


def _add(value):
    tag = type_of(value)

    def result(current, old_item, depth, vals):
        if current is MISSING:
            return copy_value(value)
        if type_of(current) != tag:
            raise ValidationException(_TYPE_MISMATCH)
        if tag == "N":
            return decimal_result(_EXACT.add(current, value))
        if tag == "L":
            return copy_value(current) + copy_value(value)
        return current | value
    return result


def _delete(value):
    tag = type_of(value)

    def result(current, old_item, depth, vals):
        if current is MISSING:
            return MISSING
        if type_of(current) != tag:
            raise ValidationException(_TYPE_MISMATCH)
        remaining = current - value
        return remaining if remaining else MISSING
    return result


_LEGACY_STEPS = {"SET": _put, "REMOVE": _remove, "ADD": _add, "DELETE": _delete}


# ================================================================ projections

def attributes_to_get(names, member="attributesToGet"):
    """Projection for ``AttributesToGet`` (1..255 distinct top-level names)."""
    if not isinstance(names, (list, tuple)):
        raise constraint_error([(str(names), member, "Member must be a list")])
    shown = "[" + ", ".join(str(n) for n in names) + "]"
    if not names:
        raise constraint_error([(shown, member, "Member must have length greater than or equal to 1")])
    if len(names) > 255:
        raise constraint_error([(shown, member, "Member must have length less than or equal to 255")])
    seen = set()
    for n in names:
        _check_name(n)
        if n in seen:
            raise invalid_parameter(f"Duplicate value in attribute name: {n}")
        seen.add(n)
    return Projection([(n,) for n in names])
