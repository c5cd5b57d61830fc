"""Secondary indexes (GSI and LSI): sparse, projected copies kept inside each write."""

from decimal import Decimal

from sortedcontainers import SortedList

from kvstore import _core, limits
from kvstore.engine.schema import KeySchema
from kvstore.types import Binary


class Index:
    """One GSI or LSI of a table.

    Entries live under ``index_key(index hash, index range, table row key)`` so
    rows that share index keys stay distinct and come back in a stable order; a
    GSI with a multi-attribute key uses ``composite_index_key`` of its HASH and
    RANGE components instead (same layout, so the same range scans serve it).
    An item without every index key attribute (of the declared type) has no
    entry: that is a sparse index.  With projection ALL an entry shares the
    base row's packed bytes, so it costs only its key.

    Layout and complexity as :class:`kvstore.engine.table.Table` (a dict of
    entries, 16 SortedList partitions of entry keys chosen by the first byte):
    ``update`` is O(log m) per entry added or removed (m entries) plus O(s) to
    project an item of s bytes unless the projection is ALL; a GSI backfill is
    O(n log m) for n rows, one table partition locked at a time.
    """

    def __init__(self, name, kind, schema, projection, table_schema, partitions, lock, status="ACTIVE"):
        self.name = name
        self.kind = kind                      # "GSI" or "LSI"
        self.schema = schema                  # KeySchema with delimited=True
        self.projection = projection          # {"ProjectionType": ..., "NonKeyAttributes": [...]}
        self.table_schema = table_schema
        self.status = status
        self.backfilling = False
        self.entries = {}
        self.partitions = [SortedList() for _ in range(partitions)]
        #: what guards ``partitions[p]`` for a reader (as ``Table.locks``): the table's ``index_lock``,
        #: under which every change to the index is made
        self.locks = [lock] * partitions
        self._shift = 8 - (partitions.bit_length() - 1)
        ptype = projection["ProjectionType"]
        self.projects_all = ptype == "ALL"
        keys = set(schema.names) | set(table_schema.names)
        self.projected_names = None if self.projects_all else keys | set(projection.get("NonKeyAttributes", ()))
        self.size_bytes = 0
        #: per component (type, byte limit), and how many are HASH (multi-attribute keys only)
        self._component_checks = tuple(
            [(t, limits.MAX_HASH_KEY_SIZE) for t in schema.hash_types]
            + [(t, limits.MAX_RANGE_KEY_SIZE) for t in schema.range_types])
        self._hash_count = len(schema.hash_names)
        #: what the compiled ``_core.update_indexes`` reads of this index, in one attribute lookup:
        #: ``(hash name, hash type, range name or None, range type, projection, entries, partitions,
        #: shift)``, where projection is None for ALL, else the projected names' UTF-8 bytes (or the
        #: names themselves, should one not encode); None for a multi-attribute key, which it leaves
        #: to :meth:`update`.  It holds ``entries`` and ``partitions``, which are therefore changed in
        #: place and never replaced (``_check`` says so).
        self.write_plan = None if schema.composite else (
            schema.hash_name, schema.hash_type, schema.range_name, schema.range_type,
            _encoded(self.projected_names), self.entries, self.partitions, self._shift)

    # -- maintenance ---------------------------------------------------------

    def entry_key(self, item, row_key):
        """Row key of ``item``'s entry, or None when the item is not in this (sparse) index."""
        schema = self.schema
        if schema.composite:
            return self._composite_entry_key(item, row_key)
        h = item.get(schema.hash_name, _MISSING)
        if h is _MISSING or not _indexable(h, schema.hash_type, limits.MAX_HASH_KEY_SIZE):
            return None
        if schema.range_name is None:
            return _core.index_key(h, None, row_key)
        r = item.get(schema.range_name, _MISSING)
        if r is _MISSING or not _indexable(r, schema.range_type, limits.MAX_RANGE_KEY_SIZE):
            return None
        return _core.index_key(h, r, row_key)

    def _composite_entry_key(self, item, row_key):
        """``entry_key`` of a multi-attribute index: the item needs every component."""
        get = item.get
        values = [get(name, _MISSING) for name in self.schema.names]
        for value, (key_type, max_size) in zip(values, self._component_checks):
            tag = _KEY_TYPE_TAGS.get(value.__class__)       # None for _MISSING and non-key types
            if tag != key_type:
                return None
            if tag == "S":
                if not value or (len(value) > max_size // 4 and not _indexable(value, tag, max_size)):
                    return None
            elif tag == "B" and not _indexable(value, tag, max_size):
                return None
        hashes = self._hash_count
        return _core.composite_index_key(tuple(values[:hashes]), tuple(values[hashes:]), row_key)

    def project_item(self, item):
        """The attributes of ``item`` this index holds."""
        if self.projects_all:
            return item
        names = self.projected_names
        return {k: v for k, v in item.items() if k in names}

    def project(self, item, packed):
        """The entry stored for ``item`` (packed as ``packed``): its projected attributes' bytes cut
        out of ``packed`` (``project_packed``), the same bytes the compiled one-pass index update
        stores; packing the projected values again could order a set's elements differently."""
        if self.projects_all:
            return packed
        return _core.project_packed(packed, self.projected_names)

    def update(self, row_key, old_item, new_item, new_packed):
        """Move this index from ``old_item`` to ``new_item`` (either may be None).

        A write that leaves the index's key attributes as they were (most
        updates, and a Put replacing an item with the same index keys) keeps
        the entry's key, so it is computed once and only the value is written.
        """
        if old_item is not None and new_item is not None and self._same_key(old_item, new_item):
            old_item = None
        old_key = self.entry_key(old_item, row_key) if old_item is not None else None
        new_key = self.entry_key(new_item, row_key) if new_item is not None else None
        if old_key is not None and old_key != new_key:
            previous = self.entries.pop(old_key, None)
            if previous is not None:  # absent only while a backfill has not reached this row
                self.size_bytes -= len(previous)
                self.partitions[old_key[0] >> self._shift].remove(old_key)
        if new_key is not None:
            value = self.project(new_item, new_packed)
            previous = self.entries.get(new_key)
            if previous is None:
                self.partitions[new_key[0] >> self._shift].add(new_key)
            else:
                self.size_bytes -= len(previous)
            self.entries[new_key] = value
            self.size_bytes += len(value)

    def _same_key(self, old_item, new_item):
        """Whether every key attribute is absent from both images or holds equal key-typed values in
        both (an entry key's bytes depend on the values alone, so the entry keeps its key)."""
        for name in self.schema.names:
            a = old_item.get(name, _MISSING)
            b = new_item.get(name, _MISSING)
            if a is not b and not (a.__class__ is b.__class__ and a.__class__ in _KEY_TYPE_TAGS and a == b):
                return False
        return True

    def clear(self):
        self.entries.clear()
        for p in self.partitions:
            p.clear()
        self.size_bytes = 0

    @property
    def item_count(self):
        return len(self.entries)

    def _check(self):
        """Invariants (called by tests): every entry is in exactly one sorted partition."""
        keys = [k for p in self.partitions for k in p]
        assert len(keys) == len(self.entries) == len(set(keys))
        if self.write_plan is not None:
            assert self.write_plan[5] is self.entries and self.write_plan[6] is self.partitions
        for i, p in enumerate(self.partitions):
            for k in p:
                assert k[0] >> self._shift == i and k in self.entries

    def describe(self):
        desc = {
            "IndexName": self.name,
            "KeySchema": self.schema.description(),
            "Projection": dict(self.projection),
            "IndexSizeBytes": self.size_bytes,
            "ItemCount": self.item_count,
        }
        return desc


class _Missing:
    __slots__ = ()


_MISSING = _Missing()


_KEY_TYPE_TAGS = {str: "S", Decimal: "N", Binary: "B"}


def _encoded(names):
    """``Index.write_plan``'s projection: None for ALL, else the names' UTF-8 bytes (a name that does
    not encode, a lone surrogate, leaves the set of names itself, which the core matches decoded)."""
    if names is None:
        return None
    try:
        return tuple(sorted(name.encode("utf-8") for name in names))
    except UnicodeEncodeError:
        return names


def _indexable(value, key_type, max_size):
    """Whether ``value`` can be an index key: declared type, not empty, within the key size.

    Writes never store anything else once the index exists (they are rejected),
    but a backfill meets older rows and skips them, as DynamoDB does.
    """
    tag = _KEY_TYPE_TAGS.get(type(value))
    if tag != key_type:
        return False
    if tag == "N":
        return True
    if tag == "S" and 0 < len(value) <= max_size // 4:     # UTF-8 takes at most 4 bytes a character
        return True
    raw = _core.key_bytes(value)
    return 0 < len(raw) <= max_size


def index_schema(key_schema, attribute_types):
    return KeySchema.from_description(key_schema, attribute_types, delimited=True)
