"""DynamoDB JSON in the hot-path cores: ``from_wire``, ``to_wire``, their item forms, and
``json_needs_stdlib``.

``kvstore._pycore`` takes them from ``kvstore.types`` (the reference);
``kvstore._ccore`` has compiled twins that hand anything unusual back to it.
Whatever the input -- valid or not -- both must give the same value (same
types, numbers with the same digits) or raise the same exception with the same
message.
"""

import base64
import json
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from kvstore import limits
from kvstore.types import Binary, number

from tests.cores import CORES, ccore, needs_ccore, pycore
from tests.wire.get_item_tables import create_get_item_tables

relaxed = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])

WIRE_FUNCTIONS = ("from_wire", "to_wire", "item_from_wire", "item_to_wire", "item_json", "items_json",
                  "json_needs_stdlib", "parse_request", "render_answer", "get_item_answer")


# ------------------------------------------------------------------ comparing outcomes

def outcome(function, *args):
    """What a call returns, or (type, message) of what it raises."""
    try:
        return function(*args)
    except Exception as exc:
        return ("raised", type(exc), str(exc))


def same(a, b):
    """Equal, with equal types all the way down and numbers written the same (1 vs 1.0 differ)."""
    if type(a) is not type(b):
        return False
    if type(a) is dict:
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if type(a) in (list, tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if type(a) in (set, frozenset):
        return sorted(map(repr, a)) == sorted(map(repr, b))
    if type(a) is Decimal:
        return str(a) == str(b)
    if type(a) is float:
        return repr(a) == repr(b)
    return a == b


def assert_cores_agree(name, *args):
    a = outcome(getattr(pycore, name), *args)
    b = outcome(getattr(ccore, name), *args)
    assert same(a, b), (name, args, a, b)
    return a


# ------------------------------------------------------------------ strategies

texts = st.one_of(
    st.text(max_size=12),
    st.text(st.characters(categories=["Cs", "Lu", "Co", "Nd"]), max_size=4),       # lone surrogates
)
numbers = st.one_of(
    st.integers(min_value=-10**40, max_value=10**40).map(str),
    st.decimals(allow_nan=False, allow_infinity=False).map(str),
    st.decimals(allow_nan=False, allow_infinity=False).map(lambda d: format(d, "f")),
    st.from_regex(r"-?(0|[1-9][0-9]{0,42})(\.[0-9]{0,42})?", fullmatch=True),
    st.text(st.sampled_from("0123456789.-+eE x٣"), max_size=14),
    st.sampled_from(["0", "-0", "0.0", "00", "1e125", "1e126", "1e-130", "1e-131", "9" * 38, "9" * 39,
                     "1" + "0" * 125, "1" + "0" * 126, "0." + "0" * 129 + "1", "0." + "0" * 130 + "1",
                     "-0." + "0" * 129 + "1", "1" * 38 + "0" * 10, "1" * 39, "0.5", "-0.5", ".5", "5.",
                     "1.50", "+1", "1_0", "١", "NaN", "Infinity", "", "-"]),
)
base64_texts = st.one_of(
    st.binary(max_size=12).map(lambda b: base64.b64encode(b).decode()),
    st.text(st.sampled_from("ABab09+/=-_ \n"), max_size=12),
    st.sampled_from(["", "=", "==", "A===", "AA==", "AB==", "AAA=", "AA=A", "====", "AAAA====", "QQ", "é==="]),
)
json_leaves = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), texts, numbers,
                        base64_texts)
TAGS = ["S", "N", "B", "BOOL", "NULL", "M", "L", "SS", "NS", "BS"]


def _tagged(children):
    """AttributeValue-shaped dicts, mostly right, sometimes wrong in one place."""
    return st.one_of(
        st.builds(lambda v: {"S": v}, texts),
        st.builds(lambda v: {"N": v}, numbers),
        st.builds(lambda v: {"B": v}, base64_texts),
        st.builds(lambda v: {"BOOL": v}, st.booleans()),
        st.just({"NULL": True}),
        st.builds(lambda v: {"SS": v}, st.lists(texts, max_size=4)),
        st.builds(lambda v: {"NS": v}, st.lists(numbers, max_size=4)),
        st.builds(lambda v: {"BS": v}, st.lists(base64_texts, max_size=4)),
        st.builds(lambda v: {"M": v}, st.dictionaries(texts, children, max_size=4)),
        st.builds(lambda v: {"L": v}, st.lists(children, max_size=4)),
        # wrong: a tag with any JSON value, unknown tags, several or no tags, not a map at all
        st.builds(lambda t, v: {t: v}, st.sampled_from(TAGS + ["X", "s", "", "Null"]), json_leaves),
        st.dictionaries(st.sampled_from(TAGS + ["X"]), json_leaves, max_size=3),
        json_leaves,
        st.lists(children, max_size=2),
    )


wire_values = st.recursive(_tagged(st.just({"S": "leaf"})), _tagged, max_leaves=20)
wire_items = st.one_of(st.dictionaries(texts, wire_values, max_size=5), json_leaves)


def _deep(levels, leaf):
    for _ in range(levels):
        leaf = {"L": [leaf]} if levels % 2 else {"M": {"a": leaf}}
    return leaf


# native values, and values outside the native model (the compiled core hands those over)
native_numbers = st.one_of(
    st.integers(min_value=-10**38 + 1, max_value=10**38 - 1).map(number),
    st.sampled_from([number(x) for x in ("1e125", "-1e-130", "0.5", "1e-7", "123.456", "1e20")]),
)
scalars = st.one_of(st.text(max_size=12), native_numbers, st.binary(max_size=20).map(Binary), st.booleans(), st.none())
native_sets = st.one_of(
    st.frozensets(st.text(max_size=6), min_size=1, max_size=4).map(set),
    st.frozensets(native_numbers, min_size=1, max_size=4).map(set),
    st.frozensets(st.binary(max_size=6), min_size=1, max_size=4).map(lambda s: {Binary(b) for b in s}),
)
native_values = st.recursive(
    st.one_of(scalars, native_sets),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=20,
)
odd_values = st.recursive(
    st.one_of(scalars, native_sets, st.integers(), st.floats(), st.binary(max_size=4), st.tuples(st.integers()),
              st.just(set()), st.just({1, 2}), st.just({"a", 1}), st.just({Decimal(1), 2}),
              st.just({Binary(b"x"), b"y"}), st.just(frozenset({"a"})), st.decimals(),
              st.just(Decimal("-0")), st.just(Decimal("1E+5")), st.just(Decimal("sNaN")), st.just(object())),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.one_of(st.text(max_size=4), st.integers()), inner, max_size=3)),
    max_leaves=10,
)


# ------------------------------------------------------------------ the module surface

@needs_ccore
def test_both_cores_export_the_wire_functions():
    for name in WIRE_FUNCTIONS:
        assert name in pycore.__all__ and name in ccore.__all__


def test_the_pure_core_is_kvstore_types():
    from kvstore import types
    for name in ("from_wire", "to_wire", "item_from_wire", "item_to_wire"):
        assert getattr(pycore, name) is getattr(types, name)


# ------------------------------------------------------------------ wire -> native

@needs_ccore
@relaxed
@given(wire_values)
@example({"N": "1" + "0" * 125})
@example({"N": "-0.00012"})
@example({"B": "AB=="})
@example({"SS": ["a", "a"]})
@example({"NS": ["1", "1.0"]})
@example({"BS": ["AA==", "AA=="]})
@example({"M": {"\ud800": {"S": "x"}}})
@example({"M": {"a": {"S": 1}, "\ud800": {"S": "x"}}})        # the reference checks names first
@example({"S": "a\udfffb"})
@example({"S": "\U0001F600"})
@example({"NULL": False})
@example({"BOOL": 1})
@example({"S": "x", "N": "1"})
@example({"S": "x", "X": "y"})
@example({})
def test_from_wire_agrees(av):
    assert_cores_agree("from_wire", av)


@needs_ccore
@pytest.mark.parametrize("levels", [limits.MAX_NESTING_DEPTH - 2, limits.MAX_NESTING_DEPTH - 1,
                                    limits.MAX_NESTING_DEPTH, limits.MAX_NESTING_DEPTH + 5])
def test_from_wire_agrees_at_the_nesting_limit(levels):
    for leaf in ({"S": "x"}, {"N": "1.0"}, {"L": []}, {"M": {}}):
        for depth in (1, 2):
            assert_cores_agree("from_wire", _deep(levels, leaf), depth)


@needs_ccore
@relaxed
@given(wire_items)
@example({"\ud800": {"S": "x"}})
@example({"a": {"S": "x"}, "b": {"N": "01"}})
@example([])
def test_item_from_wire_agrees(item):
    assert_cores_agree("item_from_wire", item)


@needs_ccore
@relaxed
@given(native_values)
def test_valid_wire_values_never_need_the_reference(value):
    av = pycore.to_wire(value)
    item = {"a": av, "b": pycore.to_wire({"x": value})}
    expected_value, expected_item = pycore.from_wire(av), pycore.item_from_wire(item)
    item_again = pycore.item_to_wire(expected_item)     # sets may come back in another order

    def reference_called(*args):
        raise AssertionError("fell back to the reference")

    with pytest.MonkeyPatch.context() as patch:
        for name in WIRE_FUNCTIONS:
            patch.setattr(pycore, name, reference_called)
        assert same(ccore.from_wire(av), expected_value)
        assert same(ccore.item_from_wire(item), expected_item)
        assert same(ccore.to_wire(value), av)
        assert same(ccore.item_to_wire(expected_item), item_again)
        assert json.loads(ccore.item_json(expected_item)) == json.loads(json.dumps(item_again))
        assert json.loads(ccore.items_json([expected_item])) == [json.loads(json.dumps(item_again))]


@needs_ccore
def test_numbers_already_canonical_give_their_own_text():
    for text in ("0", "7", "-7", "100", "10.5", "-0.001", "0.5", "1" + "0" * 125, "9" * 38,
                 "0." + "0" * 129 + "1", "12345678901234567890.123456789012345678"):
        assert format(ccore.from_wire({"N": text}), "f") == text == format(pycore.from_wire({"N": text}), "f")


# ------------------------------------------------------------------ native -> wire

@needs_ccore
@relaxed
@given(native_values)
def test_to_wire_agrees_on_native_values(value):
    assert_cores_agree("to_wire", value)
    assert_cores_agree("item_to_wire", {"v": value, "w": [value]})


@needs_ccore
@relaxed
@given(odd_values)
def test_to_wire_agrees_on_odd_values(value):
    assert_cores_agree("to_wire", value)
    assert_cores_agree("item_to_wire", {"v": value})


@needs_ccore
@pytest.mark.parametrize("item", [None, [], "x", {1: "x"}, {"a": object()}])
def test_item_to_wire_agrees_on_what_is_not_an_item(item):
    assert_cores_agree("item_to_wire", item)


@needs_ccore
@relaxed
@given(st.binary(max_size=64))
def test_binary_round_trips_like_base64(raw):
    av = ccore.to_wire(Binary(raw))
    assert av == {"B": base64.b64encode(raw).decode("ascii")}
    assert ccore.from_wire(av) == Binary(raw)


# ------------------------------------------------------------------ native -> JSON text

JSON_TEXTS = st.text(st.sampled_from(["a", "\x00", "\x1f", " ", '"', "\\", "/", "\x7f", "\x80", "é", "\u2028",
                                      "\U0001F600", "\b", "\f", "\n", "\r", "\t", "!", "#", "]"]), max_size=30)


@needs_ccore
@relaxed
@given(st.dictionaries(st.one_of(st.text(max_size=8), JSON_TEXTS), st.one_of(native_values, JSON_TEXTS), max_size=5))
@example({"a": "x" * 20 + '"' + "y" * 20})
@example({'"\\': '"\\'})
def test_item_json_agrees_and_is_the_json_of_item_to_wire(item):
    text = assert_cores_agree("item_json", item)
    assert json.loads(text) == json.loads(json.dumps(pycore.item_to_wire(item)))
    assert_cores_agree("items_json", [item, item])


@needs_ccore
@relaxed
@given(odd_values)
@example({"a": "\ud800"})
@example({"\udc00": "a"})
def test_item_json_agrees_on_odd_values(value):
    assert_cores_agree("item_json", {"v": value})
    assert_cores_agree("items_json", [{"v": value}])
    assert_cores_agree("item_json", value)
    assert_cores_agree("items_json", value)


# ------------------------------------------------------------------ the JSON guard

@st.composite
def json_like(draw):
    data = json.dumps(draw(st.recursive(
        st.one_of(st.none(), st.integers(min_value=-10**25, max_value=10**25), st.text(max_size=25),
                  st.floats(allow_nan=False, allow_infinity=False)),
        lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=4), inner, max_size=3)),
        max_leaves=10))).encode()
    for _ in range(draw(st.integers(0, 2))):
        i = draw(st.integers(0, len(data)))
        data = data[:i] + draw(st.sampled_from([b'"', b"\\", b"\\\\", b"1" * 19, b"[" * 501, b"}", b"9"])) + data[i:]
    return data


@needs_ccore
@relaxed
@given(st.one_of(json_like(), st.binary(max_size=50)))
@example(b'{"a":1234567890123456789}')
@example(b'{"a":123456789012345678}')
@example(b'{"a":"1234567890123456789"}')
@example(b'{"a":"\\"1234567890123456789"}')
@example(b'{"a":"\\\\"1234567890123456789')
@example(b'{"a":"x')
@example(b'"\\')
@example(b"[" * 500 + b"]" * 500)
@example(b"[" * 501)
@example(b'"' + b"[" * 600 + b'"')
def test_json_needs_stdlib_agrees(data):
    assert_cores_agree("json_needs_stdlib", data)


@pytest.mark.parametrize("core", CORES)
@pytest.mark.parametrize("data, expected", [
    (b'{"Limit":123456789012345678}', False),           # 18 digits: fits in 64 bits
    (b'{"Limit":1234567890123456789}', True),
    (b'{"N":"1234567890123456789012345"}', False),      # digits inside a string
    (b'{"a":"\\\\","b":1234567890123456789}', True),     # an escaped backslash ends nothing
    (b'{"a":"\\"","b":1}', False),
    (b'{"a":"never ends', True),
    (b"[" * 500 + b"]" * 500, False),
    (b"[" * 501 + b"]" * 501, True),
    (b'["' + b"[" * 600 + b'"]', False),                # brackets inside a string
])
def test_json_needs_stdlib(core, data, expected):
    assert core.json_needs_stdlib(data) is expected


# ------------------------------------------------------------------ the HTTP front's usual request and answer
# (tests/wire/test_http_fast.py checks parse_request against httptools and the protocol with and without it)

_USUAL_REQUEST = (b"POST / HTTP/1.1\r\nHost: 127.0.0.1:8000\r\nX-Amz-Target: DynamoDB_20120810.GetItem\r\n"
                  b"Content-Type: application/x-amz-json-1.0\r\nX-Amz-Date: 20250101T000000Z\r\n"
                  b"Content-Length: 13\r\n\r\n{\"TableName\"}")


@st.composite
def mutated_requests(draw):
    """The usual request with a few bytes replaced, inserted or removed."""
    data = bytearray(_USUAL_REQUEST)
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(data)))
        kind = draw(st.sampled_from(["replace", "insert", "delete"]))
        byte = draw(st.one_of(st.sampled_from(b" :\r\n\t/0Aa-,\x00\x7f\xe9"), st.integers(0, 255)))
        if kind == "insert" or at == len(data):
            data.insert(at, byte)
        elif kind == "replace":
            data[at] = byte
        else:
            del data[at]
    return bytes(data)


@needs_ccore
@relaxed
@given(mutated_requests(), st.sampled_from([(16, 1000, 100), (2, 1000, 100), (16, 60, 100), (16, 1000, 12),
                                            (16, 1000, 13), (16, 1000, 10 ** 12)]))
@example(_USUAL_REQUEST, (16, 1000, 100))
@example(_USUAL_REQUEST.replace(b"Host", b"H" * 70), (16, 1000, 100))
@example(_USUAL_REQUEST.replace(b"Host", b"CONTENT-LENGTH"), (16, 1000, 100))
def test_parse_request_agrees(data, limits):
    assert_cores_agree("parse_request", data, *limits)
    assert_cores_agree("parse_request", bytearray(data), *limits)


@needs_ccore
@relaxed
@given(st.binary(max_size=200), st.sampled_from([b"", b"Date: Sun, 06 Dec 2026 23:30:00 GMT\r\n"]),
       st.one_of(st.integers(0, 2 ** 64 - 1), st.sampled_from([2 ** 64, 10 ** 30, -1, True])), st.booleans())
def test_render_answer_agrees(body, date, first_id, keep_alive):
    import itertools
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.0\r\nContent-Length: "
    a = pycore.render_answer(head, body, date, b"0123ABCD", itertools.count(first_id), keep_alive)
    b = ccore.render_answer(head, body, date, b"0123ABCD", itertools.count(first_id), keep_alive)
    assert a == b


_FORM_HEAD = "AWS4-HMAC-SHA256 Credential=k/20250101/us-east-1/dynamodb/aws4_request, SignedHeaders=host;x-amz-date"
_FORMS = {_FORM_HEAD: ("20250101T000000Z", None, "signed", 1735689600, "caller"),
          " " + _FORM_HEAD: ("20250101T000000Z", "Wed, 01 Jan 2025 00:00:00 GMT", "signed", 1735689600.5, "caller"),
          _FORM_HEAD + ", Signature=a": ("20250101T000000Z", None, "signed", 1735689600, "caller")}
_authorizations = st.one_of(
    st.builds(lambda head, sep, sig: head + sep + sig,
              st.sampled_from([_FORM_HEAD, " " + _FORM_HEAD, _FORM_HEAD + ", Signature=a", "x", "", "é" + _FORM_HEAD]),
              st.sampled_from([", Signature=", ",Signature=", ", Signature= ", ", signature=", ""]),
              st.sampled_from(["00ff", "", " 00ff", "00ff ", "a,b", "\t0", "0\x1c", "é", "00ff, Signature=1"])),
    st.text(st.sampled_from("AWS4 ,=Signature\t\x0b"), max_size=20),
)


@needs_ccore
@relaxed
@given(st.one_of(st.none(), _authorizations), st.sampled_from(["20250101T000000Z", "20250101T000001Z", None]),
       st.sampled_from([None, "Wed, 01 Jan 2025 00:00:00 GMT"]),
       st.sampled_from([1735689600.0, 1735689600 + 300, 1735689600 + 300.5, 1735689600 - 301, 0]),
       st.booleans())
def test_remembered_form_agrees(authorization, amz_date, date, now, plain_dict):
    headers = {"x-amz-date": amz_date, "date": date}
    if authorization is not None:
        headers["authorization"] = authorization
    headers = {k: v for k, v in headers.items() if v is not None}
    if not plain_dict:
        headers = type("Headers", (dict,), {})(headers)
    assert_cores_agree("remembered_form", _FORMS, headers, now, 300)


# ------------------------------------------------------------------ the usual GetItem's answer (session 9)
# (tests/wire/test_get_item_path.py compares the handler's answers with and without it)

@pytest.fixture(scope="module")
def get_item_engine():
    import kvstore
    db = kvstore.open(":memory:")
    sn, binary = create_get_item_tables(db)
    for p in ("a", "é", "q\"\\"):
        for s in (1, 2, 10):
            sn.put_item(Item={"pk": p, "sk": s, "v": "x" * s * 40, "f": Decimal("1.5"),
                              "m": {"l": [s, "t", b"\x01", None, True], "ss": {"u", "w"}, "ns": {1, 2}}})
    sn.put_item(Item={"pk": "big", "sk": 0, "v": "y" * 5000})
    binary.put_item(Item={"k": b"\x00\x01", "bs": {b"\x02"}})
    yield db.engine
    db.close()


_get_item_values = st.one_of(
    st.sampled_from(["a", "é", 'q"\\', "big", "", "z", "\ud800"]).map(lambda s: {"S": s}),
    st.sampled_from(["1", "2", "10", "0", "1.0", "01", "1e1", "x", "", "-0"]).map(lambda n: {"N": n}),
    st.sampled_from(["AAE=", "", "!!"]).map(lambda b: {"B": b}),
    st.sampled_from([{"S": "a", "N": "1"}, {}, "a", None, 1, {"S": 1}, {"BOOL": True}]))
_get_item_keys = st.one_of(
    st.fixed_dictionaries({"pk": _get_item_values, "sk": _get_item_values}),
    st.fixed_dictionaries({"k": _get_item_values}), st.fixed_dictionaries({"pk": _get_item_values}),
    st.just([]), st.none())


@st.composite
def get_item_bodies(draw):
    """GetItem bodies, usual and not: other members, other JSON kinds, other spacing, bytes that are not JSON."""
    request = {"TableName": draw(st.sampled_from(["snk", "bink", "nope", 7, None])), "Key": draw(_get_item_keys)}
    if draw(st.booleans()):
        request = dict(reversed(request.items()))
    request = {k: v for k, v in request.items() if v is not None}
    request.update(draw(st.sampled_from([{}, {}, {"ConsistentRead": True}, {"ProjectionExpression": "v"}])))
    body = json.dumps(request, ensure_ascii=draw(st.booleans()), indent=draw(st.sampled_from([None, None, 1, "\t"])),
                      separators=draw(st.sampled_from([(",", ":"), (", ", ": "), (" ,", " : ")]))
                      ).encode("utf-8", "surrogatepass")
    return draw(st.sampled_from([body, body, body, body[:-1], body + b" x", b"[" + body + b"]",
                                 body.replace(b'"1"', b'"12345678901234567890"')]))


@needs_ccore
@relaxed
@given(get_item_bodies(), st.booleans())
@example(b'{"TableName": "snk", "Key": {"pk": {"S": "a"}, "sk": {"N": "10"}}}', False)
@example(b'{"TableName": "snk", "Key": {"pk": {"S": "big"}, "sk": {"N": "0"}}}', False)
@example(b'{"TableName": "bink", "Key": {"k": {"B": "AAE="}}}', True)
def test_get_item_answer_agrees(get_item_engine, body, as_bytearray):
    body = bytearray(body) if as_bytearray else body
    assert_cores_agree("get_item_answer", get_item_engine, body)


# bodies at the edges of the one kvstore._cwire reads in place (the others are parsed as JSON)
_GET_ITEM_EDGES = [
    b'{"TableName":"snk","Key":{"pk":{"S":"a"},"sk":{"N":"1"}}}',
    b' \t\r\n{ "Key" :{ "sk" :{"N":"10"} , "pk":{ "S":"a" } } ,"TableName" : "snk" }\n',
    b'{"TableName":"snk","Key":{"pk":{"S":"a"},"pk":{"S":"a"}}}',
    b'{"TableName":"snk","Key":{"pk":{"S":"a"},"sk":{"N":"1"},"sk":{"N":"1"}}}',
    b'{"TableName":"snk","TableName":"snk","Key":{"pk":{"S":"a"},"sk":{"N":"1"}}}',
    b'{"TableName":"snk","Key":{"pk":{"S":"a"},"sk":{"N":"1"}},"Key":{"pk":{"S":"a"},"sk":{"N":"2"}}}',
    b'{"TableName":"sn\\u006b","Key":{"pk":{"S":"a"},"sk":{"N":"1"}}}',
    b'{"TableName":"snk","Key":{"pk":{"S":"\\u0061"},"sk":{"N":"1"}}}',
    '{"TableName":"snk","Key":{"pk":{"S":"\u00e9"},"sk":{"N":"1"}}}'.encode(),
    b'{"TableName":"snk","Key":{"pk":{"S":"a"},"sk":{"N":"1"}}}x',
    b'{"TableName":"snk","Key":{"pk":{"S":"a"},"sk":{"N":"1"}}',
    b'{"TableName":"snk","Key":{"pk":{"S":"a"},"sk":{"N":"1"},}}',
    b'{"TableName":"snk","Key":{"pk":{"S":"a"},"sk":{"S":"1"}}}',
    b'{"TableName":"snk","Key":{"pk":{"S":"a","S":"b"},"sk":{"N":"1"}}}',
    b'{"TableName":"snk","Key":{"pk":{"S":"a"},"sk":{"N":"01"}}}',
    b'{"TableName":"snk","Key":{"pk":{"S":"a"},"sk":{"N":"-0"}}}',
    b'{"TableName":"snk","Key":{"pk":{"S":""},"sk":{"N":"1"}}}',
    b'{"TableName":"snk","Key":{"pk":{"S":"%s"},"sk":{"N":"1"}}}' % (b"x" * 2049),
    b'{"TableName":"snk","Key":{"pk":{"S":"a"},"sk":{"N":"1"},"x":{"S":"a"}}}',
    b'{"TableName":"snk","Key":{"pk":{"S":"a"}}}',
    b'{"TableName":"snk","Key":{}}',
    b'{"TableName":"snk","Key":{"sk":{"N":"1"},"xx":{"S":"a"}}}',
    b'{"TableName":"nope","Key":{"pk":{"S":"a"},"sk":{"N":"1"}}}',
    b'{"TableName":"bink","Key":{"k":{"B":"AAE="}}}',
    b'{"TableName":"snk","Key":{"pk":{"S":"a"},"sk":{"N":"1"}},"ConsistentRead":true}',
    b'{"TableName":"snk","Key":{"pk":{"S":"a\x01"},"sk":{"N":"1"}}}',
    b'{"TableName":"snk","Key":{"pk":{"S":"a"},"sk":{"N":"10"}}}\x00',
    b'{"TableName":"snk","Key":{"pk":{"S":"a"},"sk":{"N":"1000000000000000000000"}}}',
]


@needs_ccore
@pytest.mark.parametrize("body", _GET_ITEM_EDGES)
def test_get_item_answer_agrees_at_the_edges(get_item_engine, body):
    assert_cores_agree("get_item_answer", get_item_engine, body)


@pytest.mark.parametrize("core", CORES)
def test_get_item_answer_finds_the_item_of_a_usual_body(get_item_engine, core):
    for body in _GET_ITEM_EDGES[:2]:
        assert json.loads(core.get_item_answer(get_item_engine, body))["Item"]["pk"] == {"S": "a"}
    assert core.get_item_answer(get_item_engine, _GET_ITEM_EDGES[0].replace(b'"1"', b'"4"')) == b"{}"


@needs_ccore
def test_get_item_answer_records_the_same_metrics():
    """With metrics on, both cores record the same figures (requests, items, the units past the
    first of a large item); latencies aside."""
    import kvstore
    bodies = [b'{"TableName": "tab", "Key": {"pk": {"S": "%s"}}}' % k for k in (b"small", b"large", b"none")] * 2
    bodies += [b'{"TableName": "tab", "Key": {"pk": {"N": "1"}}}', b'{"TableName": "nope", "Key": {"pk": {"S": "a"}}}']

    def recorded(core):
        with kvstore.open(":memory:", metrics=True) as db:
            db.create_table(TableName="tab", BillingMode="PAY_PER_REQUEST",
                            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
            db.Table("tab").put_item(Item={"pk": "small", "v": "x"})
            db.Table("tab").put_item(Item={"pk": "large", "v": "y" * 9000})
            answers = [core.get_item_answer(db.engine, body) for body in bodies]
            text = db.metrics().to_prometheus()
        return answers, [line for line in text.splitlines() if "latency" not in line and "seconds" not in line]

    python, compiled = recorded(pycore), recorded(ccore)
    assert python == compiled
    assert python[0][0].startswith(b'{"Item":') and python[0][2] == b"{}" and python[0][-1] is None
    assert any(line.startswith('kvstore_consumed_read_capacity_units_total{table="tab"') for line in python[1])


# The compiled core writes the usual item's JSON straight from its packed bytes; any item, and packed
# bytes the writer declines (another type, a repeated name, deep nesting), give the twin's answer.
_HELD = b'{"TableName":"snk","Key":{"pk":{"S":"held"},"sk":{"N":"99"}}}'


@needs_ccore
@relaxed
@given(st.dictionaries(st.text(max_size=8).filter(lambda k: k not in ("pk", "sk")), native_values, max_size=6))
@example({"a": "plain", "n": number("12.5"), "z": number("-0.000001"), "big": number("1e20"), "l": [None, True, False],
          "m": {"q": 'x"\\\n\x01é', "deep": [[[{"a": number("1")}]]]}})
@example({"n": number("1e125"), "s": {"a", "b"}, "b": Binary(b"\x00\x01")})
@example({"é": "name not ASCII", "x" * 40: "long name"})
@example({f"a{i}": number(str(i)) for i in range(40)})
def test_get_item_answer_of_any_item_agrees(get_item_engine, item):
    from kvstore.operations import OPERATIONS, run_operation
    item = {"pk": "held", "sk": number("99"), **item}
    try:
        run_operation(get_item_engine, OPERATIONS["PutItem"], {"TableName": "snk", "Item": item})
    except Exception:       # an item DynamoDB refuses (nesting, size): nothing to read
        return
    assert_cores_agree("get_item_answer", get_item_engine, _HELD)
    assert pycore.get_item_answer(get_item_engine, _HELD) is not None


_ODD_PACKED = [
    b"\x83\xa2pk\xa4held\xa2sk\xd5\x0199\xa1a\xc0",                     # the usual kinds
    b"\x84\xa2pk\xa4held\xa2sk\xd5\x0199\xa1a\xc0\xa1a\xc3",             # a repeated name
    b"\x83\xa2pk\xa4held\xa2sk\xd5\x0199\xa1a\x01",                     # a msgpack integer
    b"\x83\xa2pk\xa4held\xa2sk\xd5\x0199\xa1a\xcb?\xf0\x00\x00\x00\x00\x00\x00",     # a float
    b"\x83\xa2pk\xa4held\xa2sk\xd5\x0199\xa1a\xd6\x011e+5",             # a number not in plain notation
    b"\x83\xa2pk\xa4held\xa2sk\xd5\x0199\xa1a\xd5\x0101",               # ... or not canonical
    b"\x83\xa2pk\xa4held\xa2sk\xd5\x0199\xa1a\xc4\x01x",                # bytes
    b"\x83\xa2pk\xa4held\xa2sk\xd5\x0199\xc4\x01a\xc0",                 # a name that is bytes
    b"\x83\xa2pk\xa4held\xa2sk\xd5\x0199\xa1a\xa2\xc3\xa9",             # a string not ASCII
    b"\x83\xa2pk\xa4held\xa2sk\xd5\x0199\xa1a\x91\x81\xa1b\xc2",        # L of M
    b"\x83\xa2pk\xa4held\xa2sk\xd5\x0199\xa1a",                         # truncated
    b"\x82\xa2pk\xa4held\xa2sk\xd5\x0199\xc0",                          # bytes past the item
    b"\x82\xa2pk\xa4held\xa2sk\xd5\x0199",
    b"\x83\xa2pk\xa4held\xa2sk\xd5\x0199\xa1a" + b"\x91" * 40 + b"\xc0",   # deep
    b"\x93\xa2pk\xa4held\xc0",                                          # not a map
    b"\x83\xa2pk\xd9\x04held\xa2sk\xc7\x02\x0199\xa1a\xda\x00\x01x",    # longer headers
]


@needs_ccore
@pytest.mark.parametrize("packed", _ODD_PACKED)
def test_get_item_answer_of_odd_packed_bytes_agrees(get_item_engine, packed):
    table = get_item_engine.tables["snk"]
    row_key = pycore.wire_row_key({"pk": {"S": "held"}, "sk": {"N": "99"}}, "pk", "S", "sk", "N")
    saved = table.rows.get(row_key)
    table.rows[row_key] = packed
    try:
        assert_cores_agree("get_item_answer", get_item_engine, _HELD)
    finally:
        if saved is None:
            del table.rows[row_key]
        else:
            table.rows[row_key] = saved


# ------------------------------------------------------------------ the usual GetItem, request to bytes (session 9)
# (tests/wire/test_http_fast.py runs the protocol with each core's usual_get_item against httptools and the handler)

_NOW = 1735689600.0
_SIGNED = {"authorization": "AWS4-HMAC-SHA256 Credential=k/20250101/us-east-1/dynamodb/aws4_request, "
                            "SignedHeaders=host;x-amz-date;x-amz-target, Signature=00ff",
           "x-amz-date": "20250101T000000Z"}


@pytest.fixture(scope="module")
def usual_servers(get_item_engine):
    """Servers whose handlers differ in what decides the usual GetItem."""
    from kvstore.server.auth import AnyKey
    from kvstore.server.handler import RequestHandler

    class OtherKey(AnyKey):
        pass

    handlers = {"none": RequestHandler(get_item_engine), "any": RequestHandler(get_item_engine, auth=AnyKey(clock=lambda: _NOW)),
                "late": RequestHandler(get_item_engine, auth=AnyKey(clock=lambda: _NOW + 3600)),
                "other": RequestHandler(get_item_engine, auth=OtherKey(clock=lambda: _NOW)),
                "faults": RequestHandler(get_item_engine, fault_endpoint=True),
                "small": RequestHandler(get_item_engine, max_body=40)}
    servers = _usual_servers_of(handlers)
    yield servers
    for server in servers.values():
        server.executor.shutdown()


def _usual_servers_of(handlers):
    """A Server for each of ``handlers`` (by name), as the usual-request tests use them: GetItem and
    PutItem known targets, CORS on but for "small", a fixed Date, and "any"'s signed form remembered."""
    from kvstore.server.app import Server
    servers = {}
    for name, handler in handlers.items():
        handler.operation_of({"x-amz-target": "DynamoDB_20120810.GetItem"})     # known targets
        handler.operation_of({"x-amz-target": "DynamoDB_20120810.PutItem"})
        server = Server(handler, cors="*" if name != "small" else None)
        server.date_bytes = b"Date: Wed, 01 Jan 2025 00:00:00 GMT\r\n"
        servers[name] = server
    handlers["any"].auth.authenticate("POST", "/", dict(_SIGNED), b"")           # the form remembered
    return servers


def _usual_setting(ids_from):
    import itertools
    import time

    from kvstore.server import app, auth
    from kvstore.server.handler import CONTENT_TYPE, JSON_TYPES
    return (app.Server, app.RequestHandler, auth.AnyKey, auth.SystemClock, time.time, auth._FORMS, JSON_TYPES,
            CONTENT_TYPE, app._head(200, CONTENT_TYPE), app.COMPRESS_MIN_SIZE, b"PREFIX", itertools.count(ids_from))


_usual_headers = st.fixed_dictionaries({
    "content-type": st.sampled_from(["application/x-amz-json-1.0", "application/json", "application/x-amz-json-1.1",
                                     "application/x-amz-json-1.0; charset=utf-8", None]),
    "x-amz-target": st.sampled_from(["DynamoDB_20120810.GetItem", "DynamoDB_20120810.PutItem",
                                     "DynamoDB_20120810.Nope", None]),
    "authorization": st.sampled_from([_SIGNED["authorization"], _SIGNED["authorization"].replace("00ff", "1"),
                                      "AWS4-HMAC-SHA256 Credential=x", None]),
    "x-amz-date": st.sampled_from(["20250101T000000Z", "20250101T000001Z", None]),
    "content-encoding": st.sampled_from([None, None, "identity", "gzip"]),
    "origin": st.sampled_from([None, None, "http://example.com"]),
}).map(lambda headers: {k: v for k, v in headers.items() if v is not None})


@needs_ccore
@relaxed
@given(st.sampled_from(["none", "any", "late", "other", "faults", "small"]), _usual_headers,
       st.sampled_from(_GET_ITEM_EDGES[:2] + _GET_ITEM_EDGES[20:24] + [
           b"", b'{"TableName":"snk","Key":{"pk":{"S":"big"},"sk":{"N":"0"}}}']), st.integers(0, 2 ** 64 + 5))
@example("any", {"content-type": "application/x-amz-json-1.0", "x-amz-target": "DynamoDB_20120810.GetItem", **_SIGNED},
         _GET_ITEM_EDGES[0], 7)
def test_usual_get_item_agrees(usual_servers, get_item_engine, name, headers, body, ids_from):
    server = usual_servers[name]
    python = outcome(pycore.usual_get_item, server, headers, body, _usual_setting(ids_from))
    compiled = outcome(ccore.usual_get_item, server, headers, body, _usual_setting(ids_from))
    assert same(python, compiled), (python, compiled)


def _answers_as_the_handler_renders(core, answer_of, server, action, body):
    """``answer_of`` (a core's ``usual_get_item`` or ``usual_item_request``) answers a signed usual
    request for ``action`` with the bytes the handler's own answer renders to; its headers and the
    handler's answer."""
    headers = {"content-type": "application/x-amz-json-1.0", "x-amz-target": "DynamoDB_20120810." + action,
               **_SIGNED}
    out = answer_of(server, headers, body, _usual_setting(5))
    answer = server.handler.answer("POST", "/", headers, body)
    assert out == core.render_answer(_usual_setting(0)[8], answer[2], server.date_bytes, b"PREFIX",
                                     iter([5]), True)
    return headers, answer


@pytest.mark.parametrize("core", CORES)
def test_usual_get_item_answers_as_the_handler_renders(usual_servers, core):
    server = usual_servers["any"]
    headers, _ = _answers_as_the_handler_renders(core, core.usual_get_item, server, "GetItem", _GET_ITEM_EDGES[0])
    big = core.usual_get_item(server, headers, b'{"TableName":"snk","Key":{"pk":{"S":"big"},"sk":{"N":"0"}}}',
                              _usual_setting(5))
    assert big[0] == 200 and len(big[2]) > 5000      # too long for the usual head: the server renders it
    assert core.usual_get_item(usual_servers["late"], headers, _GET_ITEM_EDGES[0], _usual_setting(5)) is None


# ------------------------------------------------------------------ the usual PutItem (session 15)

def _put_item_database(metrics=False):
    import kvstore
    db = kvstore.open(":memory:", metrics=metrics)
    create_get_item_tables(db)
    db.create_table(TableName="gsi", BillingMode="PAY_PER_REQUEST",
                    KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                    AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                          {"AttributeName": "g", "AttributeType": "N"}],
                    GlobalSecondaryIndexes=[{"IndexName": "by_g", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                                             "Projection": {"ProjectionType": "ALL"}}])
    db.Table("snk").put_item(Item={"pk": "a", "sk": 1, "v": "old"})
    return db


def _written(db):
    """Every row of every table (packed bytes) and index entry, and the metrics' counts."""
    engine = db.engine
    rows = {name: sorted(table.rows.items()) for name, table in engine.tables.items()}
    index = sorted(map(repr, db.Table("gsi").scan(IndexName="by_g")["Items"]))
    counts = None
    if engine.metrics is not None:
        ops, units = engine.metrics.totals()
        counts = ({k: (v["requests"], v["errors"]) for k, v in ops.items()}, units)
    return rows, index, counts


_put_values = st.one_of(
    st.sampled_from(["a", "é", 'q"\\', "", "z", "\ud800", "x" * 2100]).map(lambda s: {"S": s}),
    st.sampled_from(["1", "2", "10", "0", "1.0", "01", "1e1", "x", "", "-0", "1" * 39, "1" * 40]).map(lambda n: {"N": n}),
    st.sampled_from(["AAE=", "", "!!"]).map(lambda b: {"B": b}),
    st.sampled_from([{"S": "a", "N": "1"}, {}, "a", None, 1, {"S": 1}, {"BOOL": True}, {"NULL": True},
                     {"SS": ["a", "b"]}, {"SS": ["a", "a"]}, {"NS": []}, {"L": [{"N": "1"}, {"S": "t"}]},
                     {"M": {"": {"S": "x"}}}, {"M": {"n": {"N": "1"}}}]))
_put_items = st.one_of(
    st.fixed_dictionaries({"pk": _put_values, "sk": _put_values}, optional={"v": _put_values, "": _put_values}),
    st.fixed_dictionaries({"k": _put_values}, optional={"v": _put_values}),
    st.fixed_dictionaries({"pk": _put_values}, optional={"g": _put_values, "x" * 70000: _put_values}),
    st.just({"pk": {"S": "a"}, "sk": {"N": "1"}, "big": {"S": "y" * 120_000}}),
    st.just({"pk": {"S": "a"}, "sk": {"N": "1"}, "huge": {"S": "y" * 410_000}}),
    st.just({}), st.just([]), st.none())


@st.composite
def put_item_bodies(draw):
    """PutItem bodies, usual and near misses: other members, other JSON kinds and spacing, bytes that
    are not JSON, items the general path refuses."""
    request = {"TableName": draw(st.sampled_from(["snk", "bink", "gsi", "nope", 7, None])), "Item": draw(_put_items)}
    if draw(st.booleans()):
        request = dict(reversed(request.items()))
    request = {k: v for k, v in request.items() if v is not None}
    request.update(draw(st.sampled_from([{}, {}, {}, {"ReturnValues": "NONE"}, {"ReturnConsumedCapacity": "NONE"},
                                         {"ConditionExpression": "attribute_not_exists(pk)"}, {"Item": {}}])))
    body = json.dumps(request, ensure_ascii=draw(st.booleans()), indent=draw(st.sampled_from([None, None, 1])),
                      separators=draw(st.sampled_from([(",", ":"), (", ", ": ")]))).encode("utf-8", "surrogatepass")
    return draw(st.sampled_from([body, body, body, body[:-1], body + b" x", b"[" + body + b"]",
                                 body.replace(b'"1"', b'"12345678901234567890"')]))


def _put_outcome(result):
    """``put_item_answer``'s result, an error compared by its type and message."""
    if isinstance(result, Exception):
        return ("error", type(result), str(result))
    return result


@needs_ccore
@relaxed
@given(st.lists(put_item_bodies(), min_size=1, max_size=4), st.booleans())
@example([b'{"TableName":"snk","Item":{"pk":{"S":"a"},"sk":{"N":"1"},"v":{"S":"new"}}}'], False)
@example([b'{"TableName":"gsi","Item":{"pk":{"S":"a"},"g":{"N":"3"}}}',
          b'{"TableName":"gsi","Item":{"pk":{"S":"a"},"g":{"N":"4"}}}'], False)
@example([b'{"TableName":"snk","Item":{"pk":{"S":"a"},"sk":{"N":"1"},"v":{"S":"new"}},"ReturnValues":"NONE"}'], True)
def test_put_item_answer_agrees(bodies, metrics):
    """Both cores answer each body alike (None: declined), and leave the same rows, index entries and
    metrics behind."""
    outcomes, states = [], []
    for core in (pycore, ccore):
        db = _put_item_database(metrics)
        outcomes.append([_put_outcome(outcome(core.put_item_answer, db.engine, body)) for body in bodies])
        states.append(_written(db))
        db.close()
    assert same(outcomes[0], outcomes[1]), outcomes
    assert states[0] == states[1]


@pytest.mark.parametrize("core", CORES)
def test_put_item_answer_declines_near_misses_and_writes_nothing(core):
    usual = b'{"TableName":"snk","Item":{"pk":{"S":"n"},"sk":{"N":"5"},"v":{"S":"x"}}}'
    near = [usual.replace(b"}}}", b'}},"ReturnValues":"NONE"}'), usual.replace(b'"snk"', b'"nope"'),
            usual.replace(b'"N":"5"', b'"S":"5"'), usual.replace(b'"v"', b'""'), usual[:-1], b"[" + usual + b"]",
            usual.replace(b'"x"', b'"\\ud800"'), usual.replace(b'{"S":"x"}', b'{"SS":[]}')]
    db = _put_item_database()
    before = _written(db)
    for body in near:
        assert core.put_item_answer(db.engine, body) is None, body
    assert _written(db) == before
    assert core.put_item_answer(db.engine, usual) == b"{}"
    assert db.Table("snk").get_item(Key={"pk": "n", "sk": 5})["Item"]["v"] == "x"
    db.close()


@pytest.fixture(scope="module")
def put_servers():
    """Servers whose handlers differ in what decides the usual PutItem, on one database."""
    from kvstore.server.auth import AnyKey
    from kvstore.server.handler import RequestHandler
    db = _put_item_database()
    handlers = {"none": RequestHandler(db.engine), "any": RequestHandler(db.engine, auth=AnyKey(clock=lambda: _NOW)),
                "late": RequestHandler(db.engine, auth=AnyKey(clock=lambda: _NOW + 3600)),
                "faults": RequestHandler(db.engine, fault_endpoint=True),
                "small": RequestHandler(db.engine, max_body=40)}
    servers = _usual_servers_of(handlers)
    yield servers
    for server in servers.values():
        server.executor.shutdown()
    db.close()


_PUT_BODIES = [b'{"TableName":"snk","Item":{"pk":{"S":"p"},"sk":{"N":"1"},"v":{"S":"x"}}}',
               b'{"TableName":"snk","Item":{"pk":{"S":"p"},"sk":{"N":"1"}},"ReturnValues":"ALL_OLD"}',
               b'{"TableName":"nope","Item":{"pk":{"S":"p"},"sk":{"N":"1"}}}',
               b'{"TableName":"snk","Item":{"pk":{"S":"p"}}}', b""]


@needs_ccore
@relaxed
@given(st.sampled_from(["none", "any", "late", "faults", "small"]), _usual_headers,
       st.sampled_from(_PUT_BODIES + _GET_ITEM_EDGES[:1]), st.integers(0, 2 ** 64 + 5), st.booleans())
@example("any", {"content-type": "application/x-amz-json-1.0", "x-amz-target": "DynamoDB_20120810.PutItem", **_SIGNED},
         _PUT_BODIES[0], 7, True)
def test_usual_item_request_agrees(put_servers, name, headers, body, ids_from, render):
    """Both cores take or leave the same GetItem and PutItem requests, with the same bytes (a PutItem
    taken twice writes the same item twice)."""
    server = put_servers[name]
    python = outcome(pycore.usual_item_request, server, headers, body, _usual_setting(ids_from), render)
    compiled = outcome(ccore.usual_item_request, server, headers, body, _usual_setting(ids_from), render)
    assert same(python, compiled), (python, compiled)


@pytest.mark.parametrize("core", CORES)
def test_usual_item_request_answers_as_the_handler_renders(put_servers, core):
    server = put_servers["any"]
    headers, answer = _answers_as_the_handler_renders(core, core.usual_item_request, server, "PutItem",
                                                      _PUT_BODIES[0])
    assert answer == (200, "application/x-amz-json-1.0", b"{}")
    assert core.usual_item_request(server, headers, _PUT_BODIES[0], _usual_setting(5), False) == b"{}"
    assert core.usual_item_request(server, headers, _PUT_BODIES[1], _usual_setting(5)) is None
    assert core.usual_item_request(put_servers["late"], headers, _PUT_BODIES[0], _usual_setting(5)) is None
    get = dict(headers, **{"x-amz-target": "DynamoDB_20120810.GetItem"})
    got = core.usual_item_request(server, get, b'{"TableName":"snk","Key":{"pk":{"S":"p"},"sk":{"N":"1"}}}',
                                  _usual_setting(5))
    assert got.endswith(b'{"Item":{"pk":{"S":"p"},"sk":{"N":"1"},"v":{"S":"x"}}}')
