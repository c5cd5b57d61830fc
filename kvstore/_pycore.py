"""Pure-Python reference of the hot paths (the compiled twin is ``kvstore._ccore``, built from ``ext/kvstore/``).

Both modules export the same functions with the same results; the test suite
runs on either (``KVSTORE_PURE_PYTHON=1`` forces this one) and a hypothesis
test compares them.

Storage keys
------------
A table row lives under ``crc32(pk)`` (4 bytes, big-endian) + ``hash component``
+ ``sort component``:

- hash component: 2-byte big-endian length + the raw key bytes (self-delimiting,
  so rows of one partition-key value are contiguous whatever the sort key);
- sort component: an order-preserving encoding, so plain byte comparison is
  DynamoDB's order: S as UTF-8 bytes, B as raw bytes, N as
  ``sign byte, exponent byte, one byte per digit, terminator`` (below).

The crc32 prefix spreads partition-key values evenly over partitions and makes
parallel-Scan segments contiguous ranges of the key space.

Numbers (canonical plain strings, 1..38 digits, adjusted exponent -130..125) are
``0.d1d2...dn x 10**e``: zero is ``0x80``; positive ``0xC0, e+129, d+1..., 0x00``;
negative ``0x40, 126-e, 10-d..., 0xFF``.  Inside an index key a sort component
must also be self-delimiting: numbers already are; S/B escape ``0x00`` as
``0x00 0xFF`` and end with ``0x00 0x00``.  A multi-attribute GSI key
(``composite_index_key``) puts its HASH components' hash components one after
another under one crc32, then each RANGE component's delimited sort component.

Items are stored packed with msgpack: str, bool, nil, map and array are native;
N, B and the three set types are ext types 1..5 (numbers as canonical ASCII).

``item_size`` (DynamoDB's size of an item) is ``kvstore.types.item_size``,
re-exported so the engine takes it from ``kvstore._core`` with the rest; so are
the DynamoDB JSON conversions (``from_wire``, ``to_wire``, ``item_from_wire``,
``item_to_wire``) the wire face takes from ``kvstore._core``; ``item_json`` and
``items_json`` are the JSON bytes of ``item_to_wire``'s result, which the compiled
core writes without building it.

``json_needs_stdlib`` tells the wire face when a request body must be parsed by
the json module rather than orjson, which reads integers beyond 64 bits as
floats and takes deeper nesting than json: when the body has, outside its
strings, a run of 19 or more digits (every integer of up to 18 digits fits in
64 bits) or nesting deeper than 500; or a string that does not end.
"""

from decimal import Decimal
from zlib import crc32

import json
import re

import msgpack

from kvstore.types import Binary, from_wire, item_from_wire, item_size, item_to_wire, to_wire

__all__ = [
    "EXT_N", "EXT_B", "EXT_SS", "EXT_NS", "EXT_BS",
    "encode_number", "key_bytes", "hash_component", "storage_key", "partition_prefix",
    "delimited_sort_component", "index_key", "composite_index_key", "sort_bound", "pack_item", "unpack_item",
    "item_size", "from_wire", "to_wire", "item_from_wire", "item_to_wire", "item_json", "items_json",
    "json_needs_stdlib",
]

EXT_N, EXT_B, EXT_SS, EXT_NS, EXT_BS = 1, 2, 3, 4, 5

# ------------------------------------------------------------------ numbers as keys


def encode_number(text):
    """Order-preserving bytes of a canonical number string."""
    if text == "0":
        return b"\x80"
    negative = text[0] == "-"
    if negative:
        text = text[1:]
    int_part, _, frac_part = text.partition(".")
    if int_part != "0":
        exponent = len(int_part)
        digits = (int_part + frac_part).rstrip("0")
    else:
        stripped = frac_part.lstrip("0")
        exponent = len(stripped) - len(frac_part)
        digits = stripped
    if negative:
        return bytes([0x40, 126 - exponent]) + bytes(10 - int(c) for c in digits) + b"\xff"
    return bytes([0xC0, exponent + 129]) + bytes(int(c) + 1 for c in digits) + b"\x00"


def key_bytes(value):
    """Raw bytes of a key value (S: UTF-8, B: bytes, N: order-preserving encoding)."""
    t = type(value)
    if t is str:
        return value.encode("utf-8", "surrogatepass")
    if t is Decimal:
        return encode_number(format(value, "f"))
    return value.value


def hash_component(value):
    raw = key_bytes(value)
    return len(raw).to_bytes(2, "big") + raw


def storage_key(hash_value, range_value=None):
    """The row key of a table (``range_value`` None for hash-only tables)."""
    hc = hash_component(hash_value)
    prefix = crc32(hc).to_bytes(4, "big") + hc
    if range_value is None:
        return prefix
    return prefix + key_bytes(range_value)


def partition_prefix(hash_value):
    """Common prefix of every row with this partition-key value (for Query)."""
    hc = hash_component(hash_value)
    return crc32(hc).to_bytes(4, "big") + hc


def delimited_sort_component(value):
    """Self-delimiting, order-preserving sort component (index keys)."""
    if type(value) is Decimal:
        return encode_number(format(value, "f"))
    return key_bytes(value).replace(b"\x00", b"\x00\xff") + b"\x00\x00"


def index_key(hash_value, range_value, table_key):
    """Row key of an index entry: index key components, then the table row key for uniqueness."""
    hc = hash_component(hash_value)
    out = crc32(hc).to_bytes(4, "big") + hc
    if range_value is not None:
        out += delimited_sort_component(range_value)
    return out + table_key


def composite_index_key(hash_values, range_values, table_key):
    """Row key of an entry of a multi-attribute index (or, with a prefix of the
    RANGE values and an empty ``table_key``, the common prefix of a Query).

    The partition part is the HASH components' ``hash_component`` bytes one
    after another (each length-prefixed, so the sequence is self-delimiting),
    under the crc32 of all of them; then every RANGE component's delimited sort
    component, so byte order is the order of the typed tuple.  With one HASH
    and at most one RANGE value the bytes equal ``index_key``'s.
    """
    hc = b"".join([hash_component(v) for v in hash_values])
    return (crc32(hc).to_bytes(4, "big") + hc
            + b"".join([delimited_sort_component(v) for v in range_values]) + table_key)


def sort_bound(value, delimited):
    """Bytes to compare a sort-key bound with (plain for tables, delimited for indexes)."""
    return delimited_sort_component(value) if delimited else key_bytes(value)


# ------------------------------------------------------------------ items


def _default(obj):
    t = type(obj)
    if t is Decimal:
        return msgpack.ExtType(EXT_N, format(obj, "f").encode("ascii"))
    if t is Binary:
        return msgpack.ExtType(EXT_B, obj.value)
    if t is set or t is frozenset:
        for member in obj:
            mt = type(member)
            break
        if mt is str:
            return msgpack.ExtType(EXT_SS, msgpack.packb(list(obj)))
        if mt is Decimal:
            return msgpack.ExtType(EXT_NS, msgpack.packb([format(m, "f") for m in obj]))
        return msgpack.ExtType(EXT_BS, msgpack.packb([m.value for m in obj], use_bin_type=True))
    raise TypeError(f"cannot pack {obj!r}")


def _ext_hook(code, data):
    if code == EXT_N:
        return Decimal(data.decode("ascii"))
    if code == EXT_B:
        return Binary(data)
    if code == EXT_SS:
        return set(msgpack.unpackb(data))
    if code == EXT_NS:
        return {Decimal(s) for s in msgpack.unpackb(data)}
    if code == EXT_BS:
        return {Binary(b) for b in msgpack.unpackb(data)}
    return msgpack.ExtType(code, data)


def pack_item(item):
    """Bytes of a native item (an immutable snapshot: later changes to ``item`` do not leak in)."""
    return msgpack.packb(item, default=_default, use_bin_type=True, strict_types=True)


def unpack_item(data):
    """A fresh native item from ``pack_item`` bytes."""
    return msgpack.unpackb(data, ext_hook=_ext_hook, raw=False)


# ------------------------------------------------------------------ DynamoDB JSON text

def item_json(item):
    """JSON bytes of ``item_to_wire(item)`` (compact, UTF-8, escaped as the json module does)."""
    return json.dumps(item_to_wire(item), ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def items_json(items):
    """JSON bytes of ``[item_to_wire(item) for item in items]``."""
    return json.dumps([item_to_wire(item) for item in items], ensure_ascii=False,
                      separators=(",", ":")).encode("utf-8")


# ------------------------------------------------------------------ JSON guard

# A whole string, a quote that starts a string which never ends, 19 digits, or a bracket.
_JSON_SCAN = re.compile(rb'"(?:[^"\\]++|\\.)*+"|"|[0-9]{19}|[\[{\]}]', re.DOTALL)
_JSON_NESTING = 500


def json_needs_stdlib(data):
    """Whether JSON text ``data`` (bytes) is for the json module rather than orjson: outside its
    strings, a run of 19 or more digits or nesting deeper than 500; or a string that does not end."""
    depth = 0
    for match in _JSON_SCAN.finditer(data):
        first = data[match.start()]
        if first in b"[{":
            depth += 1
            if depth > _JSON_NESTING:
                return True
        elif first in b"]}":
            depth -= 1
        elif first != 0x22 or match.end() - match.start() == 1:
            return True               # 19 digits, or a string that does not end
    return False
