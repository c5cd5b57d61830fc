"""The engine: a catalog of tables, the commit path, durability and change feed.

Every write, whatever face it came through, ends in :meth:`Engine.commit`,
called while the caller holds the locks of the partitions it writes: one log
record for the whole write (one item, a batch item or a whole transaction),
then the rows and their indexes change, then change listeners (streams) hear
about it.  The caller releases its locks and only then waits for durability
(:meth:`Engine.wait_durable`), so an fsync never holds a lock and concurrent
writers share it (group commit).
"""

import gc
import logging
import os
import threading
import time
from time import time as _wall

import msgpack

from kvstore import _core, limits
from kvstore.clock import SystemClock
from kvstore.engine import scheduler as _scheduler
from kvstore.engine.errors import CorruptionError, DurabilityError
from kvstore.engine.pitr import REC_RESTORE_ROWS, REC_RESTORE_TABLE, PointInTime
from kvstore.engine.plans import Plans
from kvstore.engine.streams import DEFAULT_SHARD_SECONDS, REC_ACK, REC_ROLL, Streams
from kvstore.engine.table import Table, collection_prefix
from kvstore.engine.tokens import IdempotencyTokens
from kvstore.engine.ttl import Sweeper
from kvstore.errors import InternalServerError, ResourceNotFoundException

MEMORY = ":memory:"
#: default seconds between TTL sweeps: expired items go within about this long
TTL_SWEEP_SECONDS = 1.0

log = logging.getLogger("kvstore.engine")

# log record kinds (first element of a record's msgpack array); see docs/format.md
REC_WRITE = "W"          # ["W", [[table, row_key, packed_or_nil(, image)], ...](, at(, identity))]
REC_CREATE_TABLE = "C"   # ["C", meta(, stream event)]
REC_DELETE_TABLE = "D"   # ["D", table(, stream event)]
REC_UPDATE_TABLE = "U"   # ["U", meta(, stream event)]
# streams add REC_ROLL ("R") and REC_ACK ("A"): kvstore/engine/streams.py

# checkpoint chunks: ["catalog", [meta, ...]], then [ROWS_FLAT, table, [row_key, packed, row_key, packed, ...]]
ROWS_FLAT = "kv"


class _Deferred(threading.local):
    waits = None        # this thread's deferred waits: a DeferredWaits, or None


_deferred = _Deferred()


class DeferredWaits(list):
    """What :func:`defer_durable_waits` returns: the ``(engine, lsn)`` pairs a request's answer must
    wait for, and in :attr:`figures` what metrics owe that answer (``kvstore.metrics``: a request
    whose wait was deferred is counted as a success only once it is durable, and as the error it is
    answered with if its log fails first; ``Recorder.held_answered`` / ``held_failed``)."""

    figures = None      # None, or the list of (recorder, figures) owed, set by the first


def defer_durable_waits():
    """On this thread, until :func:`stop_deferring`, :meth:`Engine.wait_durable` does not block: it
    adds ``(engine, lsn)`` to the list returned here and returns.  The caller owes its answer's
    recipient that wait: it must hold the answer until :meth:`Engine.durable` says each LSN is.

    The server's event loop serves writes this way under ``sync`` (kvstore.server.app, "answers held
    until durable"): a thread blocked per write cost two thread switches a request and left ~3 records
    per fsync (bench/results/server.md).  Every write ends in ``wait_durable`` after it released its
    locks, so nothing it does next depends on the wait; a transaction's idempotency token, which a
    repeat reads, keeps its LSN (kvstore.engine.tokens).  Metrics recorded meanwhile for a request
    whose wait was deferred are owed with it (:class:`DeferredWaits`)."""
    waits = _deferred.waits = DeferredWaits()
    return waits


def stop_deferring():
    """End :func:`defer_durable_waits` on this thread."""
    _deferred.waits = None


class Engine:
    """All tables of one database (a directory, or ``":memory:"``).

    ``clock``: a callable returning epoch seconds (``kvstore.clock``; wall
    time by default), the only source of time for features.  The engine owns
    its background work (``scheduler``: GSI backfills, checkpoints, and the
    periodic jobs of features), started here and stopped by :meth:`close`.
    ``backup_plans``: :class:`kvstore.engine.plans.BackupPlan` s to run from the start.
    """

    def __init__(self, path=MEMORY, durability="batch", *, allow_floats=False, repair=False,
                 checkpoint_log_bytes=None, fs=None, clock=None, ttl_sweep_seconds=TTL_SWEEP_SECONDS,
                 ttl_cooldown_seconds=None, stream_shard_seconds=DEFAULT_SHARD_SECONDS, backup_plans=(),
                 account_id=limits.ACCOUNT_ID, region=limits.REGION):
        self.path = path
        #: the AWS account and region this database is (they are in every ARN it hands out)
        self.account_id = account_id
        self.region = region
        self.allow_floats = allow_floats
        self.clock = SystemClock() if clock is None else clock
        self.tables = {}
        self.catalog_lock = threading.RLock()
        self.listeners = []
        #: DynamoDB Streams: every retained stream, its shards and records (kvstore/engine/streams.py)
        self.streams = Streams(self, stream_shard_seconds)
        self.closed = False
        self.scheduler = _scheduler.Scheduler(self.clock, on_error=self._job_failed)
        #: ClientRequestToken -> its call, for TransactWriteItems' idempotency window
        self.transaction_tokens = IdempotencyTokens(self.clock, limits.TRANSACTION_TOKEN_TTL_SECONDS)
        self.recovery_report = None
        #: prepared Query and Scan plans by request shape (kvstore/operations/read_plans.py)
        self.read_plans = {}
        #: prepared UpdateItem calls of the Python API by call shape (kvstore/operations/write_plans.py)
        self.write_plans = {}
        #: the TTL sweeper (deletes expired items; its counters are read by metrics)
        self.ttl = Sweeper(self)
        #: seconds (of ``clock``) between TTL sweeps, a periodic job of the scheduler; None: only
        #: when called (``engine.ttl.run()``)
        self.ttl_sweep_seconds = ttl_sweep_seconds
        #: UpdateTimeToLive refuses a change this soon after the last one (DynamoDB: about an hour); None: never
        self.ttl_cooldown_seconds = ttl_cooldown_seconds
        #: opt-in unhappy paths (kvstore.capacity, kvstore.faults, kvstore.contention); None when off
        self.capacity = None
        self.faults = None
        self.contention = None
        #: point-in-time recovery: commit times, retained history, restores (kvstore/engine/pitr.py)
        self.pitr = PointInTime(self)
        self._replayed_at = 0.0
        #: request figures (kvstore.metrics.Recorder); None when metrics are off
        self.metrics = None
        self.durability = None
        if path != MEMORY:
            from kvstore.engine.durability import Durability
            if fs is None:                    # an injected fs (tests) makes its own directories
                os.makedirs(path, exist_ok=True)
            options = {} if checkpoint_log_bytes is None else {"checkpoint_log_bytes": checkpoint_log_bytes}
            if fs is not None:
                options["fs"] = fs
            self.durability = Durability(path, durability, repair=repair, scheduler=self.scheduler, **options)
            self.durability.clock = self.clock          # when checkpoints finish (kvstore.metrics: their age)
            try:
                self.pitr.attach(self.durability)
                self._recover()
                self.pitr.recovered(self.tables, self._replayed_at)
                self.durability.set_checkpoint_source(self.checkpoint_chunks)
                self.durability.start()
                self._drop_unfinished_restores()
            except BaseException:
                self.scheduler.stop()
                self.durability.close()
                raise
        self._ttl_job = None
        if any(t.expiry is not None for t in self.tables.values()):
            self.schedule_ttl_sweeps()
        #: the backup plans (``kvstore.engine.plans``): ``engine.plans.add(BackupPlan(...))``
        self.plans = Plans(self)
        for plan in backup_plans:
            self.plans.add(plan)
        self.scheduler.start()

    # -- background work -----------------------------------------------------

    @property
    def background_errors(self):
        """The last failures of background jobs (``scheduler.JobError``), oldest first."""
        return list(self.scheduler.errors)

    def _job_failed(self, error):
        """Keep a job's failure in the database directory too, where ``kvstore check`` reports it."""
        if self.durability is not None:
            _scheduler.save_error(self.durability.fs, self.path, error)

    def schedule_ttl_sweeps(self):
        """Sweep expired items every ``ttl_sweep_seconds`` from now on (once a table has TTL enabled;
        an engine without TTL runs no periodic job, so no scheduler thread)."""
        with self.catalog_lock:
            if self._ttl_job is None and self.ttl_sweep_seconds is not None:
                self._ttl_job = self.scheduler.every("ttl-sweep", self.ttl_sweep_seconds, self.ttl.run)

    def start_backfill(self, table, index):
        """Fill a new GSI in the background; it turns ACTIVE when done (not if the engine closes first)."""
        def run():
            if backfill(table, index, self.scheduler.stopping):
                index.backfilling = False
                index.status = "ACTIVE"
        return self.scheduler.submit(f"backfill-{table.name}-{index.name}", run)

    # -- catalog -------------------------------------------------------------

    def add_table(self, meta, stream_view=None):
        """Create a table from a validated catalog entry (logged, durable before return).

        ``stream_view``: enable a stream of that view type; ``meta`` gets its
        ``StreamSpecification``, ``LatestStreamArn`` and ``LatestStreamLabel``.
        """
        with self.catalog_lock, self.streams.lock:
            record = [REC_CREATE_TABLE, meta]
            if stream_view is not None:
                record.append(self._enable_stream(meta, stream_view))
            lsn = self._log(record)
            table = Table(meta)
            if stream_view is not None:
                self.streams.apply_event(record[2], self.streams._number(lsn), meta, table)
            self.tables[table.name] = table
        self.wait_durable(lsn)
        return table

    def _enable_stream(self, meta, view):
        event, arn, label = self.streams.enable_event(meta["TableName"], meta["TableArn"], self.clock())
        meta["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": view}
        meta["LatestStreamArn"] = arn
        meta["LatestStreamLabel"] = label
        return event

    def drop_table(self, name, before_drop=None):
        """Delete table ``name`` (logged, durable before return).  ``before_drop(table)`` runs first,
        under the catalog lock and every partition lock of the table: no write falls between the two
        (point-in-time recovery's SYSTEM backup of a deleted table, kvstore/engine/pitr.py)."""
        with self.catalog_lock:
            table = self.tables[name]
            for lock in table.locks:
                lock.acquire()
            try:
                if before_drop is not None:
                    before_drop(table)
                with self.streams.lock:
                    record = [REC_DELETE_TABLE, name]
                    if table.stream is not None:
                        record.append(self.streams.disable_event(table.stream, self.clock()))
                    lsn = self._log(record)
                    if len(record) > 2:
                        self.streams.apply_event(record[2], self.streams._number(lsn), table.meta, table)
                del self.tables[name]
                table.deleted = True
                self.pitr.forget(name)
            finally:
                for lock in table.locks:
                    lock.release()
        self.wait_durable(lsn)
        return table

    def _drop_unfinished_restores(self):
        """A RestoreTableFromBackup cut short by a crash left a table saying ``RestoreInProgress``
        (its rows are logged as they load, kvstore/engine/backup.py): its caller never had an
        answer, so the open deletes it, as if the restore had not begun, and a retry can run."""
        for name, table in list(self.tables.items()):
            summary = table.meta.get("RestoreSummary")
            if summary and summary.get("RestoreInProgress"):
                log.warning("%s: table %s was being restored when the process stopped; the partial table "
                             "is deleted", self.path, name)
                self.drop_table(name)

    def save_meta(self, table, stream=None):
        """Log a changed catalog entry (UpdateTable, tags, TTL, streams).

        ``stream``: a view type enables a new stream (``table.meta`` gets its
        members), ``False`` disables the enabled one; either is logged in the
        same record as the entry.
        """
        with self.catalog_lock, self.streams.lock:
            record = [REC_UPDATE_TABLE, table.meta]
            if stream:
                record.append(self._enable_stream(table.meta, stream))
            elif stream is False and table.stream is not None:
                table.meta.pop("StreamSpecification", None)
                record.append(self.streams.disable_event(table.stream, self.clock()))
            lsn = self._log(record)
            if len(record) > 2:
                self.streams.apply_event(record[2], self.streams._number(lsn), table.meta, table)
        self.wait_durable(lsn)

    # -- writes --------------------------------------------------------------

    def commit(self, writes, identity=None):
        """Log and apply ``writes``: a list of ``(table, row_key, old_item, new_item, new_packed)``.

        The caller holds every touched partition's lock.  ``new_packed`` None
        deletes.  ``identity`` names who wrote when it is not a user request
        (``kvstore.engine.ttl.TTL_IDENTITY`` for TTL deletes); listeners get it
        with the writes, and a stream record carries it as its userIdentity.
        A table with an enabled stream gets its records from the same log
        record (kvstore/engine/streams.py).  Returns the log position to pass
        to :meth:`wait_durable`.
        """
        if self.closed:
            raise InternalServerError("The database is closed")
        for w in writes:
            if w[0].deleted:   # DeleteTable won the race for the partition lock
                raise ResourceNotFoundException("Requested resource not found")
        streams = self.streams
        if streams.enabled and writes and (writes[0][0].stream is not None
                                           or any(w[0].stream is not None for w in writes)):
            with streams.lock:
                lsn, logged = streams.log_write(writes, identity)
                _core.apply_writes(writes)
                if logged is not None:
                    streams.publish(logged)
        else:
            lsn = 0
            if self.durability is not None:
                if self.pitr.names:                # a point-in-time table's write carries its commit time
                    lsn = self._log([REC_WRITE, [[w[0].name, w[1], w[4]] for w in writes]])
                else:
                    lsn = self._append(_core.write_record(writes))
            _core.apply_writes(writes)
        if self.pitr.names and self.durability is None:
            self.pitr.remember(writes)
        if self.listeners:
            for listener in self.listeners:
                listener(writes, identity)
        return lsn

    def _log(self, record):
        """Append ``record``; a write to a table with point-in-time recovery gets its commit time
        (``["W", entries, at]``), handed out with the append under one lock so times grow with the LSN."""
        if self.durability is None:
            return 0
        try:
            pitr = self.pitr
            if pitr.names and record[0] == REC_WRITE and pitr.touches(record[1]):
                lock = pitr.lock                       # PointInTime.stamp, inline: this is every write's path
                lock.acquire()                         # (not ``with``: see PointInTime)
                try:
                    at = _wall() if pitr._system_clock else self.clock()
                    if at < pitr.last_at:
                        at = pitr.last_at
                    pitr.last_at = at
                    if len(record) == 2:
                        record.append(at)
                    else:
                        record[2] = at
                    return self.durability.append(msgpack.packb(record, use_bin_type=True))
                finally:
                    lock.release()
            return self.durability.append(msgpack.packb(record, use_bin_type=True))
        except (OSError, DurabilityError) as e:
            raise InternalServerError(f"The write could not be logged: {e}") from e

    def _append(self, payload):
        """Append a record already packed (``_log`` of a record that needs no commit time)."""
        try:
            return self.durability.append(payload)
        except (OSError, DurabilityError) as e:
            raise InternalServerError(f"The write could not be logged: {e}") from e

    def wait_durable(self, lsn):
        """Return once ``lsn`` is durable under the policy (the caller has released its locks).

        A write that woke a waiting in-process stream reader first yields the
        GIL, so the reader runs now rather than at the interpreter's next
        thread switch (5 ms), which would be most of the consumer's lag.  It
        costs the writer a thread switch only while a reader is waiting
        (bench/results/streams.md: lag p99 ~0.1 ms instead of ~30 ms, writes
        ~15% slower while a consumer keeps up; yielding at most once a
        millisecond was measured too and lost most of the gain).
        """
        streams = self.streams
        if streams.woke:
            streams.woke = False
            time.sleep(0)
        durability = self.durability
        if lsn and durability is not None:
            waits = _deferred.waits
            if waits is not None and durability.policy == "sync" and lsn > durability.durable_lsn:
                waits.append((self, lsn))
                return
            try:
                durability.wait_durable(lsn)
            except (OSError, DurabilityError) as e:
                raise InternalServerError(f"The write could not be made durable: {e}") from e

    def durable(self, lsn):
        """For a deferred wait (:func:`defer_durable_waits`): whether ``lsn`` is durable yet; raises
        what :meth:`wait_durable` would once it cannot be (the log failed or closed first)."""
        durability = self.durability
        if lsn <= durability.durable_lsn:
            return True
        if durability.failure is not None:
            error = DurabilityError("the write-ahead log cannot be written", durability.failure)
        elif durability.closed:
            error = DurabilityError(f"the write-ahead log of {durability.directory} is closed; LSN {lsn} was "
                                    f"not written")
        else:
            return False
        raise InternalServerError(f"The write could not be made durable: {error}")

    # -- checkpoints and recovery -------------------------------------------

    def checkpoint_chunks(self, rows_per_chunk=256):
        """Chunks of a fuzzy snapshot: the catalog, then each table's rows, a few hundred at a time.

        Keys are copied a small batch at a time under their partition's lock
        (``Table.iter_range``, as a Scan walks), so a writer waits at most for
        one batch copy, and the GIL is never held for long.  The packed items
        are read after the lock is released: they are immutable, and a key
        batch copied under the lock already reflects every write appended
        before the checkpoint's start LSN (its writer held the lock until it
        had applied), so a value read later is that state or a newer one,
        which the log replays anyway; a key deleted meanwhile is skipped (its
        delete is replayed too).  See docs/format.md, "Why a fuzzy checkpoint".
        """
        with self.catalog_lock:
            tables = list(self.tables.values())
            yield ["catalog", [t.meta for t in tables]]
        yield from self.streams.checkpoint_chunks()
        for table in tables:
            rows = table.rows
            for part in table.iter_range(table, None, True, None, True, chunk=rows_per_chunk):
                values = list(map(rows.get, part))
                if None in values:                     # deleted since the keys were copied
                    kept = [kv for kv in zip(part, values) if kv[1] is not None]
                    part, values = [k for k, _ in kept], [v for _, v in kept]
                if part:
                    flat = [None] * (2 * len(part))
                    flat[::2], flat[1::2] = part, values
                    yield [ROWS_FLAT, table.name, flat]

    def checkpoint(self):
        if self.durability is not None:
            self.durability.checkpoint(self.checkpoint_chunks)

    def _recover(self):
        """Load the checkpoint, replay the log after it, then build each table once.

        The rows of each table are first gathered as a plain dict -- the
        snapshot's rows, then every logged after-image in LSN order (the last
        write of a key wins, a delete pops it) -- and only the final rows go into
        the sorted partitions and the indexes.  An item written a thousand times
        costs a thousand dict stores and one insertion, and a table without
        indexes is built with bulk sorts instead of one insertion per row.
        """
        recovery = self.durability.recover()
        metas, rows = {}, {}
        self._restoring = {}               # restore id -> logged rows of a point-in-time restore
        collecting = gc.isenabled()
        gc.disable()                   # millions of new objects, no garbage: skip the collector's passes
        try:
            streams = self.streams
            for chunk in recovery.snapshot_chunks():
                if chunk[0] == "catalog":
                    for meta in chunk[1]:
                        metas[meta["TableName"]] = meta
                        rows[meta["TableName"]] = {}
                elif chunk[0] == ROWS_FLAT:                # [key, packed, key, packed, ...]
                    it = iter(chunk[2])
                    rows[chunk[1]].update(zip(it, it))
                elif chunk[0] in ("streams", "sr", "consumers", "trimmed"):
                    streams.load_chunk(chunk)
                else:
                    raise CorruptionError(recovery.report["checkpoint"]["file"], None,
                                          f"unknown checkpoint chunk kind {chunk[0]!r}")
            unpack = msgpack.unpackb
            for lsn, payload in recovery.log_records():
                record = unpack(payload, raw=False)
                if record[0] == REC_WRITE and len(record) == 2 and len(record[1]) == 1:   # the common case, inline
                    name, row_key, packed = record[1][0]
                    target = rows.get(name)
                    if target is not None:
                        if packed is None:
                            target.pop(row_key, None)
                        else:
                            target[row_key] = packed
                else:
                    self._replay(record, metas, rows, lsn)
            self._restoring = None           # rows of restores that never finished: never a table
            for name, meta in metas.items():
                self.tables[name] = _build_table(meta, rows[name])
            streams.attach(self.tables)
            streams.trim(self.clock())
        finally:
            if collecting:
                gc.enable()
        self.recovery_report = recovery.report

    def _replay(self, record, metas, rows, lsn):
        """Apply one log record to the gathered catalog (``metas``), rows (name -> {row_key: packed}) and streams."""
        kind = record[0]
        streams = self.streams
        if kind == REC_WRITE:
            if len(record) > 2 and record[2] > self._replayed_at:
                self._replayed_at = record[2]
            for entry in record[1]:
                target = rows.get(entry[0])
                if target is None:         # a write that raced its table's deletion: it was never visible
                    continue
                if entry[2] is None:
                    target.pop(entry[1], None)
                else:
                    target[entry[1]] = entry[2]
            if len(record) > 2:
                streams.replay_write(record, lsn)
        elif kind == REC_CREATE_TABLE:
            metas[record[1]["TableName"]] = record[1]
            rows[record[1]["TableName"]] = {}
            if len(record) > 2:
                streams.apply_event(record[2], streams._number(lsn), record[1])
        elif kind == REC_DELETE_TABLE:
            meta = metas.pop(record[1], None)
            rows.pop(record[1], None)
            if len(record) > 2:
                streams.apply_event(record[2], streams._number(lsn), meta)
        elif kind == REC_UPDATE_TABLE:
            # the live engine adjusts the table in place (UpdateTable, GSI backfill); building the table
            # from its final catalog entry below yields the same indexes, filled from the final rows
            if record[1]["TableName"] in metas:
                metas[record[1]["TableName"]] = record[1]
            if len(record) > 2:
                streams.apply_event(record[2], streams._number(lsn), record[1])
        elif kind == REC_RESTORE_ROWS:                 # rows of a restore: a table only once RT follows
            self._restoring.setdefault(record[1], []).extend(record[2])
        elif kind == REC_RESTORE_TABLE:                # the rows logged, over a linked checkpoint if it names one
            metas[record[2]["TableName"]] = record[2]
            rows[record[2]["TableName"]] = self.pitr.replayed_restore(record, self._restoring.pop(record[1], ()),
                                                                      lsn)
        elif kind == REC_ROLL:
            streams.replay_roll(record, lsn)
        elif kind == REC_ACK:
            streams.replay_ack(record)

    def close(self):
        """Stop and join the background jobs, then flush and close the log.  Idempotent."""
        if self.closed:
            return
        self.closed = True
        with self.streams.lock:            # wake in-process stream readers: they end
            self.streams.changed.notify_all()
        try:
            self.scheduler.stop()
        finally:
            if self.durability is not None:
                self.durability.close()


def _build_table(meta, rows):
    """A Table holding ``rows`` (row_key -> packed), built in bulk (used by recovery).

    What ``Table.apply`` maintains one write at a time is computed here in
    one pass: the dict becomes the table's rows as it is, each sorted
    partition (of the table and of every index) is built by one sort, sizes
    are sums, and each item is decoded once for all its indexes.  The result
    is what applying every row in turn would give (tests compare the two
    through ``Table._check`` and full snapshots).
    """
    table = Table(meta)
    table.rows = rows
    table.recount_bytes()
    _fill_sorted(table.partitions, table._shift, rows)
    if not table.indexes:
        return table
    indexes = list(table.indexes.values())
    entries = [index.entries for index in indexes]      # filled in place (Index.write_plan holds them)
    unpack = _core.unpack_item
    for row_key, packed in rows.items():
        item = unpack(packed)
        for index, found in zip(indexes, entries):
            entry_key = index.entry_key(item, row_key)
            if entry_key is not None:
                found[entry_key] = index.project(item, packed)
    for index, found in zip(indexes, entries):
        index.size_bytes = sum(map(len, found.values()))
        _fill_sorted(index.partitions, index._shift, found)
    if table.collections is not None:            # item-collection sizes: rows plus LSI entries per key prefix
        sizes = {}
        for source in [rows] + [index.entries for index in table.lsis]:
            for key, packed in source.items():
                prefix = collection_prefix(key)
                sizes[prefix] = sizes.get(prefix, 0) + len(packed)
        table.collections = {k: v for k, v in sizes.items() if v}
    return table


def _fill_sorted(partitions, shift, keys):
    """Put ``keys`` into empty sorted partitions chosen by the first byte, one sort each."""
    buckets = [[] for _ in partitions]
    for key in keys:
        buckets[key[0] >> shift].append(key)
    for bucket, partition in zip(buckets, partitions):
        bucket.sort()
        partition.update(bucket)


def backfill(table, index, stopping=None):
    """Fill a new index from the table's rows, one partition at a time under its lock.

    Rows whose index key has the wrong type or an empty value are skipped, as
    DynamoDB's backfill skips them.  ``stopping`` (an Event, the scheduler's)
    is checked between partitions: returns False if it stopped early, True
    when every partition is done.  O(n log n) for n rows, one partition's
    lock held at a time.
    """
    for p, lock in enumerate(table.locks):
        if stopping is not None and stopping.is_set():
            return False
        with lock:
            for row_key in table.partitions[p]:
                packed = table.rows[row_key]
                item = _core.unpack_item(packed)
                with table.index_lock:         # writers of other partitions update the index too
                    index.update(row_key, None, item, packed)
    return True
