"""The in-process boto3 hook: DynamoDB clients created inside mock_dynamodb reach an embedded database."""

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

import kvstore
from kvstore.server.handler import RequestHandler
from kvstore.testing import kvstore_dynamodb, mock_dynamodb  # noqa: F401  (the fixture)

KEYS = dict(KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")


@pytest.fixture
def no_aws_config(monkeypatch, tmp_path):
    """No credentials, no region: what a fresh CI machine has."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_DEFAULT_REGION",
                 "AWS_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)


def test_a_client_created_inside_reaches_the_mock_database(no_aws_config):
    with mock_dynamodb() as mock:
        client = boto3.client("dynamodb")
        client.create_table(TableName="orders", **KEYS)
        assert client.list_tables()["TableNames"] == ["orders"]
        assert mock.db.engine.tables.keys() == {"orders"}


def test_the_hook_uses_the_servers_request_handler():
    with mock_dynamodb() as mock:
        assert type(mock.handler) is RequestHandler


def test_a_resource_created_inside_is_routed_too(no_aws_config):
    with mock_dynamodb():
        table = boto3.resource("dynamodb").create_table(TableName="orders", **KEYS)
        assert table.table_status == "ACTIVE"


def test_each_block_gets_a_fresh_database():
    with mock_dynamodb() as mock:
        mock.client().create_table(TableName="orders", **KEYS)
    with mock_dynamodb() as mock:
        assert mock.client().list_tables()["TableNames"] == []


def test_a_given_database_is_used_and_left_open():
    db = kvstore.open(":memory:")
    try:
        with mock_dynamodb(db) as mock:
            mock.client().create_table(TableName="orders", **KEYS)
        assert "orders" in db.engine.tables
        with mock_dynamodb(db) as mock:
            assert mock.client().list_tables()["TableNames"] == ["orders"]
    finally:
        db.close()


def test_decorator_with_parentheses_gives_each_call_a_fresh_database():
    @mock_dynamodb()
    def create_and_count():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(TableName="orders", **KEYS)
        return len(client.list_tables()["TableNames"])

    assert create_and_count() == 1
    assert create_and_count() == 1


def test_bare_decorator():
    @mock_dynamodb
    def tables():
        return boto3.client("dynamodb", region_name="us-east-1").list_tables()["TableNames"]

    assert tables() == []


def test_nested_blocks_route_new_clients_to_the_innermost():
    with mock_dynamodb() as outer:
        outer.client().create_table(TableName="outer", **KEYS)
        with mock_dynamodb() as inner:
            assert boto3.client("dynamodb", region_name="us-east-1").list_tables()["TableNames"] == []
            inner.client().create_table(TableName="inner", **KEYS)
        assert boto3.client("dynamodb", region_name="us-east-1").list_tables()["TableNames"] == ["outer"]


def test_clients_stop_being_routed_when_the_block_ends():
    with mock_dynamodb():
        client = boto3.client("dynamodb", region_name="us-east-1", endpoint_url="http://127.0.0.1:9",
                              config=boto3.session.Config(retries={"max_attempts": 1}, connect_timeout=1))
        client.list_tables()
    with pytest.raises(EndpointConnectionError):
        client.list_tables()


def test_other_services_are_not_routed():
    from botocore.awsrequest import AWSRequest
    with mock_dynamodb():
        sqs = boto3.client("sqs", region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b")
        request = AWSRequest(method="POST", url="https://sqs.us-east-1.amazonaws.com/", data=b"").prepare()
        responses = sqs.meta.events.emit("before-send.sqs.ListQueues", request=request)
        assert all(response is None for _, response in responses)


def test_errors_arrive_as_botocore_client_errors():
    with mock_dynamodb() as mock:
        with pytest.raises(ClientError) as e:
            mock.client().describe_table(TableName="missing")
    assert e.value.response["Error"] == {"Code": "ResourceNotFoundException",
                                         "Message": "Requested resource not found: Table: missing not found"}
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_items_round_trip_through_the_hook():
    from decimal import Decimal
    with mock_dynamodb() as mock:
        table = mock.resource().create_table(TableName="orders", **KEYS)
        table.put_item(Item={"pk": "a", "n": Decimal("1.5"), "tags": {"x", "y"}, "raw": b"\x00"})
        item = table.get_item(Key={"pk": "a"})["Item"]
    assert item["n"] == Decimal("1.5") and item["tags"] == {"x", "y"} and item["raw"].value == b"\x00"


def test_conditional_failure_carries_the_old_item():
    with mock_dynamodb() as mock:
        client = mock.client()
        client.create_table(TableName="orders", **KEYS)
        client.put_item(TableName="orders", Item={"pk": {"S": "a"}, "v": {"N": "1"}})
        with pytest.raises(client.exceptions.ConditionalCheckFailedException) as e:
            client.put_item(TableName="orders", Item={"pk": {"S": "a"}}, ConditionExpression="attribute_not_exists(pk)",
                            ReturnValuesOnConditionCheckFailure="ALL_OLD")
    assert e.value.response["Item"] == {"pk": {"S": "a"}, "v": {"N": "1"}}


def test_the_pytest_fixture(kvstore_dynamodb):  # noqa: F811
    kvstore_dynamodb.client().create_table(TableName="orders", **KEYS)
    assert boto3.client("dynamodb", region_name="us-east-1").list_tables()["TableNames"] == ["orders"]


def test_client_outside_an_active_mock_is_refused():
    mock = mock_dynamodb()
    with pytest.raises(RuntimeError):
        mock.client()


def test_streams_clients_are_routed_too():
    with mock_dynamodb():
        streams = boto3.client("dynamodbstreams", region_name="us-east-1")
        try:
            answer = streams.list_streams()
        except ClientError as e:                     # routed, before ListStreams is implemented
            assert e.response["Error"]["Code"] == "UnknownOperationException"
        else:
            assert answer["Streams"] == []
