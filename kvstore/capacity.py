"""Capacity enforcement: DynamoDB's throughput limits, metered on the engine's clock (opt in).

With ``kvstore.open(..., capacity="enforce")`` every data-plane request is
metered with the capacity units DynamoDB would charge (the formulas behind
ConsumedCapacity, see ``kvstore/operations/common.py``) against token buckets
that refill on ``engine.clock``:

* a PROVISIONED table and each of its GSIs: one read and one write bucket
  refilling at the provisioned RCU/WCU per second and holding up to
  ``burst_seconds`` (300) seconds of unused capacity, DynamoDB's burst
  capacity.  A bucket starts with one second of capacity and accrues what
  goes unused from the table's creation on, so a test sees throttling as
  soon as it exceeds the provisioned rate, and the burst after idling;
* a PAY_PER_REQUEST table and each GSI: the per-table account quota (40,000
  read and 40,000 write request units per second), or the table's
  ``OnDemandThroughput`` maximums when set;
* every partition-key value, in both modes: one partition's limit (3,000 RCU
  and 1,000 WCU in any one second of the clock), the most a single key can
  get from DynamoDB.

A request is admitted while every bucket it draws on holds a positive
balance; it is then charged what it actually consumed, which may take the
balance below zero (DynamoDB lets a request borrow the same way), so the
long-run rate is exactly the provisioned one.  A write's admission happens
inside the operation after request validation and before any lock is taken or
anything is written, so a throttled call changes nothing; GetItem, Query and
Scan read first and are admitted and charged in one call once they know what
they read (a read changes nothing either).  A write is also refused
while any GSI of its table is out of write capacity: a GSI that cannot keep up
throttles its base table.  BatchGetItem and BatchWriteItem admit each key on
its own and return the rest as UnprocessedKeys / UnprocessedItems; only when
nothing at all can be processed do they raise.  Transactions cancel with a
``ProvisionedThroughputExceeded`` / ``ThrottlingError`` reason.

Everything here costs O(1) per bucket touched: buckets are found by dict
lookup, and the per-key limit is counted in one-second windows of the clock.
What every admitted request runs (``admit_write`` / ``charge_write``,
``read`` / ``read_item``) is compiled in
``kvstore._ccapacity`` (``MeterCore``, with C fields for the buckets); its
pure-Python twin :class:`PyMeterCore` here is the reference, and
``tests/test_capacity_core.py`` checks with hypothesis that the two take the
same decisions and leave the same bucket states.  :class:`CapacityMeter` is
the compiled one when the compiled core is active (``kvstore._core.implementation``).

Sizes are DynamoDB's (reference 2.2), as ConsumedCapacity reports them: a read
is charged by the DynamoDB size of what it read, a write by the larger of its
old and new images' DynamoDB sizes.  An image of at most 256 packed bytes (1 KB
of packed item for a read) is within one unit whatever its exact size
(``common.check_item_size``), so only larger ones are measured.
"""

import threading

from time import time as _wall

from kvstore import _core, limits
from kvstore.clock import SystemClock
from kvstore.engine.table import collection_prefix as partition_of
from kvstore.errors import ProvisionedThroughputExceededException, ThrottlingException
from kvstore.operations.common import write_units_of
from kvstore.operations.writing import index_units
from kvstore.types import item_size

BURST_SECONDS = limits.BURST_SECONDS

TABLE_PROVISIONED = ("The level of configured provisioned throughput for the table was exceeded. "
                     "Consider increasing your provisioning level with the UpdateTable API.")
GSI_PROVISIONED = ("The level of configured provisioned throughput for one or more global secondary indexes of "
                   "the table was exceeded. Consider increasing your provisioning level for the "
                   "under-provisioned global secondary indexes with the UpdateTable API")
TABLE_ON_DEMAND = ("Throughput exceeds the current capacity of your table or index. DynamoDB is automatically "
                   "scaling your table or index so please try again shortly. If exceptions persist, check if you "
                   "have a hot key: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/"
                   "bp-partition-key-design.html")
GSI_ON_DEMAND = ("Throughput exceeds the current capacity for one or more global secondary indexes. DynamoDB is "
                 "automatically scaling your index so please try again shortly.")

_SMALL_WRITE = 1024 // 4      # packed bytes of an image surely within one write unit (common.check_item_size)
_SMALL_READ = 1024            # packed bytes of an item surely within one read unit (4 KB)
#: ``_KeyWindow.second`` before any request (the compiled twin's LLONG_MIN)
NO_SECOND = -(1 << 63)


class Throttle:
    """Why a request cannot be admitted: enough to build DynamoDB's exception or cancellation reason."""

    __slots__ = ("on_demand", "gsi", "reason", "resource")

    def __init__(self, on_demand, gsi, reason, resource):
        self.on_demand = on_demand
        self.gsi = gsi
        self.reason = reason
        self.resource = resource

    @property
    def message(self):
        if self.on_demand:
            return GSI_ON_DEMAND if self.gsi else TABLE_ON_DEMAND
        return GSI_PROVISIONED if self.gsi else TABLE_PROVISIONED

    def error(self):
        """The exception DynamoDB raises: ProvisionedThroughputExceeded (provisioned) or Throttling (on demand)."""
        reasons = [{"reason": self.reason, "resource": self.resource}]
        if self.on_demand:    # the model names this member in lower camel case for ThrottlingException only
            return ThrottlingException(self.message, throttlingReasons=reasons)
        return ProvisionedThroughputExceededException(self.message, ThrottlingReasons=reasons)

    def cancellation_reason(self):
        code = "ThrottlingError" if self.on_demand else "ProvisionedThroughputExceeded"
        return {"Code": code, "Message": self.message}


class Bucket:
    """A token bucket: ``rate`` units per second, at most ``size`` units banked; ``limit`` names its limit type."""

    __slots__ = ("rate", "size", "balance", "at", "limit")

    def __init__(self, rate, size, start, now, limit):
        self.rate = rate
        self.size = size
        self.balance = float(rate)           # one second of capacity to start with, then what accrues
        self.at = start
        self.limit = limit
        self.refill(now)

    def refill(self, now):
        if now > self.at:
            balance = self.balance + (now - self.at) * self.rate
            self.balance = balance if balance < self.size else self.size
            self.at = now

    def resize(self, rate, size):
        """UpdateTable: the new rate applies from now on; banked capacity beyond the new size is lost."""
        self.rate = rate
        self.size = size
        if self.balance > size:
            self.balance = float(size)


class _KeyWindow:
    """One partition's limit per partition-key value, counted in one-second windows of the clock.

    ``used`` maps a partition-key prefix to the units it consumed in the
    current second (a dict of floats: nothing for the garbage collector to
    scan); a new second starts a new dict, so there is nothing to prune and a
    check is one dict lookup.  A key is refused once it has used the limit in
    the current second (the request that crosses it may borrow, as with the
    table's buckets).
    """

    __slots__ = ("limit", "second", "used")

    def __init__(self, limit):
        self.limit = limit
        self.second = NO_SECOND
        self.used = {}

    def room(self, prefix, now):
        """Whether ``prefix`` may consume in the second holding ``now``."""
        second = int(now)
        if second != self.second:
            self.second = second
            self.used.clear()
            return True
        return self.used.get(prefix, 0.0) < self.limit

    def take(self, prefix, units, now):
        if int(now) == self.second:
            used = self.used
            used[prefix] = used.get(prefix, 0.0) + units


class _TableState:
    """The buckets of one table: read and write for the table and each GSI, and per partition-key value.

    ``meta`` is the catalog entry the rates were read from: UpdateTable
    replaces a table's meta, so ``state.meta is table.meta`` tells in O(1)
    whether the rates still hold.
    """

    __slots__ = ("meta", "read", "write", "gsi_read", "gsi_write", "read_keys", "write_keys", "arn", "index_charges",
                 "index_reads")

    def __init__(self):
        self.meta = None
        self.read = self.write = None
        self.gsi_read = {}
        self.gsi_write = {}
        #: ``((write bucket, index key attribute names, index, view), ...)`` per GSI and LSI of the table:
        #: what a write's charge needs, computed when the rates are (``CapacityMeter._state``).  An LSI
        #: draws on the table's write bucket; ``view`` is None for a projection of ALL, else the non-key
        #: attributes the index holds (empty for KEYS_ONLY)
        self.index_charges = ()
        #: ``{index: its read bucket (a GSI's), or None (an LSI, which reads the table's capacity)}``: what
        #: the compiled core's ``read`` of an index needs, computed when the rates are
        self.index_reads = {}
        self.read_keys = _KeyWindow(limits.PARTITION_READ_UNITS)
        self.write_keys = _KeyWindow(limits.PARTITION_WRITE_UNITS)
        self.arn = None


class PyMeterCore:
    """What every admitted request runs, in Python: the reference twin of ``kvstore._ccapacity.MeterCore``.

    A write calls ``admit_write`` after validation and before any lock (it
    raises DynamoDB's throttling error, or returns a ticket), then
    ``charge_write`` with the ticket and what it wrote; a read calls ``read``
    (``read_item`` for GetItem) once with what it read.  Anything but the
    admitted case (a changed catalog entry, an empty bucket, a new second) goes
    the long way through :class:`CapacityMeter`'s ``try_read`` / ``_try_write``.
    """

    def __init__(self, engine, burst_seconds=BURST_SECONDS):
        self.engine = engine
        self.clock = engine.clock            # a database's clock is fixed when it opens
        self.burst_seconds = burst_seconds
        self._lock = threading.Lock()
        self._tables = {}            # Table -> _TableState (a re-created table is a new Table object)
        #: requests (or batch keys, or transaction actions) refused so far: tests assert throttling happened
        self.throttled = 0

    def forget_last(self):
        """``_tables`` is about to drop entries (the caller holds the lock): the compiled core forgets the
        table it last found there; the reference keeps no such memory."""

    def admit_write(self, table, row_key):
        """Raise DynamoDB's throttling error unless a write may start; else a ticket for :meth:`charge_write`."""
        ticket = self.try_write(table, row_key)
        if ticket.__class__ is not tuple:
            raise ticket.error()
        return ticket

    def try_write(self, table, row_key):
        """:meth:`admit_write` without raising: the ticket, or the :class:`Throttle` (batches, transactions).

        The admitted case of ``_try_write`` inline (one lock hold, no Throttle built).
        """
        clock = self.clock
        now = _wall() if clock.__class__ is SystemClock else clock()
        prefix = partition_of(row_key)
        meta = table.meta
        admitted = False
        with self._lock:
            state = self._tables.get(table)
            if state is not None and state.meta is meta:
                bucket = state.write
                bucket.refill(now)
                if bucket.balance > 0:
                    admitted = True
                    for charge in state.index_charges:
                        gsi = charge[0]
                        gsi.refill(now)
                        if gsi.balance <= 0:
                            admitted = False
                    keys = state.write_keys
                    if admitted:
                        admitted = keys.second == int(now) and keys.used.get(prefix, 0.0) < keys.limit
        if admitted:
            return table, row_key, state, prefix, now
        return self._try_write(table, row_key)

    def charge_write(self, ticket, old_packed, new_packed, old_item=None, new_item=None):
        """A write admitted by :meth:`admit_write` replaced ``old_packed`` with ``new_packed`` (None: absent).

        Units are ConsumedCapacity's (``common.write_units_of``): images of at
        most 256 packed bytes are within one unit, larger ones are measured
        by DynamoDB's item size; each GSI entry written or removed costs its
        own units (one for such small images).
        """
        table, row_key, state, prefix, now = ticket
        small = ((old_packed is None or len(old_packed) <= _SMALL_WRITE)
                 and (new_packed is None or len(new_packed) <= _SMALL_WRITE))
        units = 1 if small else self._write_units(old_packed, old_item, new_packed, new_item)
        charges = state.index_charges
        gsi_units = None
        if charges and (old_item is not None or new_item is not None):
            if small and len(charges) <= 16 and (old_item is None or old_item.__class__ is dict) \
                    and (new_item is None or new_item.__class__ is dict):
                gsi_units = _small_index_write_units(charges, old_item, new_item)
            else:
                gsi_units = self._index_write_units(state, row_key, old_item, new_item, small)
        with self._lock:
            state.write.balance -= units
            keys = state.write_keys
            if int(now) == keys.second:                 # _KeyWindow.take, inline
                used = keys.used
                used[prefix] = used.get(prefix, 0.0) + units
            if gsi_units:
                for bucket, n in gsi_units:
                    bucket.balance -= n

    def charge_read(self, ticket, size, consistent):
        """A read admitted by ``try_read`` consumed ``size`` bytes: the DynamoDB item size of the
        item or of a Query/Scan page's items (reference 7), the size ConsumedCapacity reports."""
        units = 1 if size <= 4096 else -(-size // 4096)
        if not consistent:
            units /= 2
        bucket, keys, prefix, now = ticket
        with self._lock:
            bucket.balance -= units
            if prefix is not None:
                keys.take(prefix, units, now)

    def read_item(self, table, row_key, packed, consistent):
        """GetItem's admission and charge in one call (:meth:`read` of its item): ``packed`` is the item
        read (None: absent); one of at most 1 KB packed is within one read unit
        (``common.check_item_size``), a larger one is measured by DynamoDB's size."""
        size = 0
        if packed is not None:
            size = len(packed)
            if size > _SMALL_READ:
                size = self._read_size(packed)
        self.read(table, None, row_key, size, consistent)

    def read_item_admitted(self, table, row_key, packed, consistent):
        """:meth:`read_item` when the read is admitted at once (then True, and charged), else False
        with nothing charged or counted: the wire's one-step GetItem then hands the request to the
        general path, which meters it as :meth:`read_item` does (a throttle counts once)."""
        size = 0
        if packed is not None:
            size = len(packed)
            if size > _SMALL_READ:
                size = self._read_size(packed)
        return self._admitted_read(table, None, row_key, size, consistent)

    def _admitted_read(self, table, index, row_key, size, consistent):
        """The admitted case of a table read by key, charged: True.  False otherwise, with nothing
        charged or counted (a refill to ``now`` and a per-key window moved to this second are what
        the long way, ``try_read``, does first)."""
        if index is None and row_key is not None and row_key.__class__ is bytes:
            clock = self.clock
            now = _wall() if clock.__class__ is SystemClock else clock()
            prefix = partition_of(row_key)
            meta = table.meta
            with self._lock:
                state = self._tables.get(table)
                if state is not None and state.meta is meta:
                    bucket = state.read
                    bucket.refill(now)
                    if bucket.balance > 0:
                        keys = state.read_keys
                        if keys.room(prefix, now):
                            units = 1 if size <= 4096 else -(-size // 4096)
                            if not consistent:
                                units /= 2
                            bucket.balance -= units
                            keys.take(prefix, units, now)
                            return True
        return False

    def read(self, table, index, row_key, size, consistent):
        """A read's admission and charge in one call and one lock hold: raise DynamoDB's throttling error
        when the table (or the GSI ``index``) or the partition of ``row_key`` has no read capacity now,
        else charge ``size`` bytes, the DynamoDB size of what was read (:meth:`charge_read`).

        The operations read first and call this once: a read changes nothing, so
        a throttled one leaves what one refused before reading would.  The
        admitted case of a table read is :meth:`_admitted_read`; anything else
        goes the long way (``try_read``).
        """
        if self._admitted_read(table, index, row_key, size, consistent):
            return
        ticket = self.try_read(table, index, row_key)
        if ticket.__class__ is not tuple:
            raise ticket.error()
        self.charge_read(ticket, size, consistent)


class _Meter:
    """What :class:`CapacityMeter` and :class:`PyCapacityMeter` share over their cores: building and
    resizing the buckets, throttling, batches, transactions and large items (see the module docstring).
    One lock (``self._lock``) guards all buckets; each call holds it once."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        #: (table, index or "", "Read" or "Write") -> refusals: Read/WriteThrottleEvents (kvstore.metrics)
        self.throttle_events = {}

    def _now(self):
        clock = self.clock
        return _wall() if clock.__class__ is SystemClock else clock()      # spare SystemClock's frame

    # -- limits ------------------------------------------------------------------

    def _limit(self, meta, spec, kind):
        """``(rate, size, limit type)`` of a table's (``spec`` is meta) or GSI's ``kind`` ("R"/"W") capacity."""
        if meta.get("BillingMode") == "PAY_PER_REQUEST":
            rate = limits.ON_DEMAND_TABLE_READ_UNITS if kind == "R" else limits.ON_DEMAND_TABLE_WRITE_UNITS
            maximum = (spec.get("OnDemandThroughput") or {}).get(
                "MaxReadRequestUnits" if kind == "R" else "MaxWriteRequestUnits")
            if maximum is not None and 0 < maximum < rate:
                return maximum, maximum, "MaxOnDemandThroughputExceeded"
            return rate, rate, "AccountLimitExceeded"
        throughput = spec.get("ProvisionedThroughput") or {}
        rate = throughput.get("ReadCapacityUnits" if kind == "R" else "WriteCapacityUnits") or 1
        return rate, rate * self.burst_seconds if self.burst_seconds else rate, "ProvisionedThroughputExceeded"

    def _state(self, table, now):
        """The table's buckets, refreshed when its meta changed (caller holds the lock)."""
        state = self._tables.get(table)
        if state is not None and state.meta is table.meta:
            return state
        if state is None:
            if len(self._tables) > 64:                       # forget dropped tables
                self.forget_last()
                for gone in [t for t in self._tables if t.deleted]:
                    del self._tables[gone]
            state = self._tables[table] = self.TableState()
        meta = table.meta
        created = min(now, meta.get("CreationDateTime", now))   # capacity accrues from the table's creation
        state.arn = meta["TableArn"]
        state.read = self._fit(state.read, meta, meta, "R", created, now)
        state.write = self._fit(state.write, meta, meta, "W", created, now)
        gsis = {g["IndexName"]: g for g in meta.get("GlobalSecondaryIndexes", ())}
        state.gsi_read = {n: self._fit(state.gsi_read.get(n), meta, g, "R", created, now) for n, g in gsis.items()}
        state.gsi_write = {n: self._fit(state.gsi_write.get(n), meta, g, "W", created, now) for n, g in gsis.items()}
        keys = set(table.schema.names)
        state.index_charges = tuple(
            (state.gsi_write[index.name] if index.kind == "GSI" else state.write, tuple(index.schema.names), index,
             None if index.projects_all else tuple(sorted(index.projected_names - keys - set(index.schema.names))))
            for index in table.indexes.values() if index.kind == "LSI" or index.name in state.gsi_write)
        state.index_reads = {index: None if index.kind == "LSI" else state.gsi_read[index.name]
                             for index in table.indexes.values() if index.kind == "LSI" or index.name in state.gsi_read}
        state.meta = meta
        return state

    def _fit(self, bucket, meta, spec, kind, created, now):
        rate, size, limit = self._limit(meta, spec, kind)
        if bucket is None:
            return self.Bucket(rate, size, created, now, limit)
        if bucket.limit != limit:                            # billing mode switched: a fresh start
            return self.Bucket(rate, size, now, now, limit)
        if bucket.rate != rate or bucket.size != size:       # settle() brought it up to the change
            bucket.resize(rate, size)
        return bucket

    def settle(self, table):
        """Bring ``table``'s buckets up to now at their current rates (UpdateTable is about to change them)."""
        now = self._now()
        with self._lock:
            state = self._tables.get(table)
            if state is not None:
                for bucket in [state.read, state.write, *state.gsi_read.values(), *state.gsi_write.values()]:
                    bucket.refill(now)

    # -- admission -----------------------------------------------------------------

    def check_read(self, table, index=None, prefix=None):
        """A :class:`Throttle` when a read of ``table`` (through ``index``) cannot start now, else None."""
        now = self._now()
        with self._lock:
            state = self._state(table, now)
            if index is not None and index.kind == "GSI":
                bucket = state.gsi_read[index.name]
                bucket.refill(now)
                if bucket.balance <= 0:
                    return self._refuse(state, index.name, "Read", bucket.limit)
                return None
            bucket = state.read
            bucket.refill(now)
            if bucket.balance <= 0:
                return self._refuse(state, None, "Read", bucket.limit)
            if prefix is not None and not state.read_keys.room(prefix, now):
                return self._refuse(state, None, "Read", bucket.limit, "KeyRangeThroughputExceeded")
        return None

    def check_write(self, table, prefix=None):
        """A :class:`Throttle` when a write to ``table`` cannot start now (the table, a GSI or the key is out)."""
        now = self._now()
        with self._lock:
            state = self._state(table, now)
            bucket = state.write
            bucket.refill(now)
            if bucket.balance <= 0:
                return self._refuse(state, None, "Write", bucket.limit)
            for name, gsi in state.gsi_write.items():
                gsi.refill(now)
                if gsi.balance <= 0:
                    return self._refuse(state, name, "Write", gsi.limit)
            if prefix is not None and not state.write_keys.room(prefix, now):
                return self._refuse(state, None, "Write", bucket.limit, "KeyRangeThroughputExceeded")
        return None

    def _refuse(self, state, index_name, operation, limit, reason_limit=None):
        """The Throttle for a table (``index_name`` None) or GSI bucket whose limit type is ``limit``."""
        self.throttled += 1
        event = (state.meta["TableName"], index_name or "", operation)
        self.throttle_events[event] = self.throttle_events.get(event, 0) + 1
        on_demand = limit != "ProvisionedThroughputExceeded"
        reason_limit = reason_limit or limit
        if index_name is None:
            return Throttle(on_demand, False, f"Table{operation}{reason_limit}", state.arn)
        return Throttle(on_demand, True, f"Index{operation}{reason_limit}", f"{state.arn}/index/{index_name}")

    def try_read(self, table, index=None, row_key=None):
        """A ticket for ``charge_read`` when a read may start now, else the :class:`Throttle` (batches; the
        cores' ``read`` comes here for all but the admitted case)."""
        gsi = index is not None and index.kind == "GSI"
        prefix = partition_of(row_key) if row_key is not None and not gsi else None
        while True:
            now = self._now()
            with self._lock:
                state = self._state(table, now)
                bucket = state.gsi_read[index.name] if gsi else state.read
                bucket.refill(now)
                if bucket.balance > 0:
                    if prefix is None or state.read_keys.room(prefix, now):
                        return bucket, state.read_keys, prefix, now
            throttle = self.check_read(table, index, prefix)
            if throttle is not None:
                return throttle

    def _try_write(self, table, row_key):
        """The cores' ``try_write`` the long way: a ticket for ``charge_write`` when a write may start now,
        else the :class:`Throttle`."""
        prefix = partition_of(row_key)
        while True:
            now = self._now()
            with self._lock:
                state = self._state(table, now)
                bucket = state.write
                bucket.refill(now)
                if bucket.balance > 0:
                    admitted = True
                    for gsi in state.gsi_write.values():
                        gsi.refill(now)
                        if gsi.balance <= 0:
                            admitted = False
                    if admitted and state.write_keys.room(prefix, now):
                        return table, row_key, state, prefix, now
            throttle = self.check_write(table, prefix)
            if throttle is not None:
                return throttle

    def admit_transaction(self, targets, parsed_kinds=None):
        """Cancel a transaction (one reason per action) when any of its items cannot be read or written now.

        ``targets`` are the actions' ``(table, row_key)``; ``parsed_kinds`` their
        kinds for TransactWriteItems (a ConditionCheck reads), None for TransactGetItems.
        """
        reasons = None
        for i, (table, row_key) in enumerate(targets):
            prefix = partition_of(row_key)
            if parsed_kinds is None or parsed_kinds[i] == "ConditionCheck":
                throttle = self.check_read(table, None, prefix)
            else:                           # the core's admitted case first (its ticket is not used)
                throttle = self.try_write(table, row_key)
                if throttle.__class__ is tuple:
                    throttle = None
            if throttle is not None:
                if reasons is None:
                    reasons = [{"Code": "None"} for _ in targets]
                reasons[i] = throttle.cancellation_reason()
        if reasons is not None:
            from kvstore.operations.transactions import cancel
            raise cancel(reasons)

    # -- charging ------------------------------------------------------------------

    def charge(self, table, units, index_units=None, write=False, prefix=None):
        """Take ``units`` from the table (LSIs included) and ``index_units`` {gsi name: units} from its GSIs."""
        self._take(table, None, prefix, units, write, index_units)

    def _take(self, table, index, prefix, units, write, index_units=None):
        now = self._now()
        with self._lock:
            state = self._state(table, now)
            if index is not None:
                state.gsi_read[index.name].balance -= units
                return
            if write:
                state.write.balance -= units
                if prefix is not None:
                    state.write_keys.take(prefix, units, now)
                if index_units:
                    for name, gsi_units in index_units.items():
                        bucket = state.gsi_write.get(name)
                        if bucket is not None:
                            bucket.balance -= gsi_units
            else:
                state.read.balance -= units
                if prefix is not None:
                    state.read_keys.take(prefix, units, now)

    # -- sizes of large items (the cores measure small ones by their packed length) -------------------

    @staticmethod
    def _write_units(old_packed, old_item, new_packed, new_item):
        return write_units_of(old_packed, new_packed, new_item)

    @staticmethod
    def _read_size(packed):
        return item_size(_core.unpack_item(packed))

    @staticmethod
    def _index_write_units(state, row_key, old_item, new_item, small):
        """``[(write bucket, units)]`` of a write's GSI and LSI entries, as ConsumedCapacity counts them
        (``writing.index_units``: the change to what each index stores)."""
        out = []
        for charge in state.index_charges:
            units = index_units(charge[2], row_key, old_item, new_item, small)
            if units:
                out.append((charge[0], units))
        return out


class PyCapacityMeter(_Meter, PyMeterCore):
    """The capacity meter with its hot path in Python (the reference; the pure core's meter)."""

    Bucket = Bucket
    TableState = _TableState


def _small_index_write_units(charges, old_item, new_item):
    """``_index_write_units`` of a write whose images are at most one write unit each, from the
    state's precomputed ``index_charges``: an item is in an index when it holds the index's key
    attributes (their types were checked when it was written), so no entry is built: one unit per
    entry put, removed or changed in place, two for a moved one, none when the view is unchanged."""
    out = []
    for charge in charges:
        names = charge[1]
        new_in = new_item is not None and all(n in new_item for n in names)
        old_in = old_item is not None and all(n in old_item for n in names)
        if new_in and old_in:
            if not all(old_item[n] == new_item[n] for n in names):
                out.append((charge[0], 2))
            else:
                view = charge[3]
                if view is None:
                    changed = old_item != new_item
                else:
                    changed = any(old_item.get(n, _ABSENT) != new_item.get(n, _ABSENT) for n in view)
                if changed:
                    out.append((charge[0], 1))
        elif new_in or old_in:
            out.append((charge[0], 1))
    return out


_ABSENT = object()


# The operations' calls of the meter (``kvstore._ccapacity``'s module functions of the same names when
# the core is compiled: a builtin function costs the interpreter less to call than a method of the
# meter's Python class).  Each is the method of that name of whichever meter it is given; ``meta`` is
# ``table.meta`` as the caller read it (the compiled meter checks the table's rates against it: the
# interpreter reads an attribute for far fewer instructions than the C API), which the methods read
# themselves.

def _admit_write(meter, table, meta, row_key):
    return meter.admit_write(table, row_key)


def _charge_write(meter, ticket, old_packed, new_packed, old_item, new_item):
    meter.charge_write(ticket, old_packed, new_packed, old_item, new_item)


def _read_item(meter, table, meta, row_key, packed, consistent):
    meter.read_item(table, row_key, packed, consistent)


if _core.implementation == "cython":
    try:
        from kvstore import _ccapacity
    except ImportError:            # a compiled core built before this module existed
        _ccapacity = None
else:
    _ccapacity = None

if _ccapacity is not None:
    class CapacityMeter(_Meter, _ccapacity.MeterCore):
        """The capacity meter, its hot path compiled (``kvstore._ccapacity``)."""

        Bucket = _ccapacity.Bucket
        TableState = _ccapacity.TableState

    _ccapacity.register_meter_class(CapacityMeter)
    admit_write = _ccapacity.admit_write
    charge_write = _ccapacity.charge_write
    read_item = _ccapacity.read_item
else:
    CapacityMeter = PyCapacityMeter
    admit_write = _admit_write
    charge_write = _charge_write
    read_item = _read_item
