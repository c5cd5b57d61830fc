"""The read path's core entry points: ``request_row_key``, ``take_forward`` /
``take_reverse`` and ``read_page`` agree between ``kvstore._pycore`` (the
reference) and ``kvstore._ccore`` (compiled), and ``read_page`` is the walk
Query and Scan did before it existed (``iter_range`` + look up + Limit + 1 MB).
"""

import threading
from itertools import islice

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from sortedcontainers import SortedList

from kvstore.types import Binary, number

from tests.cores import CORES, ccore, needs_ccore, pycore

relaxed = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])

names = st.sampled_from(["pk", "sk", "other", ""])
tags = st.sampled_from(["S", "N", "B", "X", None])
key_values = st.one_of(
    st.text(max_size=12), st.text(min_size=1020, max_size=1030), st.text(min_size=2040, max_size=2052),
    st.integers(-10**6, 10**6).map(number), st.binary(max_size=12).map(Binary),
    st.binary(min_size=1020, max_size=1030).map(Binary), st.none(), st.integers(), st.booleans())
keys = st.one_of(st.dictionaries(names, key_values, max_size=3), st.none(), st.lists(st.integers(), max_size=2))


@needs_ccore
@relaxed
@given(keys, names, tags, st.one_of(st.none(), names), tags)
@example({"pk": "a"}, "pk", "S", None, None)
@example({"pk": "a", "sk": number("1")}, "pk", "S", "sk", "N")
@example({"pk": "", "sk": number("1")}, "pk", "S", "sk", "N")
@example({"pk": "é" * 1024, "sk": "x"}, "pk", "S", "sk", "S")
@example({"pk": "é" * 1025, "sk": "x"}, "pk", "S", "sk", "S")
def test_request_row_key_agrees(key, hash_name, hash_tag, range_name, range_tag):
    expected = pycore.request_row_key(key, hash_name, hash_tag, range_name, range_tag)
    assert ccore.request_row_key(key, hash_name, hash_tag, range_name, range_tag) == expected
    if expected is not None:
        h = key[hash_name]
        assert expected == pycore.storage_key(h, None if range_name is None else key[range_name])


@pytest.mark.parametrize("core", CORES)
def test_request_row_key_refuses_what_the_operations_reject(core):
    ok = {"pk": "a", "sk": "b"}
    assert core.request_row_key(ok, "pk", "S", "sk", "S") == pycore.storage_key("a", "b")
    for bad in ({"pk": "a"}, {"pk": "a", "sk": "b", "x": "c"}, {"pk": "", "sk": "b"}, {"pk": "a", "sk": ""},
                {"pk": number("1"), "sk": "b"}, {"pk": "a", "sk": Binary(b"")}, {"pk": "a" * 2049, "sk": "b"},
                {"pk": "a", "sk": "b" * 1025}, {"pk": "a", "other": "b"}):
        assert core.request_row_key(bad, "pk", "S", "sk", "S") is None, bad
    assert core.request_row_key({"pk": "a" * 2048, "sk": "b" * 1024}, "pk", "S", "sk", "S") is not None


def _sorted(values, load):
    keys = SortedList(values)
    keys._reset(load)
    return keys


bounds = st.one_of(st.none(), st.binary(min_size=1, max_size=3))


@needs_ccore
@relaxed
@given(st.lists(st.binary(max_size=3), max_size=300), bounds, st.booleans(), bounds, st.booleans(),
       st.integers(0, 40), st.sampled_from([4, 16, 1000]))
def test_take_agrees(values, lo, lo_inc, hi, hi_inc, n, load):
    keys = _sorted(values, load)
    expected = list(islice(keys.irange(lo, hi, (lo_inc, hi_inc)), n))
    assert pycore.take_forward(keys, lo, lo_inc, hi, hi_inc, n) == expected
    assert ccore.take_forward(keys, lo, lo_inc, hi, hi_inc, n) == expected
    expected = list(islice(keys.irange(lo, hi, (lo_inc, hi_inc), reverse=True), n))
    assert pycore.take_reverse(keys, lo, lo_inc, hi, hi_inc, n) == expected
    assert ccore.take_reverse(keys, lo, lo_inc, hi, hi_inc, n) == expected


@needs_ccore
def test_take_hands_keys_that_are_not_bytes_to_the_reference():
    keys = _sorted(["a", "b", "c"], 4)
    assert ccore.take_forward(keys, "a", False, None, True, 5) == ["b", "c"]
    assert ccore.take_reverse(keys, None, True, "c", False, 5) == ["b", "a"]


def _table(rows, partitions, load):
    """``rows`` spread over ``partitions`` SortedLists by first byte, as kvstore.engine.table lays them out."""
    shift = 8 - (partitions.bit_length() - 1)
    lists = [SortedList() for _ in range(partitions)]
    for sub in lists:
        sub._reset(load)
    for key in rows:
        lists[key[0] >> shift].add(key)
    return lists, [threading.RLock() for _ in range(partitions)], shift


items = st.dictionaries(st.binary(min_size=1, max_size=3),
                        st.fixed_dictionaries({"v": st.text(max_size=30)}), max_size=120)


@needs_ccore
@relaxed
@given(items, st.sets(st.binary(min_size=1, max_size=3), max_size=10), st.sampled_from([1, 4, 16]),
       st.sampled_from([4, 16, 1000]), bounds, st.booleans(), bounds, st.booleans(), st.booleans(),
       st.integers(1, 130), st.one_of(st.none(), st.integers(1, 50)), st.integers(1, 2000), st.booleans())
def test_read_page_agrees(rows, removed, partitions, load, lo, lo_inc, hi, hi_inc, reverse, chunk, limit,
                          page_size, unpack):
    packed = {k: pycore.pack_item(v) for k, v in rows.items()}
    lists, locks, shift = _table(list(packed) + [k for k in removed if k not in packed], partitions, load)
    args = (lists, locks, shift, lo, lo_inc, hi, hi_inc, reverse, chunk, packed, limit, page_size, unpack)
    expected = pycore.read_page(*args)
    assert ccore.read_page(*args) == expected
    # ... and it is the walk Query/Scan did before: iter_range's batches, look up, stop at Limit or the size.
    found, read_bytes, stopped = expected
    walked, total = [], 0
    order = range(partitions - 1, -1, -1) if reverse else range(partitions)
    first = 0 if lo is None else lo[0] >> shift
    last = partitions - 1 if hi is None else hi[0] >> shift
    for p in order:
        if not first <= p <= last:
            continue
        it = lists[p].irange(lo, hi, (lo_inc, hi_inc), reverse=reverse)
        for key in it:
            if key not in packed:
                continue
            walked.append(pycore.unpack_item(packed[key]) if unpack else packed[key])
            total += len(packed[key])
            if len(walked) == limit or total >= page_size:
                break
        else:
            continue
        break
    assert found == walked and read_bytes == total
    assert stopped == (len(walked) == limit or total >= page_size)


attribute_values = st.one_of(
    st.text(max_size=40), st.text(min_size=200, max_size=600), st.booleans(), st.none(),
    st.decimals(allow_nan=False, allow_infinity=False, places=3, min_value=-10**9, max_value=10**9).map(
        lambda d: number(str(d))),
    st.integers(-10**30, 10**30).map(number), st.binary(max_size=300).map(Binary),
    st.lists(st.none(), max_size=40), st.dictionaries(st.text(max_size=3), st.booleans(), max_size=20),
    st.frozensets(st.text(max_size=5), min_size=1, max_size=5).map(set))
sized_items = st.dictionaries(st.binary(min_size=1, max_size=2), st.dictionaries(
    st.text(min_size=1, max_size=8), attribute_values, min_size=1, max_size=17), max_size=30)


@needs_ccore
@relaxed
@given(sized_items, st.one_of(st.none(), st.integers(1, 30)), st.booleans())
@example({b"a": {"l": [None] * 40, "p": "x" * 250}}, None, False)
def test_a_sized_page_gives_the_read_units_of_its_dynamodb_size(rows, limit, reverse):
    """``read_page(..., unpack=True, sized=True)``: both cores give the same size, and it is in the same
    4 KB read unit as the exact DynamoDB size of the items read (the stored length stands in for it only
    where that cannot change the units)."""
    from kvstore.operations.common import read_units
    packed = {k: pycore.pack_item(v) for k, v in rows.items()}
    lists, locks, shift = _table(list(packed), 4, 16)
    args = (lists, locks, shift, None, True, None, True, reverse, 8, packed, limit, 1 << 20, True, True)
    found, size, stopped = pycore.read_page(*args)
    assert ccore.read_page(*args) == (found, size, stopped)
    unsized = pycore.read_page(*args[:-1])
    assert unsized[0] == found and unsized[2] == stopped
    exact = sum(pycore.item_size(item) for item in found)
    assert read_units(size, True) == read_units(exact, True)


@relaxed
@given(st.dictionaries(st.text(min_size=1, max_size=8), attribute_values, min_size=1, max_size=17))
def test_a_flat_items_dynamodb_size_is_below_its_packed_length(item):
    """What ``read_size`` relies on: an item of strings, numbers, binaries, booleans and nulls is smaller
    by DynamoDB's measure than packed."""
    packed = pycore.pack_item(item)
    if pycore.flat_item(packed):
        assert pycore.item_size(item) <= len(packed)


# ------------------------------------------------------------------ prepared Query and Scan plans

members = st.sampled_from(["TableName", "IndexName", "KeyConditionExpression", "FilterExpression",
                           "ProjectionExpression", "Select", "ScanIndexForward", "ConsistentRead",
                           "ReturnConsumedCapacity", "Limit", "ExclusiveStartKey", "ExpressionAttributeValues",
                           "ExpressionAttributeNames", "KeyConditions", "Segment", "AttributesToGet"])
member_values = st.one_of(st.text(max_size=5), st.booleans(), st.none(), st.integers(), key_values,
                          st.dictionaries(st.one_of(st.text(max_size=3), st.integers()),
                                          st.one_of(st.text(max_size=3), key_values), max_size=3))


@needs_ccore
@relaxed
@given(st.dictionaries(members, member_values, max_size=8), st.one_of(st.just(()), st.tuples(st.integers())))
@example({"TableName": "t", "KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": "a"}}, (1,))
@example({"TableName": "t", "ExpressionAttributeNames": {"#a": "a"}, "Limit": 3}, ())
@example({"TableName": "t", "ExpressionAttributeNames": {"#a": 1}}, ())
def test_read_shape_agrees(request, prefix):
    expected = pycore.read_shape(prefix, request)
    assert ccore.read_shape(prefix, request) == expected
    if expected is not None:
        assert expected[:len(prefix)] == prefix and hash(expected) is not None


@pytest.mark.parametrize("core", CORES)
def test_read_shape_tells_shapes_apart(core):
    base = {"TableName": "t", "KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": "a"}}
    shape = core.read_shape((), base)
    assert core.read_shape((), {**base, "ExpressionAttributeValues": {":p": "b"}}) == shape     # values: no
    for other in ({**base, "ExpressionAttributeValues": {":p": number("1")}}, {**base, "Limit": 1},
                  {**base, "ScanIndexForward": False}, {**base, "TableName": "u"},
                  {**base, "ExpressionAttributeNames": {"#p": "pk"}}):
        assert core.read_shape((), other) != shape
    for unplanned in ({**base, "KeyConditions": {}}, {**base, "ScanIndexForward": 0}, {**base, "Segment": 0},
                      {**base, "ExpressionAttributeValues": {1: "a"}}):
        assert core.read_shape((), unplanned) is None


bound_values = st.one_of(st.text(max_size=6), st.text(min_size=250, max_size=260),
                         st.integers(-10**6, 10**6).map(number), st.binary(max_size=6).map(Binary),
                         st.binary(min_size=1020, max_size=1030).map(Binary), st.just("a\x00b"),
                         st.just(Binary(b"\x00\xff")), st.none())
key_tags = st.sampled_from(["S", "N", "B"])
operators = st.sampled_from([None, "EQ", "LT", "LE", "GT", "GE", "BETWEEN", "BEGINS_WITH"])


@needs_ccore
@relaxed
@given(bound_values, key_tags, operators, bound_values, bound_values, key_tags, st.booleans())
@example("a", "S", "GT", "\xff", None, "S", True)
@example("a", "S", "BEGINS_WITH", "a\x00", None, "S", True)
def test_query_bounds_agrees_with_the_key_schema(hash_value, hash_tag, op, v1, v2, range_tag, delimited):
    from kvstore.engine.schema import KeySchema

    values = () if op is None else (v1, v2) if op == "BETWEEN" else (v1,)
    expected = pycore.query_bounds(hash_value, hash_tag, op, values, range_tag, delimited)
    assert ccore.query_bounds(hash_value, hash_tag, op, values, range_tag, delimited) == expected
    if expected is not None:
        schema = KeySchema("h", hash_tag, "r", range_tag, delimited)
        assert expected == schema.range_bounds(hash_value, op, values)


# ------------------------------------------------------------------ the wire GetItem's key

number_texts = st.one_of(
    st.sampled_from(["0", "-0", "1", "10", "100", "-1", "0.5", "-0.5", "0.50", "0.0", "00", "01", "1.", ".5",
                     "1e2", "1E2", "+1", "1.05", "-0.001", "9" * 38, "9" * 39, "0." + "0" * 35 + "1", " 1",
                     "1_0", "٣"]),
    st.decimals(allow_nan=False, allow_infinity=False, places=3).map(str),
    st.integers(-10**40, 10**40).map(str), st.text(alphabet="-0123456789.eE", max_size=8))
wire_values = st.one_of(
    number_texts.map(lambda t: {"N": t}), st.text(max_size=6).map(lambda t: {"S": t}),
    st.text(min_size=1020, max_size=1030).map(lambda t: {"S": t}),
    st.text(min_size=2040, max_size=2052).map(lambda t: {"S": t}),
    st.sampled_from([{"B": "AA=="}, {"S": 1}, {"N": 1}, {"S": "a", "N": "1"}, {}, "a", None, {"BOOL": True},
                     {"S": "\ud800"}, {"S": "é"}]))
wire_keys = st.one_of(st.dictionaries(names, wire_values, max_size=3), st.none(), st.just([]))


@pytest.mark.parametrize("core", CORES)
@relaxed
@given(wire_keys, names, tags, st.one_of(st.none(), names), tags)
@example({"pk": {"N": "-0.05"}, "sk": {"S": "a"}}, "pk", "N", "sk", "S")
def test_wire_row_key_is_the_row_key_of_the_converted_key(core, key, hash_name, hash_tag, range_name, range_tag):
    """``wire_row_key`` agrees between the cores and, when it answers, with converting the key in full
    (``item_from_wire``) and building its row key (``request_row_key``): the bytes the stored row has."""
    if range_name == hash_name:
        range_name = None
    found = core.wire_row_key(key, hash_name, hash_tag, range_name, range_tag)
    assert found == pycore.wire_row_key(key, hash_name, hash_tag, range_name, range_tag)
    if found is not None:
        native = pycore.item_from_wire(key)
        assert found == pycore.request_row_key(native, hash_name, hash_tag, range_name, range_tag)


# ------------------------------------------------------------------ read plans (session 8)

@pytest.fixture(scope="module")
def planned():
    """A table (pk, sk: S) with a GSI (g, sk) and a hash-only GSI (g), every shape of ``_read_calls``
    already called once with values that pass, so each has its prepared plan."""
    import kvstore

    db = kvstore.open(":memory:")
    s = {"AttributeType": "S"}
    db.create_table(
        TableName="plans", BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": n, **s} for n in ("pk", "sk", "g")],
        GlobalSecondaryIndexes=[
            {"IndexName": "by_g", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"},
                                                {"AttributeName": "sk", "KeyType": "RANGE"}],
             "Projection": {"ProjectionType": "ALL"}},
            {"IndexName": "by_g_only", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
             "Projection": {"ProjectionType": "KEYS_ONLY"}}])
    table = db.Table("plans")
    with table.batch_writer() as writer:
        for p in range(3):
            for k in range(25):
                writer.put_item(Item={"pk": f"p{p}", "sk": f"s{k:02d}", "g": f"g{k % 2}", "n": number(str(k)),
                                      "x": "v" * k})
    for limit in (5, _ABSENT):
        for start in (_ABSENT, {"pk": "p1", "sk": "s05"}):
            for action, kwargs in _read_calls("p1", "s05", "g1", limit, start):
                for _ in range(2):      # the first leaves the plan, the second binds the call's shape to it
                    try:
                        getattr(table, action.lower())(**kwargs)
                    except kvstore.errors.ValidationException:      # a table's start key on an index
                        pass
    yield db, table
    db.close()


_KEY_TEXTS = {"=": "pk = :p AND sk = :s", "<": "pk = :p AND sk < :s", "<=": ":s >= sk AND pk = :p",
              ">": "pk = :p AND sk > :s", ">=": "pk = :p AND sk >= :s", "begins": "pk = :p AND begins_with(sk, :s)",
              "between": "pk = :p AND sk BETWEEN :s AND :s", None: "pk = :p"}


def _read_calls(p, s, g, limit, start):
    """``(action, kwargs)`` of every shape the one-call page covers or declines, with these values."""
    calls = []
    for op, text in _KEY_TEXTS.items():
        values = {":p": p} if op is None else {":p": p, ":s": s}
        calls.append(("Query", {"KeyConditionExpression": text, "ExpressionAttributeValues": values}))
    calls.append(("Query", {"KeyConditionExpression": "pk = :p AND sk >= :s", "ScanIndexForward": False,
                            "ExpressionAttributeValues": {":p": p, ":s": s}}))
    calls.append(("Query", {"IndexName": "by_g", "KeyConditionExpression": "g = :g AND sk > :s",
                            "ExpressionAttributeValues": {":g": g, ":s": s}}))
    calls.append(("Query", {"IndexName": "by_g_only", "KeyConditionExpression": "g = :g",
                            "ExpressionAttributeValues": {":g": g}, "ReturnConsumedCapacity": "NONE"}))
    calls.append(("Query", {"KeyConditionExpression": "pk = :p", "FilterExpression": "n > :s",
                            "ExpressionAttributeValues": {":p": p, ":s": s}}))
    calls.append(("Query", {"KeyConditionExpression": "pk = :p", "ReturnConsumedCapacity": "TOTAL",
                            "ExpressionAttributeValues": {":p": p}}))
    calls.append(("Scan", {}))
    calls.append(("Scan", {"IndexName": "by_g"}))
    calls.append(("Scan", {"ProjectionExpression": "pk"}))
    out = []
    for action, kwargs in calls:
        if limit is not _ABSENT:
            kwargs["Limit"] = limit
        if start is not _ABSENT:
            kwargs["ExclusiveStartKey"] = start
        out.append((action, kwargs))
    return out


_ABSENT = object()         # a member left out of the call
call_values = st.one_of(st.sampled_from(["p0", "p1", "p2", "p9", "g0", "g1", "s", "s05", "s24", "t", "\x00", "\xff"]),
                        st.sampled_from(["", "é", "\ud800", "x" * 600, "x" * 300]), st.text(max_size=4),
                        st.integers(-2, 30), st.none(), st.binary(max_size=2), st.just({"a"}))
call_limits = st.one_of(st.none(), st.integers(-1, 80), st.sampled_from(["3", 2.0, True, 2 ** 70]))
call_starts = st.one_of(st.none(), call_values,
                        st.fixed_dictionaries({"pk": call_values, "sk": call_values}),
                        st.fixed_dictionaries({"pk": call_values}),
                        st.fixed_dictionaries({"pk": call_values, "sk": call_values, "g": call_values}))


@needs_ccore
@relaxed
@given(call_values, call_values, call_values, call_limits, st.booleans(), call_starts, st.booleans())
@example("p1", "s05", "g1", 5, True, None, False)
@example("p1", "s05", "g1", 5, True, {"pk": "p1", "sk": "s07"}, True)
def test_embedded_read_agrees_and_answers_as_the_general_path(planned, p, s, g, limit, with_limit, start,
                                                               with_start):
    """Both cores give the same response (or shape) for every call, and a response is exactly what the
    general path (``Table._call``: conversion, parameter check, ``execute``) answers."""
    db, table = planned
    engine = db.engine
    calls = _read_calls(p, s, g, limit if with_limit else _ABSENT, start if with_start else _ABSENT)
    for action, kwargs in calls:
        prefix = ("embedded", action, table.name, db.allow_floats)
        found = ccore.embedded_read(engine, prefix, kwargs)
        assert found == pycore.embedded_read(engine, prefix, kwargs), (action, kwargs)
        if found.__class__ is dict:
            event("answered in one call")
            assert found == table._call(action, kwargs), (action, kwargs)
        else:
            assert found == pycore.read_shape(prefix, kwargs)


@pytest.mark.parametrize("core", CORES)
def test_embedded_read_answers_the_usual_calls_in_one_step(planned, core):
    """The bench's Query (``pk = :p AND sk >= :s``, Limit 10), a GSI Query and a paged Scan are answered
    by the one-call page; a filter, ConsumedCapacity TOTAL, BETWEEN or a Query start key are not."""
    db, table = planned
    engine = db.engine

    def read(action, **kwargs):
        return core.embedded_read(engine, ("embedded", action, table.name, db.allow_floats), kwargs)

    page = read("Query", KeyConditionExpression="pk = :p AND sk >= :s",
                ExpressionAttributeValues={":p": "p2", ":s": "s10"}, Limit=5)
    assert [i["sk"] for i in page["Items"]] == ["s10", "s11", "s12", "s13", "s14"]
    assert page["Count"] == page["ScannedCount"] == 5
    assert page["LastEvaluatedKey"] == {"pk": "p2", "sk": "s14"}
    assert page["ResponseMetadata"] == {"HTTPStatusCode": 200, "RetryAttempts": 0}
    whole = read("Query", KeyConditionExpression="pk = :p AND sk >= :s",
                 ExpressionAttributeValues={":p": "p2", ":s": "s20"})
    assert whole["Count"] == 5 and "LastEvaluatedKey" not in whole
    backwards = read("Query", KeyConditionExpression="pk = :p AND sk >= :s", ScanIndexForward=False,
                     ExpressionAttributeValues={":p": "p2", ":s": "s10"}, Limit=5)
    assert [i["sk"] for i in backwards["Items"]] == ["s24", "s23", "s22", "s21", "s20"]
    gsi = read("Query", IndexName="by_g_only", KeyConditionExpression="g = :g",
               ExpressionAttributeValues={":g": "g1"}, ReturnConsumedCapacity="NONE", Limit=5)
    assert gsi["Count"] == 5 and set(gsi["LastEvaluatedKey"]) == {"g", "pk", "sk"}
    first = read("Scan", Limit=5)
    second = read("Scan", Limit=5, ExclusiveStartKey=first["LastEvaluatedKey"])
    assert second["Items"] == table._call("Scan", {"Limit": 10})["Items"][5:]
    for action, kwargs in (
            ("Query", {"KeyConditionExpression": "pk = :p", "FilterExpression": "n > :s",
                       "ExpressionAttributeValues": {":p": "p1", ":s": "s05"}, "Limit": 5}),
            ("Query", {"KeyConditionExpression": "pk = :p", "ReturnConsumedCapacity": "TOTAL",
                       "ExpressionAttributeValues": {":p": "p1"}, "Limit": 5}),
            ("Query", {"KeyConditionExpression": "pk = :p AND sk BETWEEN :s AND :s",
                       "ExpressionAttributeValues": {":p": "p1", ":s": "s05"}, "Limit": 5}),
            ("Query", {"KeyConditionExpression": "pk = :p AND sk >= :s",
                       "ExpressionAttributeValues": {":p": "p1", ":s": "s05"}, "Limit": 5,
                       "ExclusiveStartKey": {"pk": "p1", "sk": "s12"}})):
        assert engine.read_plans.get(pycore.read_shape(("embedded", action, table.name, db.allow_floats),
                                                       kwargs)) is not None, kwargs
        assert read(action, **kwargs) == pycore.read_shape(("embedded", action, table.name, db.allow_floats),
                                                           kwargs)
