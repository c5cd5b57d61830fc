"""The one request handler of the wire face: headers + body bytes -> status + headers + body bytes.

The HTTP server (``kvstore.server.app``) and the in-process boto3 hook
(``kvstore.testing``) both call :class:`RequestHandler`, so what a client sees
cannot differ between them.  The handler does, in DynamoDB's order:

1. body size (413), method and Content-Type (404 ``<UnknownOperationException/>``),
   ``X-Amz-Target`` (UnknownOperationException);
2. SigV4 (``kvstore.server.auth``, when the handler has an ``auth``): the
   signature's form and time from the headers alone, then, with credentials,
   the key and the signature over the bytes as sent; the caller's account and
   region choose its database (``kvstore.server.accounts``);
3. ``Content-Encoding`` gzip / deflate (corrupt, unsupported or inflating past
   16 MB -> 500 InternalServerError, as DynamoDB answers);
4. JSON parsing and the JSON kinds of every member (SerializationException),
   then the key's permissions (``kvstore.server.policy``: AccessDeniedException),
   then everything that is a ValidationException (attribute values to native in
   ``wire.decode_request``, a lone surrogate in any other string, then the
   operation's own checks);
5. the operation's ``run``; the native response or error back to JSON,
   with ``x-amzn-RequestId`` and ``x-amz-crc32``.

The usual GetItem (``TableName`` and a valid ``Key``, nothing watching the
database) takes steps 4 and 5 in one (``kvstore.server.get_item_path``), and so
does the usual PutItem (``TableName`` and a valid ``Item``: ``kvstore.server.put_item_path``).

``RequestHandler.answer()`` gives ``(status, content type, body)``; the HTTP
front renders the status line and headers from it in one step
(``kvstore.server.app.Server.render``, which adds the HTTP layer's own: Date,
CORS, Content-Encoding), the hook calls the handler for a :class:`Response`
with the same headers as a list (:func:`response_of`).
"""

import itertools
import logging
import os
import zlib
from typing import NamedTuple

from kvstore import limits
from kvstore.errors import (
    DynamoDBError, InternalServerError, SerializationException, UnknownOperationException, ValidationException,
)
from kvstore.operations import OPERATIONS, run_operation
from kvstore.server import get_item_path, put_item_path, wire
from kvstore.server.policy import ARN_ACTIONS, authorize, check_accounts
from kvstore.types import holds_lone_surrogate, lone_surrogate_error

__all__ = ["RequestHandler", "Response", "response_of", "HEALTH_BODY"]

log = logging.getLogger("kvstore.server")

JSON_TYPES = ("application/x-amz-json-1.0", "application/json")
CONTENT_TYPE = "application/x-amz-json-1.0"
#: Prometheus' text exposition format
METRICS_TYPE = "text/plain; version=0.0.4; charset=utf-8"
HEALTH_BODY = f"healthy: dynamodb.{limits.REGION}.amazonaws.com ".encode()


class Response(NamedTuple):
    status: int
    headers: list          # [(name, value)], str
    body: bytes


# What an answer is before it has headers: the HTTP front renders its head in one
# step (app.Server.render), the boto3 hook takes a Response (response_of).
#   (status, content type, body bytes)

# x-amzn-RequestId: a random prefix per process (32 hex digits) and a 20-digit counter:
# unique, and cheaper than random bytes or a format spec per request.
_ID_PREFIX = os.urandom(16).hex().upper()
_id_counter = itertools.count(10 ** 19)
_crc32 = zlib.crc32


def request_id():
    """52 upper-case alphanumerics, like DynamoDB's ``x-amzn-RequestId``."""
    return f"{_ID_PREFIX}{next(_id_counter)}"


def response_of(answer):
    """The :class:`Response` of an answer, with DynamoDB's headers (type, length, request id, crc32)."""
    status, content_type, body = answer
    return Response(status, [
        ("Content-Type", content_type),
        ("Content-Length", str(len(body))),
        ("x-amzn-RequestId", request_id()),
        ("x-amz-crc32", str(_crc32(body))),
    ], body)


def error_answer(error):
    return (error.status, CONTENT_TYPE, wire.dumps(wire.error_body(error)))


def error_response(error):
    return response_of(error_answer(error))


_NOT_FOUND_BODY = b"<UnknownOperationException/>\n"
_TOO_LARGE_BODY = b'{"__type":"com.amazon.coral.service#RequestEntityTooLarge","message":"Request Entity Too Large"}'
TOO_LARGE = (413, CONTENT_TYPE, _TOO_LARGE_BODY)


def too_large_response():
    return response_of(TOO_LARGE)


def _decompress(body, encoding, max_size):
    """The inflated body; gzip allows concatenated members.  Raises InternalServerError."""
    if encoding == "gzip":
        wbits = 16 + zlib.MAX_WBITS
    elif encoding == "deflate":
        wbits = zlib.MAX_WBITS
    else:
        raise InternalServerError(f"Unsupported Content-Encoding: {encoding}")
    out = []
    size = 0
    data = body
    try:
        while True:
            d = zlib.decompressobj(wbits)
            chunk = d.decompress(data, max_size + 1 - size)
            size += len(chunk)
            out.append(chunk)
            if size > max_size:
                raise InternalServerError("Request body is too large after decompression")
            if d.unconsumed_tail:
                raise InternalServerError("Request body is too large after decompression")
            if not d.eof:
                raise InternalServerError("Request body could not be decompressed")
            data = d.unused_data
            if not data or encoding != "gzip":
                break
    except zlib.error:
        raise InternalServerError("Request body could not be decompressed") from None
    return b"".join(out)


class RequestHandler:
    """Serve one request: ``handler(method, target, headers, body) -> Response``.

    ``engine`` is what ``kvstore.operations.execute`` takes (``db.engine``).
    ``headers`` maps lower-case names to str values (repeated headers joined
    with ``,``); ``target`` is the request target (path and query).
    ``auth`` checks signatures: ``auth.AnyKey`` (their form only: ``kvstore
    serve`` without credentials) or ``auth.SigV4Verifier`` (``verifier`` is
    its old name); None checks nothing, for in-process callers (the boto3
    hook, whose requests botocore leaves unsigned).  ``accounts``
    (``accounts.Accounts``) sends each verified key to its account's database
    in the region it signed for; without it every request reaches ``engine``.
    ``operations`` maps action names to :class:`kvstore.operations.Operation`
    (default: the registry, ``kvstore.operations.OPERATIONS``).
    """

    def __init__(self, engine, *, auth=None, verifier=None, accounts=None, operations=None,
                 max_body=limits.MAX_HTTP_BODY, fault_endpoint=False, metrics_token=None):
        self.engine = engine
        self.auth = auth if auth is not None else verifier
        self.accounts = accounts
        #: ``GET /metrics`` (kvstore.metrics) answers only with ``Authorization: Bearer <token>`` when
        #: set (``kvstore serve --metrics-token-file``); without a token it is open only when the
        #: server has no credentials (docs/operations.md, "Who may scrape"); served while
        #: ``engine.metrics`` is on
        self.metrics_token = metrics_token
        self.operations = OPERATIONS if operations is None else operations
        #: serve ``/_kvstore/faults`` (kvstore.faults.admin_answer): ``kvstore serve --fault-endpoint``
        self.fault_endpoint = fault_endpoint
        self.max_body = max_body
        self._targets = {}           # X-Amz-Target -> Operation or None (the registry imports lazily)

    # The server asks this too, before choosing to run a request inline or in a thread.
    def operation_of(self, headers):
        """The :class:`~kvstore.operations.Operation` an ``X-Amz-Target`` names, or None.

        The target is ``<prefix>.<action>``; an action is served under the prefix
        its module declares (``DynamoDB_20120810`` or ``DynamoDBStreams_20120810``).
        """
        target = headers.get("x-amz-target", "")
        try:
            return self._targets[target]
        except KeyError:
            pass
        prefix, _, action = target.partition(".")
        try:
            operation = self.operations[action]
        except KeyError:
            operation = None
        if operation is not None and operation.target_prefix != prefix:
            operation = None
        if len(self._targets) < 1024:
            self._targets[target] = operation
        return operation

    def __call__(self, method, target, headers, body):
        """The :class:`Response` to one request (the boto3 hook, tests)."""
        return response_of(self.answer(method, target, headers, body))

    def answer(self, method, target, headers, body):
        """``(status, content type, body bytes)`` of one request (the HTTP front renders the head)."""
        try:
            return self._handle(method, target, headers, body)
        except DynamoDBError as e:
            if self.engine.metrics is not None and not getattr(e, "_metered", False):
                self._reject(self.engine, headers, e)      # refused before it reached a database
            return error_answer(e)
        except Exception as bug:
            log.exception("internal error serving %s", headers.get("x-amz-target"))
            error = InternalServerError("Internal server error")
            if self.engine.metrics is not None and not getattr(bug, "_metered", False):
                self._reject(self.engine, headers, error)       # raised before a recorder saw it
            return error_answer(error)

    def _reject(self, engine, headers, error):
        """Count a request refused before its operation ran (kvstore.metrics: no table label)."""
        try:
            operation = self.operation_of(headers)
        except Exception:
            operation = None
        engine.metrics.reject(operation.action if operation is not None else "", "", error)
        error._metered = True

    def _metrics(self, headers):
        """``GET /metrics``: the Prometheus text format of every database the server holds.

        Who may read it (docs/operations.md, "Who may scrape /metrics"): with
        ``--metrics-token-file``, whoever sends ``Authorization: Bearer <token>``;
        without it, anyone when the server has no credentials (every caller
        already reaches every table then), and nobody when it has: the figures
        name the tables of every account, which no access key may see.
        """
        if self.metrics_token is not None:
            import hmac
            given = headers.get("authorization", "")
            if not hmac.compare_digest(given.encode("utf-8", "replace"),
                                       f"Bearer {self.metrics_token}".encode("utf-8", "replace")):
                return (401, "text/plain", b"Unauthorized: GET /metrics needs Authorization: Bearer <token>\n")
        elif self.accounts is not None:
            return (403, "text/plain", b"Forbidden: this server has credentials; GET /metrics is served only "
                                       b"with --metrics-token-file (docs/operations.md)\n")
        from kvstore.metrics import server_snapshot
        if self.accounts is None:
            engines = [self.engine]
        else:
            engines = [self.accounts.engine(account, region) for account, region in self.accounts.pairs()]
        return (200, METRICS_TYPE, server_snapshot(engines, labelled=self.accounts is not None)
                .to_prometheus().encode("utf-8"))

    def _handle(self, method, target, headers, body):
        if len(body) > self.max_body:
            return TOO_LARGE
        if self.fault_endpoint and target.partition("?")[0] == "/_kvstore/faults":
            from kvstore.faults import admin_answer
            return admin_answer(self.engine, method, body)
        if method != "POST":
            if method == "GET":
                path = target.partition("?")[0]
                if path == "/":
                    return (200, "text/plain", HEALTH_BODY)
                if path == "/metrics" and self.engine.metrics is not None:
                    return self._metrics(headers)
            return (404, "text/xml", _NOT_FOUND_BODY)
        content_type = headers.get("content-type")
        if content_type not in JSON_TYPES and body:           # "...; charset=utf-8", upper case
            if (content_type or "").partition(";")[0].strip().lower() not in JSON_TYPES:
                return (404, "text/xml", _NOT_FOUND_BODY)

        operation = self._targets.get(headers.get("x-amz-target", "")) or self.operation_of(headers)
        if operation is None:
            raise UnknownOperationException()
        engine = self.engine
        caller = None
        if self.auth is not None:
            caller = self.auth.authenticate(method, target, headers, body)
            if caller.key is None:              # any key accepted: nothing to tell callers apart by
                caller = None
            elif self.accounts is not None:
                engine = self.accounts.engine(caller.key.account, caller.region)
        encoding = headers.get("content-encoding")
        if encoding is not None:
            encoding = encoding.strip().lower()
            if encoding and encoding != "identity":
                body = _decompress(body, encoding, self.max_body)
        if not body:
            raise SerializationException()

        action = operation.action
        if action == "GetItem" and (caller is None or caller.key.policy is None):
            answer = get_item_path.answer(engine, body)      # the usual GetItem in one step, else None
            if answer is not None:
                return (200, CONTENT_TYPE, answer)
        elif action == "PutItem" and (caller is None or caller.key.policy is None):
            answer = put_item_path.answer(engine, body)      # the usual PutItem in one step, else None
            if answer is not None:
                if answer.__class__ is bytes:
                    return (200, CONTENT_TYPE, answer)
                raise answer                                # its commit failed (counted by metrics)
        try:
            body, suspect = wire.loads_request(body)
            # DynamoDB's order: a body it cannot read (SerializationException, a member of the wrong
            # JSON type included) before permissions, permissions (AccessDeniedException) before every
            # ValidationException, so a denied key learns nothing of what the request's values are worth.
            key = caller.key if caller is not None and caller.key.policy is not None else None
            try:
                request = wire.decode_request(action, body)
            except ValidationException:
                if key is not None:
                    authorize(key, action, body, engine.account_id, engine.region)
                if caller is not None and action in ARN_ACTIONS:
                    check_accounts(caller.key, action, body, engine.account_id, engine.region)
                if operation.check_members is not None:     # DynamoDB reports these before the value
                    operation.check_members(body)
                raise
            if key is not None:
                authorize(key, action, request, engine.account_id, engine.region)
            if caller is not None and action in ARN_ACTIONS:      # another account's ARN: denied, as IAM does
                check_accounts(caller.key, action, request, engine.account_id, engine.region)
            if suspect and holds_lone_surrogate(request):      # any string of the request (docs/compatibility.md)
                raise lone_surrogate_error()
        except DynamoDBError as e:      # refused in the caller's account: counted there (kvstore.metrics)
            if engine.metrics is not None:
                self._reject(engine, headers, e)
            raise
        response = run_operation(engine, operation, request)
        if operation.empty_response:
            return (200, CONTENT_TYPE, b"")
        return (200, CONTENT_TYPE, wire.dump_response(action, response))
