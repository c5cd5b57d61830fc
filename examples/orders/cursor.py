"""Opaque pagination cursors built from DynamoDB's ``LastEvaluatedKey``.

A page of a Query ends with ``LastEvaluatedKey``; the next page starts with it
as ``ExclusiveStartKey``.  Clients get it as one URL-safe string: base64url of
compact JSON ``{"q": <scope>, "k": <key>}``, where the key's values are typed
the way DynamoDB's JSON types them (``{"S": ...}``, ``{"N": "12.5"}``,
``{"B": <base64>}``) because JSON alone cannot tell a number from a string or
carry bytes, and a ``Decimal`` must come back exactly.

``scope`` names the listing the cursor belongs to (``"orders:c1a2"``), so a
cursor handed to another listing is rejected as a 400 instead of reaching the
database as a starting key of the wrong partition.

The cursor is opaque, not secret: it holds key values the client could read
anyway.  Sign it (HMAC) if your keys carry anything a client must not see.
"""

import base64
import binascii
import json
from decimal import Decimal, InvalidOperation

from examples.orders.errors import InvalidCursor

MAX_CURSOR_LENGTH = 2048


def encode(scope, last_evaluated_key):
    """The cursor for the page after ``last_evaluated_key`` (None when there is none)."""
    if not last_evaluated_key:
        return None
    body = {"q": scope, "k": {name: _typed(value) for name, value in last_evaluated_key.items()}}
    raw = json.dumps(body, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode(scope, cursor):
    """``ExclusiveStartKey`` from a cursor of this ``scope``; None for no cursor; InvalidCursor if bad."""
    if cursor is None or cursor == "":
        return None
    if len(cursor) > MAX_CURSOR_LENGTH:
        raise InvalidCursor("cursor is too long")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        body = json.loads(raw)
    except (binascii.Error, ValueError) as e:
        raise InvalidCursor("cursor is not one this service issued") from e
    if not isinstance(body, dict) or body.get("q") != scope or not isinstance(body.get("k"), dict):
        raise InvalidCursor("cursor belongs to another listing")
    return {name: _untyped(value) for name, value in body["k"].items()}


def _typed(value):
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, (Decimal, int)) and not isinstance(value, bool):
        return {"N": str(value)}
    data = getattr(value, "value", value)          # kvstore.Binary / boto3 Binary / bytes
    if isinstance(data, (bytes, bytearray)):
        return {"B": base64.b64encode(bytes(data)).decode("ascii")}
    raise TypeError(f"a key value cannot be {type(value).__name__}")


def _untyped(value):
    if not isinstance(value, dict) or len(value) != 1:
        raise InvalidCursor("cursor is not one this service issued")
    (tag, text), = value.items()
    if not isinstance(text, str):
        raise InvalidCursor("cursor is not one this service issued")
    try:
        if tag == "S":
            return text
        if tag == "N":
            return Decimal(text)
        if tag == "B":
            return base64.b64decode(text, validate=True)
    except (InvalidOperation, binascii.Error) as e:
        raise InvalidCursor("cursor is not one this service issued") from e
    raise InvalidCursor("cursor is not one this service issued")
