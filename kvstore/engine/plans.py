"""Backup plans: backups on a schedule, expired by a retention count, without a cron job of one's own.

A plan is a name, an interval and how many of its backups to keep per table
(``BackupPlan("hourly", every=3600, keep=24)``), optionally limited to some
tables; several plans run at once (hourly keep 24 and daily keep 7).  Each
plan is one periodic job of the engine's scheduler (``engine.scheduler``, on
``engine.clock``).  A run backs up every table the plan covers through the
engine's backup store -- what CreateBackup uses, so the backups are ordinary
backups that ListBackups, DescribeBackup, DeleteBackup and
RestoreTableFromBackup see -- then deletes that table's backups of the plan
beyond the newest ``keep``.

Plan backups are named ``<plan>.<UTC time>`` (``hourly.20261205T220000Z``) and
tagged with the plan's name in the backup file (``Backup.plan``); retention
only ever deletes backups carrying the tag, never a CreateBackup backup that
merely has a similar name.

Catching up: a plan keeps no state of its own.  When it is added (on open, or
later) it looks at its newest backup of each table: a table whose newest plan
backup is at least one interval old (or that has none) is backed up at the
first run, which is due at once; otherwise the first run is due one interval
after the newest backup.  However long the database was closed, that is one
catch-up backup per table, not one per missed slot.  A run skips a table
whose newest plan backup is younger than half an interval, so a run that is
late or a clock that jumps never makes two backups in one slot.

Plan backups are ordinary backups, so they are incremental
(``kvstore.engine.backup``): each stores what changed since the table's
previous backup, and retention deleting an old backup never breaks a kept one.

Writes are never blocked by the job for long: a backup holds a table's
partition locks only to re-read the keys written while it copied the row
dict without them (``kvstore.engine.backup.snapshot``); the files are written
after they are released.  A crash mid-backup leaves only a
``.tmp`` file, which the next open deletes; retention deletes old backups only
after the new one is published, so a crash never leaves fewer than ``keep``.

Complexity: a run is O(B) to find a table's plan backups among B backups,
plus the backups it takes.
"""

import datetime
import re
import threading

from kvstore import limits
from kvstore.engine.backup import store
from kvstore.errors import BackupInUseException

_NAME_RE = re.compile(r"[A-Za-z0-9_-]{1,64}\Z")
_DURATION_RE = re.compile(r"(\d+)([smhdw]?)\Z")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_TABLE_RE = re.compile(limits.TABLE_NAME_PATTERN + r"\Z")


class BackupPlan:
    """A schedule and a retention: back up ``tables`` (all tables: None) every ``every`` seconds, keep ``keep``."""

    __slots__ = ("name", "every", "keep", "tables")

    def __init__(self, name, every, keep, tables=None):
        if not isinstance(name, str) or not _NAME_RE.match(name):
            raise ValueError(f"a backup plan's name is 1 to 64 of A-Z a-z 0-9 _ -, not {name!r}")
        if isinstance(every, str):
            every = parse_duration(every)
        if isinstance(every, bool) or not isinstance(every, (int, float)) or not every >= 1:
            raise ValueError(f"backup plan {name!r}: the interval must be at least 1 second, not {every!r}")
        if isinstance(keep, bool) or not isinstance(keep, int) or keep < 1:
            raise ValueError(f"backup plan {name!r}: keep must be a whole number of backups >= 1, not {keep!r}")
        if tables is not None:
            tables = tuple(tables)
            for t in tables:
                if not isinstance(t, str) or not _TABLE_RE.match(t) or not 3 <= len(t) <= 255:
                    raise ValueError(f"backup plan {name!r}: {t!r} is not a table name")
        self.name, self.every, self.keep, self.tables = name, float(every), keep, tables

    @classmethod
    def parse(cls, spec):
        """``NAME:EVERY:KEEP[:TABLE,TABLE...]`` (``hourly:1h:24``, ``daily:1d:7:Orders,Users``)."""
        parts = spec.split(":")
        if len(parts) not in (3, 4):
            raise ValueError(f"a backup plan is NAME:EVERY:KEEP[:TABLE,...] (e.g. hourly:1h:24), not {spec!r}")
        if not parts[2].isdigit():
            raise ValueError(f"backup plan {spec!r}: KEEP must be a whole number")
        tables = parts[3].split(",") if len(parts) == 4 else None
        return cls(parts[0], parse_duration(parts[1]), int(parts[2]), tables)

    @classmethod
    def from_dict(cls, d):
        """A plan from a config-file table: ``name``, ``every``, ``keep``, optional ``tables``."""
        unknown = set(d) - {"name", "every", "keep", "tables"}
        if unknown:
            raise ValueError(f"unknown backup plan setting(s): {', '.join(sorted(unknown))}")
        missing = {"name", "every", "keep"} - set(d)
        if missing:
            raise ValueError(f"a backup plan needs {', '.join(sorted(missing))}")
        return cls(d["name"], d["every"], d["keep"], d.get("tables"))

    def covers(self, table_name):
        return self.tables is None or table_name in self.tables

    def __eq__(self, other):
        return isinstance(other, BackupPlan) and (self.name, self.every, self.keep, self.tables) == (
            other.name, other.every, other.keep, other.tables)

    def __repr__(self):
        tables = "" if self.tables is None else f", tables={list(self.tables)!r}"
        return f"BackupPlan({self.name!r}, every={self.every:g}, keep={self.keep}{tables})"


def parse_duration(text):
    """Seconds in ``90``, ``90s``, ``15m``, ``1h``, ``1d``, ``2w``."""
    m = _DURATION_RE.match(text.strip()) if isinstance(text, str) else None
    if m is None:
        raise ValueError(f"a duration is a whole number with s, m, h, d or w after it (1h, 1d), not {text!r}")
    return int(m.group(1)) * _UNITS[m.group(2)]


def load_config(path):
    """The backup plans of a TOML config file: ``[[backup_plan]]`` tables (see docs/operations.md)."""
    try:
        import tomllib
    except ModuleNotFoundError:         # Python 3.10: the same parser, from PyPI (a dependency there)
        import tomli as tomllib
    with open(path, "rb") as f:
        config = tomllib.load(f)
    unknown = set(config) - {"backup_plan"}
    if unknown:
        raise ValueError(f"{path}: unknown setting(s): {', '.join(sorted(unknown))}")
    return [BackupPlan.from_dict(d) for d in config.get("backup_plan", [])]


class Plans:
    """The backup plans of one engine (``engine.plans``): add, remove, run."""

    def __init__(self, engine):
        self.engine = engine
        self.lock = threading.Lock()
        self._plans = {}          # name -> (BackupPlan, scheduler Job)

    def __iter__(self):
        with self.lock:
            return iter([plan for plan, _ in self._plans.values()])

    def add(self, plan):
        """Start running ``plan`` (replacing a plan of that name); its first run catches up at once if due."""
        engine = self.engine
        with self.lock:
            old = self._plans.pop(plan.name, None)
            if old is not None:
                old[1].cancel()
            now = engine.clock()
            first = now + plan.every
            with engine.catalog_lock:
                names = [n for n in engine.tables if plan.covers(n)]
            for name in names:
                newest = self._newest(plan, name)
                first = min(first, now if newest is None else max(now, newest.created + plan.every))
            job = engine.scheduler.every(f"backup-plan-{plan.name}", plan.every, lambda: self.run(plan), first=first)
            self._plans[plan.name] = (plan, job)
        return plan

    def remove(self, name):
        """Stop running the plan ``name`` (its backups stay)."""
        with self.lock:
            entry = self._plans.pop(name, None)
        if entry is None:
            raise KeyError(name)
        entry[1].cancel()

    def run(self, plan):
        """One run of ``plan``: back up each covered table whose slot has no backup yet, then apply retention.

        Returns the backups it made.
        """
        engine = self.engine
        backups = store(engine)
        made = []
        with engine.catalog_lock:
            tables = [t for n, t in engine.tables.items() if plan.covers(n)]
        for table in tables:
            if engine.scheduler.stopping.is_set():
                break
            restore = table.meta.get("RestoreSummary")
            if restore and restore.get("RestoreInProgress"):
                continue
            now = engine.clock()
            newest = self._newest(plan, table.name)
            if newest is None or now - newest.created >= plan.every / 2:
                stamp = datetime.datetime.fromtimestamp(now, datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
                try:
                    made.append(backups.create(table, f"{plan.name}.{stamp}", plan=plan.name))
                except Exception:
                    if engine.tables.get(table.name) is not table:     # deleted meanwhile: nothing to back up
                        continue
                    raise
            self.expire(plan, table.name)
        return made

    def expire(self, plan, table_name):
        """Delete ``table_name``'s backups of ``plan`` beyond the newest ``keep`` (oldest first)."""
        backups = store(self.engine)
        mine = [b for b in backups.all() if b.plan == plan.name and b.meta["TableName"] == table_name]
        for backup in mine[:max(0, len(mine) - plan.keep)]:
            try:
                backups.delete(backup)
            except BackupInUseException:             # being restored: the next run deletes it
                pass

    def _newest(self, plan, table_name):
        newest = None
        for b in store(self.engine).all():
            if b.plan == plan.name and b.meta["TableName"] == table_name:
                newest = b
        return newest
