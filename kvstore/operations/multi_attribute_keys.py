"""Multi-attribute GSI keys: the KeySchema rules of CreateTable and UpdateTable ``Create``.

Since November 2025 a global secondary index's partition key and sort key may
each be made of up to four attributes: a GSI KeySchema is 1-4 HASH elements
followed by 0-4 RANGE elements, each attribute once.  Tables and LSIs keep
one HASH and at most one RANGE element (the ``keySchema`` length constraint).
The engine side is ``KeySchema.composite`` (kvstore/engine/schema.py) and
``composite_index_key`` (kvstore/_pycore.py); Query's rules are
``KeyCondition.resolve_composite`` (kvstore/expressions/key_condition.py).
"""

from kvstore.errors import ValidationException, invalid_parameter

MAX_HASH_ATTRIBUTES = 4
MAX_RANGE_ATTRIBUTES = 4


def check_gsi_key_elements(key_schema):
    """DynamoDB's checks on the order and number of a GSI's key elements (definitions checked before)."""
    types = [element["KeyType"] for element in key_schema]
    if types[0] != "HASH":
        raise ValidationException("Invalid KeySchema: The first KeySchemaElement is not a HASH key type")
    if types.count("HASH") > MAX_HASH_ATTRIBUTES:
        raise invalid_parameter("The KeySchema exceeds the maximum allowed number of HASH key attributes")
    if types.count("RANGE") > MAX_RANGE_ATTRIBUTES:
        raise invalid_parameter("The KeySchema exceeds the maximum allowed number of RANGE key attributes")
    if "RANGE" in types and "HASH" in types[types.index("RANGE"):]:
        raise invalid_parameter("All HASH key attributes must precede RANGE key attributes in the KeySchema")
    names = [element["AttributeName"] for element in key_schema]
    if len(set(names)) < len(names):
        if types == ["HASH", "RANGE"]:
            raise ValidationException("Both the Hash Key and the Range Key element in the KeySchema have the same name")
        raise ValidationException("The KeySchema contains multiple key attributes with the same name")


def lsi_key_schema_violations(lsis):
    """``(value, member path, constraint)`` for LSI KeySchemas longer than a table's (reported with the
    request's other member constraints)."""
    out = []
    for i, lsi in enumerate(lsis or (), 1):
        key_schema = lsi.get("KeySchema") if isinstance(lsi, dict) else None
        if key_schema is not None and len(key_schema) > 2:
            out.append((render(key_schema), f"localSecondaryIndexes.{i}.member.keySchema",
                        "Member must have length less than or equal to 2"))
    return out


def render(elements):
    return "[" + ", ".join(
        "KeySchemaElement(attributeName=%s, keyType=%s)" % (e.get("AttributeName"), e.get("KeyType"))
        for e in elements) + "]"
