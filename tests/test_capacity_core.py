"""The capacity meter's two cores agree: ``kvstore._ccapacity`` (compiled) against ``kvstore.capacity``'s
pure ``PyMeterCore`` (the reference).

Both meters watch the same tables on the same clock; hypothesis drives them
with the same random sequences of admissions, charges (small and large
items, GSI entries put, moved and removed, GetItem's admission and charge of its packed item), clock
moves (within a second, across seconds, past the burst) and UpdateTable
changes of throughput, and after every step the two must have taken the
same decision (the same ticket, or the same DynamoDB error) and hold the same
bucket balances, refill times and per-key windows.
"""

import contextlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kvstore
from kvstore import _core
from kvstore.capacity import PyCapacityMeter, _Meter
from kvstore.clock import ManualClock

try:
    from kvstore import _ccapacity
except ImportError:  # pragma: no cover - depends on the build
    _ccapacity = None

pytestmark = pytest.mark.skipif(_ccapacity is None, reason="kvstore._ccapacity is not built")

if _ccapacity is not None:
    class CompiledMeter(_Meter, _ccapacity.MeterCore):
        Bucket = _ccapacity.Bucket
        TableState = _ccapacity.TableState

relaxed = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
                   max_examples=150)

TABLES = ("small", "indexed", "ondemand")


def _database(clock):
    db = kvstore.open(":memory:", durability="none", clock=clock)
    key = [{"AttributeName": "pk", "KeyType": "HASH"}]
    db.create_table(TableName="small", KeySchema=key, AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                    ProvisionedThroughput={"ReadCapacityUnits": 3, "WriteCapacityUnits": 2})
    db.create_table(
        TableName="indexed", KeySchema=key + [{"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk", "g", "h")],
        ProvisionedThroughput={"ReadCapacityUnits": 4, "WriteCapacityUnits": 5},
        GlobalSecondaryIndexes=[
            {"IndexName": "by_g", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
             "Projection": {"ProjectionType": "ALL"},
             "ProvisionedThroughput": {"ReadCapacityUnits": 2, "WriteCapacityUnits": 3}},
            {"IndexName": "by_gh", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"},
                                                 {"AttributeName": "h", "KeyType": "RANGE"}],
             "Projection": {"ProjectionType": "KEYS_ONLY"},
             "ProvisionedThroughput": {"ReadCapacityUnits": 1, "WriteCapacityUnits": 1}},
            {"IndexName": "by_h", "KeySchema": [{"AttributeName": "h", "KeyType": "HASH"}],
             "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["blob"]},
             "ProvisionedThroughput": {"ReadCapacityUnits": 1, "WriteCapacityUnits": 2}}],
        LocalSecondaryIndexes=[
            {"IndexName": "by_pk_g", "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                                                   {"AttributeName": "g", "KeyType": "RANGE"}],
             "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["v"]}}])
    db.create_table(TableName="ondemand", KeySchema=key,
                    AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                    BillingMode="PAY_PER_REQUEST",
                    OnDemandThroughput={"MaxReadRequestUnits": 6, "MaxWriteRequestUnits": 4})
    return db


@contextlib.contextmanager
def _both_meters():
    """``(clock, tables, (reference, compiled))``: the two meters watching a database of ``TABLES`` on
    a manual clock."""
    clock = ManualClock(start=1_700_000_000.0)
    db = _database(clock)
    try:
        engine = db.engine
        yield clock, {name: engine.tables[name] for name in TABLES}, (PyCapacityMeter(engine), CompiledMeter(engine))
    finally:
        db.close()


def _row_key(table, pk):
    return table.schema.row_key({"pk": pk, "sk": "s"})


pks = st.sampled_from(["a", "b", "c", "d" * 300])
images = st.one_of(st.none(), st.fixed_dictionaries({
    "g": st.sampled_from([None, "x", "y"]),
    "h": st.sampled_from([None, "1", "2"]),
    "v": st.sampled_from([None, "a", "b"]),
    "size": st.sampled_from([0, 10, 200, 900, 3000, 9000]),
}))
steps = st.one_of(
    st.tuples(st.just("write"), st.sampled_from(TABLES), pks, images, images),
    st.tuples(st.just("write"), st.just("indexed"), pks, images, st.sampled_from(["same", "g", "h", "v", "blob"])),
    st.tuples(st.just("try write"), st.sampled_from(TABLES), pks),
    st.tuples(st.just("read"), st.sampled_from(TABLES), pks, st.sampled_from([0, 100, 4096, 4097, 20_000]),
              st.booleans()),
    st.tuples(st.just("get"), st.sampled_from(TABLES), pks, images, st.booleans()),
    st.tuples(st.just("get at once"), st.sampled_from(TABLES), pks, images, st.booleans()),
    st.tuples(st.just("index read"), st.sampled_from([0, 5000]), st.booleans()),
    st.tuples(st.just("scan read"), st.sampled_from(TABLES), st.sampled_from([0, 5000]), st.booleans()),
    st.tuples(st.just("lsi read"), st.one_of(st.none(), pks), st.sampled_from([0, 5000]), st.booleans()),
    st.tuples(st.just("advance"), st.sampled_from([0.0, 0.01, 0.25, 0.5, 1.0, 3.0, 400.0])),
    st.tuples(st.just("throughput"), st.sampled_from(TABLES), st.integers(1, 8)),
)


def _item(pk, image):
    if image is None:
        return None
    item = {"pk": pk, "sk": "s", "blob": "z" * image["size"]}
    for name in ("g", "h", "v"):
        if image[name] is not None:
            item[name] = image[name]
    return item


def _snapshot(meter):
    def bucket(b):
        return (b.rate, b.size, b.balance, b.at, b.limit)

    def window(w):
        return (w.limit, w.second, dict(w.used))

    out = {}
    for table, state in meter._tables.items():
        out[table.name] = (bucket(state.read), bucket(state.write),
                           {n: bucket(b) for n, b in state.gsi_read.items()},
                           {n: bucket(b) for n, b in state.gsi_write.items()},
                           [(bucket(c[0]), c[1], c[2].name, c[3]) for c in state.index_charges],
                           window(state.read_keys), window(state.write_keys), state.arn)
    return out, meter.throttled


def _outcome(call):
    try:
        return "ok", call()
    except Exception as e:   # a throttle: the error's class, message and reasons must agree
        return "error", (type(e).__name__, str(e), getattr(e, "response", None))


def _ticket_view(ticket):
    """What a write ticket holds, comparable across cores: table, row key, state, time (the compiled
    admitted ticket finds its key by its cell in the window, not by its prefix)."""
    return tuple(x if isinstance(x, (bytes, float, int, type(None))) else type(x).__name__.lstrip("_")
                 for x in (ticket[0], ticket[1], ticket[2], ticket[4]))


@relaxed
@given(st.lists(steps, min_size=1, max_size=40))
def test_the_compiled_meter_takes_the_references_decisions(sequence):
    with _both_meters() as (clock, tables, meters):
        index = tables["indexed"].indexes["by_g"]
        for step in sequence:
            kind = step[0]
            results = []
            for meter in meters:
                if kind == "write":
                    _, name, pk, old_image, new_image = step
                    table = tables[name]
                    if isinstance(new_image, str):      # the old image again, or with one attribute changed
                        change, new_image = new_image, dict(old_image) if old_image is not None else None
                        if new_image is not None and change == "blob":
                            new_image["size"] += 1
                        elif new_image is not None and change != "same":
                            new_image[change] = "z" if new_image[change] is None else None
                    old, new = _item(pk, old_image), _item(pk, new_image)
                    old_packed = _core.pack_item(old) if old is not None else None
                    new_packed = _core.pack_item(new) if new is not None else None

                    def write():
                        ticket = meter.admit_write(table, _row_key(table, pk))
                        meter.charge_write(ticket, old_packed, new_packed, old, new)
                        return _ticket_view(ticket)
                    results.append(_outcome(write))
                elif kind == "try write":         # a batch's or transaction's admission: no error raised
                    _, name, pk = step
                    table = tables[name]

                    def try_write():
                        ticket = meter.try_write(table, _row_key(table, pk))
                        if ticket.__class__ is tuple:
                            meter.charge_write(ticket, None, b"x", None, None)
                            return _ticket_view(ticket)
                        return ticket.error().response
                    results.append(_outcome(try_write))
                elif kind == "read":
                    _, name, pk, size, consistent = step
                    table = tables[name]

                    def read():
                        return meter.read(table, None, _row_key(table, pk), size, consistent)
                    results.append(_outcome(read))
                elif kind in ("get", "get at once"):   # at once: the wire's one-step GetItem (admitted, or not metered)
                    _, name, pk, image, consistent = step
                    table = tables[name]
                    item = _item(pk, image)
                    packed = _core.pack_item(item) if item is not None else None
                    read_item = meter.read_item if kind == "get" else meter.read_item_admitted

                    def get():
                        return read_item(table, _row_key(table, pk), packed, consistent)
                    results.append(_outcome(get))
                elif kind == "index read":
                    _, size, consistent = step

                    def index_read():
                        return meter.read(tables["indexed"], index, None, size, consistent)
                    results.append(_outcome(index_read))
                elif kind == "scan read":         # a Scan's page: no partition, so no per-key window
                    _, name, size, consistent = step
                    table = tables[name]

                    def scan_read():
                        return meter.read(table, None, None, size, consistent)
                    results.append(_outcome(scan_read))
                elif kind == "lsi read":          # an LSI reads the table's capacity (and its key's window)
                    _, pk, size, consistent = step
                    table = tables["indexed"]
                    row_key = None if pk is None else _row_key(table, pk)

                    def lsi_read():
                        return meter.read(table, table.indexes["by_pk_g"], row_key, size, consistent)
                    results.append(_outcome(lsi_read))
                elif kind == "throughput":
                    _, name, units = step
                    meter.settle(tables[name])
            if kind == "advance":
                clock.advance(step[1])
            elif kind == "throughput":        # UpdateTable replaces the table's meta: both meters see it
                table = tables[step[1]]
                meta = dict(table.meta)
                if meta.get("BillingMode") == "PAY_PER_REQUEST":
                    meta["OnDemandThroughput"] = {"MaxReadRequestUnits": step[2], "MaxWriteRequestUnits": step[2]}
                else:
                    meta["ProvisionedThroughput"] = dict(meta["ProvisionedThroughput"], ReadCapacityUnits=step[2],
                                                         WriteCapacityUnits=step[2])
                table.meta = meta
            if results:
                assert results[0] == results[1], step
            assert _snapshot(meters[0]) == _snapshot(meters[1]), step


held_steps = st.one_of(
    st.tuples(st.just("admit"), st.sampled_from(TABLES), pks),
    st.tuples(st.just("charge"), st.integers(0, 3), images, images),
    st.tuples(st.just("advance"), st.sampled_from([0.0, 0.25, 1.0])),
)


@relaxed
@given(st.lists(held_steps, min_size=1, max_size=40))
def test_tickets_held_while_other_writes_are_admitted_are_charged_as_the_references(sequence):
    """The compiled meter hands an admitted write its spare ticket when nobody else holds it (no
    ticket made and freed a write).  Writes admitted while earlier ones still hold their tickets (as
    concurrent writes do), and charged in any order, must leave the reference's buckets and windows:
    a ticket a caller holds is never handed out again."""
    with _both_meters() as (clock, tables, meters):
        held = ([], [])          # per meter: (ticket, pk) of the writes admitted and not charged yet
        for step in sequence:
            if step[0] == "advance":
                clock.advance(step[1])
                continue
            results = []
            for meter, tickets in zip(meters, held):
                if step[0] == "admit":
                    _, name, pk = step
                    table = tables[name]

                    def admit():
                        ticket = meter.admit_write(table, _row_key(table, pk))
                        tickets.append((ticket, pk))
                        return _ticket_view(ticket)
                    results.append(_outcome(admit))
                elif tickets:
                    _, which, old_image, new_image = step
                    ticket, pk = tickets.pop(which % len(tickets))
                    old, new = _item(pk, old_image), _item(pk, new_image)
                    meter.charge_write(ticket, _core.pack_item(old) if old is not None else None,
                                       _core.pack_item(new) if new is not None else None, old, new)
                    results.append(_ticket_view(ticket))
                    del ticket
            if results:
                assert results[0] == results[1], step
            assert [_ticket_view(t) for t, _ in held[0]] == [_ticket_view(t) for t, _ in held[1]], step
            assert _snapshot(meters[0]) == _snapshot(meters[1]), step


@relaxed
@given(st.lists(steps, min_size=1, max_size=40), st.sampled_from(["python", "compiled"]))
def test_a_get_tried_at_once_then_the_general_way_is_metered_as_one_get(sequence, core):
    """``read_item_admitted`` (the wire's one-step GetItem) followed, when it says no, by ``read_item``
    (the handler's general path) takes the decision and leaves the state ``read_item`` alone does:
    a refusal at once charges and counts nothing, so a throttle counts once.  Two meters of one core
    over the same sequence, the second reading only through ``read_item``."""
    meter_class = CompiledMeter if core == "compiled" else PyCapacityMeter
    clock = ManualClock(start=1_700_000_000.0)
    db = _database(clock)
    try:
        engine = db.engine
        tables = {name: engine.tables[name] for name in TABLES}
        both_ways, general = meter_class(engine), meter_class(engine)
        for step in sequence:
            if step[0] == "advance":
                clock.advance(step[1])
                continue
            if step[0] not in ("get", "get at once"):
                continue
            _, name, pk, image, consistent = step
            table = tables[name]
            item = _item(pk, image)
            packed = _core.pack_item(item) if item is not None else None
            row_key = _row_key(table, pk)

            def tried_at_once():
                if not both_ways.read_item_admitted(table, row_key, packed, consistent):
                    both_ways.read_item(table, row_key, packed, consistent)
            assert _outcome(tried_at_once) == _outcome(lambda: general.read_item(table, row_key, packed, consistent))
            assert _snapshot(both_ways) == _snapshot(general), step
    finally:
        db.close()


hot_steps = st.one_of(
    st.tuples(st.just("write"), pks, st.sampled_from([0, 10, 900, 3000])),
    st.tuples(st.just("try write"), pks),
    st.tuples(st.just("get"), pks, st.sampled_from([0, 5000]), st.booleans()),
    st.tuples(st.just("advance"), st.sampled_from([0.0, 0.3, 1.0])),
)


@relaxed
@given(st.lists(hot_steps, min_size=1, max_size=60))
def test_the_compiled_key_window_refuses_as_the_reference_once_a_value_reaches_the_limit(sequence):
    """The per-key limit (a partition's 1,000 WCU / 3,000 RCU a second for one key value) decides, not the
    table's capacity: an on-demand table far from its quota, its windows' limits lowered on both meters
    to a few units so that random sequences reach them.  The compiled window admits a write without
    reading its cell while no value has reached the limit this second (``KeyWindow.peak``); the
    decisions, errors and windows must still be the reference's, and ``peak`` the most any value used."""
    _run_hot(sequence, None)


@relaxed
@given(st.lists(hot_steps, min_size=1, max_size=60), st.sampled_from([1, 2]))
def test_the_compiled_key_window_decides_as_the_reference_while_values_share_its_bounds(sequence, slots):
    """A second of the compiled window starts lazy: a value is admitted at once while the counter its hash
    picks (the sum of what every value sharing it used) is below the limit, and the window turns exact
    (its log replayed into cells) the first time a value's counter is not.  With one or two counters,
    values share them, so a counter reaches the limit while the value asking has not: the decisions,
    errors, windows and ``peak`` must still be the reference's, whichever way the window decided."""
    _run_hot(sequence, slots)


def _hot_table():
    """``(clock, db, table)``: a database without durability on a manual clock, holding the on-demand
    table "hot" (hash key ``pk``, S); the caller closes it."""
    clock = ManualClock(start=1_700_000_000.0)
    db = kvstore.open(":memory:", durability="none", clock=clock)
    try:
        db.create_table(TableName="hot", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                        BillingMode="PAY_PER_REQUEST")
    except BaseException:
        db.close()
        raise
    return clock, db, db.engine.tables["hot"]


def _run_hot(sequence, slots):
    clock, db, table = _hot_table()
    try:
        meters = (PyCapacityMeter(db.engine), CompiledMeter(db.engine))
        for meter in meters:
            with meter._lock:
                state = meter._state(table, meter._now())
            state.write_keys.limit = 3
            state.read_keys.limit = 2
            if slots is not None and isinstance(state.write_keys, _ccapacity.KeyWindow):
                state.write_keys.bound_slots = slots
                state.read_keys.bound_slots = slots
        for step in sequence:
            kind = step[0]
            if kind == "advance":
                clock.advance(step[1])
                continue
            results = []
            for meter in meters:
                row_key = _row_key(table, step[1])
                if kind == "write":
                    new = _item(step[1], {"g": None, "h": None, "v": None, "size": step[2]})
                    new_packed = _core.pack_item(new)

                    def write():
                        ticket = meter.admit_write(table, row_key)
                        meter.charge_write(ticket, None, new_packed, None, new)
                        return _ticket_view(ticket)
                    results.append(_outcome(write))
                elif kind == "try write":

                    def try_write():
                        ticket = meter.try_write(table, row_key)
                        if ticket.__class__ is tuple:
                            meter.charge_write(ticket, None, b"x", None, None)
                            return _ticket_view(ticket)
                        return ticket.error().response
                    results.append(_outcome(try_write))
                else:
                    _, _, size, consistent = step
                    results.append(_outcome(lambda: meter.read(table, None, row_key, size, consistent)))
            assert results[0] == results[1], step
            assert _snapshot(meters[0]) == _snapshot(meters[1]), step
            state = meters[1]._tables[table]
            for window in (state.write_keys, state.read_keys):
                assert window.peak == max(window.used.values(), default=0.0), step
    finally:
        db.close()


def test_a_value_whose_bound_another_value_filled_is_still_admitted():
    """One counter for every value (``bound_slots = 1``): once ``a`` used the limit, the counter says
    nothing of ``b``, so ``b``'s admission replays the second's log into cells (the window turns exact)
    and admits it, as the reference does; ``a`` is refused; a new second starts lazy again."""
    clock, db, table = _hot_table()
    try:
        meter = CompiledMeter(db.engine)
        with meter._lock:
            window = meter._state(table, meter._now()).write_keys
        window.limit = 3
        window.bound_slots = 1
        packed = _core.pack_item({"pk": "a"})

        def write(pk):
            ticket = meter.admit_write(table, _row_key(table, pk))
            meter.charge_write(ticket, None, packed, None, None)

        for _ in range(3):
            write("a")
        assert not window.exact and window.peak == 3.0
        write("b")
        assert window.exact
        assert window.used == {_row_key(table, "a")[:6 + 1]: 3.0, _row_key(table, "b")[:6 + 1]: 1.0}
        with pytest.raises(kvstore.errors.ThrottlingException):
            write("a")
        clock.advance(1.0)
        write("a")
        assert not window.exact and window.used == {_row_key(table, "a")[:6 + 1]: 1.0}
    finally:
        db.close()


def test_the_operations_calls_are_the_methods_of_any_meter():
    """``kvstore.capacity.admit_write / charge_write / read_item`` (builtins with the compiled core) take
    the meter and the table's meta first and do what the meter's methods do: the compiled meter's
    admitted case in C, any other meter (the reference, a subclass) through its methods."""
    from kvstore import capacity

    calls = []

    class Watched(capacity.CapacityMeter):
        def admit_write(self, table, row_key):
            calls.append("admit")
            return super().admit_write(table, row_key)

    def run(meter_class, through_functions):
        clock = ManualClock(start=1_700_000_000.0)
        db = _database(clock)
        try:
            meter = meter_class(db.engine)
            table = db.engine.tables["small"]
            row_key = _row_key(table, "a")
            small, large = {"pk": "a", "sk": "s"}, {"pk": "a", "sk": "s", "blob": "z" * 5000}
            outcomes = []
            for item in (small, small, large, small):
                packed = _core.pack_item(item)
                if through_functions:
                    def step():
                        ticket = capacity.admit_write(meter, table, table.meta, row_key)
                        capacity.charge_write(meter, ticket, None, packed, None, item)
                        capacity.read_item(meter, table, table.meta, row_key, packed, None)
                        return _ticket_view(ticket)
                else:
                    def step():
                        ticket = meter.admit_write(table, row_key)
                        meter.charge_write(ticket, None, packed, None, item)
                        meter.read_item(table, row_key, packed, None)
                        return _ticket_view(ticket)
                outcomes.append(_outcome(step))
                clock.advance(0.25)
            return outcomes, _snapshot(meter)
        finally:
            db.close()

    expected = run(PyCapacityMeter, False)
    assert expected[0][-1][0] == "error"           # the large write took the table below zero
    for meter_class in (capacity.CapacityMeter, PyCapacityMeter, Watched):
        assert run(meter_class, True) == expected, meter_class
    assert calls == ["admit"] * 4
    with pytest.raises(TypeError):
        capacity.admit_write(None, None, None)


def test_the_compiled_meter_is_the_default_with_the_compiled_core():
    from kvstore import capacity
    if _core.implementation == "cython":
        assert issubclass(capacity.CapacityMeter, _ccapacity.MeterCore)
    else:
        assert capacity.CapacityMeter is PyCapacityMeter


def test_the_mutex_is_a_lock():
    lock = _ccapacity.Mutex()
    with lock:
        pass
    assert lock.acquire()
    lock.release()


def test_the_mutex_excludes_threads_that_give_up_the_gil_while_holding_it():
    """The compiled Mutex is a flag the GIL guards: a holder that gives up the GIL (as the cold Python
    code may, between bytecodes or in time.sleep) still keeps every other thread out."""
    import threading
    import time

    lock = _ccapacity.Mutex()
    inside = []
    overlaps = []

    def worker():
        for _ in range(200):
            with lock:
                inside.append(1)
                if len(inside) > 1:
                    overlaps.append(len(inside))
                time.sleep(0)              # gives up the GIL while holding the lock
                inside.pop()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert overlaps == []
    assert not lock.locked()
    with pytest.raises(RuntimeError):
        lock.release()


def _paged_database(clock):
    """A table of little read capacity (and a KEYS_ONLY GSI of less) whose partitions hold items of
    every size class a page's read units depend on: small, past 1 KB packed, past 4 KB, nested."""
    db = kvstore.open(":memory:", durability="none", clock=clock, capacity="enforce")
    db.create_table(
        TableName="paged", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                                      {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk", "g")],
        ProvisionedThroughput={"ReadCapacityUnits": 3, "WriteCapacityUnits": 1000},
        GlobalSecondaryIndexes=[{"IndexName": "by_g", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                                 "Projection": {"ProjectionType": "KEYS_ONLY"},
                                 "ProvisionedThroughput": {"ReadCapacityUnits": 2, "WriteCapacityUnits": 1000}}])
    table = db.Table("paged")
    for i in range(24):
        item = {"pk": f"p{i % 3}", "sk": f"{i:02}", "g": f"g{i % 2}", "blob": "x" * (40, 300, 1500)[i % 3]}
        if i % 5 == 0:
            item["nested"] = {"list": [None, [], {}], "n": 1}
        table.put_item(Item=item)
    return db                              # (the clock has not moved: reads soon run out of capacity)


page_steps = st.one_of(
    st.tuples(st.just("query"), st.sampled_from(["p0", "p1", "p2", "none"]), st.sampled_from([None, 1, 3, 10]),
              st.sampled_from([None, True, False])),
    st.tuples(st.just("index query"), st.sampled_from(["g0", "g1"]), st.sampled_from([None, 2, 10])),
    st.tuples(st.just("scan"), st.sampled_from([None, 1, 5, 30]), st.sampled_from([None, True, False])),
    st.tuples(st.just("advance"), st.sampled_from([0.0, 0.05, 0.5, 1.0, 30.0])),
)


def _page_kwargs(step):
    kind = step[0]
    if kind == "query":
        kwargs = {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": step[1]}}
        if step[3] is not None:
            kwargs["ConsistentRead"] = step[3]
    elif kind == "index query":
        kwargs = {"IndexName": "by_g", "KeyConditionExpression": "g = :g", "ExpressionAttributeValues": {":g": step[1]}}
    else:
        kwargs = {} if step[2] is None else {"ConsistentRead": step[2]}
    limit = step[1] if kind == "scan" else step[2]
    if limit is not None:
        kwargs["Limit"] = limit
    return ("Scan" if kind == "scan" else "Query"), kwargs


@relaxed
@given(st.lists(page_steps, min_size=1, max_size=30))
def test_a_compiled_page_is_metered_as_the_python_page(sequence):
    """``embedded_read`` of the compiled core admits and charges a plan's page through the meter's C
    entry (``MeterCore._read``, no Python call); the pure core's through ``meter.read``.  Driven with the
    same pages and clock moves, two databases must answer alike (items, or the same throttling error,
    named for the call's operation) and leave the same buckets and per-key windows."""
    from kvstore import _cread, _pycore

    clocks = (ManualClock(start=1_700_000_000.0), ManualClock(start=1_700_000_000.0))
    dbs = tuple(_paged_database(clock) for clock in clocks)
    cores = (_cread.embedded_read, _pycore.embedded_read)
    answered = 0
    try:
        for step in sequence:
            if step[0] == "advance":
                for clock in clocks:
                    clock.advance(step[1])
                continue
            operation, kwargs = _page_kwargs(step)
            outcomes = []
            for db, embedded_read in zip(dbs, cores):
                table = db.Table("paged")

                def page():
                    prefix = ("embedded", operation, "paged", db.allow_floats)
                    response = embedded_read(db.engine, prefix, dict(kwargs))
                    if response.__class__ is dict:
                        return "plan", response
                    call = table.query if operation == "Query" else table.scan
                    response = call(**kwargs)      # the general path (which leaves the plan)
                    response.pop("ResponseMetadata")
                    return "general", response

                try:
                    outcome = ("ok", page())
                except Exception as e:     # a throttle: same class, message, reasons and operation
                    outcome = ("error", (type(e).__name__, str(e), getattr(e, "response", None),
                                         getattr(e, "_operation_name", None)))
                outcomes.append(outcome)
            assert outcomes[0] == outcomes[1], step
            answered += outcomes[0][0] == "ok" and outcomes[0][1][0] == "plan"
            assert _snapshot(dbs[0].engine.capacity) == _snapshot(dbs[1].engine.capacity), step
    finally:
        for db in dbs:
            db.close()


def test_compiled_pages_are_metered_without_a_python_call():
    """The compiled page path reaches the meter's C entry: a page the meter refuses raises the
    throttling error named for its operation, and an admitted one is charged (what the hypothesis
    test above compares against the pure core)."""
    from kvstore import _cread

    clock = ManualClock(start=1_700_000_000.0)
    db = _paged_database(clock)
    try:
        table = db.Table("paged")
        kwargs = {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": "p1"},
                  "ConsistentRead": True}
        table.query(**kwargs)                  # builds the plan
        prefix = ("embedded", "Query", "paged", db.allow_floats)
        state = db.engine.capacity._tables[db.engine.tables["paged"]]
        before = state.read.balance
        assert _cread.embedded_read(db.engine, prefix, dict(kwargs)).__class__ is dict
        assert state.read.balance < before
        state.read.balance = -1.0              # out of read capacity until the clock moves
        with pytest.raises(Exception) as raised:
            _cread.embedded_read(db.engine, prefix, dict(kwargs))
        assert type(raised.value).__name__ == "ProvisionedThroughputExceededException"
        assert raised.value._operation_name == "Query"
    finally:
        db.close()
