"""The write path's core entry points: ``sorted_add`` / ``sorted_remove``,
``project_packed`` and ``update_indexes`` agree between ``kvstore._pycore``
(the reference) and ``kvstore._ccore`` (compiled): the same SortedList, the
same bytes, the same index entries, partitions and sizes.
"""

import threading
from decimal import Decimal

import msgpack
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sortedcontainers import SortedList

from kvstore.engine.index import Index, index_schema
from kvstore.engine.schema import KeySchema
from kvstore.types import Binary, number

from tests.cores import ccore, needs_ccore, pycore
from tests.test_core import items, native_values, odd_values

relaxed = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _state(keys):
    keys._check()
    return list(keys), keys._lists, keys._maxes, len(keys)


# ------------------------------------------------------------------ SortedList partitions

row_keys = st.binary(max_size=6)
steps = st.lists(st.tuples(st.booleans(), row_keys), max_size=60)


@needs_ccore
@relaxed
@given(steps, st.sampled_from([4, 8, 1000]), st.booleans())
def test_sorted_add_and_remove_agree(ops, load, indexed):
    """Any run of adds and removes (a missing key's ValueError included) leaves both lists alike,
    through sublist splits and merges (a small load) and with the positional index built."""
    ref, mine = SortedList(), SortedList()
    ref._reset(load)
    mine._reset(load)
    for add, key in ops:
        if indexed and len(ref):
            assert ref[len(ref) // 2] == mine[len(mine) // 2]      # builds the positional index
        if add:
            pycore.sorted_add(ref, key)
            ccore.sorted_add(mine, key)
        else:
            outcomes = []
            for core, keys in ((pycore, ref), (ccore, mine)):
                try:
                    core.sorted_remove(keys, key)
                    outcomes.append(None)
                except ValueError as e:
                    outcomes.append(str(e))
            assert outcomes[0] == outcomes[1]
        assert _state(mine) == _state(ref)


@needs_ccore
@pytest.mark.parametrize("load", [4, 1000])
def test_sorted_add_and_remove_hold_one_reference_per_key(load):
    """The compiled insert (the tail moved with memmove) and removal take and give back exactly the
    list's one reference to each key: at the front, in the middle, at the end and through splits."""
    import sys
    keys = SortedList()
    keys._reset(load)
    values = [bytes([i % 7, i]) for i in range(60)]
    counts = [sys.getrefcount(v) for v in values]
    for value in values:
        ccore.sorted_add(keys, value)
    del value                                   # the loop's own reference
    maxima = {id(m) for m in keys._maxes}        # a sublist's maximum is referred to from _maxes too
    assert [sys.getrefcount(v) for v in values] == [c + 1 + (id(v) in maxima) for c, v in zip(counts, values)]
    assert list(keys) == sorted(values)
    keys._check()
    for value in values:
        ccore.sorted_remove(keys, value)
    del value
    assert [sys.getrefcount(v) for v in values] == counts
    assert len(keys) == 0


@needs_ccore
def test_sorted_add_and_remove_take_any_sortable_value():
    """Keys that are not bytes go to SortedList's own methods."""
    for core in (pycore, ccore):
        keys = SortedList([1, 5, 3])
        core.sorted_add(keys, 4)
        core.sorted_remove(keys, 1)
        assert list(keys) == [3, 4, 5]
        with pytest.raises(ValueError):
            core.sorted_remove(keys, 9)


# ------------------------------------------------------------------ projections

attribute_names = st.sampled_from(["pk", "sk", "grp", "rank", "a", "é", "x" * 40])
projected_items = st.dictionaries(st.one_of(attribute_names, st.text(min_size=1, max_size=20)), native_values,
                                  max_size=20)


@needs_ccore
@relaxed
@given(projected_items, st.frozensets(st.one_of(attribute_names, st.text(max_size=3)), max_size=6), st.booleans())
@example({"pk": "a", "big": "x" * 70000, "n": number("1")}, frozenset({"pk", "n"}), False)
@example({f"a{i}": number(i) for i in range(40)}, frozenset(f"a{i}" for i in range(0, 40, 2)), True)
def test_project_packed_agrees(item, names, as_set):
    packed = pycore.pack_item(item)
    names = set(names) if as_set else names
    expected = pycore.project_packed(packed, names)
    assert expected == pycore.pack_item({k: v for k, v in item.items() if k in names})
    assert ccore.project_packed(packed, names) == expected


@needs_ccore
@relaxed
@given(st.binary(max_size=40), st.frozensets(st.text(max_size=2), max_size=3))
def test_project_packed_hands_anything_else_to_the_reference(data, names):
    def outcome(core):
        try:
            return core.project_packed(data, names)
        except Exception as e:   # noqa: BLE001 - the reference's error, whatever it is
            return type(e)
    assert outcome(ccore) == outcome(pycore)


# ------------------------------------------------------------------ index maintenance

TABLE = KeySchema("pk", "S", "sk", "N")
INDEXES = [
    ("by_grp", ("grp", "S", "rank", "N"), {"ProjectionType": "ALL"}),
    ("by_rank", ("rank", "N", None, None), {"ProjectionType": "KEYS_ONLY"}),
    ("by_blob", ("blob", "B", "grp", "S"), {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["a", "é"]}),
    ("by_both", (["grp", "blob"], ["S", "B"], ["rank"], ["N"]), {"ProjectionType": "INCLUDE",
                                                                   "NonKeyAttributes": ["a"]}),
    # a projected name that does not encode as UTF-8 (a lone surrogate; no item can hold one): the
    # compiled projection matches names decoded, not by their bytes (Index.write_plan)
    ("by_rank_grp", ("rank", "N", "grp", "S"), {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["\udcff", "z"]}),
]


def _indexes(partitions):
    out = []
    for name, (hashes, hash_types, ranges, range_types), projection in INDEXES:
        hashes = hashes if isinstance(hashes, list) else [hashes]
        hash_types = hash_types if isinstance(hash_types, list) else [hash_types]
        ranges = ranges if isinstance(ranges, list) else ([] if ranges is None else [ranges])
        range_types = range_types if isinstance(range_types, list) else ([] if range_types is None else [range_types])
        spec = [{"AttributeName": n, "KeyType": "HASH"} for n in hashes]
        spec += [{"AttributeName": n, "KeyType": "RANGE"} for n in ranges]
        types = dict(zip(hashes + ranges, hash_types + range_types))
        index = Index(name, "GSI", index_schema(spec, types), projection, TABLE, partitions, threading.Lock())
        for p in index.partitions:
            p._reset(8)                     # small sublists: splits and merges happen
        out.append(index)
    return out


index_values = st.one_of(
    st.sampled_from(["g1", "g2", "", "x" * 600, "é" * 300]), st.integers(0, 5).map(number),
    st.sampled_from([Binary(b"b"), Binary(b""), Binary(b"\x00z")]), st.booleans(), odd_values)
rows = st.fixed_dictionaries(
    {"pk": st.sampled_from(["p1", "p2", "p3"]), "sk": st.integers(0, 3).map(number)},
    optional={"grp": index_values, "rank": index_values, "blob": index_values, "a": native_values,
              "é": native_values, "z": native_values, "\udcff": native_values})


def _entries(index):
    index._check()
    return dict(index.entries), [list(p) for p in index.partitions], index.size_bytes


@needs_ccore
@settings(relaxed, max_examples=60)
@given(st.lists(st.one_of(rows, rows.map(lambda r: {"pk": r["pk"], "sk": r["sk"], "delete": True})), max_size=40),
       st.sampled_from([1, 16]))
@example([{"pk": "p1", "sk": number(1), "grp": "g1", "rank": number(2)}] * 2, 16)
@example([{"pk": "p1", "sk": number(1), "grp": "g1", "blob": Binary(b"b"), "rank": number(2),
           "a": {Binary(b"\x01"), Binary(b"\x00")}}], 1)     # the set unpacks in another order: bytes are cut
def test_update_indexes_agrees(writes, partitions):
    """A run of puts and deletes moves every kind of index (one attribute or several, ALL,
    KEYS_ONLY, INCLUDE; sparse items, wrong types, long and empty keys) alike in both cores."""
    ref, mine = _indexes(partitions), _indexes(partitions)
    table = {}
    for write in writes:
        row_key = pycore.storage_key(write["pk"], write["sk"])
        old = table.get(row_key, (None,))[0]
        if write.get("delete"):
            new, packed = None, None
            table.pop(row_key, None)
        else:
            try:
                packed = pycore.pack_item(write)
                new = pycore.unpack_item(packed)
            except Exception:   # noqa: BLE001 - an odd value outside the native model: not an item
                continue
            table[row_key] = new, packed
        pycore.update_indexes(ref, row_key, old, new, packed)
        ccore.update_indexes(mine, row_key, old, new, packed)
        for a, b in zip(ref, mine):
            assert _entries(b) == _entries(a), a.name
    # and both hold what indexing the final rows afresh gives (an entry whose key a write left as it
    # was is written in place: it must end as if built from the row it now has)
    fresh = _indexes(partitions)
    for row_key, (item, packed) in table.items():
        pycore.update_indexes(fresh, row_key, None, item, packed)
    for a, b in zip(fresh, mine):
        assert _entries(b) == _entries(a), a.name


# ------------------------------------------------------------------ did an update change the item

def _variant(value):
    """A value equal to ``value`` by ``==`` but not always to DynamoDB (True for 1, a set for a list)."""
    if value is True:
        return number(1)
    if isinstance(value, list):
        return [_variant(v) for v in value]
    if isinstance(value, dict):
        return {k: _variant(v) for k, v in reversed(list(value.items()))}
    return value


@needs_ccore
@relaxed
@given(items, items, st.booleans())
@example({"a": True}, {"a": number(1)}, False)
@example({"a": [1]}, {"a": (1,)}, False)
@example({"a": {"b": {"c": None}}}, {}, True)
def test_same_value_agrees(a, b, vary):
    if vary:
        b = _variant(a)
    assert ccore.same_value(a, b) is bool(pycore.same_value(a, b))
    assert ccore.same_value(a, a) is True


@needs_ccore
@relaxed
@given(odd_values, odd_values)
def test_same_value_agrees_outside_the_native_model(a, b):
    assert ccore.same_value(a, b) is bool(pycore.same_value(a, b))


# ------------------------------------------------------------------ an embedded call's item

python_values = st.one_of(
    odd_values, native_values, st.decimals(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-10**40, max_value=10**40), st.floats(), st.binary(max_size=5), st.binary(max_size=5).map(bytearray),
    st.sampled_from([Decimal("1E+5"), Decimal("-0"), Decimal("0.0"), Decimal("0E-3"), Decimal("1.50"),
                     Decimal("-0.5"), Decimal("10"), Decimal("1" * 39), Decimal("1" * 38), Decimal("0." + "1" * 37),
                     Decimal("-0." + "1" * 36), Decimal("1e-131"), Decimal("1e126"), True, False, None, "é", "\ud800"]))
python_items = st.one_of(
    st.dictionaries(st.one_of(st.text(max_size=5), st.sampled_from(["é", "\udcff", "a"])), python_values, max_size=6),
    st.dictionaries(st.one_of(st.integers(), st.text(max_size=2)), python_values, max_size=3),
    python_values)


def _converted(core, item, allow_floats):
    try:
        out = core.item_from_python(item, allow_floats)
    except Exception as e:   # noqa: BLE001 - the reference's error, whatever it is
        return type(e), str(e)
    return ("same" if out is item else "new"), out


@needs_ccore
@relaxed
@given(python_items, st.booleans())
@example({"n": Decimal("0.50"), "s": "é", "i": 10**38, "j": -5, "b": True, "z": None}, False)
@example({"n": Decimal("1E+2")}, False)
@example({1: "a"}, False)
@example({"f": 1.5}, True)
@example({"f": 1.5}, False)
@example({"a": -257, "b": -256, "c": 0, "d": 1023, "e": 1024, "f": -1, "g": 2 ** 63, "h": -2 ** 63}, False)
def test_item_from_python_agrees(item, allow_floats):
    expected = _converted(pycore, item, allow_floats)
    got = _converted(ccore, item, allow_floats)
    assert got[0] == expected[0]
    if expected[0] in ("same", "new"):
        assert repr(got[1]) == repr(expected[1])      # (types and values; NaN is not equal to itself)
    else:
        assert got == expected


# ------------------------------------------------------------------ shared small integers
# The compiled core shares one Decimal per integer of -256..1023 (a counter read back, a small int of a
# call) and adds or prints two of them without the decimal module; anything else, a Decimal equal to
# one of them included, takes the general path.  The answers are the reference's, representation and
# all.

small_ints = st.integers(-300, 1100)


def _shared(n):
    """Decimal(n) as the compiled core hands it out: from a call's int and from its stored text."""
    converted = ccore.item_from_python({"n": n}, False)["n"]
    unpacked = ccore.unpack_item(ccore.pack_item({"n": converted}))["n"]
    return converted, unpacked


@needs_ccore
@relaxed
@given(small_ints, small_ints, st.booleans())
@example(-256, 0, False)
@example(-256, 1, True)              # -257: just outside the shared range
@example(1023, 1, False)             # 1024: just outside
@example(1023, 0, True)
@example(5, 5, True)                 # 0, never "-0"
@example(-1, 1, False)
@example(1023, 1023, False)
@example(-256, 1023, True)
def test_number_add_of_shared_small_integers_agrees(a, b, subtract):
    expected = pycore.number_add(Decimal(a), Decimal(b), subtract)
    for x in _shared(a) + (Decimal(a),):
        for y in _shared(b) + (Decimal(b),):
            got = ccore.number_add(x, y, subtract)
            assert repr(got) == repr(expected) and got.as_tuple() == expected.as_tuple()


@needs_ccore
@relaxed
@given(st.one_of(small_ints.map(str), st.from_regex(r"-?[0-9]{1,6}", fullmatch=True),
                 st.sampled_from(["-0", "00", "01", "-01", "1023", "1024", "-256", "-257", "0.0", "1E+1", "5.00"])))
def test_small_number_texts_unpack_and_pack_as_the_reference(text):
    """A stored number's text reads back as the reference's Decimal (a shared one only for canonical
    small-integer texts), and packs again to the same bytes."""
    data = msgpack.packb({"n": msgpack.ExtType(1, text.encode())}, use_bin_type=True)
    got, expected = ccore.unpack_item(data), pycore.unpack_item(data)
    assert repr(got) == repr(expected) and got["n"].as_tuple() == expected["n"].as_tuple()
    assert ccore.pack_item(got) == pycore.pack_item(expected)
    assert ccore.item_size(got) == pycore.item_size(expected)


@needs_ccore
def test_shared_small_integers_are_shared_and_others_are_not():
    one = ccore.item_from_python({"n": 1}, False)["n"]
    assert ccore.unpack_item(ccore.pack_item({"n": Decimal(1)}))["n"] is one
    assert ccore.item_from_python({"n": Decimal(1)}, False)["n"] is not one        # the caller's own
    assert ccore.number_add(one, one) is ccore.item_from_python({"n": 2}, False)["n"]
    assert ccore.unpack_item(ccore.pack_item({"n": Decimal(1024)}))["n"] == Decimal(1024)


# ------------------------------------------------------------------ boto3's parameter check at a glance

from kvstore import params  # noqa: E402
from kvstore._request_shapes import OPERATIONS  # noqa: E402

shape_names = st.sampled_from(["A", "B", "C"])
shape_types = st.sampled_from([(str,), (bool,), (int, bool), (dict,), (list, tuple), (dict, str), (str, int)])
member_specs = st.one_of(
    st.tuples(shape_types, st.sampled_from([0, 1, 2]), st.none()),
    st.tuples(st.just((dict,)), st.just(3), shape_names),
    st.tuples(st.sampled_from([(list, tuple), (list,)]), st.just(4), shape_names),
    st.tuples(st.sampled_from([(dict,), (dict, str)]), st.just(5), shape_names))
member_names = st.sampled_from(["TableName", "Key", "Item", "x", "Put", "ReturnValues", "é"])
shape_tables = st.dictionaries(shape_names, st.dictionaries(member_names, member_specs, max_size=5), max_size=3)
shape_leaves = st.one_of(st.text(max_size=3), st.sampled_from(["é", "\ud800", "Ab"]), st.booleans(),
                         st.integers(-3, 3), st.none(), st.floats(allow_nan=False), st.binary(max_size=2))
shape_requests = st.recursive(
    shape_leaves,
    lambda inner: st.one_of(st.dictionaries(st.one_of(member_names, st.integers(0, 2)), inner, max_size=4),
                            st.lists(inner, max_size=3), st.lists(inner, max_size=2).map(tuple)),
    max_leaves=12)


def _shape_answer(core, tables, shape, request):
    built = []

    def build(name):
        built.append(name)
        return tables.setdefault(name, {})
    try:
        return core.shape_ok(tables, build, shape, request), built, tables
    except Exception as e:   # noqa: BLE001 - the reference's error, whatever it is
        return type(e), str(e)


@needs_ccore
@relaxed
@given(shape_tables, shape_names, st.dictionaries(member_names, shape_requests, max_size=5))
@example({"A": {"TableName": ((str,), 1, None), "Key": ((dict,), 2, None)}}, "A",
         {"TableName": "t", "Key": {"pk": 1}})
@example({"A": {"TableName": ((str,), 1, None)}}, "A", {"TableName": "\ud800"})
@example({"A": {"Put": ((list, tuple), 4, "A")}}, "A", {"Put": [{"Put": [{"Put": ()}]}]})
@example({"A": {"Put": ((dict,), 3, "A")}}, "A", {"Put": {"Put": {"Put": {}}}})
@example({"A": {"Put": ((dict,), 5, "A")}}, "A", {"Put": {"t": [{"Put": {"é": []}}], "u": ()}})
@example({"A": {"Put": ((dict,), 5, "A")}}, "A", {"Put": {"t": [{"Put": {1: []}}]}})
def test_shape_ok_agrees(tables, shape, request):
    expected = _shape_answer(pycore, {k: dict(v) for k, v in tables.items()}, shape, request)
    got = _shape_answer(ccore, {k: dict(v) for k, v in tables.items()}, shape, request)
    assert got == expected


def _nested(depth):
    request = {}
    for _ in range(depth):
        request = {"Put": {"Put": request}}
    return request


@needs_ccore
@pytest.mark.parametrize("depth", [15, 16, 17, 40])
def test_shape_ok_hands_deep_nesting_to_the_walk(depth):
    tables = {"A": {"Put": ((dict,), 3, "A")}}
    request = _nested(depth)
    assert ccore.shape_ok(tables, tables.get, "A", request) == pycore.shape_ok(tables, tables.get, "A", request)


write_actions = st.fixed_dictionaries({}, optional={
    "TableName": st.one_of(st.text(max_size=4), st.sampled_from(["t", "\ud800", "é"]), st.integers(0, 1)),
    "Key": st.one_of(st.dictionaries(st.one_of(st.text(max_size=2), st.integers(0, 1)), st.just("v"), max_size=2),
                     st.lists(st.just(1), max_size=1)),
    "Item": st.dictionaries(st.one_of(st.text(max_size=2), st.integers(0, 1)), st.just("v"), max_size=2),
    "ConditionExpression": st.one_of(st.just("attribute_exists(pk)"), st.just(b"x"), st.none()),
    "ReturnValues": st.sampled_from(["NONE", "ALL_OLD", 3]),
    "Bogus": st.just(1)})
transact_requests = st.fixed_dictionaries({"TransactItems": st.one_of(
    st.lists(st.one_of(st.fixed_dictionaries({}, optional={"Put": write_actions, "Update": write_actions,
                                                            "ConditionCheck": write_actions}),
                       st.just("x")), max_size=3),
    st.just(()), st.just("x"))}, optional={"ClientRequestToken": st.sampled_from(["tok", 5]),
                                           "ReturnConsumedCapacity": st.just("TOTAL")})


@needs_ccore
@relaxed
@given(st.sampled_from(["PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "GetItem"]),
       st.one_of(write_actions, transact_requests))
def test_shape_ok_agrees_on_params_tables(action, request):
    shape = OPERATIONS[action]
    assert (ccore.shape_ok(params._FAST, params._fast_table, shape, request)
            == pycore.shape_ok(params._FAST, params._fast_table, shape, request))


write_requests = st.one_of(
    st.fixed_dictionaries({}, optional={"PutRequest": st.fixed_dictionaries({}, optional={"Item": write_actions.map(
        lambda a: a.get("Item", {})), "Bogus": st.just(1)}),
                                        "DeleteRequest": st.fixed_dictionaries({}, optional={"Key": st.just({"pk": 1})})}),
    st.just("x"), st.just({"PutRequest": "x"}))
batch_requests = st.fixed_dictionaries({"RequestItems": st.one_of(
    st.dictionaries(st.one_of(st.sampled_from(["t", "\ud800", "é", ""]), st.integers(0, 1)),
                    st.one_of(st.lists(write_requests, max_size=3), st.lists(write_requests, max_size=2).map(tuple),
                              st.just("x")), max_size=2),
    st.just([]))}, optional={"ReturnConsumedCapacity": st.sampled_from(["TOTAL", 1])})


@needs_ccore
@relaxed
@given(batch_requests)
def test_shape_ok_of_batch_write_item_agrees_with_the_walk(request):
    """BatchWriteItem's RequestItems (a map of lists of structures) passes at a glance exactly when
    ``kvstore.params``' walk would find nothing to report."""
    shape = OPERATIONS["BatchWriteItem"]
    fast = ccore.shape_ok(params._FAST, params._fast_table, shape, request)
    assert fast == pycore.shape_ok(params._FAST, params._fast_table, shape, request)
    if fast:
        found = []
        params._walk(request, shape, "", found, False)
        assert found == []


# ------------------------------------------------------------------ a write's expression shape

from kvstore.expressions import request as expression_request  # noqa: E402
from kvstore.expressions import templates  # noqa: E402
from kvstore.operations import writing  # noqa: E402

write_members = st.fixed_dictionaries({}, optional={
    "TableName": st.just("things"),
    "Key": st.just({"pk": "a"}),
    "ConditionExpression": st.one_of(st.sampled_from(["attribute_exists(pk)", "#n < :v", "a = :w"]), st.none(),
                                     st.just(5)),
    "UpdateExpression": st.one_of(st.sampled_from(["SET a = :v", "ADD n :w", "REMOVE #n"]), st.none(),
                                  st.just(b"x")),
    "ExpressionAttributeNames": st.one_of(st.dictionaries(st.sampled_from(["#n", "#m"]), st.sampled_from(["n", "m"])),
                                          st.none(), st.just({"#n": 1}), st.just([("#n", "n")])),
    "ExpressionAttributeValues": st.one_of(
        st.dictionaries(st.sampled_from([":v", ":w"]), st.one_of(st.just(Decimal(1)), st.just("s"), st.just({"a"}),
                                                                 st.none()), max_size=2),
        st.none(), st.just([1]), st.just({1: "x"})),
    "Expected": st.just({"a": {"Exists": False}}),
    "ConditionalOperator": st.just("AND"),
    "ReturnValues": st.just("ALL_NEW")})


def _compile_request_key(operation, request, update):
    """The key compile_request computes (None where it computes none), by asking it."""
    seen = []
    original = templates.TEMPLATES.get

    class Spy(dict):
        def get(self, key, default=None):
            seen.append(key)
            return original(key, default)
    saved = expression_request.TEMPLATES
    expression_request.TEMPLATES = Spy()
    try:
        expression_request.compile_request(
            operation=operation, condition=request.get("ConditionExpression"),
            update=request.get("UpdateExpression") if update else None,
            names=request.get("ExpressionAttributeNames"), values=request.get("ExpressionAttributeValues"))
    except Exception:   # noqa: BLE001 - a request that does not compile still computed its key first
        pass
    finally:
        expression_request.TEMPLATES = saved
    return seen[0] if seen else None


@needs_ccore
@relaxed
@given(write_members, st.booleans())
def test_write_shape_agrees(request, update):
    allowed = writing._USUAL_UPDATE_MEMBERS if update else writing._USUAL_MEMBERS
    expected = pycore.write_shape("UpdateItem", request, update, allowed, expression_request._MAP)
    got = ccore.write_shape("UpdateItem", request, update, allowed, expression_request._MAP)
    assert got == expected
    if expected is not None:      # the key compile_request computes, for a request it is asked for
        assert expected[0] == _compile_request_key("UpdateItem", request, update)
        assert expected[1] == tuple((request.get("ExpressionAttributeValues") or {}).values())


def _compiled_write(request, update):
    try:
        condition, updater = writing.compile_write(request, "UpdateItem", update=update)
    except Exception as e:   # noqa: BLE001 - whatever it raises, the same both ways
        return type(e), str(e)
    item = {"pk": "a", "a": "s", "n": Decimal(2), "m": Decimal(0)}
    return ("ok", None if condition is None else condition.evaluate(item),
            None if updater is None else repr(updater.apply(dict(item))))


@relaxed
@given(write_members, st.booleans())
def test_compile_write_of_a_known_shape_is_the_general_one(request, update):
    _compiled_write(request, update)                       # leaves the template, if any
    fast = _compiled_write(request, update)
    original = writing.write_shape
    writing.write_shape = lambda *args: None
    try:
        general = _compiled_write(request, update)
    finally:
        writing.write_shape = original
    assert fast == general


# ------------------------------------------------------------------ TransactWriteItems

from kvstore.operations import transact_write_items as twi  # noqa: E402

transact_specs = st.fixed_dictionaries({}, optional={
    "TableName": st.one_of(st.sampled_from(["things", "nothing-seen", "things"]), st.just(5), st.none()),
    "Item": st.one_of(st.just({"pk": "a", "v": Decimal(1)}), st.none()),
    "Key": st.one_of(st.just({"pk": "a"}), st.none(), st.just({"pk": "b" * 30})),
    "UpdateExpression": st.one_of(st.just("SET a = :v"), st.none(), st.just(""), st.just(7)),
    "ConditionExpression": st.one_of(st.just("attribute_exists(pk)"), st.none(), st.just(["x"])),
    "ExpressionAttributeValues": st.one_of(st.just({":v": Decimal(2)}), st.just({}), st.none()),
    "ReturnValuesOnConditionCheckFailure": st.sampled_from(["ALL_OLD", "NONE", "BAD", None]),
    "ReturnValues": st.just("ALL_OLD")})
transact_action = st.one_of(
    st.dictionaries(st.sampled_from(["Put", "Update", "Delete", "ConditionCheck", "Bogus"]),
                    st.one_of(transact_specs, st.just("x")), min_size=1, max_size=2),
    st.just("x"), st.just({}))


@needs_ccore
@relaxed
@given(st.lists(transact_action, max_size=4))
def test_usual_actions_agree(actions):
    twi._VALID_NAMES.add("things")
    expected = pycore.usual_actions(actions, twi._KINDS, twi._VALID_NAMES, twi._ON_FAILURE)
    assert ccore.usual_actions(actions, twi._KINDS, twi._VALID_NAMES, twi._ON_FAILURE) == expected


@needs_ccore
@relaxed
@given(st.lists(st.tuples(st.sampled_from(["Put", "Update", "Delete"]), transact_specs,
                          st.one_of(st.none(), st.binary(max_size=5))), max_size=4))
def test_transact_size_agrees(entries):
    parsed = [(kind, spec, None, None, packed) for kind, spec, packed in entries]

    def outcome(core):
        try:
            return core.transact_size(parsed, twi._PLAIN_MEMBERS)
        except Exception as e:   # noqa: BLE001 - the reference's error, whatever it is
            return type(e), str(e)
    assert outcome(ccore) == outcome(pycore)


flat_values = st.one_of(
    st.text(max_size=6), st.sampled_from(["a\ud800", "\u00e9\u00e9", "x" * 300]), st.booleans(), st.none(),
    st.decimals(allow_nan=False, allow_infinity=False), st.decimals(), st.sampled_from([Decimal("1E+125"),
                                                                                     Decimal("-1E-130"), Decimal("-0")]),
    st.binary(max_size=4).map(Binary), st.just(Binary(bytearray(b"x"))), st.just({"m": Decimal(1)}), st.just([1]),
    st.just(3))
value_maps = st.one_of(st.dictionaries(st.one_of(st.text(max_size=3), st.sampled_from(["\u00e9", ":\ud800"]),
                                                 st.just(1)), flat_values, max_size=4),
                       st.none(), st.just("x"))
sized_specs = st.fixed_dictionaries({"TableName": st.just("things")}, optional={
    "Key": value_maps, "ExpressionAttributeValues": value_maps, "UpdateExpression": st.just("SET a = :v"),
    "ConditionExpression": st.sampled_from(["attribute_exists(pk)", ""]), "ReturnValues": st.just("ALL_OLD")})


@relaxed
@given(st.lists(st.tuples(st.sampled_from(["Put", "Update", "Delete"]), sized_specs,
                          st.one_of(st.none(), st.binary(max_size=5))), max_size=4))
def test_transact_size_bound_is_at_least_the_size(entries):
    """The bound the usual transaction decides by is never under the exact size, and wherever the
    exact computation raises, the bound raises the same (it computes it) in both cores."""
    parsed = [(kind, spec, None, None, packed) for kind, spec, packed in entries]

    def outcome(f):
        try:
            return f(parsed, twi._PLAIN_MEMBERS)
        except Exception as e:   # noqa: BLE001 - the reference's error, whatever it is
            return type(e), str(e)
    exact = outcome(pycore.transact_size)
    for core in (pycore, ccore) if ccore is not None else (pycore,):
        bound = outcome(core.transact_size_bound)
        if type(exact) is tuple:
            assert bound == exact
        else:
            assert bound >= exact
            assert outcome(core.transact_size) == exact
    if ccore is not None:
        assert outcome(ccore.transact_size_bound) == outcome(pycore.transact_size_bound)


# ------------------------------------------------------------------ a row installed

@needs_ccore
@relaxed
@given(st.lists(st.tuples(st.binary(min_size=1, max_size=3), st.one_of(st.none(), st.binary(max_size=4))), max_size=40),
       st.sampled_from([1, 4, 16]), st.sampled_from([4, 1000]))
def test_apply_row_agrees(writes, partitions, load):
    shift = 8 - (partitions.bit_length() - 1)
    states = []
    for core in (pycore, ccore):
        rows, parts, deltas = {}, [SortedList() for _ in range(partitions)], []
        for p in parts:
            p._reset(load)
        for row_key, packed in writes:
            deltas.append(core.apply_row(rows, parts, shift, row_key, packed))
        states.append((rows, [_state(p) for p in parts], deltas))
    assert states[0] == states[1]
    rows, parts, deltas = states[0]
    assert sum(deltas) == sum(len(v) for v in rows.values())
    assert sorted(rows) == [k for _, keys in [(None, p[0]) for p in parts] for k in keys]


@needs_ccore
def test_apply_row_hands_anything_else_to_the_reference():
    for core in (pycore, ccore):
        with pytest.raises(IndexError):
            core.apply_row({}, [SortedList()], 0, b"\x05", b"x")
        with pytest.raises(ValueError):
            core.apply_row({b"\x00": b"ab"}, [SortedList()], 8, b"\x00", None)     # (not in its partition)


# ------------------------------------------------------------------ Database.commit's writes installed

def _apply_writes_table(kind):
    """A database with one table of ``kind``: global indexes (one step in the core), a local index or
    TTL (handed to ``Table.apply``), or neither."""
    import kvstore

    db = kvstore.open(":memory:")
    attrs = [{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "N"},
             {"AttributeName": "grp", "AttributeType": "S"}, {"AttributeName": "rank", "AttributeType": "N"}]
    extra = {}
    if kind == "gsi":
        extra["GlobalSecondaryIndexes"] = [
            {"IndexName": "by_grp", "KeySchema": [{"AttributeName": "grp", "KeyType": "HASH"},
                                                  {"AttributeName": "rank", "KeyType": "RANGE"}],
             "Projection": {"ProjectionType": "ALL"}},
            {"IndexName": "by_rank", "KeySchema": [{"AttributeName": "rank", "KeyType": "HASH"}],
             "Projection": {"ProjectionType": "KEYS_ONLY"}}]
    elif kind == "lsi":
        extra["LocalSecondaryIndexes"] = [
            {"IndexName": "by_rank", "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                                                   {"AttributeName": "rank", "KeyType": "RANGE"}],
             "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["a"]}}]
    db.create_table(TableName="applied", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                                                     {"AttributeName": "sk", "KeyType": "RANGE"}],
                    AttributeDefinitions={"gsi": attrs, "lsi": attrs[:2] + attrs[3:]}.get(kind, attrs[:2]),
                    BillingMode="PAY_PER_REQUEST", **extra)
    if kind == "ttl":
        db.meta.client.update_time_to_live(TableName="applied",
                                           TimeToLiveSpecification={"Enabled": True, "AttributeName": "rank"})
    return db, db.engine.tables["applied"]


def _table_state(table):
    indexes = {name: _entries(index) for name, index in table.indexes.items()}
    return (dict(table.rows), [list(p) for p in table.partitions], list(table.partition_bytes), indexes,
            dict(table.collections or {}), None if table.expiry is None else sorted(table.expiry.heap))


write_steps = st.lists(st.lists(st.tuples(st.sampled_from(["p1", "p2", "p3", "p4"]), st.integers(0, 11).map(number),
                                          st.one_of(st.none(), rows), st.booleans()), min_size=1, max_size=3),
                       max_size=25)


@needs_ccore
@relaxed
@given(write_steps, st.sampled_from(["gsi", "plain", "lsi", "ttl"]), st.sampled_from([4, 1000]))
@example([[("p1", number(1), {"grp": "g1", "rank": number(2)}, True)],
          [("p1", number(1), {"grp": "g1", "rank": number(2), "a": "x"}, False)],
          [("p1", number(1), {"grp": "g2", "rank": number(2)}, True)], [("p1", number(1), None, True)]], "gsi", 1000)
def test_apply_writes_agrees(steps, kind, load):
    """Commits of puts and deletes (the old image passed or not, as the callers do) leave a table's
    rows, partitions, byte counts, indexes, item collections and TTL state alike in both cores, and as
    ``Table.apply`` one write at a time leaves them.  A small ``load`` splits the SortedList
    partitions into many sublists (a new row's keys are searched side by side there, and land
    before, inside and past them)."""
    states = []
    for apply in (ccore.apply_writes, pycore.apply_writes,
                  lambda writes: [w[0].apply(*w[1:]) for w in writes]):
        db, table = _apply_writes_table(kind)
        for keys in table.partitions + [p for index in table.indexes.values() for p in index.partitions]:
            keys._reset(load)
        for step in steps:
            writes, seen = [], set()
            for pk, sk, item, pass_old in step:
                row_key = pycore.storage_key(pk, sk)
                if row_key in seen:
                    continue
                seen.add(row_key)
                old_packed = table.rows.get(row_key)
                old = pycore.unpack_item(old_packed) if pass_old and old_packed is not None else None
                if item is None:
                    writes.append((table, row_key, old, None, None))
                    continue
                new = dict(item, pk=pk, sk=sk)
                try:
                    packed = pycore.pack_item(new)
                    new = pycore.unpack_item(packed)
                except Exception:   # noqa: BLE001 - an odd value outside the native model: not an item
                    continue
                writes.append((table, row_key, old, new, packed))
            apply(writes)
        for keys in table.partitions + [p for index in table.indexes.values() for p in index.partitions]:
            keys._check()                  # SortedList's own invariants: sorted, maxima, lengths
        states.append(_table_state(table))
        db.close()
    assert states[0] == states[1] == states[2]
