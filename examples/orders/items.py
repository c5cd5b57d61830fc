"""The shape of the items the store writes and returns, shared by every part of the store.

Transaction actions, ``SET`` expressions with every name and value a
placeholder, cancellation reasons, and the public view of an item: numbers
come back from the database as ``Decimal``; everything the store returns uses
``int`` (money is integer cents), so callers never see a Decimal.
"""

from decimal import Decimal

from examples.orders import keys

_HIDDEN = frozenset({keys.PK, keys.SK, keys.GSI1PK, keys.GSI1SK, keys.GSI2PK, keys.GSI2SK, "type"})


def put_action(table, item, condition=None):
    spec = {"TableName": table, "Item": item}
    if condition:
        spec["ConditionExpression"] = condition
    return {"Put": spec}


def set_expression(changes):
    """``SET #a = :a, ...`` with every name and value a placeholder (reserved words are safe)."""
    names, values, parts = {}, {}, []
    for n, (name, value) in enumerate(changes.items()):
        names[f"#a{n}"] = name
        values[f":a{n}"] = value
        parts.append(f"#a{n} = :a{n}")
    return "SET " + ", ".join(parts), names, values



def failed(reason):
    return reason.get("Code") not in (None, "None")


def to_int(value):
    return int(value) if isinstance(value, Decimal) else value


def public(item):
    """An item as the API shows it: no key plumbing, numbers as int (they are all integers here)."""
    return {name: to_int(value) for name, value in item.items() if name not in _HIDDEN}

