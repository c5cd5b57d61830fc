"""One database per (AWS account, region): how the server keeps accounts and regions apart.

DynamoDB's tables belong to an account and a region: a key sees its account's
tables in the region it signs for, and nothing else.  DynamoDB Local does the
same with one database file per access key and region.  kvstore keeps one
ordinary database (engine, log, checkpoints, backups, lock) per pair, so the
separation is structural: no table, stream, backup, transaction or
ListTables page can cross it, and each database recovers on its own.

With ``kvstore serve --data-dir DIR --credentials FILE``:

* ``DIR`` itself is the database of the default pair (account
  ``123456789012``, ``us-east-1``: ``kvstore.limits``), so a directory written
  before accounts existed, the embedded API and the boto3 hook see the same
  tables as before;
* every other pair is ``DIR/accounts/<account id>/<region>/``, opened with the
  same options on the first request that reaches it and closed with the server.

``--in-memory`` gives each pair its own in-memory database.  Without
credentials there is no account to tell callers apart: every request reaches
the default database, whatever key and region it signs with (DynamoDB Local's
``-sharedDb``).
"""

import os
import threading

__all__ = ["Accounts", "directory_of", "ACCOUNTS_DIRECTORY"]

ACCOUNTS_DIRECTORY = "accounts"


def directory_of(root, account_id, region):
    """Where the database of ``(account_id, region)`` lives under a server's data directory."""
    return os.path.join(root, ACCOUNTS_DIRECTORY, account_id, region)


class Accounts:
    """``(account id, region) -> engine``, opening each database the first time it is asked for.

    ``default`` is an open database (``kvstore.open``), the one of its own
    engine's ``account_id`` and ``region``; ``open_database(account_id,
    region)`` opens any other (see ``kvstore.server.main``).  ``account_id``
    None means the default account.
    """

    def __init__(self, default, open_database):
        self.default = default
        self._open = open_database
        engine = default.engine
        self._databases = {(engine.account_id, engine.region): default}
        self._lock = threading.Lock()
        self._closed = False

    def engine(self, account_id, region):
        if account_id is None:
            account_id = self.default.engine.account_id
        key = (account_id, region)
        db = self._databases.get(key)
        if db is None:
            with self._lock:
                db = self._databases.get(key)
                if db is None:
                    if self._closed:
                        raise RuntimeError("the server's databases are closed")
                    db = self._databases[key] = self._open(account_id, region)
        return db.engine

    def pairs(self):
        """The ``(account id, region)`` pairs open now."""
        return sorted(self._databases)

    def close(self):
        """Close every database but the default one (its opener closes it)."""
        with self._lock:
            self._closed = True
            others = [db for db in self._databases.values() if db is not self.default]
        for db in others:
            db.close()
