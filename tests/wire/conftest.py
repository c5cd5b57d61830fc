"""Fixtures of the wire tests: one server on a random loopback port for the session."""

import http.client
import json
import uuid

import pytest

import kvstore
from kvstore.server.app import ServerThread
from kvstore.server.handler import RequestHandler

DUMMY_ENV = {"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret",
             "AWS_DEFAULT_REGION": "us-east-1"}


@pytest.fixture(scope="session")
def wire_db():
    db = kvstore.open(":memory:")
    yield db
    db.close()


@pytest.fixture(scope="session")
def server(wire_db):
    """A running server (thread, own event loop) on 127.0.0.1:<random port>."""
    with ServerThread(RequestHandler(wire_db.engine)) as running:
        yield running


@pytest.fixture
def client(server):
    import boto3
    return boto3.client("dynamodb", endpoint_url=server.url, region_name="us-east-1",
                        aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret")


@pytest.fixture
def resource(server):
    import boto3
    return boto3.resource("dynamodb", endpoint_url=server.url, region_name="us-east-1",
                          aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret")


@pytest.fixture
def table_name():
    return "t-" + uuid.uuid4().hex[:12]


@pytest.fixture
def make_table():
    return create_table


def create_table(client, name, sort_key=True):
    """A PAY_PER_REQUEST table with key pk (S) [and sk (N)]."""
    keys = [{"AttributeName": "pk", "KeyType": "HASH"}]
    attrs = [{"AttributeName": "pk", "AttributeType": "S"}]
    if sort_key:
        keys.append({"AttributeName": "sk", "KeyType": "RANGE"})
        attrs.append({"AttributeName": "sk", "AttributeType": "N"})
    client.create_table(TableName=name, KeySchema=keys, AttributeDefinitions=attrs, BillingMode="PAY_PER_REQUEST")
    return name


class RawClient:
    """A keep-alive HTTP/1.1 connection that sends exactly the bytes a test gives."""

    def __init__(self, server):
        self.conn = http.client.HTTPConnection("127.0.0.1", server.server.port, timeout=10)

    def request(self, body=b"", target="DynamoDB_20120810.ListTables", method="POST",
                content_type="application/x-amz-json-1.0", headers=None, path="/"):
        h = {}
        if target is not None:
            h["X-Amz-Target"] = target
        if content_type is not None:
            h["Content-Type"] = content_type
        h.update(headers or {})
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        self.conn.request(method, path, body=body, headers=h)
        response = self.conn.getresponse()
        data = response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, data

    def close(self):
        self.conn.close()


@pytest.fixture
def raw(server):
    c = RawClient(server)
    yield c
    c.close()
