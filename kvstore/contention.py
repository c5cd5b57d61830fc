"""Realistic contention (opt in): DynamoDB's optimistic concurrency between transactions and writes.

By default kvstore serialises everything through ordered partition locks, so
a transaction waits for a conflicting one and ``TransactionConflict`` never
happens.  DynamoDB does not wait: it rejects.  With
``kvstore.open(..., contention=True)`` an engine keeps a registry of the
items held by in-flight writes and rejects as DynamoDB does
(developer guide, "Transaction conflict handling in DynamoDB"):

* a PutItem, UpdateItem or DeleteItem on an item that an ongoing
  TransactWriteItems holds fails with TransactionConflictException;
* a TransactWriteItems naming an item that another ongoing TransactWriteItems
  holds is cancelled, with the ``TransactionConflict`` reason on that action;
* a TransactGetItems naming an item that an ongoing TransactWriteItems,
  BatchWriteItem, PutItem, UpdateItem or DeleteItem holds is cancelled the
  same way.

An item is held from before its write takes its locks until the write has
been applied, so the check happens before anything changes and a rejected
call leaves the database as it was.  The registry is a dict under one lock:
O(items) per call.
"""

import threading

from kvstore.errors import TransactionConflictException

CONFLICT_MESSAGE = "Transaction is ongoing for the item"
TRANSACTION, WRITE = "transaction", "write"


class Contention:
    def __init__(self):
        self._lock = threading.Lock()
        self._held = {}        # (table name, row_key) -> [transactions, single writes] holding it

    def _hold(self, keys, kind):
        slot = 0 if kind == TRANSACTION else 1
        for key in keys:
            entry = self._held.get(key)
            if entry is None:
                entry = self._held[key] = [0, 0]
            entry[slot] += 1

    def _release(self, keys, kind):
        slot = 0 if kind == TRANSACTION else 1
        with self._lock:
            for key in keys:
                entry = self._held[key]
                entry[slot] -= 1
                if not entry[0] and not entry[1]:
                    del self._held[key]

    def holder(self, table, row_key):
        """``"transaction"``, ``"write"`` or None: what holds an item now (tests, diagnostics)."""
        entry = self._held.get((table.name, row_key))
        if not entry:
            return None
        return TRANSACTION if entry[0] else WRITE

    def write(self, table, row_key, lock, check=True):
        """A single-item write (``lock`` is its partition lock): fails fast on an item a transaction holds.

        ``check=False`` (BatchWriteItem) only holds the item: DynamoDB documents no
        conflict for a batch write, so it waits for the transaction as by default.
        """
        return _Held(self, [(table.name, row_key)], WRITE, lock, None if check else False)

    def transaction(self, targets, locks, writes=True):
        """TransactWriteItems (``writes``) or TransactGetItems over ``targets`` [(table, row_key)]."""
        return _Held(self, [(t.name, k) for t, k in targets], TRANSACTION if writes else None, locks, writes)


class _Held:
    """Check for conflicts and hold the keys (``kind`` None holds nothing), then take ``lock``."""

    __slots__ = ("contention", "keys", "kind", "lock", "transaction")

    def __init__(self, contention, keys, kind, lock, transaction):
        self.contention = contention
        self.keys = keys
        self.kind = kind
        self.lock = lock
        self.transaction = transaction      # None: single write; True: TransactWriteItems; False: TransactGetItems

    def __enter__(self):
        c = self.contention
        with c._lock:
            held = c._held
            if self.transaction is False and self.kind == WRITE:
                pass                                  # a batch write: hold only
            elif self.transaction is None:
                entry = held.get(self.keys[0])
                if entry is not None and entry[0]:
                    raise TransactionConflictException(CONFLICT_MESSAGE)
            else:
                conflicts = [i for i, key in enumerate(self.keys)
                             if key in held and (held[key][0] or not self.transaction)]
                if conflicts:
                    from kvstore.operations.transactions import cancel
                    reasons = [{"Code": "None"} for _ in self.keys]
                    for i in conflicts:
                        reasons[i] = {"Code": "TransactionConflict", "Message": CONFLICT_MESSAGE}
                    raise cancel(reasons)
            if self.kind is not None:
                c._hold(self.keys, self.kind)
        try:
            self.lock.__enter__()
        except BaseException:
            if self.kind is not None:
                c._release(self.keys, self.kind)
            raise
        return self

    def __exit__(self, *exc):
        try:
            self.lock.__exit__(*exc)
        finally:
            if self.kind is not None:
                self.contention._release(self.keys, self.kind)
