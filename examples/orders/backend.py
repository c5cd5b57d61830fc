"""Connections, transactions and retries: what every part of the store shares, on any of three backends.

The store is written against boto3's documented DynamoDB resource API and
nothing else, so the same code runs on three backends chosen by configuration
(``config.connect``): kvstore embedded (``kvstore.open(path)``), kvstore over
the wire (``kvstore serve`` through boto3) and DynamoDB through boto3.  The
rules that make that work:

* Expressions are strings with ``#name`` / ``:value`` placeholders, the one
  form every DynamoDB-compatible API accepts, in a Table call or inside a
  transaction.
* Errors are told apart by ``e.response["Error"]["Code"]`` on the
  ``ClientError`` of ``resource.meta.client.exceptions``: botocore's on boto3,
  kvstore's on kvstore, the same shape.
* TransactWriteItems is the one call the resource lacks: :func:`transaction_writer`
  bridges it (below, and the README says why).
* boto3 resources are not thread-safe, so each thread holds its own resource
  from the ``connect`` callable (handed on to a later thread when it ends);
  kvstore's database is thread-safe and ``connect`` returns the same one.

:class:`Backend` is the base of every part of :class:`~examples.orders.store.Store`:
this thread's connection, reads of one item, transactions that report their
cancellation reasons, and the retry loop for lost races.
"""

import random
import threading
import time
import weakref
from datetime import datetime, timezone

from examples.orders import keys
from examples.orders.errors import Busy, NotFound, VersionConflict
from examples.orders.items import to_int
from examples.orders.schema import DEFAULT_TABLE

_RETRYABLE_REASONS = frozenset({"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"})
_RETRYABLE_CODES = frozenset({"TransactionConflictException", "ThrottlingException",
                              "ProvisionedThroughputExceededException", "RequestLimitExceeded",
                              "InternalServerError", "ServiceUnavailable"})


class Retry(Exception):
    """Lost a race (a condition on a value that just changed, a transaction conflict): try again."""


def transaction_writer(resource):
    """``transact_write_items(TransactItems=[...])`` with native values, for either kind of resource.

    boto3's DynamoDB resource has no transaction method, kvstore's database
    has one.  boto3's way in is the resource's own client,
    ``resource.meta.client``: the resource registers its serializer on that
    client, so the request takes native values there too (a plain
    ``boto3.client("dynamodb")`` would want ``{"N": "3"}``).  What boto3 does
    not convert is the body of an error: the ``Item`` of each cancellation
    reason comes back in DynamoDB JSON, so it is deserialized here, and
    callers read ``reason["Item"]["stock"]`` as a number on every backend.
    Chosen by what the resource can do, once per resource: the only place in
    the data layer that knows two kinds exist.
    """
    native = getattr(resource, "transact_write_items", None)
    if native is not None:
        return native

    from boto3.dynamodb.types import TypeDeserializer
    deserialize = TypeDeserializer().deserialize
    client = resource.meta.client

    def transact_write_items(**kwargs):
        try:
            return client.transact_write_items(**kwargs)
        except client.exceptions.TransactionCanceledException as e:
            for reason in e.response.get("CancellationReasons") or ():
                if "Item" in reason:
                    reason["Item"] = {name: deserialize(value) for name, value in reason["Item"].items()}
            raise

    return transact_write_items


class Connection:
    """A resource, its table and its transaction writer: used by one thread at a time."""

    def __init__(self, resource, table_name):
        self.resource = resource
        self.table = resource.Table(table_name)
        self.transact = transaction_writer(resource)


class Lease:
    """A thread's hold on a connection; when the thread ends, the connection goes back to the pool."""

    __slots__ = ("conn", "__weakref__")

    def __init__(self, conn):
        self.conn = conn



class Backend:
    """This thread's connection to the table and the calls every part of the store shares.

    ``resource`` is a kvstore database, a boto3 DynamoDB resource, or a
    callable returning one (called once per thread: boto3 resources must not
    be shared between threads).
    """

    def __init__(self, resource, table_name=DEFAULT_TABLE, clock=None, max_attempts=10, sleep=time.sleep):
        self._connect = resource if callable(resource) else (lambda: resource)
        self.table_name = table_name
        self._clock = clock or (lambda: datetime.now(timezone.utc))
        self._max_attempts = max_attempts
        self._sleep = sleep         # how a retry waits (tests pass a virtual clock's advance)
        self._local = threading.local()
        self._pool = []      # connections of threads that ended, for the next threads (list ops are atomic)
        self._ClientError = self._conn.resource.meta.client.exceptions.ClientError

    @property
    def _conn(self):
        """This thread's connection: made on its first use, back in the pool when the thread ends.

        Servers that start a thread per connection (Werkzeug's) would otherwise
        build a boto3 resource, tens of milliseconds, for every new thread.
        """
        lease = getattr(self._local, "lease", None)
        if lease is None:
            try:
                conn = self._pool.pop()
            except IndexError:
                conn = Connection(self._connect(), self.table_name)
            lease = self._local.lease = Lease(conn)
            weakref.finalize(lease, self._pool.append, conn)
        return lease.conn

    def ping(self):
        """A cheap read that proves the table answers (for the health endpoint)."""
        self._conn.table.get_item(Key={keys.PK: "HEALTH", keys.SK: "HEALTH"})

    def _now(self):
        return self._stamp(self._clock())

    @staticmethod
    def _stamp(moment):
        """A datetime as the store writes times: ISO 8601, UTC, milliseconds (sorts as it reads)."""
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"

    def _get(self, key, what, ident):
        item = self._conn.table.get_item(Key=key, ConsistentRead=True).get("Item")
        if item is None:
            raise NotFound(f"{what} {ident} not found")
        return item

    def _versioned_failure(self, key, what, ident, expected_version):
        """Why a ``version = :expected`` condition failed: the item is gone, or it moved on."""
        current = self._get(key, what, ident)
        return VersionConflict(f"{what} {ident} is at version {to_int(current['version'])}, not {expected_version}",
                               current_version=to_int(current["version"]))

    def _transact(self, actions):
        """None when the transaction committed, else its cancellation reasons (one per action)."""
        try:
            self._conn.transact(TransactItems=actions)
        except self._ClientError as e:
            if error_code(e) != "TransactionCanceledException":
                raise
            reasons = e.response.get("CancellationReasons") or [{"Code": "Unknown"}] * len(actions)
            if any(r.get("Code") in _RETRYABLE_REASONS for r in reasons):
                raise Retry() from None
            return reasons
        return None

    def _retrying(self, attempt):
        """Run ``attempt`` again (with jittered backoff) while it loses races; Busy when it keeps losing."""
        for n in range(self._max_attempts):
            try:
                return attempt()
            except Retry:
                pass
            except self._ClientError as e:
                if error_code(e) not in _RETRYABLE_CODES:
                    raise
            backoff(n, self._sleep)
        raise Busy("too much contention on the same items, try again")



def error_code(error):
    return error.response["Error"]["Code"]


def backoff(attempt, sleep=time.sleep):
    sleep(random.uniform(0, min(0.1, 0.002 * 2 ** attempt)))
