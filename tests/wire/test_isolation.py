"""Isolation as DynamoDB does it: accounts and regions apart, per-key permissions, signatures checked
before the body is read (docs/security.md)."""

import json
import os
import subprocess
import sys
import time

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

import kvstore
from kvstore.clock import ManualClock
from kvstore.server import auth
from kvstore.server.accounts import Accounts, directory_of
from kvstore.server.app import ServerThread
from kvstore.server.handler import RequestHandler
from kvstore.server.policy import Policy

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ALICE = ("AKIDALICE", "alice-secret")             # account 111111111111
BOB = ("AKIDBOB", "bob-secret")                   # account 222222222222
READER = ("AKIDREADER", "reader-secret")          # account 111111111111, read_only
ORDERS = ("AKIDORDERS", "orders-secret")          # account 111111111111, items of orders* tables only
DEFAULT = ("AKIDDEFAULT", "default-secret")       # the default account (no aws_account_id)

ORDERS_POLICY = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query",
                                   "dynamodb:DescribeTable", "dynamodb:BatchWriteItem", "dynamodb:PartiQL*"],
     "Resource": ["arn:aws:dynamodb:*:111111111111:table/orders*"]},
    {"Effect": "Allow", "Action": "dynamodb:ListTables", "Resource": "*"}]}

CREDENTIALS = f"""\
[alice]
aws_access_key_id = {ALICE[0]}
aws_secret_access_key = {ALICE[1]}
aws_account_id = 111111111111

[bob]
aws_access_key_id = {BOB[0]}
aws_secret_access_key = {BOB[1]}
aws_account_id = 222222222222

[reader]
aws_access_key_id = {READER[0]}
aws_secret_access_key = {READER[1]}
aws_account_id = 111111111111
read_only = true

[orders]
aws_access_key_id = {ORDERS[0]}
aws_secret_access_key = {ORDERS[1]}
aws_account_id = 111111111111
policy = {json.dumps(ORDERS_POLICY)}

[default]
aws_access_key_id = {DEFAULT[0]}
aws_secret_access_key = {DEFAULT[1]}
"""

KEYS = dict(KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")


def credentials_file(tmp_path, text=CREDENTIALS, mode=0o600):
    path = tmp_path / "credentials"
    path.write_text(text)
    path.chmod(mode)
    return path


@pytest.fixture
def accounts_server(tmp_path):
    """A server with the credentials above; each (account, region) a directory database under tmp_path."""
    root = str(tmp_path / "data")
    db = kvstore.open(root, durability="none")
    accounts = Accounts(db, lambda account, region: kvstore.open(
        directory_of(root, account, region), durability="none", account_id=account, region=region))
    verifier = auth.SigV4Verifier(auth.load_keys(credentials_file(tmp_path)), clock=db.engine.clock)
    try:
        with ServerThread(RequestHandler(db.engine, auth=verifier, accounts=accounts)) as running:
            running.root = root
            running.accounts = accounts
            yield running
    finally:
        accounts.close()
        db.close()


def client(server, key, region="us-east-1", service="dynamodb"):
    return boto3.client(service, endpoint_url=server.url, region_name=region, aws_access_key_id=key[0],
                        aws_secret_access_key=key[1], config=Config(retries={"total_max_attempts": 1}))


def error_of(call):
    with pytest.raises(ClientError) as e:
        call()
    return e.value.response["Error"]["Code"], e.value.response["Error"]["Message"]


# ------------------------------------------------------------------ accounts and regions

def test_two_accounts_do_not_see_each_others_tables(accounts_server):
    alice, bob = client(accounts_server, ALICE), client(accounts_server, BOB)
    arn = alice.create_table(TableName="orders", **KEYS)["TableDescription"]["TableArn"]
    assert arn == "arn:aws:dynamodb:us-east-1:111111111111:table/orders"
    alice.put_item(TableName="orders", Item={"pk": {"S": "a"}, "owner": {"S": "alice"}})

    assert bob.list_tables()["TableNames"] == []
    assert error_of(lambda: bob.describe_table(TableName="orders"))[0] == "ResourceNotFoundException"
    assert error_of(lambda: bob.get_item(TableName="orders", Key={"pk": {"S": "a"}}))[0] == \
        "ResourceNotFoundException"
    assert error_of(lambda: bob.list_tags_of_resource(ResourceArn=arn))[0] == "AccessDeniedException"

    # the same name in another account is another table
    assert bob.create_table(TableName="orders", **KEYS)["TableDescription"]["TableArn"] == \
        "arn:aws:dynamodb:us-east-1:222222222222:table/orders"
    bob.put_item(TableName="orders", Item={"pk": {"S": "a"}, "owner": {"S": "bob"}})
    assert alice.get_item(TableName="orders", Key={"pk": {"S": "a"}})["Item"]["owner"] == {"S": "alice"}
    assert bob.get_item(TableName="orders", Key={"pk": {"S": "a"}})["Item"]["owner"] == {"S": "bob"}
    # a transaction of bob's cannot reach alice's table by naming its ARN
    assert error_of(lambda: bob.transact_get_items(TransactItems=[
        {"Get": {"TableName": arn, "Key": {"pk": {"S": "a"}}}}]))[0] in ("ValidationException",
                                                                       "ResourceNotFoundException")
    assert accounts_server.accounts.pairs() == [("111111111111", "us-east-1"), ("123456789012", "us-east-1"),
                                                ("222222222222", "us-east-1")]
    assert os.path.isdir(directory_of(accounts_server.root, "222222222222", "us-east-1"))


def test_one_key_in_two_regions_sees_two_databases_and_arns_carry_both(accounts_server):
    east, west = client(accounts_server, ALICE), client(accounts_server, ALICE, "eu-west-1")
    spec = dict(KEYS, AttributeDefinitions=KEYS["AttributeDefinitions"] + [{"AttributeName": "g",
                                                                            "AttributeType": "S"}],
                GlobalSecondaryIndexes=[{"IndexName": "by-g", "KeySchema": [{"AttributeName": "g",
                                                                             "KeyType": "HASH"}],
                                         "Projection": {"ProjectionType": "ALL"}}],
                StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"})
    table = west.create_table(TableName="events", **spec)["TableDescription"]
    assert table["TableArn"] == "arn:aws:dynamodb:eu-west-1:111111111111:table/events"
    assert table["GlobalSecondaryIndexes"][0]["IndexArn"] == \
        "arn:aws:dynamodb:eu-west-1:111111111111:table/events/index/by-g"
    assert table["LatestStreamArn"].startswith("arn:aws:dynamodb:eu-west-1:111111111111:table/events/stream/")
    backup = west.create_backup(TableName="events", BackupName="nightly")["BackupDetails"]["BackupArn"]
    assert backup.startswith("arn:aws:dynamodb:eu-west-1:111111111111:table/events/backup/")

    assert east.list_tables()["TableNames"] == []
    assert error_of(lambda: east.describe_backup(BackupArn=backup))[0] == "BackupNotFoundException"
    streams_east = client(accounts_server, ALICE, service="dynamodbstreams")
    assert error_of(lambda: streams_east.describe_stream(StreamArn=table["LatestStreamArn"]))[0] == \
        "ResourceNotFoundException"
    west.put_item(TableName="events", Item={"pk": {"S": "1"}, "g": {"S": "x"}})
    streams_west = client(accounts_server, ALICE, "eu-west-1", service="dynamodbstreams")
    shard = streams_west.describe_stream(StreamArn=table["LatestStreamArn"])["StreamDescription"]["Shards"][0]
    iterator = streams_west.get_shard_iterator(StreamArn=table["LatestStreamArn"], ShardId=shard["ShardId"],
                                               ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    records = streams_west.get_records(ShardIterator=iterator)["Records"]
    assert [r["awsRegion"] for r in records] == ["eu-west-1"]


def test_the_default_account_is_the_data_directory_itself(accounts_server, tmp_path):
    """A key without aws_account_id reaches the directory's own database in us-east-1: the tables a
    directory held before accounts existed, and those the embedded API sees."""
    default = client(accounts_server, DEFAULT)
    assert default.create_table(TableName="legacy", **KEYS)["TableDescription"]["TableArn"] == \
        "arn:aws:dynamodb:us-east-1:123456789012:table/legacy"
    assert "legacy" in accounts_server.accounts.default.engine.tables
    assert client(accounts_server, ALICE).list_tables()["TableNames"] == []


# ------------------------------------------------------------------ permissions

def test_a_read_only_key_reads_and_is_denied_put_item_with_dynamodbs_message(accounts_server):
    alice, reader = client(accounts_server, ALICE), client(accounts_server, READER)
    alice.create_table(TableName="orders", **KEYS)
    alice.put_item(TableName="orders", Item={"pk": {"S": "a"}, "n": {"N": "1"}})

    assert reader.list_tables()["TableNames"] == ["orders"]
    assert reader.get_item(TableName="orders", Key={"pk": {"S": "a"}})["Item"]["n"] == {"N": "1"}
    assert reader.scan(TableName="orders")["Count"] == 1
    assert reader.execute_statement(Statement='SELECT * FROM "orders"')["Items"]
    with pytest.raises(ClientError) as e:
        reader.put_item(TableName="orders", Item={"pk": {"S": "a"}, "n": {"N": "2"}})
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert e.value.response["Error"] == {
        "Code": "AccessDeniedException",
        "Message": "User: arn:aws:iam::111111111111:user/reader is not authorized to perform: dynamodb:PutItem "
                   "on resource: arn:aws:dynamodb:us-east-1:111111111111:table/orders because no "
                   "identity-based policy allows the dynamodb:PutItem action"}
    for call in (lambda: reader.delete_table(TableName="orders"),
                 lambda: reader.execute_statement(Statement="DELETE FROM \"orders\" WHERE pk = 'a'"),
                 lambda: reader.transact_write_items(TransactItems=[
                     {"Delete": {"TableName": "orders", "Key": {"pk": {"S": "a"}}}}]),
                 lambda: reader.create_table(TableName="mine", **KEYS)):
        assert error_of(call)[0] == "AccessDeniedException"
    assert alice.get_item(TableName="orders", Key={"pk": {"S": "a"}})["Item"]["n"] == {"N": "1"}
    assert alice.list_tables()["TableNames"] == ["orders"]


def test_a_policy_limits_a_key_to_actions_and_table_patterns(accounts_server):
    alice, orders = client(accounts_server, ALICE), client(accounts_server, ORDERS)
    for name in ("orders-eu", "users"):
        alice.create_table(TableName=name, **KEYS)
    orders.put_item(TableName="orders-eu", Item={"pk": {"S": "a"}})
    assert orders.get_item(TableName="orders-eu", Key={"pk": {"S": "a"}})["Item"] == {"pk": {"S": "a"}}
    assert orders.list_tables()["TableNames"] == ["orders-eu", "users"]
    orders.execute_statement(Statement="INSERT INTO \"orders-eu\" VALUE {'pk': 'b'}")

    code, message = error_of(lambda: orders.put_item(TableName="users", Item={"pk": {"S": "a"}}))
    assert code == "AccessDeniedException"
    assert message == ("User: arn:aws:iam::111111111111:user/orders is not authorized to perform: dynamodb:PutItem "
                       "on resource: arn:aws:dynamodb:us-east-1:111111111111:table/users because no "
                       "identity-based policy allows the dynamodb:PutItem action")
    assert error_of(lambda: orders.delete_item(TableName="orders-eu", Key={"pk": {"S": "a"}}))[0] == \
        "AccessDeniedException"
    # every table of a batch is checked; a denied batch writes nothing
    code, message = error_of(lambda: orders.batch_write_item(RequestItems={
        "orders-eu": [{"PutRequest": {"Item": {"pk": {"S": "c"}}}}],
        "users": [{"PutRequest": {"Item": {"pk": {"S": "c"}}}}]}))
    assert code == "AccessDeniedException" and "dynamodb:BatchWriteItem on resource: " \
        "arn:aws:dynamodb:us-east-1:111111111111:table/users " in message
    assert "Item" not in alice.get_item(TableName="orders-eu", Key={"pk": {"S": "c"}})
    # a transaction needs each item action on each table
    code, message = error_of(lambda: orders.transact_write_items(TransactItems=[
        {"Put": {"TableName": "orders-eu", "Item": {"pk": {"S": "d"}}}},
        {"Update": {"TableName": "orders-eu", "Key": {"pk": {"S": "a"}}, "UpdateExpression": "SET x = :x",
                    "ExpressionAttributeValues": {":x": {"N": "1"}}}}]))
    assert code == "AccessDeniedException" and "dynamodb:UpdateItem on resource" in message
    assert "Item" not in alice.get_item(TableName="orders-eu", Key={"pk": {"S": "d"}})
    assert error_of(lambda: orders.execute_statement(Statement='SELECT * FROM "users"'))[0] == \
        "AccessDeniedException"
    assert error_of(lambda: orders.describe_time_to_live(TableName="orders-eu"))[0] == "AccessDeniedException"


def test_a_query_of_an_index_is_authorized_on_the_index_arn(accounts_server):
    alice = client(accounts_server, ALICE)
    alice.create_table(TableName="orders", **dict(
        KEYS, AttributeDefinitions=KEYS["AttributeDefinitions"] + [{"AttributeName": "g", "AttributeType": "S"}],
        GlobalSecondaryIndexes=[{"IndexName": "by-g", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                                 "Projection": {"ProjectionType": "ALL"}}]))
    policy = Policy.from_json({"Statement": [{"Effect": "Allow", "Action": "dynamodb:Query",
                                              "Resource": "arn:aws:dynamodb:*:*:table/orders"}]})
    key = auth.AccessKey("AKIDQ", "q-secret", "111111111111", "q", policy)
    accounts_server.server.handler.auth.keys["AKIDQ"] = key
    q = client(accounts_server, ("AKIDQ", "q-secret"))
    q.query(TableName="orders", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "a"}})
    code, message = error_of(lambda: q.query(TableName="orders", IndexName="by-g", KeyConditionExpression="g = :g",
                                             ExpressionAttributeValues={":g": {"S": "a"}}))
    assert code == "AccessDeniedException"
    assert "on resource: arn:aws:dynamodb:us-east-1:111111111111:table/orders/index/by-g " in message


@pytest.mark.parametrize("statement, problem", [
    ({"Effect": "Deny", "Action": "dynamodb:*", "Resource": "*"}, "only \"Effect\": \"Allow\""),
    ({"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*", "Condition": {}}, "not Condition"),
    ({"Effect": "Allow", "NotAction": "dynamodb:PutItem", "Resource": "*"}, "not NotAction"),
    ({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}, "is not a dynamodb: action"),
    ({"Effect": "Allow", "Action": [], "Resource": "*"}, "Action must be"),
])
def test_a_policy_kvstore_cannot_enforce_is_refused_when_the_file_is_read(tmp_path, statement, problem):
    text = f"[k]\naws_access_key_id = K\naws_secret_access_key = S\npolicy = {json.dumps({'Statement': [statement]})}\n"
    with pytest.raises(ValueError) as e:
        auth.load_keys(credentials_file(tmp_path, text))
    assert problem in str(e.value)


def test_unknown_profile_entries_and_bad_account_ids_are_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown entries readonly"):
        auth.load_keys(credentials_file(tmp_path, "[k]\naws_access_key_id = K\naws_secret_access_key = S\n"
                                                  "readonly = true\n"))
    with pytest.raises(ValueError, match="aws_account_id must be 12 digits"):
        auth.load_keys(credentials_file(tmp_path, "[k]\naws_access_key_id = K\naws_secret_access_key = S\n"
                                                  "aws_account_id = 42\n"))


# ------------------------------------------------------------------ signatures before the body

MALFORMED_BODY = b'{"TableName": '          # a signed request with this body answers SerializationException


def signed_headers(port, body, key=ALICE, region="us-east-1", service="dynamodb",
                   target="DynamoDB_20120810.ListTables"):
    request = AWSRequest(method="POST", url=f"http://127.0.0.1:{port}/", data=body,
                         headers={"X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.0"})
    SigV4Auth(Credentials(*key), service, region).add_auth(request)
    return dict(request.headers.items())


def post(port, body, headers):
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("POST", "/", body=body, headers=headers)
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


def _time(t):
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(t))


@pytest.fixture(params=["any key", "credentials"])
def clocked_server(request, tmp_path):
    """A server on a database with a manual clock (starting now): without credentials (kvstore serve's
    default, any key) and with them; the skew check reads the engine's clock."""
    clock = ManualClock()
    db = kvstore.open(":memory:", clock=clock)
    if request.param == "any key":
        checker = auth.AnyKey(clock=db.engine.clock)
    else:
        checker = auth.SigV4Verifier(auth.load_keys(credentials_file(tmp_path)), clock=db.engine.clock)
    with ServerThread(RequestHandler(db.engine, auth=checker)) as running:
        running.clock = clock
        yield running
    db.close()


def test_a_signed_malformed_body_reaches_the_json_parser(clocked_server):
    port = clocked_server.server.port
    status, body = post(port, MALFORMED_BODY, signed_headers(port, MALFORMED_BODY))
    assert (status, body["__type"]) == (400, "com.amazon.coral.service#SerializationException")


def test_an_unsigned_request_is_missing_authentication_token(clocked_server):
    port = clocked_server.server.port
    status, body = post(port, MALFORMED_BODY, {"X-Amz-Target": "DynamoDB_20120810.ListTables",
                                               "Content-Type": "application/x-amz-json-1.0"})
    assert (status, body) == (400, {"__type": "com.amazon.coral.service#MissingAuthenticationTokenException",
                                    "message": "Request is missing Authentication Token"})


def test_a_signature_older_than_15_minutes_is_expired(clocked_server):
    port = clocked_server.server.port
    headers = signed_headers(port, MALFORMED_BODY)
    clocked_server.clock.advance(15 * 60 + 30)
    now = clocked_server.clock()
    status, body = post(port, MALFORMED_BODY, headers)
    assert (status, body) == (400, {
        "__type": "com.amazon.coral.service#InvalidSignatureException",
        "message": f"Signature expired: {headers['X-Amz-Date']} is now earlier than {_time(now - 900)} "
                   f"({_time(now)} - 15 min.)"})


def test_a_signature_from_more_than_15_minutes_ahead_is_not_yet_current(clocked_server):
    port = clocked_server.server.port
    headers = signed_headers(port, MALFORMED_BODY)
    clocked_server.clock.set(clocked_server.clock() - 15 * 60 - 30)
    now = clocked_server.clock()
    status, body = post(port, MALFORMED_BODY, headers)
    assert (status, body) == (400, {
        "__type": "com.amazon.coral.service#InvalidSignatureException",
        "message": f"Signature not yet current: {headers['X-Amz-Date']} is still later than "
                   f"{_time(now + 900)} ({_time(now)} + 15 min.)"})


def test_a_skew_within_15_minutes_is_accepted(clocked_server):
    port = clocked_server.server.port
    headers = signed_headers(port, b"{}")
    clocked_server.clock.advance(14 * 60)
    assert post(port, b"{}", headers) == (200, {"TableNames": []})


@pytest.mark.parametrize("service, region, message", [
    ("s3", "us-east-1", "Credential should be scoped to correct service: 'dynamodb'. "),
    ("dynamodb", "moon", "Credential should be scoped to a valid region, not 'moon'. "),
    # of a region's shape, but no such region: DynamoDB answers exactly this (aws-sdk-js issue 4002)
    ("dynamodb", "eu-east-2", "Credential should be scoped to a valid region, not 'eu-east-2'. "),
    ("dynamodb", "local", "Credential should be scoped to a valid region, not 'local'. "),
    ("dynamodb", "US-EAST-1", "Credential should be scoped to a valid region, not 'US-EAST-1'. "),
])
def test_a_wrong_credential_scope_is_rejected(clocked_server, service, region, message):
    port = clocked_server.server.port
    status, body = post(port, MALFORMED_BODY, signed_headers(port, MALFORMED_BODY, service=service, region=region))
    assert (status, body) == (400, {"__type": "com.amazon.coral.service#InvalidSignatureException",
                                    "message": message})


@pytest.mark.parametrize("change, code, start", [
    ({"Authorization": "AWS4-HMAC-SHA256 Credential=AKIDALICE/20240101/us-east-1/dynamodb/aws4_request"},
     "IncompleteSignatureException", "Authorization header requires 'Signature' parameter."),
    ({"X-Amz-Date": "yesterday"}, "IncompleteSignatureException",
     "Date must be in ISO-8601 'basic format'. Got 'yesterday'."),
    ({"Authorization": "AWS4-HMAC-MD5 Credential=AKIDALICE/20240101/us-east-1/dynamodb/aws4_request, "
                       "SignedHeaders=host;x-amz-date, Signature=00"},
     None, None),
])
def test_a_malformed_signature_is_rejected_before_the_body(clocked_server, change, code, start):
    port = clocked_server.server.port
    headers = dict(signed_headers(port, MALFORMED_BODY), **change)
    if code is None:                  # the date of the scope no longer matches; the algorithm is checked first
        date = headers["X-Amz-Date"][:8]
        headers["Authorization"] = headers["Authorization"].replace("20240101", date)
        code, start = "IncompleteSignatureException", "Unsupported AWS 'algorithm': 'AWS4-HMAC-MD5'"
    status, body = post(port, MALFORMED_BODY, headers)
    assert status == 400
    assert body["__type"] == "com.amazon.coral.service#" + code
    assert body["message"].startswith(start)


def test_the_boto3_hook_and_the_embedded_api_need_no_signature():
    from kvstore.testing import mock_dynamodb
    with mock_dynamodb() as mock:
        arn = mock.client().create_table(TableName="things", **KEYS)["TableDescription"]["TableArn"]
    assert arn == "arn:aws:dynamodb:us-east-1:123456789012:table/things"


# ------------------------------------------------------------------ the credentials file at start-up

def test_a_credentials_file_readable_by_others_is_refused(tmp_path):
    path = credentials_file(tmp_path, mode=0o644)
    with pytest.raises(ValueError) as e:
        auth.load_keys(path)
    assert "can be read or changed by other users (mode 0644)" in str(e.value)
    started = subprocess.run([sys.executable, "-m", "kvstore", "serve", "--in-memory", "--port", "0",
                              "--credentials", str(path)], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert started.returncode == 2
    assert "cannot read credentials" in started.stderr and "mode 0644" in started.stderr
    assert "listening" not in started.stderr


def test_kvstore_serve_keeps_each_account_in_its_own_directory_across_restarts(tmp_path):
    from tests.wire.test_serve import Served
    path = credentials_file(tmp_path)
    data = tmp_path / "db"
    served = Served("--data-dir", str(data), "--credentials", str(path))
    try:
        assert "5 access key(s) of 3 account(s)" in served.auth
        served.client(aws_access_key_id=BOB[0], aws_secret_access_key=BOB[1]).create_table(TableName="bobs", **KEYS)
        served.client(aws_access_key_id=ALICE[0], aws_secret_access_key=ALICE[1],
                      region_name="eu-west-1").create_table(TableName="alices", **KEYS)
    finally:
        assert served.stop() == 0
    assert os.path.isdir(directory_of(str(data), "222222222222", "us-east-1"))
    served = Served("--data-dir", str(data), "--credentials", str(path))
    try:
        bob = served.client(aws_access_key_id=BOB[0], aws_secret_access_key=BOB[1])
        alice = served.client(aws_access_key_id=ALICE[0], aws_secret_access_key=ALICE[1], region_name="eu-west-1")
        assert bob.list_tables()["TableNames"] == ["bobs"]
        assert alice.list_tables()["TableNames"] == ["alices"]
        assert served.client(aws_access_key_id=ALICE[0], aws_secret_access_key=ALICE[1]).list_tables()[
            "TableNames"] == []
    finally:
        assert served.stop() == 0


def test_the_credentials_example_of_the_security_guide_reads_as_documented(tmp_path):
    import re
    guide = open(os.path.join(ROOT, "docs", "security.md"), encoding="utf-8").read()
    text = re.search(r"```ini\n(.*?)```", guide, re.S).group(1)
    keys = auth.load_keys(credentials_file(tmp_path, text))
    assert {k.user: k.account for k in keys.values()} == {
        "orders-service": "111111111111", "analytics": "111111111111", "billing-job": "111111111111"}
    billing = keys["AKIABILLING000000001"].policy
    assert billing.allows("dynamodb:UpdateItem", "arn:aws:dynamodb:us-east-1:111111111111:table/invoices-2026")
    assert not billing.allows("dynamodb:UpdateItem", "arn:aws:dynamodb:us-east-1:111111111111:table/orders")
    assert not billing.allows("dynamodb:DeleteItem", "arn:aws:dynamodb:us-east-1:111111111111:table/invoices")
    analytics = keys["AKIAANALYTICS0000001"].policy
    assert analytics.allows("dynamodb:query", "arn:aws:dynamodb:us-east-1:111111111111:table/orders")
    assert not analytics.allows("dynamodb:PutItem", "arn:aws:dynamodb:us-east-1:111111111111:table/orders")
    assert keys["AKIAORDERS0000000001"].policy is None


def test_a_point_in_time_restore_needs_the_action_on_source_and_target(accounts_server):
    alice, orders = client(accounts_server, ALICE), client(accounts_server, ORDERS)
    alice.create_table(TableName="orders-eu", **KEYS)
    alice.update_continuous_backups(TableName="orders-eu",
                                    PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
    code, message = error_of(lambda: orders.restore_table_to_point_in_time(
        SourceTableName="orders-eu", TargetTableName="orders-copy", UseLatestRestorableTime=True))
    assert code == "AccessDeniedException"
    assert "dynamodb:RestoreTableToPointInTime on resource: arn:aws:dynamodb:us-east-1:111111111111:table/orders-eu " \
        in message
    assert error_of(lambda: client(accounts_server, READER).update_continuous_backups(
        TableName="orders-eu", PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": False}))[0] == \
        "AccessDeniedException"
    assert alice.list_tables()["TableNames"] == ["orders-eu"]


# ------------------------------------------------------------------ permissions, in DynamoDB's order

@pytest.mark.parametrize("body, allowed, denied", [
    # a member of the wrong JSON type: the body cannot be read, so there is nothing to authorize
    ({"TableName": "orders", "Item": {"pk": {"S": "a"}}, "ReturnValues": 5},
     "SerializationException", "SerializationException"),
    ({"TableName": "orders", "Item": {"pk": {"S": 7}}}, "SerializationException", "SerializationException"),
    ({"TableName": "orders", "Item": ["pk"]}, "SerializationException", "SerializationException"),
    # readable but invalid: permissions first, a denied key learns nothing of the values
    ({"TableName": "orders", "Item": {"pk": {"N": "abc"}}}, "ValidationException", "AccessDeniedException"),
    ({"TableName": "orders", "Item": {"pk": {"S": "a"}}, "ReturnValues": "ALL_NEW"},
     "ValidationException", "AccessDeniedException"),
    ({"TableName": "orders", "Item": {"pk": {"S": "a"}}, "ConditionExpression": "a = "},
     "ValidationException", "AccessDeniedException"),
    ({"TableName": "orders", "Item": {"pk": {"SS": []}}}, "ValidationException", "AccessDeniedException"),
    ({"TableName": "missing", "Item": {"pk": {"S": "a"}}}, "ResourceNotFoundException", "AccessDeniedException"),
])
def test_serialization_errors_come_before_permissions_and_validation_errors_after(accounts_server, body,
                                                                                  allowed, denied):
    """DynamoDB reads the body first (SerializationException for JSON of the wrong type at any
    member), then checks permissions (AccessDeniedException), then validates: a read-only key sending
    a PutItem that is both denied and invalid is told it is denied, unless the body cannot be read."""
    client(accounts_server, ALICE).create_table(TableName="orders", **KEYS)
    port = accounts_server.server.port
    raw = json.dumps(body).encode()
    for key, expected in ((ALICE, allowed), (READER, denied)):
        status, answer = post(port, raw, signed_headers(port, raw, key=key, target="DynamoDB_20120810.PutItem"))
        assert (status, answer["__type"].rpartition("#")[2]) == (400, expected), (key, answer)
    assert client(accounts_server, ALICE).scan(TableName="orders")["Count"] == 0


# ------------------------------------------------------------------ ARNs of another account or region

def test_another_accounts_arns_are_denied_not_looked_up_by_name(accounts_server):
    """Bob (account 222222222222) names Alice's table and backup by ARN: IAM denies a call on another
    account's resource without a resource-based policy there, whatever Bob's own policy allows, so
    every backup and restore action is AccessDeniedException; Bob's own table of the same name is
    neither read nor restored from."""
    alice, bob = client(accounts_server, ALICE), client(accounts_server, BOB)
    for owner in (alice, bob):
        owner.create_table(TableName="orders", **KEYS)
        owner.update_continuous_backups(TableName="orders",
                                        PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
    alice.put_item(TableName="orders", Item={"pk": {"S": "alice's"}})
    bob.put_item(TableName="orders", Item={"pk": {"S": "bob's"}})
    table = "arn:aws:dynamodb:us-east-1:111111111111:table/orders"
    backup = alice.create_backup(TableName="orders", BackupName="nightly")["BackupDetails"]["BackupArn"]
    calls = {
        "DescribeBackup": (lambda: bob.describe_backup(BackupArn=backup), backup),
        "DeleteBackup": (lambda: bob.delete_backup(BackupArn=backup), backup),
        "RestoreTableFromBackup": (lambda: bob.restore_table_from_backup(TargetTableName="stolen",
                                                                         BackupArn=backup), backup),
        "RestoreTableToPointInTime": (lambda: bob.restore_table_to_point_in_time(
            SourceTableArn=table, TargetTableName="stolen", UseLatestRestorableTime=True), table),
        "CreateBackup": (lambda: bob.create_backup(TableName=table, BackupName="nightly"), table),
        "ListBackups": (lambda: bob.list_backups(TableName=table), table),
        "DescribeContinuousBackups": (lambda: bob.describe_continuous_backups(TableName=table), table),
        "UpdateContinuousBackups": (lambda: bob.update_continuous_backups(
            TableName=table, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": False}), table),
        "ListTagsOfResource": (lambda: bob.list_tags_of_resource(ResourceArn=table), table),
    }
    for action, (call, resource) in calls.items():
        assert error_of(call) == (
            "AccessDeniedException",
            f"User: arn:aws:iam::222222222222:user/bob is not authorized to perform: dynamodb:{action} on "
            f"resource: {resource} because no resource-based policy allows the dynamodb:{action} action"), action
    assert bob.list_tables()["TableNames"] == ["orders"]
    assert bob.list_backups()["BackupSummaries"] == []
    assert [i["pk"]["S"] for i in bob.scan(TableName="orders")["Items"]] == ["bob's"]
    assert alice.describe_backup(BackupArn=backup)["BackupDescription"]["BackupDetails"]["BackupStatus"] == \
        "AVAILABLE"
    assert alice.describe_continuous_backups(TableName="orders")["ContinuousBackupsDescription"][
        "PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"


def test_another_regions_table_arn_is_not_resolved_by_name_in_this_region(accounts_server):
    """Alice's us-east-1 table named by ARN in eu-west-1, where she has a table of the same name: the
    table is not in this region's database, so the action answers its not-found error for that ARN
    (DynamoDB can restore a point in time across regions: kvstore cannot, docs/compatibility.md)."""
    east, west = client(accounts_server, ALICE), client(accounts_server, ALICE, "eu-west-1")
    for c in (east, west):
        c.create_table(TableName="orders", **KEYS)
        c.update_continuous_backups(TableName="orders",
                                    PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
    table = "arn:aws:dynamodb:us-east-1:111111111111:table/orders"
    assert error_of(lambda: west.restore_table_to_point_in_time(
        SourceTableArn=table, TargetTableName="copy", UseLatestRestorableTime=True)) == \
        ("TableNotFoundException", f"Table not found: {table}")
    assert error_of(lambda: west.create_backup(TableName=table, BackupName="nightly")) == \
        ("TableNotFoundException", f"Table not found: {table}")
    assert error_of(lambda: west.describe_continuous_backups(TableName=table))[0] == "TableNotFoundException"
    assert west.list_backups(TableName=table)["BackupSummaries"] == []
    backup = east.create_backup(TableName="orders", BackupName="nightly")["BackupDetails"]["BackupArn"]
    assert error_of(lambda: west.restore_table_from_backup(TargetTableName="copy", BackupArn=backup)) == \
        ("BackupNotFoundException", f"Backup not found: {backup}")
    assert west.list_tables()["TableNames"] == ["orders"]
