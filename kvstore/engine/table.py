"""A table's rows: partitions of sorted row keys, packed items, indexes, locks.

The partition layout: a row key starts with the crc32 of the partition-key
value (see ``kvstore._pycore.storage_key``), and its first byte picks one of
``PARTITIONS`` (16) partitions, so partition-key values spread evenly and all
rows of one partition-key value (an item collection) share a partition.  Each
partition is a ``SortedList`` of row keys (pure Python, sortedcontainers: a
list of sublists of about a thousand keys, ``_maxes`` indexing them) with an
``RLock``; the packed items themselves are in one dict per table.  Indexes
use the same layout over their own entry keys (``kvstore.engine.index``).
"""

import threading
import uuid
from sortedcontainers import SortedList

from kvstore import _core, limits
from kvstore.engine import ttl
from kvstore.engine.index import Index, index_schema
from kvstore.engine.schema import KeySchema

# The row keys of a SortedList between bounds (kvstore._pycore has the reference and says how).
take_forward = _core.take_forward
take_reverse = _core.take_reverse

#: partitions per table: a power of two, chosen from the row key's first byte.
PARTITIONS = 16


class Table:
    """Rows of one table and everything derived from them.

    ``rows`` maps a row key (see ``kvstore._pycore``) to the packed item;
    ``partitions[p]`` holds the row keys whose first byte selects partition p,
    in key order, so a Query is a range of one sorted list and a Scan walks the
    partitions in order.  Writers hold the partition's lock from reading the old
    item to applying the new one; readers take no lock (a packed item is
    replaced as a whole, so a reader always sees a committed version).

    Complexity, for n rows (about n/16 per partition), k keys returned and an
    item of s bytes: reading an item by key is a dict lookup, O(1), plus O(s)
    to unpack; ``apply`` is O(log n) (one SortedList insertion or removal,
    which sortedcontainers does in about O(log n) amortized; O(1) when an
    existing item is replaced) plus O(log m) for each index entry it moves (m
    entries in that index) and O(log n) for the TTL expiry heap when TTL is on;
    ``iter_range`` costs O(log n + k), holding a partition's lock only while it
    copies a batch of ``chunk`` keys; a Scan is O(n).  Memory: per row, one dict
    entry, one SortedList slot and the packed bytes (shared with ALL-projected
    index entries).
    """

    def __init__(self, meta, partitions=PARTITIONS):
        self.meta = meta
        self.name = meta["TableName"]
        types = {d["AttributeName"]: d["AttributeType"] for d in meta["AttributeDefinitions"]}
        self.attribute_types = types
        self.schema = KeySchema.from_description(meta["KeySchema"], types)
        self.rows = {}
        self.partitions = [SortedList() for _ in range(partitions)]
        self.locks = [threading.RLock() for _ in range(partitions)]
        self._shift = 8 - (partitions.bit_length() - 1)
        #: stored bytes per partition, each kept under its partition's lock (``size_bytes`` is their sum)
        self.partition_bytes = [0] * partitions
        #: guards every index (its entries, sorted partitions and size), the ``indexes`` dict's
        #: membership and ``collections``: writers of different partitions share them.  A leaf
        #: lock: taken after partition locks, never held while taking another
        self.index_lock = threading.Lock()
        self.indexes = {}
        self._index_key_types = None
        #: (attribute, type, index name, is HASH) per index key component, attribute-major (index_key_types)
        self.index_key_checks = ()
        for kind, member in (("LSI", "LocalSecondaryIndexes"), ("GSI", "GlobalSecondaryIndexes")):
            for spec in meta.get(member, ()):
                self.add_index(kind, spec, status=spec.get("IndexStatus", "ACTIVE"))
        self.deleted = False
        #: the TTL expiry index (kvstore.engine.ttl) while TTL is enabled, else None
        self.expiry = None
        ttl.configure(self)
        #: the enabled stream (``kvstore.engine.streams.Stream``) or None
        self.stream = None
        #: item-collection sizes by partition-key prefix, kept only for tables with an LSI
        self.collections = {} if self.lsis else None

    # -- catalog -------------------------------------------------------------

    def add_index(self, kind, spec, status="ACTIVE"):
        schema = index_schema(spec["KeySchema"], self.attribute_types)
        index = Index(spec["IndexName"], kind, schema, spec["Projection"], self.schema,
                      len(self.partitions), self.index_lock, status)
        with self.index_lock:
            self.indexes = {**self.indexes, index.name: index}
            self._index_key_types = None
        return index

    def remove_index(self, name):
        with self.index_lock:
            self.indexes = {k: v for k, v in self.indexes.items() if k != name}
            self._index_key_types = None

    @property
    def gsis(self):
        return [i for i in self.indexes.values() if i.kind == "GSI"]

    @property
    def lsis(self):
        return [i for i in self.indexes.values() if i.kind == "LSI"]

    def index_key_types(self):
        """attribute name -> [(type, index name, is_hash)] for every index key attribute (cached)."""
        if self._index_key_types is not None:
            return self._index_key_types
        out = {}
        for index in self.indexes.values():
            s = index.schema
            for name, key_type in zip(s.hash_names, s.hash_types):
                out.setdefault(name, []).append((key_type, index.name, True))
            for name, key_type in zip(s.range_names, s.range_types):
                out.setdefault(name, []).append((key_type, index.name, False))
        self._index_key_types = out
        self.index_key_checks = tuple((name, key_type, index_name, is_hash) for name, uses in out.items()
                                      for key_type, index_name, is_hash in uses)
        return out

    # -- locking -------------------------------------------------------------

    def partition_of(self, row_key):
        return row_key[0] >> self._shift

    def lock_for(self, row_key):
        return self.locks[row_key[0] >> self._shift]

    # -- writes (caller holds the partition lock) -----------------------------

    def apply(self, row_key, old_item, new_item, new_packed):
        """Install ``new_packed`` (or delete when None) and keep indexes in step.

        ``old_item``/``new_item`` are the native images, needed only when the
        table has indexes (callers may pass None for them otherwise).
        """
        p = row_key[0] >> self._shift
        if self.expiry is None and not self.indexes:        # the rows and their partition alone
            self.partition_bytes[p] += _core.apply_row(self.rows, self.partitions, self._shift, row_key, new_packed)
            return
        old_packed = self.rows.get(row_key)
        if new_packed is None:
            if old_packed is None:
                return
            del self.rows[row_key]
            _core.sorted_remove(self.partitions[p], row_key)
            self.partition_bytes[p] -= len(old_packed)
        else:
            self.rows[row_key] = new_packed
            if old_packed is None:
                _core.sorted_add(self.partitions[p], row_key)
                self.partition_bytes[p] += len(new_packed)
            else:
                self.partition_bytes[p] += len(new_packed) - len(old_packed)
        if self.expiry is not None:
            self.expiry.note(row_key, new_item, new_packed)
        if self.indexes:
            if old_item is None and old_packed is not None:
                old_item = _core.unpack_item(old_packed)
            with self.index_lock:
                indexes = self.indexes
                if self.collections is None:
                    _core.update_indexes(indexes.values(), row_key, old_item, new_item, new_packed)    # one pass
                    return
                lsis = [i for i in indexes.values() if i.kind == "LSI"]
                lsi_before = sum(i.size_bytes for i in lsis)
                _core.update_indexes(indexes.values(), row_key, old_item, new_item, new_packed)
                lsi_delta = sum(i.size_bytes for i in lsis) - lsi_before
                prefix = collection_prefix(row_key)
                size = self.collections.get(prefix, 0) + lsi_delta + len(new_packed or b"") - len(old_packed or b"")
                if size:
                    self.collections[prefix] = size
                else:
                    self.collections.pop(prefix, None)

    @property
    def size_bytes(self):
        """Bytes of the stored items (TableSizeBytes): the partitions' counts, summed when asked."""
        return sum(self.partition_bytes)

    def recount_bytes(self):
        """Set each partition's stored bytes from its rows (bulk loads: recovery, restore)."""
        counts = [0] * len(self.partitions)
        shift = self._shift
        for row_key, packed in self.rows.items():
            counts[row_key[0] >> shift] += len(packed)
        self.partition_bytes = counts

    def clear(self):
        self.rows.clear()
        for p in self.partitions:
            p.clear()
        with self.index_lock:
            for index in self.indexes.values():
                index.clear()
        self.partition_bytes = [0] * len(self.partitions)

    # -- iteration -----------------------------------------------------------

    def iter_range(self, structure, lo, lo_inc, hi, hi_inc, reverse=False, chunk=128):
        """Batches (lists) of row keys of ``structure`` (table or index) within bounds, in order.

        Keys are taken ``chunk`` at a time under the partition's lock (a sorted
        list must not change while it is being walked) and handed out with the
        lock released, so a long Scan never holds up writers for long.
        """
        partitions = structure.partitions
        first = 0 if lo is None else lo[0] >> self._shift
        last = len(partitions) - 1 if hi is None else min(len(partitions) - 1, hi[0] >> self._shift)
        order = range(last, first - 1, -1) if reverse else range(first, last + 1)
        for p in order:
            keys = partitions[p]
            lock = structure.locks[p]
            plo, plo_inc, phi, phi_inc = lo, lo_inc, hi, hi_inc
            while True:
                with lock:
                    if reverse:
                        batch = take_reverse(keys, plo, plo_inc, phi, phi_inc, chunk)
                    else:
                        batch = take_forward(keys, plo, plo_inc, phi, phi_inc, chunk)
                if batch:
                    yield batch
                if len(batch) < chunk:
                    break
                if reverse:
                    phi, phi_inc = batch[-1], False
                else:
                    plo, plo_inc = batch[-1], False

    def read_page(self, structure, lo, lo_inc, hi, hi_inc, reverse, chunk, limit, unpack, sized=False):
        """One Query/Scan page of ``structure`` (table or index) within bounds, read by the core's
        ``read_page`` (``kvstore._pycore`` says what it returns): the walk of ``iter_range`` with each
        key looked up, until ``limit`` items or the 1 MB page size."""
        values = structure.entries if structure is not self else self.rows
        return _core.read_page(structure.partitions, structure.locks, self._shift, lo, lo_inc, hi, hi_inc, reverse,
                               chunk, values, limit, limits.MAX_PAGE_SIZE, unpack, sized)

    @property
    def item_count(self):
        return len(self.rows)

    def collection_size(self, row_key):
        """Bytes of the item collection (rows + LSI entries sharing the partition-key value of ``row_key``)."""
        if self.collections is None:
            return 0
        return self.collections.get(collection_prefix(row_key), 0)

    def _check(self):
        """Invariants (called by tests)."""
        keys = [k for p in self.partitions for k in p]
        assert len(keys) == len(self.rows) == len(set(keys))
        assert self.size_bytes == sum(len(v) for v in self.rows.values())
        for i, p in enumerate(self.partitions):
            for k in p:
                assert k[0] >> self._shift == i and k in self.rows
        if self.collections is not None:
            expected = {}
            for key, packed in self.rows.items():
                prefix = collection_prefix(key)
                expected[prefix] = expected.get(prefix, 0) + len(packed)
            for index in self.lsis:
                for key, packed in index.entries.items():
                    prefix = collection_prefix(key)
                    expected[prefix] = expected.get(prefix, 0) + len(packed)
            assert expected == self.collections
        for index in self.indexes.values():
            index._check()
            if index.status == "ACTIVE":
                expected = {}
                for row_key, packed in self.rows.items():
                    item = _core.unpack_item(packed)
                    ek = index.entry_key(item, row_key)
                    if ek is not None:
                        expected[ek] = index.project(item, packed)
                assert expected.keys() == index.entries.keys()
                for k, v in expected.items():
                    assert _core.unpack_item(v) == _core.unpack_item(index.entries[k])


def collection_prefix(row_key):
    """The crc32 + hash component part of a row key (shared by an item collection)."""
    return row_key[:6 + int.from_bytes(row_key[4:6], "big")]


def new_table_meta(request, now, account_id=limits.ACCOUNT_ID, region=limits.REGION):
    """Catalog entry for a CreateTable request that passed validation, created at ``now`` (engine.clock),
    in the database of ``account_id`` and ``region`` (``engine.account_id``, ``engine.region``)."""
    name = request["TableName"]
    arn = f"arn:aws:dynamodb:{region}:{account_id}:table/{name}"
    meta = {
        "TableName": name,
        "TableArn": arn,
        "TableId": str(uuid.uuid4()),
        "CreationDateTime": now,
        "AttributeDefinitions": [dict(d) for d in request["AttributeDefinitions"]],
        "KeySchema": [dict(k) for k in request["KeySchema"]],
        "BillingMode": request.get("BillingMode") or "PROVISIONED",
        "ProvisionedThroughput": dict(request.get("ProvisionedThroughput") or {}),
    }
    for member in ("LocalSecondaryIndexes", "GlobalSecondaryIndexes"):
        if request.get(member):
            meta[member] = [
                {"IndexName": i["IndexName"], "KeySchema": [dict(k) for k in i["KeySchema"]],
                 "Projection": dict(i["Projection"]),
                 **({"ProvisionedThroughput": dict(i["ProvisionedThroughput"])}
                    if i.get("ProvisionedThroughput") else {})}
                for i in request[member]
            ]
    for member in ("SSESpecification", "TableClass", "DeletionProtectionEnabled",
                   "OnDemandThroughput", "WarmThroughput"):
        if member in request and request[member] is not None:
            meta[member] = request[member]
    meta["Tags"] = [dict(t) for t in request.get("Tags") or ()]
    return meta
