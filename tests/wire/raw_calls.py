"""DynamoDB calls over raw keep-alive sockets, for tests that watch when each answer arrives."""

import json
import socket

WAIT = 30            # seconds a socket waits for something that must happen (never asserted as a duration)
_unread = {}         # socket -> bytes received past the answers read


def request(action, body):
    """The bytes of one DynamoDB call (no signature: the server under test checks none)."""
    data = json.dumps(body).encode()
    return (f"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: DynamoDB_20120810.{action}\r\n"
            f"Content-Type: application/x-amz-json-1.0\r\nContent-Length: {len(data)}\r\n\r\n").encode() + data


def connect(running):
    """A connection to a ``ServerThread``."""
    sock = socket.create_connection(("127.0.0.1", running.server.port), timeout=WAIT)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def read_answer(sock):
    """The next whole answer on ``sock`` (answers to pipelined calls are read one at a time):
    ``(status, body as JSON)``."""
    data = _unread.pop(sock, b"")
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, "the server closed the connection"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length:")))
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk, "the server closed the connection"
        body += chunk
    if len(body) > length:
        _unread[sock] = body[length:]
    return int(head.split()[1]), json.loads(body[:length])


def nothing_yet(sock):
    """Whether no byte of an answer has reached ``sock``."""
    sock.setblocking(False)
    try:
        sock.recv(1, socket.MSG_PEEK)
    except BlockingIOError:
        return True
    finally:
        sock.setblocking(True)
        sock.settimeout(WAIT)
    return False
