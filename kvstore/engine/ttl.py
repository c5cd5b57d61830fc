"""Time to Live: which items are due, and the sweeper that deletes them.

DynamoDB deletes an item in the background once its TTL attribute, a Number
of epoch seconds, is at or before now -- never an item whose attribute is of
another type, or holds a time more than five years in the past.  Until it is
deleted an expired item is an ordinary item: every read returns it.

Two pieces:

* :class:`ExpiryIndex` (one per table with TTL enabled, ``Table.expiry``):
  a heap of ``(expires_at, row_key)`` fed by every write of an item that
  carries the attribute as a Number (``Table.apply`` calls :meth:`note`), so
  finding what is due costs O(k log n) for k due entries out of n, not a walk
  of the table.  Entries are never removed when an item changes: the sweeper
  re-checks each due entry against the current item, so a stale entry costs
  one lookup.  The rows that existed before the index did (TTL just enabled, or
  the database just opened: nothing here is persisted) are added by one walk of
  the table in batches, which the sweeper does on its next run.
* :class:`Sweeper` (``engine.ttl``): each run pops the due entries of every
  table and deletes them a partition batch at a time through
  :meth:`Engine.commit` (indexes updated, logged like any write, stream
  records marked as the service's), each delete conditional on the item, read
  under its partition's lock, still carrying an expired Number.  An item whose
  TTL was just extended is therefore kept.  Between batches the sweeper
  releases the lock and yields the interpreter, so foreground requests wait at
  most for one batch.

Time comes from ``engine.clock``; the engine runs the sweeper every
``ttl_sweep_seconds`` of that clock as a periodic job of its scheduler
(``kvstore.engine.scheduler``), so with a ``kvstore.clock.ManualClock`` a
test advances the clock and calls ``run_pending()``: no sleeping.  Closing
the engine stops a sweep between two batches.
"""

import heapq
import threading
import time
from decimal import Decimal

from kvstore import _core
from kvstore.errors import ResourceNotFoundException

#: items whose TTL is further in the past than this are never deleted (DynamoDB's five years)
MAX_AGE_SECONDS = 5 * 365 * 24 * 3600
#: ``Engine.commit(..., identity=TTL_IDENTITY)`` marks a delete as the TTL service's
TTL_IDENTITY = "ttl"
#: at most this many deletes per partition-lock hold (one commit) ...
BATCH = 64
#: ... and at most this much work (seconds) before the lock is released ...
SLICE_SECONDS = 0.0001
#: ... and the sweeper sleeps this long (None: not at); measured in bench/results/ttl.md
PAUSE_SECONDS = 0.0001
#: due entries taken from the heap at a time (one short hold of its lock)
POP = 1024
#: rows read per key copy while adding a table's existing rows to its index
SCAN_CHUNK = 256


class ExpiryIndex:
    """Row keys of one table by the time their item expires (a lazy heap; see the module docstring).

    ``note`` is O(log n) under a small lock of its own; ``pop_due`` is
    O(k log n) for the k entries it returns.  Memory: one ``(float, bytes)``
    entry per write of an item with a Number TTL since the last rebuild.
    """

    def __init__(self, attribute):
        self.attribute = attribute
        self.heap = []
        self.lock = threading.Lock()
        self.scanned = False          # the rows older than the index have been added

    def note(self, row_key, new_item, new_packed):
        """Called by ``Table.apply`` for every write of the table (under the row's partition lock)."""
        if new_packed is None:
            return
        item = new_item if new_item is not None else _core.unpack_item(new_packed)
        value = item.get(self.attribute)
        if type(value) is Decimal:
            entry = (float(value), row_key)
            with self.lock:
                heapq.heappush(self.heap, entry)

    def add_rows(self, table):
        """Add every current row of ``table`` (a key batch at a time under its partition lock)."""
        rows, attribute, entries = table.rows, self.attribute, []
        for keys in table.iter_range(table, None, True, None, True, chunk=SCAN_CHUNK):
            for key in keys:
                packed = rows.get(key)
                if packed is None:
                    continue
                value = _core.unpack_item(packed).get(attribute)
                if type(value) is Decimal:
                    entries.append((float(value), key))
        with self.lock:
            self.heap.extend(entries)
            heapq.heapify(self.heap)
            self.scanned = True

    def reset(self):
        """Forget every entry; the next sweep walks the table again."""
        with self.lock:
            self.heap = []
            self.scanned = False

    def pop_due(self, now, limit):
        """Remove and return the row keys of up to ``limit`` entries due at ``now`` (earliest first)."""
        out = []
        with self.lock:
            heap = self.heap
            while heap and heap[0][0] <= now and len(out) < limit:
                out.append(heapq.heappop(heap)[1])
        return out

    def __len__(self):
        return len(self.heap)


def expired(value, now):
    """Whether a TTL attribute value makes its item due at ``now`` (DynamoDB's rule)."""
    return type(value) is Decimal and now - MAX_AGE_SECONDS <= value <= now


def configure(table, live=False):
    """Give ``table`` the expiry index its catalog entry asks for (or none when TTL is off).

    ``live``: the table is serving (UpdateTimeToLive), so if it has no rows
    once the index is in place, there is nothing to walk (a write applied
    after that notes itself).  Recovery builds the rows after the Table.
    """
    spec = table.meta.get("TimeToLiveSpecification")
    attribute = spec["AttributeName"] if spec and spec.get("Enabled") else None
    current = table.expiry
    if attribute is None:
        table.expiry = None
    elif current is None or current.attribute != attribute:
        expiry = ExpiryIndex(attribute)
        table.expiry = expiry
        if live and not table.rows:
            expiry.scanned = True


class Sweeper:
    """Deletes the expired items of every table with TTL enabled (``engine.ttl``).

    Counters for metrics: ``deleted`` (items deleted since the engine opened),
    ``runs``, ``last_run`` (clock time of the last run) and ``last_seconds``
    (its duration, wall clock).  Pacing: see :meth:`_delete`.
    """

    def __init__(self, engine, batch=BATCH, slice_seconds=SLICE_SECONDS, pause_seconds=PAUSE_SECONDS):
        self.engine = engine
        self.batch = batch
        self.slice_seconds = slice_seconds
        self.pause_seconds = pause_seconds
        self.deleted = 0
        #: table name -> items deleted (TimeToLiveDeletedItemCount, kvstore.metrics)
        self.deleted_by_table = {}
        self.runs = 0
        self.last_run = None
        self.last_seconds = 0.0
        self._lock = threading.Lock()      # one run at a time

    def run(self, now=None):
        """Delete every item due at ``now`` (default: the engine's clock); return how many."""
        engine = self.engine
        with self._lock:
            started = time.perf_counter()
            now = engine.clock() if now is None else now
            total = 0
            for table in list(engine.tables.values()):
                expiry = table.expiry
                if expiry is None or table.deleted:
                    continue
                if len(expiry.heap) > 2 * len(table.rows) + 100_000:   # mostly stale entries: rebuild
                    expiry.reset()
                if not expiry.scanned:
                    expiry.add_rows(table)
                try:
                    n = self._expire(table, expiry, now)
                    total += n
                    if n:
                        self.deleted_by_table[table.name] = self.deleted_by_table.get(table.name, 0) + n
                except BaseException:
                    expiry.reset()              # popped entries are lost: walk the table again next time
                    raise
            self.deleted += total
            self.runs += 1
            self.last_run = now
            self.last_seconds = time.perf_counter() - started
            return total

    def _expire(self, table, expiry, now):
        deleted = 0
        while True:
            due = expiry.pop_due(now, POP)
            if not due:
                return deleted
            deleted += self._delete(table, expiry, now, due)
            if table.expiry is not expiry or table.deleted or self.engine.scheduler.stopping.is_set():
                return deleted

    def _delete(self, table, expiry, now, due):
        """Delete the items of ``due`` (row keys) that are still expired, a short batch at a time.

        A batch holds one partition's lock for at most ``slice_seconds`` of
        work (or ``batch`` items) and is one commit; then the lock is released
        and the sweeper sleeps ``pause_seconds``, so a request waiting for the
        lock or the GIL gets it (see ``kvstore.engine.checkpoint`` on why
        releasing the GIL alone does not hand it over).
        """
        due = sorted(set(due))           # partition order (the first byte picks the partition), then key order
        engine, rows, attribute = self.engine, table.rows, expiry.attribute
        unpack, batch, clock = _core.unpack_item, self.batch, time.perf_counter
        slice_seconds, pause = self.slice_seconds, self.pause_seconds
        deleted, i, n = 0, 0, len(due)
        stopping = engine.scheduler.stopping
        while i < n:
            if table.expiry is not expiry or table.deleted or stopping.is_set():   # TTL off, table gone, closing
                return deleted
            part = table.partition_of(due[i])
            lsn = 0
            with table.locks[part]:
                started = clock()
                writes = []
                while i < n and len(writes) < batch and table.partition_of(due[i]) == part:
                    key = due[i]
                    i += 1
                    packed = rows.get(key)
                    if packed is not None:
                        item = unpack(packed)
                        if expired(item.get(attribute), now):
                            writes.append((table, key, item, None, None))
                    if clock() - started >= slice_seconds:
                        break
                if writes:
                    try:
                        lsn = engine.commit(writes, identity=TTL_IDENTITY)
                    except ResourceNotFoundException:     # DeleteTable won the partition lock
                        return deleted
                    deleted += len(writes)
            engine.wait_durable(lsn)
            if pause is not None:
                time.sleep(pause)
        return deleted
