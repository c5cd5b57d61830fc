"""Shared fixtures.  Keep this small and additive: each layer's own fixtures live in its folder.

``dynamodb`` runs a test through every face of kvstore, so behaviour tests
written once for the Python API also check the wire and the boto3 hook:

    def test_put_then_get(dynamodb):
        table = dynamodb.create_table(TableName="orders", ...)
        table.put_item(Item={"pk": "a"})
        assert table.get_item(Key={"pk": "a"})["Item"] == {"pk": "a"}

* ``embedded``: a ``kvstore.open(":memory:")`` database (the Python API);
* ``hook``: ``boto3.resource("dynamodb")`` inside ``kvstore.testing.mock_dynamodb``;
* ``wire``: ``boto3.resource("dynamodb", endpoint_url=...)`` against the HTTP server.

Each test gets a fresh, empty database on every face: ``face_db``, the
``kvstore.open`` database behind the face.  ``face`` is the face's
name; ``client_errors`` the exception classes errors arrive as on any face
(all carry ``.response["Error"]["Code"]``).
"""

import pytest

FACES = ("embedded", "hook", "wire")


@pytest.fixture(scope="session")
def _wire_face_server():
    import kvstore
    from kvstore.server.app import ServerThread
    from kvstore.server.auth import AnyKey
    from kvstore.server.handler import RequestHandler
    placeholder = kvstore.open(":memory:")
    with ServerThread(RequestHandler(placeholder.engine, auth=AnyKey())) as running:
        yield running
    placeholder.close()


@pytest.fixture(params=FACES)
def face(request):
    return request.param


@pytest.fixture
def face_db():
    """The kvstore database behind ``dynamodb`` on every face (a test module may override it,
    for example to open it with a manual clock)."""
    import kvstore
    with kvstore.open(":memory:") as db:
        yield db


@pytest.fixture
def dynamodb(face, face_db, request):
    if face == "embedded":
        yield face_db
        return
    import boto3
    from botocore.config import Config
    # botocore's own parameter checks would answer before the service: switch them off so the
    # request reaches kvstore, as it does from SDKs that do not validate (JavaScript v3, Go, Rust).
    config = Config(parameter_validation=False, retries={"max_attempts": 1})
    if face == "hook":
        from kvstore.testing import mock_dynamodb
        with mock_dynamodb(face_db):
            yield boto3.resource("dynamodb", region_name="us-east-1", config=config)
        return
    from kvstore.server.auth import AnyKey
    from kvstore.server.handler import RequestHandler
    running = request.getfixturevalue("_wire_face_server")
    # a fresh database per test, same server; signatures checked as ``kvstore serve`` checks them by default
    running.server.handler = RequestHandler(face_db.engine, auth=AnyKey())
    yield boto3.resource("dynamodb", endpoint_url=running.url, region_name="us-east-1", config=config,
                         aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret")


@pytest.fixture
def client_errors():
    import botocore.exceptions

    import kvstore.errors
    return (kvstore.errors.ClientError, botocore.exceptions.ClientError)


@pytest.fixture
def dynamodbstreams(dynamodb, face, request):
    """A DynamoDB Streams client on the same face and database as ``dynamodb``.

    ``embedded``: ``db.client("dynamodbstreams")``; ``hook``: ``boto3.client("dynamodbstreams")`` inside the
    mock; ``wire``: the same client against the server.  All three answer in boto3's low-level shape.
    """
    if face == "embedded":
        return dynamodb.client("dynamodbstreams")
    import boto3
    from botocore.config import Config
    config = Config(parameter_validation=False, retries={"max_attempts": 1})
    if face == "hook":
        return boto3.client("dynamodbstreams", region_name="us-east-1", config=config)
    running = request.getfixturevalue("_wire_face_server")
    return boto3.client("dynamodbstreams", endpoint_url=running.url, region_name="us-east-1", config=config,
                        aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret")


@pytest.fixture
def dynamodb_with(face, request):
    """Factory: ``resource, db = dynamodb_with(**options)`` opens ``kvstore.open(":memory:", **options)``
    and reaches it through this test's face (``db`` is the database itself, for its clock and faults).

    ``retries`` (a botocore ``retries`` config, default a single attempt) sets how boto3 faces retry.
    """
    import contextlib

    import kvstore
    stack = contextlib.ExitStack()

    def open_on_face(retries=None, **options):
        db = stack.enter_context(kvstore.open(":memory:", **options))
        if face == "embedded":
            return db, db
        import boto3
        from botocore.config import Config
        config = Config(parameter_validation=False, retries=retries or {"total_max_attempts": 1})
        if face == "hook":
            from kvstore.testing import mock_dynamodb
            stack.enter_context(mock_dynamodb(db))
            return boto3.resource("dynamodb", region_name="us-east-1", config=config), db
        from kvstore.server.auth import AnyKey
        from kvstore.server.handler import RequestHandler
        running = request.getfixturevalue("_wire_face_server")
        running.server.handler = RequestHandler(db.engine, auth=AnyKey())
        return boto3.resource("dynamodb", endpoint_url=running.url, region_name="us-east-1", config=config,
                              aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret"), db

    with stack:
        yield open_on_face


class _InternalErrors:
    """A logging handler that keeps what the server logs as an unexpected internal error."""

    def __init__(self):
        import logging
        self.records = []
        self.handler = logging.Handler(logging.ERROR)
        self.handler.emit = self._keep

    def _keep(self, record):
        # the request path (app, handler) logs only failures; kvstore/server/main.py's ERROR
        # lines are refused command lines (``kvstore serve --backup-plan bad``), not crashes
        if record.exc_info or record.module != "main":
            self.records.append(record)


@pytest.fixture(autouse=True)
def _no_internal_errors():
    """Fail any test during which the server answered an unexpected internal error (a 500 with a traceback).

    The handler logs such an error on ``kvstore.server`` with its traceback
    before answering 500: any such line means some input reached a crash.
    """
    import logging
    watch = _InternalErrors()
    logger = logging.getLogger("kvstore.server")
    logger.addHandler(watch.handler)
    try:
        yield
    finally:
        logger.removeHandler(watch.handler)
    if watch.records:
        first = watch.records[0]
        text = logging.Formatter().format(first)
        pytest.fail(f"{len(watch.records)} internal error(s) logged by kvstore.server; the first:\n{text}")
