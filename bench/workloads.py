"""Named workloads with fixed parameters.

A workload names its data set, its operation mix and how it chooses keys;
``Workload.ops(...)`` turns that into a reproducible stream of abstract
operations ``(op, args)`` that every target executes its own way (a
GetItem, a primary-key SELECT, an LMDB get...).  The operation vocabulary:

items data set
    get (pk, sk) | put (item) | update_conditional (pk, sk)
    | query (pk, sk_from, limit) | scan_page (limit) | batch_write ([items])
    | transact ((pk, sk), (pk, sk)) | gsi_query (grp, limit)
usertable data set (YCSB)
    read (key) | update (key, field, value) | insert (key, record)
    | scan (start_key, length) | rmw (key, field, value)
"""

import random
from dataclasses import dataclass, field

from .distributions import Latest, ScrambledZipfian, Uniform, ZIPFIAN_CONSTANT


@dataclass
class Workload:
    name: str
    dataset: str
    description: str
    mix: tuple  # ((op, proportion), ...)
    distribution: str = "uniform"
    params: dict = field(default_factory=dict)

    def parameters(self, records):
        """Everything that defines the workload, for the report."""
        out = {
            "data set": self.dataset,
            "records": records,
            "mix": " / ".join("%s %g%%" % (op, p * 100) for op, p in self.mix),
            "key choice": self.distribution + (" (theta %.2f)" % ZIPFIAN_CONSTANT if self.distribution != "uniform" else ""),
        }
        out.update(self.params)
        return out

    def ops(self, data, seed, round_no=0, worker=0, workers=1, insert_next=None):
        """An operation stream; ``insert_next`` is the first free record
        number (inserts by ``workers`` workers interleave from there)."""
        rng = random.Random("%s:%s:%s:%s" % (seed, self.name, round_no, worker))
        if self.dataset == "items":
            return ItemOps(self, data, rng)
        return YcsbOps(self, data, rng, worker, workers, data.count if insert_next is None else insert_next)


class ItemOps:
    """Operation stream over the ``items`` data set; keys chosen uniformly."""

    def __init__(self, workload, data, rng):
        self.workload = workload
        self.data = data
        self.rng = rng
        self.op = workload.mix[0][0]
        self.inserts = 0

    def _n(self):
        return self.rng.randrange(self.data.count)

    def _payload(self):
        return self.data.pool[self.rng.randrange(len(self.data.pool))]

    def next_ops(self, count):
        data, rng, op = self.data, self.rng, self.op
        out = []
        for _ in range(count):
            if op == "get":
                out.append(("get", data.key(self._n())))
            elif op == "put":
                out.append(("put", (data.record(self._n(), self._payload()),)))
            elif op == "update_conditional":
                out.append(("update_conditional", data.key(self._n())))
            elif op == "query":
                c = rng.randrange(data.collections)
                size = min(data.collection, data.count - c * data.collection)
                start = rng.randrange(max(1, size - 10 + 1))
                out.append(("query", (data.key(c * data.collection)[0], "s%04d" % start, 10)))
            elif op == "scan_page":
                out.append(("scan_page", (100,)))
            elif op == "batch_write":
                # BatchWriteItem refuses two requests for one key.
                chosen = set()
                while len(chosen) < min(25, data.count):
                    chosen.add(self._n())
                out.append(("batch_write", ([data.record(n, self._payload()) for n in sorted(chosen)],)))
            elif op == "transact":
                a = self._n()
                b = self._n()
                while b == a and data.count > 1:
                    b = self._n()
                out.append(("transact", (data.key(a), data.key(b))))
            elif op == "gsi_query":
                out.append(("gsi_query", (data.group(rng.randrange(data.groups)), 10)))
            else:
                raise ValueError("unknown items operation %r" % op)
        return out


class YcsbOps:
    """Operation stream of a YCSB core workload over ``usertable``."""

    def __init__(self, workload, data, rng, worker, workers, insert_next):
        self.workload = workload
        self.data = data
        self.rng = rng
        self.worker = worker
        self.workers = workers
        self.insert_base = insert_next
        self.inserts = 0
        self.cumulative = []
        total = 0.0
        for op, p in workload.mix:
            total += p
            self.cumulative.append((total, op))
        last = data.count - 1
        if workload.distribution == "uniform":
            self.chooser = Uniform(0, last)
        elif workload.distribution == "zipfian":
            self.chooser = ScrambledZipfian(0, last)
        elif workload.distribution == "latest":
            self.chooser = Latest(self.newest)
        else:
            raise ValueError("unknown key choice %r" % workload.distribution)
        self.scan_max = workload.params.get("max scan length", 100)

    def newest(self):
        """Newest record number known to exist (this worker's view)."""
        return self.insert_base + self.inserts * self.workers - 1

    def _pick(self):
        r = self.rng.random()
        for bound, op in self.cumulative:
            if r < bound:
                return op
        return self.cumulative[-1][1]

    def next_ops(self, count):
        rng, data, pool = self.rng, self.data, self.data.pool
        out = []
        for _ in range(count):
            op = self._pick()
            if op == "insert":
                keynum = self.insert_base + self.inserts * self.workers + self.worker
                self.inserts += 1
                out.append(("insert", (data.key(keynum), data.record(keynum))))
                continue
            key = data.key(self.chooser.next(rng))
            if op == "read":
                out.append(("read", (key,)))
            elif op == "scan":
                out.append(("scan", (key, rng.randint(1, self.scan_max))))
            else:  # update, rmw: YCSB writes one field (writeallfields=false)
                out.append((op, (key, data.fields[rng.randrange(data.field_count)], pool[rng.randrange(len(pool))])))
        return out


def _ycsb(letter, mix, distribution, text, **params):
    params.setdefault("field count", 10)
    params.setdefault("field length", 100)
    return Workload("ycsb_%s_%s" % (letter, distribution), "usertable", text, mix, distribution, params)


def _all():
    w = [
        Workload("get", "items", "GetItem of one record by full key", (("get", 1.0),)),
        Workload("put", "items", "PutItem replacing one record (GSI maintained)", (("put", 1.0),)),
        Workload(
            "update_conditional", "items", "UpdateItem SET cnt = cnt + 1 IF attribute_exists(pk) AND cnt < :max",
            (("update_conditional", 1.0),),
        ),
        Workload("query_10", "items", "Query pk = :p AND sk >= :s, Limit 10 (10 records returned)", (("query", 1.0),),
                 params={"limit": 10}),
        Workload("scan_page", "items", "Scan Limit 100, continuing from the previous page's LastEvaluatedKey",
                 (("scan_page", 1.0),), params={"page size": 100}),
        Workload("batch_write_25", "items", "BatchWriteItem of 25 PutRequests (distinct keys); latency per batch",
                 (("batch_write", 1.0),), params={"batch size": 25}),
        Workload("transact_2", "items", "TransactWriteItems: two conditional Updates (cnt - 1, cnt + 1)",
                 (("transact", 1.0),), params={"items per transaction": 2}),
        Workload("gsi_query", "items", "Query on GSI by_group, grp = :g, Limit 10", (("gsi_query", 1.0),),
                 params={"limit": 10}),
    ]
    for dist in ("uniform", "zipfian"):
        w.append(_ycsb("a", (("read", 0.5), ("update", 0.5)), dist, "YCSB A, update heavy: 50% read, 50% update"))
        w.append(_ycsb("b", (("read", 0.95), ("update", 0.05)), dist, "YCSB B, read mostly: 95% read, 5% update"))
        w.append(_ycsb("c", (("read", 1.0),), dist, "YCSB C, read only"))
        w.append(_ycsb("e", (("scan", 0.95), ("insert", 0.05)), dist,
                       "YCSB E, short ranges: 95% scan (1..100 records), 5% insert", **{"max scan length": 100}))
        w.append(_ycsb("f", (("read", 0.5), ("rmw", 0.5)), dist,
                       "YCSB F, read-modify-write: 50% read, 50% read-then-update"))
    w.append(_ycsb("d", (("read", 0.95), ("insert", 0.05)), "latest", "YCSB D, read latest: 95% read, 5% insert"))
    order = ["get", "put", "update_conditional", "query_10", "scan_page", "batch_write_25", "transact_2", "gsi_query"]
    order += ["ycsb_%s_%s" % (x, d) for x in "abcdef" for d in ("uniform", "zipfian", "latest")]
    by_name = {x.name: x for x in w}
    return {name: by_name[name] for name in order if name in by_name}


WORKLOADS = _all()

#: Operations per data set, so a target can say what it supports.
OPERATIONS = {
    "items": ("get", "put", "update_conditional", "query", "scan_page", "batch_write", "transact", "gsi_query"),
    "usertable": ("read", "update", "insert", "scan", "rmw"),
}


def select(patterns):
    """Workloads matching comma-separated names or shell patterns
    (``ycsb_*``, ``*_zipfian``); ``all`` or empty selects every one."""
    import fnmatch

    if not patterns or patterns == ["all"]:
        return list(WORKLOADS.values())
    out = []
    for pattern in patterns:
        matched = [w for name, w in WORKLOADS.items() if fnmatch.fnmatchcase(name, pattern)]
        if not matched:
            raise SystemExit("unknown workload %r (known: %s)" % (pattern, ", ".join(WORKLOADS)))
        out.extend(w for w in matched if w not in out)
    return out
