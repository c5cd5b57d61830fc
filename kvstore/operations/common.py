"""Checks and response pieces shared by the operations, in DynamoDB's wording."""

import math
import re
from decimal import Decimal

from kvstore import _core, limits
from kvstore.errors import (
    ItemCollectionSizeLimitExceededException, ResourceNotFoundException, ValidationException, constraint_error, invalid_parameter,
)
from kvstore.types import Binary

_TABLE_NAME_RE = re.compile(limits.TABLE_NAME_PATTERN + r"\Z")
#: table names already found valid (1..255 characters of the allowed set): checked once
_VALID_NAMES = set()
_KEY_TAGS = {str: "S", Decimal: "N", Binary: "B"}
#: characters below which a key string is within both key size limits, whatever its characters
_SHORT_KEY = min(limits.MAX_HASH_KEY_SIZE, limits.MAX_RANGE_KEY_SIZE) // 4
#: characters below which an attribute name is within its byte limit, whatever its characters
_SHORT_NAME = 16383
#: characters below which an index key string is within both key size limits (``check_index_keys``)
_SHORT_INDEX_KEY = limits.MAX_RANGE_KEY_SIZE // 4

RETURN_VALUES = "[ALL_NEW, UPDATED_OLD, ALL_OLD, NONE, UPDATED_NEW]"
RETURN_CONSUMED_CAPACITY = "[INDEXES, TOTAL, NONE]"
RETURN_ITEM_COLLECTION_METRICS = "[SIZE, NONE]"
RETURN_ON_CONDITION_FAILURE = "[ALL_OLD, NONE]"
SELECT = "[SPECIFIC_ATTRIBUTES, COUNT, ALL_ATTRIBUTES, ALL_PROJECTED_ATTRIBUTES]"
_ENUMS = {
    "ReturnValues": ("returnValues", RETURN_VALUES),
    "ReturnConsumedCapacity": ("returnConsumedCapacity", RETURN_CONSUMED_CAPACITY),
    "ReturnItemCollectionMetrics": ("returnItemCollectionMetrics", RETURN_ITEM_COLLECTION_METRICS),
    "ReturnValuesOnConditionCheckFailure": ("returnValuesOnConditionCheckFailure", RETURN_ON_CONDITION_FAILURE),
    "Select": ("select", SELECT),
}


def key_type(value):
    """'S', 'N' or 'B' for a key-capable native value, else None."""
    return _KEY_TAGS.get(type(value))


# -- request-level constraints ("N validation errors detected") -------------

def table_name_violations(name, path="tableName", minimum=1):
    if minimum == 1 and type(name) is str and name in _VALID_NAMES:
        return []
    if name is None:
        return [(None, path, "Member must not be null")]
    if not isinstance(name, str):
        return [(str(name), path, "Member must not be null")]
    out = []
    if len(name) < minimum:
        out.append((name, path, f"Member must have length greater than or equal to {minimum}"))
    if len(name) > limits.MAX_TABLE_NAME:
        out.append((name, path, f"Member must have length less than or equal to {limits.MAX_TABLE_NAME}"))
    if name and not _TABLE_NAME_RE.match(name):
        out.append((name, path, "Member must satisfy regular expression pattern: " + limits.TABLE_NAME_PATTERN))
    if not out and minimum == 1 and len(_VALID_NAMES) < 10000:
        _VALID_NAMES.add(name)
    return out


def enum_violations(request, members):
    if request.keys().isdisjoint(members):        # the usual request names none of them
        return []
    out = []
    for member in members:
        value = request.get(member)
        if value is not None:
            path, allowed = _ENUMS[member]
            if value not in allowed[1:-1].split(", "):
                out.append((value, path, f"Member must satisfy enum value set: {allowed}"))
    return out


def check_constraints(violations):
    if violations:
        raise constraint_error(violations)


def check_request(request, enums=(), table_member="TableName", required=()):
    """Table-name, required-member and enum constraints, reported together like DynamoDB."""
    violations = table_name_violations(request.get(table_member))
    for member, path in required:
        if request.get(member) is None:
            violations.append((None, path, "Member must not be null"))
    violations += enum_violations(request, enums)
    check_constraints(violations)


def get_table(engine, name):
    table = engine.tables.get(name)
    if table is None:
        raise ResourceNotFoundException("Requested resource not found")
    return table


# -- keys -------------------------------------------------------------------

def _check_key_value(name, value, is_hash):
    cls = value.__class__
    if cls is Decimal or (cls is str and 0 < len(value) <= _SHORT_KEY):
        return          # a number has no size limit; a short string cannot exceed either (UTF-8: <= 4 bytes a character)
    raw = _core.key_bytes(value)
    if not raw:
        kind = "binary" if type(value) is Binary else "string"
        raise ValidationException(
            "One or more parameter values are not valid. The AttributeValue for a key attribute cannot "
            f"contain an empty {kind} value. Key: {name}")
    if type(value) is not Decimal:
        if is_hash and len(raw) > limits.MAX_HASH_KEY_SIZE:
            raise invalid_parameter(
                "Size of hashkey has exceeded the maximum size limit of" + f"{limits.MAX_HASH_KEY_SIZE} bytes")
        if not is_hash and len(raw) > limits.MAX_RANGE_KEY_SIZE:
            raise invalid_parameter(
                "Aggregated size of all range keys has exceeded the size limit of "
                f"{limits.MAX_RANGE_KEY_SIZE} bytes")


def key_from_request(table, key, message="The provided key element does not match the schema"):
    """Validate a ``Key`` (GetItem, DeleteItem, UpdateItem, ...) and return its row key."""
    schema = table.schema
    row_key = _core.request_row_key(key, schema.hash_name, schema.hash_type, schema.range_name, schema.range_type)
    if row_key is not None:          # valid: checked and encoded in one step
        return row_key
    # not valid: find the first error, in DynamoDB's order and words
    if type(key) is not dict or len(key) != len(schema.names):
        raise ValidationException(message)
    h = key.get(schema.hash_name, _ABSENT)
    if h is _ABSENT or key_type(h) != schema.hash_type:
        raise ValidationException(message)
    _check_key_value(schema.hash_name, h, True)
    if schema.range_name is None:
        return _core.storage_key(h)
    r = key.get(schema.range_name, _ABSENT)
    if r is _ABSENT or key_type(r) != schema.range_type:
        raise ValidationException(message)
    _check_key_value(schema.range_name, r, False)
    return _core.storage_key(h, r)


def key_from_item(table, item):
    """Validate the key attributes of a whole ``Item`` (PutItem) and return its row key."""
    schema = table.schema
    # the usual key: each attribute of its declared type, a number or a string short enough for
    # either size limit (what _check_key_value passes without encoding)
    h = item.get(schema.hash_name, _ABSENT)
    cls = h.__class__
    if (cls is str and schema.hash_type == "S" and 0 < len(h) <= _SHORT_KEY) or \
            (cls is Decimal and schema.hash_type == "N"):
        if schema.range_name is None:
            return _core.storage_key(h)
        r = item.get(schema.range_name, _ABSENT)
        cls = r.__class__
        if (cls is str and schema.range_type == "S" and 0 < len(r) <= _SHORT_KEY) or \
                (cls is Decimal and schema.range_type == "N"):
            return _core.storage_key(h, r)
    for name, expected, is_hash in ((schema.hash_name, schema.hash_type, True),
                                    (schema.range_name, schema.range_type, False)):
        if name is None:
            continue
        value = item.get(name, _ABSENT)
        if value is _ABSENT:
            raise invalid_parameter(f"Missing the key {name} in the item")
        actual = key_type(value)
        if actual != expected:
            from kvstore.types import type_of
            raise invalid_parameter(f"Type mismatch for key {name} expected: {expected} actual: {type_of(value)}")
        _check_key_value(name, value, is_hash)
    return schema.row_key(item)


def check_index_keys(table, item, updating=False):
    """Reject an item whose index key attributes have the wrong type, are empty or too long."""
    if not table.indexes or _core.index_keys_usual(table, item, _SHORT_INDEX_KEY):
        return
    table.index_key_types()                  # (re)builds table.index_key_checks when the indexes changed
    get = item.get
    for name, expected, index_name, is_hash in table.index_key_checks:
        value = get(name, _ABSENT)
        if value is _ABSENT:
            continue
        cls = value.__class__
        if (cls is str and expected == "S" and 0 < len(value) <= _SHORT_INDEX_KEY) or \
                (cls is Decimal and expected == "N"):
            continue        # no byte limit for N; short strings cannot exceed either limit
        _check_index_value(name, value, expected, index_name, is_hash, updating)


def _check_index_value(name, value, expected, index_name, is_hash, updating):
    actual = _KEY_TAGS.get(type(value))
    if actual != expected:
        from kvstore.types import type_of
        raise invalid_parameter(
            f"Type mismatch for Index Key {name} Expected: {expected} Actual: {type_of(value)} "
            f"IndexName: {index_name}")
    if actual == "N":
        return
    raw = _core.key_bytes(value)
    if not raw:
        if updating:
            raise ValidationException(
                "One or more parameter values are not valid. The update expression attempted to update "
                "a secondary index key to a value that is not supported. The AttributeValue for a key "
                "attribute cannot contain an empty string value.")
        raise ValidationException(
            "One or more parameter values are not valid. A value specified for a secondary index key "
            "is not supported. The AttributeValue for a key attribute cannot contain an empty "
            f"{'binary' if type(value) is Binary else 'string'} value. IndexName: {index_name}, "
            f"IndexKey: {name}")
    limit = limits.MAX_HASH_KEY_SIZE if is_hash else limits.MAX_RANGE_KEY_SIZE
    if len(raw) > limit:
        raise invalid_parameter(
            f"Size of {'hashkey' if is_hash else 'rangekey'} has exceeded the maximum size limit of"
            f"{limit} bytes for IndexName: {index_name}")


def check_attribute_names(item):
    if item and "" not in item and max(map(len, item)) <= _SHORT_NAME:
        return          # the usual item: no name is empty or long enough to exceed the limit in UTF-8
    for name in item:
        if not name:
            raise invalid_parameter("Empty attribute name")
        if len(name) > _SHORT_NAME and len(name.encode("utf-8", "surrogatepass")) > limits.MAX_ATTRIBUTE_NAME_SIZE:
            raise invalid_parameter(
                f"Attribute name is too large, must be less than {limits.MAX_ATTRIBUTE_NAME_SIZE + 1} bytes")


def check_item_size(item, message="Item size has exceeded the maximum allowed size", packed=None):
    """Reject an item over 400 KB; returns its size, or None when ``packed`` proved it small.

    DynamoDB's size of any value is at most four times its msgpack encoding
    (by induction over the types: each value's encoding has at least one byte
    per element and carries its bytes verbatim), so a packed item of at most
    100 KB cannot exceed the limit and the exact size need not be computed.
    """
    if packed is not None and len(packed) * 4 <= limits.MAX_ITEM_SIZE:
        return None
    size = _core.item_size(item)
    if size > limits.MAX_ITEM_SIZE:
        raise ValidationException(message)
    return size


# -- responses ----------------------------------------------------------------

def capacity(table_name, units, mode, index_units=None, read=True):
    """A ConsumedCapacity entry for ReturnConsumedCapacity TOTAL or INDEXES."""
    out = {"TableName": table_name, "CapacityUnits": float(units)}
    if read:
        out["ReadCapacityUnits"] = float(units)
    else:
        out["WriteCapacityUnits"] = float(units)
    if mode == "INDEXES":
        table_units = units - sum((index_units or {}).values())
        out["Table"] = {"CapacityUnits": float(table_units)}
        gsi = {k: {"CapacityUnits": float(v)} for k, v in (index_units or {}).items() if k[1] == "GSI"}
        if gsi:
            out["GlobalSecondaryIndexes"] = {k[0]: v for k, v in gsi.items()}
        lsi = {k: {"CapacityUnits": float(v)} for k, v in (index_units or {}).items() if k[1] == "LSI"}
        if lsi:
            out["LocalSecondaryIndexes"] = {k[0]: v for k, v in lsi.items()}
    return out


def read_units(size, consistent):
    """ceil(size / 4 KB), at least 1; half for an eventually consistent read (integer arithmetic:
    every GetItem pays this when metrics record its capacity)."""
    units = 1 if size <= 4096 else -(-size // 4096)
    return units if consistent else units / 2


def write_units(size):
    return max(1, math.ceil(size / 1024))


def write_units_of(old_packed, new_packed, new_item):
    """A write's units (reference 7): ``ceil(max(old, new DynamoDB size) / 1 KB)``, at least 1.

    Both images are measured by DynamoDB's item size, not their stored
    (packed) length.  An image of at most 256 packed bytes is at most 1 KB
    (``check_item_size``: DynamoDB's size is at most four times the packed
    length), so it cannot raise the count above one unit and is not measured;
    a larger one is measured off its stored bytes (``packed_item_size``) when
    the caller has them (``new_packed`` None: measure ``new_item``).
    """
    size = 0
    if old_packed is not None and len(old_packed) * 4 > 1024:
        size = _core.packed_item_size(old_packed)
    if new_item is not None and (new_packed is None or len(new_packed) * 4 > 1024):
        size = max(size, _core.packed_item_size(new_packed) if new_packed is not None else _core.item_size(new_item))
    return write_units(size)


def check_collection_size(table, row_key, old_packed, new_packed):
    """Refuse a write that would grow an LSI table's item collection past 10 GB."""
    if table.collections is None or new_packed is None:
        return
    growth = (len(new_packed) - len(old_packed or b"")) * (1 + len(table.lsis))
    if growth > 0 and table.collection_size(row_key) + growth > limits.MAX_ITEM_COLLECTION_SIZE:
        raise ItemCollectionSizeLimitExceededException("Collection size exceeded.")


def item_collection_metrics(table, item_or_key):
    """ItemCollectionMetrics for tables with an LSI (None otherwise)."""
    if not table.lsis:
        return None
    h = item_or_key[table.schema.hash_name]
    size_gb = table.collection_size(_core.partition_prefix(h)) / (1024 ** 3)
    return {"ItemCollectionKey": {table.schema.hash_name: h},
            "SizeEstimateRangeGB": [0.0, 1.0] if size_gb < 1 else [math.floor(size_gb), math.ceil(size_gb) + 1.0]}


class _Absent:
    __slots__ = ()

    def __repr__(self):
        return "<absent>"


_ABSENT = _Absent()
