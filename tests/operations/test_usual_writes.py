"""The embedded Table's usual PutItem / UpdateItem / DeleteItem call (``Database.usual_write``)
converts a request exactly as the general ``native_request`` does, and an odd one is left to it."""

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kvstore
from kvstore.api import _USUAL_WRITES

python_values = st.one_of(st.integers(-2**70, 2**70), st.decimals(allow_nan=False, allow_infinity=False, places=3),
                          st.text(max_size=3), st.sampled_from(["é", "\ud800", b"x", 1.5, (1,), None, True, {"a"}]),
                          st.dictionaries(st.one_of(st.text(max_size=2), st.integers(0, 1)), st.integers(0, 3),
                                          max_size=2))
items = st.one_of(st.dictionaries(st.one_of(st.sampled_from(["pk", "a", "é", "\udcff"]), st.integers(0, 1)),
                                  python_values, max_size=3), st.just([1]))
calls = st.fixed_dictionaries({}, optional={
    "Item": items, "Key": items,
    "ConditionExpression": st.sampled_from(["attribute_exists(pk)", "a = :v", 3]),
    "UpdateExpression": st.just("SET a = :v"),
    "ExpressionAttributeNames": st.just({"#a": "a"}),
    "ExpressionAttributeValues": st.one_of(st.dictionaries(st.one_of(st.sampled_from([":v", ":é", ":\ud800"]),
                                                                     st.integers(0, 1)), python_values, max_size=3),
                                           st.just([1]), st.none()),
    "ReturnValues": st.just("ALL_NEW")})


@pytest.fixture(scope="module")
def db():
    with kvstore.open(":memory:") as database:
        yield database


def _outcome(function, *args):
    try:
        return "ok", repr(function(*args))
    except Exception as e:   # noqa: BLE001 - whatever it raises, the same both ways
        return type(e), str(e)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.sampled_from(sorted(_USUAL_WRITES)), calls, st.sampled_from([False, True]))
def test_usual_write_converts_as_native_request(db, action, kwargs, allow_floats):
    db.allow_floats = allow_floats
    try:
        request = db.usual_write(_USUAL_WRITES[action], kwargs, "things")
        general = _outcome(db.native_request, action, dict(kwargs, TableName="things"))
    finally:
        db.allow_floats = False
    if request is not None:
        assert ("ok", repr(request)) == general
    assert repr(kwargs) == repr(kwargs)


def test_usual_write_leaves_a_condition_object_to_native_request(db):
    from kvstore.conditions import Attr
    assert db.usual_write("Key", {"Key": {"pk": "a"}, "ConditionExpression": Attr("a").eq(1)}, "things") is None
    assert db.usual_write("Key", {"Key": {"pk": 1.5}}, "things") is None
    assert db.usual_write("Key", {"Key": {"pk": "a"}, "ExpressionAttributeValues": {":v": Decimal(1)}},
                          "things") == {"Key": {"pk": "a"}, "ExpressionAttributeValues": {":v": Decimal(1)},
                                        "TableName": "things"}
