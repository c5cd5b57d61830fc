"""Run boto3 code against an embedded kvstore database, in process, with no socket.

    from kvstore.testing import mock_dynamodb

    with mock_dynamodb():                        # a fresh in-memory database
        table = boto3.resource("dynamodb").create_table(...)
        ...

    @mock_dynamodb()                             # or as a decorator: a fresh database per call
    def test_orders(): ...

    with mock_dynamodb(kvstore.open("data")) as mock:   # or a database you opened (left open)
        mock.client().list_tables()

Every boto3 / botocore ``dynamodb`` and ``dynamodbstreams`` client (and so
every resource) created inside the block sends its requests to the database
through botocore's ``before-send`` event, which receives the signed HTTP
request and returns an HTTP response.  That request goes through the same
:class:`kvstore.server.handler.RequestHandler` as the HTTP server's, so what
boto3 sees here is exactly what it sees over the wire, minus the socket.

Clients inside the block need no credentials and no region: unless given,
they get dummy credentials and ``us-east-1``, and requests are not signed.
Other services are untouched.  Clients keep routing to the database only while
the block is open.

For pytest, ``from kvstore.testing import kvstore_dynamodb`` in a conftest
gives a fixture yielding an active :class:`mock_dynamodb`.

Time under the test's control: ``mock_dynamodb(clock=ManualClock(...))``
opens its database on that clock, and ``mock.advance(seconds)`` moves it and
runs the background work then due (TTL deletes, ...) before returning::

    clock = ManualClock(start=1_700_000_000)
    with mock_dynamodb(clock=clock) as mock:
        ...                                      # put an item with expires_at = 1_700_000_060
        mock.advance(3600)                       # an hour later, in microseconds: the item is gone

See docs/testing.md.

Unhappy paths (docs/testing-failures.md): ``mock_dynamodb(enforce_capacity=True)``
throttles past provisioned capacity, ``mock_dynamodb(contention=True)`` makes
concurrent transactions conflict, and faults are injected with

    with kvstore.testing.inject(FaultRule("InternalServerError", operations="PutItem", times=2)):
        ...                                  # the innermost active mock's database

or ``mock.faults.add(...)`` / ``db.faults.inject(...)``.
"""

import functools
import inspect
import threading
from urllib.parse import urlsplit

from kvstore.clock import ManualClock, SystemClock
from kvstore.faults import FaultRule

__all__ = ["mock_dynamodb", "kvstore_dynamodb", "SERVICES", "ManualClock", "SystemClock", "FaultRule", "inject"]

#: botocore service names routed to kvstore
SERVICES = frozenset({"dynamodb", "dynamodbstreams"})
DEFAULT_REGION = "us-east-1"
DUMMY_KEY = "kvstore"

_lock = threading.RLock()
_active = []                 # mocks in the order they were entered; the last one wins
_original_create_client = None


class _RawBody:
    """What botocore's AWSResponse reads a body from (``raw.stream()``)."""

    def __init__(self, body):
        self._body = body

    def stream(self, **kwargs):
        yield self._body

    def read(self, *args, **kwargs):
        return self._body


def _patched_create_client(self, service_name, *args, **kwargs):
    mock = _active[-1] if _active else None
    if mock is None or service_name not in SERVICES:
        return _original_create_client(self, service_name, *args, **kwargs)
    bound = _SIGNATURE.bind(self, service_name, *args, **kwargs)
    arguments = bound.arguments
    if arguments.get("region_name") is None and not self.get_config_variable("region"):
        arguments["region_name"] = DEFAULT_REGION
    if arguments.get("aws_access_key_id") is None and arguments.get("aws_secret_access_key") is None:
        # explicit keys skip the credential chain (files, environment, instance metadata)
        arguments["aws_access_key_id"] = DUMMY_KEY
        arguments["aws_secret_access_key"] = DUMMY_KEY
    client = _original_create_client(*bound.args, **bound.kwargs)
    mock._attach(client)
    return client


_SIGNATURE = None


def _install():
    global _original_create_client, _SIGNATURE
    import botocore.session
    if _original_create_client is None:
        _original_create_client = botocore.session.Session.create_client
        _SIGNATURE = inspect.signature(_original_create_client)
        botocore.session.Session.create_client = _patched_create_client


def _uninstall():
    global _original_create_client
    import botocore.session
    if _original_create_client is not None:
        botocore.session.Session.create_client = _original_create_client
        _original_create_client = None


class mock_dynamodb:  # noqa: N801 (a context manager named like a function, as moto's are)
    """Route boto3 DynamoDB clients created inside to an embedded database.

    ``db`` is a database from :func:`kvstore.open`; without one, each entry
    opens a fresh ``":memory:"`` database (with ``clock`` and any other
    ``kvstore.open`` options) and closes it on exit.  Works as a context
    manager (``with mock_dynamodb() as mock``) and as a decorator
    (``@mock_dynamodb()`` or ``@mock_dynamodb``).
    """

    def __init__(self, db=None, *, clock=None, enforce_capacity=False, **options):
        if enforce_capacity:            # kvstore.open(capacity="enforce"); contention=, faults= pass as they are
            options["capacity"] = "enforce"
        if db is not None and (clock is not None or options):
            raise TypeError("mock_dynamodb(db) uses that database's clock and options: open it with them")
        self._given_db = db
        self._options = dict(options, clock=clock) if clock is not None else dict(options)
        self.db = None
        self.handler = None
        self._owns_db = False

    def __new__(cls, db=None, **kwargs):
        if callable(db) and not hasattr(db, "engine") and not kwargs:       # bare @mock_dynamodb
            return cls()(db)
        return super().__new__(cls)

    # -- context manager
    def start(self):
        from kvstore.server.handler import RequestHandler
        if self.db is not None:
            raise RuntimeError("this mock_dynamodb is already active")
        if self._given_db is None:
            import kvstore
            self.db = kvstore.open(":memory:", **self._options)
            self._owns_db = True
        else:
            self.db = self._given_db
        self.handler = RequestHandler(self.db.engine)
        with _lock:
            _install()
            _active.append(self)
        return self

    def stop(self):
        with _lock:
            if self in _active:
                _active.remove(self)
            if not _active:
                _uninstall()
        if self._owns_db and self.db is not None:
            self.db.close()
        self.db = None
        self._owns_db = False

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- time
    @property
    def clock(self):
        """The database's clock (a :class:`ManualClock` when one was given)."""
        self._check_active()
        return self.db.clock

    def advance(self, seconds):
        """Move the (manual) clock ``seconds`` forward and run the background work then due.

        When it returns, every TTL sweep (and other periodic job) due by the
        new time has run: no sleeping, no polling.
        """
        self._check_active()
        clock = self.db.clock
        if not hasattr(clock, "advance"):
            raise TypeError("advance() needs a clock that can be moved: mock_dynamodb(clock=ManualClock())")
        clock.advance(seconds)
        return self.db.run_pending()

    def run_pending(self):
        """Run the background work due now (see :meth:`kvstore.Database.run_pending`)."""
        self._check_active()
        return self.db.run_pending()

    # -- decorator
    def __call__(self, func):
        given, options = self._given_db, self._options

        if inspect.isclass(func):
            raise TypeError("mock_dynamodb decorates functions, not classes")

        options = self._options

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with mock_dynamodb(given, **options):
                return func(*args, **kwargs)
        return wrapper

    # -- conveniences
    def client(self, service_name="dynamodb", **kwargs):
        """A boto3 client routed to this mock's database."""
        import boto3
        self._check_active()
        return boto3.client(service_name, **kwargs)

    def resource(self, **kwargs):
        """A boto3 DynamoDB resource routed to this mock's database."""
        import boto3
        self._check_active()
        return boto3.resource("dynamodb", **kwargs)

    @property
    def faults(self):
        """The fault rules of this mock's database (:class:`kvstore.faults.FaultSet`)."""
        self._check_active()
        return self.db.faults

    def _check_active(self):
        if self.db is None:
            raise RuntimeError("mock_dynamodb is not active: use it in a with block or as a decorator")

    # -- the botocore side
    def _attach(self, client):
        events = client.meta.events            # a copy per client: nothing leaks to other clients
        events.register("choose-signer", _unsigned)
        events.register("before-send", functools.partial(_send, self))


def inject(*rules, db=None):
    """Context manager: ``rules`` (:class:`FaultRule`) apply inside the block only.

    ``db`` is a database from :func:`kvstore.open` or a :class:`mock_dynamodb`;
    by default the innermost active mock's database.  The block yields the rule
    (or the rules) so a test can read ``rule.fired`` afterwards.
    """
    if db is None:
        with _lock:
            if not _active:
                raise RuntimeError("kvstore.testing.inject needs db= or an active mock_dynamodb")
            db = _active[-1].db
    elif isinstance(db, mock_dynamodb):
        db._check_active()
        db = db.db
    return db.faults.inject(*rules)


def _unsigned(**kwargs):
    from botocore import UNSIGNED
    return UNSIGNED


def _send(mock, request, **kwargs):
    """botocore ``before-send``: answer the prepared request from the mock's database."""
    if mock.db is None:            # the block has ended: let the request go where it was going
        return None
    from botocore.awsrequest import AWSResponse
    parts = urlsplit(request.url)
    target = (parts.path or "/") + ("?" + parts.query if parts.query else "")
    headers = {}
    for name, value in request.headers.items():
        if isinstance(value, bytes):
            value = value.decode("latin-1")
        key = name.lower()
        headers[key] = value if key not in headers else headers[key] + "," + value
    body = request.body
    if body is None:
        body = b""
    elif hasattr(body, "read"):
        body = body.read()
    if isinstance(body, str):
        body = body.encode("utf-8")
    response = mock.handler(request.method, target, headers, bytes(body))
    return AWSResponse(request.url, response.status, dict(response.headers), _RawBody(response.body))


try:                                            # the pytest fixture, when pytest is there
    import pytest as _pytest
except ImportError:                             # pragma: no cover
    _pytest = None

if _pytest is not None:
    @_pytest.fixture
    def kvstore_dynamodb():
        """An active :class:`mock_dynamodb` on a fresh in-memory database."""
        with mock_dynamodb() as mock:
            yield mock
