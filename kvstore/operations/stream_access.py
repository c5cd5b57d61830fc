"""What the four DynamoDB Streams actions share: ARNs, shard iterators, lookups, constraints.

A shard iterator is ``<stream arn>|1|<token>`` as DynamoDB's are: the token is
URL-safe base64 of a msgpack array ``[shard id, position, issued at]``, where
``position`` is the sequence number after which reading resumes.  It is
opaque to clients and checked on use: a malformed one is a
ValidationException, one older than 15 minutes an ExpiredIteratorException.
"""

import base64
import re

import msgpack

from kvstore.engine.streams import ITERATOR_SECONDS, parse_sequence
from kvstore.errors import (
    ExpiredIteratorException, ResourceNotFoundException, TrimmedDataAccessException, ValidationException,
    constraint_error,
)

_ARN_RE = re.compile(
    r"arn:aws:dynamodb:[a-z0-9-]+:\d{12}:table/[a-zA-Z0-9_.-]{3,255}/stream/"
    r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\Z")
_SEQUENCE_RE = re.compile(r"\d{21,40}\Z")
INVALID_ARN = "Invalid StreamArn"
TRIMMED = "The data you are trying to access has been trimmed."


def check_constraints(violations):
    if violations:
        raise constraint_error(violations)


def limit_violations(limit, maximum):
    if limit is None:
        return []
    if limit < 1:
        return [(str(limit), "limit", "Member must have value greater than or equal to 1")]
    if limit > maximum:
        return [(str(limit), "limit", f"Member must have value less than or equal to {maximum}")]
    return []


def arn_violations(arn, path):
    if arn is None:
        return [(None, path, "Member must not be null")]
    out = []
    if len(arn) < 37:
        out.append((arn, path, "Member must have length greater than or equal to 37"))
    if len(arn) > 1024:
        out.append((arn, path, "Member must have length less than or equal to 1024"))
    return out


def check_arn(arn):
    if not _ARN_RE.match(arn):
        raise ValidationException(INVALID_ARN)


def get_stream(engine, arn):
    """The retained stream named by a well-formed ARN (ResourceNotFoundException otherwise)."""
    check_arn(arn)
    stream = engine.streams.by_arn.get(arn)
    if stream is None:
        raise ResourceNotFoundException(f"Requested resource not found: Stream: {arn} not found")
    return stream


def get_shard(stream, shard_id):
    shard = stream.shard(shard_id)
    if shard is None:
        raise ResourceNotFoundException(f"Requested resource not found: Shard: {shard_id} in Stream: "
                                        f"{stream.arn} not found")
    return shard


def parse_sequence_number(text, path="sequenceNumber"):
    if not isinstance(text, str) or not _SEQUENCE_RE.match(text):
        raise ValidationException(f"Invalid SequenceNumber: {text}")
    return parse_sequence(text)


def make_iterator(stream, shard, position, now):
    token = msgpack.packb([shard.id, position, now])
    return f"{stream.arn}|1|{base64.urlsafe_b64encode(token).decode('ascii')}"


def read_iterator(engine, iterator):
    """``(stream, shard, position)`` of a shard iterator; raises as DynamoDB does for bad ones."""
    arn, sep, rest = iterator.partition("|")
    version, sep2, token = rest.partition("|")
    try:
        if not (sep and sep2 and version == "1" and _ARN_RE.match(arn)):
            raise ValueError
        shard_id, position, issued = msgpack.unpackb(base64.urlsafe_b64decode(token.encode("ascii")))
        if not (isinstance(shard_id, str) and isinstance(position, int) and isinstance(issued, (int, float))):
            raise ValueError
    except (ValueError, TypeError, msgpack.UnpackException, UnicodeEncodeError):
        raise ValidationException("Invalid ShardIterator") from None
    if engine.clock() - issued > ITERATOR_SECONDS:
        raise ExpiredIteratorException("Shard iterator has expired")
    stream = engine.streams.by_arn.get(arn)
    if stream is None:
        raise ResourceNotFoundException(f"Requested resource not found: Stream: {arn} not found")
    shard = stream.shard(shard_id)
    if shard is None:               # it was there when the iterator was issued: retention removed it
        raise TrimmedDataAccessException(TRIMMED)
    return stream, shard, position

