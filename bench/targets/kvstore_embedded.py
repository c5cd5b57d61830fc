"""kvstore embedded: ``kvstore.open(path, durability=...)`` in the benchmark
process, driven through the same Table-resource calls as boto3."""

import os

from .base import NotSupported, Target
from .dynamo import TableSession, create_tables, load_with_resource

_DURABILITY = {
    "sync": "power loss (fsync before acknowledging)",
    "batch": "process crash; power loss within the batch interval",
    "none": "none (in memory)",
}


class KvstoreTarget(Target):
    kind = "kvstore"

    def __init__(self, workdir, options=None, durability="batch", memory=False, pure=False, name="kvstore"):
        super().__init__(workdir, options)
        import kvstore

        self.kvstore = kvstore
        if not hasattr(kvstore, "open"):
            raise RuntimeError("kvstore.open is not available yet")
        implementation = getattr(kvstore, "implementation", "?")
        if pure and implementation != "python":
            raise RuntimeError("KVSTORE_PURE_PYTHON=1 did not select the pure-Python core (got %r)" % implementation)
        if not pure and implementation == "python" and not os.environ.get("KVSTORE_PURE_PYTHON"):
            # Still run, but the report must not pass this off as the compiled core.
            name += "(python!)"
        self.name = name
        self.memory = memory
        self.durability_policy = "none" if memory else durability
        self.durability = _DURABILITY[self.durability_policy]
        self.path = ":memory:" if memory else os.path.join(workdir, "kvstore-db")
        where = "in memory" if memory else "on disk"
        self.description = "kvstore %s core, embedded, %s, durability=%s" % (
            implementation, where, self.durability_policy)
        self.tables = {"items": "bench_items", "usertable": "usertable"}
        # A recovery measurement opens the directory later, inside reopen().
        self.db = None if self.options.get("defer_open") else self._open()

    def _open(self):
        if self.memory:
            return self.kvstore.open(":memory:")
        return self.kvstore.open(self.path, durability=self.durability_policy)

    def setup(self, data):
        create_tables(self.db, data, self.tables[data.name])

    def load(self, data, records):
        if self.durability_policy != "sync":
            load_with_resource(self.db, self.tables[data.name], records)
            return
        # An fsync per 25-record batch would make loading take minutes;
        # load with "batch" durability, then reopen as configured.
        self.db.close()
        self.db = self.kvstore.open(self.path, durability="batch")
        try:
            load_with_resource(self.db, self.tables[data.name], records)
        finally:
            self.db.close()
            self.db = self._open()

    def session(self):
        return TableSession(self.db, self.tables, native_transactions=True)

    def close(self, clean=True):
        if self.db is not None and clean:
            self.db.close()
        self.db = None

    def reopen(self):
        if self.memory:
            raise NotSupported("an in-memory database has nothing to reopen")
        self.db = self._open()
        self.db.Table(self.tables["items"]).get_item(Key={"pk": "p00000000", "sk": "s0000"})

    def info(self):
        kv = self.kvstore
        return {
            "kvstore": getattr(kv, "__version__", "?"),
            "implementation": getattr(kv, "implementation", "?"),
            "durability": self.durability_policy,
            "path": "memory" if self.memory else "temp dir",
        }
