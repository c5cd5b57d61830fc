"""Prepared UpdateItem calls (kvstore.operations.write_plans) agree with the reference path.

A ``Table.update_item`` call whose shape was seen before runs its plan; the
state machine below sends calls of a few shapes with other values (valid, of
the wrong type, a key that does not match the schema, an item that is not
there, a false condition, an index key of the wrong type, an item over the
size limit) to two databases: one where plans are built and used, one whose
plans are forgotten before every call (so every call takes the reference
path).  Each call's answer -- or its error's class and message -- and the
tables' contents must agree.  The examples pin what makes a plan stale or
unused: a table created again with another key schema, an index added by
UpdateTable, an engine that meters or injects faults.
"""

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

import kvstore
from kvstore.errors import DynamoDBError
from kvstore.operations import write_plans
from kvstore.faults import FaultRule
from kvstore.testing import inject

from .helpers import create_table, index, scan_all

#: the shapes: (UpdateExpression, ConditionExpression or None, names, placeholders)
SHAPES = [
    ("SET cnt = cnt + :one", "attribute_exists(pk) AND cnt < :max", None, (":one", ":max")),
    ("SET g = :v", None, None, (":v",)),
    ("SET #n = :v, cnt = if_not_exists(cnt, :one)", "attribute_not_exists(pk) OR cnt <> :one", {"#n": "name"},
     (":v", ":one")),
    ("REMOVE g", "cnt >= :one", None, (":one",)),
    ("ADD cnt :one SET big = :v", None, None, (":one", ":v")),
    ("SET m.a = :v", "attribute_exists(m)", None, (":v",)),
]

#: mostly values of the class the shape was seen with (str or number), some that are not
values = st.one_of(
    st.integers(-3, 5).map(Decimal), st.integers(-3, 5), st.sampled_from(["a", "b", "", "g1"]),
    st.just("x" * 300_000), st.just(True), st.just({"a": Decimal(1)}), st.just(1.5), st.none())
keys = st.one_of(
    st.tuples(st.sampled_from(["p0", "p1", "p2", "p3"]), st.integers(0, 3)).map(
        lambda k: {"pk": k[0], "sk": Decimal(k[1])}),
    st.sampled_from([{"pk": "p0"}, {"pk": "p0", "sk": "1"}, {"pk": "", "sk": Decimal(1)},
                     {"pk": "p0", "sk": Decimal(1), "x": "y"}, {"pk": 5, "sk": Decimal(1)}]))


def _open():
    db = kvstore.open(":memory:")
    table = create_table(db, name="planned", hash_key=("pk", "S"), range_key=("sk", "N"),
                         gsis=[index("by_g", ("g", "S"))], lsis=[index("by_cnt", ("pk", "S"), ("cnt", "N"))])
    for p in range(3):
        for s in range(3):
            table.put_item(Item={"pk": f"p{p}", "sk": Decimal(s), "cnt": Decimal(s), "g": "g0", "m": {}})
    return db, table


def _update_kwargs(shape, key, vals):
    """The UpdateItem arguments of one of ``SHAPES`` (``text, condition, names, placeholders``) on
    ``key``, its placeholders bound to ``vals``."""
    text, condition, names, placeholders = shape
    kwargs = {"Key": key, "UpdateExpression": text, "ExpressionAttributeValues": dict(zip(placeholders, vals))}
    if condition is not None:
        kwargs["ConditionExpression"] = condition
    if names is not None:
        kwargs["ExpressionAttributeNames"] = names
    return kwargs


def _outcome(table, kwargs):
    try:
        return "ok", table.update_item(**kwargs)
    except (DynamoDBError, TypeError, ValueError) as e:      # boto3's own refusals (a float) too
        return type(e).__name__, str(e)


@settings(max_examples=60, stateful_step_count=30, deadline=None, suppress_health_check=list(HealthCheck))
class PlannedAndReferenceUpdates(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.planned_db, self.planned = _open()
        self.reference_db, self.reference = _open()
        self.planned_shapes = set()       # expressions that succeeded and have programs: each left a plan

    def teardown(self):
        self.planned_db.close()
        self.reference_db.close()

    @rule(shape=st.sampled_from(SHAPES), key=keys, vals=st.lists(values, min_size=2, max_size=2))
    def update(self, shape, key, vals):
        text = shape[0]
        kwargs = _update_kwargs(shape, key, vals)
        write_plans.clear(self.reference_db.engine)
        expected = _outcome(self.reference, kwargs)
        assert _outcome(self.planned, kwargs) == expected
        if expected[0] == "ok" and "." not in text:       # (an update of a nested path gets no plan)
            self.planned_shapes.add(text)
        assert len(self.planned_db.engine.write_plans) >= len(self.planned_shapes)

    @invariant()
    def same_items(self):
        assert scan_all(self.planned) == scan_all(self.reference)


TestPlannedAndReferenceUpdates = PlannedAndReferenceUpdates.TestCase

_COUNT = {"Key": {"pk": "p0", "sk": Decimal(0)}, "UpdateExpression": "SET cnt = cnt + :one",
          "ConditionExpression": "attribute_exists(pk)", "ExpressionAttributeValues": {":one": 1}}


def test_the_second_call_of_a_shape_runs_its_plan():
    db, table = _open()
    with db:
        table.update_item(**_COUNT)
        assert len(db.engine.write_plans) == 1
        (plan,) = db.engine.write_plans.values()
        assert plan.run(db.engine, _COUNT) == {"ResponseMetadata": {"HTTPStatusCode": 200, "RetryAttempts": 0}}
        assert table.get_item(Key=_COUNT["Key"])["Item"]["cnt"] == 2


def test_a_false_condition_raises_from_the_plan_as_from_the_reference():
    db, table = _open()
    with db:
        table.update_item(**_COUNT)
        missing = dict(_COUNT, Key={"pk": "p9", "sk": Decimal(0)})
        (plan,) = db.engine.write_plans.values()
        with pytest.raises(DynamoDBError) as caught:
            plan.run(db.engine, missing)
        assert caught.value.response["Error"] == {"Code": "ConditionalCheckFailedException",
                                                  "Message": "The conditional request failed"}
        assert caught.value.operation_name == "UpdateItem"
        assert "Item" not in table.get_item(Key=missing["Key"])


def test_a_plan_follows_a_table_created_again_with_another_key_schema():
    db, table = _open()
    with db:
        table.update_item(**_COUNT)
        table.update_item(**_COUNT)
        table.delete()
        again = create_table(db, name="planned", hash_key=("pk", "S"), range_key=("sk", "S"))
        again.put_item(Item={"pk": "p0", "sk": "0", "cnt": 0})
        with pytest.raises(DynamoDBError, match="The provided key element does not match the schema"):
            again.update_item(**_COUNT)
        assert again.update_item(**dict(_COUNT, Key={"pk": "p0", "sk": "0"}))["ResponseMetadata"]
        assert again.get_item(Key={"pk": "p0", "sk": "0"})["Item"]["cnt"] == 1


def test_a_shape_no_plan_covers_is_judged_once_and_a_stale_plan_is_built_again():
    db, table = _open()
    with db:
        nested = {"Key": {"pk": "p0", "sk": Decimal(0)}, "UpdateExpression": "SET m.a = :v",
                  "ExpressionAttributeValues": {":v": 1}}
        table.update_item(**nested)
        assert list(db.engine.write_plans.values()) == [None]
        table.update_item(**_COUNT)
        (plan,) = [p for p in db.engine.write_plans.values() if p is not None]
        table.delete()
        again = create_table(db, name="planned", hash_key=("pk", "S"), range_key=("sk", "N"))
        again.put_item(Item={**_COUNT["Key"], "cnt": 5})
        again.update_item(**_COUNT)
        (rebuilt,) = [p for p in db.engine.write_plans.values() if p is not None]
        assert rebuilt is not plan and rebuilt.table is db.engine.tables["planned"]
        again.update_item(**_COUNT)
        assert again.get_item(Key=_COUNT["Key"])["Item"]["cnt"] == 7


def test_a_plan_checks_the_index_keys_of_an_index_added_after_it():
    with kvstore.open(":memory:") as db:
        table = create_table(db, hash_key=("pk", "S"))
        table.put_item(Item={"pk": "a"})
        set_h = {"Key": {"pk": "a"}, "UpdateExpression": "SET h = :v", "ExpressionAttributeValues": {":v": "x"}}
        table.update_item(**set_h)
        table.update_item(**set_h)
        table.update(AttributeDefinitions=[{"AttributeName": "h", "AttributeType": "N"}],
                     GlobalSecondaryIndexUpdates=[{"Create": {
                         "IndexName": "by_h", "KeySchema": [{"AttributeName": "h", "KeyType": "HASH"}],
                         "Projection": {"ProjectionType": "ALL"}}}])
        table.put_item(Item={"pk": "a"})
        with pytest.raises(DynamoDBError, match="Type mismatch for Index Key h Expected: N Actual: S IndexName: by_h"):
            table.update_item(**set_h)
        assert table.get_item(Key={"pk": "a"})["Item"] == {"pk": "a"}


@pytest.mark.parametrize("options", [{"contention": True}, {"metrics": True}])
def test_no_plan_is_built_where_every_call_is_wrapped(options):
    with kvstore.open(":memory:", **options) as db:
        table = create_table(db, hash_key=("pk", "S"), range_key=("sk", "N"))
        table.put_item(Item={**_COUNT["Key"], "cnt": 0})
        table.update_item(**_COUNT)
        table.update_item(**_COUNT)
        assert db.engine.write_plans == {}
        assert table.get_item(Key=_COUNT["Key"])["Item"]["cnt"] == 2


def test_an_injected_fault_reaches_a_shape_that_has_a_plan():
    db, table = _open()
    with db:
        table.update_item(**_COUNT)
        with inject(FaultRule("InternalServerError", operations=["UpdateItem"]), db=db) as rule:
            with pytest.raises(DynamoDBError) as caught:
                table.update_item(**_COUNT)
        assert caught.value.response["Error"]["Code"] == "InternalServerError"
        assert rule.fired == 1
        assert table.get_item(Key=_COUNT["Key"])["Item"]["cnt"] == 1


def test_a_plan_meters_as_the_reference_under_enforced_capacity():
    """Under enforced capacity a planned call is admitted, charged and throttled as the reference path does:
    one write unit per call (a failed condition too), ProvisionedThroughputExceededException for the
    calls over the table's two units a second, on the manual clock."""
    from kvstore.clock import ManualClock

    outcomes = []
    for planned in (True, False):
        clock = ManualClock(1_000_000.0)
        with kvstore.open(":memory:", capacity="enforce", clock=clock) as db:
            table = create_table(db, hash_key=("pk", "S"), range_key=("sk", "N"), BillingMode="PROVISIONED",
                                 ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 2})
            table.put_item(Item={**_COUNT["Key"], "cnt": 0})
            seen = []
            for n in range(700):
                clock.advance(0.25)          # four calls a second against two write units a second
                if not planned:
                    write_plans.clear(db.engine)
                kwargs = _COUNT if n % 3 else dict(_COUNT, ConditionExpression="attribute_not_exists(pk)")
                seen.append(_outcome(table, kwargs)[0])
            if planned:
                assert db.engine.write_plans
            seen.append(table.get_item(Key=_COUNT["Key"], ConsistentRead=True)["Item"]["cnt"])
            outcomes.append(seen)
    assert outcomes[0] == outcomes[1]
    assert {"ok", "ConditionalCheckFailedException", "ProvisionedThroughputExceededException"} <= set(outcomes[0])


# ``_core.embedded_update`` (the call's shape, its plan looked up and run, in one core call): the
# compiled twin and the pure one, each behind ``Table.update_item`` of its own database, answer every
# call alike (the response, the shape handed back to the Python path, or the error) and leave the
# same items, whether a plan answers, declines or is not there yet.

from kvstore import api as _api  # noqa: E402

from tests.cores import ccore, needs_ccore, pycore  # noqa: E402


@needs_ccore
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@pytest.mark.parametrize("big_values", [False, True])
@given(calls=st.lists(st.tuples(st.sampled_from(SHAPES), keys, st.lists(values, min_size=2, max_size=2)),
                      min_size=1, max_size=12))
def test_embedded_update_agrees(monkeypatch, big_values, calls):
    answers, items = [], []
    for core in (ccore, pycore):
        seen = []

        def embedded_update(engine, prefix, kwargs, context, _core=core, _seen=seen):
            answer = _core.embedded_update(engine, prefix, kwargs, context)
            _seen.append(answer if answer.__class__ is not dict else "response")
            return answer

        monkeypatch.setattr(_api, "embedded_update", embedded_update)
        db, table = _open()
        with db:
            outcomes = []
            for shape, key, vals in calls:
                if big_values:
                    vals = [10 ** 12 if v is None else v for v in vals]
                outcomes.append(_outcome(table, _update_kwargs(shape, key, vals)))
            answers.append((outcomes, seen))
            items.append(scan_all(table))
    assert answers[0] == answers[1]
    assert items[0] == items[1]


@needs_ccore
@pytest.mark.parametrize("core", [ccore, pycore], ids=["cython", "python"])
def test_embedded_update_hands_back_the_shape_or_none(core):
    """No shape where every call is wrapped (metrics) or for a call without an UpdateExpression; the shape
    of a call no plan answered yet; the response once the plan exists."""
    db, table = _open()
    with db:
        engine = db.engine
        prefix = ("embedded", "planned", db.allow_floats)
        assert core.embedded_update(engine, prefix, {"Key": {"pk": "p0", "sk": 0}}, write_plans.EMBEDDED_CONTEXT) is None
        shape = core.embedded_update(engine, prefix, dict(_COUNT), write_plans.EMBEDDED_CONTEXT)
        assert shape.__class__ is tuple
        table.update_item(**_COUNT)                                  # leaves the plan
        assert core.embedded_update(engine, prefix, dict(_COUNT), write_plans.EMBEDDED_CONTEXT) == {
            "ResponseMetadata": {"HTTPStatusCode": 200, "RetryAttempts": 0}}
        assert table.get_item(Key=_COUNT["Key"])["Item"]["cnt"] == Decimal(2)
        engine.metrics = object()
        try:
            assert core.embedded_update(engine, prefix, dict(_COUNT), write_plans.EMBEDDED_CONTEXT) is None
        finally:
            engine.metrics = None
