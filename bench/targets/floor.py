"""The floors: ``noop`` (the harness's own cost per operation) and ``dict``
(the fastest a Python in-memory store can be: a dict, and sorted key lists
for the range operations)."""

from itertools import islice

from sortedcontainers import SortedList

from .base import ConditionFailed, Session, Target


class NoopSession(Session):
    """Every operation returns at once: what remains is the timed loop."""

    def bind(self, op):
        return _noop_prepare, _noop


def _noop_prepare(*args):
    return None


def _noop(arg):
    return None


class NoopTarget(Target):
    name = "noop"
    description = "does nothing: the harness floor (timer + loop per operation)"
    kind = "floor"
    durability = "n/a"

    def setup(self, data):
        pass

    def load(self, data, records):
        for _ in records:
            pass

    def session(self):
        return NoopSession()


class DictSession(Session):
    def __init__(self, target):
        self.t = target
        self.scan_from = None

    # items -----------------------------------------------------------------
    def prepare_get(self, pk, sk):
        return (pk, sk)

    def op_get(self, key):
        return self.t.items.get(key)

    def prepare_put(self, item):
        return item

    def op_put(self, item):
        key = (item["pk"], item["sk"])
        t = self.t
        old = t.items.get(key)
        if old is None:
            t.item_keys.add(key)
        if old is None or old["grp"] != item["grp"] or old["ts"] != item["ts"]:
            if old is not None:
                t.groups[old["grp"]].discard((old["ts"], key))
            t.groups.setdefault(item["grp"], SortedList()).add((item["ts"], key))
        t.items[key] = dict(item)

    def prepare_update_conditional(self, pk, sk):
        return (pk, sk)

    def op_update_conditional(self, key):
        item = self.t.items.get(key)
        if item is None or not item["cnt"] < 10**12:
            raise ConditionFailed(key)
        item["cnt"] += 1

    def prepare_query(self, pk, sk, limit):
        return (pk, sk), (pk, "\uffff"), limit

    def op_query(self, arg):
        lo, hi, limit = arg
        items = self.t.items
        return [items[k] for k in islice(self.t.item_keys.irange(lo, hi, inclusive=(True, False)), limit)]

    def prepare_scan_page(self, limit):
        return limit

    def op_scan_page(self, limit):
        keys = self.t.item_keys
        if self.scan_from is None:
            it = keys.islice(0, limit)
        else:
            it = keys.irange(self.scan_from, inclusive=(False, False))
        page = []
        items = self.t.items
        for k in it:
            page.append(items[k])
            if len(page) == limit:
                break
        if len(page) < limit:
            self.scan_from = None
        else:
            self.scan_from = (page[-1]["pk"], page[-1]["sk"])
        return page

    def prepare_batch_write(self, items):
        return items

    def op_batch_write(self, items):
        for item in items:
            self.op_put(item)

    def prepare_transact(self, a, b):
        return a, b

    def op_transact(self, keys):
        items = self.t.items
        a, b = items.get(keys[0]), items.get(keys[1])
        if a is None or b is None:
            raise ConditionFailed(keys)
        a["cnt"] -= 1
        b["cnt"] += 1

    def prepare_gsi_query(self, grp, limit):
        return grp, limit

    def op_gsi_query(self, arg):
        grp, limit = arg
        entries = self.t.groups.get(grp)
        if not entries:
            return []
        items = self.t.items
        return [items[k] for _, k in entries.islice(0, limit)]

    # usertable -------------------------------------------------------------
    def prepare_read(self, key):
        return key

    def op_read(self, key):
        return self.t.users.get(key)

    def prepare_update(self, key, field, value):
        return key, field, value

    def op_update(self, arg):
        key, field, value = arg
        self.t.users[key][field] = value

    def prepare_insert(self, key, record):
        return key, record

    def op_insert(self, arg):
        key, record = arg
        if key not in self.t.users:
            self.t.user_keys.add(key)
        self.t.users[key] = dict(record)

    def prepare_scan(self, key, length):
        return key, length

    def op_scan(self, arg):
        key, length = arg
        users = self.t.users
        out = []
        for k in self.t.user_keys.irange(key):
            out.append(users[k])
            if len(out) == length:
                break
        return out

    prepare_rmw = prepare_update

    def op_rmw(self, arg):
        key, field, value = arg
        item = dict(self.t.users[key])
        item[field] = value
        self.t.users[key] = item


class DictTarget(Target):
    name = "dict"
    description = "Python dict + sortedcontainers key lists: the in-memory floor"
    kind = "floor"
    durability = "none (process memory)"

    def __init__(self, workdir, options=None):
        super().__init__(workdir, options)
        self.items, self.item_keys, self.groups = {}, SortedList(), {}
        self.users, self.user_keys = {}, SortedList()

    def setup(self, data):
        pass

    def load(self, data, records):
        if data.name == "items":
            keys = []
            groups = {}
            for r in records:
                key = (r["pk"], r["sk"])
                self.items[key] = r
                keys.append(key)
                groups.setdefault(r["grp"], []).append((r["ts"], key))
            self.item_keys.update(keys)
            for g, entries in groups.items():
                self.groups.setdefault(g, SortedList()).update(entries)
        else:
            keys = []
            for r in records:
                self.users[r["ycsb_key"]] = r
                keys.append(r["ycsb_key"])
            self.user_keys.update(keys)

    def session(self):
        return DictSession(self)
