"""The hot-path cores: ``kvstore._pycore`` (reference) and ``kvstore._ccore`` (compiled).

Both must return the same bytes and values for every input -- data written by
one is read by the other -- and the key encodings must sort exactly as
DynamoDB does: N numerically, S by UTF-8 bytes, B as unsigned bytes.
"""

import decimal
import gc
import sys
import zlib
from decimal import Decimal

import msgpack
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from kvstore.types import Binary, item_size, number

from tests.cores import CORES, ccore, needs_ccore, pycore


# No per-example deadline: these run beside other suites on busy machines.
relaxed = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])

# ------------------------------------------------------------------ strategies


def _number_from(negative, digits, adjusted):
    # digits: 1..38 significant digits, first one non-zero; adjusted: the exponent of the first.
    return number(Decimal((int(negative), tuple(digits), adjusted - len(digits) + 1)))


EXTREME_NUMBERS = [number(x) for x in (
    "0", "1", "-1", "1e125", "-1e125", "1e-130", "-1e-130",
    "9.9999999999999999999999999999999999999e125", "-9.9999999999999999999999999999999999999e125",
    "1.0000000000000000000000000000000000001e-130", "0.5", "-0.5", "10", "-10", "0.1", "-0.1",
)]

numbers = st.one_of(
    st.sampled_from(EXTREME_NUMBERS),
    st.integers(min_value=-10**38 + 1, max_value=10**38 - 1).map(number),
    st.builds(
        _number_from, st.booleans(),
        st.lists(st.integers(0, 9), min_size=1, max_size=38).filter(lambda d: d[0] != 0),
        st.integers(-130, 125)),
)
texts = st.text(max_size=40)
binaries = st.binary(max_size=40).map(Binary)
key_values = st.one_of(texts, numbers, binaries)
scalars = st.one_of(texts, numbers, binaries, st.booleans(), st.none())
sets = st.one_of(
    st.frozensets(texts, min_size=1, max_size=6).map(set),
    st.frozensets(numbers, min_size=1, max_size=6).map(set),
    st.frozensets(st.binary(max_size=10), min_size=1, max_size=6).map(lambda s: {Binary(b) for b in s}),
)
native_values = st.recursive(
    st.one_of(scalars, sets),
    lambda inner: st.one_of(st.lists(inner, max_size=5), st.dictionaries(texts, inner, max_size=5)),
    max_leaves=25,
)
items = st.dictionaries(st.text(min_size=1, max_size=20), native_values, max_size=8)

# Values outside the native model: the compiled core must hand them to the reference.
odd_leaves = st.one_of(
    scalars,
    st.integers(min_value=-2**70, max_value=2**70), st.floats(allow_nan=False), st.binary(max_size=10),
    st.tuples(st.integers()), st.just(set()), st.just({1, 2}), st.just(frozenset({"a"})),
    st.decimals(allow_nan=False, allow_infinity=False), st.just(Decimal("-0")), st.just(Decimal("1E+5")),
    st.text(st.characters(categories=["Cs"]), min_size=1, max_size=3),
)
odd_values = st.recursive(
    odd_leaves,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.one_of(st.text(max_size=5), st.integers()), inner, max_size=4)),
    max_leaves=12,
)


def outcome(function, *args):
    """What a call returns, or the type of what it raises (so errors can be compared)."""
    try:
        return function(*args)
    except Exception as exc:
        return type(exc)


def same_typed(a, b):
    """Equality that also holds types (Decimal("1") == 1 and Binary(b"x") == b"x" are True)."""
    if type(a) is not type(b):
        return False
    if type(a) is dict:
        return a.keys() == b.keys() and all(same_typed(a[k], b[k]) for k in a)
    if type(a) is list:
        return len(a) == len(b) and all(same_typed(x, y) for x, y in zip(a, b))
    if type(a) in (set, frozenset):
        return a == b and {type(m) for m in a} == {type(m) for m in b}
    if type(a) is float:
        return repr(a) == repr(b)  # NaN, -0.0
    return a == b


def same_outcome(a, b):
    """Both calls raised the same exception type, or returned the same typed value."""
    if isinstance(a, type) and issubclass(a, Exception):
        return a is b
    return same_typed(a, b)


def cmp(a, b):
    return (a > b) - (a < b)


# ------------------------------------------------------------------ the two modules


@needs_ccore
def test_both_cores_export_the_same_names():
    assert ccore.__all__ == pycore.__all__
    for name in pycore.__all__:
        assert hasattr(ccore, name), name
    assert (ccore.EXT_N, ccore.EXT_B, ccore.EXT_SS, ccore.EXT_NS, ccore.EXT_BS) == (1, 2, 3, 4, 5)


def test_pycore_item_size_is_the_types_one():
    assert pycore.item_size is item_size


@needs_ccore
@relaxed
@given(items, key_values, key_values)
def test_native_values_never_need_the_reference(item, hash_value, range_value):
    # The compiled core hands unusual input to _pycore; native values must not be unusual.
    def reference_called(*args):
        raise AssertionError("fell back to the reference")

    with pytest.MonkeyPatch.context() as patch:
        for name in pycore.__all__:
            if callable(getattr(pycore, name)):
                patch.setattr(pycore, name, reference_called)
        packed = ccore.pack_item(item)
        ccore.unpack_item(packed)
        ccore.item_size(item)
        ccore.storage_key(hash_value, range_value)
        ccore.index_key(hash_value, range_value, packed)
        ccore.composite_index_key((hash_value, range_value), (range_value, hash_value), packed)
        for name in KEY_FUNCTIONS:
            getattr(ccore, name)(range_value)
        if type(range_value) is Decimal:
            ccore.encode_number(format(range_value, "f"))


# ------------------------------------------------------------------ keys: the cores agree

KEY_FUNCTIONS = ("key_bytes", "hash_component", "storage_key", "partition_prefix", "delimited_sort_component")


@needs_ccore
@relaxed
@given(key_values)
@example("")
@example("\x00")
@example(Binary(b""))
@example(Binary(b"\x00\x00\xff"))
def test_key_encodings_agree(value):
    for name in KEY_FUNCTIONS:
        assert getattr(ccore, name)(value) == getattr(pycore, name)(value), name
    for delimited in (False, True):
        assert ccore.sort_bound(value, delimited) == pycore.sort_bound(value, delimited)


@needs_ccore
@relaxed
@given(numbers)
@example(number("0.0000001"))
@example(number("-1.5e-100"))
def test_cores_agree_whatever_the_decimal_context(value):
    # str(Decimal) follows the context (capitals=0 writes "1e-7"); the encodings must not.
    item = {"n": value, "ns": {value}}
    with decimal.localcontext(decimal.Context(capitals=0, prec=3)):
        assert ccore.key_bytes(value) == pycore.key_bytes(value)
        assert ccore.pack_item(item) == pycore.pack_item(item)
        assert ccore.item_size(item) == item_size(item)
        assert same_typed(ccore.unpack_item(pycore.pack_item(item)), item)


@needs_ccore
@relaxed
@given(key_values, st.one_of(st.none(), key_values), st.binary(max_size=30))
def test_row_keys_agree(hash_value, range_value, table_key):
    assert ccore.storage_key(hash_value, range_value) == pycore.storage_key(hash_value, range_value)
    assert ccore.index_key(hash_value, range_value, table_key) == \
        pycore.index_key(hash_value, range_value, table_key)


@needs_ccore
@relaxed
@given(st.integers(0, 2100), st.sampled_from(["a", "é", "\x00"]), st.booleans())
def test_long_keys_agree(length, char, binary):
    # Hash components beyond 64 bytes take zlib's crc32 rather than the table loop.
    value = Binary(char.encode() * length) if binary else char * length
    parts = (value, "x")
    assert ccore.storage_key(value, "s") == pycore.storage_key(value, "s")
    assert ccore.partition_prefix(value) == pycore.partition_prefix(value)
    assert ccore.index_key(value, value, b"k") == pycore.index_key(value, value, b"k")
    assert ccore.composite_index_key(parts, parts, b"k") == pycore.composite_index_key(parts, parts, b"k")


@needs_ccore
@relaxed
@given(numbers)
def test_encode_number_agrees_on_canonical_text(value):
    text = format(value, "f")
    assert ccore.encode_number(text) == pycore.encode_number(text)


@needs_ccore
@relaxed
@given(st.text(st.sampled_from("0123456789.-+eE x٣"), max_size=12))
@example("")
@example("-")
@example("0.")
@example(".5")
@example("007")
@example("1.2.3")
@example("0" * 200 + "1")
@example("1" + "0" * 300)
def test_encode_number_agrees_on_any_text(text):
    # Not only canonical text: the compiled core must give the reference's result or exception.
    assert outcome(ccore.encode_number, text) == outcome(pycore.encode_number, text)


@needs_ccore
@relaxed
@given(st.one_of(st.decimals(allow_nan=False, allow_infinity=False), st.sampled_from(
    [Decimal("-0"), Decimal("1E+3"), Decimal("1.500"), Decimal("0E-7"), Decimal("Infinity"), Decimal("NaN")])))
def test_key_bytes_agree_on_non_canonical_decimals(value):
    for name in KEY_FUNCTIONS:
        assert outcome(getattr(ccore, name), value) == outcome(getattr(pycore, name), value), name


@needs_ccore
@relaxed
@given(st.text(st.characters(categories=["Cs", "Lu", "Co"]), max_size=8))
def test_key_bytes_agree_on_lone_surrogates(text):
    assert ccore.key_bytes(text) == pycore.key_bytes(text)
    assert ccore.storage_key(text, text) == pycore.storage_key(text, text)


@needs_ccore
@pytest.mark.parametrize("value", [1, 1.5, None, True, b"raw", bytearray(b"x"), object()])
def test_key_functions_agree_on_values_that_are_not_keys(value):
    for name in KEY_FUNCTIONS:
        assert outcome(getattr(ccore, name), value) == outcome(getattr(pycore, name), value), name
    assert outcome(ccore.index_key, "h", "r", bytearray(b"t")) == outcome(pycore.index_key, "h", "r", bytearray(b"t"))


@needs_ccore
def test_hash_component_of_a_key_over_64_kib_agrees():
    value = "x" * 70000   # beyond any DynamoDB key: the 2-byte length overflows in both cores
    for name in ("hash_component", "storage_key", "partition_prefix"):
        assert outcome(getattr(ccore, name), value) == outcome(getattr(pycore, name), value) == OverflowError


# ------------------------------------------------------------------ keys: DynamoDB's order


@pytest.mark.parametrize("core", CORES)
@relaxed
@given(a=numbers, b=numbers)
@example(a=number("1e125"), b=number("9.9999999999999999999999999999999999999e125"))
@example(a=number("-1e125"), b=number("-1e-130"))
@example(a=number("1e-130"), b=number("0"))
@example(a=number("0.1"), b=number("0.09"))
@example(a=number("-0.1"), b=number("-0.09"))
@example(a=number("1"), b=number("1.0000000000000000000000000000000000001"))
def test_number_keys_sort_numerically(core, a, b):
    assert cmp(core.key_bytes(a), core.key_bytes(b)) == cmp(a, b)


@pytest.mark.parametrize("core", CORES)
@relaxed
@given(a=st.text(), b=st.text())
@example(a="a", b="a\x00")
@example(a="\x7f", b="\x80")
@example(a="\uffff", b="\U00010000")
@example(a="é", b="z")
def test_string_keys_sort_by_utf8_bytes(core, a, b):
    assert cmp(core.key_bytes(a), core.key_bytes(b)) == cmp(a.encode("utf-8"), b.encode("utf-8"))


@pytest.mark.parametrize("core", CORES)
@relaxed
@given(a=st.binary(), b=st.binary())
@example(a=b"\x7f", b=b"\x80")
@example(a=b"", b=b"\x00")
def test_binary_keys_sort_as_unsigned_bytes(core, a, b):
    assert cmp(core.key_bytes(Binary(a)), core.key_bytes(Binary(b))) == cmp(a, b)


def _dynamodb_cmp(a, b):
    if type(a) is Binary:
        return cmp(a.value, b.value)
    if type(a) is str:
        return cmp(a.encode("utf-8"), b.encode("utf-8"))
    return cmp(a, b)


same_type_pairs = st.one_of(
    st.tuples(numbers, numbers),
    st.tuples(st.text(max_size=6, alphabet="\x00\x01a\xff\u0100"), st.text(max_size=6, alphabet="\x00\x01a\xff\u0100")),
    st.tuples(st.binary(max_size=6).map(Binary), st.binary(max_size=6).map(Binary)),
)


@pytest.mark.parametrize("core", CORES)
@relaxed
@given(pair=same_type_pairs, suffix_a=st.binary(max_size=8), suffix_b=st.binary(max_size=8))
@example(pair=("a", "a\x00"), suffix_a=b"\xff", suffix_b=b"")
@example(pair=(Binary(b"\x00"), Binary(b"")), suffix_a=b"", suffix_b=b"\xff\xff")
@example(pair=(number("1"), number("10")), suffix_a=b"\xff", suffix_b=b"\x00")
def test_delimited_components_keep_their_order_whatever_follows(core, pair, suffix_a, suffix_b):
    # Index keys are "delimited sort component + table key": the component alone decides.
    a, b = pair
    encoded = cmp(core.delimited_sort_component(a) + suffix_a, core.delimited_sort_component(b) + suffix_b)
    expected = _dynamodb_cmp(a, b) or cmp(suffix_a, suffix_b)
    assert encoded == expected


@pytest.mark.parametrize("core", CORES)
@relaxed
@given(pair=same_type_pairs, h=key_values, table_a=st.binary(max_size=8), table_b=st.binary(max_size=8))
def test_index_keys_order_by_sort_key_then_table_key(core, pair, h, table_a, table_b):
    a, b = pair
    encoded = cmp(core.index_key(h, a, table_a), core.index_key(h, b, table_b))
    assert encoded == (_dynamodb_cmp(a, b) or cmp(table_a, table_b))


@pytest.mark.parametrize("core", CORES)
@relaxed
@given(h1=key_values, h2=key_values, r=st.one_of(st.none(), key_values))
def test_a_partition_prefix_selects_exactly_its_partition(core, h1, h2, r):
    # The length-prefixed hash component is self-delimiting: no partition's prefix starts another's rows.
    row = core.storage_key(h1, r)
    assert row.startswith(core.partition_prefix(h2)) == (core.hash_component(h1) == core.hash_component(h2))
    hc = core.hash_component(h1)
    assert core.partition_prefix(h1) == zlib.crc32(hc).to_bytes(4, "big") + hc


@pytest.mark.parametrize("core", CORES)
@relaxed
@given(h=key_values, pair=same_type_pairs)
def test_rows_of_a_partition_sort_by_sort_key(core, h, pair):
    a, b = pair
    assert cmp(core.storage_key(h, a), core.storage_key(h, b)) == _dynamodb_cmp(a, b)


@pytest.mark.parametrize("core", CORES)
def test_number_encoding_examples(core):
    assert core.encode_number("0") == b"\x80"
    assert core.encode_number("1") == bytes([0xC0, 130, 2, 0x00])
    assert core.encode_number("-1") == bytes([0x40, 125, 9, 0xFF])
    assert core.encode_number("0.05") == bytes([0xC0, 128, 6, 0x00])
    assert core.encode_number("1" + "0" * 125) == bytes([0xC0, 255, 2, 0x00])
    assert core.encode_number("-" + "1" + "0" * 125) == bytes([0x40, 0, 9, 0xFF])


# ------------------------------------------------------------------ items: the cores agree


@needs_ccore
@relaxed
@given(items)
def test_pack_item_agrees_and_unpacks_in_either_core(item):
    packed = pycore.pack_item(item)
    assert ccore.pack_item(item) == packed
    for core in (pycore, ccore):
        assert same_typed(core.unpack_item(packed), item)


@needs_ccore
@relaxed
@given(native_values)
def test_any_native_value_round_trips(value):
    packed = ccore.pack_item(value)
    assert packed == pycore.pack_item(value)
    assert same_typed(ccore.unpack_item(packed), value)
    assert same_typed(pycore.unpack_item(packed), value)


@needs_ccore
@relaxed
@given(odd_values)
def test_pack_item_agrees_outside_the_native_model(value):
    # ints, floats, bytes, tuples, empty or mixed sets, int map keys, lone surrogates ...
    packed = outcome(pycore.pack_item, value)
    assert outcome(ccore.pack_item, value) == packed
    if type(packed) is bytes:
        assert same_outcome(outcome(ccore.unpack_item, packed), outcome(pycore.unpack_item, packed))


msgpack_values = st.recursive(
    st.one_of(
        st.none(), st.booleans(), st.integers(min_value=-2**63, max_value=2**64 - 1), st.floats(allow_nan=False),
        st.text(max_size=10), st.binary(max_size=10),
        st.builds(msgpack.ExtType, st.integers(0, 127), st.binary(max_size=20)),
        st.builds(msgpack.ExtType, st.integers(1, 5), st.sampled_from(
            [b"1", b"-0.5", b"x", b"\xff", b"\x92\xa1a\xa1b", b"\x92\x01\x02", b"\x91\xc4\x01x", b"\x90",
             b"\x92\xa1a", b"\xa1a", b"\x92\xa11\xa12", b"\x91\xa1\xff", b"\x93\xa1a\xa1a\xa1b"]))),
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.one_of(st.text(max_size=5), st.binary(max_size=3), st.integers(-100, 100)),
                                            inner, max_size=4)),
    max_leaves=12,
)


@needs_ccore
@relaxed
@given(msgpack_values)
def test_unpack_item_agrees_on_any_msgpack(value):
    data = msgpack.packb(value, use_bin_type=True)
    assert same_outcome(outcome(ccore.unpack_item, data), outcome(pycore.unpack_item, data))


@needs_ccore
@relaxed
@given(st.binary(max_size=40))
@example(b"")
@example(b"\xc1")
@example(b"\x81\xa1a")             # truncated
@example(b"\xc0\xc0")              # extra data
@example(b"\xdd\xff\xff\xff\xff")  # huge array header, no elements
@example(b"\xa2\xff\xfe")          # invalid UTF-8
def test_unpack_item_agrees_on_any_bytes(data):
    assert same_outcome(outcome(ccore.unpack_item, data), outcome(pycore.unpack_item, data))


@needs_ccore
@pytest.mark.parametrize("data", [bytearray(b"\x81\xa1a\x01"), memoryview(b"\x81\xa1a\x01")])
def test_unpack_item_accepts_other_buffers_like_the_reference(data):
    assert ccore.unpack_item(data) == pycore.unpack_item(data) == {"a": 1}


INT_BOUNDARIES = [0, 1, 127, 128, 255, 256, 65535, 65536, 2**32 - 1, 2**32, 2**63 - 1, 2**63, 2**64 - 1, 2**64,
                  -1, -32, -33, -128, -129, -32768, -32769, -2**31, -2**31 - 1, -2**63, -2**63 - 1]
LENGTH_BOUNDARIES = [0, 1, 2, 3, 4, 8, 15, 16, 17, 31, 32, 255, 256, 65535, 65536]


@needs_ccore
@pytest.mark.parametrize("value", INT_BOUNDARIES)
def test_integers_use_msgpack_smallest_format(value):
    assert outcome(ccore.pack_item, value) == outcome(pycore.pack_item, value)


@needs_ccore
@pytest.mark.parametrize("length", LENGTH_BOUNDARIES)
def test_every_header_size_agrees(length):
    item = {
        "s": "x" * length, "u": "é" * length, "b": Binary(b"\x00" * length), "raw": b"\x01" * length,
        "l": [True] * length, "m": {str(i): None for i in range(length)},
    }
    if length:
        item["ss"] = {str(i) for i in range(length)}
        item["n"] = number("1" * min(length, 38))
    packed = pycore.pack_item(item)
    assert ccore.pack_item(item) == packed
    assert same_typed(ccore.unpack_item(packed), item)
    assert same_typed(pycore.unpack_item(ccore.pack_item(item)), item)


@needs_ccore
@pytest.mark.parametrize("text", ["1", "12", "123", "1234", "12345678", "1234567890123456", "-0.000000000001",
                                  "1234567890123456789012345678901234567", "1" + "0" * 125])
def test_number_ext_lengths_agree(text):
    value = number(text)
    packed = pycore.pack_item({"n": value, "ns": {value}})
    assert ccore.pack_item({"n": value, "ns": {value}}) == packed
    assert same_typed(ccore.unpack_item(packed), {"n": value, "ns": {value}})


@needs_ccore
def test_deep_nesting_agrees():
    for depth in (31, 150, 600):
        value = "leaf"
        for i in range(depth):
            value = {"m": value} if i % 2 else [value]
        packed = outcome(pycore.pack_item, value)
        assert outcome(ccore.pack_item, value) == packed
        if type(packed) is bytes:
            assert outcome(ccore.unpack_item, packed) == outcome(pycore.unpack_item, packed)  # plain ==: deep


@pytest.mark.parametrize("core", CORES)
def test_unpack_hands_out_fresh_containers_and_interned_names(core):
    item = {"attribute name": {"m": [1]}, "ss": {"a"}}
    packed = core.pack_item(item)
    first, second = core.unpack_item(packed), core.unpack_item(packed)
    assert first == second == item
    assert first["attribute name"] is not second["attribute name"]
    assert first["attribute name"]["m"] is not second["attribute name"]["m"]
    assert first["ss"] is not second["ss"]
    for name in first:
        assert sys.intern(name) is name


def _ordered_same(a, b):
    """same_typed, with every dict's names in the same order and each dict tracked by the
    collector alike."""
    if type(a) is dict:
        return (type(b) is dict and list(a) == list(b) and gc.is_tracked(a) == gc.is_tracked(b)
                and all(_ordered_same(a[k], b[k]) for k in a))
    if type(a) is list:
        return type(b) is list and len(a) == len(b) and all(_ordered_same(x, y) for x, y in zip(a, b))
    return same_typed(a, b)


layout_names = st.lists(st.sampled_from(["pk", "sk", "grp", "ts", "cnt", "payload", "é", "x" * 31, "x" * 40]),
                        min_size=1, max_size=18, unique=True)


@needs_ccore
@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from([0, 1, 2]), st.lists(native_values, min_size=18, max_size=18)),
                min_size=1, max_size=12), st.lists(layout_names, min_size=3, max_size=3))
def test_items_of_repeated_layouts_decode_as_the_reference(reads, layouts):
    # The compiled decoder reads an item whose names repeat an earlier item's by its layout (its
    # template copied, its values written in place): names in order, values, the dict's
    # collector tracking and fresh containers all as the reference's.
    for which, values in reads * 3:
        item = dict(zip(layouts[which], values))
        packed = pycore.pack_item(item)
        got = ccore.unpack_item(packed)
        assert _ordered_same(got, pycore.unpack_item(packed))
        assert _ordered_same(got, item)
        again = ccore.unpack_item(packed)
        for name, value in got.items():
            if type(value) in (dict, list, set):
                assert again[name] is not value


@needs_ccore
def test_many_distinct_names_and_numbers_decode_right():
    # More distinct names and numbers than the compiled decoder's caches have slots.
    item = {f"name{i}": number(i * 7919) for i in range(5000)}
    item.update({f"n{i}": {number(-i), number(f"{i}.5")} for i in range(500)})
    packed = pycore.pack_item(item)
    for _ in range(2):
        assert same_typed(ccore.unpack_item(packed), item)


@needs_ccore
def test_binary_values_decode_to_real_binary_objects():
    value = ccore.unpack_item(pycore.pack_item({"b": Binary(b"\x00\x01")}))["b"]
    assert type(value) is Binary and value.value == b"\x00\x01" and value == Binary(b"\x00\x01")
    assert hash(value) == hash(b"\x00\x01") and repr(value) == "Binary(b'\\x00\\x01')"


# ------------------------------------------------------------------ item size


@needs_ccore
@relaxed
@given(items)
@example({"n": number("-0.00000012"), "m": {"é": ["\U0001f600", "\ud800"]}})
def test_item_size_agrees(item):
    assert ccore.item_size(item) == item_size(item)


@needs_ccore
@relaxed
@given(st.dictionaries(st.text(max_size=5), odd_values, max_size=4))
def test_item_size_agrees_outside_the_native_model(item):
    assert outcome(ccore.item_size, item) == outcome(item_size, item)


@needs_ccore
@pytest.mark.parametrize("text", ["0", "1", "-1", "10", "12", "123", "0.01", "-0.012", "1" + "0" * 125,
                                  "1234567890123456789012345678901234567", "0.0000001", "0.00000012"])
def test_number_sizes_agree(text):
    for value in (number(text), Decimal(text + ".00") if "." not in text else Decimal(text + "00"),
                  Decimal(text).scaleb(3), Decimal("-0")):
        assert ccore.item_size({"n": value}) == item_size({"n": value})


@relaxed
@pytest.mark.parametrize("core", CORES)
@given(items)
@example({"n": number("-0.00000012"), "m": {"é": ["\U0001f600"]}, "e": [], "f": {}, "ss": {"a", "bc"}})
def test_packed_item_size_is_the_size_of_the_unpacked_item(core, item):
    """What capacity charges for a stored item, read off its bytes, is DynamoDB's size of the item."""
    for packed in (pycore.pack_item(item), core.pack_item(item)):
        assert core.packed_item_size(packed) == item_size(item)


@needs_ccore
@relaxed
@given(st.dictionaries(st.text(max_size=5), odd_values, max_size=4))
def test_packed_item_size_agrees_outside_the_native_model(item):
    """Values outside DynamoDB's types (allow_floats, native ints and bytes) go to the reference."""
    packed = outcome(pycore.pack_item, item)
    if isinstance(packed, bytes):
        assert outcome(ccore.packed_item_size, packed) == outcome(pycore.packed_item_size, packed)


@needs_ccore
@pytest.mark.parametrize("text", ["0", "1", "-1", "10", "12", "123", "0.01", "-0.012", "1" + "0" * 125,
                                  "1234567890123456789012345678901234567", "0.0000001", "0.00000012"])
def test_packed_number_sizes_agree(text):
    for value in (number(text), Decimal(text + ".00") if "." not in text else Decimal(text + "00"),
                  Decimal(text).scaleb(3), Decimal("-0")):
        item = {"n": value, "ns": {value}}
        assert ccore.packed_item_size(ccore.pack_item(item)) == item_size(item)


# ------------------------------------------------------------------ multi-attribute GSI keys
# ``composite_index_key``: the compiled core returns the reference's bytes (and hands unusual
# input to it); entries of one partition order by the typed tuple of RANGE values, then the
# table key; a partition (one tuple of HASH values) is exactly the rows under its prefix.

hash_tuples = st.lists(key_values, min_size=1, max_size=4).map(tuple)
range_tuples = st.lists(key_values, max_size=4).map(tuple)


@needs_ccore
@relaxed
@given(hash_tuples, range_tuples, st.binary(max_size=30))
@example(("",), ("\x00", Binary(b"")), b"")
@example(("a", number("1")), (number("-1.5"), "x\x00y", Binary(b"\x00\xff")), b"t")
def test_composite_keys_agree(hash_values, range_values, table_key):
    assert ccore.composite_index_key(hash_values, range_values, table_key) == \
        pycore.composite_index_key(hash_values, range_values, table_key)


@needs_ccore
@pytest.mark.parametrize("args", [
    (["a"], (), b""),                      # not tuples
    (("a",), ["r"], b""),
    (("a",), (), bytearray(b"t")),
    (("a",) * 5, (), b""),                  # more components than a key can have
    (("a",), ("r",) * 5, b""),
    ((), (), b""),
    (("a" * 70000,), (), b""),              # a hash component over 64 KiB
])
def test_composite_key_of_unusual_input_is_the_reference_result(args):
    def outcome(f):
        try:
            return f(*args)
        except Exception as e:  # noqa: BLE001 - the same exception type is the contract
            return type(e)
    assert outcome(ccore.composite_index_key) == outcome(pycore.composite_index_key)


@pytest.mark.parametrize("core", CORES)
@relaxed
@given(h=key_values, r=st.one_of(st.none(), key_values), table_key=st.binary(max_size=10))
def test_composite_key_of_one_hash_and_at_most_one_range_value_is_index_key(core, h, r, table_key):
    ranges = () if r is None else (r,)
    assert core.composite_index_key((h,), ranges, table_key) == core.index_key(h, r, table_key)


same_type_tuples = st.integers(1, 4).flatmap(lambda n: st.tuples(*[st.one_of(
    st.tuples(numbers, numbers),
    st.tuples(st.text(max_size=4, alphabet="\x00\x01a\xff\u0100"), st.text(max_size=4, alphabet="\x00\x01a\xff\u0100")),
    st.tuples(st.binary(max_size=4).map(Binary), st.binary(max_size=4).map(Binary)),
) for _ in range(n)]))


@pytest.mark.parametrize("core", CORES)
@relaxed
@given(hashes=hash_tuples, pairs=same_type_tuples, table_a=st.binary(max_size=6), table_b=st.binary(max_size=6))
@example(hashes=("h",), pairs=(("a", "a\x00"), (number("2"), number("10"))), table_a=b"\xff", table_b=b"")
@example(hashes=("h",), pairs=((number("10"), number("9")), ("a", "b")), table_a=b"", table_b=b"")
def test_composite_keys_order_by_the_typed_tuple_then_the_table_key(core, hashes, pairs, table_a, table_b):
    a = tuple(p[0] for p in pairs)
    b = tuple(p[1] for p in pairs)
    expected = next((c for c in (_dynamodb_cmp(x, y) for x, y in pairs) if c), 0) or cmp(table_a, table_b)
    assert cmp(core.composite_index_key(hashes, a, table_a), core.composite_index_key(hashes, b, table_b)) == expected


@pytest.mark.parametrize("core", CORES)
@relaxed
@given(h1=hash_tuples, h2=hash_tuples, r=range_tuples, table_key=st.binary(max_size=6))
@example(h1=("ab",), h2=("a", "b"), r=(), table_key=b"")
def test_composite_partition_prefix_selects_exactly_its_partition(core, h1, h2, r, table_key):
    row = core.composite_index_key(h1, r, table_key)
    prefix = core.composite_index_key(h2, (), b"")
    same = [core.hash_component(v) for v in h1] == [core.hash_component(v) for v in h2]
    assert row.startswith(prefix) == same
    hc = b"".join(core.hash_component(v) for v in h1)
    assert row.startswith(zlib.crc32(hc).to_bytes(4, "big") + hc)


@pytest.mark.parametrize("core", CORES)
@relaxed
@given(h=hash_tuples, r=range_tuples, k=st.integers(0, 4), table_key=st.binary(max_size=6))
def test_composite_keys_with_equal_leading_range_values_share_a_prefix(core, h, r, k, table_key):
    k = min(k, len(r))
    assert core.composite_index_key(h, r, table_key).startswith(core.composite_index_key(h, r[:k], b""))
