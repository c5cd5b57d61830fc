"""Injected faults (kvstore.faults): chosen calls fail as DynamoDB can, before anything changes.

Each test runs on the embedded, hook and wire faces; the boto3 tests show
that botocore's retry modes treat injected and enforced errors exactly as
they treat DynamoDB's.
"""

import json
import types

import botocore.config
import botocore.endpoint
import botocore.exceptions
import botocore.retries.bucket
import pytest

import kvstore
from kvstore import capacity
from kvstore.clock import ManualClock
from kvstore.faults import MESSAGES
from kvstore.testing import FaultRule, inject, mock_dynamodb

from operations.helpers import assert_error, create_table

KEY = ("pk", "S")


@pytest.fixture
def faulty(dynamodb_with):
    resource, db = dynamodb_with()
    return resource, db, create_table(resource, hash_key=KEY)


def _items(table):
    return sorted((i["pk"], i.get("v")) for i in table.scan(ConsistentRead=True)["Items"])


# -- selection and schedules --------------------------------------------------------------

@pytest.mark.parametrize("error", ["InternalServerError", "ServiceUnavailable", "RequestLimitExceeded",
                                   "ThrottlingException", "ProvisionedThroughputExceededException"])
def test_an_injected_error_has_dynamodbs_code_and_message_and_changes_nothing(faulty, error):
    resource, db, table = faulty
    table.put_item(Item={"pk": "a", "v": 1})
    db.faults.add(FaultRule(error, operations="PutItem"))
    assert_error(lambda: table.put_item(Item={"pk": "a", "v": 2}), error, MESSAGES[error])
    assert _items(table) == [("a", 1)]


def test_every_nth_matching_call_fails(faulty):
    _, db, table = faulty
    rule = db.faults.add(FaultRule("InternalServerError", operations="PutItem", every=3))
    outcomes = []
    for i in range(7):
        try:
            table.put_item(Item={"pk": str(i)})
            outcomes.append("ok")
        except Exception as e:      # noqa: BLE001 (any face's error type)
            outcomes.append(e.response["Error"]["Code"])
    assert outcomes == ["ok", "ok", "InternalServerError", "ok", "ok", "InternalServerError", "ok"]
    assert (rule.matched, rule.fired) == (7, 2)
    table.get_item(Key={"pk": "0"})                  # other operations are not selected
    assert rule.matched == 7


def test_a_seeded_probability_gives_the_same_schedule_every_run(faulty):
    _, db, table = faulty
    schedules = []
    for _ in range(2):
        rule = FaultRule("InternalServerError", probability=0.3, seed=42)
        with db.faults.inject(rule):
            schedule = []
            for i in range(40):
                try:
                    table.get_item(Key={"pk": str(i)})
                    schedule.append(0)
                except Exception:   # noqa: BLE001
                    schedule.append(1)
        schedules.append(schedule)
    assert schedules[0] == schedules[1]
    assert 4 <= sum(schedules[0]) <= 24


def test_once_and_times_cap_the_failures(faulty):
    _, db, table = faulty
    once = db.faults.add(FaultRule("ServiceUnavailable", operations="GetItem", once=True))
    assert_error(lambda: table.get_item(Key={"pk": "a"}), "ServiceUnavailable")
    table.get_item(Key={"pk": "a"})
    assert once.fired == 1
    db.faults.clear()
    db.faults.add(FaultRule("InternalServerError", operations="GetItem", times=2))
    for _ in range(2):
        assert_error(lambda: table.get_item(Key={"pk": "a"}), "InternalServerError")
    table.get_item(Key={"pk": "a"})


def test_selection_by_table_key_and_predicate(faulty):
    resource, db, table = faulty
    other = create_table(resource, hash_key=KEY)
    db.faults.add(FaultRule("InternalServerError", tables=other.name))
    table.put_item(Item={"pk": "a"})
    assert_error(lambda: other.put_item(Item={"pk": "a"}), "InternalServerError")
    db.faults.clear()
    db.faults.add(FaultRule("InternalServerError", keys={"pk": "hot"}))
    table.put_item(Item={"pk": "cold"})
    assert_error(lambda: table.put_item(Item={"pk": "hot", "v": 1}), "InternalServerError")
    assert_error(lambda: table.get_item(Key={"pk": "hot"}), "InternalServerError")
    db.faults.clear()
    db.faults.add(FaultRule("InternalServerError", when=lambda action, request: request.get("Item", {}).get("v") == 7))
    table.put_item(Item={"pk": "x", "v": 6})
    assert_error(lambda: table.put_item(Item={"pk": "x", "v": 7}), "InternalServerError")
    assert _items(table) == [("a", None), ("cold", None), ("x", 6)]


def test_inject_scopes_the_rule_to_the_block(faulty):
    _, db, table = faulty
    with db.faults.inject(FaultRule("InternalServerError", operations="PutItem")) as rule:
        assert_error(lambda: table.put_item(Item={"pk": "a"}), "InternalServerError")
    table.put_item(Item={"pk": "a"})
    assert rule.fired == 1 and db.faults.rules == []


def test_transaction_conflict_is_a_cancellation_reason_on_the_selected_action(faulty):
    resource, db, table = faulty
    db.faults.add(FaultRule("TransactionConflict", keys={"pk": "b"}))
    items = [{"Put": {"TableName": table.name, "Item": {"pk": "a"}}},
             {"Update": {"TableName": table.name, "Key": {"pk": "b"}, "UpdateExpression": "SET v = :v",
                         "ExpressionAttributeValues": {":v": 1}}}]
    e = assert_error(lambda: resource.meta.client.transact_write_items(TransactItems=items),
                     "TransactionCanceledException",
                     "Transaction cancelled, please refer cancellation reasons for specific reasons "
                     "[None, TransactionConflict]")
    assert e.response["CancellationReasons"] == [
        {"Code": "None"}, {"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}]
    assert _items(table) == []
    assert_error(lambda: table.put_item(Item={"pk": "b"}), "TransactionConflictException",
                 "Transaction is ongoing for the item")


def test_latency_moves_a_manual_clock():
    clock = ManualClock()
    with kvstore.open(":memory:", clock=clock) as db:
        table = create_table(db, hash_key=KEY)
        before = clock()
        with db.faults.inject(FaultRule(None, operations="PutItem", latency=2.5)):
            table.put_item(Item={"pk": "a"})
        assert clock() - before == 2.5
        assert table.get_item(Key={"pk": "a"})["Item"] == {"pk": "a"}


def test_rules_load_from_json(tmp_path):
    path = tmp_path / "faults.json"
    path.write_text(json.dumps({"faults": [{"error": "InternalServerError", "operations": ["PutItem"],
                                            "keys": [{"pk": "a", "n": 1}], "times": 1}]}))
    with kvstore.open(":memory:") as db:
        table = create_table(db, hash_key=KEY)
        (rule,) = db.faults.load(path)
        table.put_item(Item={"pk": "a", "n": 2})
        assert_error(lambda: table.put_item(Item={"pk": "a", "n": 1}), "InternalServerError")
        assert rule.fired == 1


def test_bad_rules_are_refused():
    with pytest.raises(ValueError):
        FaultRule("NoSuchError")
    with pytest.raises(ValueError):
        FaultRule(None)
    with pytest.raises(ValueError):
        FaultRule(every=0)
    with pytest.raises(ValueError):
        FaultRule(probability=1.5)


def test_testing_inject_uses_the_active_mock():
    import boto3
    with mock_dynamodb() as mock:
        client = boto3.client("dynamodb", config=botocore.config.Config(retries={"total_max_attempts": 1}))
        client.create_table(TableName="things", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                            BillingMode="PAY_PER_REQUEST")
        with inject(FaultRule("InternalServerError", operations="ListTables")):
            assert_error(lambda: client.list_tables(), "InternalServerError")
        assert client.list_tables()["TableNames"] == ["things"]
        assert mock.faults.rules == []


# -- boto3's retry modes ---------------------------------------------------------------------

class RateLimiterClock:
    """The clock of botocore's ``adaptive`` rate limiter, virtual: each reading is ten seconds after the
    last, so its token bucket (at least 0.5 tokens a second) has refilled before it would wait.  Its
    waits are real-time condition waits, ~1-5 s a test after a throttling error."""

    def __init__(self):
        self.now = 0.0

    def sleep(self, seconds):
        self.now += seconds

    def current_time(self):
        self.now += 10.0
        return self.now


@pytest.fixture(autouse=True)
def virtual_rate_limiter(monkeypatch):
    """Every client made in these tests gets an ``adaptive`` rate limiter on :class:`RateLimiterClock`."""
    monkeypatch.setattr(botocore.retries.bucket, "Clock", RateLimiterClock)


@pytest.fixture
def sleeps(monkeypatch):
    """Record botocore's retry sleeps instead of sleeping (the time between attempts)."""
    recorded = []
    monkeypatch.setattr(botocore.endpoint, "time", types.SimpleNamespace(sleep=recorded.append))
    return recorded


#: boto3 faces only: the embedded API is not a botocore client and does not retry
BOTO3_FACES = pytest.mark.parametrize("face", ["hook", "wire"])
RETRIED = ["InternalServerError", "ServiceUnavailable", "RequestLimitExceeded", "ThrottlingException",
           "ProvisionedThroughputExceededException"]


@BOTO3_FACES
@pytest.mark.parametrize("mode", ["standard", "adaptive"])
@pytest.mark.parametrize("error", RETRIED)
def test_boto3_retries_injected_errors(dynamodb_with, face, sleeps, mode, error):
    resource, db = dynamodb_with(retries={"mode": mode, "total_max_attempts": 5})
    table = create_table(resource, hash_key=KEY)
    db.faults.add(FaultRule(error, operations="PutItem", times=2))
    response = table.put_item(Item={"pk": "a"})
    assert response["ResponseMetadata"]["RetryAttempts"] == 2
    assert len(sleeps) == 2
    assert table.get_item(Key={"pk": "a"})["Item"] == {"pk": "a"}


@BOTO3_FACES
@pytest.mark.parametrize("mode", ["standard", "adaptive"])
def test_max_attempts_exhausted_surfaces_the_error(dynamodb_with, face, sleeps, mode):
    resource, db = dynamodb_with(retries={"mode": mode, "total_max_attempts": 3})
    table = create_table(resource, hash_key=KEY)
    db.faults.add(FaultRule("ProvisionedThroughputExceededException", operations="PutItem"))
    e = assert_error(lambda: table.put_item(Item={"pk": "a"}), "ProvisionedThroughputExceededException",
                     capacity.TABLE_PROVISIONED)
    assert e.response["ResponseMetadata"]["RetryAttempts"] == 2
    assert "(reached max retries: 2)" in str(e)


@BOTO3_FACES
def test_transaction_conflict_is_not_retried_by_boto3(dynamodb_with, face, sleeps):
    """botocore does not retry TransactionConflictException (DynamoDB's SDKs leave it to the caller)."""
    resource, db = dynamodb_with(retries={"mode": "standard", "total_max_attempts": 5})
    table = create_table(resource, hash_key=KEY)
    db.faults.add(FaultRule("TransactionConflict", operations="PutItem", once=True))
    e = assert_error(lambda: table.put_item(Item={"pk": "a"}), "TransactionConflictException")
    assert e.response["ResponseMetadata"]["RetryAttempts"] == 0


@BOTO3_FACES
@pytest.mark.parametrize("mode", ["standard", "adaptive"])
def test_boto3_retries_enforced_throttling_as_time_passes(dynamodb_with, face, monkeypatch, mode):
    """With botocore's sleeps moving the virtual clock, a throttled write succeeds on a later attempt."""
    clock = ManualClock()
    resource, db = dynamodb_with(retries={"mode": mode, "total_max_attempts": 10}, capacity="enforce", clock=clock)
    monkeypatch.setattr(botocore.endpoint, "time", types.SimpleNamespace(sleep=clock.advance))
    table = create_table(resource, hash_key=KEY, BillingMode="PROVISIONED",
                         ProvisionedThroughput={"ReadCapacityUnits": 1, "WriteCapacityUnits": 1})
    table.put_item(Item={"pk": "a"})
    response = table.put_item(Item={"pk": "b"})
    assert response["ResponseMetadata"]["RetryAttempts"] >= 1
    assert table.get_item(Key={"pk": "b"}, ConsistentRead=True)["Item"] == {"pk": "b"}


# -- kvstore serve --faults FILE --enforce-capacity ----------------------------------------------

def test_serve_takes_faults_from_a_file_and_enforces_capacity(tmp_path):
    import os
    import re
    import signal
    import subprocess
    import sys

    import boto3
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    faults = tmp_path / "faults.json"
    faults.write_text(json.dumps([{"error": "InternalServerError", "operations": ["GetItem"], "times": 1}]))
    env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
    process = subprocess.Popen([sys.executable, "-m", "kvstore", "serve", "--in-memory", "--port", "0",
                                "--faults", str(faults), "--enforce-capacity"],
                               stderr=subprocess.PIPE, text=True, env=env, cwd=root)
    try:
        for line in process.stderr:
            match = re.search(r"listening on (http://\S+),", line)
            if match:
                break
        else:
            raise AssertionError("the server did not start")
        client = boto3.client("dynamodb", endpoint_url=match.group(1), region_name="us-east-1",
                              aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret",
                              config=botocore.config.Config(retries={"total_max_attempts": 1}))
        client.create_table(TableName="things", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                            ProvisionedThroughput={"ReadCapacityUnits": 1, "WriteCapacityUnits": 1})
        key = {"pk": {"S": "a"}}
        assert_error(lambda: client.get_item(TableName="things", Key=key), "InternalServerError",
                     MESSAGES["InternalServerError"])
        client.get_item(TableName="things", Key=key)                       # the rule fired once
        # 1 WCU on the wall clock: at most 300 s of burst plus the seconds the loop takes, then throttled
        with pytest.raises(botocore.exceptions.ClientError) as e:
            for _ in range(400):
                client.put_item(TableName="things", Item=key)
        assert_error(e, "ProvisionedThroughputExceededException", capacity.TABLE_PROVISIONED)
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)


def test_the_fault_endpoint_reads_and_replaces_rules():
    """``kvstore serve --fault-endpoint``: GET/POST /_kvstore/faults on the server's own address."""
    import http.client

    import boto3

    from kvstore.server.app import ServerThread
    from kvstore.server.handler import RequestHandler

    def call(url, body=None):
        connection = http.client.HTTPConnection(url.split("//")[1], timeout=10)
        connection.request("POST" if body is not None else "GET", "/_kvstore/faults", body=body)
        response = connection.getresponse()
        data = response.read()
        connection.close()
        return response.status, data

    with kvstore.open(":memory:") as db, ServerThread(RequestHandler(db.engine, fault_endpoint=True)) as running:
        def admin(body=None):
            status, data = call(running.url, body)
            assert status == 200, data
            return json.loads(data)

        assert admin() == {"faults": []}
        rules = [{"error": "ServiceUnavailable", "operations": ["ListTables"], "times": 1}]
        assert admin(json.dumps({"faults": rules}).encode())["faults"][0]["error"] == "ServiceUnavailable"
        client = boto3.client("dynamodb", endpoint_url=running.url, region_name="us-east-1",
                              aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret",
                              config=botocore.config.Config(retries={"total_max_attempts": 1}))
        assert_error(lambda: client.list_tables(), "ServiceUnavailable")
        assert admin()["faults"][0]["fired"] == 1
        assert admin(b"[]") == {"faults": []}
        assert call(running.url, b'[{"error": "NoSuchError"}]')[0] == 400
    with kvstore.open(":memory:") as db, ServerThread(RequestHandler(db.engine)) as running:
        assert call(running.url)[0] == 404                                 # off unless asked for
