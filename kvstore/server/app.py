"""The HTTP/1.1 front: asyncio + the httptools parser, no framework.

Chosen by measurement (bench/server.py, 2 cores, raw keep-alive client, canned
body): this protocol served ~72k req/s at 8 connections and p50 82 us at one,
against ~25k req/s and p50 110 us for uvicorn+httptools with a raw ASGI app.
The ASGI layer (scope dicts, receive/send coroutines per request) costs more
than everything else the server does for a GetItem.

Per connection, requests are answered in order (HTTP/1.1 pipelining) one at a
time; connections are independent, so a slow client delays only itself.  A
request runs on the event loop when it cannot block (reads; writes when the
durability policy does not wait for fsync) and in a thread pool otherwise,
where concurrent writers share the engine's group commit.  Measured: a GetItem
hopping to the pool and back cost p50 ~220 us against ~40 us inline, and half
the throughput at 8 connections; with ``--durability sync`` PutItem reached
~490 ops/s at one connection and ~3000 at eight (shared fsyncs).  A client that does
not read its answers stops being read (transport flow control).

The edges of HTTP (docs/operations.md, "Serving"):

* every answer is a whole message: status line, ``Content-Length``, ``Date``,
  and a head ended by its blank line (``Connection: close`` included);
* the server closes a connection only by a *lingering close*: after the last
  answer it half-closes (FIN), reads and drops what the client still sends
  until the client closes or ``linger`` seconds pass.  Closing a socket that
  still has unread input makes the kernel send RST, and an RST destroys the
  answer still in flight: clients saw truncated answers that way;
* a request line over ``max_request_line`` bytes is answered 400, a head over
  ``max_head`` 431, a ``Content-Length`` over the 16 MB limit 413 before any of
  the body is read, a chunked body growing past it 413 as soon as it does;
  each then closes;
* ``header_timeout``: a request head (and a new connection's first request)
  must arrive whole within it, else 408 and close; ``idle_timeout``: a
  keep-alive connection with nothing to do, a body that stops arriving, or a
  client that stops reading its answers, is closed after it;
* ``max_connections``: a connection past the cap is answered 503
  ServiceUnavailable at once and closed (SDKs retry it);
* answers of 4 KB and more are compressed when ``Accept-Encoding`` asks
  (kvstore.server.compression), requests with ``Origin`` get DynamoDB's CORS
  headers and ``OPTIONS`` preflights are answered (kvstore.server.cors).

The usual request (a whole keep-alive POST of plain headers read at once) is
taken apart by one core call (``kvstore._core.parse_request``) instead of
httptools and its ten Python callbacks, and answered in line; anything else,
and every request of a connection in the middle of one, goes through httptools
(``tests/wire/test_http_fast.py`` holds the two to the same bytes and state).
A usual GetItem or PutItem is then answered by one more core call
(``kvstore._core.usual_item_request``: the handler's checks, the remembered
signature form, the item's JSON or the write, and the answer's head; a write
under ``sync`` held until durable as any other), which leaves everything it
does not decide to the handler.

Timeouts are checked by one timer per server (every quarter of the shortest
timeout, at most every second), which also refreshes the cached ``Date``; a
request pays for none of it but one attribute store per read.
"""

import asyncio
import collections
import logging
import threading
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from email.utils import formatdate

import httptools

from kvstore import _core, faults as _faults
from kvstore.clock import SystemClock
from kvstore.engine.database import defer_durable_waits, stop_deferring
from kvstore.errors import DynamoDBError, ServiceUnavailable
from kvstore.server.compression import MIN_SIZE as COMPRESS_MIN_SIZE, choose_encoding, compress
from kvstore.server.cors import Cors
from kvstore.server import auth
from kvstore.server.auth import AnyKey
from kvstore.server.handler import (
    _ID_PREFIX, CONTENT_TYPE, JSON_TYPES, TOO_LARGE, RequestHandler, _id_counter, error_answer,
)

__all__ = ["Server", "ServerThread", "HELD", "inline_reads", "inline_reads_and_item_writes",
           "inline_reads_and_held_item_writes", "inline_nothing"]

log = logging.getLogger("kvstore.server")


# Which requests run on the event loop: a predicate over kvstore.operations.Operation,
# whose module declares READ_ONLY (never waits on the disk) or WRITES_ITEMS (waits
# only for the log's fsync, i.e. only under ``sync`` durability).
def inline_reads(operation):
    """Reads only (the choice under ``sync`` durability)."""
    return operation.read_only


def inline_reads_and_item_writes(operation):
    """Reads and item writes (the choice under ``batch`` and ``none`` durability)."""
    return operation.read_only or operation.writes_items


#: an ``inline`` predicate's answer for an operation served on the loop whose answer is held until its
#: writes are durable (module docstring, "answers held until durable")
HELD = "held until durable"


def inline_reads_and_held_item_writes(operation):
    """Reads, and item writes answered once durable (the choice under ``sync`` durability)."""
    if operation.read_only:
        return True
    return HELD if operation.writes_items else False


def inline_nothing(operation):
    """Every request in the thread pool (for measurement)."""
    return False


# Defaults of the HTTP edges (Server arguments; `kvstore serve` flags for the first three).
IDLE_TIMEOUT = 60.0          # AWS load balancers' idle timeout
HEADER_TIMEOUT = 20.0
MAX_CONNECTIONS = 4096
LINGER = 2.0
MAX_REQUEST_LINE = 16 * 1024     # what AWS load balancers accept
MAX_HEAD = 64 * 1024

_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
            408: "Request Timeout", 413: "Request Entity Too Large", 431: "Request Header Fields Too Large",
            500: "Internal Server Error", 503: "Service Unavailable"}
READ_BUFFER = 256 * 1024     # bytes read from a socket at most at once (asyncio's own size)
_MAX_PIPELINED = 16          # requests queued on one connection before it stops being read
_METHODS = {b"POST": "POST", b"GET": "GET"}
_CLOSE = "Connection: close\r\n"
_UPGRADE_HEADERS = ("upgrade", "connection", "http2-settings")
_CONTINUE = (100, None, b"")     # "100 Continue", in its turn among the answers of the connection
_crc32 = zlib.crc32
_ID_PREFIX_BYTES = _ID_PREFIX.encode("latin-1")
_HEADS = {}                  # (status, content type) -> b"HTTP/1.1 ...Content-Length: "
# A whole usual request in one core call (HttpProtocol.data_received): the compiled core's only; the
# pure twin is slower than httptools, and the tests run the protocol with it (tests/wire/test_http_fast.py).
_parse_request = _core.parse_request if _core.implementation == "cython" else None
_render_answer = _core.render_answer
_owed_latency = _faults.owed     # thread -> seconds of injected latency the answer being made owes


def _head(status, content_type):
    head = (f"HTTP/1.1 {status} {_REASONS.get(status, 'Unknown')}\r\nContent-Type: {content_type}\r\n"
            "Content-Length: ").encode("latin-1")
    if len(_HEADS) < 64:
        _HEADS[(status, content_type)] = head
    return head

# Header names as sent -> their lower-case str (clients send the same few names every time).
_HEADER_NAMES = {}
_MAX_HEADER_NAMES = 256


def _header_name(raw):
    name = raw.decode("latin-1").lower()
    if len(_HEADER_NAMES) < _MAX_HEADER_NAMES:
        _HEADER_NAMES[raw] = name
    return name


def _plain(status, message):
    """An answer of the HTTP layer itself (below DynamoDB's protocol: no SDK sends such a request)."""
    return (status, "text/plain", message.encode())


class _Refused(Exception):
    """Raised inside a parser callback to stop parsing a refused request (the answer is queued)."""


class _Request:
    __slots__ = ("method", "target", "headers", "body", "keep_alive", "answer")

    def __init__(self, answer=None, headers=None, keep_alive=True):
        self.answer = answer            # set when the answer is known without the handler
        self.headers = headers
        self.keep_alive = keep_alive


class HttpProtocol(asyncio.BufferedProtocol):
    """One HTTP/1.1 connection: parse with httptools, answer in order, close without losing an answer.

    A buffered protocol: the transport reads into the server's one read buffer
    (:attr:`Server.read_buffer`), which is parsed at once (httptools copies what it
    hands on: URL, header values, body chunks).  As a plain ``Protocol`` each socket
    read allocated a 256 KB bytes object and shrank it to what arrived, a large
    allocation per request that kept malloc's heap big (bench/results/rss.md, session 6).
    """

    __slots__ = ("server", "loop", "transport", "parser", "queue", "busy", "closing", "draining",
                 "write_paused", "eof", "max_body", "_length_digits", "max_line", "max_head", "_url",
                 "_headers", "_body", "_size", "in_head", "in_message", "head_started", "head_pending",
                 "chunk", "last_read", "last_buffer", "linger_handle", "_upgrade")

    def __init__(self, server):
        self.server = server
        self.loop = server.loop
        self.transport = None
        self.parser = httptools.HttpRequestParser(self)
        self.queue = []              # requests (and known answers) waiting for their turn
        self.busy = False            # a request of this connection is being served in a thread
        self.closing = False         # closed or lingering: nothing more is answered
        self.draining = False        # the parser is done with this connection: input is read and dropped
        self.write_paused = False
        self.eof = False             # the client half-closed: close once the answers owed are sent
        self.max_body = server.max_body
        # a Content-Length with fewer digits than max_body cannot exceed it
        self._length_digits = len(str(self.max_body))
        self.max_line = server.max_request_line
        self.max_head = server.max_head
        self._url = b""
        self._headers = {}
        self._body = []
        self._size = 0
        # the timeouts' view (kvstore.server.app docstring): a new connection waits for a head
        self.in_head = True
        self.in_message = False
        self.head_started = server.now
        self.head_pending = 0        # bytes of a head that spans reads (-1: it began in this read)
        self.chunk = 0
        self.last_read = server.now
        self.last_buffer = 0
        self.linger_handle = None
        self._upgrade = None

    # -- asyncio callbacks
    def connection_made(self, transport):
        self.transport = transport
        server = self.server
        if len(server.connections) >= server.max_connections:
            server.refuse(self)
            return
        server.connections.add(self)

    def connection_lost(self, exc):
        self.server.connections.discard(self)
        self.server.refusing.discard(self)
        self.closing = True
        self.draining = True
        self.queue.clear()
        if self.linger_handle is not None:
            self.linger_handle.cancel()
            self.linger_handle = None

    def get_buffer(self, sizehint):
        # a memoryview, not the bytearray: asyncio's TLS transport reads the rest of a record into
        # buffer[offset:], which of a bytearray would be a copy (the bytes read lost)
        return self.server.read_view

    def buffer_updated(self, nbytes):
        # the view is parsed before this returns (the loop's thread reads into the buffer again only after)
        self.data_received(self.server.read_view[:nbytes])

    def data_received(self, data):
        if self.draining:
            return                   # closing: what the client still sends is read and dropped
        server = self.server
        self.last_read = server.now
        self.chunk = len(data)
        if not self.in_message and _parse_request is not None:
            # The usual request, whole in this read, taken apart in one core call (kvstore._pycore.
            # parse_request says what usual is; anything else answers None and httptools parses it).
            # It leaves this connection as httptools' callbacks would after one whole keep-alive POST.
            request = _parse_request(data, self.max_line, self.max_head, self.max_body)
            if request is not None:
                self.head_pending = -1
                self.head_started = server.now
                self.in_head = False
                target, headers, body = request
                try:
                    inline = server._inline_targets.get(headers.get("x-amz-target"))
                    if (self.busy or self.queue or self.write_paused or server.stopping
                            or (inline is not True and inline is not HELD)):
                        self._serve("POST", target, headers, body, True)
                    elif inline is True:     # _serve's common case and _write, in line
                        transport = self.transport
                        if transport.is_closing():
                            server.handler.answer("POST", target, headers, body)
                            return
                        # the usual GetItem or PutItem, the handler's checks to the answer's bytes in one
                        # core call
                        answer = _usual_item_request(server, headers, body, _USUAL)
                        if answer is None:
                            self._answer_on_loop("POST", target, headers, body, True)
                        else:
                            transport.write(answer if answer.__class__ is bytes
                                            else server.render(answer, True, headers))
                    else:                    # an item write answered once durable (_answer_on_loop's held case)
                        waits = defer_durable_waits()
                        try:
                            answer = _usual_item_request(server, headers, body, _USUAL, False)
                        finally:
                            stop_deferring()
                        if answer is None:
                            self._answer_on_loop("POST", target, headers, body, True, True)
                        else:
                            if answer.__class__ is bytes:
                                answer = (200, CONTENT_TYPE, answer)
                            if waits:
                                server.hold(self, waits, answer, True, headers)
                            else:
                                self._write(answer, True, headers)
                except Exception:    # as a failing httptools callback: a bug
                    if not self.draining:
                        log.exception("error while parsing a request")
                        self._refuse(500, "Internal server error")
                return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade as e:
            self._not_upgraded(data, e.args[0])
            return
        except httptools.HttpParserCallbackError:
            if not self.draining:    # not a refusal: a callback failed, a bug
                log.exception("error while parsing a request")
                self._refuse(500, "Internal server error")
            return
        except httptools.HttpParserError:
            self._refuse(400, "Malformed HTTP request")
            return
        if self.in_head:
            # A head that spans reads: httptools buffers it whole, so it is bounded here
            # (the read it began in is not counted: at most one read more than max_head).
            if self.head_pending < 0:
                self.head_pending = 0
            else:
                self.head_pending += len(data)
                if self.head_pending > self.max_head:
                    self._refuse(431, "Request header fields too large")

    def eof_received(self):
        if self.closing or (not self.busy and not self.queue):
            return False             # the transport closes
        self.eof = True              # half-closed after its requests: answer them, then close
        return True

    def pause_writing(self):
        self.write_paused = True
        if not self.draining:
            self.transport.pause_reading()

    def resume_writing(self):
        self.write_paused = False
        if self.queue and not self.busy:
            self._next()             # the answers that waited for the client to read
        elif len(self.queue) < _MAX_PIPELINED or self.draining:
            self.transport.resume_reading()

    # -- httptools callbacks (state is reset when a message completes)
    def on_message_begin(self):
        self.in_head = True
        self.in_message = True
        self.head_pending = -1
        self.head_started = self.server.now

    def on_url(self, url):
        url = self._url = self._url + url
        if len(url) > self.max_line:
            self._refuse(400, "Request line too long")
            raise _Refused

    def on_header(self, name, value):
        key = _HEADER_NAMES.get(name) or _header_name(name)
        headers = self._headers
        if key in headers:
            headers[key] = headers[key] + "," + value.decode("latin-1")
        else:
            headers[key] = value.decode("latin-1")

    def on_headers_complete(self):
        self.in_head = False
        headers = self._headers
        if (self.head_pending >= 0 or self.chunk > self.max_head) and self._head_size() > self.max_head:
            self._refuse(431, "Request header fields too large")
            raise _Refused
        length = headers.get("content-length")
        if (length is not None and len(length) >= self._length_digits and length.isdigit()
                and int(length) > self.max_body):
            self._refuse(413)        # answered now: the body is never read
            raise _Refused
        if "expect" in headers and headers["expect"].lower() == "100-continue":
            if self.busy or self.queue:
                self.queue.append(_Request(_CONTINUE))      # in its turn, after the answers owed
            else:
                self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    def _head_size(self):
        return len(self._url) + sum(len(k) + len(v) + 4 for k, v in self._headers.items())

    def on_body(self, chunk):
        self._size += len(chunk)
        if self._size > self.max_body:       # a chunked body past the limit
            self._refuse(413)
            raise _Refused
        self._body.append(chunk)

    def on_message_complete(self):
        self.in_message = False
        headers = self._headers
        body = self._body
        url = self._url
        self._headers = {}
        self._body = []
        self._url = b""
        self._size = 0
        if self.draining:
            return
        parser = self.parser
        if "upgrade" in headers and parser.should_upgrade():
            # httptools stops at the head of an Upgrade request (its body is left unread):
            # _not_upgraded parses it again without the upgrade, body and all
            self._upgrade = (parser.get_method(), url, headers)
            return
        method = parser.get_method()
        self._serve(_METHODS.get(method) or method.decode("ascii"), url.decode("latin-1"), headers,
                    b"".join(body), parser.should_keep_alive())

    def _serve(self, method, target, headers, body, keep_alive):
        """Answer a whole request now, or queue it behind the answers this connection owes."""
        server = self.server
        if method == "OPTIONS" and server.cors is not None and "origin" in headers:
            request = _Request((200, None, b""), headers, keep_alive)     # a CORS preflight
            request.method = method
        elif not self.busy and not self.queue and not self.write_paused and (inline := (
                server._inline_targets.get(headers.get("x-amz-target")) or server.runs_inline(headers))):
            # the common case: nothing waiting on this connection, answer now
            self._answer_on_loop(method, target, headers, body, keep_alive, inline is HELD)
            return
        else:
            request = _Request(None, headers, keep_alive)
            request.method = method
            request.target = target
            request.body = body
        self.queue.append(request)
        if len(self.queue) >= _MAX_PIPELINED:
            self.transport.pause_reading()
        if not self.busy:
            self._next()

    def _not_upgraded(self, data, offset):
        """``Upgrade: h2c`` (or ``CONNECT``): no protocol switch here, the request is served in
        HTTP/1.1 (no 101) and the client goes on in HTTP/1.1.  httptools has stopped after the head:
        a fresh parser takes the rest, behind that head without its upgrade headers."""
        self.parser = httptools.HttpRequestParser(self)
        rest = bytes(data[offset:])
        pending, self._upgrade = self._upgrade, None
        if pending is not None:
            method, url, headers = pending
            rest = (b"%s %s HTTP/1.1\r\n" % (method, url) + "".join(
                f"{k}: {v}\r\n" for k, v in headers.items() if k not in _UPGRADE_HEADERS).encode("latin-1")
                + b"\r\n" + rest)
        if rest and not self.draining:
            self.data_received(rest)

    # -- serving
    def _refuse(self, status, message=None):
        """Answer an error of the HTTP layer after the answers this connection already owes, then close."""
        if self.draining:
            return
        self.draining = True
        if status == 413:
            answer = TOO_LARGE
        elif status == 503:
            answer = error_answer(ServiceUnavailable(message))
        else:
            answer = _plain(status, message)
        self.queue.append(_Request(answer, self._headers, keep_alive=False))
        if not self.busy:
            self._next()

    def _next(self):
        # Answers wait while the client does not read the earlier ones (write_paused): a client
        # pipelining many large reads is answered as fast as it reads, not buffered whole.
        while self.queue and not self.closing and not self.write_paused:
            request = self.queue.pop(0)
            answer = request.answer
            if answer is not None:
                if answer is _CONTINUE:
                    self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                else:
                    self._write(answer, request.keep_alive, request.headers)
                continue
            server = self.server
            inline = server.runs_inline(request.headers)
            if inline:
                self._answer_on_loop(request.method, request.target, request.headers, request.body,
                                     request.keep_alive, inline is HELD)
                if self.busy:
                    return
                continue
            self.busy = True
            server.in_flight += 1
            future = self.loop.run_in_executor(
                server.executor, server.handler.answer, request.method, request.target, request.headers,
                request.body)
            future.add_done_callback(lambda f, request=request: self._threaded_done(request, f))
            return
        if self.closing:
            return
        if self.eof:
            self._close()
        elif not self.write_paused:
            self.transport.resume_reading()

    def _threaded_done(self, request, future):
        self.busy = False
        self.server.in_flight -= 1
        self.server.request_done()
        if future.cancelled():
            self._close()
            return
        exc = future.exception()
        if exc is not None:         # the handler catches everything; this is a bug or shutdown
            log.error("request failed outside the handler: %r", exc)
            self._close()
            return
        self._write(future.result(), request.keep_alive, request.headers)
        self._next()

    def _answer_on_loop(self, method, target, headers, body, keep_alive, held=False):
        """Serve a request on the loop and send its answer.  ``held`` (an item write under ``sync``):
        the engine's wait for its writes is deferred, and an answer whose writes the log must still
        sync is held, the connection busy, until the log says they are durable (Server.hold).  An
        injected fault's latency holds the answer too (kvstore.faults.wait: a sleep here would hold
        up every connection)."""
        server = self.server
        if held:
            waits = defer_durable_waits()
            try:
                answer = server.handler.answer(method, target, headers, body)
            finally:
                stop_deferring()
        else:
            waits = None
            answer = server.handler.answer(method, target, headers, body)
        if _owed_latency:
            delay = _faults.take_owed_latency()
            if delay:
                self._answer_later(delay, answer, keep_alive, headers, waits)
                return
        if waits:
            server.hold(self, waits, answer, keep_alive, headers)
        else:
            self._write(answer, keep_alive, headers)

    def _answer_later(self, delay, answer, keep_alive, headers, waits):
        """Hold an answer (the connection busy) for ``delay`` seconds of injected latency, then send
        it, or hold it until its writes are durable if they still are not."""
        self.busy = True
        self.server.in_flight += 1
        self.loop.call_later(delay, self._latency_paid, answer, keep_alive, headers, waits)

    def _latency_paid(self, answer, keep_alive, headers, waits):
        if waits:
            self.busy = False
            self.server.in_flight -= 1
            self.server.hold(self, waits, answer, keep_alive, headers)
        else:
            self._held_done(answer, keep_alive, headers)

    def _held_done(self, answer, keep_alive, headers):
        self.busy = False
        server = self.server
        server.in_flight -= 1
        server.request_done()
        self._write(answer, keep_alive, headers)
        self._next()

    def _write(self, answer, keep_alive, headers):
        """Send an answer ``(status, content type, body)``; after the last one, close (lingering)."""
        transport = self.transport
        if transport.is_closing():
            return
        server = self.server
        if server.stopping:
            keep_alive = False
        transport.write(server.render(answer, keep_alive, headers))
        if not keep_alive:
            self._linger()

    def _linger(self):
        """Close after the last answer without an RST: half-close (FIN after the buffered answer),
        read and drop until the client closes, or ``linger`` seconds."""
        self.closing = True
        self.draining = True
        self.queue.clear()
        transport = self.transport
        if transport.can_write_eof():
            transport.write_eof()
        transport.resume_reading()
        if self.linger_handle is None:
            self.linger_handle = self.loop.call_later(self.server.linger, self._close)

    def _close(self):
        self.closing = True
        self.draining = True
        self.queue.clear()
        if self.transport is not None and not self.transport.is_closing():
            if self.transport.get_write_buffer_size():
                self.transport.abort()      # a client that stopped reading: nothing more will reach it
            else:
                self.transport.close()

    def close_if_idle(self):
        if not self.busy:
            self._close()

    def expire(self, now, idle_timeout, header_timeout):
        """Close this connection if it waited on its client too long (called by the server's timer)."""
        if self.closing or self.busy:
            return
        if self.write_paused:                # the client does not read its answers: is it reading at all?
            size = self.transport.get_write_buffer_size()
            if size != self.last_buffer:
                self.last_buffer = size
                self.last_read = now
            elif now - self.last_read > idle_timeout:
                self._close()
        elif self.in_head:
            if now - self.head_started > header_timeout:
                if self.in_message:
                    self._refuse(408, "Request head not received in time")
                else:
                    self._close()            # a connection that never sent a byte: nothing to answer
        elif self.in_message:
            if now - self.last_read > idle_timeout:
                self._refuse(408, "Request body not received in time")
        elif now - self.last_read > idle_timeout:
            self._close()                    # keep-alive with nothing to do


class Server:
    """The asyncio HTTP server around a :class:`~kvstore.server.handler.RequestHandler`.

    ``inline(operation)`` says whether a request for an operation
    (:class:`kvstore.operations.Operation`) is served on the event loop (True,
    or :data:`HELD`: its answer held until its writes are durable); anything
    else runs in a pool of ``max_workers`` threads.  By default reads and item
    writes run on the loop, held until durable under ``sync`` (as ``kvstore
    serve`` runs them).  The HTTP edges
    (module docstring): ``idle_timeout``, ``header_timeout`` (seconds; None:
    none), ``max_connections``, ``linger``, ``max_request_line``, ``max_head``;
    ``cors``: ``"*"``, a list of origins or None (no CORS answers);
    ``clock``: the ``Date`` header's (default: the engine's).
    """

    def __init__(self, handler, host="127.0.0.1", port=8000, *, ssl=None, inline=None,
                 max_workers=64, max_body=None, idle_timeout=IDLE_TIMEOUT, header_timeout=HEADER_TIMEOUT,
                 max_connections=MAX_CONNECTIONS, linger=LINGER, max_request_line=MAX_REQUEST_LINE,
                 max_head=MAX_HEAD, cors="*", clock=None):
        self.handler = handler
        self.host = host
        self.port = port
        self.ssl = ssl
        engine = getattr(handler, "engine", None)
        if inline is None:      # as `kvstore serve` chooses for the database's durability
            durability = getattr(engine, "durability", None)
            inline = (inline_reads_and_held_item_writes if getattr(durability, "policy", None) == "sync"
                      else inline_reads_and_item_writes)
        self.inline = inline
        self._inline_targets = {}       # X-Amz-Target -> served inline?
        self.max_body = max_body if max_body is not None else handler.max_body
        self.idle_timeout = idle_timeout
        self.header_timeout = header_timeout
        if max_connections < 1:
            raise ValueError("max_connections must be at least 1")
        self.max_connections = max_connections
        self.linger = linger
        self.max_request_line = max_request_line
        self.max_head = max_head
        self.cors = cors if cors is None or isinstance(cors, Cors) else Cors(cors)
        self.clock = clock or getattr(engine, "clock", None) or SystemClock()
        self.executor = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="kvstore-op")
        # every connection's socket reads go into this one buffer (HttpProtocol.get_buffer), parsed at once
        self.read_buffer = bytearray(READ_BUFFER)
        self.read_view = memoryview(self.read_buffer)
        self.connections = set()
        self.refusing = set()           # connections past the cap, being answered 503
        self.refused = 0
        self._saturated = False
        self.in_flight = 0
        # answers held until durable (module docstring): (connection, [(engine, lsn)], answer, keep-alive,
        # headers) in the order served; the logs to ask for a sync at the end of this round of the loop
        self._held = collections.deque()
        self._to_sync = set()
        self._sync_asked = False        # the end-of-round call is scheduled
        self._release_asked = False     # a log said it synced: the loop is to send what is durable
        self._listening = set()         # the logs this server listens to
        self.stopping = False
        self.loop = None
        self._loop_thread = None
        self.now = 0.0                  # loop.time(), refreshed by the timer
        self.date_line = ""
        self.date_bytes = b""
        self._date_second = None
        self._server = None
        self._idle = None
        self._timer = None
        timeouts = [t for t in (idle_timeout, header_timeout) if t]
        self.tick = min([1.0] + [t / 4 for t in timeouts])

    def runs_inline(self, headers):
        target = headers.get("x-amz-target")
        inline = self._inline_targets.get(target)
        if inline is None:
            try:
                operation = self.handler.operation_of(headers)
            except Exception:       # the handler reports it, from a thread
                return False
            inline = operation is not None and self.inline(operation)
            inline = inline if inline is HELD else bool(inline)
            if len(self._inline_targets) < 1024:
                self._inline_targets[target] = inline
        return inline

    def render(self, answer, keep_alive, headers):
        """The bytes of an answer to a request with ``headers``: Date, compression, CORS (hot path)."""
        status, content_type, body = answer
        if (content_type is not None and len(body) < COMPRESS_MIN_SIZE
                and (headers is None or self.cors is None or "origin" not in headers)):
            # the usual answer: nothing to compress, no CORS; the head up to the length is made once
            # per (status, type), the rest in one bytes format.  Measured in-process: 0.83 -> 0.6 us.
            return _render_answer(_HEADS.get((status, content_type)) or _head(status, content_type), body,
                                  self.date_bytes, _ID_PREFIX_BYTES, _id_counter, keep_alive)
        extra = self.date_line
        if headers is not None:
            if len(answer[2]) >= COMPRESS_MIN_SIZE:
                accept = headers.get("accept-encoding")
                if accept:
                    encoding = choose_encoding(accept)
                    if encoding is not None:
                        answer = (answer[0], answer[1], compress(answer[2], encoding))
                        extra += f"Content-Encoding: {encoding}\r\n"
            if "origin" in headers and self.cors is not None:
                extra += self.cors.lines(headers, preflight=answer[1] is None)
        status, content_type, body = answer
        if content_type is None:        # a CORS preflight: no body, no type
            return (f"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n{extra}x-amzn-RequestId: "
                    f"{_ID_PREFIX}{next(_id_counter)}\r\n{'' if keep_alive else _CLOSE}\r\n").encode("latin-1")
        # the headers of handler.response_of, and the HTTP layer's (Date, CORS, encoding), in one format
        return (f"HTTP/1.1 {status} {_REASONS.get(status, 'Unknown')}\r\nContent-Type: {content_type}\r\n"
                f"Content-Length: {len(body)}\r\n{extra}x-amzn-RequestId: {_ID_PREFIX}{next(_id_counter)}\r\n"
                f"x-amz-crc32: {_crc32(body)}\r\n{'' if keep_alive else _CLOSE}\r\n").encode("latin-1") + body

    def refuse(self, conn):
        """A connection past ``max_connections``: 503 at once, then a lingering close."""
        self.refused += 1
        if not self._saturated:
            self._saturated = True
            log.warning("%d connections open (--max-connections): refusing new ones with 503",
                        len(self.connections))
        if len(self.refusing) >= self.max_connections:       # a flood: not even an answer
            conn.transport.abort()
            return
        self.refusing.add(conn)
        conn._refuse(503, f"Too many open connections (limit {self.max_connections}); retry later")

    def hold(self, conn, waits, answer, keep_alive, headers):
        """Keep ``answer`` (and ``conn`` busy) until every ``(engine, lsn)`` of ``waits`` is durable."""
        conn.busy = True
        self.in_flight += 1
        self._held.append((conn, waits, answer, keep_alive, headers))
        for engine, _lsn in waits:
            durability = engine.durability
            if durability not in self._listening:
                self._listening.add(durability)
                durability.add_listener(self._synced)
            self._to_sync.add(durability)
        if not self._sync_asked:
            # after every request this round of the loop has read: they share the sync
            self._sync_asked = True
            self.loop.call_soon(self._ask_sync)

    def _ask_sync(self):
        self._sync_asked = False
        for durability in self._to_sync:
            durability.request_flush()
        self._to_sync.clear()
        self._release()         # what a sync already running took and finished before the hold

    def _synced(self):
        # a log's listener, called from the thread that wrote (holding the log's lock): schedule only
        if self._held and not self._release_asked:
            self._release_asked = True
            try:
                self.loop.call_soon_threadsafe(self._release)
            except RuntimeError:        # the loop is closed: nobody is waiting for these answers
                pass

    def _release(self):
        """Send every held answer whose writes are durable (or the error of a log that failed).

        The held answers are checked first and sent after, and ``_held`` is never empty meanwhile while
        it holds one: a log's listener (``_synced``, on the flusher's thread, which may take the GIL
        between any two steps here) skips its wake-up when ``_held`` is empty, so an answer taken out
        of it to be checked, found not yet durable just before its sync ended and put back, would be
        held until some later sync (forever, with a client waiting for it to send more: seen as a hung
        benchmark, session 16).  Sending may hold new answers (a connection's next request)."""
        self._release_asked = False
        held = self._held
        ready = []
        waiting = None
        for entry in held:
            waits = entry[1]
            try:
                for engine, lsn in waits:
                    if not engine.durable(lsn):
                        break
                else:
                    ready.append((entry, None))
                    continue
            except DynamoDBError as e:
                ready.append((entry, e))
                continue
            if waiting is None:
                waiting = collections.deque()
            waiting.append(entry)
        if not ready:
            return
        self._held = waiting if waiting is not None else collections.deque()
        for (conn, waits, answer, keep_alive, headers), error in ready:
            owed = waits.figures
            if error is None:
                if owed is not None:            # metrics count it now, as the success it is answered
                    for recorder, figures in owed:
                        recorder.held_answered(figures)
                conn._held_done(answer, keep_alive, headers)
            else:
                if owed is not None:            # ... or as the error it is answered instead
                    for recorder, figures in owed:
                        recorder.held_failed(figures, error)
                conn._held_done(error_answer(error), keep_alive, headers)

    def request_done(self):
        if self.stopping and self.in_flight == 0 and self._idle is not None:
            self._idle.set()

    def _refresh_date(self):
        now = self.clock()
        second = int(now)
        if second != self._date_second:
            self._date_second = second
            self.date_line = f"Date: {formatdate(second, usegmt=True)}\r\n"
            self.date_bytes = self.date_line.encode("latin-1")

    def _on_timer(self):
        self.now = now = self.loop.time()
        self._refresh_date()
        if self._saturated and len(self.connections) < self.max_connections:
            self._saturated = False
        if self.idle_timeout or self.header_timeout:
            idle, header = self.idle_timeout or float("inf"), self.header_timeout or float("inf")
            for conn in list(self.connections):
                conn.expire(now, idle, header)
        self._timer = self.loop.call_later(self.tick, self._on_timer)

    async def start(self):
        self.loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        _faults.answers_owe_latency(self._loop_thread)
        self.now = self.loop.time()
        self._refresh_date()
        self._timer = self.loop.call_later(self.tick, self._on_timer)
        self._server = await self.loop.create_server(
            lambda: HttpProtocol(self), self.host, self.port, ssl=self.ssl, reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def shutdown(self, timeout=10.0):
        """Stop accepting, let requests in flight finish (bounded), close every connection."""
        self.stopping = True
        self._idle = asyncio.Event()
        if self._timer is not None:
            self._timer.cancel()
        if self._server is not None:
            self._server.close()
        for conn in list(self.connections):
            conn.close_if_idle()
        if self.in_flight:
            try:
                await asyncio.wait_for(self._idle.wait(), timeout)
            except asyncio.TimeoutError:
                log.warning("shutdown: %d requests still running after %.0fs", self.in_flight, timeout)
        for conn in list(self.connections) + list(self.refusing):
            conn._close()
        if self._server is not None:
            await self._server.wait_closed()
        self.executor.shutdown(wait=True, cancel_futures=True)
        for durability in self._listening:
            durability.remove_listener(self._synced)
        self._listening.clear()
        if self._loop_thread is not None:
            _faults.answers_owe_latency(self._loop_thread, False)


# What kvstore._core.usual_item_request needs to know of the server, the handler and the signature's
# form to answer a usual GetItem or PutItem as they would (HttpProtocol.data_received, compiled core
# only).
_usual_item_request = _core.usual_item_request
_USUAL = (Server, RequestHandler, AnyKey, SystemClock, time.time, auth._FORMS, JSON_TYPES, CONTENT_TYPE,
          _head(200, CONTENT_TYPE), COMPRESS_MIN_SIZE, _ID_PREFIX_BYTES, _id_counter)


class ServerThread:
    """A :class:`Server` on its own event loop in a daemon thread (tests, the hook-less wire face).

    >>> with ServerThread(handler, port=0) as server:   # doctest: +SKIP
    ...     boto3.client("dynamodb", endpoint_url=server.url)
    """

    def __init__(self, handler, host="127.0.0.1", port=0, **options):
        self.server = Server(handler, host, port, **options)
        self._started = threading.Event()
        self._error = None
        self._thread = threading.Thread(target=self._run, name="kvstore-server", daemon=True)
        self._loop = None
        self._stop = None

    @property
    def url(self):
        scheme = "https" if self.server.ssl else "http"
        return f"{scheme}://{self.server.host}:{self.server.port}"

    def _run(self):
        self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._main())
        except BaseException as e:       # reported to start() if it happens before binding
            self._error = e
            self._started.set()
        finally:
            self._loop.close()

    async def _main(self):
        self._stop = asyncio.Event()
        await self.server.start()
        self._started.set()
        await self._stop.wait()
        await self.server.shutdown()

    def start(self):
        self._thread.start()
        self._started.wait()
        if self._error is not None:
            raise self._error
        return self

    def stop(self):
        if self._loop is not None and self._stop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
            self._thread.join()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
