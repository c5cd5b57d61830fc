"""Metrics: the figures CloudWatch shows for a DynamoDB table, kept by the engine.

Two kinds of figures (docs/operations.md, "Metrics", lists every one):

* **request figures**, recorded as requests run: per operation and table,
  requests, SuccessfulRequestLatency (a fixed-bucket histogram), errors by
  code (UserErrors, SystemErrors, ThrottledRequests,
  ConditionalCheckFailedRequests are derived from the codes),
  ReturnedItemCount and ScannedItemCount; ConsumedRead/WriteCapacityUnits per
  table and index.  They live in memory and start from zero when the database
  opens, as Prometheus counters do after a restart.
* **state figures**, read from the engine when a snapshot is taken: items and
  bytes per table and index, the log (fsyncs, commit group sizes, bytes,
  checkpoints), streams (records, consumer lag), TTL deletions, throttle
  events of ``kvstore.capacity``.

Where requests are recorded: :func:`kvstore.operations.run_operation`, the one
path every face takes to an operation (the Python API through ``execute``,
the wire and the boto3 hook through ``RequestHandler``), calls
:meth:`Recorder.observe` when ``engine.metrics`` is set.  Requests the wire
refuses before any operation runs (bad JSON, signature, unknown target) are
counted by the handler through :meth:`Recorder.reject`.  A request whose wait for
durability was deferred (the server's event loop under ``sync``:
``kvstore.engine.database.defer_durable_waits``) has its success figures kept
with that wait and counted when the server sends its answer, once durable
(:meth:`Recorder.held_answered`), or its error counted instead if the log
fails first (:meth:`Recorder.held_failed`): the figures say what was answered.

Consumed capacity is not computed a second time: the recorder asks the
operation for it (``ReturnConsumedCapacity`` TOTAL for reads, INDEXES for
writes, which the operation computes with DynamoDB's formulas anyway when a
client asks), takes the figures from the response and removes them when the
client did not ask.

Cost: each thread records into its own dictionaries (no lock, no lost
increment); a snapshot sums them.  A request costs a few dictionary lookups,
integer and float additions, one ``bisect`` into the histogram's bounds and
no allocation on the common path (bench/results/metrics.md); GetItem's read
units are counted from the request (its first unit) and, for an item that may
be over 4 KB, by ``get_item.run`` (the rest).
"""

import bisect
import math
import os
import threading

from kvstore.clock import stopwatch
from kvstore.engine.database import _deferred
from kvstore.errors import ERRORS_BY_CODE, DynamoDBError
from kvstore.partiql.cache import HOT as _HOT

__all__ = ["Recorder", "Snapshot", "Family", "LATENCY_BUCKETS", "snapshot", "server_snapshot", "parse_prometheus"]

#: upper bounds (seconds) of SuccessfulRequestLatency's buckets (+Inf follows)
LATENCY_BUCKETS = (0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                   0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
#: upper bounds of the log's commit group size histogram (records per fsync)
GROUP_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)          # = kvstore.engine.durability.GROUP_BUCKETS

#: codes CloudWatch counts as ThrottledRequests rather than UserErrors
THROTTLE_CODES = frozenset(("ProvisionedThroughputExceededException", "ThrottlingException",
                            "RequestLimitExceeded"))
CONDITIONAL_CODE = "ConditionalCheckFailedException"

#: ReturnConsumedCapacity the recorder asks of each action that reports capacity: TOTAL where the
#: whole charge belongs to one place (the table, or the index a Query/Scan names), INDEXES where
#: a write charges the table and its indexes separately.  GetItem, the hottest, hands its units
#: to ``Recorder.consumed_read`` itself (operations/get_item.py says why).
_CAPACITY_MODES = {
    "Query": "TOTAL", "Scan": "TOTAL", "BatchGetItem": "TOTAL",
    "TransactGetItems": "TOTAL",
    "PutItem": "INDEXES", "UpdateItem": "INDEXES", "DeleteItem": "INDEXES", "BatchWriteItem": "INDEXES",
    "TransactWriteItems": "INDEXES", "ExecuteStatement": "INDEXES", "BatchExecuteStatement": "INDEXES",
    "ExecuteTransaction": "INDEXES",
}
#: distinct table labels one thread keeps before it files further names under OTHER_TABLE
#: (a client sending random table names must not grow the metrics without bound)
MAX_TABLE_LABELS = 1000
OTHER_TABLE = "_other"
#: a table label is a name a table could have (or its ARN): at most this long, of these characters;
#: any other TableName (a malformed request's, up to the 16 MB body) is filed under OTHER_TABLE, so
#: the labels a thread keeps hold at most MAX_TABLE_LABELS * MAX_LABEL_CHARS characters (the soak's
#: RSS: 400 KB names of malformed requests were kept as labels, bench/results/rss.md)
MAX_LABEL_CHARS = 1024
#: a PartiQL statement longer than this (kvstore.operations.execute_statement.MAX_STATEMENT, DynamoDB's
#: limit) is not parsed for its label: the operation rejects it, and parsing the soak's malformed
#: statements of up to 400 KB took ~20 MB for a moment (tokens) before that (bench/results/rss.md)
MAX_STATEMENT_CHARS = 8192
_LABEL_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-:/")
_N_BUCKETS = len(LATENCY_BUCKETS) + 1
_bisect = bisect.bisect_left


class _Stat:
    """One thread's figures of one (operation, table)."""

    __slots__ = ("requests", "buckets", "seconds", "returned", "scanned", "errors", "read_units")

    def __init__(self):
        self.requests = 0
        self.read_units = 0.0                 # GetItem: each successful call's first unit (see observe)
        self.buckets = [0] * _N_BUCKETS       # successful requests by latency bucket
        self.seconds = 0.0                    # sum of successful requests' latency
        self.returned = 0
        self.scanned = 0
        self.errors = {}                      # error code -> count


def labelable(table):
    """Whether ``table`` (a request's TableName) may be kept as a label: a name a table or its ARN
    could have, of at most MAX_LABEL_CHARS characters (asked once per new name, by either recorder)."""
    return len(table) <= MAX_LABEL_CHARS and _LABEL_CHARS.issuperset(table)


class _Shard:
    """One thread's figures: ``ops[action][table]`` -> _Stat, ``units[table][index]`` -> [read, write]."""

    __slots__ = ("ops", "units", "tables")

    def __init__(self):
        self.ops = {}
        self.units = {}
        self.tables = set()



def _mark_metered(error):
    """Tell the faces that ``error`` (a bug inside an operation, answered InternalServerError) is
    counted already, on its table: ``RequestHandler.answer`` counts only what no recorder saw."""
    try:
        error._metered = True
    except (AttributeError, TypeError):   # an exception type without a __dict__: counted twice, not lost
        pass

class Recorder:
    """The request figures of one engine (``engine.metrics``; None when metrics are off)."""

    def __init__(self):
        self._local = threading.local()
        self._shards = []
        self._lock = threading.Lock()          # taken only when a thread records for the first time

    def _shard(self):
        shard = _Shard()
        self._local.shard = shard
        with self._lock:
            self._shards.append(shard)
        return shard

    def _stat(self, shard, action, table):
        by_table = shard.ops.get(action)
        if by_table is None:
            by_table = shard.ops[action] = {}
        stat = by_table.get(table)
        if stat is None:
            if table not in shard.tables and table != OTHER_TABLE:
                if len(shard.tables) >= MAX_TABLE_LABELS or not labelable(table):
                    return self._stat(shard, action, OTHER_TABLE)
                shard.tables.add(table)
            stat = by_table[table] = _Stat()
        return stat

    # -- recording (the hot path) ----------------------------------------------------------

    def observe(self, engine, operation, request):
        """Run ``operation`` on ``request`` and record it (see the module docstring)."""
        try:
            shard = self._local.shard
        except AttributeError:
            shard = self._shard()
        action = operation.action
        table = request.get("TableName")
        if table.__class__ is not str:
            table = _table_label(request)
        by_table = shard.ops.get(action)
        stat = by_table.get(table) if by_table is not None else None
        if stat is None:
            stat = self._stat(shard, action, table)
        stat.requests += 1
        mode = wants = _CAPACITY_MODES.get(action)
        asked = None
        if mode is not None and action == "ExecuteStatement" and len(request) <= 2 \
                and request.get("Statement") in _HOT:
            mode = wants = None          # its hot route reports its units itself (kvstore/partiql/hot.py)
        if mode is not None:
            asked = request.get("ReturnConsumedCapacity")
            if asked is None or asked == "NONE" or (asked == "TOTAL" and mode == "INDEXES"):
                request = request.copy()
                request["ReturnConsumedCapacity"] = mode
            else:
                mode = None              # the client's own INDEXES (or an invalid value the operation refuses)
        started = stopwatch()
        try:
            if engine.faults is not None:      # kvstore.faults: an injected error is a failed request
                engine.faults.before(engine, action, request)
            response = operation.run(engine, request)
        except DynamoDBError as e:
            errors = stat.errors
            errors[e.code] = errors.get(e.code, 0) + 1
            e._metered = True
            if wants is not None and e.code == CONDITIONAL_CODE:
                consumed = getattr(e, "_consumed", None)     # DynamoDB charges the write all the same
                if consumed is not None:                     # (operations/writing.py: condition_failed)
                    record_units(shard.units, consumed, request, False)
            raise
        except Exception as e:           # the faces answer InternalServerError
            errors = stat.errors
            errors["InternalServerError"] = errors.get("InternalServerError", 0) + 1
            _mark_metered(e)
            raise
        elapsed = stopwatch() - started
        units = shard.units
        waits = _deferred.waits
        if waits:       # answered once durable: its success is counted then, and only if it is one
            held, stat, units = stat, _Stat(), {}
            _owe(waits, self, (held, stat, units))
        stat.seconds += elapsed
        stat.buckets[_bisect(LATENCY_BUCKETS, elapsed)] += 1
        if action == "GetItem":
            # its first read unit, from the request alone; get_item.run reports the units past the
            # first of an item larger than 4 KB (the common small item costs no size computation)
            stat.read_units += 1.0 if request.get("ConsistentRead") else 0.5
            if "Item" in response:
                stat.returned += 1
        else:
            count = response.get("Count")
            if count is not None:                                      # Query, Scan
                stat.returned += count
                stat.scanned += response.get("ScannedCount", 0)
            else:
                counter = _RETURNED.get(action)
                if counter is not None:
                    stat.returned += counter(response)
        consumed = response.get("ConsumedCapacity") if wants is not None else None
        if consumed is not None:
            if mode is not None and asked != "TOTAL":
                del response["ConsumedCapacity"]
            if consumed.__class__ is dict:
                record_units(units, consumed, request, mode is not None and asked == "TOTAL")
            else:
                strip = mode is not None and asked == "TOTAL"
                for entry in consumed:
                    record_units(units, entry, request, strip)
        return response

    def _answered(self, action, table, elapsed, counted=True):
        """This thread's shard and the stat of ``action`` on ``table`` with one more request answered
        in ``elapsed`` seconds (its latency bucket counted unless not ``counted``): what the
        ``*_answered`` methods share."""
        try:
            shard = self._local.shard
        except AttributeError:
            shard = self._shard()
        by_table = shard.ops.get(action)
        stat = by_table.get(table) if by_table is not None else None
        if stat is None:
            stat = self._stat(shard, action, table)
        stat.requests += 1
        if counted:
            stat.seconds += elapsed
            stat.buckets[_bisect(LATENCY_BUCKETS, elapsed)] += 1
        return shard, stat

    def get_item_answered(self, table, elapsed, found):
        """Record what ``observe`` records of a GetItem of ``TableName`` and ``Key`` alone, for one the
        wire answered without it (``kvstore.server.get_item_path``): the request, its latency
        (``elapsed`` seconds), its first read unit and the item returned (``found``); the units past
        the first of a large item come through ``consumed_read`` as from ``get_item.run``."""
        stat = self._answered("GetItem", table, elapsed)[1]
        stat.read_units += 0.5
        if found:
            stat.returned += 1

    def put_item_answered(self, table, elapsed, units):
        """Record what ``observe`` records of a PutItem of ``TableName`` and ``Item`` alone on a table
        without indexes, for one the wire answered without it (``kvstore._pycore.put_item_answer``):
        the request, its latency (``elapsed`` seconds) and its write ``units`` (the table's share of
        the ConsumedCapacity INDEXES ``observe`` asks for, which ``record_units`` adds)."""
        waits = _deferred.waits
        if waits:       # answered once durable: as observe's (held_answered counts it then)
            _owe(waits, self, (self._answered("PutItem", table, 0.0, False)[1], elapsed, table, units))
            return
        shard = self._answered("PutItem", table, elapsed)[0]
        by_index = shard.units.get(table)
        if by_index is None:
            if len(shard.units) >= MAX_TABLE_LABELS:
                return
            by_index = shard.units[table] = {}
        _add(by_index, "", 1, float(units))

    def held_answered(self, figures):
        """A request whose answer was held until durable (``DeferredWaits.figures``) is answered with
        its success: count what ``observe`` (or ``put_item_answered``) kept aside for it."""
        if len(figures) == 4:       # put_item_answered's: (stat, elapsed, table, write units)
            held, elapsed, table, units = figures
            held.seconds += elapsed
            held.buckets[_bisect(LATENCY_BUCKETS, elapsed)] += 1
            units = {table: {"": [0.0, float(units)]}}
        else:                       # observe's: (stat, the success's own figures, its units)
            held, stat, units = figures
            held.seconds += stat.seconds
            for i, n in enumerate(stat.buckets):
                if n:
                    held.buckets[i] += n
            held.returned += stat.returned
            held.scanned += stat.scanned
            held.read_units += stat.read_units
        if not units:
            return
        try:
            shard = self._local.shard
        except AttributeError:
            shard = self._shard()
        mine = shard.units
        for table, by_index in units.items():
            into = mine.get(table)
            if into is None:
                if len(mine) >= MAX_TABLE_LABELS:
                    continue
                into = mine[table] = {}
            for index, (read, write) in by_index.items():
                if read:
                    _add(into, index, 0, read)
                if write:
                    _add(into, index, 1, write)

    def held_failed(self, figures, error):
        """Such a request is answered with ``error`` instead (its log failed before it was durable):
        count that error, as ``observe`` counts a write whose wait fails, and none of its success."""
        held = figures[0]
        held.errors[error.code] = held.errors.get(error.code, 0) + 1

    def put_item_failed(self, table, error):
        """Record what ``observe`` records of such a PutItem whose write failed after its commit (the
        log could not make it durable): the request and its error (marked as counted)."""
        try:
            shard = self._local.shard
        except AttributeError:
            shard = self._shard()
        stat = self._stat(shard, "PutItem", table)
        stat.requests += 1
        stat.errors[error.code] = stat.errors.get(error.code, 0) + 1
        error._metered = True

    def consumed_read(self, table, units):
        """Read units on the table itself: a large item's units past GetItem's first
        (operations/get_item.py), a hot PartiQL Query's (kvstore/partiql/hot.py)."""
        try:
            shard = self._local.shard
        except AttributeError:
            shard = self._shard()
        by_index = shard.units.get(table)
        if by_index is None:
            if len(shard.units) >= MAX_TABLE_LABELS:
                return
            by_index = shard.units[table] = {}
        pair = by_index.get("")
        if pair is None:
            pair = by_index[""] = [0.0, 0.0]
        pair[0] += units

    def consumed(self, entry, request):
        """Add one ConsumedCapacity entry (a hot PartiQL statement's fallback: execute_statement.py)."""
        try:
            shard = self._local.shard
        except AttributeError:
            shard = self._shard()
        record_units(shard.units, entry, request, False)

    def reject(self, action, table, error):
        """Count a request the wire refused before an operation ran (``error``: its DynamoDBError)."""
        if getattr(error, "_metered", False):
            return
        try:
            shard = self._local.shard
        except AttributeError:
            shard = self._shard()
        stat = self._stat(shard, action or "", table or "")
        stat.requests += 1
        stat.errors[error.code] = stat.errors.get(error.code, 0) + 1

    # -- reading ----------------------------------------------------------------------------

    def totals(self):
        """``(ops, units)`` summed over every thread: ``ops[(action, table)]`` -> dict of figures,
        ``units[(table, index)]`` -> [read units, write units]."""
        with self._lock:
            shards = list(self._shards)
        ops, units = {}, {}
        for shard in shards:
            for action, by_table in list(shard.ops.items()):
                for table, stat in list(by_table.items()):
                    out = ops.get((action, table))
                    if out is None:
                        out = ops[(action, table)] = {"requests": 0, "buckets": [0] * _N_BUCKETS,
                                                      "seconds": 0.0, "returned": 0, "scanned": 0, "errors": {}}
                    out["requests"] += stat.requests
                    for i, n in enumerate(list(stat.buckets)):
                        out["buckets"][i] += n
                    out["seconds"] += stat.seconds
                    out["returned"] += stat.returned
                    out["scanned"] += stat.scanned
                    for code, n in list(stat.errors.items()):
                        out["errors"][code] = out["errors"].get(code, 0) + n
                    if stat.read_units:
                        units.setdefault((table, ""), [0.0, 0.0])[0] += stat.read_units
            for table, by_index in list(shard.units.items()):
                for index, (read, write) in list(by_index.items()):
                    pair = units.setdefault((table, index), [0.0, 0.0])
                    pair[0] += read
                    pair[1] += write
        return ops, units


def record_units(units, entry, request, strip):
    """Add one ConsumedCapacity entry to ``units`` (table -> index -> [read, write]).

    ``strip``: the client asked TOTAL and the recorder asked INDEXES for it:
    the entry loses the per-index members once they are counted.
    """
    name = entry.get("TableName")
    if name.__class__ is not str:
        return
    by_index = units.get(name)
    if by_index is None:
        if len(units) >= MAX_TABLE_LABELS:
            return
        by_index = units[name] = {}
    kind = 0 if "ReadCapacityUnits" in entry else 1
    if "Table" in entry:                                 # INDEXES: the table's and each index's share
        _add(by_index, "", kind, entry["Table"]["CapacityUnits"])
        for member in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
            indexes = entry.get(member)
            if indexes:
                for index, figures in indexes.items():
                    _add(by_index, index, kind, figures["CapacityUnits"])
        if strip:
            entry.pop("Table", None)
            entry.pop("GlobalSecondaryIndexes", None)
            entry.pop("LocalSecondaryIndexes", None)
    else:                                                # TOTAL: the index a Query/Scan read, or the table
        index = request.get("IndexName")
        _add(by_index, index if index.__class__ is str else "", kind, entry["CapacityUnits"])


def _owe(waits, recorder, figures):
    """Keep a held request's figures with its deferred waits (``kvstore.engine.database.DeferredWaits``)
    for the server to count once it knows the answer (``held_answered`` / ``held_failed``)."""
    owed = waits.figures
    if owed is None:
        waits.figures = [(recorder, figures)]
    else:
        owed.append((recorder, figures))


def new_recorder():
    """The recorder for a database opened with metrics: the compiled twin (``kvstore._cmetrics``)
    with the compiled core, this module's :class:`Recorder` under ``KVSTORE_PURE_PYTHON=1``."""
    from kvstore import _core
    if _core.implementation == "cython":
        try:
            from kvstore._cmetrics import Recorder as Compiled
        except ImportError:
            pass
        else:
            return Compiled(LATENCY_BUCKETS, _CAPACITY_MODES, _RETURNED, MAX_TABLE_LABELS, OTHER_TABLE, _table_label,
                            _HOT, labelable, _deferred, _owe)
    return Recorder()


def _add(by_index, index, kind, value):
    pair = by_index.get(index)
    if pair is None:
        pair = by_index[index] = [0.0, 0.0]
    pair[kind] += value


def _table_label(request):
    """The table of a request without TableName: a PartiQL statement's table (CloudWatch labels
    ExecuteStatement with it), the one table a batch names, else ""."""
    text = request.get("Statement")
    if text.__class__ is str:
        if len(text) > MAX_STATEMENT_CHARS:                  # the operation rejects it without parsing
            return ""
        from kvstore.partiql.cache import statement           # parsed once per text, as the operation does
        try:
            node = statement(text)
        except Exception:                # the operation answers the error; its label stays ""
            return ""
        node = getattr(node, "select", node)                 # EXISTS(SELECT ...)
        table = getattr(node, "table", None)
        return table if table.__class__ is str else ""
    items = request.get("RequestItems")
    if items.__class__ is dict and len(items) == 1:
        (name,) = items
        if name.__class__ is str:
            return name
    return ""


def _batch_returned(response):
    return sum(len(items) for items in (response.get("Responses") or {}).values())


def _transact_returned(response):
    return sum(1 for r in response.get("Responses") or () if r.get("Item") is not None)


def _statement_returned(response):
    return len(response.get("Items") or ())


def _batch_statement_returned(response):
    return sum(1 for r in response.get("Responses") or () if r.get("Item") is not None)


_RETURNED = {"BatchGetItem": _batch_returned, "TransactGetItems": _transact_returned,
             "ExecuteStatement": _statement_returned, "ExecuteTransaction": _transact_returned,
             "BatchExecuteStatement": _batch_statement_returned}


# -- snapshots ------------------------------------------------------------------------------

class Family:
    """One metric: ``name`` (Prometheus), ``kind`` (counter, gauge, histogram), ``help``, ``samples``.

    ``samples`` are ``(sample name, labels, value)``: the family's name, or for a
    histogram ``_bucket`` (with ``le``), ``_sum`` and ``_count``; labels a tuple
    of ``(name, value)`` pairs.
    """

    __slots__ = ("name", "kind", "help", "samples")

    def __init__(self, name, kind, help_text, samples=None):
        self.name = name
        self.kind = kind
        self.help = help_text
        self.samples = [] if samples is None else samples

    def add(self, value, suffix="", **labels):
        self.samples.append((self.name + suffix, tuple(labels.items()), value))

    def __repr__(self):
        return f"<Family {self.name} ({self.kind}, {len(self.samples)} samples)>"


class Snapshot:
    """The figures of one database at one moment: ``db.metrics()``, ``/metrics``, ``kvstore stats``.

    ``snapshot.value(name, **labels)`` sums the samples of ``name`` matching
    the labels given (so ``value("kvstore_requests_total", operation="GetItem")``
    counts GetItem over every table); ``to_prometheus()`` is the text
    exposition format; ``families`` every :class:`Family`.
    """

    def __init__(self, families):
        self.families = families
        self._by_name = {f.name: f for f in families}

    def family(self, name):
        return self._by_name.get(name)

    def samples(self, name, **labels):
        """``[(labels dict, value)]`` of the samples called ``name`` that carry ``labels``."""
        family = self._by_name.get(name)
        if family is None:
            for suffix in ("_bucket", "_sum", "_count"):
                if name.endswith(suffix):
                    family = self._by_name.get(name[:-len(suffix)])
                    break
        if family is None:
            return []
        want = {k: str(v) for k, v in labels.items()}
        out = []
        for sample, pairs, value in family.samples:
            if sample != name:
                continue
            d = dict(pairs)
            if all(d.get(k) == v for k, v in want.items()):
                out.append((d, value))
        return out

    def as_dict(self):
        """``{family name: {"type", "help", "samples": [(sample name, labels dict, value)]}}``."""
        return {f.name: {"type": f.kind, "help": f.help,
                         "samples": [(name, dict(pairs), value) for name, pairs, value in f.samples]}
                for f in self.families}

    def value(self, name, **labels):
        """The sum of the matching samples' values (0 when none match)."""
        return sum(v for _, v in self.samples(name, **labels))

    def to_prometheus(self):
        """The Prometheus text exposition format (version 0.0.4)."""
        lines = []
        for f in self.families:
            lines.append(f"# HELP {f.name} {_escape_help(f.help)}")
            lines.append(f"# TYPE {f.name} {f.kind}")
            for sample, pairs, value in f.samples:
                if pairs:
                    text = ",".join(f'{k}="{_escape_label(str(v))}"' for k, v in pairs)
                    lines.append(f"{sample}{{{text}}} {_number(value)}")
                else:
                    lines.append(f"{sample} {_number(value)}")
        return "\n".join(lines) + "\n"


def _escape_help(text):
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _escape_label(text):
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value):
    if isinstance(value, float):
        if math.isinf(value):
            return "+Inf" if value > 0 else "-Inf"
        if math.isnan(value):
            return "NaN"
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    return str(value)


def _le(bound):
    return "+Inf" if bound == math.inf else repr(float(bound))


def _histogram(family, buckets, bounds, total, labels):
    cumulative = 0
    for bound, n in zip((*bounds, math.inf), buckets):
        cumulative += n
        family.add(cumulative, "_bucket", **labels, le=_le(bound))
    family.add(total, "_sum", **labels)
    family.add(cumulative, "_count", **labels)


def snapshot(engine, clock=None):
    """The :class:`Snapshot` of ``engine`` now (request figures only when ``engine.metrics`` is set)."""
    families = []
    recorder = getattr(engine, "metrics", None)
    if recorder is not None:
        families += _request_families(*recorder.totals())
    families += _state_families(engine, clock or engine.clock)
    return Snapshot(families)


def server_snapshot(engines, labelled):
    """One :class:`Snapshot` of several databases (``kvstore serve`` with accounts: one per account
    and region).  ``labelled``: every sample gets ``account`` and ``region`` labels first, so two
    accounts' tables of the same name stay apart; without it ``engines`` is the one database."""
    if not labelled:
        (engine,) = engines
        return snapshot(engine)
    return labelled_snapshot((engine.account_id, engine.region, snapshot(engine)) for engine in engines)


def labelled_snapshot(parts):
    """Merge ``(account id, region, Snapshot)`` parts into one Snapshot whose samples carry
    ``account`` and ``region`` labels first (families in order of first appearance)."""
    merged, order = {}, []
    for account_id, region, snap in parts:
        extra = (("account", account_id), ("region", region))
        for family in snap.families:
            out = merged.get(family.name)
            if out is None:
                out = merged[family.name] = Family(family.name, family.kind, family.help)
                order.append(out)
            out.samples.extend((name, extra + pairs, value) for name, pairs, value in family.samples)
    return Snapshot(order)


def _request_families(ops, units):
    requests = Family("kvstore_requests_total", "counter",
                      "Requests that reached an operation, by operation and table (successful or not).")
    latency = Family("kvstore_successful_request_latency_seconds", "histogram",
                     "SuccessfulRequestLatency: time an operation took to run, successful requests only.")
    errors = Family("kvstore_errors_total", "counter", "Failed requests by operation, table and error code.")
    user = Family("kvstore_user_errors_total", "counter",
                  "UserErrors: HTTP 400 errors other than throttling and ConditionalCheckFailedException.")
    system = Family("kvstore_system_errors_total", "counter", "SystemErrors: HTTP 500 errors.")
    throttled = Family("kvstore_throttled_requests_total", "counter",
                       "ThrottledRequests: requests refused for exceeding capacity (batches: only when every "
                       "item was throttled).")
    conditional = Family("kvstore_conditional_check_failed_requests_total", "counter",
                         "ConditionalCheckFailedRequests: writes whose condition was false.")
    returned = Family("kvstore_returned_item_count_total", "counter",
                      "ReturnedItemCount: items returned by GetItem, Query, Scan, BatchGetItem, transactions "
                      "and PartiQL reads.")
    scanned = Family("kvstore_scanned_item_count_total", "counter",
                     "Items read by Query and Scan before the filter (ScannedCount).")
    for (action, table), fig in sorted(ops.items()):
        labels = {"operation": action, "table": table}
        requests.add(fig["requests"], **labels)
        ok = sum(fig["buckets"])
        if ok:
            _histogram(latency, fig["buckets"], LATENCY_BUCKETS, fig["seconds"], labels)
        by_kind = [0, 0, 0, 0]         # user, system, throttled, conditional
        for code, n in sorted(fig["errors"].items()):
            errors.add(n, **labels, code=code)
            cls = ERRORS_BY_CODE.get(code)
            status = cls.status if cls is not None else 500
            if code in THROTTLE_CODES:
                by_kind[2] += n
            elif code == CONDITIONAL_CODE:
                by_kind[3] += n
            elif status >= 500:
                by_kind[1] += n
            else:
                by_kind[0] += n
        for family, n in zip((user, system, throttled, conditional), by_kind):
            if n:
                family.add(n, **labels)
        if action in ("GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems", "ExecuteStatement",
                      "BatchExecuteStatement", "ExecuteTransaction"):
            returned.add(fig["returned"], **labels)
        if action in ("Query", "Scan"):
            scanned.add(fig["scanned"], **labels)
    read = Family("kvstore_consumed_read_capacity_units_total", "counter",
                  "ConsumedReadCapacityUnits by table and index (index \"\": the table itself), as DynamoDB "
                  "charges them, whether or not the request asked for ReturnConsumedCapacity.")
    write = Family("kvstore_consumed_write_capacity_units_total", "counter",
                   "ConsumedWriteCapacityUnits by table and index (index \"\": the table itself).")
    for (table, index), (r, w) in sorted(units.items()):
        if r:
            read.add(float(r), table=table, index=index)
        if w:
            write.add(float(w), table=table, index=index)
    return [requests, latency, errors, user, system, throttled, conditional, returned, scanned, read, write]


def _state_families(engine, clock):
    families = []
    items = Family("kvstore_table_items", "gauge", "Items in a table or index (ItemCount, exact).")
    size = Family("kvstore_table_size_bytes", "gauge",
                  "Stored bytes of a table or index's items (TableSizeBytes / IndexSizeBytes).")
    tables = sorted(engine.tables.items())
    for name, table in tables:
        items.add(table.item_count, table=name, index="")
        size.add(table.size_bytes, table=name, index="")
        for index_name, index in sorted(table.indexes.items()):
            items.add(index.item_count, table=name, index=index_name)
            size.add(index.size_bytes, table=name, index=index_name)
    families += [items, size]

    capacity = getattr(engine, "capacity", None)
    read_events = Family("kvstore_read_throttle_events_total", "counter",
                         "ReadThrottleEvents: reads refused for exceeding a table's or GSI's capacity "
                         "(only with capacity enforcement).")
    write_events = Family("kvstore_write_throttle_events_total", "counter",
                          "WriteThrottleEvents: writes refused for exceeding a table's or GSI's capacity "
                          "(only with capacity enforcement).")
    if capacity is not None:
        for (table, index, kind), n in sorted(capacity.throttle_events.items()):
            (read_events if kind == "Read" else write_events).add(n, table=table, index=index)
    families += [read_events, write_events]

    families += _log_families(engine, clock)
    families += _stream_families(engine, clock)

    ttl = Family("kvstore_time_to_live_deleted_item_count_total", "counter",
                 "TimeToLiveDeletedItemCount: items the TTL sweeper deleted since the database opened.")
    sweeper = getattr(engine, "ttl", None)
    if sweeper is not None:
        for name, n in sorted(sweeper.deleted_by_table.items()):
            ttl.add(n, table=name)
    families.append(ttl)
    return families


def _log_families(engine, clock):
    log = engine.durability
    if log is None:
        return []
    fsyncs = Family("kvstore_log_fsyncs_total", "counter",
                    "fsyncs of the write-ahead log (one per commit group; none under durability none).")
    records = Family("kvstore_log_records_total", "counter", "Log records written (one per committed write).")
    written = Family("kvstore_log_bytes_written_total", "counter", "Bytes appended to the write-ahead log.")
    groups = Family("kvstore_log_commit_group_size", "histogram",
                    "Records written by one log write + fsync (group commit).")
    segments = Family("kvstore_log_segments", "gauge", "Log segment files kept.")
    since = Family("kvstore_log_bytes_since_checkpoint", "gauge",
                   "Log bytes written since the last checkpoint began (a checkpoint starts past "
                   "checkpoint_log_bytes).")
    ckpts = Family("kvstore_checkpoints_total", "counter", "Checkpoints written since the database opened.")
    duration = Family("kvstore_checkpoint_duration_seconds", "gauge", "How long the last checkpoint took.")
    age = Family("kvstore_checkpoint_age_seconds", "gauge",
                 "Seconds since the newest checkpoint file was written (by the database's clock).")
    ckpt_bytes = Family("kvstore_checkpoint_size_bytes", "gauge", "Size of the newest checkpoint file.")
    figures = log.figures()           # a directory read offline (kvstore stats PATH) has only the sizes
    for family, key in ((fsyncs, "fsyncs"), (records, "records"), (written, "bytes_written"),
                        (segments, "segments"), (since, "log_bytes"), (ckpts, "checkpoints"),
                        (duration, "checkpoint_seconds")):
        if figures.get(key) is not None:
            family.add(figures[key])
    if "group_sizes" in figures:
        _histogram(groups, figures["group_sizes"], GROUP_BUCKETS, figures["records"], {})
    newest = _newest_checkpoint(log.directory)
    if newest is not None:
        mtime, nbytes = newest
        # the engine's clock at the checkpoint this process wrote; after a restart, the file's time
        at = figures.get("checkpoint_at")
        age.add(max(0.0, float(clock()) - (at if at is not None else mtime)))
        ckpt_bytes.add(nbytes)
    return [fsyncs, records, written, groups, segments, since, ckpts, duration, age, ckpt_bytes]


def _newest_checkpoint(directory):
    """``(mtime, bytes)`` of the newest checkpoint file of ``directory``, or None."""
    from kvstore.engine.checkpoint import parse_checkpoint_name
    best = None
    try:
        names = os.listdir(directory)
    except OSError:
        return None
    for name in names:
        lsn = parse_checkpoint_name(name)
        if lsn is not None and (best is None or lsn > best[0]):
            best = (lsn, name)
    if best is None:
        return None
    try:
        st = os.stat(os.path.join(directory, best[1]))
    except OSError:
        return None
    return st.st_mtime, st.st_size


def _stream_families(engine, clock):
    streams = engine.streams
    written = Family("kvstore_stream_records_total", "counter",
                     "Stream records written, by table, since the database opened.")
    retained = Family("kvstore_stream_retained_records", "gauge", "Stream records kept (24 hours), by table.")
    lag = Family("kvstore_stream_consumer_lag_records", "gauge",
                 "Retained records after a durable consumer's acknowledged position (kvstore.consumers).")
    lag_seconds = Family("kvstore_stream_consumer_lag_seconds", "gauge",
                         "Age of the oldest record a durable consumer has not acknowledged (0: caught up).")
    now = float(clock())
    with streams.lock:
        for table, n in sorted(streams.published.items()):
            written.add(n, table=table)
        kept = {}
        for stream in streams.by_arn.values():
            kept[stream.table] = kept.get(stream.table, 0) + sum(len(s.records) for s in stream.shards)
        for table, n in sorted(kept.items()):
            retained.add(n, table=table)
        for (table, consumer), seq in sorted(streams.consumers.items()):
            behind, oldest = 0, None
            for stream in streams.by_arn.values():
                if stream.table != table:
                    continue
                for shard in stream.shards:
                    i = bisect.bisect_right(shard.seqs, seq)
                    if i < len(shard.records):
                        behind += len(shard.records) - i
                        at = shard.records[i][2]
                        oldest = at if oldest is None else min(oldest, at)
            lag.add(behind, table=table, consumer=consumer)
            lag_seconds.add(max(0.0, now - oldest) if oldest is not None else 0.0, table=table, consumer=consumer)
    return [written, retained, lag, lag_seconds]


# -- reading the text format back (kvstore stats URL, tests) -------------------------------------

def parse_prometheus(text):
    """Parse the Prometheus text exposition format strictly; return a :class:`Snapshot`.

    Raises ValueError on anything malformed: a sample before its TYPE, an
    unknown type, a sample name that does not belong to its family, a bad label
    set or escape, a value that is not a number, a duplicate sample, a
    histogram whose buckets are not cumulative or lack ``+Inf`` equal to
    ``_count``.
    """
    families, current = [], None
    seen = set()
    for number, line in enumerate(text.split("\n"), 1):
        if not line:
            continue
        if line.startswith("#"):
            parts = line.split(" ", 3)
            if len(parts) >= 3 and parts[1] == "HELP":
                name = parts[2]
                _check_name(name, number)
                if current is not None and current.name == name and not current.samples:
                    current.help = parts[3] if len(parts) > 3 else ""
                    continue
                current = Family(name, "untyped", parts[3] if len(parts) > 3 else "")
                families.append(current)
            elif len(parts) >= 3 and parts[1] == "TYPE":
                kind = parts[3] if len(parts) > 3 else ""
                if kind not in ("counter", "gauge", "histogram", "summary", "untyped"):
                    raise ValueError(f"line {number}: unknown type {kind!r}")
                if current is None or current.name != parts[2] or current.samples:
                    current = Family(parts[2], kind, "")
                    families.append(current)
                current.kind = kind
            continue
        try:
            name, labels, value = _parse_sample(line, number)
        except IndexError:              # the line ended inside a label set
            raise ValueError(f"line {number}: unterminated label set") from None
        if current is None:
            raise ValueError(f"line {number}: sample {name} before any TYPE")
        allowed = {current.name}
        if current.kind == "histogram":
            allowed = {current.name + s for s in ("_bucket", "_sum", "_count")}
        if name not in allowed:
            raise ValueError(f"line {number}: sample {name} outside its family {current.name}")
        key = (name, labels)
        if key in seen:
            raise ValueError(f"line {number}: duplicate sample {name}{dict(labels)}")
        seen.add(key)
        current.samples.append((name, labels, value))
    names = [f.name for f in families]
    if len(set(names)) != len(names):
        raise ValueError("a metric family appears twice")
    for f in families:
        if f.kind == "histogram":
            _check_histogram(f)
    return Snapshot(families)


def _check_name(name, number):
    if not name or not (name[0].isalpha() or name[0] in "_:") or not all(c.isalnum() or c in "_:" for c in name) \
            or not name.isascii():
        raise ValueError(f"line {number}: bad metric name {name!r}")


def _parse_sample(line, number):
    i = 0
    while i < len(line) and line[i] not in "{ ":
        i += 1
    name = line[:i]
    _check_name(name, number)
    labels = []
    if i < len(line) and line[i] == "{":
        i += 1
        while True:
            if line[i] == "}":
                i += 1
                break
            j = line.index("=", i)
            label = line[i:j]
            _check_name(label, number)
            if line[j + 1] != '"':
                raise ValueError(f"line {number}: label value not quoted")
            k = j + 2
            out = []
            while True:
                c = line[k]
                if c == "\\":
                    nxt = line[k + 1]
                    if nxt not in 'n"\\':
                        raise ValueError(f"line {number}: bad escape \\{nxt}")
                    out.append("\n" if nxt == "n" else nxt)
                    k += 2
                elif c == '"':
                    k += 1
                    break
                else:
                    out.append(c)
                    k += 1
            if any(label == existing for existing, _ in labels):
                raise ValueError(f"line {number}: label {label} twice")
            labels.append((label, "".join(out)))
            if line[k] == ",":
                k += 1
            elif line[k] != "}":
                raise ValueError(f"line {number}: expected , or }} in the label set")
            i = k
    if i >= len(line) or line[i] != " ":
        raise ValueError(f"line {number}: expected a space before the value")
    fields = line[i + 1:].split(" ")
    if len(fields) not in (1, 2) or (len(fields) == 2 and not fields[1].lstrip("-").isdigit()):
        raise ValueError(f"line {number}: bad value or timestamp {line[i + 1:]!r}")
    text = fields[0]
    if text in ("+Inf", "-Inf", "NaN"):
        value = float(text.replace("Inf", "inf").replace("NaN", "nan"))
    else:
        try:
            value = float(text)
        except ValueError:
            raise ValueError(f"line {number}: bad value {text!r}") from None
        if text.lower() in ("inf", "+inf", "-inf", "nan", "infinity", "-infinity", "+infinity"):
            raise ValueError(f"line {number}: bad value {text!r}")
        if value.is_integer() and "." not in text and "e" not in text.lower():
            value = int(text)
    return name, tuple(labels), value


def _check_histogram(family):
    series = {}
    for name, labels, value in family.samples:
        d = dict(labels)
        le = d.pop("le", None)
        key = tuple(sorted(d.items()))
        entry = series.setdefault(key, {"buckets": [], "count": None, "sum": None})
        if name.endswith("_bucket"):
            if le is None:
                raise ValueError(f"{family.name}: a bucket without le")
            entry["buckets"].append((float(le.replace("Inf", "inf")), value))
        elif name.endswith("_count"):
            entry["count"] = value
        else:
            entry["sum"] = value
    for key, entry in series.items():
        buckets = entry["buckets"]
        if not buckets or buckets[-1][0] != math.inf:
            raise ValueError(f"{family.name}{dict(key)}: no +Inf bucket last")
        if [b for b, _ in buckets] != sorted(b for b, _ in buckets):
            raise ValueError(f"{family.name}{dict(key)}: buckets out of order")
        counts = [n for _, n in buckets]
        if counts != sorted(counts):
            raise ValueError(f"{family.name}{dict(key)}: buckets not cumulative")
        if entry["count"] != counts[-1] or entry["sum"] is None:
            raise ValueError(f"{family.name}{dict(key)}: _count differs from the +Inf bucket, or no _sum")
