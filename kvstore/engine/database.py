"""The engine: a catalog of tables, the commit path, durability and change feed.

Every write, whatever face it came through, ends in :meth:`Engine.commit`,
called while the caller holds the locks of the partitions it writes: one log
record for the whole write (one item, a batch item or a whole transaction),
then the rows and their indexes change, then change listeners (streams) hear
about it.  The caller releases its locks and only then waits for durability
(:meth:`Engine.wait_durable`), so an fsync never holds a lock and concurrent
writers share it (group commit).
"""

import os
import threading
import time

import msgpack

from kvstore import _core
from kvstore.engine.errors import DurabilityError
from kvstore.engine.table import Table
from kvstore.errors import InternalServerError

MEMORY = ":memory:"

# log record kinds (first element of a record's msgpack array); see docs/format.md
REC_WRITE = "W"          # ["W", [[table, row_key, packed_or_nil], ...]]
REC_CREATE_TABLE = "C"   # ["C", meta]
REC_DELETE_TABLE = "D"   # ["D", table]
REC_UPDATE_TABLE = "U"   # ["U", meta]


class Engine:
    """All tables of one database (a directory, or ``":memory:"``)."""

    def __init__(self, path=MEMORY, durability="batch", *, allow_floats=False, repair=False,
                 checkpoint_log_bytes=None, fs=None, clock=time.time):
        self.path = path
        self.allow_floats = allow_floats
        self.clock = clock
        self.tables = {}
        self.catalog_lock = threading.RLock()
        self.listeners = []
        self.closed = False
        #: ClientRequestToken -> (request fingerprint, finished_at, response) for TransactWriteItems
        self.transaction_tokens = {}
        self.recovery_report = None
        self.durability = None
        if path != MEMORY:
            from kvstore.engine.durability import Durability
            if fs is None:                    # an injected fs (tests) makes its own directories
                os.makedirs(path, exist_ok=True)
            options = {} if checkpoint_log_bytes is None else {"checkpoint_log_bytes": checkpoint_log_bytes}
            if fs is not None:
                options["fs"] = fs
            self.durability = Durability(path, durability, repair=repair, **options)
            try:
                self._recover()
                self.durability.set_checkpoint_source(self.checkpoint_chunks)
                self.durability.start()
            except BaseException:
                self.durability.close()
                raise

    # -- catalog -------------------------------------------------------------

    def get_table(self, name):
        return self.tables.get(name)

    def add_table(self, meta):
        """Create a table from a validated catalog entry (logged, durable before return)."""
        with self.catalog_lock:
            lsn = self._log([REC_CREATE_TABLE, meta])
            table = Table(meta)
            self.tables[table.name] = table
        self.wait_durable(lsn)
        return table

    def drop_table(self, name):
        with self.catalog_lock:
            table = self.tables[name]
            for lock in table.locks:
                lock.acquire()
            try:
                lsn = self._log([REC_DELETE_TABLE, name])
                del self.tables[name]
                table.deleted = True
            finally:
                for lock in table.locks:
                    lock.release()
        self.wait_durable(lsn)
        return table

    def save_meta(self, table):
        """Log a changed catalog entry (UpdateTable, tags, TTL, streams)."""
        with self.catalog_lock:
            lsn = self._log([REC_UPDATE_TABLE, table.meta])
        self.wait_durable(lsn)

    # -- writes --------------------------------------------------------------

    def commit(self, writes):
        """Log and apply ``writes``: a list of ``(table, row_key, old_item, new_item, new_packed)``.

        The caller holds every touched partition's lock.  ``new_packed`` None
        deletes.  Returns the log position to pass to :meth:`wait_durable`.
        """
        if self.closed:
            raise InternalServerError("The database is closed")
        lsn = 0
        if self.durability is not None:
            lsn = self._log([REC_WRITE, [[w[0].name, w[1], w[4]] for w in writes]])
        for table, row_key, old_item, new_item, new_packed in writes:
            table.apply(row_key, old_item, new_item, new_packed)
        if self.listeners:
            for listener in self.listeners:
                listener(writes)
        return lsn

    def _log(self, record):
        if self.durability is None:
            return 0
        try:
            return self.durability.append(msgpack.packb(record, use_bin_type=True))
        except (OSError, DurabilityError) as e:
            raise InternalServerError(f"The write could not be logged: {e}") from e

    def wait_durable(self, lsn):
        if lsn and self.durability is not None:
            try:
                self.durability.wait_durable(lsn)
            except (OSError, DurabilityError) as e:
                raise InternalServerError(f"The write could not be made durable: {e}") from e

    # -- checkpoints and recovery -------------------------------------------

    def checkpoint_chunks(self):
        """Chunks of a fuzzy snapshot: the catalog, then rows of each table.

        Each partition is copied under its lock (a list of references to
        immutable packed items), so writers wait only for that copy.
        """
        with self.catalog_lock:
            tables = list(self.tables.values())
            yield ["catalog", [t.meta for t in tables]]
        for table in tables:
            for p, lock in enumerate(table.locks):
                with lock:
                    keys = list(table.partitions[p])
                    rows = table.rows
                    chunk = [[k, rows[k]] for k in keys]
                if chunk:
                    yield ["rows", table.name, chunk]

    def checkpoint(self):
        if self.durability is not None:
            self.durability.checkpoint(self.checkpoint_chunks)

    def _recover(self):
        recovery = self.durability.recover()
        for chunk in recovery.snapshot_chunks():
            if chunk[0] == "catalog":
                for meta in chunk[1]:
                    self.tables[meta["TableName"]] = Table(meta)
            elif chunk[0] == "rows":
                self._load_rows(self.tables[chunk[1]], chunk[2])
        for payload in recovery.log_payloads():
            self._replay(msgpack.unpackb(payload, raw=False))
        self.recovery_report = recovery.report

    def _load_rows(self, table, rows):
        if table.indexes:
            for key, packed in rows:
                table.apply(key, None, _core.unpack_item(packed), packed)
            return
        for key, packed in rows:
            table.apply(key, None, None, packed)

    def _replay(self, record):
        kind = record[0]
        if kind == REC_WRITE:
            for name, row_key, packed in record[1]:
                table = self.tables[name]
                new_item = _core.unpack_item(packed) if (packed is not None and table.indexes) else None
                table.apply(row_key, None, new_item, packed)
        elif kind == REC_CREATE_TABLE:
            self.tables[record[1]["TableName"]] = Table(record[1])
        elif kind == REC_DELETE_TABLE:
            self.tables.pop(record[1], None)
        elif kind == REC_UPDATE_TABLE:
            self._apply_meta(record[1])

    def _apply_meta(self, meta):
        """Bring a table's indexes in line with a logged catalog entry."""
        table = self.tables[meta["TableName"]]
        table.meta = meta
        wanted = {i["IndexName"]: i for i in meta.get("GlobalSecondaryIndexes", ())}
        for name in [n for n, i in table.indexes.items() if i.kind == "GSI" and n not in wanted]:
            table.remove_index(name)
        for d in meta["AttributeDefinitions"]:
            table.attribute_types[d["AttributeName"]] = d["AttributeType"]
        for name, spec in wanted.items():
            if name not in table.indexes:
                index = table.add_index("GSI", spec)
                backfill(table, index)

    def close(self):
        if self.closed:
            return
        self.closed = True
        if self.durability is not None:
            self.durability.close()


def backfill(table, index):
    """Fill a new index from the table's rows, one partition at a time under its lock.

    Rows whose index key has the wrong type or an empty value are skipped, as
    DynamoDB's backfill skips them.
    """
    for p, lock in enumerate(table.locks):
        with lock:
            for row_key in table.partitions[p]:
                packed = table.rows[row_key]
                index.update(row_key, None, _core.unpack_item(packed), packed)
