"""sqlite3, set up as a careful Python user would for a key-value table:
WAL journal, ``WITHOUT ROWID`` tables keyed like the DynamoDB tables, an
index for the GSI's access path, one connection per thread, autocommit with
explicit transactions for batches.

``synchronous=NORMAL`` in WAL mode survives a process crash but may lose the
last commits on power loss (kvstore's ``batch``); ``FULL`` fsyncs every
commit (kvstore's ``sync``).
"""

import os
import sqlite3

from .base import ConditionFailed, Session, Target

ITEMS_DDL = (
    "CREATE TABLE IF NOT EXISTS items (pk TEXT NOT NULL, sk TEXT NOT NULL, grp TEXT, ts TEXT, cnt INTEGER, "
    "payload TEXT, PRIMARY KEY (pk, sk)) WITHOUT ROWID",
    "CREATE INDEX IF NOT EXISTS items_by_group ON items (grp, ts)",
)
# A rowid table: sqlite's advice for rows this large (~1 KB); WITHOUT ROWID
# loads 8x slower and reads 2x slower here.
USERS_DDL = (
    "CREATE TABLE IF NOT EXISTS usertable (ycsb_key TEXT PRIMARY KEY, %s)"
    % ", ".join("field%d TEXT" % i for i in range(10)),
)
#: Page cache per connection (KiB when negative): 64 MB instead of 2 MB,
#: as a user tuning sqlite for a key-value workload would.
CACHE_SIZE = -65536
_ITEM_COLS = ("pk", "sk", "grp", "ts", "cnt", "payload")
_FIELDS = tuple("field%d" % i for i in range(10))


class SqliteSession(Session):
    def __init__(self, target):
        self.db = target.connect()
        self.x = self.db.execute
        self.scan_from = ("", "")
        self.update_sql = {f: "UPDATE usertable SET %s = ? WHERE ycsb_key = ?" % f for f in _FIELDS}

    def close(self):
        self.db.close()

    # items -----------------------------------------------------------------
    def prepare_get(self, pk, sk):
        return (pk, sk)

    def op_get(self, key):
        return self.x("SELECT * FROM items WHERE pk = ? AND sk = ?", key).fetchone()

    def prepare_put(self, item):
        return tuple(item[c] for c in _ITEM_COLS)

    def op_put(self, row):
        self.x("INSERT OR REPLACE INTO items VALUES (?, ?, ?, ?, ?, ?)", row)

    def prepare_update_conditional(self, pk, sk):
        return (pk, sk, 10**12)

    def op_update_conditional(self, params):
        if self.x("UPDATE items SET cnt = cnt + 1 WHERE pk = ? AND sk = ? AND cnt < ?", params).rowcount != 1:
            raise ConditionFailed(params)

    def prepare_query(self, pk, sk, limit):
        return (pk, sk, limit)

    def op_query(self, params):
        return self.x("SELECT * FROM items WHERE pk = ? AND sk >= ? ORDER BY sk LIMIT ?", params).fetchall()

    def prepare_scan_page(self, limit):
        return limit

    def op_scan_page(self, limit):
        rows = self.x(
            "SELECT * FROM items WHERE (pk, sk) > (?, ?) ORDER BY pk, sk LIMIT ?", self.scan_from + (limit,)
        ).fetchall()
        self.scan_from = (rows[-1][0], rows[-1][1]) if len(rows) == limit else ("", "")
        return rows

    def prepare_batch_write(self, items):
        return [tuple(i[c] for c in _ITEM_COLS) for i in items]

    def op_batch_write(self, rows):
        db = self.db
        db.execute("BEGIN")
        try:
            db.executemany("INSERT OR REPLACE INTO items VALUES (?, ?, ?, ?, ?, ?)", rows)
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def prepare_transact(self, a, b):
        return a, b

    def op_transact(self, keys):
        x = self.x
        x("BEGIN IMMEDIATE")
        try:
            ok = x("UPDATE items SET cnt = cnt - 1 WHERE pk = ? AND sk = ?", keys[0]).rowcount == 1
            ok = ok and x("UPDATE items SET cnt = cnt + 1 WHERE pk = ? AND sk = ?", keys[1]).rowcount == 1
        except BaseException:
            x("ROLLBACK")
            raise
        if not ok:
            x("ROLLBACK")
            raise ConditionFailed(keys)
        x("COMMIT")

    def prepare_gsi_query(self, grp, limit):
        return (grp, limit)

    def op_gsi_query(self, params):
        return self.x("SELECT * FROM items WHERE grp = ? ORDER BY ts LIMIT ?", params).fetchall()

    # usertable -------------------------------------------------------------
    def prepare_read(self, key):
        return (key,)

    def op_read(self, params):
        return self.x("SELECT * FROM usertable WHERE ycsb_key = ?", params).fetchone()

    def prepare_update(self, key, field, value):
        return self.update_sql[field], (value, key)

    def op_update(self, arg):
        self.x(*arg)

    def prepare_insert(self, key, record):
        return (key,) + tuple(record[f] for f in _FIELDS)

    def op_insert(self, row):
        self.x("INSERT OR REPLACE INTO usertable VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", row)

    def prepare_scan(self, key, length):
        return (key, length)

    def op_scan(self, params):
        return self.x("SELECT * FROM usertable WHERE ycsb_key >= ? ORDER BY ycsb_key LIMIT ?", params).fetchall()

    def prepare_rmw(self, key, field, value):
        return (key,), self.update_sql[field], (value, key)

    def op_rmw(self, arg):
        # YCSB's read-modify-write is a read then an update, not a transaction.
        self.x("SELECT * FROM usertable WHERE ycsb_key = ?", arg[0]).fetchone()
        self.x(arg[1], arg[2])


class SqliteTarget(Target):
    kind = "baseline"

    def __init__(self, workdir, options=None, synchronous="NORMAL"):
        super().__init__(workdir, options)
        self.synchronous = synchronous
        self.name = "sqlite-wal-" + synchronous.lower()
        self.description = "sqlite3 %s, WAL, synchronous=%s, 64 MB page cache" % (
            sqlite3.sqlite_version, synchronous)
        self.durability = {
            "NORMAL": "process crash (WAL, no fsync per commit)",
            "FULL": "power loss (fsync per commit)",
        }[synchronous]
        self.path = os.path.join(workdir, "bench.sqlite")
        self.conn = None

    def connect(self):
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=%s" % self.synchronous)
        db.execute("PRAGMA busy_timeout=10000")
        db.execute("PRAGMA cache_size=%d" % CACHE_SIZE)
        return db

    def setup(self, data):
        if self.conn is None:
            self.conn = self.connect()
        for ddl in ITEMS_DDL if data.name == "items" else USERS_DDL:
            self.conn.execute(ddl)

    def load(self, data, records):
        db = self.conn
        if data.name == "items":
            sql = "INSERT OR REPLACE INTO items VALUES (?, ?, ?, ?, ?, ?)"
            rows = (tuple(r[c] for c in _ITEM_COLS) for r in records)
        else:
            sql = "INSERT OR REPLACE INTO usertable VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            rows = ((r["ycsb_key"],) + tuple(r[f] for f in _FIELDS) for r in records)
        batch = []
        for row in rows:
            batch.append(row)
            if len(batch) == 10000:
                self._insert(db, sql, batch)
                batch = []
        if batch:
            self._insert(db, sql, batch)
        db.execute("ANALYZE")

    @staticmethod
    def _insert(db, sql, rows):
        db.execute("BEGIN")
        db.executemany(sql, rows)
        db.execute("COMMIT")

    def session(self):
        return SqliteSession(self)

    def close(self, clean=True):
        if self.conn is not None:
            if clean:
                self.conn.close()
            self.conn = None

    def reopen(self):
        self.conn = self.connect()
        self.conn.execute("SELECT count(*) FROM sqlite_master").fetchone()

    def info(self):
        return {"sqlite": sqlite3.sqlite_version, "synchronous": self.synchronous, "journal_mode": "wal",
                "cache_size_kib": -CACHE_SIZE}
