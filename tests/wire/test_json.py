"""The two JSON backends of the wire face read and write the same JSON.

orjson is the fast one; the json module is the reference.  Whatever orjson
rejects or might read differently is handed to json, so for every body both
give the same value (same types: an integer stays an int, however long) or the
same SerializationException.
"""

import json
import math
from datetime import datetime, timezone
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from kvstore.errors import SerializationException
from kvstore.server import wire
from kvstore.types import Binary

orjson = pytest.importorskip("orjson")

relaxed = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])

PARSERS = [pytest.param(wire._parse_json, id="json"), pytest.param(wire._parse_orjson, id="orjson")]


def parsed(parse, body):
    """The value a parser reads, or the exception it raises (type and message)."""
    try:
        return parse(body)
    except Exception as exc:
        return (type(exc), str(exc))


def same(a, b):
    """Equal with the same types all the way down (1 != 1.0 here, key order counts)."""
    if type(a) is not type(b):
        return False
    if type(a) is dict:
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if type(a) in (list, tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if type(a) is float:
        return repr(a) == repr(b)
    return a == b


def agree(body):
    a, b = parsed(wire._parse_json, body), parsed(wire._parse_orjson, body)
    assert same(a, b), (body, a, b)
    return a


# ------------------------------------------------------------------ the edges, one by one

@pytest.mark.parametrize("body", [
    b'{"TableName": ',                       # truncated
    b'{"a":1}x',                             # trailing data
    b'{"a":01}',                             # leading zero
    b'{"a":1.}',
    b"{'a':1}",
    b'{"a":"\x01"}',                         # raw control character in a string
    b'{"a":NaN}', b'{"a":Infinity}', b'{"a":-Infinity}',
    b'{"a":"\xff"}',                         # not UTF-8
    b'{"a":"\xed\xa0\x80"}',                 # an encoded surrogate is not UTF-8 either
    b'\xef\xbb\xbf{}',                       # byte order mark
    b'{"a":"x}',                             # a string that never ends
    b'{"a":1,}', b'[1,]',
    b"",
])
def test_what_is_not_json_is_a_bare_serialization_exception_for_both(body):
    for parse in (wire._parse_json, wire._parse_orjson):
        with pytest.raises(SerializationException) as e:
            parse(body)
        assert e.value.message in ("", None)
    agree(body)


@pytest.mark.parametrize("body, value", [
    (b'{"a":1,"a":2}', {"a": 2}),                                   # the last duplicate wins
    (b'{"a":1,"b":2,"a":3}', {"a": 3, "b": 2}),                     # ... in the first one's place
    (b'{"a":123456789012345678901234567890}', {"a": 123456789012345678901234567890}),
    (b'{"a":-9223372036854775809}', {"a": -9223372036854775809}),
    (b'{"a":18446744073709551616}', {"a": 18446744073709551616}),
    (b'{"a":[1e400]}', {"a": [math.inf]}),                           # json reads infinity
    (b'{"a":"\\ud800"}', {"a": "\ud800"}),                           # a lone surrogate escape
    (b'{"a":"\\udc00\\ud83d\\ude00"}', {"a": "\udc00\U0001F600"}),
    (b'{"a":-0}', {"a": 0}),
    (b'{"a":-0.0}', {"a": -0.0}),
    (b'{"a":1E5,"b":1.5e-3}', {"a": 100000.0, "b": 0.0015}),
    (b' \t\r\n{"a" : [ ] } \n', {"a": []}),
    (b'{"N":"123456789012345678901234567890"}', {"N": "123456789012345678901234567890"}),
])
def test_both_read_the_same_value(body, value):
    assert same(agree(body), value)


def test_nesting_deeper_than_500_is_read_by_json():
    body = b'{"a":' + b"[" * 600 + b"]" * 600 + b"}"
    a, b = wire._parse_json(body), wire._parse_orjson(body)
    assert type(a) is dict and a == b


def test_nesting_deeper_than_json_takes_is_a_serialization_exception():
    body = b'{"a":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    for parse in (wire._parse_json, wire._parse_orjson):
        with pytest.raises(SerializationException):
            parse(body)


@pytest.mark.parametrize("parse", PARSERS)
def test_a_json_number_where_a_string_belongs_is_rejected(parse):
    body = parse(b'{"TableName":"tbl","Item":{"pk":{"N":12345678901234567890123}}}')
    with pytest.raises(SerializationException) as e:
        wire.decode_request("PutItem", body)
    assert e.value.message == "NUMBER_VALUE cannot be converted to String"


@pytest.mark.parametrize("parse", PARSERS)
def test_a_long_integer_member_keeps_its_java_class(parse):
    # 2**64 read as a float would be "java.lang.Double"
    body = parse(b'{"TableName":18446744073709551616}')
    with pytest.raises(SerializationException) as e:
        wire.decode_request("GetItem", body)
    assert e.value.message == "class java.lang.Long can not be converted to an String"


@pytest.mark.parametrize("parse", PARSERS)
def test_an_infinite_integer_member_is_a_serialization_exception(parse):
    with pytest.raises(SerializationException):
        wire.decode_request("Scan", parse(b'{"TableName":"tbl","Limit":1e400}'))


# ------------------------------------------------------------------ any body

json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.text(max_size=12),
              st.integers(min_value=-2**80, max_value=2**80),
              st.floats(allow_nan=False, allow_infinity=False)),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=6), inner, max_size=4)),
    max_leaves=20,
)


@st.composite
def json_texts(draw):
    """Valid JSON text of an arbitrary value, sometimes damaged (bytes cut, swapped or inserted)."""
    text = json.dumps(draw(json_values), ensure_ascii=draw(st.booleans()))
    if draw(st.booleans()):
        text = text.replace(",", ", ").replace(":", ": ")
    data = text.encode("utf-8", "surrogatepass")
    for _ in range(draw(st.integers(0, 2))):
        i = draw(st.integers(0, len(data)))
        junk = draw(st.sampled_from([b"", b"x", b'"', b"\\", b"1234567890123456789", b"-", b".", b"e9",
                                     b"\xff", b"\xed\xa0\x80", b"NaN", b"}", b"]", b",", b"\x00", b" "]))
        cut = draw(st.integers(0, 2))
        data = data[:i] + junk + data[i + cut:]
    return data


@relaxed
@given(json_texts())
@example(b'{"a":12345678901234567890}')
@example(b'{"a":"\\"", "b":1234567890123456789}')
@example(b'{"a\\\\":9223372036854775807,"b":-9223372036854775808}')
@example(b'[18446744073709551615, -9223372036854775809]')
def test_both_parsers_agree_on_any_body(body):
    agree(body)


@relaxed
@given(st.binary(max_size=40))
def test_both_parsers_agree_on_any_bytes(body):
    agree(body)


# ------------------------------------------------------------------ writing

response_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.text(max_size=8), st.integers(min_value=-2**70, max_value=2**70),
              st.floats(allow_nan=False, allow_infinity=False),
              st.decimals(allow_nan=False, allow_infinity=False, places=3),
              st.binary(max_size=6), st.binary(max_size=6).map(Binary),
              st.datetimes(timezones=st.just(timezone.utc))),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.tuples(inner),
                            st.frozensets(st.text(max_size=3), max_size=3),
                            st.dictionaries(st.text(max_size=5), inner, max_size=3)),
    max_leaves=12,
)


@relaxed
@given(response_values)
@example({"a": "\ud800"})                      # not UTF-8: orjson hands it to json
@example({"n": 2**70, "d": Decimal("12345678901234567890123")})
@example({"t": datetime(2024, 1, 1, tzinfo=timezone.utc)})
def test_both_writers_write_the_same_json(value):
    a = wire._serialize_orjson(value)
    b = wire._serialize_json(value)
    assert same(json.loads(a), json.loads(b))


def test_writers_turn_datetimes_into_epoch_seconds():
    t = datetime(2024, 1, 1, tzinfo=timezone.utc)
    assert wire._serialize_orjson({"t": t}) == wire._serialize_json({"t": t}) == b'{"t":1704067200.0}'


def test_what_neither_writer_can_write_is_a_type_error():
    for serialize in (wire._serialize_orjson, wire._serialize_json):
        with pytest.raises(TypeError):
            serialize({"x": object()})


def test_the_backend_switch(monkeypatch):
    monkeypatch.setenv("KVSTORE_JSON", "json")
    assert wire._backend() == "json"
    monkeypatch.setenv("KVSTORE_JSON", "orjson")
    assert wire._backend() == "orjson"
    monkeypatch.delenv("KVSTORE_JSON")
    monkeypatch.setenv("KVSTORE_PURE_PYTHON", "1")
    assert wire._backend() == "json"
    monkeypatch.delenv("KVSTORE_PURE_PYTHON")
    assert wire._backend() == "orjson"


# ------------------------------------------------------------------ responses written from native items

native_values = st.recursive(
    st.one_of(st.text(max_size=6), st.integers(-10**6, 10**6).map(Decimal), st.binary(max_size=6).map(Binary),
              st.booleans(), st.none(), st.frozensets(st.text(max_size=3), min_size=1, max_size=3).map(set)),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=4), inner, max_size=3)),
    max_leaves=10,
)
native_items = st.dictionaries(st.text(min_size=1, max_size=6), native_values, max_size=4)


@relaxed
@given(st.sampled_from(["GetItem", "Query", "Scan", "BatchGetItem", "PutItem", "ListTables"]),
       st.lists(native_items, max_size=3), st.one_of(st.none(), native_items), st.booleans())
@example("GetItem", [{"a": "\ud800"}], {"a": "\ud800"}, True)        # not UTF-8: the general path writes it
def test_dump_response_writes_what_encode_response_and_dumps_write(operation, items, item, capacity):
    response = {"Items": items, "Count": len(items), "LastEvaluatedKey": item, "Item": item, "Attributes": item}
    if capacity:
        response["ConsumedCapacity"] = {"TableName": "tbl", "CapacityUnits": Decimal("0.5")}
    expected = json.loads(wire.dumps(wire.encode_response(operation, response)))
    assert json.loads(wire.dump_response(operation, response)) == expected


def test_dump_response_of_nothing():
    assert json.loads(wire.dump_response("GetItem", {})) == {}
    assert json.loads(wire.dump_response("GetItem", None)) == {}
    assert json.loads(wire.dump_response("Query", {"Items": [], "Count": 0})) == {"Items": [], "Count": 0}
