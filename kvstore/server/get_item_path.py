"""GetItem over the wire in one step: the body's bytes to the answer's bytes.

A GetItem is the wire face's most frequent request, and the usual one is
``{"TableName": ..., "Key": {...}}`` and nothing else.  For that shape the
handler's general path (``wire.decode_request``'s member checks, the
operation registry and ``run_operation``, ``get_item.run``'s checks,
``wire.dump_response``'s member walk) decides nothing the table's key schema
does not: here the body is parsed, the key checked against the schema and its
row key built from the JSON text in one core call (``wire_row_key``: plain S
and N values; other keys are converted first, then ``request_row_key``), the
row looked up and its JSON written, with no step in between.

Anything else answers None and the handler takes the general path, which
raises DynamoDB's errors in DynamoDB's order: another member or JSON kind, a
key that is not valid, a table that does not exist (or an ARN), and a
database with injected faults or enforced capacity.  Metrics (on by default
in ``kvstore serve``) record the request here as ``metrics.Recorder.observe``
would (``get_item_answered``).  A read changes nothing, so a request begun here and
redone there is only slower.  ``tests/wire/test_get_item_path.py`` compares
both paths' answers with hypothesis.
"""

from kvstore import _core
from kvstore.clock import stopwatch
from kvstore.operations.common import read_units
from kvstore.operations.get_item import _ONE_UNIT_PACKED
from kvstore.server import wire
from kvstore.server.wire import _ORJSON

_json_needs_stdlib = _core.json_needs_stdlib
if _ORJSON:
    from orjson import loads as _orjson_loads

__all__ = ["answer"]

_ITEM = b'{"Item":'
_EMPTY = b"{}"
#: item_json of the compiled core (the pure twin would be slower than the general writer)
_ITEM_TEXT = _core.implementation == "cython"


def answer(engine, body):
    """The JSON body of the GetItem ``body`` (bytes) answers, or None for the general path."""
    if engine.capacity is not None or engine.faults is not None:
        return None
    if _ORJSON and body.__class__ is bytes and not _json_needs_stdlib(body):
        # wire.loads_request's usual case in line: orjson reads it, and no lone surrogate can be there
        try:
            request = _orjson_loads(body)
        except Exception:   # noqa: BLE001 - the general path raises the SerializationException
            return None
    else:
        try:
            request, suspect = wire.loads_request(body)
        except Exception:   # noqa: BLE001 - the general path raises the SerializationException
            return None
        if suspect:         # a lone surrogate may be there, see wire.loads_request
            return None
    if request.__class__ is not dict or len(request) != 2:
        return None
    name = request.get("TableName")
    key = request.get("Key")
    if name.__class__ is not str or key.__class__ is not dict:
        return None
    table = engine.tables.get(name)
    if table is None:
        return None
    schema = table.schema
    # plain S and N values: the row key from the JSON text in one call, no native values made first
    row_key = _core.wire_row_key(key, schema.hash_name, schema.hash_type, schema.range_name, schema.range_type)
    if row_key is None:
        try:
            key = _core.item_from_wire(key)
        except Exception:       # noqa: BLE001 - the general path raises the conversion's error
            return None
        row_key = _core.request_row_key(key, schema.hash_name, schema.hash_type, schema.range_name,
                                        schema.range_type)
        if row_key is None:
            return None
    metrics = engine.metrics
    if metrics is None:
        packed = table.rows.get(row_key)
        if packed is None:
            return _EMPTY
        item = _core.unpack_item(packed)
    else:
        started = stopwatch()
        packed = table.rows.get(row_key)
        if packed is None:
            metrics.get_item_answered(name, stopwatch() - started, False)
            return _EMPTY
        item = _core.unpack_item(packed)
        metrics.get_item_answered(name, stopwatch() - started, True)
        if len(packed) > _ONE_UNIT_PACKED:       # as get_item.run: the units past the first of a large item
            units = read_units(_core.item_size(item), False)
            if units > 0.5:
                metrics.consumed_read(name, units - 0.5)
    if _ITEM_TEXT:
        try:
            return _ITEM + _core.item_json(item) + b"}"
        except Exception:   # noqa: BLE001 - a value item_json leaves to the general writer
            pass
    return wire.dump_response("GetItem", {"Item": item})
