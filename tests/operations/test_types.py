"""Attribute types: the ten DynamoDB types round trip; numbers, sets, empty values, sizes, key sizes, nesting."""

from decimal import Decimal

import pytest
from boto3.dynamodb.types import Binary as Boto3Binary

from .helpers import number_rejected, validation

INVALID = "One or more parameter values were invalid: "
OVERFLOW = "Number overflow. Attempting to store a number with magnitude larger than supported range"
UNDERFLOW = "Number underflow. Attempting to store a number with magnitude smaller than supported range"
TOO_PRECISE = "Attempting to store more than 38 significant digits in a Number"
FLOATS = "Float types are not supported. Use Decimal types instead."


def roundtrip(table, value, name="v"):
    table.put_item(Item={"pk": "a", name: value})
    return table.get_item(Key={"pk": "a"})["Item"][name]


def same_digits(value, canonical):
    """``value`` is the Decimal DynamoDB's canonical text ``canonical`` parses to (sign, digits, exponent)."""
    return isinstance(value, Decimal) and value.as_tuple() == Decimal(canonical).as_tuple()


def stored_equals(table, number, pk="a", name="v"):
    """The stored number equals ``number`` by value, checked by the service (a condition), not by reading."""
    table.update_item(Key={"pk": pk}, ConditionExpression="#v = :n", UpdateExpression="SET checked = :t",
                      ExpressionAttributeNames={"#v": name}, ExpressionAttributeValues={":n": number, ":t": True})
    return True


# -- the ten types ------------------------------------------------------------------------------

def test_string(hash_table):
    """S round trips as str, any Unicode included."""
    assert roundtrip(hash_table, "héllo \x00 日本 😀") == "héllo \x00 日本 😀"


def test_number(hash_table):
    """N comes back as Decimal."""
    value = roundtrip(hash_table, Decimal("-12.5"))
    assert isinstance(value, Decimal) and value == Decimal("-12.5")


def test_int_becomes_a_number(hash_table):
    """Python ints are numbers."""
    value = roundtrip(hash_table, 42)
    assert isinstance(value, Decimal) and value == 42


def test_binary(hash_table):
    """B round trips its bytes (returned as a Binary that equals the bytes)."""
    value = roundtrip(hash_table, b"\x00\x01\xff")
    assert value == b"\x00\x01\xff"
    assert bytes(value.value if hasattr(value, "value") else value) == b"\x00\x01\xff"


def test_bytearray_and_boto3_binary_are_binary(hash_table):
    """bytearray and boto3's Binary are B values too."""
    assert roundtrip(hash_table, bytearray(b"ab")) == b"ab"
    assert roundtrip(hash_table, Boto3Binary(b"cd")) == b"cd"


def test_bool_is_not_a_number(hash_table):
    """BOOL stays bool (True is not the number 1)."""
    hash_table.put_item(Item={"pk": "a", "t": True, "f": False, "one": 1})
    item = hash_table.get_item(Key={"pk": "a"})["Item"]
    assert item["t"] is True and item["f"] is False
    assert isinstance(item["one"], Decimal)


def test_null(hash_table):
    """NULL round trips as None."""
    assert roundtrip(hash_table, None) is None


def test_map(hash_table):
    """M round trips; keys are arbitrary strings; may be empty."""
    value = {"a": 1, "with space.and#dot": "v", "nested": {"deeper": {"x": [1, 2]}}, "empty": {}}
    assert roundtrip(hash_table, value) == value


def test_list(hash_table):
    """L keeps order, may be heterogeneous and empty."""
    value = ["a", 1, b"b", True, None, {"m": 1}, ["nested"], [], {"s"}]
    assert roundtrip(hash_table, value) == value


def test_tuple_becomes_a_list(hash_table):
    """Tuples are lists."""
    assert roundtrip(hash_table, ("a", 1)) == ["a", 1]


def test_string_set(hash_table):
    """SS round trips as a set of str."""
    assert roundtrip(hash_table, {"a", "b", "c"}) == {"a", "b", "c"}


def test_number_set(hash_table):
    """NS round trips as a set of Decimal, members in canonical form."""
    value = roundtrip(hash_table, {Decimal("1.0"), Decimal("2.50"), 3})
    assert value == {1, Decimal("2.5"), 3}
    assert sorted(v.as_tuple() for v in value) == sorted(Decimal(s).as_tuple() for s in ("1", "2.5", "3"))


def test_binary_set(hash_table):
    """BS round trips as a set of binary values."""
    assert roundtrip(hash_table, {b"a", b"\x00"}) == {b"a", b"\x00"}


def test_all_types_in_one_item(hash_table):
    """An item may hold every type at once."""
    item = {"pk": "a", "s": "x", "n": 1, "b": b"y", "bool": False, "null": None, "m": {"k": "v"},
            "l": [1], "ss": {"x"}, "ns": {1}, "bs": {b"x"}}
    hash_table.put_item(Item=item)
    assert hash_table.get_item(Key={"pk": "a"})["Item"] == item


# -- numbers ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("given, canonical", [
    ("007", "7"), ("001.23", "1.23"), ("00", "0"), ("+3", "3"), ("-0", "0"), ("-0.0", "0"),
    ("1.0", "1"), ("1.10", "1.1"), ("100.000", "100"), ("0.10", "0.1"), (".5", "0.5"), ("-.5", "-0.5"),
    ("1e3", "1000"), ("1.5e2", "150"), ("-3e2", "-300"), ("1e-3", "0.001"), ("0e5", "0"), ("0.0e3", "0"),
    ("123e-2", "1.23"), ("1.0e-1", "0.1"), ("1e20", "100000000000000000000"), ("1e-20", "0.00000000000000000001"),
])
def test_numbers_come_back_canonical(hash_table, given, canonical):
    """Numbers are stored and returned in canonical plain form (no exponent, no padding, -0 is 0)."""
    assert same_digits(roundtrip(hash_table, Decimal(given)), canonical)


def test_38_significant_digits(hash_table):
    """38 significant digits are stored exactly."""
    value = Decimal("1234567890123456789012345678901234567.8")
    assert roundtrip(hash_table, value) == value
    assert roundtrip(hash_table, -value) == -value


def test_38_digits_with_a_large_exponent(hash_table):
    """Trailing zeros are not significant digits: 38 digits times 10^30 is fine."""
    value = Decimal("31415926535897932384626433832795028841e30")
    hash_table.put_item(Item={"pk": "a", "v": value})
    assert stored_equals(hash_table, value)


def test_big_integers(hash_table):
    """int 10**37 + 1 (38 digits) is a number; so is 1E+38 (1 significant digit, 39 integer digits)."""
    assert roundtrip(hash_table, 10**37 + 1) == 10**37 + 1
    hash_table.put_item(Item={"pk": "a", "v": Decimal("1E+38")})
    assert stored_equals(hash_table, Decimal("1E+38"))


def test_39_significant_digits(hash_table):
    """A 39th significant digit is refused, never rounded."""
    value = Decimal("1234567890123456789012345678901234567.89")
    number_rejected(lambda: hash_table.put_item(Item={"pk": "a", "v": value}), TOO_PRECISE)
    assert "Item" not in hash_table.get_item(Key={"pk": "a"})


def test_int_with_39_digits(hash_table):
    """Also for ints."""
    number_rejected(lambda: hash_table.put_item(Item={"pk": "a", "v": 10**38 + 1}), TOO_PRECISE)


@pytest.mark.parametrize("value", ["9.9999999999999999999999999999999999999E+125",
                                   "-9.9999999999999999999999999999999999999E+125",
                                   "1E-130", "-1E-130", "1E+125", "0.1E+126"])
def test_extreme_magnitudes_are_accepted(hash_table, value):
    """Magnitudes from 1E-130 to 9.99...E+125 are in range."""
    hash_table.put_item(Item={"pk": "a", "v": Decimal(value)})
    assert stored_equals(hash_table, Decimal(value))


@pytest.mark.parametrize("value", ["1E+126", "-1E+126", "11E+125"])
def test_overflow(hash_table, value):
    """Beyond 9.99...E+125: Number overflow."""
    number_rejected(lambda: hash_table.put_item(Item={"pk": "a", "v": Decimal(value)}), OVERFLOW)


@pytest.mark.parametrize("value", ["1E-131", "-1E-131", "0.9E-130"])
def test_underflow(hash_table, value):
    """Below 1E-130 (and not zero): Number underflow."""
    number_rejected(lambda: hash_table.put_item(Item={"pk": "a", "v": Decimal(value)}), UNDERFLOW)


def test_zero_is_always_fine(hash_table):
    """Zero with any exponent is 0."""
    assert same_digits(roundtrip(hash_table, Decimal("0E-5")), "0")


@pytest.mark.parametrize("value", [Decimal("NaN"), Decimal("Infinity")])
def test_nan_and_infinity_rejected(hash_table, value):
    """NaN and Infinity are not numbers DynamoDB stores."""
    with pytest.raises(TypeError, match="Infinity and NaN not supported"):
        hash_table.put_item(Item={"pk": "a", "v": value})


def test_number_keys_compare_by_value(number_table):
    """1000, 1E3, 1E+3, 1000.0, 001000 and +1000 are one key; the stored key reads 1000."""
    number_table.put_item(Item={"pk": Decimal("1000"), "v": "first"})
    for form in ("1E3", "1E+3", "1000.0", "001000", "+1000", "1.000e3"):
        assert number_table.get_item(Key={"pk": Decimal(form)})["Item"]["v"] == "first"
    assert number_table.get_item(Key={"pk": 1000})["Item"]["v"] == "first"
    number_table.put_item(Item={"pk": Decimal("1E+3"), "v": "second"})
    items = number_table.scan()["Items"]
    assert len(items) == 1 and items[0]["v"] == "second"
    assert same_digits(items[0]["pk"], "1000")


def test_number_sort_keys_compare_by_value(range_table):
    """Sort keys 2.0 and 2 are the same item."""
    range_table.put_item(Item={"pk": "a", "sk": Decimal("2.0"), "v": 1})
    range_table.put_item(Item={"pk": "a", "sk": 2, "v": 2})
    assert range_table.scan()["Count"] == 1
    assert same_digits(range_table.get_item(Key={"pk": "a", "sk": Decimal("20e-1")})["Item"]["sk"], "2")


# -- floats, sets -----------------------------------------------------------------------------------

def test_float_in_item(hash_table):
    """Floats are refused (as boto3 does): use Decimal."""
    with pytest.raises(TypeError, match=FLOATS):
        hash_table.put_item(Item={"pk": "a", "v": 1.5})


def test_float_nested(hash_table):
    """Also inside maps and lists."""
    with pytest.raises(TypeError, match=FLOATS):
        hash_table.put_item(Item={"pk": "a", "m": {"l": [1, 2.5]}})


def test_float_in_key(number_table):
    """Also in a Key."""
    with pytest.raises(TypeError, match=FLOATS):
        number_table.get_item(Key={"pk": 1.0})


def test_float_in_expression_values(hash_table):
    """Also in ExpressionAttributeValues."""
    with pytest.raises(TypeError, match=FLOATS):
        hash_table.update_item(Key={"pk": "a"}, UpdateExpression="SET v = :v", ExpressionAttributeValues={":v": 0.5})


def test_empty_set(hash_table):
    """An empty set cannot be stored (boto3 sends a Python set() as an empty NS)."""
    with validation(INVALID + "An number set  may not be empty"):
        hash_table.put_item(Item={"pk": "a", "s": set()})


def test_empty_set_nested(hash_table):
    """The non-empty rule applies inside maps and lists too."""
    with validation(INVALID + "An number set  may not be empty"):
        hash_table.put_item(Item={"pk": "a", "m": {"inner": [set()]}})


def test_empty_set_in_expression_values(hash_table):
    """A bad value in ExpressionAttributeValues is reported with its placeholder."""
    with validation("ExpressionAttributeValues contains invalid value: One or more parameter values were invalid: "
                    "An number set  may not be empty for key :v"):
        hash_table.update_item(Key={"pk": "a"}, UpdateExpression="ADD s :v", ExpressionAttributeValues={":v": set()})


def test_mixed_set_rejected(hash_table):
    """A set mixing types is not a DynamoDB set."""
    with pytest.raises(TypeError):
        hash_table.put_item(Item={"pk": "a", "s": {1, "a"}})


# -- empty values ----------------------------------------------------------------------------------

def test_empty_strings_and_binary_outside_keys(hash_table):
    """Empty S and B are allowed in non-key attributes, nested ones included."""
    item = {"pk": "a", "s": "", "b": b"", "m": {"s": "", "l": ["", b""]}}
    hash_table.put_item(Item=item)
    assert hash_table.get_item(Key={"pk": "a"})["Item"] == item


def test_empty_string_in_update(hash_table):
    """Also when set by an update."""
    hash_table.update_item(Key={"pk": "a"}, UpdateExpression="SET s = :e", ExpressionAttributeValues={":e": ""})
    assert hash_table.get_item(Key={"pk": "a"})["Item"]["s"] == ""


def test_empty_map_and_list(hash_table):
    """Empty maps and lists are values."""
    hash_table.put_item(Item={"pk": "a", "m": {}, "l": []})
    assert hash_table.get_item(Key={"pk": "a"})["Item"] == {"pk": "a", "m": {}, "l": []}


# -- item size --------------------------------------------------------------------------------------

def test_item_of_exactly_400_kb(hash_table):
    """An item of 409,600 bytes (names + values) is accepted."""
    hash_table.put_item(Item={"pk": "a", "x": "a" * (409_600 - 4)})
    assert len(hash_table.get_item(Key={"pk": "a"})["Item"]["x"]) == 409_596


def test_item_one_byte_over_400_kb(hash_table):
    """One byte more is rejected."""
    with validation("Item size has exceeded the maximum allowed size"):
        hash_table.put_item(Item={"pk": "a", "x": "a" * (409_600 - 3)})
    assert "Item" not in hash_table.get_item(Key={"pk": "a"})


def test_attribute_names_count_towards_the_size(hash_table):
    """Attribute names are part of the item size."""
    name = "n" * 1000
    hash_table.put_item(Item={"pk": "a", name: "a" * (409_600 - 3 - 1000)})
    with validation("Item size has exceeded the maximum allowed size"):
        hash_table.put_item(Item={"pk": "a", name: "a" * (409_600 - 3 - 1000 + 1)})


def test_utf8_bytes_count_towards_the_size(hash_table):
    """String sizes are UTF-8 bytes: 2-byte characters count twice."""
    with validation("Item size has exceeded the maximum allowed size"):
        hash_table.put_item(Item={"pk": "a", "x": "é" * 204_799})


def test_update_beyond_400_kb(hash_table):
    """An update whose result exceeds 400 KB is rejected with UpdateItem's wording; exactly 400 KB is fine."""
    hash_table.put_item(Item={"pk": "a", "x": "a" * (409_600 - 4 - 10)})
    with validation("Item size to update has exceeded the maximum allowed size"):
        hash_table.update_item(Key={"pk": "a"}, UpdateExpression="SET y = :v",
                               ExpressionAttributeValues={":v": "b" * 10})
    hash_table.update_item(Key={"pk": "a"}, UpdateExpression="SET y = :v", ExpressionAttributeValues={":v": "b" * 9})
    assert hash_table.get_item(Key={"pk": "a"})["Item"]["y"] == "b" * 9


# -- key sizes --------------------------------------------------------------------------------------

HASH_TOO_BIG = INVALID + "Size of hashkey has exceeded the maximum size limit of2048 bytes"
RANGE_TOO_BIG = INVALID + "Aggregated size of all range keys has exceeded the size limit of 1024 bytes"


def test_hash_key_of_2048_bytes(hash_table):
    """A partition key may be 2048 bytes (UTF-8)."""
    for key in ("k" * 2048, "é" * 1024):
        hash_table.put_item(Item={"pk": key})
        assert hash_table.get_item(Key={"pk": key})["Item"] == {"pk": key}


@pytest.mark.parametrize("key", ["k" * 2049, "é" * 1024 + "k"])
def test_hash_key_of_2049_bytes(hash_table, key):
    """2049 bytes is too big (sic: 'limit of2048')."""
    with validation(HASH_TOO_BIG):
        hash_table.put_item(Item={"pk": key})


def test_oversized_hash_key_in_get(hash_table):
    """Key-taking operations check the size too."""
    with validation(HASH_TOO_BIG):
        hash_table.get_item(Key={"pk": "k" * 2049})


def test_binary_hash_key_size(binary_table):
    """Binary keys are measured in raw bytes."""
    binary_table.put_item(Item={"pk": b"\xff" * 2048, "sk": b"s"})
    with validation(HASH_TOO_BIG):
        binary_table.put_item(Item={"pk": b"\xff" * 2049, "sk": b"s"})


def test_range_key_of_1024_bytes(string_range_table):
    """A sort key may be 1024 bytes; 1025 is too big."""
    string_range_table.put_item(Item={"pk": "a", "sk": "s" * 1024})
    string_range_table.put_item(Item={"pk": "a", "sk": "é" * 512})
    with validation(RANGE_TOO_BIG):
        string_range_table.put_item(Item={"pk": "a", "sk": "s" * 1025})
    with validation(RANGE_TOO_BIG):
        string_range_table.put_item(Item={"pk": "a", "sk": "é" * 512 + "s"})


def test_binary_range_key_size(binary_table):
    """Binary sort keys: 1024 raw bytes."""
    binary_table.put_item(Item={"pk": b"p", "sk": b"\x00" * 1024})
    with validation(RANGE_TOO_BIG):
        binary_table.put_item(Item={"pk": b"p", "sk": b"\x00" * 1025})


def test_number_keys_have_no_byte_limit(number_table):
    """N keys are limited by digits only."""
    value = Decimal("12345678901234567890123456789012345678")
    number_table.put_item(Item={"pk": value})
    assert number_table.get_item(Key={"pk": value})["Item"]["pk"] == value


# -- nesting ----------------------------------------------------------------------------------------

def nested_maps(levels):
    value = {}
    for _ in range(levels - 1):
        value = {"x": value}
    return value


def nested_lists(levels):
    value = []
    for _ in range(levels - 1):
        value = [value]
    return value


def test_31_map_levels_are_accepted(hash_table):
    """A top-level map holding 30 further nested maps (31 map levels, 32 counting the item) is accepted."""
    value = nested_maps(31)
    assert roundtrip(hash_table, value) == value


def test_31_list_levels_are_accepted(hash_table):
    """Lists nest the same way."""
    value = nested_lists(31)
    assert roundtrip(hash_table, value) == value


@pytest.mark.parametrize("value", [nested_maps(50), nested_lists(50)])
def test_50_levels_are_rejected(hash_table, value):
    """Far deeper nesting is rejected; the message speaks of nesting."""
    with validation(contains="nested"):
        hash_table.put_item(Item={"pk": "a", "v": value})
