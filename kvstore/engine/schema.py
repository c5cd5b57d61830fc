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
    """

    __slots__ = ("hash_name", "hash_type", "range_name", "range_type", "names", "delimited")

    def __init__(self, hash_name, hash_type, range_name=None, range_type=None, delimited=False):
        self.hash_name = hash_name
        self.hash_type = hash_type
        self.range_name = range_name
        self.range_type = range_type
        self.names = (hash_name,) if range_name is None else (hash_name, range_name)
        self.delimited = delimited

    @classmethod
    def from_description(cls, key_schema, attribute_types, delimited=False):
        hash_name = range_name = None
        for element in key_schema:
            if element["KeyType"] == "HASH":
                hash_name = element["AttributeName"]
            else:
                range_name = element["AttributeName"]
        return cls(hash_name, attribute_types[hash_name], range_name,
                   attribute_types.get(range_name) if range_name else None, delimited)

    def types(self):
        out = {self.hash_name: self.hash_type}
        if self.range_name is not None:
            out[self.range_name] = self.range_type
        return out

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
