"""``GET /metrics`` over HTTP: the Prometheus text format, the requests the wire served, and who may scrape
(docs/operations.md, "Who may scrape /metrics")."""

import http.client
import urllib.parse

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

import kvstore
from kvstore.server import auth
from kvstore.server.accounts import Accounts, directory_of
from kvstore.server.app import ServerThread
from kvstore.server.handler import METRICS_TYPE, RequestHandler
from tests.prometheus_text import strict_parse, value
from tests.wire.test_isolation import ALICE, BOB, KEYS, credentials_file

TOKEN = "scrape-token-0123456789"


def get(server, path="/metrics", headers=None):
    parts = urllib.parse.urlsplit(server.url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type"), response.read().decode("utf-8")
    finally:
        connection.close()


def client(server, key=("AKIDEXAMPLE", "secret"), region="us-east-1"):
    return boto3.client("dynamodb", endpoint_url=server.url, region_name=region, aws_access_key_id=key[0],
                        aws_secret_access_key=key[1], config=Config(retries={"total_max_attempts": 1}))


@pytest.fixture
def open_server():
    """A server without credentials (any key accepted), its database with metrics on."""
    db = kvstore.open(":memory:", metrics=True)
    try:
        with ServerThread(RequestHandler(db.engine, auth=auth.AnyKey(clock=db.engine.clock))) as running:
            yield running
    finally:
        db.close()


def test_metrics_count_the_requests_served_over_the_wire(open_server):
    c = client(open_server)
    c.create_table(TableName="orders", **KEYS)
    for i in range(7):
        c.put_item(TableName="orders", Item={"pk": {"S": str(i)}})
    for i in range(5):
        c.get_item(TableName="orders", Key={"pk": {"S": str(i)}})
    with pytest.raises(ClientError):
        c.get_item(TableName="missing", Key={"pk": {"S": "a"}})
    with pytest.raises(ClientError):                        # refused by the wire before the operation
        c.get_item(TableName="orders", Key={"pk": {"N": "not a number"}})

    status, content_type, text = get(open_server)
    assert status == 200 and content_type == METRICS_TYPE
    f = strict_parse(text)
    assert f["kvstore_successful_request_latency_seconds"]["type"] == "histogram"
    assert value(f, "kvstore_requests_total", operation="PutItem", table="orders") == 7
    assert value(f, "kvstore_requests_total", operation="GetItem", table="orders") == 5
    assert value(f, "kvstore_successful_request_latency_seconds_count", operation="GetItem", table="orders") == 5
    assert value(f, "kvstore_returned_item_count_total", operation="GetItem", table="orders") == 5
    assert value(f, "kvstore_errors_total", operation="GetItem", table="missing",
                 code="ResourceNotFoundException") == 1
    assert value(f, "kvstore_errors_total", operation="GetItem", table="", code="ValidationException") == 1
    assert value(f, "kvstore_user_errors_total", operation="GetItem") == 2
    assert value(f, "kvstore_consumed_read_capacity_units_total", table="orders", index="") == 2.5
    assert value(f, "kvstore_consumed_write_capacity_units_total", table="orders", index="") == 7
    assert value(f, "kvstore_table_items", table="orders", index="") == 7
    # the same figures as the embedded object
    assert 'operation="GetItem",table="orders"} 5' in text


def test_metrics_need_the_token_when_one_is_set(tmp_path):
    db = kvstore.open(":memory:", metrics=True)
    try:
        handler = RequestHandler(db.engine, auth=auth.AnyKey(clock=db.engine.clock), metrics_token=TOKEN)
        with ServerThread(handler) as running:
            assert get(running)[0] == 401
            assert get(running, headers={"Authorization": "Bearer wrong"})[0] == 401
            status, content_type, text = get(running, headers={"Authorization": f"Bearer {TOKEN}"})
            assert status == 200 and content_type == METRICS_TYPE
            strict_parse(text)
    finally:
        db.close()


def test_no_metrics_endpoint_when_metrics_are_off():
    db = kvstore.open(":memory:")
    try:
        with ServerThread(RequestHandler(db.engine, auth=auth.AnyKey(clock=db.engine.clock))) as running:
            assert get(running)[0] == 404
    finally:
        db.close()


@pytest.fixture
def accounts_server(tmp_path, request):
    """Two accounts' databases behind one server with credentials (as tests/wire/test_isolation.py)."""
    token = getattr(request, "param", None)
    root = str(tmp_path / "data")
    db = kvstore.open(root, durability="none", metrics=True)
    accounts = Accounts(db, lambda account, region: kvstore.open(
        directory_of(root, account, region), durability="none", account_id=account, region=region, metrics=True))
    verifier = auth.SigV4Verifier(auth.load_keys(credentials_file(tmp_path)), clock=db.engine.clock)
    try:
        handler = RequestHandler(db.engine, auth=verifier, accounts=accounts, metrics_token=token)
        with ServerThread(handler) as running:
            yield running
    finally:
        accounts.close()
        db.close()


def signed_get(server, key):
    """GET /metrics signed with an access key, as an SDK would sign a request."""
    request = AWSRequest(method="GET", url=server.url + "/metrics", headers={})
    SigV4Auth(Credentials(*key), "dynamodb", "us-east-1").add_auth(request)
    return get(server, headers=dict(request.headers.items()))


def test_with_credentials_no_access_key_may_scrape(accounts_server):
    alice = client(accounts_server, ALICE)
    alice.create_table(TableName="secret-orders", **KEYS)
    for headers in ({}, {"Authorization": f"Bearer {TOKEN}"}):
        status, _, text = get(accounts_server, headers=headers)
        assert status == 403 and "secret-orders" not in text
    status, _, text = signed_get(accounts_server, BOB)
    assert status == 403 and "secret-orders" not in text
    status, _, text = signed_get(accounts_server, ALICE)
    assert status == 403


@pytest.mark.parametrize("accounts_server", [TOKEN], indirect=True)
def test_with_credentials_the_token_holder_sees_every_account_apart(accounts_server):
    alice, bob = client(accounts_server, ALICE), client(accounts_server, BOB, region="eu-west-1")
    alice.create_table(TableName="orders", **KEYS)
    bob.create_table(TableName="orders", **KEYS)
    for i in range(3):
        alice.put_item(TableName="orders", Item={"pk": {"S": str(i)}})
    bob.put_item(TableName="orders", Item={"pk": {"S": "b"}})
    with pytest.raises(ClientError):
        client(accounts_server, ("AKIDUNKNOWN", "x")).list_tables()

    assert get(accounts_server)[0] == 401
    assert signed_get(accounts_server, ALICE)[0] == 401
    status, content_type, text = get(accounts_server, headers={"Authorization": f"Bearer {TOKEN}"})
    assert status == 200 and content_type == METRICS_TYPE
    f = strict_parse(text)
    assert value(f, "kvstore_requests_total", account="111111111111", region="us-east-1",
                 operation="PutItem", table="orders") == 3
    assert value(f, "kvstore_requests_total", account="222222222222", region="eu-west-1",
                 operation="PutItem", table="orders") == 1
    assert value(f, "kvstore_table_items", account="111111111111", table="orders", index="") == 3
    assert value(f, "kvstore_table_items", account="222222222222", table="orders", index="") == 1
    # a key the server does not know is refused before any account: counted on the default database
    assert value(f, "kvstore_errors_total", account="123456789012", operation="ListTables",
                 code="UnrecognizedClientException") == 1
    for samples in (fam["samples"] for fam in f.values()):
        for _, labels in samples:
            assert [k for k, _ in labels[:2]] == ["account", "region"]


def test_kvstore_serve_turns_metrics_on_and_the_flags_off(tmp_path):
    from tests.wire.test_serve import Served

    class Url:
        def __init__(self, url):
            self.url = url

    served = Served("--in-memory")
    try:
        served.client().list_tables()
        status, content_type, text = get(Url(served.url))
        assert status == 200 and content_type == METRICS_TYPE
        assert value(strict_parse(text), "kvstore_requests_total", operation="ListTables") == 1
    finally:
        assert served.stop() == 0
    assert any("metrics: GET http://127.0.0.1:" in line and "no authentication" in line for line in served.lines)

    served = Served("--in-memory", "--no-metrics")
    try:
        assert get(Url(served.url))[0] == 404
    finally:
        assert served.stop() == 0

    token = tmp_path / "token"
    token.write_text(TOKEN + "\n")
    served = Served("--in-memory", "--metrics-token-file", str(token),
                    env={"KVSTORE_ACCESS_KEY_ID": "AKIDKV", "KVSTORE_SECRET_ACCESS_KEY": "s3cret"})
    try:
        assert get(Url(served.url))[0] == 401
        assert get(Url(served.url), headers={"Authorization": f"Bearer {TOKEN}"})[0] == 200
    finally:
        assert served.stop() == 0

    served = Served("--in-memory", env={"KVSTORE_ACCESS_KEY_ID": "AKIDKV", "KVSTORE_SECRET_ACCESS_KEY": "s3cret"})
    try:
        assert get(Url(served.url))[0] == 403
    finally:
        assert served.stop() == 0
    assert any("refused: the server has credentials" in line for line in served.lines)
