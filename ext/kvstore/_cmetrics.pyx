# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Compiled twin of :class:`kvstore.metrics.Recorder` (read that class for what is recorded and why).

Same interface (``observe``, ``reject``, ``totals``) and the same figures;
the difference is where they are kept.  Here a figure is a C field of a
``_Stat``, changed by C code that holds the GIL from the read to the write,
so one shared set of figures stays exact under threads without per-thread
copies; the Python twin needs per-thread dictionaries for that.  A request
costs one pointer-keyed lookup of its Operation record (what the recorder knows
of the action), one of its table, the request's own members, and two reads of
the performance counter in C (no Python call, no float object).  Measured
(bench/results/metrics.md): the interpreted recorder costs more than the
issue's 3 % of a GetItem over the wire; this one does not.
"""

from kvstore.errors import DynamoDBError

DEF MAX_BUCKETS = 32

# kvstore.clock.stopwatch (time.perf_counter) read in C, without a call into Python or a float
# object: the same clock as the Python twin's, CPython's performance counter.
cdef extern from *:
    """
    #if PY_VERSION_HEX >= 0x030D0000
    static double kv_stopwatch(void) {
        PyTime_t t;
        if (PyTime_PerfCounterRaw(&t) < 0) return 0.0;
        return PyTime_AsSecondsDouble(t);
    }
    #else
    static double kv_stopwatch(void) { return _PyTime_AsSecondsDouble(_PyTime_GetPerfCounter()); }
    #endif
    """
    double kv_stopwatch() nogil


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


cdef class _Profile:
    """What the recorder knows of one action, found by its Operation record (a pointer-keyed
    lookup instead of string-keyed ones per request), and that action's figures by table."""

    cdef object action
    cdef dict by_table             # table -> _Stat
    cdef object mode               # ReturnConsumedCapacity to ask for, or None
    cdef object returned           # function(response) -> items returned, or None
    cdef bint get_item, statement


cdef _add(dict by_index, index, int kind, value):
    pair = by_index.get(index)
    if pair is None:
        pair = by_index[index] = [0.0, 0.0]
    (<list>pair)[kind] = (<list>pair)[kind] + value


cdef class Recorder:
    """Request figures of one engine; see :class:`kvstore.metrics.Recorder`."""

    cdef dict actions              # action -> _Profile
    cdef dict profiles             # Operation -> _Profile
    cdef dict units                # table -> index -> [read, write]
    cdef dict modes                # action -> "TOTAL" / "INDEXES"
    cdef dict returned             # action -> function(response) -> items
    cdef set tables
    cdef object table_label, other, labelable
    cdef dict hot                  # kvstore.partiql.cache.HOT: statements whose route reports its own units
    cdef double bounds[MAX_BUCKETS]
    cdef int nbounds
    cdef Py_ssize_t max_labels
    cdef object deferred, owe      # kvstore.engine.database._deferred, kvstore.metrics._owe

    def __init__(self, bounds, modes, returned, max_labels, other, table_label, dict hot, labelable, deferred,
                 owe):
        if len(bounds) >= MAX_BUCKETS:
            raise ValueError("too many latency buckets")
        self.nbounds = len(bounds)
        for i, b in enumerate(bounds):
            self.bounds[i] = b
        self.actions = {}
        self.profiles = {}
        self.units = {}
        self.modes = dict(modes)
        self.returned = dict(returned)
        self.tables = set()
        self.max_labels = max_labels
        self.other = other
        self.table_label = table_label
        self.hot = hot
        self.labelable = labelable      # kvstore.metrics.labelable: a name no table can have is not kept
        self.deferred = deferred        # its ``waits``: a request answered once durable is counted then
        self.owe = owe

    cdef _Profile _action(self, action):
        found = self.actions.get(action)
        if found is not None:
            return <_Profile>found
        cdef _Profile profile = _Profile()
        profile.action = action
        profile.by_table = {}
        profile.mode = self.modes.get(action)
        profile.returned = self.returned.get(action)
        profile.get_item = action == "GetItem"
        profile.statement = action == "ExecuteStatement"
        self.actions[action] = profile
        return profile

    cdef _Profile _profile(self, operation):
        cdef _Profile profile = self._action(operation.action)
        if len(self.profiles) < 4096:          # Operation records are a registry's: a few dozen
            self.profiles[operation] = profile
        return profile

    cdef _Stat _stat(self, _Profile profile, table):
        stat = profile.by_table.get(table)
        if stat is None:
            if table not in self.tables and table != self.other:
                if len(self.tables) >= self.max_labels or not self.labelable(table):
                    return self._stat(profile, self.other)
                self.tables.add(table)
            stat = profile.by_table[table] = _Stat()
        return <_Stat>stat

    def observe(self, engine, operation, dict request):
        cdef _Stat stat
        cdef _Profile profile
        cdef double started, elapsed
        cdef int i
        cdef dict response
        cdef dict units
        found = self.profiles.get(operation)
        profile = <_Profile>found if found is not None else self._profile(operation)
        table = request.get("TableName")
        if type(table) is not str:
            table = self.table_label(request)
        found = profile.by_table.get(table)
        stat = <_Stat>found if found is not None else self._stat(profile, table)
        stat.requests += 1
        mode = wants = profile.mode
        asked = None
        if mode is not None and profile.statement and len(request) <= 2 and request.get("Statement") in self.hot:
            mode = wants = None
        if mode is not None:
            asked = request.get("ReturnConsumedCapacity")
            if asked is None or asked == "NONE" or (asked == "TOTAL" and mode == "INDEXES"):
                request = request.copy()
                request["ReturnConsumedCapacity"] = mode
            else:
                mode = None
        started = kv_stopwatch()
        try:
            faults = engine.faults
            if faults is not None:
                faults.before(engine, profile.action, request)
            response = operation.run(engine, request)
        except DynamoDBError as e:
            code = e.code
            stat.errors[code] = stat.errors.get(code, 0) + 1
            e._metered = True
            if wants is not None and code == "ConditionalCheckFailedException":
                consumed = getattr(e, "_consumed", None)     # DynamoDB charges the write all the same
                if type(consumed) is dict:
                    self._units(self.units, <dict>consumed, request, False)
            raise
        except Exception as e:
            stat.errors["InternalServerError"] = stat.errors.get("InternalServerError", 0) + 1
            try:
                e._metered = True           # counted: the handler does not count it again (kvstore.metrics)
            except (AttributeError, TypeError):
                pass
            raise
        elapsed = kv_stopwatch() - started
        units = self.units
        waits = self.deferred.waits
        if waits:       # answered once durable: its success is counted then, and only if it is one
            held = stat
            stat = _Stat()
            units = {}
            self.owe(waits, self, (held, stat, units))
        stat.seconds += elapsed
        i = 0
        while i < self.nbounds and elapsed > self.bounds[i]:
            i += 1
        stat.buckets[i] += 1
        if profile.get_item:
            stat.read_units += 1.0 if request.get("ConsistentRead") else 0.5
            if "Item" in response:
                stat.returned += 1
            return response
        count = response.get("Count")
        if count is not None:
            stat.returned += count
            stat.scanned += response.get("ScannedCount", 0)
        elif profile.returned is not None:
            stat.returned += profile.returned(response)
        if wants is None:
            return response
        consumed = response.get("ConsumedCapacity")
        if consumed is not None:
            if mode is not None and asked != "TOTAL":
                del response["ConsumedCapacity"]
            if type(consumed) is dict:
                self._units(units, <dict>consumed, request, mode is not None and asked == "TOTAL")
            else:
                strip = mode is not None and asked == "TOTAL"
                for entry in consumed:
                    if type(entry) is dict:
                        self._units(units, <dict>entry, request, strip)
        return response

    cdef _Stat _answered(self, action, table, double elapsed, bint counted=True):
        """The stat of ``action`` on ``table`` with one more request answered in ``elapsed`` seconds
        (its latency bucket counted unless not ``counted``): what ``get_item_answered`` and
        ``put_item_answered`` share."""
        cdef _Stat stat
        cdef _Profile profile = self._action(action)
        cdef int i = 0
        hit = profile.by_table.get(table)
        stat = <_Stat>hit if hit is not None else self._stat(profile, table)
        stat.requests += 1
        if not counted:
            return stat
        stat.seconds += elapsed
        while i < self.nbounds and elapsed > self.bounds[i]:
            i += 1
        stat.buckets[i] += 1
        return stat

    def get_item_answered(self, table, double elapsed, bint found):
        """A GetItem answered without ``observe`` (see :meth:`kvstore.metrics.Recorder.get_item_answered`)."""
        cdef _Stat stat = self._answered("GetItem", table, elapsed)
        stat.read_units += 0.5
        if found:
            stat.returned += 1

    def put_item_answered(self, table, double elapsed, double units):
        """A PutItem answered without ``observe`` (see :meth:`kvstore.metrics.Recorder.put_item_answered`)."""
        cdef _Stat stat
        waits = self.deferred.waits
        if waits:       # answered once durable: as observe's (held_answered counts it then)
            stat = self._answered("PutItem", table, elapsed, False)
            entry = (self, (stat, elapsed, table, units))
            owed = waits.figures
            if owed is None:
                waits.figures = [entry]
            else:
                owed.append(entry)
            return
        stat = self._answered("PutItem", table, elapsed)
        by_index = self.units.get(table)
        if by_index is None:
            if len(self.units) >= self.max_labels:
                return
            by_index = self.units[table] = {}
        _add(<dict>by_index, "", 1, units)

    def put_item_failed(self, table, error):
        """Such a PutItem failing after its commit (see :meth:`kvstore.metrics.Recorder.put_item_failed`)."""
        cdef _Profile profile = self._action("PutItem")
        hit = profile.by_table.get(table)
        cdef _Stat stat = <_Stat>hit if hit is not None else self._stat(profile, table)
        stat.requests += 1
        code = error.code
        stat.errors[code] = stat.errors.get(code, 0) + 1
        error._metered = True

    def held_answered(self, figures):
        """A request answered once durable, with its success (see
        :meth:`kvstore.metrics.Recorder.held_answered`)."""
        cdef _Stat held = <_Stat?>figures[0]
        cdef _Stat stat
        cdef dict units
        cdef int i = 0
        cdef double elapsed
        if len(figures) == 4:       # put_item_answered's: (stat, elapsed, table, write units)
            elapsed = figures[1]
            held.seconds += elapsed
            while i < self.nbounds and elapsed > self.bounds[i]:
                i += 1
            held.buckets[i] += 1
            table = figures[2]
            by_index = self.units.get(table)
            if by_index is None:
                if len(self.units) >= self.max_labels:
                    return
                by_index = self.units[table] = {}
            _add(<dict>by_index, "", 1, figures[3])
            return
        stat = <_Stat?>figures[1]           # observe's: (stat, the success's figures, its units)
        units = <dict?>figures[2]
        held.seconds += stat.seconds
        for i in range(self.nbounds + 1):
            held.buckets[i] += stat.buckets[i]
        held.returned += stat.returned
        held.scanned += stat.scanned
        held.read_units += stat.read_units
        for table, by_index in units.items():
            into = self.units.get(table)
            if into is None:
                if len(self.units) >= self.max_labels:
                    continue
                into = self.units[table] = {}
            for index, pair in (<dict?>by_index).items():
                if pair[0]:
                    _add(<dict>into, index, 0, pair[0])
                if pair[1]:
                    _add(<dict>into, index, 1, pair[1])

    def held_failed(self, figures, error):
        """Such a request answered with ``error`` instead (see :meth:`kvstore.metrics.Recorder.held_failed`)."""
        cdef _Stat held = <_Stat?>figures[0]
        code = error.code
        held.errors[code] = held.errors.get(code, 0) + 1

    cdef _units(self, dict into, dict entry, dict request, bint strip):
        """kvstore.metrics.record_units into ``into`` (the recorder's units, or a held request's), in C:
        no thread switch between reading a sum and writing it."""
        name = entry.get("TableName")
        if type(name) is not str:
            return
        by_index = into.get(name)
        if by_index is None:
            if len(into) >= self.max_labels:
                return
            by_index = into[name] = {}
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
        self._units(self.units, entry, request, False)

    def reject(self, action, table, error):
        """Count a request the wire refused before an operation ran."""
        if getattr(error, "_metered", False):
            return
        cdef _Stat stat = self._stat(self._action(action or ""), table or "")
        stat.requests += 1
        stat.errors[error.code] = stat.errors.get(error.code, 0) + 1

    def totals(self):
        """``(ops, units)`` as :meth:`kvstore.metrics.Recorder.totals` gives them."""
        cdef _Stat stat
        cdef _Profile profile
        ops, units = {}, {}
        n = self.nbounds + 1
        for table, by_index in list(self.units.items()):
            for index, pair in list(by_index.items()):
                units[(table, index)] = [pair[0], pair[1]]
        for action, found in list(self.actions.items()):
            profile = <_Profile>found
            for table, found_stat in list(profile.by_table.items()):
                stat = <_Stat>found_stat
                ops[(action, table)] = {"requests": stat.requests, "buckets": stat.bucket_counts(n),
                                        "seconds": stat.seconds, "returned": stat.returned,
                                        "scanned": stat.scanned, "errors": dict(stat.errors)}
                if stat.read_units:
                    units.setdefault((table, ""), [0.0, 0.0])[0] += stat.read_units
        return ops, units
