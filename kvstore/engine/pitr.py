"""Point-in-time recovery: the history of a table, kept so it can be restored as it was at any second.

DynamoDB's PITR (UpdateContinuousBackups, DescribeContinuousBackups,
RestoreTableToPointInTime) keeps the last 1 to 35 days of a table.  kvstore
builds it from what the engine already writes:

* **Commit times.**  Every log record that writes a table with PITR on carries
  its commit time (``["W", entries, at]``, docs/format.md), read from the
  engine's clock under :attr:`PointInTime.lock` together with the append, and
  never smaller than the previous one: commit times grow with the LSN, so "every
  write committed at or before T" is a prefix of the log, and a transaction
  (one record) is in it whole or not at all.
* **Retention** (directory databases).  A checkpoint lets go of the log
  segments before it and of older checkpoints; while any table has PITR on,
  those files are moved into ``<db>/pitr/`` instead of deleted
  (``Durability.retain``), and each checkpoint's time is noted in
  ``pitr/index`` before it is published (``Durability.on_checkpoint``).  A
  checkpoint is a usable starting point ("base") for a restore to T when every
  write it may hold was committed at or before T: its time is the newest commit
  time logged before its end LSN (docs/format.md, "Why a fuzzy checkpoint").
  The retention job (:meth:`PointInTime.trim`) deletes the retained files older
  than the newest base at or before every table's earliest restorable time.
* **Restore to T** (:meth:`PointInTime.rows_at`): load the newest base whose
  time is at or before T, replay the table's records after it, in LSN order,
  up to the first one committed after T.  In-memory databases keep the history
  in memory instead: the rows at the earliest restorable time plus every change
  since, with its commit time (:class:`_MemoryHistory`).
* **A restore is all or nothing.**  The new table's rows are logged in
  ``["RP", restore_id, rows]`` records and the table in a last
  ``["RT", restore_id, meta]`` record; recovery creates the table only when it
  meets ``RT``, so a crash (even SIGKILL) mid-restore leaves no table at all.
  Checkpoints wait while a restore logs (``Durability.checkpoints_paused``).
  A restore that started from a checkpoint links that file into
  ``<db>/restores/`` and logs only the rows changed since it, with the link
  named in ``RT`` (:meth:`PointInTime.restore`, docs/format.md).

Costs: a write to a PITR table takes one more lock and one clock read; a
restore reads one checkpoint and the log after it (O(checkpoint + log)), and
logs the rows changed since that checkpoint (all of them when it started from
the log alone); the retained disk is the log written during the recovery
period plus the checkpoints in it (``disk_usage``), and a linked checkpoint
stays until the segment holding its restore's record goes.
"""

import bisect
import copy
from itertools import chain
import logging
import os
import threading
from time import time as _wall
import uuid

import msgpack

from kvstore.clock import SystemClock
from kvstore.engine import checkpoint as ckpt
from kvstore.engine import wal
from kvstore.engine.errors import CorruptionError
from kvstore.errors import InternalServerError, TableAlreadyExistsException

log = logging.getLogger("kvstore.pitr")

DIRECTORY = "pitr"
INDEX = "index"
#: ``<db>/restores/``: the base checkpoint of each restored table, linked (see :meth:`PointInTime.restore`)
RESTORES = "restores"
#: log records of a point-in-time restore (docs/format.md)
REC_RESTORE_ROWS = "RP"
REC_RESTORE_TABLE = "RT"
#: how often (seconds of the engine's clock) the retention job trims history past the recovery period
TRIM_SECONDS = 300.0
DAY = 86400.0
DEFAULT_DAYS = 35
#: a deleted PITR table's SYSTEM backup is kept this long (DynamoDB: 35 days, then it expires)
SYSTEM_BACKUP_DAYS = 35
#: a restore logs the new table's rows in records of about this many bytes
ROWS_RECORD_BYTES = 1 << 20
#: how an ``RP`` record's payload starts (a 3-element array, then the kind)
_RP_PREFIX = b"\x93" + msgpack.packb(REC_RESTORE_ROWS)


def settings(table):
    """The table's PITR settings (``{"Enabled", "RecoveryPeriodInDays", "EnabledAt"}``) or None when off."""
    spec = table.meta.get("PointInTimeRecovery")
    return spec if spec and spec.get("Enabled") else None


class _MemoryHistory:
    """One table's history in an in-memory database: rows at ``base_time`` plus later changes, oldest first.

    The changes are three parallel lists, one entry per written row (a
    transaction's rows are adjacent and share one commit time, so a prefix cut
    at a time holds it whole or not at all).  Flat lists of floats and bytes
    rather than a tuple per commit: the garbage collector does not track them,
    where a million tracked tuples made its passes cost more than the write.
    """

    __slots__ = ("base", "base_time", "times", "keys", "values")

    def __init__(self, rows, at):
        self.base = rows
        self.base_time = at
        self.times = []            # commit time of each change
        self.keys = []             # row key of each change
        self.values = []           # packed item of each change, None for a delete

    def add(self, at, entries):
        for key, packed in entries:
            self.times.append(at)
            self.keys.append(key)
            self.values.append(packed)

    @property
    def bytes(self):
        """Bytes of keys and packed items held (the base and every change)."""
        return (sum(len(k) + len(v) for k, v in self.base.items())
                + sum(map(len, self.keys)) + sum(len(p) for p in self.values if p is not None))

    def snapshot(self, when):
        """What :meth:`rows_at` needs, copied (call under the history's lock)."""
        n = bisect.bisect_right(self.times, when)
        return dict(self.base), self.keys[:n], self.values[:n]

    @staticmethod
    def rows_at(snapshot):
        rows, keys, values = snapshot
        _apply(rows, keys, values)
        return rows

    def fold(self, cutoff):
        """Merge the changes committed at or before ``cutoff`` into the base."""
        n = bisect.bisect_right(self.times, cutoff)
        if not n:
            return
        _apply(self.base, self.keys[:n], self.values[:n])
        del self.times[:n], self.keys[:n], self.values[:n]
        self.base_time = cutoff


def _apply(rows, keys, values):
    pop = rows.pop
    for key, packed in zip(keys, values):
        if packed is None:
            pop(key, None)
        else:
            rows[key] = packed


class PointInTime:
    """The engine's point-in-time recovery (``engine.pitr``); see the module docstring.

    Every write to a PITR table passes :meth:`remember` (in-memory databases)
    or ``Engine._log`` (directory databases), so both stay lean: the lock is
    taken with ``acquire``/``release`` rather than ``with`` (a ``with`` block
    costs about 1 µs more on CPython 3.11 here, 14% of an in-memory PutItem),
    and the wall clock is read without :class:`SystemClock`'s Python frame.
    """

    def __init__(self, engine):
        self.engine = engine
        self._clock = engine.clock
        #: the engine's clock is wall time: read ``time.time`` directly on the commit path
        self._system_clock = engine.clock.__class__ is SystemClock
        #: held from reading a commit time to appending its record, so commit times grow with the LSN
        self.lock = threading.Lock()
        #: names of the tables with PITR enabled
        self.names = set()
        #: the newest commit time handed out
        self.last_at = 0.0
        self.memory = {}                   # in-memory databases: name -> _MemoryHistory
        self.durability = None
        self.fs = None
        self.directory = None
        self.index = None                  # directory databases while retaining: {start_lsn: [end_lsn, time]}
        #: files in ``<db>/restores/`` -> LSN of the ``RT`` record naming them (None while that restore runs)
        self.restore_files = {}
        self.restores_dir = None
        self._job = None

    # -- the commit path ------------------------------------------------------

    def stamp(self):
        """A commit time: the clock, never below the last one handed out.  Call under :attr:`lock`."""
        at = self.engine.clock()
        if at < self.last_at:
            at = self.last_at
        self.last_at = at
        return at

    def touches(self, entries):
        """Whether log entries ``[[table name, ...], ...]`` write a table with PITR on."""
        names = self.names
        if len(entries) == 1:
            return entries[0][0] in names
        for entry in entries:
            if entry[0] in names:
                return True
        return False

    def remember(self, writes):
        """In-memory databases: keep the changes ``writes`` made to PITR tables, with their commit time."""
        if len(writes) == 1:                   # the common case, inline (see the class docstring)
            write = writes[0]
            history = self.memory.get(write[0].name)
            if history is None:
                return
            lock = self.lock
            lock.acquire()
            try:
                at = _wall() if self._system_clock else self._clock()
                if at < self.last_at:
                    at = self.last_at
                self.last_at = at
                history.times.append(at)
                history.keys.append(write[1])
                history.values.append(write[4])
            finally:
                lock.release()
            return
        names = self.names
        mine = [w for w in writes if w[0].name in names]
        if not mine:
            return
        with self.lock:
            at = self.stamp()
            by_table = {}
            for table, row_key, _old, _new, packed in mine:
                by_table.setdefault(table.name, []).append((row_key, packed))
            for name, entries in by_table.items():
                history = self.memory.get(name)
                if history is not None:
                    history.add(at, entries)

    # -- the log and checkpoint side (directory databases) ---------------------

    def attach(self, durability):
        """Hook into a directory database's log before it recovers (``Engine.__init__``)."""
        self.durability = durability
        self.fs = durability.fs
        self.directory = os.path.join(durability.directory, DIRECTORY)
        self.restores_dir = os.path.join(durability.directory, RESTORES)
        self.index = self._read_index()
        durability.retain = self._retain
        durability.on_checkpoint = self._checkpoint_published

    def recovered(self, tables, max_at):
        """After recovery: which tables have PITR on, and the newest commit time in the log.

        The writes a checkpoint holds are not replayed, so their times come from the index: the next
        checkpoint's time must not be older than any write it holds.
        """
        self.last_at = max(self.last_at, max_at, *(entry[1] for entry in (self.index or {}).values()))
        self.names = {name for name, table in tables.items() if settings(table) is not None}
        if self.names and self.durability is not None and self.index is None:
            self._start_retaining()        # a crash between the catalog record and the index
        if not self.names and self.index is not None:
            self._stop_retaining()
        if self.durability is not None:
            self._collect_restore_files(startup=True)
        if self.names or self._backups_on_disk() or self.restore_files:
            self.schedule()                # history to trim, SYSTEM backups that may expire, restore files

    def _backups_on_disk(self):
        """Whether the directory database has backups (loaded on first use; the job loads them to expire)."""
        if self.durability is None:
            return False
        from kvstore.engine.backup import DIRECTORY as BACKUPS
        return self.fs.exists(os.path.join(self.durability.directory, BACKUPS))

    def _index_path(self):
        return os.path.join(self.directory, INDEX)

    def _read_index(self):
        path = self._index_path()
        if not self.fs.exists(path):
            return None
        try:
            data = msgpack.unpackb(self.fs.read_bytes(path), raw=False, strict_map_key=False)
            self.restore_files.update((str(k), int(v)) for k, v in data.get("restores", {}).items())
            return {int(k): list(v) for k, v in data["checkpoints"].items()}
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            raise CorruptionError(path, None, f"the point-in-time recovery index cannot be read: {e}") from None

    def _write_index(self):
        sync = self.durability.policy != "none"
        path = self._index_path()
        restores = {k: v for k, v in self.restore_files.items() if v is not None}
        self.fs.write_file(path + ".tmp", msgpack.packb({"checkpoints": self.index, "restores": restores}), sync)
        self.fs.rename(path + ".tmp", path)
        if sync:
            self.fs.fsync_dir(self.directory)

    def _start_retaining(self):
        """Keep released files from now on; the newest checkpoint (all older than now) is a base."""
        self.fs.makedirs(self.directory)
        self.index = {}
        for name in self.fs.listdir(self.durability.directory):
            lsn = ckpt.parse_checkpoint_name(name)
            if lsn is not None:
                self.index[lsn] = [lsn, 0.0]   # written before PITR was on: before every restorable time
        self._write_index()

    def _stop_retaining(self):
        """No table has PITR on: forget the index, then the retained files."""
        try:
            self.fs.remove(self._index_path())
        except FileNotFoundError:
            pass
        self.index = None
        for name in self.fs.listdir(self.directory):
            try:
                self.fs.remove(os.path.join(self.directory, name))
            except OSError as e:
                log.warning("could not remove %s: %s", name, e)

    def _retain(self, path):
        """``Durability.retain``: move a released segment or checkpoint into pitr/ while retaining."""
        if self.index is None:
            return False
        name = os.path.basename(path)
        if wal.parse_segment_name(name) is None and ckpt.parse_checkpoint_name(name) is None:
            return False
        self.fs.rename(path, os.path.join(self.directory, name))
        return True

    def _checkpoint_published(self, start_lsn, end_lsn):
        """``Durability.on_checkpoint``: note the checkpoint's time before it is published.

        Every record before ``end_lsn`` was appended holding :attr:`lock` after
        its time was handed out, so ``last_at`` read now is at least the
        commit time of every write the checkpoint can hold.
        """
        if self.index is None:
            return
        self.index[start_lsn] = [end_lsn, self.last_at]
        self._write_index()                    # under the checkpoint lock, as every other change of the index

    def _files(self):
        """``(segments, checkpoints)``: {first_lsn: path} over the live directory and pitr/."""
        segments, checkpoints = {}, {}
        for directory in (self.directory, self.durability.directory):
            if not self.fs.exists(directory):
                continue
            for name in self.fs.listdir(directory):
                if (lsn := wal.parse_segment_name(name)) is not None:
                    segments[lsn] = os.path.join(directory, name)
                elif (lsn := ckpt.parse_checkpoint_name(name)) is not None:
                    checkpoints[lsn] = os.path.join(directory, name)
        return segments, checkpoints

    def _bases(self):
        """Usable starting points, newest first: ``(start_lsn, time, checkpoint path or None)``."""
        segments, checkpoints = self._files()
        bases = [(lsn, entry[1], checkpoints[lsn]) for lsn, entry in (self.index or {}).items()
                 if lsn in checkpoints]
        if 1 in segments:
            bases.append((1, float("-inf"), None))          # the whole log: from an empty database
        bases.sort(reverse=True)
        return bases, segments

    def disk_usage(self):
        """Bytes kept only for point-in-time recovery (files in pitr/; the live log and checkpoint not counted)."""
        if self.durability is None:
            return sum(h.bytes for h in self.memory.values())
        if not self.fs.exists(self.directory):
            return 0
        return sum(self.fs.size(os.path.join(self.directory, n)) for n in self.fs.listdir(self.directory))

    # -- enabling, describing, retention ----------------------------------------

    def enable(self, table, days):
        """Turn PITR on (or change the recovery period); returns the settings."""
        engine = self.engine
        with engine.catalog_lock:
            for lock in table.locks:                   # no write of the table is between its check and its log
                lock.acquire()
            try:
                current = settings(table)
                meta = copy.deepcopy(table.meta)
                if current is None:
                    with self.lock:
                        at = self.stamp()
                    if self.durability is not None and self.index is None:
                        self._start_retaining()
                    meta["PointInTimeRecovery"] = {"Enabled": True, "RecoveryPeriodInDays": days, "EnabledAt": at}
                else:
                    meta["PointInTimeRecovery"] = dict(current, RecoveryPeriodInDays=days)
                table.meta = meta
                engine.save_meta(table)
                if current is None:
                    if self.durability is None:
                        self.memory[table.name] = _MemoryHistory(dict(table.rows), at)
                    self.names.add(table.name)
            finally:
                for lock in reversed(table.locks):
                    lock.release()
        self.schedule()
        return settings(table)

    def disable(self, table):
        """Turn PITR off: its history is gone (enabling again starts a new one, as in DynamoDB)."""
        engine = self.engine
        with engine.catalog_lock:
            for lock in table.locks:
                lock.acquire()
            try:
                if settings(table) is not None:
                    meta = copy.deepcopy(table.meta)
                    meta.pop("PointInTimeRecovery", None)
                    table.meta = meta
                    engine.save_meta(table)
                    self.forget(table.name)
            finally:
                for lock in reversed(table.locks):
                    lock.release()
        self.trim()

    def drop(self, name):
        """DeleteTable of ``name``; a table with PITR on leaves its SYSTEM backup behind.

        DynamoDB: "When you delete a table that has point-in-time recovery
        enabled, DynamoDB automatically creates a backup snapshot called a
        system backup and retains it for 35 days", named
        ``<table>$DeletedTableBackup``; ListBackups shows it with BackupType
        SYSTEM and RestoreTableFromBackup restores the table as it was just
        before the deletion (its PITR history goes with the table).  The
        backup is written under the table's partition locks, before the
        deletion is logged, so it holds the last write; a crash in between
        leaves the table, and the backup store drops the backup on open
        (``BackupStore._drop_unfinished_system_backups``).
        """
        from kvstore.engine.backup import store
        engine = self.engine
        table = engine.tables.get(name)
        if table is None or settings(table) is None:
            return engine.drop_table(name)
        backups = store(engine)

        def system_backup(table):
            if settings(table) is not None:            # not turned off meanwhile
                backups.create_system((copy.deepcopy(table.meta), dict(table.rows), table.size_bytes),
                                      SYSTEM_BACKUP_DAYS * DAY)

        with backups.table_lock(name):             # before the partition locks, as CreateBackup takes it
            table = engine.drop_table(name, before_drop=system_backup)
        self.schedule()                            # the retention job expires SYSTEM backups too
        return table

    def forget(self, name):
        """The table's PITR is off or the table is gone."""
        self.names.discard(name)
        self.memory.pop(name, None)

    def window(self, table, now=None):
        """``(earliest, latest)`` restorable times of a PITR table."""
        spec = settings(table)
        now = self.engine.clock() if now is None else now
        earliest = max(spec["EnabledAt"], now - spec["RecoveryPeriodInDays"] * DAY)
        history = self.memory.get(table.name)
        if history is not None:
            earliest = max(earliest, history.base_time)
        return earliest, max(now, earliest)

    def schedule(self):
        if self._job is None and self.engine.scheduler is not None:
            try:
                self._job = self.engine.scheduler.every("pitr-retention", TRIM_SECONDS, self.trim)
            except Exception:                          # the scheduler is stopping: the engine closes
                pass

    def trim(self):
        """Drop history older than every PITR table's earliest restorable time."""
        engine = self.engine
        now = engine.clock()
        with engine.catalog_lock:
            cutoffs = {name: self.window(engine.tables[name], now)[0] for name in self.names if name in engine.tables}
        for name, history in list(self.memory.items()):
            if name in cutoffs:
                history.fold(cutoffs[name])
        if getattr(engine, "backups", None) is not None or self._backups_on_disk():
            from kvstore.engine.backup import store
            store(engine).expire(now)          # SYSTEM backups of deleted tables, 35 days on
        if self.durability is None:
            return
        if self.restore_files:
            with self.durability.checkpoints_paused():
                self._collect_restore_files()
        if self.index is None:
            return
        if not cutoffs:
            with self.durability.checkpoints_paused():
                self._stop_retaining()
            return
        with self.durability.checkpoints_paused():    # no checkpoint moves files meanwhile
            self._trim_files(min(cutoffs.values()))

    def _trim_files(self, cutoff):
        bases, segments = self._bases()
        keep = next((b for b in bases if b[1] <= cutoff), None)
        if keep is None:
            return
        start = keep[0]
        doomed = [os.path.join(self.directory, n) for n in self.fs.listdir(self.directory)
                  if (lsn := ckpt.parse_checkpoint_name(n)) is not None and lsn < start]
        for lsn in [lsn for lsn in self.index if lsn < start]:
            del self.index[lsn]
        firsts = sorted(segments)
        for first, nxt in zip(firsts, firsts[1:]):
            if nxt <= start and os.path.dirname(segments[first]) == self.directory:
                doomed.append(segments[first])
        self._write_index()
        for path in doomed:
            try:
                self.fs.remove(path)
            except OSError as e:
                log.warning("could not remove %s: %s", path, e)

    # -- restoring -------------------------------------------------------------

    def rows_at(self, table, when):
        """The rows (row_key -> packed) of ``table`` as they were at time ``when``."""
        if self.durability is None:
            return self._rows_at(table, when)
        with self.durability.checkpoints_paused():     # no checkpoint moves or deletes files meanwhile
            return self._rows_at(table, when)

    def _rows_at(self, table, when):
        history = self.memory.get(table.name)
        if history is not None:
            with self.lock:
                snapshot = history.snapshot(when)
            return _MemoryHistory.rows_at(snapshot)
        if self.durability is None:
            raise InternalServerError(f"No point-in-time history is kept for table {table.name}")
        try:
            self.durability.flush()
        except Exception as e:
            raise InternalServerError(f"The write could not be made durable: {e}") from e
        try:
            return self._rows_from_log(table.name, when)
        except (OSError, CorruptionError, ValueError) as e:
            raise InternalServerError(f"The point-in-time history of {table.name} cannot be read: {e}") from e

    def _rows_from_log(self, name, when):
        return self._history(name, when)[0]

    def _history(self, name, when):
        """``(rows, base, touched)``: the table's rows at ``when``; the checkpoint they were read from
        (None: the whole log, or the table was created or replaced after it); the keys written since."""
        live = self.durability.written_end()           # (after the caller's flush: what ``when`` needs)
        bases, segments = self._bases()
        base = next((b for b in bases if b[1] <= when), None)
        if base is None:
            raise InternalServerError(f"No point-in-time history of {name} reaches back to {when}")
        start, _at, path = base
        rows = {}
        if path is not None:
            rows = self._checkpoint_rows(path, name)
        touched = set() if path is not None else None     # keys to log beside a linked base
        firsts = sorted(segments)
        cover = max((f for f in firsts if f <= start), default=None)
        if cover is None:
            raise InternalServerError(f"The log from LSN {start} is missing from the point-in-time history")
        chain = [f for f in firsts if f >= cover]
        key = msgpack.packb(name)
        unpack = msgpack.unpackb
        pending = {}
        expect = None
        for i, first in enumerate(chain):
            if live is not None and first > live[1]:
                break                                   # begun since the flush: nothing ``when`` needs
            seg_path = segments[first]
            data = self.fs.read_bytes(seg_path)
            if live is not None and seg_path == live[0]:
                data = data[:live[2]]
            scan = wal.scan_segment(data, seg_path, expect, last=i == len(chain) - 1)
            if scan.damage is not None and scan.damage.kind == "corrupt":
                raise scan.damage.error()
            expect = scan.next_lsn
            for _lsn, payload in wal.iter_payloads(data, seg_path, start, scan.end, verify=False):
                if key not in payload and not payload.startswith(_RP_PREFIX):
                    continue
                record = unpack(payload, raw=False)
                kind = record[0]
                if kind == "W":
                    mine = [e for e in record[1] if e[0] == name]
                    if not mine:
                        continue
                    if len(record) > 2 and record[2] > when:
                        return rows, path, touched      # commit times grow with the LSN: nothing later counts
                    for entry in mine:
                        if entry[2] is None:
                            rows.pop(entry[1], None)
                        else:
                            rows[entry[1]] = entry[2]
                        if touched is not None:
                            touched.add(entry[1])
                elif kind == "C" and record[1]["TableName"] == name:
                    rows, path, touched = {}, None, None
                elif kind == "D" and record[1] == name:
                    rows, path, touched = {}, None, None
                elif kind == REC_RESTORE_ROWS:
                    pending.setdefault(record[1], []).extend(record[2])
                elif kind == REC_RESTORE_TABLE:
                    flat = pending.pop(record[1], [])
                    if record[2]["TableName"] == name:
                        rows = self._restored_rows(record[3] if len(record) > 3 else None, flat)
                        path, touched = None, None
        return rows, path, touched

    def _checkpoint_rows(self, path, name):
        """Table ``name``'s rows in checkpoint file ``path``."""
        rows = {}
        for chunk in ckpt.read_chunks(self.fs, path):
            if chunk[0] == "kv" and chunk[1] == name:
                it = iter(chunk[2])
                rows.update(zip(it, it))
        return rows

    def _restored_rows(self, base, flat):
        """The rows of a restored table from its ``RT`` record's ``base`` (or None) and its logged rows."""
        if base is None:
            it = iter(flat)
            return dict(zip(it, it))
        path = os.path.join(self.restores_dir, base["file"])
        if not self.fs.exists(path):
            raise CorruptionError(path, None, "the base checkpoint of a restored table is missing")
        rows = self._checkpoint_rows(path, base["table"])
        it = iter(flat)
        for row_key, packed in zip(it, it):
            if packed is None:
                rows.pop(row_key, None)
            else:
                rows[row_key] = packed
        return rows

    def replayed_restore(self, record, flat, lsn):
        """Recovery met a restore's ``RT`` record (``Engine._replay``): the new table's rows."""
        base = record[3] if len(record) > 3 else None
        if base is not None:
            self.restore_files[base["file"]] = lsn
        return self._restored_rows(base, flat)

    def _link_base(self, restore_id, path, table_name):
        """Give checkpoint ``path`` a second name in ``<db>/restores/``; the ``RT`` record's base, or None
        when the file system cannot (the restore then logs every row)."""
        name = f"{restore_id}.ckpt"
        link = os.path.join(self.restores_dir, name)
        self.restore_files[name] = None
        try:
            self.fs.makedirs(self.restores_dir)
            self.fs.link(path, link)
            if self.durability.policy != "none":
                self.fs.fsync_dir(self.restores_dir)
        except OSError as e:
            log.warning("restoring without linking %s (every row is logged instead): %s", path, e)
            self._drop_restore_file(name)
            return None
        return {"file": name, "table": table_name}

    def _drop_restore_file(self, name):
        self.restore_files.pop(name, None)
        try:
            self.fs.remove(os.path.join(self.restores_dir, name))
        except FileNotFoundError:
            pass
        except OSError as e:
            log.warning("could not remove the restore file %s: %s", name, e)

    def _collect_restore_files(self, startup=False):
        """Delete the files of ``<db>/restores/`` no log record on disk names any more.

        A restore file is read when a replay meets its ``RT`` record: recovery
        (while the record is after the live checkpoint) or a later point-in-time
        restore replaying the retained history.  Segments go oldest first, so
        once the oldest segment left starts after the record, nothing reads the
        file.  On open, a file no record names (a restore cut short before its
        ``RT``) goes too.  Call with checkpoints paused (or before they start).
        """
        if not self.fs.exists(self.restores_dir):
            return
        segments, _checkpoints = self._files()
        oldest = min(segments) if segments else None
        changed = False
        for name in self.fs.listdir(self.restores_dir):
            if name not in self.restore_files:
                if startup:
                    self._drop_restore_file(name)
                continue
            lsn = self.restore_files[name]
            if lsn is not None and (oldest is None or lsn < oldest):
                self._drop_restore_file(name)
                changed = True
        for name in [n for n, lsn in self.restore_files.items()
                     if lsn is not None and not self.fs.exists(os.path.join(self.restores_dir, n))]:
            del self.restore_files[name]
            changed = True
        if changed and self.index is not None:
            self._write_index()

    def restore(self, source, when, meta):
        """Create table ``meta`` holding ``source``'s rows at ``when``; all or nothing.  Returns the Table.

        A directory database makes the new table durable without writing its
        rows again when it can: the checkpoint the rows were read from gets a
        second name (a hard link, ``<db>/restores/<id>.ckpt``), and the log
        gets only the rows written since that checkpoint (a delete as None)
        and the ``RT`` record naming the link.  Recovery reads the table's rows
        from the link and applies those; the link goes once no log record on
        disk names it (:meth:`_collect_restore_files`).  A 1M-item restore
        thus writes a few KB instead of the table's 175 MB (and waits for no
        fsync of them).  Without a checkpoint to start from, or if the link
        fails, every row is logged.
        """
        from kvstore.engine.database import _build_table
        engine = self.engine
        name = meta["TableName"]
        if engine.durability is None:
            table = _build_table(meta, self._rows_at(source, when))
            with engine.catalog_lock:
                if name in engine.tables:
                    raise TableAlreadyExistsException(f"Table already exists: {name}")
                engine.tables[name] = table
            return table
        restore_id = uuid.uuid4().hex
        with self.durability.checkpoints_paused():
            self._flush()
            try:
                rows, base_path, touched = self._history(source.name, when)
            except (OSError, CorruptionError, ValueError) as e:
                raise InternalServerError(f"The point-in-time history of {source.name} cannot be read: {e}") from e
            base = None if base_path is None else self._link_base(restore_id, base_path, source.name)
            try:
                if base is not None:
                    flat = []
                    for row_key in touched:
                        flat.append(row_key)
                        flat.append(rows.get(row_key))
                else:
                    flat = list(chain.from_iterable(rows.items()))
                table = _build_table(meta, rows)
                size = sum(len(k) + (len(v) if v is not None else 0) for k, v in zip(flat[::2], flat[1::2])) \
                    if base is not None else table.size_bytes + 30 * len(rows)
                pairs = len(flat) // 2
                per = 2 * max(1, pairs * ROWS_RECORD_BYTES // max(1, size + 30 * pairs))
                for i in range(0, len(flat), per):
                    engine._log([REC_RESTORE_ROWS, restore_id, flat[i:i + per]])
                record = [REC_RESTORE_TABLE, restore_id, meta]
                if base is not None:
                    record.append(base)
                with engine.catalog_lock:
                    if name in engine.tables:
                        raise TableAlreadyExistsException(f"Table already exists: {name}")
                    lsn = engine._log(record)
                    engine.tables[name] = table
            except BaseException:
                if base is not None:
                    self._drop_restore_file(base["file"])
                raise
            self._flush()
            if base is not None:               # noted once its record is durable (until then recovery finds it)
                self.restore_files[base["file"]] = lsn
                if self.index is not None:
                    self._write_index()
        return table

    def _flush(self):
        try:
            self.durability.flush()
        except Exception as e:
            raise InternalServerError(f"The write could not be made durable: {e}") from e
