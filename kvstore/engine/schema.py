"""Key schemas of tables and indexes, and the encoding of keys into row keys."""

from kvstore import _core


def successor(prefix):
    """Smallest byte string greater than every string that starts with ``prefix`` (None: no bound)."""
    stripped = prefix.rstrip(b"\xff")
    if not stripped:
        return None
    return stripped[:-1] + bytes([stripped[-1] + 1])


class KeySchema:
    """HASH (and optional RANGE) attribute names and types of a table or an index.

    ``delimited`` is True for index keys, whose sort component is followed by the
    table key and so must be self-delimiting (see ``kvstore._pycore``).

    A GSI key may have up to four HASH and four RANGE attributes ("components",
    DynamoDB's multi-attribute keys): then ``composite`` is True, ``hash_names``
    / ``range_names`` (and their ``*_types``) list them in key-schema order, and
    ``hash_name`` / ``range_name`` are None so that no single-key code path can
    meet such a schema unnoticed.  ``names`` is every component in order.
    """

    __slots__ = ("hash_name", "hash_type", "range_name", "range_type", "names", "delimited",
                 "hash_names", "hash_types", "range_names", "range_types", "composite")

    def __init__(self, hash_name, hash_type, range_name=None, range_type=None, delimited=False):
        self.hash_name = hash_name
        self.hash_type = hash_type
        self.range_name = range_name
        self.range_type = range_type
        self.names = (hash_name,) if range_name is None else (hash_name, range_name)
        self.delimited = delimited
        self.hash_names, self.hash_types = (hash_name,), (hash_type,)
        self.range_names = () if range_name is None else (range_name,)
        self.range_types = () if range_name is None else (range_type,)
        self.composite = False

    @classmethod
    def from_description(cls, key_schema, attribute_types, delimited=False):
        hashes = [e["AttributeName"] for e in key_schema if e["KeyType"] == "HASH"]
        ranges = [e["AttributeName"] for e in key_schema if e["KeyType"] != "HASH"]
        if len(hashes) == 1 and len(ranges) <= 1:
            range_name = ranges[0] if ranges else None
            return cls(hashes[0], attribute_types[hashes[0]], range_name,
                       attribute_types[range_name] if range_name else None, delimited)
        schema = cls(None, None, None, None, delimited)
        schema.hash_names = tuple(hashes)
        schema.hash_types = tuple(attribute_types[n] for n in hashes)
        schema.range_names = tuple(ranges)
        schema.range_types = tuple(attribute_types[n] for n in ranges)
        schema.names = schema.hash_names + schema.range_names
        schema.composite = True
        return schema

    def description(self):
        """The KeySchema list (HASH elements, then RANGE elements, in order)."""
        return ([{"AttributeName": n, "KeyType": "HASH"} for n in self.hash_names]
                + [{"AttributeName": n, "KeyType": "RANGE"} for n in self.range_names])

    def types(self):
        return dict(zip(self.names, self.hash_types + self.range_types))

    def row_key(self, item):
        """Row key of a table item whose key attributes have been validated."""
        if self.range_name is None:
            return _core.storage_key(item[self.hash_name])
        return _core.storage_key(item[self.hash_name], item[self.range_name])

    def key_of(self, item):
        """The key attributes of ``item`` as a dict (the shape of Key / LastEvaluatedKey)."""
        if self.range_name is None:
            return {self.hash_name: item[self.hash_name]}
        return {self.hash_name: item[self.hash_name], self.range_name: item[self.range_name]}

    def range_bounds(self, hash_value, op, values):
        """``(lo, lo_inclusive, hi, hi_inclusive)`` row-key bounds for a Query.

        ``op`` is None (whole partition), EQ, LT, LE, GT, GE, BETWEEN or BEGINS_WITH.
        """
        prefix = _core.partition_prefix(hash_value)
        end = successor(prefix)
        if op is None:
            return prefix, True, end, False
        enc = self._bound
        if op == "BEGINS_WITH":
            start = prefix + self._prefix_bytes(values[0])
            return start, True, successor(start) or end, False
        if op == "BETWEEN":
            lo, hi = prefix + enc(values[0]), prefix + enc(values[1])
            return lo, True, self._upper_inclusive(hi, end), self._hi_inclusive
        bound = prefix + enc(values[0])
        if op == "EQ":
            return bound, True, self._upper_inclusive(bound, end), self._hi_inclusive
        if op == "LT":
            return prefix, True, bound, False
        if op == "LE":
            return prefix, True, self._upper_inclusive(bound, end), self._hi_inclusive
        if op == "GT":
            if self.delimited:
                return successor(bound), True, end, False
            return bound, False, end, False
        if op == "GE":
            return bound, True, end, False
        raise ValueError(op)

    def composite_bounds(self, hash_values, equal_values, op, values):
        """Row-key bounds of a Query on a multi-attribute index.

        ``equal_values`` are the values of the leading RANGE components that
        are compared with ``=``; ``op`` (None, or LT LE GT GE BETWEEN
        BEGINS_WITH) applies to the next component.  Components are
        self-delimiting, so the equalities are one byte prefix and the last
        condition bounds the bytes after it.
        """
        prefix = _core.composite_index_key(hash_values, equal_values, b"")
        return delimited_bounds(prefix, op, values)

    def _bound(self, value):
        return _core.sort_bound(value, self.delimited)

    def _prefix_bytes(self, value):
        raw = _core.key_bytes(value)
        return raw.replace(b"\x00", b"\x00\xff") if self.delimited else raw

    @property
    def _hi_inclusive(self):
        # a table row key ends at the sort component, so an inclusive bound is exact;
        # an index row key continues with the table key, so "<= v" is "< successor(v)".
        return not self.delimited

    def _upper_inclusive(self, bound, end):
        return successor(bound) or end if self.delimited else bound


def delimited_bounds(prefix, op, values):
    """``(lo, lo_inclusive, hi, hi_inclusive)`` for ``op`` on the self-delimiting component after ``prefix``."""
    end = successor(prefix)
    if op is None:
        return prefix, True, end, False
    enc = _core.delimited_sort_component
    if op == "BEGINS_WITH":
        start = prefix + _core.key_bytes(values[0]).replace(b"\x00", b"\x00\xff")
        return start, True, successor(start) or end, False
    if op == "BETWEEN":
        return prefix + enc(values[0]), True, successor(prefix + enc(values[1])) or end, False
    bound = prefix + enc(values[0])
    if op == "EQ":
        return bound, True, successor(bound) or end, False
    if op == "LT":
        return prefix, True, bound, False
    if op == "LE":
        return prefix, True, successor(bound) or end, False
    if op == "GT":
        return successor(bound), True, end, False
    if op == "GE":
        return bound, True, end, False
    raise ValueError(op)
