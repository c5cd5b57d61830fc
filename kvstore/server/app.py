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
"""

import asyncio
import logging
import threading
from concurrent.futures import ThreadPoolExecutor

import httptools

from kvstore.server.handler import TOO_LARGE, render_http

__all__ = ["Server", "ServerThread", "inline_reads", "inline_reads_and_item_writes", "inline_nothing"]

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


def inline_nothing(operation):
    """Every request in the thread pool (for measurement)."""
    return False

_REASONS = {200: b"OK", 400: b"Bad Request", 404: b"Not Found", 413: b"Request Entity Too Large",
            500: b"Internal Server Error", 503: b"Service Unavailable"}
_MAX_PIPELINED = 16          # requests queued on one connection before it stops being read
_METHODS = {b"POST": "POST", b"GET": "GET"}

# Header names as sent -> their lower-case str (clients send the same few names every time).
_HEADER_NAMES = {}
_MAX_HEADER_NAMES = 256


def _header_name(raw):
    name = raw.decode("latin-1").lower()
    if len(_HEADER_NAMES) < _MAX_HEADER_NAMES:
        _HEADER_NAMES[raw] = name
    return name


class _Request:
    __slots__ = ("method", "target", "headers", "body", "keep_alive", "answer")

    def __init__(self, answer=None):
        self.answer = answer            # set when the answer is known without the handler


class HttpProtocol(asyncio.Protocol):
    """One HTTP/1.1 connection: parse with httptools, answer in order."""

    def __init__(self, server):
        self.server = server
        self.loop = server.loop
        self.transport = None
        self.parser = httptools.HttpRequestParser(self)
        self.queue = []              # parsed requests waiting for their turn
        self.busy = False            # a request of this connection is being served in a thread
        self.closing = False
        self.draining = False
        self.write_paused = False
        self.max_body = server.max_body
        # a Content-Length with fewer digits than max_body cannot exceed it
        self._length_digits = len(str(self.max_body))
        self._url = b""
        self._headers = {}
        self._body = []
        self._size = 0
        self._discard = False

    # -- asyncio callbacks
    def connection_made(self, transport):
        self.transport = transport
        self.server.connections.add(self)

    def connection_lost(self, exc):
        self.server.connections.discard(self)
        self.closing = True
        self.queue.clear()

    def data_received(self, data):
        if self.draining:
            return                   # after a 413: read and drop what the client still sends
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._close_with(400)
        except httptools.HttpParserCallbackError:
            log.exception("error while serving a request")      # a bug: the handler answers every error
            self._close_with(500)
        except httptools.HttpParserError:
            self._close_with(400)

    def pause_writing(self):
        self.write_paused = True
        self.transport.pause_reading()

    def resume_writing(self):
        self.write_paused = False
        if len(self.queue) < _MAX_PIPELINED:
            self.transport.resume_reading()

    # -- httptools callbacks (state is reset when a message completes)
    def on_url(self, url):
        self._url += url

    def on_header(self, name, value):
        key = _HEADER_NAMES.get(name) or _header_name(name)
        headers = self._headers
        if key in headers:
            headers[key] = headers[key] + "," + value.decode("latin-1")
        else:
            headers[key] = value.decode("latin-1")

    def on_headers_complete(self):
        headers = self._headers
        length = headers.get("content-length")
        if (length is not None and len(length) >= self._length_digits and length.isdigit()
                and int(length) > self.max_body):
            self._respond_too_large()
            return
        if "expect" in headers and headers["expect"].lower() == "100-continue":
            self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    def on_body(self, chunk):
        if self._discard:
            return
        self._size += len(chunk)
        if self._size > self.max_body:
            self._respond_too_large()
            return
        self._body.append(chunk)

    def on_message_complete(self):
        headers = self._headers
        body = self._body
        url = self._url
        self._headers = {}
        self._body = []
        self._url = b""
        self._size = 0
        if self._discard or self.closing:
            self._discard = False
            return
        parser = self.parser
        method = parser.get_method()
        method = _METHODS.get(method) or method.decode("ascii")
        body = b"".join(body)
        keep_alive = parser.should_keep_alive()
        server = self.server
        if not self.busy and not self.queue and (
                server._inline_targets.get(headers.get("x-amz-target")) or server.runs_inline(headers)):
            # the common case: nothing waiting on this connection, answer now
            self._write(server.handler.answer(method, url.decode("latin-1"), headers, body), keep_alive)
            return
        target = url.decode("latin-1")
        request = _Request()
        request.method = method
        request.target = target
        request.headers = headers
        request.body = body
        request.keep_alive = keep_alive
        self.queue.append(request)
        if len(self.queue) >= _MAX_PIPELINED:
            self.transport.pause_reading()
        if not self.busy:
            self._next()

    # -- serving
    def _respond_too_large(self):
        """Answer 413 (after any earlier pipelined answers) and close: the rest of the body is never read."""
        self._discard = True
        request = _Request(TOO_LARGE)
        request.keep_alive = False
        self.queue.append(request)
        self.transport.pause_reading()
        if not self.busy:
            self._next()

    def _close_with(self, status):
        if not self.busy and not self.transport.is_closing():
            body = _REASONS.get(status, b"")
            self.transport.write(b"HTTP/1.1 %d %s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                                 % (status, body))
        self._close()

    def _linger(self, seconds=2.0):
        """Close after an answer the client may not read while it still sends (413): half-close,
        drain for a while, then close, so the client gets the answer instead of a connection reset."""
        self.closing = True
        self.draining = True
        self.queue.clear()
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.transport.resume_reading()
        self.loop.call_later(seconds, self._close)

    def _close(self):
        self.closing = True
        self.queue.clear()
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    def _next(self):
        while self.queue and not self.closing:
            request = self.queue.pop(0)
            self.busy = True
            server = self.server
            if request.answer is not None:
                self._finish(request, request.answer)
                continue
            if server.runs_inline(request.headers):
                self._finish(request, server.handler.answer(request.method, request.target, request.headers,
                                                            request.body))
                continue
            server.in_flight += 1
            future = self.loop.run_in_executor(
                server.executor, server.handler.answer, request.method, request.target, request.headers,
                request.body)
            future.add_done_callback(lambda f, request=request: self._threaded_done(request, f))
            return
        if not self.write_paused and not self.closing:
            self.transport.resume_reading()

    def _threaded_done(self, request, future):
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
        self._finish(request, future.result())
        self._next()

    def _finish(self, request, answer):
        self.busy = False
        self._write(answer, request.keep_alive)

    def _write(self, answer, keep_alive):
        """Send an answer ``(status, content type, body)`` (see ``handler.render_http``)."""
        transport = self.transport
        if transport.is_closing():
            return
        server = self.server
        keep_alive = keep_alive and not server.stopping and not self.closing
        transport.write(render_http(answer, keep_alive))
        if answer[0] == 413:
            self._linger()
        elif not keep_alive:
            self._close()
        elif server.stopping and not self.queue:
            self._close()

    def close_if_idle(self):
        if not self.busy:
            self._close()


class Server:
    """The asyncio HTTP server around a :class:`~kvstore.server.handler.RequestHandler`.

    ``inline(operation)`` says whether a request for an operation
    (:class:`kvstore.operations.Operation`) is served on the event loop;
    anything else runs in a pool of ``max_workers`` threads.
    """

    def __init__(self, handler, host="127.0.0.1", port=8000, *, ssl=None, inline=inline_reads,
                 max_workers=64, max_body=None):
        self.handler = handler
        self.host = host
        self.port = port
        self.ssl = ssl
        self.inline = inline
        self._inline_targets = {}       # X-Amz-Target -> served inline?
        self.max_body = max_body if max_body is not None else handler.max_body
        self.executor = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="kvstore-op")
        self.connections = set()
        self.in_flight = 0
        self.stopping = False
        self.loop = None
        self._server = None
        self._idle = None

    def runs_inline(self, headers):
        target = headers.get("x-amz-target")
        inline = self._inline_targets.get(target)
        if inline is None:
            try:
                operation = self.handler.operation_of(headers)
            except Exception:       # the handler reports it, from a thread
                return False
            inline = operation is not None and bool(self.inline(operation))
            if len(self._inline_targets) < 1024:
                self._inline_targets[target] = inline
        return inline

    def request_done(self):
        if self.stopping and self.in_flight == 0 and self._idle is not None:
            self._idle.set()

    async def start(self):
        self.loop = asyncio.get_running_loop()
        self._server = await self.loop.create_server(
            lambda: HttpProtocol(self), self.host, self.port, ssl=self.ssl, reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def shutdown(self, timeout=10.0):
        """Stop accepting, let requests in flight finish (bounded), close every connection."""
        self.stopping = True
        self._idle = asyncio.Event()
        if self._server is not None:
            self._server.close()
        for conn in list(self.connections):
            conn.close_if_idle()
        if self.in_flight:
            try:
                await asyncio.wait_for(self._idle.wait(), timeout)
            except asyncio.TimeoutError:
                log.warning("shutdown: %d requests still running after %.0fs", self.in_flight, timeout)
        for conn in list(self.connections):
            conn._close()
        if self._server is not None:
            await self._server.wait_closed()
        self.executor.shutdown(wait=True, cancel_futures=True)


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
