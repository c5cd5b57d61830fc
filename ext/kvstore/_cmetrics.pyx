# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Compiled twin of :class:`kvstore.metrics.Recorder` (read that class for what is recorded and why).

Same interface (``observe``, ``reject``, ``totals``) and the same figures;
the difference is where they are kept.  Here a figure is a C field of a
``_Stat``, changed by C code that holds the GIL from the read to the write,
so one shared set of figures stays exact under threads without per-thread
copies; the Python twin needs per-thread dictionaries for that.  Measured
(bench/results/metrics.md): the interpreted recorder costs more than the
issue's 3 % of a GetItem over the wire; this one does not.
"""

from kvstore.clock import stopwatch as _perf_counter

from kvstore.errors import DynamoDBError

DEF MAX_BUCKETS = 32


cdef class _Stat:
    """One (operation, table)'s figures."""

    cdef public long long requests, returned, scanned
    cdef public double seconds, read_units
    cdef public dict errors
    cdef long long buckets[MAX_BUCKETS]

    def __cinit__(self):
        self.errors = {}

    def bucket_counts(self, int n):
        return [self.buckets[i] for i in range(n)]


cdef _add(dict by_index, index, int kind, value):
    pair = by_index.get(index)
    if pair is None:
        pair = by_index[index] = [0.0, 0.0]
    (<list>pair)[kind] = (<list>pair)[kind] + value


cdef class Recorder:
    """Request figures of one engine; see :class:`kvstore.metrics.Recorder`."""

    cdef dict ops                  # action -> table -> _Stat
    cdef dict units                # table -> index -> [read, write]
    cdef dict modes                # action -> "TOTAL" / "INDEXES"
    cdef dict returned             # action -> function(response) -> items
    cdef set tables
    cdef object table_label, other
    cdef dict hot                  # kvstore.partiql.cache.HOT: statements whose route reports its own units
    cdef double bounds[MAX_BUCKETS]
    cdef int nbounds
    cdef Py_ssize_t max_labels

    def __init__(self, bounds, modes, returned, max_labels, other, table_label, dict hot):
        if len(bounds) >= MAX_BUCKETS:
            raise ValueError("too many latency buckets")
        self.nbounds = len(bounds)
        for i, b in enumerate(bounds):
            self.bounds[i] = b
        self.ops = {}
        self.units = {}
        self.modes = dict(modes)
        self.returned = dict(returned)
        self.tables = set()
        self.max_labels = max_labels
        self.other = other
        self.table_label = table_label
        self.hot = hot

    cdef _Stat _stat(self, action, table):
        cdef dict by_table = self.ops.get(action)
        if by_table is None:
            by_table = self.ops[action] = {}
        stat = by_table.get(table)
        if stat is None:
            if table not in self.tables and table != self.other:
                if len(self.tables) >= self.max_labels:
                    return self._stat(action, self.other)
                self.tables.add(table)
            stat = by_table[table] = _Stat()
        return <_Stat>stat

    def observe(self, engine, operation, dict request):
        cdef _Stat stat
        cdef double started, elapsed
        cdef int i
        cdef dict by_table
        cdef list pair
        action = operation.action
        table = request.get("TableName")
        if type(table) is not str:
            table = self.table_label(request)
        by_table = self.ops.get(action)
        found = by_table.get(table) if by_table is not None else None
        stat = <_Stat>found if found is not None else self._stat(action, table)
        stat.requests += 1
        mode = wants = self.modes.get(action)
        asked = None
        if mode is not None and action == "ExecuteStatement" and len(request) <= 2 \
                and request.get("Statement") in self.hot:
            mode = wants = None
        if mode is not None:
            asked = request.get("ReturnConsumedCapacity")
            if asked is None or asked == "NONE" or (asked == "TOTAL" and mode == "INDEXES"):
                request = request.copy()
                request["ReturnConsumedCapacity"] = mode
            else:
                mode = None
        started = _perf_counter()
        try:
            faults = engine.faults
            if faults is not None:
                faults.before(engine, action, request)
            response = operation.run(engine, request)
        except DynamoDBError as e:
            code = e.code
            stat.errors[code] = stat.errors.get(code, 0) + 1
            e._metered = True
            raise
        except Exception:
            stat.errors["InternalServerError"] = stat.errors.get("InternalServerError", 0) + 1
            raise
        elapsed = _perf_counter() - started
        stat.seconds += elapsed
        i = 0
        while i < self.nbounds and elapsed > self.bounds[i]:
            i += 1
        stat.buckets[i] += 1
        if action == "GetItem":
            stat.read_units += 1.0 if request.get("ConsistentRead") else 0.5
            if "Item" in response:
                stat.returned += 1
        else:
            count = response.get("Count")
            if count is not None:
                stat.returned += count
                stat.scanned += response.get("ScannedCount", 0)
            else:
                counter = self.returned.get(action)
                if counter is not None:
                    stat.returned += counter(response)
        if wants is None:
            return response
        consumed = response.get("ConsumedCapacity")
        if consumed is not None:
            if mode is not None and asked != "TOTAL":
                del response["ConsumedCapacity"]
            if type(consumed) is dict:
                self._units(<dict>consumed, request, mode is not None and asked == "TOTAL")
            else:
                strip = mode is not None and asked == "TOTAL"
                for entry in consumed:
                    if type(entry) is dict:
                        self._units(<dict>entry, request, strip)
        return response

    cdef _units(self, dict entry, dict request, bint strip):
        """kvstore.metrics.record_units, in C: no thread switch between reading a sum and writing it."""
        name = entry.get("TableName")
        if type(name) is not str:
            return
        by_index = self.units.get(name)
        if by_index is None:
            if len(self.units) >= self.max_labels:
                return
            by_index = self.units[name] = {}
        kind = 0 if "ReadCapacityUnits" in entry else 1
        if "Table" in entry:
            _add(<dict>by_index, "", kind, entry["Table"]["CapacityUnits"])
            for member in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
                indexes = entry.get(member)
                if indexes:
                    for index, figures in indexes.items():
                        _add(<dict>by_index, index, kind, figures["CapacityUnits"])
            if strip:
                entry.pop("Table", None)
                entry.pop("GlobalSecondaryIndexes", None)
                entry.pop("LocalSecondaryIndexes", None)
        else:
            index = request.get("IndexName")
            _add(<dict>by_index, index if type(index) is str else "", kind, entry["CapacityUnits"])

    def consumed_read(self, table, double units):
        """Read units on the table itself (see :meth:`kvstore.metrics.Recorder.consumed_read`)."""
        cdef list pair
        by_index = self.units.get(table)
        if by_index is None:
            if len(self.units) >= self.max_labels:
                return
            by_index = self.units[table] = {}
        found = (<dict>by_index).get("")
        if found is None:
            (<dict>by_index)[""] = [units, 0.0]
            return
        pair = <list>found
        pair[0] = pair[0] + units

    def consumed(self, dict entry, dict request):
        """Add one ConsumedCapacity entry (see :meth:`kvstore.metrics.Recorder.consumed`)."""
        self._units(entry, request, False)

    def reject(self, action, table, error):
        """Count a request the wire refused before an operation ran."""
        if getattr(error, "_metered", False):
            return
        cdef _Stat stat = self._stat(action or "", table or "")
        stat.requests += 1
        stat.errors[error.code] = stat.errors.get(error.code, 0) + 1

    def totals(self):
        """``(ops, units)`` as :meth:`kvstore.metrics.Recorder.totals` gives them."""
        cdef _Stat stat
        ops, units = {}, {}
        n = self.nbounds + 1
        for action, by_table in list(self.ops.items()):
            for table, found in list(by_table.items()):
                stat = <_Stat>found
                ops[(action, table)] = {"requests": stat.requests, "buckets": stat.bucket_counts(n),
                                        "seconds": stat.seconds, "returned": stat.returned,
                                        "scanned": stat.scanned, "errors": dict(stat.errors)}
        for table, by_index in list(self.units.items()):
            for index, pair in list(by_index.items()):
                units[(table, index)] = [pair[0], pair[1]]
        for action, by_table in list(self.ops.items()):
            for table, found in list(by_table.items()):
                stat = <_Stat>found
                if stat.read_units:
                    units.setdefault((table, ""), [0.0, 0.0])[0] += stat.read_units
        return ops, units
