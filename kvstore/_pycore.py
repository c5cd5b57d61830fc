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

from bisect import bisect_left, bisect_right
from decimal import Decimal
from zlib import crc32

import json
import re

import msgpack

from kvstore import limits as _limits
from kvstore.engine import wal as _wal
from kvstore.engine.wal import encode_record
from kvstore.types import Binary, from_python, from_wire, item_from_wire, item_size, item_to_wire, same_value, to_wire

__all__ = [
    "EXT_N", "EXT_B", "EXT_SS", "EXT_NS", "EXT_BS",
    "encode_number", "key_bytes", "hash_component", "storage_key", "partition_prefix",
    "delimited_sort_component", "index_key", "composite_index_key", "sort_bound", "pack_item", "unpack_item",
    "item_size", "packed_item_size", "from_wire", "to_wire", "item_from_wire", "item_to_wire", "item_json", "items_json",
    "json_needs_stdlib", "request_row_key", "wire_row_key", "take_forward", "take_reverse", "read_page", "read_shape",
    "query_bounds",
    "sorted_add", "sorted_remove", "project_packed", "update_indexes", "same_value", "item_from_python",
    "shape_ok", "condition_holds", "apply_update", "number_add", "write_shape", "usual_actions", "transact_size", "transact_size_bound",
    "apply_row", "apply_writes", "write_record", "frame_record", "append_record", "commit_usual", "wait_usual",
    "transact_actions", "transact_request", "usual_transaction",
    "transact_images", "transact_commit", "index_keys_usual", "parse_request", "render_answer", "remembered_form",
    "embedded_read", "run_update_plan", "embedded_update", "transact_embedded", "get_item_answer", "usual_get_item",
    "put_item_answer", "usual_item_request",
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


def request_row_key(key, hash_name, hash_tag, range_name, range_tag):
    """The row key of a request's ``Key`` when it is valid, else None (the caller then finds the error).

    Valid: a dict of exactly the key attributes (``range_name`` None for a
    hash-only table), each of its tag's native type (``"S"``, ``"N"``, ``"B"``),
    S and B values not empty, the partition key at most 2048 bytes and the sort
    key at most 1024.  GetItem, UpdateItem, DeleteItem... validate and build the
    key in this one call; ``kvstore.operations.common.key_from_request`` words
    the error of anything else.
    """
    if type(key) is not dict or len(key) != (1 if range_name is None else 2):
        return None
    h = key.get(hash_name, _ABSENT)
    if type(h) is not _KEY_TYPES.get(hash_tag):
        return None
    raw = key_bytes(h)
    if not raw or (hash_tag != "N" and len(raw) > _MAX_HASH_KEY):
        return None
    hc = len(raw).to_bytes(2, "big") + raw
    prefix = crc32(hc).to_bytes(4, "big") + hc
    if range_name is None:
        return prefix
    r = key.get(range_name, _ABSENT)
    if type(r) is not _KEY_TYPES.get(range_tag):
        return None
    raw = key_bytes(r)
    if not raw or (range_tag != "N" and len(raw) > _MAX_RANGE_KEY):
        return None
    return prefix + raw


def wire_row_key(key, hash_name, hash_tag, range_name, range_tag):
    """The row key of a wire request's ``Key`` (DynamoDB JSON) whose values are *plainly* valid, else None.

    Plainly valid: a dict of exactly the key attributes, each ``{tag: text}`` of the schema's type
    with ``text`` a non-empty ASCII string, an S within the key size limits, an N in plain notation
    (``-?(0|[1-9][0-9]*)(.[0-9]*[1-9])?``, not ``-0``, at most 38 characters: a number whose
    canonical form has the same digits, so its key bytes are encoded from the text without making
    it a Decimal).  None says nothing about validity: the caller converts the key in full
    (``item_from_wire`` + ``request_row_key``), which raises or answers.  The wire GetItem
    (``kvstore.server.get_item_path``) builds its row key here in one call.
    """
    if type(key) is not dict or len(key) != (1 if range_name is None else 2):
        return None
    raw = _wire_key_bytes(key.get(hash_name), hash_tag)
    if raw is None or (hash_tag == "S" and len(raw) > _MAX_HASH_KEY):
        return None
    hc = len(raw).to_bytes(2, "big") + raw
    prefix = crc32(hc).to_bytes(4, "big") + hc
    if range_name is None:
        return prefix
    raw = _wire_key_bytes(key.get(range_name), range_tag)
    if raw is None or (range_tag == "S" and len(raw) > _MAX_RANGE_KEY):
        return None
    return prefix + raw


_PLAIN_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]*[1-9])?\Z")
_PLAIN_NUMBER_MAX = 38


def _wire_key_bytes(av, tag):
    if type(av) is not dict or len(av) != 1:
        return None
    text = av.get(tag)
    if type(text) is not str or not text or not text.isascii():
        return None
    if tag == "S":
        return text.encode("ascii")
    if tag == "N" and len(text) <= _PLAIN_NUMBER_MAX and text != "-0" and _PLAIN_NUMBER.match(text):
        return encode_number(text)
    return None


_ABSENT = object()
_KEY_TYPES = {"S": str, "N": Decimal, "B": Binary}
_MAX_HASH_KEY = 2048       # kvstore.limits.MAX_HASH_KEY_SIZE (limits imports nothing of this module's)
_MAX_RANGE_KEY = 1024      # kvstore.limits.MAX_RANGE_KEY_SIZE


# ------------------------------------------------------------------ the page walk (Query and Scan)


def take_forward(keys, lo, lo_inc, hi, hi_inc, n):
    """Up to ``n`` keys of SortedList ``keys`` from ``lo`` upwards, not past ``hi``.

    Equivalent to ``list(islice(keys.irange(lo, hi, (lo_inc, hi_inc)), n))``
    (a property test checks it) but slices the list's sublists directly
    (SortedList's private ``_lists`` and ``_maxes``: sortedcontainers is
    pinned to 2.4.x in pyproject.toml, and tests/engine/test_key_ranges.py
    fails loudly if that layout changes).  Measured against irange + islice on
    a 100,000-key list, interleaved in one run (medians): a Scan's 128-key
    batch 5x faster forward, 6x backward, 7-9x from a partition's start; a
    10-key Query 1.35x; a one-key Query 1.0-1.2x.  O(log n + k) for k keys.
    """
    maxes = keys._maxes
    if not maxes:
        return []
    if lo is None:
        pos, idx = 0, 0
    else:
        pos = bisect_left(maxes, lo) if lo_inc else bisect_right(maxes, lo)
        if pos == len(maxes):
            return []
        sub = keys._lists[pos]
        idx = bisect_left(sub, lo) if lo_inc else bisect_right(sub, lo)
    lists = keys._lists
    sub = lists[pos]
    stop = min(len(sub), idx + n)
    if hi is not None and stop > idx and (sub[stop - 1] > hi or (sub[stop - 1] == hi and not hi_inc)):
        # the range ends in this sublist
        return sub[idx:bisect_right(sub, hi, idx, stop) if hi_inc else bisect_left(sub, hi, idx, stop)]
    out = sub[idx:stop]
    while len(out) < n and pos + 1 < len(lists) and (hi is None or maxes[pos] < hi or (hi_inc and maxes[pos] == hi)):
        pos += 1
        out += lists[pos][:n - len(out)]
    if hi is not None and out and (out[-1] > hi or (out[-1] == hi and not hi_inc)):
        out = out[:bisect_right(out, hi) if hi_inc else bisect_left(out, hi)]
    return out


def take_reverse(keys, lo, lo_inc, hi, hi_inc, n):
    """Up to ``n`` keys of SortedList ``keys`` from ``hi`` downwards, not below ``lo`` (descending).

    The mirror of :func:`take_forward` (same internals, same pin); O(log n + k).
    """
    maxes = keys._maxes
    if not maxes:
        return []
    lists = keys._lists
    if hi is None:
        pos = len(lists) - 1
        end = len(lists[pos])
    else:
        pos = bisect_right(maxes, hi) if hi_inc else bisect_left(maxes, hi)
        if pos == len(maxes):
            pos -= 1
            end = len(lists[pos])
        else:
            sub = lists[pos]
            end = bisect_right(sub, hi) if hi_inc else bisect_left(sub, hi)
    start = max(0, end - n)
    if lo is not None and start < end and lists[pos][start] < lo:     # the range starts in this sublist
        start = bisect_left(lists[pos], lo, start, end) if lo_inc else bisect_right(lists[pos], lo, start, end)
        return lists[pos][start:end][::-1]
    out = lists[pos][start:end][::-1]
    while len(out) < n and pos > 0 and (lo is None or lists[pos][0] > lo or (lo_inc and lists[pos][0] == lo)):
        pos -= 1
        sub = lists[pos]
        out += sub[max(0, len(sub) - (n - len(out))):][::-1]
    if lo is not None and out and (out[-1] < lo or (out[-1] == lo and not lo_inc)):
        ascending = out[::-1]
        out = out[:len(out) - (bisect_left(ascending, lo) if lo_inc else bisect_right(ascending, lo))]
    return out



def read_page(partitions, locks, shift, lo, lo_inc, hi, hi_inc, reverse, chunk, values, limit, page_size, unpack,
              sized=False):
    """One Query/Scan page of a table or index: ``(found, read_bytes, stopped)``.

    Walks the row keys of ``partitions`` (SortedLists; ``locks[p]`` guards
    ``partitions[p]``, and the partition of a key is its first byte >> ``shift``)
    between the bounds, in order (descending when ``reverse``), ``chunk`` keys
    per lock hold; looks each up in ``values`` (a key removed since it was taken
    is skipped) and collects the packed item (or the item itself when
    ``unpack``), until ``limit`` items (None: no limit) or ``page_size`` bytes of
    packed items (the 1 MB cap) were read: then ``stopped`` is true and the last
    item collected is the page's last evaluated one.  ``read_bytes`` is the
    packed size of what was collected; with ``sized`` (and ``unpack``) it is
    :func:`read_size` of the page instead, what its read units are computed
    from (enforced capacity, ConsumedCapacity).
    """
    if sized and unpack:
        packed, read_bytes, stopped = read_page(partitions, locks, shift, lo, lo_inc, hi, hi_inc, reverse, chunk,
                                                values, limit, page_size, False)
        return [unpack_item(p) for p in packed], read_size(packed, read_bytes), stopped
    found = []
    read_bytes = 0
    first = 0 if lo is None else lo[0] >> shift
    last = len(partitions) - 1 if hi is None else min(len(partitions) - 1, hi[0] >> shift)
    order = range(last, first - 1, -1) if reverse else range(first, last + 1)
    for p in order:
        keys = partitions[p]
        lock = locks[p]
        plo, plo_inc, phi, phi_inc = lo, lo_inc, hi, hi_inc
        while True:
            with lock:
                if reverse:
                    batch = take_reverse(keys, plo, plo_inc, phi, phi_inc, chunk)
                else:
                    batch = take_forward(keys, plo, plo_inc, phi, phi_inc, chunk)
            for row_key in batch:
                packed = values.get(row_key)
                if packed is None:       # removed after the key list was read
                    continue
                found.append(unpack_item(packed) if unpack else packed)
                read_bytes += len(packed)
                if len(found) == limit or read_bytes >= page_size:
                    return found, read_bytes, True
            if len(batch) < chunk:
                break
            if reverse:
                phi, phi_inc = batch[-1], False
            else:
                plo, plo_inc = batch[-1], False
    return found, read_bytes, False


_FLAT = (str, Decimal, Binary, bool, type(None))


def flat_item(packed):
    """Whether a stored item of fewer than 16 attributes holds only strings, numbers, binaries, booleans
    and nulls: its DynamoDB size is then below its packed length (each name and value is stored
    verbatim after a marker of at least one byte, a number's size is at most half its text plus three
    bytes, a boolean or null is one byte either way)."""
    item = unpack_item(packed)
    return len(item) < 16 and all(v.__class__ in _FLAT for v in item.values())


def read_size(packed, read_bytes):
    """What a page's read units are computed from: its stored length ``read_bytes`` when that settles
    them (1 KB packed is at most 4 KB by DynamoDB's measure, ``common.check_item_size``; 4 KB of
    :func:`flat_item` items is at most 4 KB), else the DynamoDB size of its ``packed`` items
    (reference 7).  Either way ``read_units`` of it is the page's."""
    if read_bytes <= 1024 or (read_bytes <= 4096 and all(map(flat_item, packed))):
        return read_bytes
    return sum(map(packed_item_size, packed))


# ------------------------------------------------------------------ the write path


def sorted_add(keys, key):
    """Add ``key`` to the SortedList ``keys`` (a table's or an index's partition of row keys)."""
    keys.add(key)


def sorted_remove(keys, key):
    """Remove ``key``, a member, from the SortedList ``keys`` (ValueError when it is not one)."""
    keys.remove(key)


def project_packed(packed, names):
    """``pack_item`` of the item whose bytes are ``packed``, restricted to the attributes in
    ``names`` (a set of str), in the item's order: what an index with a projection stores.

    The map's kept entries are cut out of ``packed`` as they are (a value packs the same bytes
    wherever it stands), under a new map header: no value is unpacked and packed again.
    """
    unpacker = msgpack.Unpacker(raw=False, ext_hook=_ext_hook, strict_map_key=False)
    unpacker.feed(packed)
    count = unpacker.read_map_header()
    kept = []
    for _ in range(count):
        start = unpacker.tell()
        name = unpacker.unpack()
        unpacker.skip()
        if name in names:
            kept.append(packed[start:unpacker.tell()])
    if unpacker.tell() != len(packed):
        raise ValueError("trailing bytes after the packed item")
    n = len(kept)
    header = bytes((0x80 | n,)) if n < 16 else (b"\xde" + n.to_bytes(2, "big") if n < 65536
                                                  else b"\xdf" + n.to_bytes(4, "big"))
    return header + b"".join(kept)


def update_indexes(indexes, row_key, old_item, new_item, new_packed):
    """Move every index of ``indexes`` (``kvstore.engine.index.Index``) from ``old_item`` to
    ``new_item`` (either None), whose packed bytes are ``new_packed``: ``Index.update`` of each."""
    for index in indexes:
        index.update(row_key, old_item, new_item, new_packed)


def item_from_python(item, allow_floats=False):
    """An embedded call's item (Python values) in the native model: ``item`` itself when it is not
    a dict or a name is not a str (``kvstore.params`` reports those as boto3 does), else a new dict
    of ``kvstore.types.from_python`` of each value; a name that is not valid UTF-8 raises."""
    if type(item) is not dict:
        return item
    out = {}
    for k, v in item.items():
        if type(k) is not str:
            return item
        if not k.isascii():
            from_python(k)
        out[k] = v if (type(v) is str and v.isascii()) else from_python(v, allow_floats)
    return out


# ------------------------------------------------------------------ boto3's parameter check at a glance

#: how deep ``shape_ok`` looks into nested structures before it hands the request to the walk
SHAPE_DEPTH = 32


def shape_ok(tables, build, shape, request, depth=0):
    """Whether ``request`` (a dict) of structure ``shape`` is the common call ``kvstore.params`` checks
    at a glance: every member in ``tables[shape]`` (``build(shape)`` makes a missing table) and of one
    of its exact types; a TEXT member ASCII, a NAMES member's names all ``str``, a STRUCTURE member
    (or a STRUCTURES member's every element, a dict) such a request of its own shape.  False sends the
    request to ``kvstore.params``' walk, which finds what to report (so does nesting past SHAPE_DEPTH).
    A STRUCTURE_LISTS member is a map of ASCII ``str`` names to lists of such requests (BatchWriteItem's
    RequestItems).  Kinds: LEAF 0, TEXT 1, NAMES 2, STRUCTURE 3, STRUCTURES 4, STRUCTURE_LISTS 5
    (``kvstore.params``)."""
    if depth > SHAPE_DEPTH:
        return False
    table = tables.get(shape)
    if table is None:
        table = build(shape)
    for member, value in request.items():
        spec = table.get(member)
        if spec is None or type(value) not in spec[0]:
            return False
        kind = spec[1]
        if kind == 1:
            if not value.isascii():
                return False              # the walk looks for a lone surrogate
        elif kind == 2:
            for name in value:
                if type(name) is not str:
                    return False
        elif kind == 3:
            if not shape_ok(tables, build, spec[2], value, depth + 1):
                return False
        elif kind == 4:
            for element in value:
                if type(element) is not dict or not shape_ok(tables, build, spec[2], element, depth + 1):
                    return False
        elif kind == 5:
            for name, elements in value.items():
                if type(name) is not str or not name.isascii() or type(elements) not in (list, tuple):
                    return False
                for element in elements:
                    if type(element) is not dict or not shape_ok(tables, build, spec[2], element, depth + 1):
                        return False
    return True


# ------------------------------------------------------------------ condition and update programs
# kvstore.expressions.programs compiles the common ConditionExpression and
# UpdateExpression shapes into these tuples (its docstring lists them); what a
# program means is defined here, and it is exactly what the general evaluator
# (kvstore.expressions.evaluate / update) does with the same expression.

C_EXISTS, C_NOT_EXISTS, C_CMP, C_AND, C_OR, C_NOT = 0, 1, 2, 3, 4, 5
U_SET, U_REMOVE, U_ADD, U_NODE = 0, 1, 2, 3
O_VALUE, O_PATH, O_ADD, O_SUBTRACT, O_IF_NOT_EXISTS = 0, 1, 2, 3, 4

_expr = None


def _expressions():
    """What the programs share with the general evaluator (imported on first use: it imports this module)."""
    global _expr
    if _expr is None:
        from kvstore.expressions import evaluate, update
        _expr = (evaluate.MISSING, evaluate.resolve, evaluate.deep_equal, evaluate.ordered, evaluate.copy_value,
                 update)
    return _expr


def condition_holds(program, item, vals):
    """Whether the condition ``program`` holds for ``item`` (a dict, or None: no item), reading
    ExpressionAttributeValues by slot from ``vals``."""
    return _holds(program, {} if item is None else item, vals)


def _holds(node, item, vals):
    missing, resolve, deep_equal, ordered, _, _ = _expressions()
    op = node[0]
    if op == C_EXISTS:
        return resolve(item, node[1]) is not missing
    if op == C_NOT_EXISTS:
        return resolve(item, node[1]) is missing
    if op == C_CMP:
        x = resolve(item, node[2])
        v = vals[node[3]]
        test = node[1]
        if test == 0:
            return x is not missing and deep_equal(x, v)
        if test == 1:
            return not (x is not missing and deep_equal(x, v))
        pair = ordered(x, v)
        if pair is None:
            return False
        a, b = pair
        if test == 2:
            return a < b
        if test == 3:
            return a <= b
        if test == 4:
            return a > b
        return a >= b
    if op == C_AND:
        for inner in node[1]:
            if not _holds(inner, item, vals):
                return False
        return True
    if op == C_OR:
        for inner in node[1]:
            if _holds(inner, item, vals):
                return True
        return False
    if op == C_NOT:
        return not _holds(node[1], item, vals)
    raise ValueError(f"not a condition program: {node!r}")


def number_add(a, b, subtract=False):
    """``a + b`` (``a - b``) of two Decimals as DynamoDB computes it: exact, then within N's limits
    (a result of more than 38 digits is "Number overflow"), as ``SET x = x + :v`` and ``ADD`` do."""
    update = _expressions()[5]
    exact = update._EXACT.subtract(a, b) if subtract else update._EXACT.add(a, b)
    return update.decimal_result(exact)


def apply_update(program, item, vals):
    """The item after the update ``program`` (a new dict; ``item`` is not changed), every right-hand
    side reading ``item`` as it was; raises the general update's ValidationExceptions."""
    return _apply_entries(program, item, item, vals)


def _apply_entries(entries, doc, old_item, vals):
    missing, _, _, _, copy_value, update = _expressions()
    out = dict(doc)
    for name, op, arg, depth in entries:
        if op == U_NODE:
            child = doc.get(name, missing)
            if type(child) is not dict:
                raise update.ValidationException(update.BAD_PATH)
            out[name] = _apply_entries(arg, child, old_item, vals)
            continue
        if op == U_SET:
            value = _operand(arg, old_item, vals)
            if value is missing:
                raise update.ValidationException(update.NOT_FOUND)
            value = copy_value(value)
            if type(value) is dict or type(value) is list:
                if depth + update._container_depth(value) > update.limits.MAX_NESTING_DEPTH:
                    raise update.ValidationException(update._NESTING)
        elif op == U_REMOVE:
            value = missing
        elif op == U_ADD:
            value = vals[arg]
            current = doc.get(name, missing)
            if current is missing:
                value = copy_value(value)
            elif type(current) is not Decimal:
                raise update.ValidationException(update.BAD_TYPE)
            else:
                value = number_add(current, value)
        else:
            raise ValueError(f"not an update program entry: {op!r}")
        if value is missing:
            out.pop(name, None)
        else:
            out[name] = value
    return out


def _operand(operand, item, vals):
    missing, resolve, _, _, _, update = _expressions()
    kind = operand[0]
    if kind == O_VALUE:
        return vals[operand[1]]
    if kind == O_PATH:
        return resolve(item, operand[1])
    if kind == O_ADD or kind == O_SUBTRACT:
        a = _number_operand(operand[1], item, vals)
        b = _number_operand(operand[2], item, vals)
        return number_add(a, b, kind == O_SUBTRACT)
    if kind == O_IF_NOT_EXISTS:
        default = _operand(operand[2], item, vals)
        if default is missing:
            raise update.ValidationException(update.NOT_FOUND)
        value = _operand(operand[1], item, vals)
        return default if value is missing else value
    raise ValueError(f"not an update operand: {operand!r}")


def _number_operand(operand, item, vals):
    missing, _, _, _, _, update = _expressions()
    value = _operand(operand, item, vals)
    if value is missing:
        raise update.ValidationException(update.NOT_FOUND)
    if type(value) is not Decimal:
        raise update.ValidationException(update.BAD_TYPE)
    return value


# ------------------------------------------------------------------ a write's expression shape

def write_shape(operation, request, update, allowed, map_marker):
    """``(key, vals)``: the template key ``kvstore.expressions.request.compile_request`` computes for
    the expressions of a write ``request`` (ConditionExpression, and UpdateExpression when ``update``)
    and the request's ExpressionAttributeValues' values in order; or None unless the request is of
    the usual shape: a dict whose members are all in ``allowed``, holding at least one expression,
    expressions ``str``, ExpressionAttributeNames a dict of ``str`` to ``str`` and
    ExpressionAttributeValues a dict (``map_marker`` is compile_request's marker of a map)."""
    if type(request) is not dict:
        return None
    for member in request:
        if member not in allowed:
            return None
    condition = request.get("ConditionExpression")
    text = request.get("UpdateExpression") if update else None
    if condition is None and text is None:
        return None
    if (condition is not None and type(condition) is not str) or (text is not None and type(text) is not str):
        return None
    names = request.get("ExpressionAttributeNames")
    if names is None:
        names_key = None
    elif type(names) is dict and all(type(k) is str and type(v) is str for k, v in names.items()):
        names_key = tuple(names.items())
    else:
        return None
    values = request.get("ExpressionAttributeValues")
    if values is None:
        return (operation, condition, None, None, text, None, names_key), ()
    if type(values) is not dict:
        return None
    vals = tuple(values.values())
    return (operation, condition, None, None, text, None, names_key, map_marker,
            *values, *map(type, (*values, *vals))), vals


# ------------------------------------------------------------------ a row installed

def apply_row(rows, partitions, shift, row_key, new_packed):
    """Install ``new_packed`` under ``row_key`` in a table's ``rows`` (or delete it when None) and keep
    its partition (``partitions[row_key[0] >> shift]``, a SortedList of row keys) in step; returns
    the change of the table's stored bytes (``Table.apply`` of a table without indexes or TTL)."""
    old_packed = rows.get(row_key)
    if new_packed is None:
        if old_packed is None:
            return 0
        del rows[row_key]
        sorted_remove(partitions[row_key[0] >> shift], row_key)
        return -len(old_packed)
    rows[row_key] = new_packed
    if old_packed is None:
        sorted_add(partitions[row_key[0] >> shift], row_key)
        return len(new_packed)
    return len(new_packed) - len(old_packed)


def apply_writes(writes):
    """``Table.apply`` of each of ``Database.commit``'s writes ``(table, row key, old item, new item,
    new packed)``, in order: the rows installed, TTL noted, indexes moved."""
    for table, row_key, old_item, new_item, new_packed in writes:
        table.apply(row_key, old_item, new_item, new_packed)


# ------------------------------------------------------------------ the write-ahead log's record

def write_record(writes):
    """The payload of the log record of ``writes`` (``Database.commit``'s tuples ``(table, row key,
    old item, new item, new packed)``), as docs/format.md gives it."""
    return msgpack.packb(["W", [[w[0].name, w[1], w[4]] for w in writes]], use_bin_type=True)


#: ``frame_record(lsn, payload, rtype)``: ``payload`` framed as one log record; the spec's own function
frame_record = encode_record


def commit_usual(engine, writes):
    """``engine.commit(writes)``: the prepared operations commit through this; compiled, the usual
    case (no stream, point-in-time table or listener) skips the method's Python."""
    return engine.commit(writes)


def wait_usual(engine, lsn):
    """``engine.wait_durable(lsn)``; compiled, it returns at once where the method would (a record
    the staging area holds under ``batch``)."""
    return engine.wait_durable(lsn)


def append_record(durability, payload):
    """``Durability.append`` (kvstore/engine/durability.py; the method is this function): ``payload``
    framed as the log's next record, buffered for the flusher and copied into the staging area
    (``Staging.put``; a record it cannot hold is remembered in ``_unstaged``), under the log's
    lock; its LSN.  A log that cannot be written refuses first."""
    if durability._failure is not None or durability._state != "running":
        durability._refuse()
    if len(payload) > _wal.MAX_PAYLOAD:
        raise ValueError(f"log record of {len(payload)} bytes exceeds {_wal.MAX_PAYLOAD}")
    with durability._lock:
        lsn = durability._next_lsn
        durability._next_lsn = lsn + 1
        if durability._buf:
            record = encode_record(lsn, payload, _wal.CONT)
        else:
            record = encode_record(lsn, payload, _wal.BEGIN)
            durability._buf_first = lsn
        durability._buf.append(record)
        durability._buf_bytes += len(record)
        if durability._staging is not None and not durability._staging.put(record, lsn):
            durability._unstaged = lsn
        big = durability._buf_bytes >= _wal.WAKE_BYTES
        if durability._gather_target and len(durability._buf) >= durability._gather_target:
            durability._gathered.notify()
    if big:
        durability._wake.set()
    return lsn


# ------------------------------------------------------------------ TransactWriteItems

def usual_actions(actions, kinds, valid_names, on_failure):
    """Per action of a TransactWriteItems, ``(kind, spec, shape)`` when it is of the usual shape, else
    None (``kvstore.operations.transact_write_items``' general path): a dict of one kind from ``kinds``
    (kind -> shape: its required member first, the member it cannot do without last) whose spec is a
    dict, its TableName a str in ``valid_names``, its required members present and its
    ReturnValuesOnConditionCheckFailure in ``on_failure``."""
    out = []
    for action in actions:
        usual = None
        if action.__class__ is dict and len(action) == 1:
            for kind, spec in action.items():
                pass
            shape = kinds.get(kind)
            if shape is not None and spec.__class__ is dict:
                name = spec.get("TableName")
                if (name.__class__ is str and name in valid_names and spec.get(shape[0]) is not None
                        and (shape[3] is None or spec.get(shape[3]) is not None)
                        and spec.get("ReturnValuesOnConditionCheckFailure") in on_failure):
                    usual = kind, spec, shape
        out.append(usual)
    return out


def transact_size(parsed, plain_members):
    """Bytes a TransactWriteItems' parsed actions ``(kind, spec, condition, update, packed item)``
    carry: packed items (or keys), expressions and packed ExpressionAttributeValues; a Put whose
    members are all in ``plain_members`` carries its item alone."""
    total = 0
    for kind, spec, _, _, packed in parsed:
        if packed is not None:
            total += len(packed)
            if spec.keys() <= plain_members:
                continue
        else:
            total += len(pack_item(spec["Key"]))
        for member in ("ConditionExpression", "UpdateExpression"):
            if spec.get(member):
                total += len(spec[member])
        if spec.get("ExpressionAttributeValues"):
            total += len(pack_item(spec["ExpressionAttributeValues"]))
    return total


def transact_size_bound(parsed, plain_members):
    """A number at least ``transact_size(parsed, plain_members)``, made without packing a Key or
    ExpressionAttributeValues of flat values (ASCII names and str, a Decimal whose ``str`` is its
    plain text, bool, None, Binary of bytes), none of which packing can refuse: per map, msgpack's
    longest header (5 bytes), per name and str value its longest header and its characters, per
    Decimal its longest ext header (6) and its text, per Binary the same and its bytes.  Anything
    else: ``transact_size`` itself (and what it raises).  A usual transaction is far from the 4 MB
    limit, so the bound decides it (``usual_transaction``); near it, ``transact_size`` does."""
    total = 0
    for entry in parsed:
        if type(entry) is not tuple or len(entry) != 5 or type(entry[1]) is not dict:
            return transact_size(parsed, plain_members)
        spec, packed = entry[1], entry[4]
        if packed is not None:
            if type(packed) is not bytes:
                return transact_size(parsed, plain_members)
            total += len(packed)
            if spec.keys() <= plain_members:
                continue
        else:
            bound = _packed_bound(spec.get("Key"))
            if bound is None:
                return transact_size(parsed, plain_members)
            total += bound
        for member in ("ConditionExpression", "UpdateExpression"):
            if spec.get(member):
                total += len(spec[member])
        if spec.get("ExpressionAttributeValues"):
            bound = _packed_bound(spec["ExpressionAttributeValues"])
            if bound is None:
                return transact_size(parsed, plain_members)
            total += bound
    return total


def _packed_bound(values):
    if type(values) is not dict:
        return None
    total = 5
    for name, value in values.items():
        if type(name) is not str or not name.isascii():
            return None
        total += 5 + len(name)
        t = type(value)
        if t is str:
            if not value.isascii():
                return None
            total += 5 + len(value)
        elif t is Decimal:
            text = str(value)
            if not text.isascii() or "E" in text or "e" in text:
                return None
            total += 6 + len(text)
        elif t is bool or value is None:
            total += 1
        elif t is Binary and type(value.value) is bytes:
            total += 6 + len(value.value)
        else:
            return None
    return total


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


def packed_item_size(packed):
    """DynamoDB's size of a stored item (what capacity charges for it): ``item_size`` of its
    unpacked form.  The compiled twin reads it off the bytes without building the item."""
    return item_size(unpack_item(packed))


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


# ------------------------------------------------------------------ prepared Query and Scan plans

#: members whose value is part of a read's shape (exact str or bool values only)
_SHAPE_MEMBERS = frozenset(("TableName", "IndexName", "KeyConditionExpression", "FilterExpression",
                            "ProjectionExpression", "Select", "ScanIndexForward", "ConsistentRead",
                            "ReturnConsumedCapacity"))
#: members whose value each request brings (their presence is part of the shape)
_VALUE_MEMBERS = frozenset(("Limit", "ExclusiveStartKey", "ExpressionAttributeValues", "ExpressionAttributeNames"))
_STR = frozenset((str,))


def read_shape(prefix, request):
    """The shape key of a Query or Scan ``request`` (a dict), ``prefix`` (a tuple) first; None when it
    has a member outside those a prepared plan covers or a value of an unusual class.

    The shape (``kvstore.operations.read_plans``): in the request's member order, each member's name,
    followed by its value for the members of ``_SHAPE_MEMBERS`` (only ``str`` and ``bool`` values);
    then the ExpressionAttributeNames items (a dict of str to str) when present; then the
    ExpressionAttributeValues placeholders (str) and the classes of their values when present.
    """
    key = list(prefix)
    append = key.append
    for member, value in request.items():
        if member in _VALUE_MEMBERS:
            append(member)
        elif member in _SHAPE_MEMBERS and (value.__class__ is str or value.__class__ is bool):
            append(member)
            append(value)
        else:
            return None
    names = request.get("ExpressionAttributeNames")
    if names is not None:
        if (names.__class__ is not dict or not _STR.issuperset(map(type, names))
                or not _STR.issuperset(map(type, names.values()))):
            return None
        append(tuple(names.items()))
    values = request.get("ExpressionAttributeValues")
    if values is not None:
        if values.__class__ is not dict or not _STR.issuperset(map(type, values)):
            return None
        append(tuple(values))
        append(tuple(map(type, values.values())))
    return tuple(key)


def _successor(prefix):
    stripped = prefix.rstrip(b"\xff")
    if not stripped:
        return None
    return stripped[:-1] + bytes([stripped[-1] + 1])


def _short_key(value, tag, most):
    """Whether ``value`` is of key type ``tag`` and, for S and B, not empty and surely at most ``most``
    bytes (a string of at most most/4 characters; longer ones are left to the caller)."""
    t = type(value)
    if t is not _KEY_TYPES.get(tag):
        return False
    if t is str:
        return 0 < len(value) <= most // 4
    if t is Binary:
        return type(value.value) is bytes and 0 < len(value.value) <= most
    return True


def query_bounds(hash_value, hash_tag, op, values, range_tag, delimited):
    """``(lo, lo_inclusive, hi, hi_inclusive)`` row-key bounds of a Query on a single-attribute key,
    when its key values are plainly valid, else None (the caller's reference then finds the error).

    Plainly valid: ``hash_value`` of ``hash_tag``'s type (``"S"``, ``"N"``, ``"B"``), an S or B one
    not empty and at most 512 characters / 2048 bytes; each of ``values`` (the sort-key condition's,
    ``op`` None, EQ, LT, LE, GT, GE, BETWEEN or BEGINS_WITH) of ``range_tag``'s type, S or B not empty
    and at most 256 characters / 1024 bytes.  The bounds are ``KeySchema.range_bounds``'s
    (``kvstore.engine.schema``): ``delimited`` for an index, whose sort component is followed by
    the table key.
    """
    if not _short_key(hash_value, hash_tag, _MAX_HASH_KEY):
        return None
    for v in values:
        if not _short_key(v, range_tag, _MAX_RANGE_KEY):
            return None
    prefix = partition_prefix(hash_value)
    end = _successor(prefix)
    if op is None:
        return prefix, True, end, False
    if op == "BEGINS_WITH":
        raw = key_bytes(values[0])
        start = prefix + (raw.replace(b"\x00", b"\x00\xff") if delimited else raw)
        return start, True, _successor(start) or end, False
    if op == "BETWEEN":
        lo, hi = prefix + sort_bound(values[0], delimited), prefix + sort_bound(values[1], delimited)
        return lo, True, (_successor(hi) or end) if delimited else hi, not delimited
    bound = prefix + sort_bound(values[0], delimited)
    if op == "EQ":
        return bound, True, (_successor(bound) or end) if delimited else bound, not delimited
    if op == "LT":
        return prefix, True, bound, False
    if op == "LE":
        return prefix, True, (_successor(bound) or end) if delimited else bound, not delimited
    if op == "GT":
        if delimited:
            return _successor(bound), True, end, False
        return bound, False, end, False
    if op == "GE":
        return bound, True, end, False
    return None


# ------------------------------------------------------------------ a prepared UpdateItem

#: ``run_update_plan``'s context: what it raises and checks with, from kvstore.operations (which
#: this module cannot import)
UPDATE_PLAN_CONTEXT_SIZE = 8


def run_update_plan(engine, plan, kwargs, context):
    """The response of a ``Table.update_item`` call (``kwargs``) of a prepared plan's shape
    (``kvstore.operations.write_plans.UpdatePlan``), or None when the reference path must answer,
    which is before anything changed: the Key and ExpressionAttributeValues converted as
    ``item_from_python`` does and the row key built (``request_row_key``); under enforced capacity
    the write admitted; under the item's lock, the item read, the condition and update programs run,
    and the new image's size, index keys and item collection checked (any DynamoDBError of these
    checks answers None: the reference raises it in DynamoDB's order), then committed; a false
    condition raises the reference's ConditionalCheckFailedException (charged as a write first);
    the commit waited for and charged.  ``context``: ``(DynamoDBError, condition_failed,
    check_item_size, check_index_keys, check_collection_size, the size error's message, the empty
    request, the response's metadata)``."""
    error_class, condition_failed, check_item_size, check_index_keys, check_collection_size, too_big, \
        no_request, response_metadata = context
    table = plan.table
    if engine.tables.get(table.name) is not table or engine.closed:
        return None
    allow_floats = plan.allow_floats
    try:
        key = item_from_python(kwargs["Key"], allow_floats)
        values = kwargs.get("ExpressionAttributeValues")
        vals = () if values is None else tuple(item_from_python(values, allow_floats).values())
    except Exception:      # noqa: BLE001 - the reference path converts again and raises its error
        return None
    row_key = request_row_key(key, *plan.key_schema)
    if row_key is None:
        return None
    meter = engine.capacity
    ticket = None
    if meter is not None:
        try:
            ticket = meter.admit_write(table, row_key)
        except error_class as e:
            e._operation_name = "UpdateItem"
            raise
    with table.locks[row_key[0] >> table._shift]:
        old_packed = table.rows.get(row_key)
        old = unpack_item(old_packed) if old_packed is not None else None
        new = packed = None
        try:
            failed = plan.condition is not None and not condition_holds(plan.condition, old, vals)
            if not failed:
                if old is not None:
                    new = apply_update(plan.update, old, vals)
                elif not plan.only_removes:
                    new = apply_update(plan.update, dict(key), vals)
                if new is not None and not same_value(new, old):
                    packed = pack_item(new)
                    check_item_size(new, too_big, packed)
                    if table.indexes:
                        check_index_keys(table, new, True)
                        check_collection_size(table, row_key, old_packed, packed)
        except error_class:      # the reference path raises it, in DynamoDB's order of checks
            return None
        if failed:
            if ticket is not None:     # a failed conditional write is charged as if it had written
                meter.charge_write(ticket, old_packed, None, old, None)
            e = condition_failed(old, no_request, table, old_packed, None, row_key)
            e._operation_name = "UpdateItem"
            raise e
        try:
            lsn = 0 if packed is None else commit_usual(engine, [(table, row_key, old, new, packed)])
        except error_class as e:     # the log could not take it, or DeleteTable won the race
            e._operation_name = "UpdateItem"
            raise
    try:
        wait_usual(engine, lsn)
    except error_class as e:
        e._operation_name = "UpdateItem"
        raise
    if ticket is not None:
        meter.charge_write(ticket, old_packed, None if new is None else old_packed if packed is None else packed,
                           old, new)
    return {"ResponseMetadata": dict(response_metadata)}


#: ``embedded_update``'s context: ``run_update_plan``'s, and the members and map marker of
#: ``write_shape`` for a ``Table.update_item`` call (``kvstore.operations.write_plans``)
EMBEDDED_UPDATE_CONTEXT_SIZE = 3


def embedded_update(engine, prefix, kwargs, context):
    """The response of a ``Table.update_item`` call (``kwargs``) answered by the prepared plan of its
    shape (``run_update_plan``), else the call's shape key for the Python path, or None when the call
    has no shape a plan can serve.

    ``prefix`` is ``("embedded", table name, allow_floats)``; ``context`` is ``(run_update_plan's
    context, the members a plan covers, write_shape's map marker)``.  No shape (None): contention,
    injected faults or metrics on ``engine`` (each wraps the reference path), no UpdateExpression, a
    member or value :func:`write_shape` does not cover.  The shape, not an answer: no plan of that
    shape in ``engine.write_plans`` yet (or None remembered for it), or the plan handing the call to
    the reference path (nothing changed then)."""
    if engine.contention is not None or engine.faults is not None or engine.metrics is not None:
        return None
    if kwargs.get("UpdateExpression") is None:
        return None
    run_context, members, map_marker = context
    found = write_shape(prefix, kwargs, True, members, map_marker)
    if found is None:
        return None
    shape = found[0]
    plan = engine.write_plans.get(shape)
    if plan is None:
        return shape
    response = run_update_plan(engine, plan, kwargs, run_context)
    return shape if response is None else response


# ------------------------------------------------------------------ transactions (session 8)
# The embedded TransactWriteItems of the usual shape in two calls: its actions converted
# (``transact_actions``), then ``transact_commit``: everything
# ``kvstore.operations.transact_write_items`` checks before it takes the locks
# (``usual_transaction``), the locks, the new images (``transact_images``) and the commit.
# Each answers None for anything unusual or anything that fails, and the operation then runs
# its general path from the start, which raises or cancels exactly as before: so a fast answer
# only ever stands for a request on which every check passed.

#: positions in what ``usual_transaction`` / ``transact_images`` / ``transact_commit`` read from
#: ``kvstore.operations.transact_write_items`` (its ``USUAL_CONTEXT``)
(TX_KINDS, TX_VALID_NAMES, TX_ON_FAILURE, TX_PLAIN_MEMBERS, TX_USUAL_MEMBERS, TX_USUAL_UPDATE_MEMBERS, TX_MAP,
 TX_TEMPLATES, TX_MAX_ACTIONS, TX_MAX_SIZE, TX_MAX_ITEM_SIZE, TX_SHORT_NAME, TX_SHORT_KEY, TX_SHORT_INDEX_KEY,
 TX_UPDATE_CLASS, TX_PROGRAM_CONDITION) = range(16)
#: request members a usual transaction may carry besides TransactItems, when they ask for nothing
_TX_QUIET_MEMBERS = ("ReturnConsumedCapacity", "ReturnItemCollectionMetrics")
_TX_CONDITION_MEMBERS = ("KeyConditionExpression", "FilterExpression")


def transact_actions(actions, allow_floats, members):
    """The embedded API's TransactItems (``kvstore.api.Database._transact_actions``) for actions of
    the usual shape: each a dict of one kind from ``members`` (kind -> the member holding its item or
    key) whose spec is a dict, that member a dict, ConditionExpression a str when given and
    ExpressionAttributeValues a dict when given, both converted by ``item_from_python``; None for
    anything else or when a value does not convert (the Python face then converts as before)."""
    if type(actions) is not list:
        return None
    out = []
    try:
        for action in actions:
            if type(action) is not dict or len(action) != 1:
                return None
            for kind, spec in action.items():
                pass
            member = members.get(kind)
            if member is None or type(spec) is not dict:
                return None
            spec = dict(spec)
            value = spec.get(member)
            if value is not None:
                if type(value) is not dict:
                    return None
                spec[member] = item_from_python(value, allow_floats)
            condition = spec.get("ConditionExpression")
            if condition is not None and type(condition) is not str:
                return None                   # a Key / Attr condition: rendered by the Python face
            for other in _TX_CONDITION_MEMBERS:
                if other in spec:
                    return None
            values = spec.get("ExpressionAttributeValues")
            if values is not None:
                if type(values) is not dict:
                    return None
                converted = item_from_python(values, allow_floats)
                if converted is values:       # a name that is not a str
                    return None
                spec["ExpressionAttributeValues"] = converted
            out.append({kind: spec})
    except Exception:           # noqa: BLE001 - the Python face converts again and raises what it raises
        return None
    return out


#: ``kvstore.params``' kinds of member, as ``transaction_checks`` gives them
_PARAM_TEXT, _PARAM_NAMES, _PARAM_NAME_MAP = 1, 2, 6


def transact_request(engine, kwargs, allow_floats, members, checks):
    """The embedded API's TransactWriteItems request for a call (``kwargs``) that boto3's parameter
    check passes as it stands, with its actions converted (``transact_actions``); None when the
    engine wraps calls (injected faults, metrics: the call goes through ``run_operation``), when the
    call is not one of those, or when its actions do not convert.

    ``checks`` is ``kvstore.params.transaction_checks()``: the request's string members and, per kind
    of action, its members' kinds.  The call passes when its members are TransactItems (a list) and
    string members; every action is a dict of one known kind whose spec is a dict of that kind's
    members alone; a TEXT member (and each string member of the request) is a ``str`` and ASCII; a
    NAMES member (Key, Item, ExpressionAttributeValues) a ``dict`` whose names are ASCII ``str``; a
    NAME_MAP member (ExpressionAttributeNames) a ``dict`` of ASCII ``str`` to ASCII ``str``.

    Why ``Database.transact_write_items`` may then skip ``kvstore.params.check``, which would run on
    the converted request: the conversion keeps every member name, every string member and every
    map's names as they are (``item_from_python`` makes a new dict of the same names), and builds the
    action list and dicts anew as ``list`` and ``dict``.  So on the converted request the walk of
    ``check`` (``params._walk`` without ``full``: what it raises on) finds: no unknown member (every
    member is in its structure), no wrong type (each value is of exactly a type botocore accepts for
    its kind: ``list``, ``dict``, ``str``), no lone surrogate (every string and map key it looks at
    is ASCII; attribute values it does not walk), and no ``bool`` where a number belongs (no member
    is a number).  A call refused by the check fails one of these conditions, so it takes the
    general path, which checks it first as before.
    """
    if engine.faults is not None or engine.metrics is not None:
        return None
    try:
        if type(kwargs) is not dict or not _transaction_params_pass(kwargs, checks):
            return None
    except Exception:           # noqa: BLE001 - a name whose hash raises: the general path reports it
        return None
    actions = transact_actions(kwargs["TransactItems"], allow_floats, members)
    if actions is None:
        return None
    request = dict(kwargs)
    request["TransactItems"] = actions
    return request


def _transaction_params_pass(kwargs, checks):
    texts, kinds = checks
    if type(kwargs.get("TransactItems")) is not list:
        return False
    for member, value in kwargs.items():
        if member != "TransactItems" and (member not in texts or type(value) is not str or not value.isascii()):
            return False
    for action in kwargs["TransactItems"]:
        if type(action) is not dict or len(action) != 1:
            return False
        for kind, spec in action.items():
            spec_kinds = kinds.get(kind)
            if spec_kinds is None or type(spec) is not dict:
                return False
            for member, value in spec.items():
                code = spec_kinds.get(member)
                if code == _PARAM_TEXT:
                    if type(value) is not str or not value.isascii():
                        return False
                elif code == _PARAM_NAMES or code == _PARAM_NAME_MAP:
                    if type(value) is not dict:
                        return False
                    for name, inner in value.items():
                        if type(name) is not str or not name.isascii():
                            return False
                        if code == _PARAM_NAME_MAP and (type(inner) is not str or not inner.isascii()):
                            return False
                else:
                    return False
    return True


def usual_transaction(request, tables, context):
    """``(parsed, targets, locks)`` of a TransactWriteItems ``request`` on which every check before
    the locks passes, else None.

    The request holds TransactItems (1 to ``TX_MAX_ACTIONS`` actions, each ``usual_actions``' usual
    one) and at most ReturnConsumedCapacity / ReturnItemCollectionMetrics ``"NONE"``; each action's
    expressions are a known template's (``write_shape`` found in ``TX_TEMPLATES``, instantiated
    without error); the request's size is within ``TX_MAX_SIZE``; every table exists in ``tables``
    and has no item collections (no LSI); a Put's item has no empty or long name, is small enough
    to be within the item size by its packed length and has a key of short S or N values; another
    action's Key is valid (``request_row_key``) and its update writes no key attribute and reaches
    into no attribute by a nested path; an item's index key values are short S or N values; no two
    actions name one item.  ``parsed``: per action ``(kind, spec, condition, update, packed item)``
    as the operation's ``_parse`` gives it; ``targets``: per action ``(table, row key)``;
    ``locks``: the partitions' locks in the global order (table name, partition).
    """
    if type(request) is not dict:
        return None
    for member, value in request.items():
        if member != "TransactItems" and (member not in _TX_QUIET_MEMBERS or value != "NONE"):
            return None
    actions = request.get("TransactItems")
    if type(actions) is not list or not 1 <= len(actions) <= context[TX_MAX_ACTIONS]:
        return None
    try:
        return _usual_transaction(actions, tables, context)
    except Exception:           # noqa: BLE001 - the general path redoes the request and raises what it raises
        return None


def _usual_transaction(actions, tables, context):
    usual = usual_actions(actions, context[TX_KINDS], context[TX_VALID_NAMES], context[TX_ON_FAILURE])
    plain = context[TX_PLAIN_MEMBERS]
    templates = context[TX_TEMPLATES]
    parsed = []
    for entry in usual:
        if entry is None:
            return None
        kind, spec, shape = entry
        condition = update = None
        if not spec.keys() <= plain:
            found = write_shape(shape[1], spec, shape[2],
                                context[TX_USUAL_UPDATE_MEMBERS] if shape[2] else context[TX_USUAL_MEMBERS],
                                context[TX_MAP])
            if found is None:
                return None
            instantiate = templates.get(found[0])
            if instantiate is None:
                return None
            parts = instantiate.condition_and_plan
            if parts is not None:      # what instantiate(vals) holds, without the Compiled around it
                condition, update = parts[0], context[TX_UPDATE_CLASS].of(parts[1], found[1])
            else:
                compiled = instantiate(found[1])
                if compiled is None:
                    return None
                condition, update = compiled.condition, compiled.update
        parsed.append((kind, spec, condition, update, pack_item(spec["Item"]) if kind == "Put" else None))
    if (transact_size_bound(parsed, plain) > context[TX_MAX_SIZE]
            and transact_size(parsed, plain) > context[TX_MAX_SIZE]):
        return None
    targets = []
    seen = set()
    wanted = {}
    for kind, spec, condition, update, packed in parsed:
        table = tables.get(spec["TableName"])
        if table is None or table.collections is not None:
            return None
        schema = table.schema
        if kind == "Put":
            item = spec["Item"]
            if type(item) is not dict:
                return None
            for name in item:
                if type(name) is not str or not name or len(name) > context[TX_SHORT_NAME]:
                    return None
            if len(packed) * 4 > context[TX_MAX_ITEM_SIZE]:
                return None
            row_key = _usual_item_key(item, schema, context[TX_SHORT_KEY])
            if row_key is None or (table.indexes and not _usual_index_keys(table, item, context)):
                return None
        else:
            row_key = request_row_key(spec["Key"], schema.hash_name, schema.hash_type, schema.range_name,
                                      schema.range_type)
            if row_key is None:
                return None
            if update is not None:
                if type(update) is not context[TX_UPDATE_CLASS]:
                    return None
                plan = update.plan
                if plan.nested_top_level_names:
                    return None
                for name in schema.names:
                    if name in plan.top_level_names:
                        return None
        if type(row_key) is not bytes or not row_key:
            return None
        target = (table, row_key)
        if target in seen:
            return None
        seen.add(target)
        targets.append(target)
        p = row_key[0] >> table._shift
        wanted[(table.name, p)] = table.locks[p]
    locks = [wanted[k] for k in sorted(wanted)]
    return parsed, targets, locks


def _usual_item_key(item, schema, short):
    """The row key of an item whose key values are S of 1..``short`` characters or N, as their
    schema declares; else None."""
    h = item.get(schema.hash_name)
    if not ((type(h) is str and schema.hash_type == "S" and 0 < len(h) <= short)
            or (type(h) is Decimal and schema.hash_type == "N")):
        return None
    if schema.range_name is None:
        return storage_key(h)
    r = item.get(schema.range_name)
    if not ((type(r) is str and schema.range_type == "S" and 0 < len(r) <= short)
            or (type(r) is Decimal and schema.range_type == "N")):
        return None
    return storage_key(h, r)


def _usual_index_keys(table, item, context):
    return index_keys_usual(table, item, context[TX_SHORT_INDEX_KEY])


def index_keys_usual(table, item, short):
    """Whether every index key value ``item`` (a dict) has is a str of 1 to ``short`` characters or a
    Decimal, as its index declares (``kvstore.operations.common.check_index_keys`` passes such an
    item without looking further)."""
    table.index_key_types()                  # (re)builds table.index_key_checks when the indexes changed
    for name, expected, _, _ in table.index_key_checks:
        if name in item:
            value = item[name]
            if not ((type(value) is str and expected == "S" and 0 < len(value) <= short)
                    or (type(value) is Decimal and expected == "N")):
                return False
    return True


def transact_images(parsed, targets, context):
    """The writes ``(table, row key, old item, new item, new packed)`` of a transaction that
    ``usual_transaction`` prepared, under its locks, when every condition holds and every new
    image is usual (an Update's small enough by its packed length, its index key values short S or
    N); else None.  The old image is read where a condition, an update or an index needs it (None
    otherwise, as the operation's general path passes it); an unchanged item is not written."""
    try:
        return _transact_images(parsed, targets, context)
    except Exception:           # noqa: BLE001 - the general path redoes the request and raises what it raises
        return None


def _transact_images(parsed, targets, context):
    program_condition = context[TX_PROGRAM_CONDITION]
    max_item_size = context[TX_MAX_ITEM_SIZE]
    writes = []
    for (kind, spec, condition, update, put_packed), (table, row_key) in zip(parsed, targets):
        old_packed = table.rows.get(row_key)
        old = None
        if old_packed is not None and (condition is not None or kind == "Update" or table.indexes):
            old = unpack_item(old_packed)
        if condition is not None:
            if type(condition) is program_condition:
                holds = condition_holds(condition.program, old, condition.vals)
            else:
                holds = condition.evaluate(old)
            if not holds:
                return None
        if kind == "ConditionCheck":
            continue
        if kind == "Put":
            new, packed = spec["Item"], put_packed
        elif kind == "Delete":
            new = packed = None
        else:
            if update is None:
                return None
            plan = update.plan
            if old is None:
                new = None if plan.only_removes else _updated(plan, update, dict(spec["Key"]), False)
            else:
                new = _updated(plan, update, old, True)
            packed = None
            if new is not None:
                packed = pack_item(new)
                if len(packed) * 4 > max_item_size:
                    return None
                if table.indexes and (type(new) is not dict or not _usual_index_keys(table, new, context)):
                    return None
        if packed is not None or old_packed is not None:
            if not (packed is not None and packed == old_packed):
                writes.append((table, row_key, old, new, packed))
    return writes


def transact_commit(engine, request, context):
    """The log position of a usual TransactWriteItems ``request`` committed on ``engine``, or None
    when it is not one (the engine meters capacity or has contention on, ``usual_transaction``
    answers None) or ``transact_images`` answers None under its locks; nothing is written then.
    The locks are taken in their order and released in reverse, whatever ``engine.commit`` raises."""
    if engine.capacity is not None or engine.contention is not None:
        return None
    prepared = usual_transaction(request, engine.tables, context)
    if prepared is None:
        return None
    parsed, targets, locks = prepared
    for lock in locks:
        lock.acquire()
    try:
        writes = transact_images(parsed, targets, context)
        if writes is None:
            return None
        return commit_usual(engine, writes) if writes else 0
    finally:
        for lock in reversed(locks):
            lock.release()


def transact_embedded(engine, kwargs, allow_floats, members, checks, context):
    """``Database.transact_write_items`` of a call (``kwargs``) in one core call: the call converted
    (``transact_request``), committed (``transact_commit``) and waited for (``wait_usual``), its
    response; the converted request in a 1-tuple when the commit left it to the operation's general
    path (nothing was written); None when ``transact_request`` answers None (the call goes through
    ``Database._call``, which checks it first)."""
    request = transact_request(engine, kwargs, allow_floats, members, checks)
    if request is None:
        return None
    lsn = transact_commit(engine, request, context)
    if lsn is None:
        return (request,)
    wait_usual(engine, lsn)
    return {"ResponseMetadata": {"HTTPStatusCode": 200, "RetryAttempts": 0}}


def _updated(plan, update, item, existed):
    """``Update.apply``: the program's result when the update has one."""
    if plan.program is not None:
        return apply_update(plan.program, item, update.vals)
    return update.apply(item, existed)


# ------------------------------------------------------------------ wire (session 8)
# The HTTP front's usual request and answer (kvstore.server.app): a whole POST read at once is
# taken apart here instead of by httptools and ten Python callbacks, and the usual answer's head
# is written in one step.  Anything unusual in a request answers None, and httptools parses it.

# RFC 9110 tchar: what a header name is made of
_TOKEN = frozenset(b"!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
# A request target of the usual path and query (a subset of what llhttp accepts)
_TARGET = frozenset(b"!$%&'()*+,-./0123456789:;=?@ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz~")
# A header value's characters: visible ASCII and the space (not first, not last)
_FIELD = frozenset(range(0x20, 0x7F))
# Headers that change how the message is framed or the connection kept: the HTTP parser decides
_FRAMING = frozenset(("transfer-encoding", "connection", "proxy-connection", "upgrade", "expect"))


def parse_request(data, max_line, max_head, max_body):
    """``(target, headers, body)`` of ``data`` when it is exactly one usual request, else None.

    Usual: ``POST <target> HTTP/1.1``, a target of at most ``max_line`` bytes starting with ``/``
    (characters of ``_TARGET``), CRLF line ends, a head of at most ``max_head`` bytes, each
    header once, its name a token, its value visible ASCII with inner spaces (after ``:`` and
    spaces), a ``Content-Length`` of at most ``max_body`` that the body fills to the end of
    ``data``, and none of the headers that change the framing or the connection (``_FRAMING``).
    Such a request is kept alive.  ``headers`` maps lower-case names to the values as str, as
    ``kvstore.server.app.HttpProtocol`` builds them from httptools' callbacks; ``target`` is
    the target as str.  Anything else answers None (the protocol hands it to httptools), so what
    the server does with a request never depends on which of the two read it.
    """
    data = bytes(data)
    end = data.find(b"\r\n\r\n")
    if end < 0 or end + 4 > max_head or not data.startswith(b"POST /"):
        return None
    lines = data[:end].split(b"\r\n")
    line = lines[0]
    if not line.endswith(b" HTTP/1.1"):
        return None
    target = line[5:-9]
    if len(target) > max_line or not _TARGET.issuperset(target):
        return None
    headers = {}
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        value = value.lstrip(b" ")
        if (not colon or not name or not value or value[-1] == 0x20 or not _TOKEN.issuperset(name)
                or not _FIELD.issuperset(value)):
            return None
        name = name.decode("ascii").lower()
        if name in headers or name in _FRAMING:
            return None
        headers[name] = value.decode("ascii")
    length = headers.get("content-length")
    if length is None or len(length) > len(str(max_body)) or not length.isdigit():
        return None
    length = int(length)
    if length > max_body or len(data) != end + 4 + length:
        return None
    return target.decode("ascii"), headers, data[end + 4:]


def render_answer(head, body, date, id_prefix, ids, keep_alive):
    """The bytes of an answer: ``head`` (the status line and headers up to ``Content-Length: ``),
    the body's length, ``date`` (the ``Date`` line), ``x-amzn-RequestId`` (``id_prefix`` and the next
    number of ``ids``), ``x-amz-crc32`` of ``body``, ``Connection: close`` unless ``keep_alive``, the
    blank line and ``body``."""
    return b"%s%d\r\n%sx-amzn-RequestId: %s%d\r\nx-amz-crc32: %d\r\n%s\r\n%s" % (
        head, len(body), date, id_prefix, next(ids), crc32(body), b"" if keep_alive else b"Connection: close\r\n",
        body)


def remembered_form(forms, headers, now, max_skew):
    """The entry of ``forms`` (``kvstore.server.auth._FORMS``) for a request's SigV4 form when it is
    known valid and current at ``now``, else None (then ``auth.check_form`` decides, and raises what
    it finds): the ``Authorization`` header up to ``, Signature=`` names the entry, whose X-Amz-Date
    and Date must be the request's and whose request time must be within ``max_skew`` of ``now``."""
    auth = headers.get("authorization")
    if auth is None:
        return None
    head, sep, signature = auth.strip().rpartition(", Signature=")
    signature = signature.strip()
    if not sep or not signature or "," in signature:
        return None
    known = forms.get(head)
    if (known is None or known[0] != headers.get("x-amz-date") or known[1] != headers.get("date")
            or not now - max_skew <= known[3] <= now + max_skew):
        return None
    return known


# ------------------------------------------------------------------ wire (session 9)
# The usual GetItem's answer (kvstore.server.get_item_path) in one core call: the body's bytes
# to the answer's bytes.  The compiled twin answers the usual case itself and hands anything else
# (a body orjson may not read, a key that is not plain S and N, a value its JSON writer leaves to
# the general writer) to this function.

_server_wire = None      # kvstore.server.wire (which imports this module), on first use


def _usual_body(body, member):
    """(TableName, body[member]) of a request body of just those two members, the table name a str
    and the member a dict, parsed as ``wire.loads_request`` parses it; None otherwise (unparsable,
    a body that may hold a lone surrogate, other members or types: the general path answers it).
    Imports ``kvstore.server.wire`` into ``_server_wire`` on first use."""
    global _server_wire
    wire = _server_wire
    if wire is None:
        from kvstore.server import wire
        _server_wire = wire
    if wire._ORJSON and body.__class__ is bytes and not json_needs_stdlib(body):
        # wire.loads_request's usual case: orjson reads it, and no lone surrogate can be there
        try:
            request = wire._orjson_loads(body)
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
    value = request.get(member)
    if name.__class__ is not str or value.__class__ is not dict:
        return None
    return name, value


def get_item_answer(engine, body):
    """The JSON body answering the GetItem ``body`` (bytes) when it is ``TableName`` and ``Key``
    alone, of an existing table, with a valid key, on a database without injected faults, and under
    enforced capacity a read the meter admits at once (``read_item_admitted``, which charges it);
    else None (the handler's general path raises DynamoDB's error in its order, and meters the read).

    Parsed as ``wire.loads_request`` parses it (a body that may hold a lone surrogate: None); the
    row key from the JSON text of plain S and N values (``wire_row_key``), other keys converted
    first (``item_from_wire`` + ``request_row_key``); the item's JSON as ``wire.dump_response``
    writes it.  With metrics on, records what ``Recorder.observe`` records of a GetItem
    (``get_item_answered``, and the units past the first of an item over 1 KB packed, as
    ``get_item.run`` does).
    """
    if engine.faults is not None:
        return None
    usual = _usual_body(body, "Key")
    if usual is None:
        return None
    name, key = usual
    table = engine.tables.get(name)
    if table is None:
        return None
    schema = table.schema
    row_key = wire_row_key(key, schema.hash_name, schema.hash_type, schema.range_name, schema.range_type)
    if row_key is None:
        try:
            key = item_from_wire(key)
        except Exception:       # noqa: BLE001 - the general path raises the conversion's error
            return None
        row_key = request_row_key(key, schema.hash_name, schema.hash_type, schema.range_name, schema.range_type)
        if row_key is None:
            return None
    metrics = engine.metrics
    meter = engine.capacity
    if metrics is None:
        packed = table.rows.get(row_key)
        if meter is not None and not meter.read_item_admitted(table, row_key, packed, None):
            return None     # not admitted at once: the general path meters it (and throttles)
        if packed is None:
            return b"{}"
        item = unpack_item(packed)
    else:
        from kvstore.clock import stopwatch
        started = stopwatch()
        packed = table.rows.get(row_key)
        if meter is not None and not meter.read_item_admitted(table, row_key, packed, None):
            return None
        if packed is None:
            metrics.get_item_answered(name, stopwatch() - started, False)
            return b"{}"
        item = unpack_item(packed)
        metrics.get_item_answered(name, stopwatch() - started, True)
        _large_item_units(metrics, name, packed, item)
    return _get_item_json(item)


def _get_item_json(item):
    """The GetItem answer's JSON of a found ``item`` (native)."""
    return _server_wire.dump_response("GetItem", {"Item": item})


def _large_item_units(metrics, name, packed, item):
    """As ``get_item.run`` with metrics: the read units past the first of an item that may be
    over 4 KB (more than 1 KB packed), eventually consistent."""
    from kvstore.operations.common import read_units
    from kvstore.operations.get_item import _ONE_UNIT_PACKED
    if len(packed) > _ONE_UNIT_PACKED:
        units = read_units(item_size(item), False)
        if units > 0.5:
            metrics.consumed_read(name, units - 0.5)


def usual_get_item(server, headers, body, usual):
    """The bytes answering a usual GetItem on ``server`` (``kvstore.server.app.Server``, served in
    line), or its answer ``(status, content type, body)`` when the body is too long for the usual
    head; None for any other request (the handler then answers it as always).

    ``headers`` and ``body`` are a request ``parse_request`` took apart.  ``usual`` is
    ``kvstore.server.app._USUAL``: ``(Server, RequestHandler, AnyKey, SystemClock, time.time,
    auth._FORMS, JSON content types, the answer's content type, its head up to Content-Length,
    the size from which answers may be compressed, the request id prefix and counter)``.

    Usual, checked in the order the handler checks it (``handler._handle``): a handler of exactly
    ``RequestHandler`` without the fault endpoint, a body within its limit, a JSON Content-Type
    as sent by SDKs, an X-Amz-Target already known to name GetItem, no Content-Encoding, no
    signature check (``auth`` None) or ``AnyKey``'s on a remembered form (``remembered_form``),
    no CORS answer to make, and a body ``get_item_answer`` answers.  Each of those is the
    handler's own outcome (the one step it takes for GetItem), so the bytes are those its answer
    renders to (``Server.render``); whatever it would decide otherwise is left to it.
    """
    handler = _usual_handler(server, headers, body, usual, "GetItem")
    if handler is None:
        return None
    return _usual_get_item_answer(server, handler, body, usual)


def _usual_get_item_answer(server, handler, body, usual):
    """The usual GetItem's answer once ``_usual_handler`` passed it: its rendered bytes, the
    ``(status, content type, body)`` of an answer to compress, or None (the handler answers it)."""
    try:
        answer = get_item_answer(handler.engine, body)
    except Exception:               # noqa: BLE001 - the handler answers what it answers
        return None
    if answer is None:
        return None
    if len(answer) >= usual[9]:
        return (200, usual[7], answer)
    return render_answer(usual[8], answer, server.date_bytes, usual[10], usual[11], True)


# ------------------------------------------------------------------ wire (session 15)
# The usual PutItem over the wire in one core call: ``{"TableName": ..., "Item": {...}}`` of a known
# table, on a database whose write path nothing watches (no injected faults, capacity enforcement or
# contention mode), written as ``put_item.run`` writes it (the same checks, lock, commit and wait;
# streams, TTL and index maintenance are the commit's) and recorded as ``metrics.Recorder.observe``
# records it.  Anything else answers None before anything is written, and the handler's general
# path, the reference, decides it.

def put_item_answer(engine, body):
    """The JSON body answering the PutItem ``body`` (bytes) after writing its item, when it is
    ``TableName`` and ``Item`` alone, of an existing table, an item the general path would write as
    it stands, on a database without injected faults, enforced capacity or contention mode (and,
    with metrics on, a table without indexes); else None, with nothing written (the handler's general
    path then raises DynamoDB's error in its order, or writes it).

    Parsed as ``wire.loads_request`` parses it (a body that may hold a lone surrogate: None); the
    item converted as ``wire.decode_request`` converts it; then ``put_item.run``'s usual case, whose
    checks (names, size, key, index keys, item collection) answer None when they fail.  Once the
    commit is begun nothing is handed back: a commit or a wait for durability that fails (the log
    cannot be written) answers its error (a DynamoDBError instance, counted by metrics as ``observe``
    counts it), as the general path answers it at the same point.  The wait is ``wait_usual``'s, so
    under ``kvstore.engine.database.defer_durable_waits`` it is deferred as the general path's is.
    """
    if engine.faults is not None or engine.capacity is not None or engine.contention is not None:
        return None
    usual = _usual_body(body, "Item")
    if usual is None:
        return None
    name, item = usual
    table = engine.tables.get(name)
    if table is None or table.deleted or engine.closed:
        return None
    metrics = engine.metrics
    if metrics is not None and table.indexes:
        return None         # its index units: the general path's consumed_capacity
    return _put_usual_item(engine, table, name, item, metrics)


def _put_usual_item(engine, table, name, item, metrics):
    """``put_item_answer`` past the body: the item (wire JSON, a dict) checked and written."""
    from kvstore.clock import stopwatch
    from kvstore.errors import DynamoDBError
    from kvstore.operations.common import (
        check_attribute_names, check_collection_size, check_index_keys, check_item_size, key_from_item,
        write_units_of,
    )
    started = stopwatch()
    try:
        item = item_from_wire(item)
        check_attribute_names(item)
        packed = pack_item(item)
        check_item_size(item, packed=packed)
        row_key = key_from_item(table, item)
        check_index_keys(table, item)
    except Exception:       # noqa: BLE001 - the general path raises it, in DynamoDB's order
        return None
    with table.lock_for(row_key):
        old_packed = table.rows.get(row_key)
        old = unpack_item(old_packed) if (table.indexes and old_packed is not None) else None
        try:
            check_collection_size(table, row_key, old_packed, packed)
        except Exception:   # noqa: BLE001 - the general path raises it
            return None
        try:
            lsn = commit_usual(engine, [(table, row_key, old, item, packed)])
        except DynamoDBError as e:
            if metrics is not None:
                metrics.put_item_failed(name, e)
            return e
        except Exception:   # noqa: BLE001 - a bug: answered as the general path answers it
            return put_item_internal_error(metrics, name)
    try:
        wait_usual(engine, lsn)
        if metrics is not None:
            metrics.put_item_answered(name, stopwatch() - started, write_units_of(old_packed, packed, item))
    except DynamoDBError as e:
        if metrics is not None:
            metrics.put_item_failed(name, e)
        return e
    except Exception:       # noqa: BLE001 - a bug: answered as the general path answers it
        return put_item_internal_error(metrics, name)
    return b"{}"


def put_item_internal_error(metrics, name):
    """What ``put_item_answer`` answers when something not a DynamoDB error fails once its commit has
    begun (a bug): logged, and the InternalServerError ``RequestHandler.answer`` answers such a failure
    with (the connection kept), counted on the table as ``Recorder.observe`` counts it.  (Both cores
    call this one.)"""
    import logging
    from kvstore.errors import InternalServerError
    logging.getLogger("kvstore.server").exception("internal error serving PutItem")
    error = InternalServerError("Internal server error")
    if metrics is not None:
        metrics.put_item_failed(name, error)
    return error


def usual_item_request(server, headers, body, usual, render=True):
    """``usual_get_item`` for the usual GetItem, and for the usual PutItem the same checks of the
    handler's, then ``put_item_answer``: the bytes answering it (``render`` false: the answer's body,
    for an answer held until durable), its answer ``(status, content type, body)`` for an error of
    its commit; None for any other request, with nothing written (the handler then answers it)."""
    handler = _usual_handler(server, headers, body, usual)
    if handler is None:
        return None
    action = handler._targets[headers["x-amz-target"]].action
    if action == "GetItem":
        return _usual_get_item_answer(server, handler, body, usual)
    if action != "PutItem":
        return None
    answer = put_item_answer(handler.engine, body)
    if answer is None:
        return None
    if answer.__class__ is not bytes:       # its commit failed: the error the general path answers
        from kvstore.server.handler import error_answer
        return error_answer(answer)
    if not render:
        return answer
    return render_answer(usual[8], answer, server.date_bytes, usual[10], usual[11], True)


def _usual_handler(server, headers, body, usual, action=None):
    """The handler of ``server`` when a request is one ``usual_get_item`` may answer but for its
    action (which is then ``handler._targets[headers["x-amz-target"]]``), else None.  With an
    ``action``, a request for another action is None too, before the signature is looked at."""
    (server_class, handler_class, any_key, system_clock, wall_time, forms, json_types, content_type, head,
     compress_from, id_prefix, ids) = usual
    handler = server.handler
    if server.__class__ is not server_class or handler.__class__ is not handler_class:
        return None
    if (len(body) > handler.max_body or handler.fault_endpoint or headers.get("content-type") not in json_types
            or not body or "content-encoding" in headers or (server.cors is not None and "origin" in headers)):
        return None
    operation = handler._targets.get(headers.get("x-amz-target", ""))
    if operation is None or (action is not None and operation.action != action):
        return None
    auth = handler.auth
    if auth is not None:
        if auth.__class__ is not any_key:
            return None
        clock = auth.clock
        if clock.__class__ is system_clock:
            now = wall_time()
        else:
            try:
                now = clock()
            except Exception:       # noqa: BLE001 - the handler answers what it answers
                return None
        known = remembered_form(forms, headers, now, auth.max_skew)
        if known is None or known[4].key is not None:
            return None
    return handler


# ------------------------------------------------------------------ read plans (session 8)
# A prepared Query or Scan of the Python API (``Table.query`` / ``Table.scan``) answered in one core
# call: the shape key, the plan lookup, the values' checks, the key-condition bounds, the page walk and
# the response.  ``kvstore.operations.read_plans`` builds the ``page`` spec a plan carries; anything
# the spec does not cover is left to that module's Python plan and the reference path behind it.

#: what ``Table.query`` / ``Table.scan`` add to every answer (a fresh copy each time)
_RESPONSE_METADATA = (("HTTPStatusCode", 200), ("RetryAttempts", 0))


def embedded_read(engine, prefix, kwargs):
    """The response of a ``Table.query`` / ``Table.scan`` call answered by its plan's ``page`` spec,
    else the call's shape key for the Python path (``read_shape(prefix, kwargs)``), or None when
    the call has no shape a plan can serve.

    ``prefix`` is ``("embedded", operation, table name, allow_floats)``.  No shape (None): metrics or
    injected faults on ``engine`` (they wrap the general path), a ``TableName`` among ``kwargs``, a
    member or value :func:`read_shape` does not cover.  The shape, not an answer: no plan of that
    shape in ``engine.read_plans`` yet, a plan without a ``page`` spec, or :func:`_plan_page`
    declining the call's values.  Under enforced capacity the page is metered (:func:`_plan_page`).
    """
    if engine.metrics is not None or engine.faults is not None or "TableName" in kwargs:
        return None
    shape = read_shape(prefix, kwargs)
    if shape is None:
        return None
    embedded = engine.read_plans.get(shape)
    if embedded is None:
        return shape
    page = embedded.page
    if page.__class__ is not tuple:
        return shape
    response = _plan_page(page, engine.tables, kwargs, engine.capacity)
    return shape if response is None else response


def _charge_page(meter, table, index, row_key, size, kwargs, query):
    """Enforced capacity's admission and charge of a page read (``meter.read``); a throttling error
    names the call's operation, as every face's answer does."""
    try:
        meter.read(table, index, row_key, size, kwargs.get("ConsistentRead"))
    except Exception as e:         # noqa: BLE001 - DynamoDB's throttling error: the call's answer
        e._operation_name = "Query" if query else "Scan"
        raise


def _plan_page(page, tables, kwargs, meter=None):
    """The response of one plain page (whole items, no filter or projection, no ConsumedCapacity) of a
    prepared Query or Scan, for the Python values of ``kwargs``, or None when the values are not
    plainly fine or the plan's table or index changed (the caller's Python path then answers or
    raises exactly what DynamoDB does).

    ``page`` is ``(table_name, table, index, query, hash_slot, range_slot, op, delimited, reverse,
    key_names, start_schema)`` (``read_plans.page_spec``): the table and index objects the plan was
    built for (used while ``tables[table_name]`` is that table and the index is still its ACTIVE
    index); for a Query the placeholders of the S hash and range key values and the range
    operator (None, EQ, LT, LE, GT, GE or BEGINS_WITH: BETWEEN checks its bounds' order inside
    values), whether the index's sort component is ``delimited`` and ScanIndexForward=false
    (``reverse``); ``key_names``: LastEvaluatedKey's attributes; ``start_schema``: for a Scan of
    an S / S-S table, ``(hash_name, range_name)`` its ExclusiveStartKey is checked against (None:
    a start key goes to the Python path).

    Under enforced capacity (``meter``, the engine's ``capacity``) the page's read size is measured
    and the meter admits and charges it once the page is read, as the Python plan does
    (``read_plans._whole_items``); its throttling error is the call's answer.

    Plainly fine: ``Limit`` absent or an int of at least 1; a Query without ExclusiveStartKey
    whose key values are ASCII strings ``query_bounds`` accepts (a Python ASCII str is its own
    native value); a Scan's ExclusiveStartKey a dict of exactly the table's key attributes whose
    values are ASCII strings ``request_row_key`` accepts.
    """
    table_name, table, index, query, hash_slot, range_slot, op, delimited, reverse, key_names, start_schema = page
    if tables.get(table_name) is not table:
        return None
    if index is not None and (table.indexes.get(index.name) is not index or index.status != "ACTIVE"):
        return None
    limit = None
    if "Limit" in kwargs:
        limit = kwargs["Limit"]
        if limit.__class__ is not int or limit < 1:
            return None
    if query:
        values = kwargs.get("ExpressionAttributeValues")
        if "ExclusiveStartKey" in kwargs or values.__class__ is not dict:
            return None
        hash_value = values.get(hash_slot)
        if hash_value.__class__ is not str or not hash_value.isascii():
            return None
        if op is None:
            range_values = ()
        else:
            range_value = values.get(range_slot)
            if range_value.__class__ is not str or not range_value.isascii():
                return None
            range_values = (range_value,)
        bounds = query_bounds(hash_value, "S", op, range_values, "S", delimited)
        if bounds is None:
            return None
        lo, lo_inc, hi, hi_inc = bounds
        chunk = 128 if limit is None else min(limit + 1, 128)
    else:
        lo, lo_inc, hi, hi_inc, chunk = None, True, None, False, 128
        if "ExclusiveStartKey" in kwargs:
            start = kwargs["ExclusiveStartKey"]
            if start_schema is None or start.__class__ is not dict:
                return None
            for value in start.values():
                if value.__class__ is not str or not value.isascii():
                    return None
            hash_name, range_name = start_schema
            lo = request_row_key(start, hash_name, "S", range_name, "S" if range_name is not None else None)
            if lo is None:
                return None
            lo_inc = False
    structure = table if index is None else index
    items, size, stopped = read_page(structure.partitions, structure.locks, table._shift, lo, lo_inc, hi, hi_inc,
                                     reverse, chunk, table.rows if index is None else index.entries, limit,
                                     _limits.MAX_PAGE_SIZE, True, meter is not None)
    if meter is not None:
        _charge_page(meter, table, index, lo if query and index is None else None, size, kwargs, query)
    response = {"Items": items, "Count": len(items), "ScannedCount": len(items)}
    if stopped:
        last = items[-1]
        response["LastEvaluatedKey"] = {name: last[name] for name in key_names}
    response["ResponseMetadata"] = dict(_RESPONSE_METADATA)
    return response

