"""TransactWriteItems' core entry points (session 8): ``transact_actions``, ``usual_transaction``
and ``transact_images`` agree between ``kvstore._pycore`` (the reference) and ``kvstore._ccore``
(compiled), and what they answer for a usual transaction is what the operation's general path
computes: the same parsed actions, targets, lock order and writes.
"""

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import kvstore
import kvstore.params
from kvstore.errors import DynamoDBError
from kvstore.operations import transact_write_items as twi
from kvstore.operations.writing import compile_write

from tests.cores import CORES, ccore, needs_ccore, pycore

relaxed = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
                   max_examples=150)


# ------------------------------------------------------------------ the embedded API's actions

python_values = st.one_of(st.text(max_size=4), st.integers(-10 ** 40, 10 ** 40), st.booleans(), st.none(),
                          st.decimals(allow_nan=False, allow_infinity=False, places=2),
                          st.floats(allow_nan=False, allow_infinity=False, width=16),
                          st.binary(max_size=3), st.sets(st.text(max_size=2), max_size=2))
python_items = st.dictionaries(st.one_of(st.sampled_from(["pk", "sk", "v", ""]), st.integers(0, 2)), python_values,
                               max_size=3)
api_specs = st.fixed_dictionaries({}, optional={
    "TableName": st.sampled_from(["things", "other"]),
    "Item": st.one_of(python_items, st.none(), st.just("x")),
    "Key": st.one_of(python_items, st.none(), st.just([1])),
    "ConditionExpression": st.one_of(st.just("attribute_exists(pk)"), st.none(), st.just(3)),
    "UpdateExpression": st.just("SET v = :v"),
    "ExpressionAttributeNames": st.just({"#v": "v"}),
    "ExpressionAttributeValues": st.one_of(st.dictionaries(st.one_of(st.sampled_from([":v", ":w"]),
                                                                     st.integers(0, 1)),
                                                           python_values, max_size=2), st.none(), st.just(["x"])),
    "FilterExpression": st.just("a = :v"),
})
api_actions = st.one_of(
    st.dictionaries(st.sampled_from(["Put", "Update", "Delete", "ConditionCheck", "Bogus"]),
                    st.one_of(api_specs, st.just("x")), min_size=1, max_size=2),
    st.just("x"), st.just({}))


@needs_ccore
@relaxed
@given(st.one_of(st.lists(api_actions, max_size=4), st.just(("x",))), st.booleans())
@example([{"Put": {"TableName": "t", "Item": {"pk": "a", "f": 1.5}}}], False)
@example([{"Update": {"TableName": "t", "Key": {"pk": "a"}, "ExpressionAttributeValues": {1: "x"}}}], False)
def test_transact_actions_agree(actions, allow_floats):
    expected = pycore.transact_actions(actions, allow_floats, _API_MEMBERS)
    assert ccore.transact_actions(actions, allow_floats, _API_MEMBERS) == expected


_API_MEMBERS = {"Put": "Item", "Update": "Key", "Delete": "Key", "ConditionCheck": "Key"}


@relaxed
@given(st.lists(api_actions, max_size=4), st.booleans())
def test_transact_actions_are_the_python_faces_own(actions, allow_floats):
    """Where the core answers, it answers what ``Database._transact_actions`` answers."""
    converted = kvstore._core.transact_actions(actions, allow_floats, _API_MEMBERS)
    if converted is None:
        return
    db = kvstore.open(":memory:", allow_floats=allow_floats)
    try:
        assert db._transact_actions(actions) == converted
    finally:
        db.close()


# ------------------------------------------------------------------ a usual transaction

@pytest.fixture(scope="module")
def engine():
    db = kvstore.open(":memory:", durability="none")
    key = [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}]
    defs = [{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "N"}]
    db.create_table(TableName="plain", KeySchema=key, AttributeDefinitions=defs, BillingMode="PAY_PER_REQUEST")
    db.create_table(TableName="hashed", KeySchema=key[:1], AttributeDefinitions=defs[:1],
                    BillingMode="PAY_PER_REQUEST")
    db.create_table(
        TableName="indexed", KeySchema=key, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=defs + [{"AttributeName": "grp", "AttributeType": "S"}],
        GlobalSecondaryIndexes=[{"IndexName": "by_grp", "KeySchema": [{"AttributeName": "grp", "KeyType": "HASH"}],
                                 "Projection": {"ProjectionType": "ALL"}}])
    db.create_table(
        TableName="collected", KeySchema=key, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=defs + [{"AttributeName": "grp", "AttributeType": "S"}],
        LocalSecondaryIndexes=[{"IndexName": "by_grp", "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                                                                     {"AttributeName": "grp", "KeyType": "RANGE"}],
                                "Projection": {"ProjectionType": "KEYS_ONLY"}}])
    for name in ("plain", "indexed", "collected"):
        table = db.Table(name)
        for i in range(4):
            table.put_item(Item={"pk": f"p{i}", "sk": i, "cnt": 5, "grp": "g", "s": "text"})
    db.Table("hashed").put_item(Item={"pk": "p0", "cnt": 1})
    yield db.engine
    db.close()


def _mostly(usual, unusual):
    """``usual`` 29 times in 30: a transaction has a score of places to go wrong, and most generated
    ones should pass every check."""
    return st.tuples(st.sampled_from([True] * 29 + [False]), usual, unusual).map(lambda t: t[1] if t[0] else t[2])


key_values = _mostly(st.sampled_from(["p0", "p1", "p2", "p3", "zz"]),
                     st.sampled_from(["", "k" * 3000, Decimal("1.5"), True]))
keys = st.builds(lambda pk, sk, extra: {"pk": pk, "sk": sk, **extra}, key_values,
                 _mostly(st.integers(0, 4).map(Decimal), st.just("s")),
                 _mostly(st.just({}), st.just({"x": "y"})))
hashed_keys = st.builds(lambda pk: {"pk": pk}, key_values)
attribute_values = _mostly(st.one_of(st.just("v"), st.integers(-3, 3).map(Decimal), st.booleans(), st.none(),
                                     st.just({"m": Decimal(1)})),
                           st.sampled_from(["g" * 2000, "", Decimal(1), "n" * 120000]))
extras = st.dictionaries(_mostly(st.sampled_from(["cnt", "grp", "v"]), st.sampled_from(["", "n" * 20000])),
                         attribute_values, max_size=3)
conditions = _mostly(st.sampled_from([None, "attribute_exists(pk)", "attribute_not_exists(pk)", "cnt < :max",
                                      "cnt = :one OR attribute_not_exists(cnt)", "attribute_exists(#c)"]),
                     st.sampled_from(["contains(s, :one)", "cnt <"]))
updates = _mostly(st.sampled_from(["SET cnt = cnt + :one", "SET cnt = cnt - :one", "SET v = :one, grp = :g",
                                   "REMOVE v", "SET cnt = if_not_exists(cnt, :one)", "ADD cnt :one", "SET #c = :one"]),
                  st.sampled_from(["SET pk = :g", "SET m.x = :one", "SET l = list_append(:l, :l)", "SET"]))
values = st.fixed_dictionaries({":one": _mostly(st.integers(-2, 2).map(Decimal), st.just("s")),
                                ":max": st.just(Decimal(10)), ":g": _mostly(st.sampled_from(["g", "h"]), st.just("")),
                                ":l": st.just([Decimal(1)])})


@st.composite
def actions(draw):
    kind = draw(st.sampled_from(["Put", "Update", "Delete", "ConditionCheck"]))
    table = draw(_mostly(st.sampled_from(["plain", "indexed", "hashed"]), st.sampled_from(["collected", "missing"])))
    spec = {"TableName": table}
    key = draw(hashed_keys if table == "hashed" else keys)
    if kind == "Put":
        spec["Item"] = {**draw(extras), **key}
    else:
        spec["Key"] = key
    condition = draw(conditions)
    if kind == "ConditionCheck" and condition is None:
        condition = "attribute_exists(pk)"
    if condition is not None:
        spec["ConditionExpression"] = condition
    if kind == "Update":
        spec["UpdateExpression"] = draw(updates)
    text = " ".join(spec.get(m, "") for m in ("ConditionExpression", "UpdateExpression"))
    if "#c" in text:
        spec["ExpressionAttributeNames"] = {"#c": "cnt"}
    if ":" in text:
        used = {name: value for name, value in draw(values).items() if name in text}
        spec["ExpressionAttributeValues"] = draw(_mostly(st.just(used), st.just({**used, ":unused": "u"})))
    failure = draw(st.sampled_from([None, None, "ALL_OLD", "NONE"]))
    if failure is not None:
        spec["ReturnValuesOnConditionCheckFailure"] = failure
    return {kind: spec}


requests = st.builds(
    lambda actions, extra: {"TransactItems": actions, **extra},
    st.lists(actions(), min_size=1, max_size=4),
    _mostly(st.fixed_dictionaries({}, optional={"ReturnConsumedCapacity": st.just("NONE"),
                                                "ReturnItemCollectionMetrics": st.just("NONE")}),
            st.fixed_dictionaries({}, optional={"ReturnConsumedCapacity": st.sampled_from(["TOTAL", "NONE"]),
                                                "ReturnItemCollectionMetrics": st.just("SIZE"),
                                                "ClientRequestToken": st.just("token")})))


def _known(engine, request):
    """Leave the template of every action's expressions (as a first request of its shape does), and
    make its table name one seen valid."""
    for action in request["TransactItems"]:
        for kind, spec in action.items():
            twi._VALID_NAMES.add(spec["TableName"])
            try:
                compile_write(spec, "PutItem" if kind == "Put" else kind, update=(kind == "Update"))
            except DynamoDBError:
                pass


def _comparable_parsed(parsed):
    def expression(e):
        if e is None:
            return None
        plan = getattr(e, "plan", None)
        return type(e), getattr(e, "program", None), plan, getattr(e, "vals", None)
    return [(kind, id(spec), expression(c), expression(u), packed) for kind, spec, c, u, packed in parsed]


def _comparable(prepared):
    if prepared is None:
        return None
    parsed, targets, locks = prepared
    return _comparable_parsed(parsed), targets, [id(lock) for lock in locks]


@needs_ccore
@relaxed
@given(requests)
@example({"TransactItems": [{"Update": {"TableName": "plain", "Key": {"pk": "p1", "sk": Decimal(1)},
                                        "UpdateExpression": "SET cnt = cnt + :one",
                                        "ConditionExpression": "attribute_exists(pk)",
                                        "ExpressionAttributeValues": {":one": Decimal(1)}}},
                            {"Put": {"TableName": "indexed", "Item": {"pk": "p9", "sk": Decimal(0), "grp": "g"}}}]})
@example({"TransactItems": [{"Delete": {"TableName": "plain", "Key": {"pk": "p1", "sk": Decimal(1)}}},
                            {"Delete": {"TableName": "plain", "Key": {"pk": "p1", "sk": Decimal(1)}}}]})
def test_usual_transaction_and_its_images_agree(engine, request):
    _known(engine, request)
    context = twi.USUAL_CONTEXT
    expected = pycore.usual_transaction(request, engine.tables, context)
    got = ccore.usual_transaction(request, engine.tables, context)
    assert _comparable(got) == _comparable(expected)
    if expected is None:
        return
    parsed, targets, _ = expected
    # what the general path computes for the same request
    general = [twi._parse(action) for action in request["TransactItems"]]
    assert _comparable_parsed(parsed) == _comparable_parsed(general)
    locked = twi.Locks(targets).locks
    assert [id(lock) for lock in expected[2]] == [id(lock) for lock in locked]
    writes = pycore.transact_images(parsed, targets, context)
    assert ccore.transact_images(parsed, targets, context) == writes
    assert ccore.transact_images(got[0], got[1], context) == writes


@needs_ccore
@pytest.mark.parametrize("request_", [None, "x", {"TransactItems": "x"}, {"TransactItems": []},
                                      {"TransactItems": [{"Put": {}}] * 101}, {"Other": 1},
                                      {"TransactItems": [{"Put": {}}], "ReturnConsumedCapacity": "TOTAL"}])
def test_unusual_requests_are_left_to_the_general_path(request_):
    assert pycore.usual_transaction(request_, {}, twi.USUAL_CONTEXT) is None
    assert ccore.usual_transaction(request_, {}, twi.USUAL_CONTEXT) is None


@needs_ccore
@pytest.mark.parametrize("parsed, targets", [("x", []), ([], "x"), ([("Put",)], [])])
def test_transact_images_of_other_arguments_is_the_references(parsed, targets):
    assert ccore.transact_images(parsed, targets, twi.USUAL_CONTEXT) == \
        pycore.transact_images(parsed, targets, twi.USUAL_CONTEXT)


class _RecordingEngine:
    """An engine's face to ``transact_commit``: the real tables; ``commit`` records the writes
    (and checks that every partition lock of the transaction is held), or raises ``fails``."""

    def __init__(self, engine, fails=None, capacity=None, contention=None):
        self.tables = engine.tables
        self.capacity = capacity
        self.contention = contention
        self.fails = fails
        self.committed = []

    def commit(self, writes):
        for table, row_key, *_ in writes:
            assert table.locks[row_key[0] >> table._shift]._is_owned()
        if self.fails is not None:
            raise self.fails
        self.committed.append(writes)
        return 42


def _commit_outcome(core, engine, request, **options):
    recording = _RecordingEngine(engine, **options)
    try:
        outcome = core.transact_commit(recording, request, twi.USUAL_CONTEXT)
    except Exception as e:     # noqa: BLE001 - compared between the cores
        outcome = (type(e), str(e))
    for table in engine.tables.values():
        assert not any(lock._is_owned() for lock in table.locks)
    return outcome, recording.committed


@needs_ccore
@relaxed
@given(requests, st.sampled_from([None, "fails", "capacity", "contention"]))
def test_transact_commit_agrees(engine, request, option):
    """The same log position (or None), the same writes committed under the transaction's locks,
    the same error from a failing commit, every lock released after."""
    _known(engine, request)
    options = {"fails": RuntimeError("disk gone")} if option == "fails" else {option: object()} if option else {}
    expected = _commit_outcome(pycore, engine, request, **options)
    assert _commit_outcome(ccore, engine, request, **options) == expected
    prepared = pycore.usual_transaction(request, engine.tables, twi.USUAL_CONTEXT)
    if option in ("capacity", "contention") or prepared is None:
        assert expected == (None, [])
    elif option is None:
        writes = pycore.transact_images(prepared[0], prepared[1], twi.USUAL_CONTEXT)
        assert expected == ((None, []) if writes is None else (42 if writes else 0, [writes] if writes else []))


# ------------------------------------------------------------------ index key values at a glance

_key_values = st.one_of(st.text(max_size=3), st.sampled_from(["x" * 256, "x" * 257, "é" * 256]),
                        st.integers(0, 3).map(Decimal), st.binary(max_size=2), st.booleans(), st.none(),
                        st.lists(st.integers(0, 1), max_size=1))


@needs_ccore
@relaxed
@given(st.dictionaries(st.sampled_from(["pk", "grp", "rank", "blob", "other"]), _key_values, max_size=5),
       st.sampled_from([256, 2, 0]))
@example({"grp": "x" * 256, "rank": Decimal(1)}, 256)
@example({"grp": "x" * 257}, 256)
@example({"grp": ""}, 256)
def test_index_keys_usual_agrees(item, short):
    """The glance ``check_index_keys`` takes first answers alike in both cores: True only when every
    index key attribute the item has is a str of 1 to ``short`` characters or a Decimal, as declared
    (an S, an N and a B key here)."""
    db = kvstore.open(":memory:")
    db.create_table(
        TableName="keyed", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": t}
                              for n, t in (("pk", "S"), ("grp", "S"), ("rank", "N"), ("blob", "B"))],
        BillingMode="PAY_PER_REQUEST",
        GlobalSecondaryIndexes=[
            {"IndexName": "by_grp", "KeySchema": [{"AttributeName": "grp", "KeyType": "HASH"},
                                                  {"AttributeName": "rank", "KeyType": "RANGE"}],
             "Projection": {"ProjectionType": "ALL"}},
            {"IndexName": "by_blob", "KeySchema": [{"AttributeName": "blob", "KeyType": "HASH"}],
             "Projection": {"ProjectionType": "KEYS_ONLY"}}])
    table = db.engine.tables["keyed"]
    expected = all(
        (type(item[name]) is str and key_type == "S" and 0 < len(item[name]) <= short)
        or (type(item[name]) is Decimal and key_type == "N")
        for name, key_type in (("grp", "S"), ("rank", "N"), ("blob", "B")) if name in item)
    assert pycore.index_keys_usual(table, item, short) is expected
    assert ccore.index_keys_usual(table, item, short) is expected
    db.close()


# ------------------------------------------------------------------ the embedded call without boto3's check

class _Text(str):
    """A str subclass: botocore takes it for a string; the embedded fast path does not."""


_near_texts = st.sampled_from([None, 5, b"x", _Text("x"), "t\u00e5ble", "a\ud800", ["x"]])


def _near_miss(draw, value, wrong):
    """``value`` most of the time, else one of ``wrong``."""
    return draw(_mostly(st.just(value), wrong))


@st.composite
def near_miss_calls(draw):
    """``Database.transact_write_items``' keyword arguments: a usual call of Python values (ints,
    strings), or one differing from it in one or a few places boto3's parameter check looks at (a
    member unknown where it is, None, a wrong or subclassed type, a tuple, a non-ASCII or lone
    surrogate string, a name that is not a str) or the operation does (a value, a condition)."""
    actions = []
    for n in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["Put", "Update", "Delete", "ConditionCheck"]))
        key = {"pk": draw(st.sampled_from(["p0", "p1", "p2", "p9"])), "sk": draw(st.integers(0, 2))}
        if draw(_mostly(st.just(False), st.just(True))):
            key = draw(st.sampled_from([{**key, 1: "x"}, {**key, "p\ud800": "x"}, {**key, "n\u00e9": "x"},
                                        {"pk": key["pk"]}, ["x"], None]))
        spec = {"TableName": _near_miss(draw, "things", _near_texts)}
        if kind == "Put":
            spec["Item"] = key if type(key) is not dict else {**key, "cnt": draw(st.integers(0, 3))}
        else:
            spec["Key"] = key
        names = draw(st.booleans())
        count = "#c" if names else "cnt"
        if kind == "Update":
            spec["UpdateExpression"] = _near_miss(draw, f"SET {count} = {count} + :one", _near_texts)
        if kind == "ConditionCheck" or draw(st.booleans()):
            spec["ConditionExpression"] = _near_miss(
                draw, draw(st.sampled_from(["attribute_exists(pk)", f"{count} < :max"])), _near_texts)
        text = f"{spec.get('UpdateExpression')} {spec.get('ConditionExpression')}"
        if names and "#c" in text:
            spec["ExpressionAttributeNames"] = _near_miss(
                draw, {"#c": "cnt"}, st.sampled_from([None, {"#c": 5}, {5: "cnt"}, {"#c": "c\u00e9"}, ["#c"],
                                                      {"#c": _Text("cnt")}]))
        if ":" in text:
            values = {name: value for name, value in ((":one", 1), (":max", 10)) if name in text}
            spec["ExpressionAttributeValues"] = _near_miss(
                draw, values, st.sampled_from([None, {**values, 1: 2}, {**values, ":\ud800": 1}, ["x"],
                                               {**values, ":b": True}]))
        failure = draw(st.sampled_from([None, None, "ALL_OLD", "NONE", 5, _Text("NONE"), "N\u00d6NE"]))
        if failure is not None or draw(_mostly(st.just(False), st.just(True))):
            spec["ReturnValuesOnConditionCheckFailure"] = failure
        if draw(_mostly(st.just(False), st.just(True))):
            spec[draw(st.sampled_from(["ReturnValues", "FilterExpression", "Bogus", "Item", "Key"]))] = "ALL_NEW"
        action = {kind: spec}
        if draw(_mostly(st.just(False), st.just(True))):
            action = draw(st.sampled_from([{**action, "Put": spec}, {"Bogus": spec}, {kind: "x"}, {kind: None}, {},
                                           "x", (kind, spec)]))
        actions.append(action)
    call = {"TransactItems": draw(_mostly(st.just(actions), st.sampled_from([tuple(actions), "x", [], None])))}
    for member in ("ReturnConsumedCapacity", "ReturnItemCollectionMetrics", "ClientRequestToken", "Bogus"):
        if draw(_mostly(st.just(False), st.just(True))):
            call[member] = draw(st.sampled_from(["NONE", "TOTAL", None, 5, _Text("NONE"), "N\u00d6NE", "\ud800"]))
    return call


_CHECKS = kvstore.params.transaction_checks()


class _Engine:
    faults = metrics = None


@relaxed
@given(near_miss_calls(), st.booleans())
@example({"TransactItems": [{"Update": {"TableName": "things", "Key": {"pk": "p0", "sk": 0},
                                        "UpdateExpression": "SET cnt = cnt + :one",
                                        "ExpressionAttributeValues": {":one": 1},
                                        "ReturnValues": "ALL_NEW"}}]}, False)
@example({"TransactItems": [{"Delete": {"TableName": "things", "Key": {"pk": "p0", "sk": 0},
                                        "ReturnValuesOnConditionCheckFailure": None}}]}, False)
@example({"TransactItems": [{"Delete": {"TableName": "things", "Key": {"pk": "p0", "sk": 0}}}],
          "ReturnConsumedCapacity": _Text("NONE")}, False)
def test_a_call_transact_request_takes_passes_the_parameter_check(kwargs, allow_floats):
    """Where ``transact_request`` answers a request (the API then skips ``kvstore.params.check``), the
    check has nothing to report on it: near-miss calls of every kind are left to the general path."""
    for core in (pycore, ccore) if ccore is not None else (pycore,):
        request = core.transact_request(_Engine, kwargs, allow_floats, _API_MEMBERS, _CHECKS)
        if request is not None:
            kvstore.params.check("TransactWriteItems", request)
            assert request == {**kwargs, "TransactItems": core.transact_actions(kwargs["TransactItems"], allow_floats,
                                                                                _API_MEMBERS)}


@needs_ccore
@relaxed
@given(near_miss_calls(), st.booleans())
def test_transact_request_agrees(kwargs, allow_floats):
    expected = pycore.transact_request(_Engine, kwargs, allow_floats, _API_MEMBERS, _CHECKS)
    assert ccore.transact_request(_Engine, kwargs, allow_floats, _API_MEMBERS, _CHECKS) == expected


@pytest.mark.parametrize("core", CORES)
def test_transact_request_leaves_faults_and_metrics_to_run_operation(core):
    kwargs = {"TransactItems": [{"Delete": {"TableName": "things", "Key": {"pk": "p0", "sk": 0}}}]}
    assert core.transact_request(_Engine, kwargs, False, _API_MEMBERS, _CHECKS) is not None

    class Faulted(_Engine):
        faults = object()

    class Metered(_Engine):
        metrics = object()
    assert core.transact_request(Faulted, kwargs, False, _API_MEMBERS, _CHECKS) is None
    assert core.transact_request(Metered, kwargs, False, _API_MEMBERS, _CHECKS) is None


def _things_db():
    db = kvstore.open(":memory:", durability="none")
    db.create_table(TableName="things", BillingMode="PAY_PER_REQUEST",
                    KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
                    AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                          {"AttributeName": "sk", "AttributeType": "N"}])
    for pk in ("p0", "p1", "p2"):
        for sk in range(3):
            db.Table("things").put_item(Item={"pk": pk, "sk": sk, "cnt": 5})
    return db


def _outcome(db, kwargs):
    try:
        response = db.transact_write_items(**kwargs)
    except Exception as e:      # noqa: BLE001 - the outcome compared, whatever it is
        response = (type(e).__name__, str(e), getattr(e, "response", None))
    return response, sorted(db.Table("things").scan()["Items"], key=lambda item: (item["pk"], item["sk"]))


@pytest.fixture(scope="module")
def fast_and_general():
    """Two databases of the same items: calls on the first take the embedded fast path where they can;
    on the second, injected faults (no rule) send every call through ``_call``, as before that path."""
    from kvstore.faults import FaultSet

    fast, general = _things_db(), _things_db()
    general.engine.faults = FaultSet()
    yield fast, general
    fast.close()
    general.close()


@relaxed
@given(near_miss_calls())
def test_the_embedded_call_answers_as_the_general_path(fast_and_general, kwargs):
    """The same exception and message (boto3's ParamValidationError, DynamoDB's errors, cancellations
    with their reasons) or the same response, and the same items after, with or without the fast path."""
    fast, general = fast_and_general
    assert _outcome(fast, kwargs) == _outcome(general, kwargs)


@pytest.fixture(scope="module")
def compiled_and_pure():
    """Two databases of the same items, for ``transact_embedded`` of each core behind the API, and a third
    that meets each call first (the expression templates the general path leaves are the process's)."""
    first, second, scratch = _things_db(), _things_db(), _things_db()
    yield first, second, scratch
    first.close()
    second.close()
    scratch.close()


@needs_ccore
@relaxed
@given(near_miss_calls())
def test_transact_embedded_agrees(compiled_and_pure, kwargs):
    """``transact_embedded`` (the call converted, committed and waited for in one core call) of each core
    behind ``Database.transact_write_items``: the same answer from the core (the response, the request
    it hands to the general path, None), the same outcome of the call and the same items after."""
    from kvstore import api

    _outcome(compiled_and_pure[2], kwargs)          # (a template the call's shape needs is known to both)
    outcomes = []
    for db, core in zip(compiled_and_pure, (ccore, pycore)):
        answers = []

        def transact_embedded(*args, _core=core, _answers=answers):
            try:
                answer = _core.transact_embedded(*args)
            except Exception as e:      # noqa: BLE001 - compared below
                _answers.append((type(e).__name__, str(e)))
                raise
            _answers.append(answer)
            return answer

        original = api.transact_embedded
        api.transact_embedded = transact_embedded
        try:
            outcome = _outcome(db, kwargs)
        finally:
            api.transact_embedded = original
        outcomes.append((outcome, answers))
    assert outcomes[0] == outcomes[1]
