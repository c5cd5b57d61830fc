"""On-demand backups: consistent point-in-time copies of a table, restorable as a new table, incremental.

A backup is taken without stopping writes: the table's row dict is copied
(a shallow copy: packed items are immutable bytes, so the copy shares them)
without its locks, and the keys written meanwhile are re-read under every
partition lock at the end (``snapshot``).  Because writers hold a partition
lock from reading the old item to applying the new one, and transactions
take all their locks before applying, the result holds every committed
write and nothing half-applied: it is the table at one instant.

Backups are incremental (docs/format.md, "Backups (incremental)", has the
format and why): a backup is a list of *runs*, immutable sets of rows (a
row is a packed item, or None for "deleted"), applied in order.  A new
backup diffs its copy against the state of the newest backup of the same
table (its parent; that state is kept in memory from the previous backup,
or read back once after a restart), writes one run of the rows that differ
and names the parent's runs before it.  Runs are shared by naming them;
a run goes away when no backup names it, so deleting any backup never
breaks another, and a restore reads only the runs its own backup names.
Compaction folds the newest runs into the new one while they are small next
to it (or writes a full run), so a backup names O(log n) runs and a restore
reads at most about twice a full copy.

Where backups live:

* ``:memory:`` databases keep runs as dicts in memory, shared the same way.
* directory databases write ``<db>/backups/<id>.backup`` (a manifest: the
  backup's details and its runs) and ``<db>/backups/runs/<id>.run``.  The
  log is flushed first (a backup never holds a write the log could lose);
  each file is written under a ``.tmp`` name, fsynced, renamed and its
  directory fsynced; a run is published before the manifest naming it, and
  a manifest is unlinked before the runs only it named.  Reference counts
  are recomputed from the manifests on open, which also deletes ``.tmp``
  files and runs that no manifest names.  Backups written before incremental
  backups (version 1 files: a full copy in one file) are still read and
  restored; they are never a parent.

Nothing is ever unpickled.  A file whose header, any chunk crc, key order or
row count is wrong is reported (a warning on open, InternalServerError on
restore); restore reads every run of the backup once to check it before it
creates the table, so a damaged backup restores nothing.

Cost, for a table of n rows of which c changed since the parent: the lock
hold is O(writes made during the copy) (``snapshot``: the O(n) copy of the
row dict runs without the locks and is corrected after); the diff is O(n) dict lookups
outside the lock; the bytes written are O(c) (plus, amortised, the folds:
each row is rewritten O(log n) times over a history); memory, the parent's
row dict per backed-up table (pointers shared with the table).
"""

import copy
import logging
import os
import struct
import threading
import uuid
import zlib

import msgpack

from kvstore import _core
from kvstore.errors import (
    BackupInUseException,
    BackupNotFoundException,
    InternalServerError,
    TableNotFoundException,
)

log = logging.getLogger("kvstore.backup")

MAGIC = b"\x89KVSBAK\n"
#: backup files: 1 = a full copy (written before incremental backups), 2 = a manifest naming runs
VERSION = 2
FULL_COPY = 1
RUN_MAGIC = b"\x89KVSRUN\n"
RUN_VERSION = 1
HEADER = struct.Struct("<8sHHI")            # magic, version, flags, crc
CHUNK = struct.Struct("<II")                # length, crc
DIRECTORY = "backups"
RUNS = "runs"
SUFFIX = ".backup"
#: the name of the SYSTEM backup of a deleted table: ``<table name>$DeletedTableBackup``
DELETED_TABLE_BACKUP = "$DeletedTableBackup"
RUN_SUFFIX = ".run"
#: a chunk of rows (in a file) or a log record of restored rows stays near this many bytes
CHUNK_BYTES = 1 << 20
#: at most this many runs in one backup (docs/format.md, compaction)
MAX_RUNS = 16
#: BackupType of a backup someone asked for, and of one DynamoDB makes when a table with PITR on is deleted
USER = "USER"
SYSTEM = "SYSTEM"
IN_USE = ("There is another ongoing conflicting backup control plane operation on the table. "
          "The backup is either being created, deleted or restored to a table.")


class Run:
    """An immutable set of rows (row key -> packed item, or None: deleted) that backups name.

    ``size`` is its payload bytes (keys + packed items), what compaction
    compares; ``rows`` holds the dict for in-memory databases, ``path`` the
    file of a directory database.
    """

    __slots__ = ("name", "entries", "size", "path", "rows")

    def __init__(self, name, entries, size, path=None, rows=None):
        self.name, self.entries, self.size, self.path, self.rows = name, entries, size, path, rows

    def ref(self):
        return [self.name, self.entries, self.size]


class Backup:
    """One backup: its details and the source table's catalog entry as it was.

    ``runs`` is the list of Runs it is made of; a full-copy file written
    before incremental backups has ``runs`` None and its rows in ``path``.
    ``stored_bytes`` is what the backup added to disk (memory) when it was
    made: its new run, if any, and its manifest.
    """

    __slots__ = ("arn", "name", "created", "size_bytes", "item_count", "meta", "path", "runs", "restoring",
                 "plan", "stored_bytes", "kind", "expires")

    def __init__(self, arn, name, created, size_bytes, item_count, meta, path=None, runs=None, plan=None,
                 stored_bytes=None, kind=USER, expires=None):
        self.arn = arn
        self.name = name
        self.created = created
        self.size_bytes = size_bytes
        self.item_count = item_count
        self.meta = meta
        self.path = path
        self.runs = runs
        self.restoring = 0
        #: the backup plan that made it (``kvstore.engine.plans``), None for a CreateBackup call
        self.plan = plan
        self.stored_bytes = stored_bytes
        #: BackupType: USER (CreateBackup, plans) or SYSTEM (made when a table with PITR on is deleted)
        self.kind = kind
        #: BackupExpiryDateTime (SYSTEM backups: 35 days after creation); None: kept until deleted
        self.expires = expires

    def expired(self, now):
        return self.expires is not None and self.expires <= now

    @property
    def sort_key(self):
        return (self.created, self.arn)

    @property
    def table_id(self):
        return self.meta.get("TableId")

    def record(self):
        """The first chunk of the backup file."""
        details = {"BackupArn": self.arn, "BackupName": self.name, "BackupCreationDateTime": self.created,
                   "BackupSizeBytes": self.size_bytes, "ItemCount": self.item_count}
        if self.plan is not None:
            details["Plan"] = self.plan
        if self.kind != USER:
            details["BackupType"] = self.kind
        if self.expires is not None:
            details["BackupExpiryDateTime"] = self.expires
        record = {"backup": details, "meta": self.meta}
        if self.runs is not None:
            details["StoredBytes"] = self.stored_bytes
            record["runs"] = [r.ref() for r in self.runs]
        return record

    @classmethod
    def from_record(cls, record, path):
        d = record["backup"]
        return cls(d["BackupArn"], d["BackupName"], d["BackupCreationDateTime"], d["BackupSizeBytes"],
                   d["ItemCount"], record["meta"], path=path, plan=d.get("Plan"), stored_bytes=d.get("StoredBytes"),
                   kind=d.get("BackupType", USER), expires=d.get("BackupExpiryDateTime"))


class BackupStore:
    """Every backup of one database (see the module docstring)."""

    def __init__(self, engine):
        self.engine = engine
        #: guards backups, runs, refs and _parents
        self.lock = threading.Lock()
        #: serialises backups of one table; name -> Lock
        self._table_locks = {}
        self.backups = {}
        #: run name -> Run, and how many backups (published or being made) name it
        self.runs = {}
        self.refs = {}
        #: TableId -> (arn, row dict) of the newest backup made of it in this process: the next diff's base
        self._parents = {}
        self.directory = None
        self.runs_directory = None
        self.fs = None
        self.sync = True
        durability = getattr(engine, "durability", None)
        if durability is not None:
            self.fs = durability.fs
            self.sync = durability.policy != "none"
            self.directory = os.path.join(engine.path, DIRECTORY)
            self.runs_directory = os.path.join(self.directory, RUNS)
            self._load()
            self._drop_unfinished_system_backups()

    # -- reading ---------------------------------------------------------------

    def get(self, arn):
        return self.backups.get(arn)

    def all(self):
        """Every backup, oldest first (ARN breaks ties)."""
        with self.lock:
            return sorted(self.backups.values(), key=lambda b: b.sort_key)

    def iter_rows(self, backup, chunk_bytes=CHUNK_BYTES):
        """Lists of ``(row_key, packed)`` of the backup, about ``chunk_bytes`` each."""
        if backup.runs is None:
            yield from _read_rows(self.fs, backup.path)
            return
        batch, size = [], 0
        for item in self.state(backup).items():
            batch.append(item)
            size += len(item[0]) + len(item[1])
            if size >= chunk_bytes:
                yield batch
                batch, size = [], 0
        if batch:
            yield batch

    def state(self, backup):
        """The backup's rows as a dict (its runs applied in order), every run checked as it is read."""
        try:
            if backup.path is not None:
                _verify_manifest(self.fs, backup.path, len(backup.runs))
            rows = self._overlay(backup.runs)
        except (OSError, ValueError, TypeError, KeyError, IndexError) as e:
            raise InternalServerError(f"The backup {backup.arn} cannot be read: {e}") from e
        if len(rows) != backup.item_count:
            raise InternalServerError(f"The backup {backup.arn} cannot be read: it holds {len(rows)} items, "
                                      f"expected {backup.item_count}")
        return rows

    def verify(self, backup):
        """Read the whole backup (every file it needs) and check every crc and count (InternalServerError if damaged)."""
        if backup.runs is not None:
            self.state(backup)
            return
        try:
            _verify(self.fs, backup.path, backup.item_count)
        except (OSError, ValueError, TypeError, KeyError, IndexError) as e:
            raise InternalServerError(f"The backup file {backup.path} cannot be read: {e}") from e

    # -- creating and deleting ---------------------------------------------------

    def table_lock(self, name):
        """The lock that serialises backups of table ``name`` (taken before the table's partition locks)."""
        with self.lock:
            return self._table_locks.setdefault(name, threading.Lock())

    def create(self, table, backup_name, plan=None):
        """Back ``table`` up now; returns the AVAILABLE Backup (``plan``: the name of the plan making it)."""
        if self.engine.closed:
            raise InternalServerError("The database is closed")
        with self.table_lock(table.name):
            return self._create(snapshot(self.engine, table), backup_name, plan)

    def create_system(self, taken, expires_after):
        """The SYSTEM backup ``<table>$DeletedTableBackup`` of a table being deleted with PITR on.

        ``taken`` is ``(meta, rows, size_bytes)`` read by the caller, which holds
        :meth:`table_lock` and every partition lock of the table (DeleteTable, so
        no write falls between the backup and the deletion).
        """
        return self._create(taken, taken[0]["TableName"] + DELETED_TABLE_BACKUP, None, SYSTEM, expires_after)

    def expire(self, now):
        """Delete the SYSTEM backups past their BackupExpiryDateTime."""
        with self.lock:
            doomed = [b for b in self.backups.values() if b.expired(now) and not b.restoring]
        for backup in doomed:
            try:
                self.delete(backup)
            except (BackupInUseException, InternalServerError) as e:
                log.warning("could not delete the expired backup %s: %s", backup.arn, e)

    def _create(self, taken, backup_name, plan, kind=USER, expires_after=None):
        engine = self.engine
        meta, rows, size_bytes = taken
        created = engine.clock()
        identifier = f"{int(created * 1000):014d}-{uuid.uuid4().hex[:8]}"
        backup = Backup(f"{meta['TableArn']}/backup/{identifier}", backup_name, created, size_bytes,
                        len(rows), meta, plan=plan, kind=kind,
                        expires=None if expires_after is None else created + expires_after)
        table_id = backup.table_id
        with self.lock:
            live = {t.meta.get("TableId") for t in list(engine.tables.values())}
            for stale in [i for i in self._parents if i not in live and i != table_id]:
                del self._parents[stale]             # a dropped table's rows: no longer worth the memory
            parent = self._parent(table_id)
            pinned = list(parent.runs) if parent is not None else []
            self._ref(pinned, 1)                     # a concurrent DeleteBackup of the parent keeps them
        new_run = None
        try:
            if self.directory is not None:
                self._flush_log()
            runs, new_run = self._runs_for(parent, table_id, rows, size_bytes, identifier)
            backup.runs = runs
            backup.stored_bytes = 0 if new_run is None else new_run.stored
            if self.directory is not None:
                backup.path = os.path.join(self.directory, identifier + SUFFIX)
                self._write_manifest(backup)
        except BaseException as e:
            with self.lock:
                garbage = self._ref(pinned, -1)
            if new_run is not None:
                garbage.append(new_run.run)
            self._remove_runs(garbage, quiet=True)
            if isinstance(e, OSError):
                raise InternalServerError(f"The backup could not be written: {e}") from e
            raise
        with self.lock:
            if new_run is not None:
                self.runs[new_run.run.name] = new_run.run
            self._ref(runs, 1)
            garbage = self._ref(pinned, -1)
            self.backups[backup.arn] = backup
            if kind == USER:                         # a SYSTEM backup's table is gone: no next backup diffs it
                self._parents[table_id] = (backup.arn, rows)
        self._remove_runs(garbage, quiet=True)
        return backup

    def delete(self, backup):
        with self.lock:
            if backup.restoring:
                raise BackupInUseException(IN_USE)
            if self.backups.pop(backup.arn, None) is None:
                return backup
            garbage = self._ref(backup.runs or (), -1)
            parent = self._parents.get(backup.table_id)
            if parent is not None and parent[0] == backup.arn:
                del self._parents[backup.table_id]
        if backup.path is not None:
            try:
                self.fs.remove(backup.path)
                if self.sync:
                    self.fs.fsync_dir(self.directory)
            except FileNotFoundError:
                pass
            except OSError as e:
                # the manifest may still be on disk: its runs must stay (the next open collects them if not)
                raise InternalServerError(f"The backup could not be deleted: {e}") from e
        self._remove_runs(garbage, quiet=False)
        return backup

    # -- restoring ---------------------------------------------------------------

    def restore(self, backup, meta):
        """Create a table from catalog entry ``meta`` and load the backup's rows into it.

        ``meta`` carries ``RestoreSummary`` with ``RestoreInProgress`` true; it
        is logged as the table is created, the rows follow as ordinary logged
        writes (so they survive a crash like any write), and a final catalog
        record turns ``RestoreInProgress`` false.  A crash in between leaves a
        partly restored table that says so, which the next open deletes
        (``Engine._drop_unfinished_restores``).  The caller holds the catalog lock
        and has checked that the name is free.
        """
        engine = self.engine
        with self.lock:
            if backup.arn not in self.backups:
                raise BackupNotFoundException(f"Backup not found: {backup.arn}")
            backup.restoring += 1
        try:
            if backup.runs is not None:
                rows = self.state(backup)              # every run read and checked before the table exists
                batches = _batches(rows)
            else:
                self.verify(backup)
                batches = self.iter_rows(backup)
            table = engine.add_table(meta)
            for lock in table.locks:
                lock.acquire()
            try:
                lsn = 0
                indexed = bool(table.indexes)
                for batch in batches:
                    writes = [(table, key, None, _core.unpack_item(packed) if indexed else None, packed)
                              for key, packed in batch]
                    lsn = engine.commit(writes)
            finally:
                for lock in reversed(table.locks):
                    lock.release()
            engine.wait_durable(lsn)
            done = copy.deepcopy(table.meta)
            done["RestoreSummary"]["RestoreInProgress"] = False
            table.meta = done
            engine.save_meta(table)
            self._flush_log()
            return table
        finally:
            with self.lock:
                backup.restoring -= 1

    # -- runs ----------------------------------------------------------------------

    def _parent(self, table_id):
        """The newest incremental backup of the table (caller holds ``self.lock``)."""
        parent = None
        for b in self.backups.values():
            if b.runs is not None and b.table_id == table_id and (parent is None or b.sort_key > parent.sort_key):
                parent = b
        return parent

    def _ref(self, runs, delta):
        """Add ``delta`` to the counts of ``runs``; the Runs no backup names any more (caller holds the lock)."""
        garbage = []
        for run in runs:
            count = self.refs.get(run.name, 0) + delta
            if count > 0:
                self.refs[run.name] = count
            else:
                self.refs.pop(run.name, None)
                if self.runs.pop(run.name, None) is not None:
                    garbage.append(run)
        return garbage

    def _runs_for(self, parent, table_id, rows, size_bytes, identifier):
        """The new backup's runs: the parent's plus one of what changed (or a fold, or a full run).

        Returns ``(runs, new)``; ``new`` is a _NewRun (None when nothing changed).
        """
        if parent is None:
            return self._full(table_id, rows, identifier)
        cached = self._parents.get(table_id)
        if cached is not None and cached[0] == parent.arn:
            base = cached[1]
        else:
            try:
                base = self._overlay(parent.runs)
            except (OSError, ValueError, TypeError, KeyError, IndexError) as e:
                # a damaged parent must not stop backups: this one shares nothing and stands alone
                log.warning("backup %s cannot be read (%s): the new backup of its table is a full one", parent.arn, e)
                return self._full(table_id, rows, identifier)
        delta, added = {}, 0
        get = base.get
        for key, packed in rows.items():
            old = get(key)
            if old is None:
                delta[key] = packed
                added += 1
            elif old != packed:                        # bytes ==: identity first, so unchanged items are cheap
                delta[key] = packed
        if len(base) != len(rows) - added:             # some keys were removed since the parent
            for key in base:
                if key not in rows:
                    delta[key] = None
        runs = parent.runs
        if not delta:
            return list(runs), None
        gathered = _payload(delta)
        i = len(runs)
        while i > 0 and (runs[i - 1].size <= 2 * gathered or i >= MAX_RUNS):
            i -= 1
            gathered += runs[i].size
        if i == 0 or 2 * (size_bytes + sum(map(len, rows))) < runs[0].size:
            return self._full(table_id, rows, identifier)
        if i < len(runs):
            keys = set(delta)
            for run in runs[i:]:
                keys.update(self._run_keys(run))
            delta = {key: rows.get(key) for key in keys}
        new = self._write_run(table_id, identifier, delta, full=False)
        return list(runs[:i]) + [new.run], new

    def _full(self, table_id, rows, identifier):
        new = self._write_run(table_id, identifier, rows, full=True)
        return [new.run], new

    def _write_run(self, table_id, name, rows, full):
        size = _payload(rows)
        if self.runs_directory is None:
            # in memory: the dict is never changed again (a full run shares the snapshot's dict)
            return _NewRun(Run(name, len(rows), size, rows=rows), size)
        fs = self.fs
        self._makedirs(self.runs_directory)
        path = os.path.join(self.runs_directory, name + RUN_SUFFIX)
        pieces = (_chunk(c) for c in _run_chunks(table_id, name, rows, full))
        written = _write_file(fs, path, self.sync, RUN_MAGIC, RUN_VERSION, pieces)
        if self.sync:
            fs.fsync_dir(self.runs_directory)
        return _NewRun(Run(name, len(rows), size, path=path), written)

    def _run_rows(self, run):
        """Lists of ``(row_key, packed_or_None)`` of a run (a file's crcs, order and count checked)."""
        if run.rows is not None:
            yield list(run.rows.items())
            return
        yield from _read_run(self.fs, run)

    def _run_keys(self, run):
        for batch in self._run_rows(run):
            for key, _ in batch:
                yield key

    def _overlay(self, runs):
        if not runs:
            raise ValueError("names no runs")
        first = runs[0]
        if first.rows is not None:
            state = dict(first.rows)
        else:
            state = {}
            for batch in self._run_rows(first):
                for key, packed in batch:
                    if packed is None:
                        raise ValueError(f"run {first.name} is the first one of a backup but deletes rows")
                    state[key] = packed
        for run in runs[1:]:
            for batch in self._run_rows(run):
                for key, packed in batch:
                    if packed is None:
                        state.pop(key, None)
                    else:
                        state[key] = packed
        return state

    def _remove_runs(self, runs, quiet):
        """Delete the files of runs no backup names (memory runs just go)."""
        removed = False
        for run in runs:
            if run.path is None:
                continue
            try:
                self.fs.remove(run.path)
                removed = True
            except FileNotFoundError:
                pass
            except OSError as e:                      # left for the next open to collect
                log.warning("could not remove backup run %s: %s", run.path, e)
        if removed and self.sync:
            try:
                self.fs.fsync_dir(self.runs_directory)
            except OSError as e:
                if not quiet:
                    log.warning("could not sync %s: %s", self.runs_directory, e)

    # -- files -------------------------------------------------------------------

    def _flush_log(self):
        durability = self.engine.durability
        if durability is None:
            return
        try:
            durability.flush()
        except Exception as e:  # DurabilityError or OSError: the log cannot be written
            raise InternalServerError(f"The write could not be made durable: {e}") from e

    def _makedirs(self, directory):
        fs = self.fs
        if not fs.exists(directory):
            fs.makedirs(directory)
            if self.sync:                       # the new folder's entry must survive a power cut too
                fs.fsync_dir(os.path.dirname(directory))

    def _write_manifest(self, backup):
        """Publish the manifest: the commit point of a backup.  Adds its own bytes to ``stored_bytes``."""
        self._makedirs(self.directory)
        run_bytes = total = backup.stored_bytes
        for _ in range(4):          # StoredBytes counts the manifest holding it: settle the number's own length
            backup.stored_bytes = total
            pieces = [_chunk(backup.record()), _chunk(["end", len(backup.runs)])]
            size = len(_header()) + sum(map(len, pieces))
            if run_bytes + size == total:
                break
            total = run_bytes + size
        _write_file(self.fs, backup.path, self.sync, MAGIC, VERSION, pieces)
        if self.sync:
            self.fs.fsync_dir(self.directory)

    def _load(self):
        fs = self.fs
        if not fs.exists(self.directory):
            return
        unreadable = False
        for name in sorted(fs.listdir(self.directory)):
            path = os.path.join(self.directory, name)
            if name.endswith(".tmp"):           # a backup that was never published
                _remove_quietly(fs, path)
                continue
            if not name.endswith(SUFFIX):
                continue
            try:
                record = _read_first_chunk(fs, path)
                backup = Backup.from_record(record, path)
                if "runs" in record:
                    backup.runs = [self._known_run(ref) for ref in record["runs"]]
            except (OSError, ValueError, KeyError, TypeError, IndexError) as e:
                log.warning("ignoring unreadable backup file %s: %s", path, e)
                unreadable = True
                continue
            self.backups[backup.arn] = backup
            self._ref(backup.runs or (), 1)
        if not fs.exists(self.runs_directory):
            return
        on_disk = set()
        for name in sorted(fs.listdir(self.runs_directory)):
            path = os.path.join(self.runs_directory, name)
            if name.endswith(".tmp"):
                _remove_quietly(fs, path)
            elif name.endswith(RUN_SUFFIX):
                on_disk.add(name[:-len(RUN_SUFFIX)])
        for name in sorted(set(self.runs) - on_disk):
            log.warning("backup run %s is missing: the backups naming it cannot be restored", name)
        orphans = sorted(on_disk - set(self.runs))
        if orphans and unreadable:
            log.warning("not collecting %d unnamed backup runs: a backup file could not be read", len(orphans))
            return
        for name in orphans:                    # a backup that was never published, or a delete cut short
            _remove_quietly(fs, os.path.join(self.runs_directory, name + RUN_SUFFIX))
        if orphans and self.sync:
            fs.fsync_dir(self.runs_directory)

    def _drop_unfinished_system_backups(self):
        """A SYSTEM backup of a table that still exists was made for a DeleteTable that a crash cut
        short before its log record: the table was never deleted, so the backup never was DynamoDB's."""
        live = {t.meta.get("TableId") for t in list(self.engine.tables.values())}
        for backup in [b for b in self.backups.values() if b.kind == SYSTEM and b.table_id in live]:
            self.delete(backup)

    def _known_run(self, ref):
        name, entries, size = ref
        run = self.runs.get(name)
        if run is None:
            run = self.runs[name] = Run(name, entries, size, path=os.path.join(self.runs_directory, name + RUN_SUFFIX))
        elif (run.entries, run.size) != (entries, size):
            raise ValueError(f"names run {name} with {entries} entries, another backup says {run.entries}")
        return run


class _NewRun:
    """A run just written and the bytes it took (file bytes; payload bytes in memory)."""

    __slots__ = ("run", "stored")

    def __init__(self, run, stored):
        self.run, self.stored = run, stored


def snapshot(engine, table):
    """``(meta, rows, size_bytes)`` of ``table`` at one instant; its locks are held only briefly.

    Copying a million-row dict under the table's partition locks would stop
    its writers for the whole copy (hundreds of milliseconds on a loaded
    machine), so the copy is taken without them and then corrected:

    1. under every partition lock, a change listener is added that records the
       row keys written to this table (``Engine.commit`` calls listeners
       inside the writer's locks, after applying);
    2. without any lock, the row dict is copied;
    3. under every partition lock again (the instant T of the snapshot), the
       listener is removed and each recorded key is read afresh: its value at
       T, or gone.

    A key not recorded was not written between 1 and 3, so its copied value
    is its value at T; every key written meanwhile is re-read at T.  No writer
    is half-way through a write at T (transactions apply under all their
    locks), so the result is the table at one instant.  The locks are held
    for O(keys written during the copy), not O(n).  Locks are taken in
    partition order under the catalog lock: the order DeleteTable uses and,
    within one table, the order transactions use.
    """
    written = set()

    def listen(writes, identity):
        for w in writes:
            if w[0] is table:
                written.add(w[1])

    with engine.catalog_lock:
        _check_alive(engine, table)
        with _all_locks(table):
            with _listeners_lock:
                engine.listeners.append(listen)
    try:
        rows = dict(table.rows)
        with engine.catalog_lock:
            _check_alive(engine, table)
            with _all_locks(table):
                _remove_listener(engine, listen)
                current = table.rows
                for key in written:
                    packed = current.get(key)
                    if packed is None:
                        rows.pop(key, None)
                    else:
                        rows[key] = packed
                meta = copy.deepcopy(table.meta)
                size_bytes = table.size_bytes
    finally:
        _remove_listener(engine, listen)
    return meta, rows, size_bytes


_listeners_lock = threading.Lock()


def _remove_listener(engine, listen):
    """Replace the list rather than change it: a writer may be iterating the old one right now."""
    with _listeners_lock:
        if any(f is listen for f in engine.listeners):
            engine.listeners = [f for f in engine.listeners if f is not listen]


def _check_alive(engine, table):
    if engine.tables.get(table.name) is not table:          # deleted (or replaced) meanwhile
        raise TableNotFoundException(f"Table not found: {table.name}")


class _all_locks:
    """Every partition lock of a table, in partition order."""

    def __init__(self, table):
        self.locks = table.locks

    def __enter__(self):
        for lock in self.locks:
            lock.acquire()

    def __exit__(self, *exc):
        for lock in reversed(self.locks):
            lock.release()


_store_lock = threading.Lock()


def store(engine):
    """The engine's BackupStore, created (and loaded from disk) on first use."""
    backups = getattr(engine, "backups", None)
    if backups is None:
        with _store_lock:
            backups = getattr(engine, "backups", None)
            if backups is None:
                backups = engine.backups = BackupStore(engine)
    return backups


def _payload(rows):
    return sum(len(k) + (0 if v is None else len(v)) for k, v in rows.items())


def _batches(rows, chunk_bytes=CHUNK_BYTES):
    batch, size = [], 0
    for item in rows.items():
        batch.append(item)
        size += len(item[0]) + len(item[1])
        if size >= chunk_bytes:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def _run_chunks(table_id, name, rows, full):
    yield {"run": name, "table": table_id, "full": full}
    batch, size = [], 0
    for key in sorted(rows):
        packed = rows[key]
        batch.append([key, packed])
        size += len(key) + (0 if packed is None else len(packed))
        if size >= CHUNK_BYTES:
            yield ["rows", batch]
            batch, size = [], 0
    if batch:
        yield ["rows", batch]
    yield ["end", len(rows)]


def _remove_quietly(fs, path):
    try:
        fs.remove(path)
    except OSError as e:
        log.warning("could not remove %s: %s", path, e)


# -- framing ---------------------------------------------------------------------


def _header(magic=MAGIC, version=VERSION):
    head = struct.pack("<8sHH", magic, version, 0)
    return head + struct.pack("<I", zlib.crc32(head))


def _chunk(obj):
    data = msgpack.packb(obj, use_bin_type=True)
    length = struct.pack("<I", len(data))
    return length + struct.pack("<I", zlib.crc32(data, zlib.crc32(length))) + data


def _write_file(fs, path, sync, magic, version, pieces):
    """Write ``path`` whole or not at all (``.tmp``, fsync, rename); returns its bytes.  The caller syncs the folder."""
    tmp = path + ".tmp"
    f = fs.create(tmp)
    written = 0
    try:
        data = _header(magic, version)
        f.write(data)
        written += len(data)
        for data in pieces:
            f.write(data)
            written += len(data)
        if sync:
            f.sync()
        f.close()
        f = None
        fs.rename(tmp, path)
    except BaseException:
        if f is not None:
            f.close()
        try:
            fs.remove(tmp)
        except OSError:
            pass
        raise
    return written


def _open_checked(fs, path, magic=MAGIC, versions=(FULL_COPY, VERSION)):
    f = fs.open_read(path)
    try:
        head = _read_exact(f, HEADER.size)
        found, version, _flags, crc = HEADER.unpack(head)
        if found != magic:
            raise ValueError("not a kvstore backup file")
        if zlib.crc32(head[:12]) != crc:
            raise ValueError("damaged header")
        if version not in versions:
            raise ValueError(f"backup format version {version} is not supported (this kvstore reads "
                             f"{', '.join(map(str, versions))})")
    except BaseException:
        f.close()
        raise
    return f, version


def _read_exact(f, n):
    parts = []
    while n:
        part = f.read(n)
        if not part:
            raise ValueError("file ends early")
        parts.append(part)
        n -= len(part)
    return b"".join(parts)


def _next_chunk(f):
    head = f.read(CHUNK.size)
    if not head:
        return None
    if len(head) < CHUNK.size:
        head += _read_exact(f, CHUNK.size - len(head))
    length, crc = CHUNK.unpack(head)
    data = _read_exact(f, length)
    if zlib.crc32(data, zlib.crc32(head[:4])) != crc:
        raise ValueError("chunk checksum mismatch")
    return msgpack.unpackb(data, raw=False)


def _read_first_chunk(fs, path):
    f, version = _open_checked(fs, path)
    try:
        record = _next_chunk(f)
    finally:
        f.close()
    if not isinstance(record, dict) or "backup" not in record:
        raise ValueError("missing backup record")
    if (version == VERSION) != ("runs" in record):
        raise ValueError(f"a version {version} backup file {'without' if version == VERSION else 'with'} runs")
    return record


def _verify_manifest(fs, path, runs):
    f, version = _open_checked(fs, path, versions=(VERSION,))
    try:
        record = _next_chunk(f)
        if not isinstance(record, dict) or len(record.get("runs", ())) != runs:
            raise ValueError("the manifest does not name the runs it was loaded with")
        if _next_chunk(f) != ["end", runs] or f.read(1):
            raise ValueError("the manifest's end marker is wrong")
    finally:
        f.close()


def _read_run(fs, run):
    """Lists of ``(row_key, packed_or_None)`` of a run file: crcs, key order and the entry count checked."""
    f, _ = _open_checked(fs, run.path, magic=RUN_MAGIC, versions=(RUN_VERSION,))
    try:
        first = _next_chunk(f)
        if not isinstance(first, dict) or first.get("run") != run.name:
            raise ValueError(f"{run.path} is not run {run.name}")
        count, last = 0, None
        while True:
            chunk = _next_chunk(f)
            if chunk is None:
                raise ValueError(f"run {run.name}: the end marker is missing")
            if chunk[0] == "end":
                if chunk[1] != count or count != run.entries:
                    raise ValueError(f"run {run.name} holds {count} rows, expected {run.entries}")
                if f.read(1):
                    raise ValueError(f"run {run.name}: data after the end marker")
                return
            if chunk[0] != "rows":
                raise ValueError(f"run {run.name}: unknown chunk {chunk[0]!r}")
            batch = [(k, v) for k, v in chunk[1]]
            if batch:
                if last is not None and batch[0][0] <= last:
                    raise ValueError(f"run {run.name}: row keys out of order")
                for i in range(1, len(batch)):
                    if batch[i][0] <= batch[i - 1][0]:
                        raise ValueError(f"run {run.name}: row keys out of order")
                last = batch[-1][0]
            count += len(batch)
            yield batch
    finally:
        f.close()


def _read_rows(fs, path):
    """Rows of a version 1 (full copy) backup file, one chunk at a time (each chunk's crc checked as it is read)."""
    try:
        f, _ = _open_checked(fs, path, versions=(FULL_COPY,))
    except (OSError, ValueError) as e:
        raise InternalServerError(f"The backup file {path} cannot be read: {e}") from e
    try:
        _next_chunk(f)
        while True:
            chunk = _next_chunk(f)
            if chunk is None or chunk[0] == "end":
                return
            yield [(k, v) for k, v in chunk[1]]
    except ValueError as e:
        raise InternalServerError(f"The backup file {path} cannot be read: {e}") from e
    finally:
        f.close()


def _verify(fs, path, expected):
    f, _ = _open_checked(fs, path, versions=(FULL_COPY,))
    try:
        _next_chunk(f)
        count = 0
        while True:
            chunk = _next_chunk(f)
            if chunk is None:
                raise ValueError("the end marker is missing")
            if chunk[0] == "end":
                if chunk[1] != count or count != expected:
                    raise ValueError(f"holds {count} rows, expected {expected}")
                if f.read(1):
                    raise ValueError("data after the end marker")
                return
            if chunk[0] != "rows":
                raise ValueError(f"unknown chunk {chunk[0]!r}")
            count += len(chunk[1])
    finally:
        f.close()
