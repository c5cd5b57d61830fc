"""On-demand backups: consistent point-in-time copies of a table, restorable as a new table.

A backup is taken without stopping writes: every partition lock of the table
is held only while its row dict is copied (a shallow copy: packed items are
immutable bytes, so the copy shares them), then released.  Because writers
hold a partition lock from reading the old item to applying the new one, and
transactions take all their locks before applying, the copy holds every
committed write and nothing half-applied: it is the table at one instant.

Where backups live:

* ``:memory:`` databases keep the copied row dict in memory.
* directory databases write one file per backup under ``<db>/backups/``.
  The log is flushed first (a backup never holds a write the log could
  lose), the file is written under a ``.tmp`` name, fsynced, renamed and the
  directory fsynced, so a file with its final name is complete.  Backups are
  independent of the log and checkpoints and survive reopening.

Backup file format (version 1; integers little-endian, crc32 is zlib's)::

    file    := header chunk* end
    header  := magic[8] version:u16 flags:u16 crc:u32      crc of the 12 bytes before it
               magic = 89 4B 56 53 42 41 4B 0A  ("\\x89KVSBAK\\n")
    chunk   := length:u32 crc:u32 data[length]             crc = crc32(length || data)
               data = one msgpack object (use_bin_type)
    chunks  := {"backup": details, "meta": catalog entry}  first: what ListBackups needs
               (details carries "Plan": <plan name> when a backup plan made it)
               ["rows", [[row_key, packed_item], ...]]      any number
               ["end", row_count]                           last

Nothing is ever unpickled.  A file whose header, any chunk crc or the final
row count is wrong is reported (a warning on open, InternalServerError on
restore); restore reads the whole file once to check it before it creates
the table, so a damaged backup restores nothing.
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
VERSION = 1
HEADER = struct.Struct("<8sHHI")            # magic, version, flags, crc
CHUNK = struct.Struct("<II")                # length, crc
DIRECTORY = "backups"
SUFFIX = ".backup"
#: a chunk of rows (in a file) or a log record of restored rows stays near this many bytes
CHUNK_BYTES = 1 << 20
IN_USE = ("There is another ongoing conflicting backup control plane operation on the table. "
          "The backup is either being created, deleted or restored to a table.")


class Backup:
    """One backup: its details and the source table's catalog entry as it was.

    ``rows`` holds the copied row dict for in-memory databases; a directory
    database reads rows back from ``path``.
    """

    __slots__ = ("arn", "name", "created", "size_bytes", "item_count", "meta", "path", "rows", "restoring", "plan")

    def __init__(self, arn, name, created, size_bytes, item_count, meta, path=None, rows=None, plan=None):
        self.arn = arn
        self.name = name
        self.created = created
        self.size_bytes = size_bytes
        self.item_count = item_count
        self.meta = meta
        self.path = path
        self.rows = rows
        self.restoring = 0
        #: the backup plan that made it (``kvstore.engine.plans``), None for a CreateBackup call
        self.plan = plan

    @property
    def sort_key(self):
        return (self.created, self.arn)

    def record(self):
        """The first chunk of the backup file."""
        details = {"BackupArn": self.arn, "BackupName": self.name, "BackupCreationDateTime": self.created,
                   "BackupSizeBytes": self.size_bytes, "ItemCount": self.item_count}
        if self.plan is not None:
            details["Plan"] = self.plan
        return {"backup": details, "meta": self.meta}

    @classmethod
    def from_record(cls, record, path):
        d = record["backup"]
        return cls(d["BackupArn"], d["BackupName"], d["BackupCreationDateTime"], d["BackupSizeBytes"],
                   d["ItemCount"], record["meta"], path=path, plan=d.get("Plan"))


class BackupStore:
    """Every backup of one database (see the module docstring)."""

    def __init__(self, engine):
        self.engine = engine
        self.lock = threading.Lock()
        #: serialises backups of one table; name -> Lock
        self._table_locks = {}
        self.backups = {}
        self.directory = None
        self.fs = None
        self.sync = True
        durability = getattr(engine, "durability", None)
        if durability is not None:
            self.fs = durability.fs
            self.sync = durability.policy != "none"
            self.directory = os.path.join(engine.path, DIRECTORY)
            self._load()

    # -- reading ---------------------------------------------------------------

    def get(self, arn):
        return self.backups.get(arn)

    def all(self):
        """Every backup, oldest first (ARN breaks ties)."""
        with self.lock:
            return sorted(self.backups.values(), key=lambda b: b.sort_key)

    def iter_rows(self, backup, chunk_bytes=CHUNK_BYTES):
        """Lists of ``(row_key, packed)`` of the backup, about ``chunk_bytes`` each."""
        if backup.rows is not None:
            batch, size = [], 0
            for item in backup.rows.items():
                batch.append(item)
                size += len(item[0]) + len(item[1])
                if size >= chunk_bytes:
                    yield batch
                    batch, size = [], 0
            if batch:
                yield batch
            return
        yield from _read_rows(self.fs, backup.path)

    def verify(self, backup):
        """Read the whole backup file and check every crc and the row count (InternalServerError if damaged)."""
        try:
            _verify(self.fs, backup.path, backup.item_count)
        except (OSError, ValueError, TypeError, KeyError, IndexError) as e:
            raise InternalServerError(f"The backup file {backup.path} cannot be read: {e}") from e

    # -- creating and deleting ---------------------------------------------------

    def create(self, table, backup_name, plan=None):
        """Back ``table`` up now; returns the AVAILABLE Backup (``plan``: the name of the plan making it)."""
        engine = self.engine
        if engine.closed:
            raise InternalServerError("The database is closed")
        with self.lock:
            table_lock = self._table_locks.setdefault(table.name, threading.Lock())
        with table_lock:
            meta, rows, size_bytes = snapshot(engine, table)
            created = engine.clock()
            identifier = f"{int(created * 1000):014d}-{uuid.uuid4().hex[:8]}"
            backup = Backup(f"{meta['TableArn']}/backup/{identifier}", backup_name, created, size_bytes,
                            len(rows), meta, plan=plan)
            if self.directory is None:
                backup.rows = rows
            else:
                self._flush_log()
                backup.path = os.path.join(self.directory, identifier + SUFFIX)
                try:
                    self._write(backup, rows)
                except OSError as e:
                    raise InternalServerError(f"The backup could not be written: {e}") from e
        with self.lock:
            self.backups[backup.arn] = backup
        return backup

    def delete(self, backup):
        with self.lock:
            if backup.restoring:
                raise BackupInUseException(IN_USE)
            self.backups.pop(backup.arn, None)
        if backup.path is not None:
            try:
                self.fs.remove(backup.path)
                if self.sync:
                    self.fs.fsync_dir(self.directory)
            except FileNotFoundError:
                pass
            except OSError as e:
                raise InternalServerError(f"The backup could not be deleted: {e}") from e
        return backup

    # -- restoring ---------------------------------------------------------------

    def restore(self, backup, meta):
        """Create a table from catalog entry ``meta`` and load the backup's rows into it.

        ``meta`` carries ``RestoreSummary`` with ``RestoreInProgress`` true; it
        is logged as the table is created, the rows follow as ordinary logged
        writes (so they survive a crash like any write), and a final catalog
        record turns ``RestoreInProgress`` false.  A crash in between leaves a
        partly restored table that says so.  The caller holds the catalog lock
        and has checked that the name is free.
        """
        engine = self.engine
        with self.lock:
            if backup.arn not in self.backups:
                raise BackupNotFoundException(f"Backup not found: {backup.arn}")
            backup.restoring += 1
        try:
            if backup.path is not None:
                self.verify(backup)
            table = engine.add_table(meta)
            for lock in table.locks:
                lock.acquire()
            try:
                lsn = 0
                indexed = bool(table.indexes)
                for batch in self.iter_rows(backup):
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

    # -- files -------------------------------------------------------------------

    def _flush_log(self):
        durability = self.engine.durability
        if durability is None:
            return
        try:
            durability.flush()
        except Exception as e:  # DurabilityError or OSError: the log cannot be written
            raise InternalServerError(f"The write could not be made durable: {e}") from e

    def _write(self, backup, rows):
        fs = self.fs
        if not fs.exists(self.directory):
            fs.makedirs(self.directory)
            if self.sync:                       # the new folder's entry must survive a power cut too
                fs.fsync_dir(os.path.dirname(self.directory))
        tmp = backup.path + ".tmp"
        f = fs.create(tmp)
        try:
            f.write(_header())
            f.write(_chunk(backup.record()))
            batch, size = [], 0
            for key, packed in rows.items():
                batch.append([key, packed])
                size += len(key) + len(packed)
                if size >= CHUNK_BYTES:
                    f.write(_chunk(["rows", batch]))
                    batch, size = [], 0
            if batch:
                f.write(_chunk(["rows", batch]))
            f.write(_chunk(["end", len(rows)]))
            if self.sync:
                f.sync()
        except BaseException:
            f.close()
            try:
                fs.remove(tmp)
            except OSError:
                pass
            raise
        f.close()
        fs.rename(tmp, backup.path)
        if self.sync:
            fs.fsync_dir(self.directory)

    def _load(self):
        fs = self.fs
        if not fs.exists(self.directory):
            return
        for name in sorted(fs.listdir(self.directory)):
            path = os.path.join(self.directory, name)
            if name.endswith(".tmp"):           # a backup that was never published
                try:
                    fs.remove(path)
                except OSError as e:
                    log.warning("could not remove %s: %s", path, e)
                continue
            if not name.endswith(SUFFIX):
                continue
            try:
                backup = Backup.from_record(_read_first_chunk(fs, path), path)
            except (OSError, ValueError, KeyError, TypeError) as e:
                log.warning("ignoring unreadable backup file %s: %s", path, e)
                continue
            self.backups[backup.arn] = backup


def snapshot(engine, table):
    """``(meta, rows, size_bytes)`` of ``table`` at one instant, holding its locks only to copy.

    Locks are taken in partition order under the catalog lock: the order
    DeleteTable uses and, within one table, the order transactions use.
    """
    with engine.catalog_lock:
        if engine.tables.get(table.name) is not table:          # deleted (or replaced) meanwhile
            raise TableNotFoundException(f"Table not found: {table.name}")
        for lock in table.locks:
            lock.acquire()
        try:
            meta = copy.deepcopy(table.meta)
            rows = dict(table.rows)
            size_bytes = table.size_bytes
        finally:
            for lock in reversed(table.locks):
                lock.release()
    return meta, rows, size_bytes


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


# -- framing ---------------------------------------------------------------------


def _header():
    head = struct.pack("<8sHH", MAGIC, VERSION, 0)
    return head + struct.pack("<I", zlib.crc32(head))


def _chunk(obj):
    data = msgpack.packb(obj, use_bin_type=True)
    length = struct.pack("<I", len(data))
    return length + struct.pack("<I", zlib.crc32(data, zlib.crc32(length))) + data


def _open_checked(fs, path):
    f = fs.open_read(path)
    try:
        head = _read_exact(f, HEADER.size)
        magic, version, _flags, crc = HEADER.unpack(head)
        if magic != MAGIC:
            raise ValueError("not a kvstore backup file")
        if zlib.crc32(head[:12]) != crc:
            raise ValueError("damaged header")
        if version != VERSION:
            raise ValueError(f"backup format version {version} is not supported (this kvstore reads {VERSION})")
    except BaseException:
        f.close()
        raise
    return f


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
    f = _open_checked(fs, path)
    try:
        record = _next_chunk(f)
    finally:
        f.close()
    if not isinstance(record, dict) or "backup" not in record:
        raise ValueError("missing backup record")
    return record


def _read_rows(fs, path):
    """Rows of a backup file, one chunk at a time (each chunk's crc checked as it is read)."""
    try:
        f = _open_checked(fs, path)
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
    f = _open_checked(fs, path)
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

