"""``Key`` and ``Attr``: condition builders with boto3's names and behaviour.

    from kvstore import Key, Attr
    table.query(KeyConditionExpression=Key("pk").eq("u#1") & Key("sk").begins_with("order#"),
                FilterExpression=Attr("status").is_in(["open", "held"]) | Attr("rush").exists())

A condition renders (:func:`build_expression`) to an expression string with
generated placeholders, exactly as boto3's ConditionExpressionBuilder does:
``#n0``, ``#n1``... for every attribute-name part (``a.b[1]`` -> ``#n0.#n1[1]``)
and ``:v0``, ``:v1``... for every value.  ``&``, ``|`` and ``~`` combine
conditions inside parentheses.  boto3's own condition objects are accepted too
(anything with ``get_expression()``), so code written for a boto3 Table works
unchanged; boto3 itself is not imported.
"""

import re

__all__ = [
    "Key", "Attr", "ConditionBase", "AttributeBase", "build_expression",
    "DynamoDBOperationNotSupportedError", "DynamoDBNeedsConditionError", "DynamoDBNeedsKeyConditionError",
]


class DynamoDBOperationNotSupportedError(Exception):
    """``&``, ``|`` or ``~`` applied to something that is not a condition."""

    def __init__(self, operation, value):
        super().__init__(
            f"{operation} operation cannot be applied to value {value} of type {type(value)} directly. "
            "Must use AttributeBase object methods (i.e. Attr().eq()). to generate ConditionBase instances first.")


class DynamoDBNeedsConditionError(Exception):
    """A condition parameter got something that is neither a condition nor a string."""

    def __init__(self, value):
        super().__init__(
            f"Expecting a ConditionBase object. Got {value} of type {type(value)}. Use AttributeBase object "
            "methods (i.e. Attr().eq()). to generate ConditionBase instances.")


class DynamoDBNeedsKeyConditionError(Exception):
    """A KeyConditionExpression built from ``Attr`` instead of ``Key``."""


# ---------------------------------------------------------------- conditions

class ConditionBase:
    """A condition: ``expression_format`` filled with its rendered ``values``."""

    expression_format = ""
    expression_operator = ""
    has_grouped_values = False

    def __init__(self, *values):
        self._values = values

    def __and__(self, other):
        if not _is_condition(other):
            raise DynamoDBOperationNotSupportedError("AND", other)
        return And(self, other)

    def __or__(self, other):
        if not _is_condition(other):
            raise DynamoDBOperationNotSupportedError("OR", other)
        return Or(self, other)

    def __invert__(self):
        return Not(self)

    def get_expression(self):
        return {"format": self.expression_format, "operator": self.expression_operator, "values": self._values}

    def __eq__(self, other):
        return isinstance(other, type(self)) and self._values == other._values

    def __ne__(self, other):
        return not self.__eq__(other)

    __hash__ = None

    def __repr__(self):
        return f"{type(self).__name__}{self._values!r}"


def _condition(name, operator, fmt, grouped=False, base=ConditionBase):
    cls = type(name, (base,), {"expression_operator": operator, "expression_format": fmt,
                               "has_grouped_values": grouped, "__module__": __name__,
                               "__doc__": f"``{fmt.format('a', 'b', 'c', operator=operator)}``"})
    return cls


Equals = _condition("Equals", "=", "{0} {operator} {1}")
NotEquals = _condition("NotEquals", "<>", "{0} {operator} {1}")
LessThan = _condition("LessThan", "<", "{0} {operator} {1}")
LessThanEquals = _condition("LessThanEquals", "<=", "{0} {operator} {1}")
GreaterThan = _condition("GreaterThan", ">", "{0} {operator} {1}")
GreaterThanEquals = _condition("GreaterThanEquals", ">=", "{0} {operator} {1}")
In = _condition("In", "IN", "{0} {operator} {1}", grouped=True)
Between = _condition("Between", "BETWEEN", "{0} {operator} {1} AND {2}")
BeginsWith = _condition("BeginsWith", "begins_with", "{operator}({0}, {1})")
Contains = _condition("Contains", "contains", "{operator}({0}, {1})")
AttributeType = _condition("AttributeType", "attribute_type", "{operator}({0}, {1})")
AttributeExists = _condition("AttributeExists", "attribute_exists", "{operator}({0})")
AttributeNotExists = _condition("AttributeNotExists", "attribute_not_exists", "{operator}({0})")
And = _condition("And", "AND", "({0} {operator} {1})")
Or = _condition("Or", "OR", "({0} {operator} {1})")
Not = _condition("Not", "NOT", "({operator} {0})")


# ---------------------------------------------------------------- attributes

class AttributeBase:
    """An attribute (``name`` may be a path: ``"a.b[2].c"``) with the comparison methods."""

    def __init__(self, name):
        self.name = name

    def __and__(self, value):
        raise DynamoDBOperationNotSupportedError("AND", self)

    def __or__(self, value):
        raise DynamoDBOperationNotSupportedError("OR", self)

    def __invert__(self):
        raise DynamoDBOperationNotSupportedError("NOT", self)

    def eq(self, value):
        """The attribute equals ``value``."""
        return Equals(self, value)

    def lt(self, value):
        return LessThan(self, value)

    def lte(self, value):
        return LessThanEquals(self, value)

    def gt(self, value):
        return GreaterThan(self, value)

    def gte(self, value):
        return GreaterThanEquals(self, value)

    def begins_with(self, value):
        return BeginsWith(self, value)

    def between(self, low_value, high_value):
        """``low_value <= attribute <= high_value``."""
        return Between(self, low_value, high_value)

    def __eq__(self, other):
        return isinstance(other, type(self)) and self.name == other.name

    def __ne__(self, other):
        return not self.__eq__(other)

    __hash__ = None

    def __repr__(self):
        return f"{type(self).__name__}({self.name!r})"


class Key(AttributeBase):
    """A key attribute, for KeyConditionExpression (eq, lt, lte, gt, gte, begins_with, between)."""


class Attr(AttributeBase):
    """Any attribute, for ConditionExpression and FilterExpression."""

    def ne(self, value):
        return NotEquals(self, value)

    def is_in(self, value):
        """The attribute equals one of ``value`` (a list)."""
        return In(self, value)

    def exists(self):
        return AttributeExists(self)

    def not_exists(self):
        return AttributeNotExists(self)

    def contains(self, value):
        return Contains(self, value)

    def size(self):
        """``size(attribute)``, to compare with ``.eq()``, ``.lt()``..."""
        return Size(self)

    def attribute_type(self, value):
        """The attribute has DynamoDB type ``value`` ("S", "N", "M", ...)."""
        return AttributeType(self, value)


class ConditionAttributeBase(ConditionBase, AttributeBase):
    """A condition that is also compared further, like ``size(a)``."""

    def __init__(self, *values):
        ConditionBase.__init__(self, *values)
        AttributeBase.__init__(self, values[0].name)

    def __eq__(self, other):
        return ConditionBase.__eq__(self, other) and AttributeBase.__eq__(self, other)

    def __ne__(self, other):
        return not self.__eq__(other)

    __hash__ = None


class Size(ConditionAttributeBase):
    expression_operator = "size"
    expression_format = "{operator}({0})"


# ---------------------------------------------------------------- rendering

_PLACEHOLDER = re.compile(r"[#:][nv](\d+)\Z")


def _is_condition(value):
    return callable(getattr(value, "get_expression", None))


def _is_attribute(value):
    return (not _is_condition(value) and isinstance(getattr(value, "name", None), str)
            and callable(getattr(value, "begins_with", None)))


def _is_key(value):
    return isinstance(value, Key) or type(value).__name__ == "Key"


def _next_index(existing, prefix):
    highest = -1
    for k in existing or ():
        if isinstance(k, str) and k.startswith(prefix):
            m = _PLACEHOLDER.match(k)
            if m:
                highest = max(highest, int(m.group(1)))
    return highest + 1


class _Builder:
    def __init__(self, names, values, is_key_condition):
        self.names = dict(names) if names else {}
        self.values = dict(values) if values else {}
        self.name_count = _next_index(self.names, "#n")
        self.value_count = _next_index(self.values, ":v")
        self.is_key_condition = is_key_condition

    def render(self, condition):
        expression = condition.get_expression()
        grouped = getattr(condition, "has_grouped_values", False)
        parts = [self.component(v, grouped) for v in expression["values"]]
        return expression["format"].format(*parts, operator=expression["operator"])

    def component(self, value, grouped):
        if _is_condition(value):
            return self.render(value)
        if _is_attribute(value):
            if self.is_key_condition and not _is_key(value):
                raise DynamoDBNeedsKeyConditionError(
                    f"Attribute object {value.name} is of type {type(value)}. KeyConditionExpression only "
                    "supports Attribute objects of type Key")
            return self.name(value.name)
        if grouped:
            return "(" + ", ".join(self.value(v) for v in value) + ")"
        return self.value(value)

    def name(self, path):
        """``a.b[1]`` -> ``#n0.#n1[1]`` (each part its own placeholder, indexes kept)."""
        rendered = []
        for segment in path.split("."):
            cut = segment.find("[")
            head, tail = (segment, "") if cut < 0 else (segment[:cut], segment[cut:])
            if head:
                placeholder = self._fresh_name()
                self.names[placeholder] = head
                head = placeholder
            rendered.append(head + tail)
        return ".".join(rendered)

    def _fresh_name(self):
        while True:
            placeholder = f"#n{self.name_count}"
            self.name_count += 1
            if placeholder not in self.names:
                return placeholder

    def value(self, value):
        while True:
            placeholder = f":v{self.value_count}"
            self.value_count += 1
            if placeholder not in self.values:
                break
        self.values[placeholder] = value
        return placeholder


def build_expression(condition, is_key_condition=False, names=None, values=None):
    """``(expression, names, values)`` for a condition built with Key / Attr (or boto3's).

    Placeholders continue after any ``#nN`` / ``:vN`` already in ``names`` /
    ``values`` (so a KeyConditionExpression and a FilterExpression of one
    request can share the maps); the returned dicts are new.  Values are the
    Python values as passed.  A map stays None when nothing was added to an
    absent one.  A string is returned unchanged with the maps as given.
    """
    if isinstance(condition, str):
        return condition, names, values
    if not _is_condition(condition):
        raise DynamoDBNeedsConditionError(condition)
    builder = _Builder(names, values, is_key_condition)
    text = builder.render(condition)
    return text, builder.names or names, builder.values or values
