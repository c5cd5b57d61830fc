"""``db.client("dynamodbstreams")``: the DynamoDB Streams actions as boto3's low-level client answers them.

boto3 has no resource layer for DynamoDB Streams, so its ``dynamodbstreams``
client returns attribute values in DynamoDB JSON (``{"S": "a"}``, binary as
bytes) and timestamps as datetimes; this client returns the same (the datetimes
come from ``Database._call``, as for every action), so code that reads a
stream moves between kvstore and DynamoDB unchanged.
"""

import types as _pytypes

from kvstore import errors
from kvstore.types import to_wire

ACTIONS = {"list_streams": "ListStreams", "describe_stream": "DescribeStream",
           "get_shard_iterator": "GetShardIterator", "get_records": "GetRecords"}


class StreamsClient:
    """``list_streams``, ``describe_stream``, ``get_shard_iterator``, ``get_records`` (keyword arguments)."""

    def __init__(self, database):
        self._db = database
        self.exceptions = _pytypes.SimpleNamespace(
            **{name: cls for name, cls in errors.ERRORS_BY_CODE.items()}, ClientError=errors.ClientError)

    def __getattr__(self, name):
        action = ACTIONS.get(name)
        if action is None:
            raise AttributeError(f"'DynamoDBStreams' client has no method {name!r}")
        db = self._db

        def call(**kwargs):
            return _boto_shape(action, db._call(action, dict(kwargs)))

        call.__name__ = name
        return call


def _boto_value(value):
    wire = to_wire(value)
    return _bytes_back(wire)


def _bytes_back(wire):
    """botocore decodes base64 blobs: B and BS values become bytes."""
    import base64
    (tag, inner), = wire.items()
    if tag == "B":
        return {"B": base64.b64decode(inner)}
    if tag == "BS":
        return {"BS": [base64.b64decode(v) for v in inner]}
    if tag == "M":
        return {"M": {k: _bytes_back(v) for k, v in inner.items()}}
    if tag == "L":
        return {"L": [_bytes_back(v) for v in inner]}
    return wire


def _boto_shape(action, response):
    if action == "GetRecords":
        for record in response["Records"]:
            body = record["dynamodb"]
            for member in ("Keys", "NewImage", "OldImage"):
                if member in body:
                    body[member] = {k: _boto_value(v) for k, v in body[member].items()}
    return response
