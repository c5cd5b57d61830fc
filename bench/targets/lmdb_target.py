"""LMDB (the ``lmdb`` package), as a Python user would build a table on it:
one named database per table with ``pk\\0sk`` keys and msgpack values, and
a second one as the GSI (``grp\\0ts\\0pk\\0sk`` -> b""), kept in step inside
each write transaction.  ``sync=False``: commits reach the OS but are not
fsynced (survives a process crash, like sqlite NORMAL / kvstore batch).
"""

import os

import msgpack

from .base import ConditionFailed, Session, Target

try:
    import lmdb
except ImportError:  # pragma: no cover - lmdb is an optional extra
    lmdb = None

_SEP = b"\x00"
_packb = msgpack.packb
_unpackb = msgpack.unpackb


def _item_key(pk, sk):
    return pk.encode() + _SEP + sk.encode()


def _index_key(item):
    return _SEP.join((item["grp"].encode(), item["ts"].encode(), item["pk"].encode(), item["sk"].encode()))


class LmdbSession(Session):
    def __init__(self, target):
        self.env = target.env
        self.items, self.index, self.users = target.items, target.index, target.users
        self.scan_from = b""

    def _write_item(self, txn, item):
        key = _item_key(item["pk"], item["sk"])
        old = txn.get(key, db=self.items)
        if old is not None:
            old_index = _index_key(_unpackb(old))
            new_index = _index_key(item)
            if old_index != new_index:
                txn.delete(old_index, db=self.index)
                txn.put(new_index, b"", db=self.index)
        else:
            txn.put(_index_key(item), b"", db=self.index)
        txn.put(key, _packb(item), db=self.items)

    # items -----------------------------------------------------------------
    def prepare_get(self, pk, sk):
        return _item_key(pk, sk)

    def op_get(self, key):
        with self.env.begin(db=self.items) as txn:
            v = txn.get(key)
        return None if v is None else _unpackb(v)

    def op_put(self, item):
        with self.env.begin(write=True) as txn:
            self._write_item(txn, item)

    def prepare_update_conditional(self, pk, sk):
        return _item_key(pk, sk)

    def op_update_conditional(self, key):
        with self.env.begin(write=True, db=self.items) as txn:
            v = txn.get(key)
            item = None if v is None else _unpackb(v)
            if item is None or not item["cnt"] < 10**12:
                raise ConditionFailed(key)
            item["cnt"] += 1
            txn.put(key, _packb(item))

    def prepare_query(self, pk, sk, limit):
        return _item_key(pk, sk), pk.encode() + _SEP, limit

    def op_query(self, arg):
        start, prefix, limit = arg
        out = []
        with self.env.begin(db=self.items) as txn:
            cur = txn.cursor()
            if cur.set_range(start):
                for k, v in cur:
                    if not k.startswith(prefix) or len(out) == limit:
                        break
                    out.append(_unpackb(v))
        return out

    def op_scan_page(self, limit):
        out = []
        with self.env.begin(db=self.items) as txn:
            cur = txn.cursor()
            found = cur.set_range(self.scan_from)
            if found and cur.key() == self.scan_from:
                found = cur.next()
            if found:
                for k, v in cur:
                    out.append(_unpackb(v))
                    if len(out) == limit:
                        self.scan_from = bytes(k)
                        break
        if len(out) < limit:
            self.scan_from = b""
        return out

    def op_batch_write(self, items):
        with self.env.begin(write=True) as txn:
            for item in items:
                self._write_item(txn, item)

    def prepare_transact(self, a, b):
        return _item_key(*a), _item_key(*b)

    def op_transact(self, keys):
        with self.env.begin(write=True, db=self.items) as txn:
            va, vb = txn.get(keys[0]), txn.get(keys[1])
            if va is None or vb is None:
                raise ConditionFailed(keys)  # leaving the block aborts
            a, b = _unpackb(va), _unpackb(vb)
            a["cnt"] -= 1
            b["cnt"] += 1
            txn.put(keys[0], _packb(a))
            txn.put(keys[1], _packb(b))

    def prepare_gsi_query(self, grp, limit):
        return grp.encode() + _SEP, limit

    def op_gsi_query(self, arg):
        prefix, limit = arg
        out = []
        with self.env.begin() as txn:
            cur = txn.cursor(db=self.index)
            if cur.set_range(prefix):
                for k in cur.iternext(values=False):
                    if not k.startswith(prefix) or len(out) == limit:
                        break
                    _, _, pk, sk = bytes(k).split(_SEP)
                    out.append(_unpackb(txn.get(pk + _SEP + sk, db=self.items)))
        return out

    # usertable -------------------------------------------------------------
    def prepare_read(self, key):
        return key.encode()

    def op_read(self, key):
        with self.env.begin(db=self.users) as txn:
            v = txn.get(key)
        return None if v is None else _unpackb(v)

    def prepare_update(self, key, field, value):
        return key.encode(), field, value

    def op_update(self, arg):
        key, field, value = arg
        with self.env.begin(write=True, db=self.users) as txn:
            item = _unpackb(txn.get(key))
            item[field] = value
            txn.put(key, _packb(item))

    def prepare_insert(self, key, record):
        return key.encode(), _packb(record)

    def op_insert(self, arg):
        with self.env.begin(write=True, db=self.users) as txn:
            txn.put(arg[0], arg[1])

    def prepare_scan(self, key, length):
        return key.encode(), length

    def op_scan(self, arg):
        start, length = arg
        out = []
        with self.env.begin(db=self.users) as txn:
            cur = txn.cursor()
            if cur.set_range(start):
                for _, v in cur:
                    out.append(_unpackb(v))
                    if len(out) == length:
                        break
        return out

    prepare_rmw = prepare_update

    def op_rmw(self, arg):
        self.op_read(arg[0])
        self.op_update(arg)


class LmdbTarget(Target):
    name = "lmdb"
    kind = "baseline"
    durability = "process crash (sync=False: no fsync per commit)"

    def __init__(self, workdir, options=None, sync=False):
        super().__init__(workdir, options)
        if lmdb is None:
            raise RuntimeError("the lmdb package is not installed (pip install lmdb)")
        self.sync = sync
        if sync:
            self.name = "lmdb-sync"
            self.durability = "power loss (fsync per commit)"
        self.description = "LMDB %s via py-lmdb, msgpack values, sync=%s" % (".".join(map(str, lmdb.version())), sync)
        self.path = os.path.join(workdir, "bench.lmdb")
        self.env = None

    def _open(self):
        os.makedirs(self.path, exist_ok=True)
        self.env = lmdb.open(self.path, map_size=1 << 38, max_dbs=4, sync=self.sync, metasync=self.sync,
                             readahead=False, max_readers=256)
        self.items = self.env.open_db(b"items")
        self.index = self.env.open_db(b"items_by_group")
        self.users = self.env.open_db(b"usertable")

    def setup(self, data):
        if self.env is None:
            self._open()

    def load(self, data, records):
        if data.name == "items":
            batch = []
            for r in records:
                batch.append(r)
                if len(batch) == 10000:
                    self._load_items(batch)
                    batch = []
            if batch:
                self._load_items(batch)
        else:
            with self.env.begin(write=True, db=self.users) as txn:
                txn.cursor().putmulti((r["ycsb_key"].encode(), _packb(r)) for r in records)

    def _load_items(self, batch):
        with self.env.begin(write=True) as txn:
            txn.cursor(db=self.items).putmulti((_item_key(r["pk"], r["sk"]), _packb(r)) for r in batch)
            txn.cursor(db=self.index).putmulti((_index_key(r), b"") for r in batch)

    def session(self):
        return LmdbSession(self)

    def close(self, clean=True):
        if self.env is not None:
            if clean:
                self.env.close()
            self.env = None

    def reopen(self):
        self._open()
        with self.env.begin(db=self.items) as txn:
            txn.stat(self.items)

    def info(self):
        return {"lmdb": ".".join(map(str, lmdb.version())), "py-lmdb": lmdb.__version__, "sync": self.sync}
