"""Scan: every item of a table or index, page by page, optionally in parallel segments.

Rows are kept in order of a 32-bit hash of the partition key followed by the
key itself, so segment ``s`` of ``T`` is the contiguous hash range
``[s * 2**32 // T, (s + 1) * 2**32 // T)``: segments are disjoint, cover the
table, and each resumes from its own LastEvaluatedKey.
"""

from kvstore.errors import ValidationException, constraint_error
from kvstore.operations import read_plans
from kvstore.operations.common import check_request, get_table
from kvstore.operations.reading import (
    Source, check_consistent_read, check_limit, collect, compile_read, resolve_select, start_key,
)

READ_ONLY = True
REQUEST_VALUES = ("ExclusiveStartKey:start", "ScanFilter.*.AttributeValueList:values",
                  "ExpressionAttributeValues:eav")
RESPONSE_VALUES = ("Items:items", "LastEvaluatedKey:item")
ENUMS = ("Select", "ReturnConsumedCapacity")


def check_segments(request):
    segment, total = request.get("Segment"), request.get("TotalSegments")
    violations = []
    if segment is not None and segment < 0:
        violations.append((str(segment), "segment", "Member must have value greater than or equal to 0"))
    if segment is not None and segment > 999999:
        violations.append((str(segment), "segment", "Member must have value less than or equal to 999999"))
    if total is not None and total < 1:
        violations.append((str(total), "totalSegments", "Member must have value greater than or equal to 1"))
    if total is not None and total > 1000000:
        violations.append((str(total), "totalSegments", "Member must have value less than or equal to 1000000"))
    if violations:
        raise constraint_error(violations)
    if segment is not None and total is None:
        raise ValidationException("The TotalSegments parameter is required but was not present in the request "
                                  "when Segment parameter is present")
    if total is not None and segment is None:
        raise ValidationException("The Segment parameter is required but was not present in the request when "
                                  "parameter TotalSegments is present")
    if segment is not None and segment >= total:
        raise ValidationException("The Segment parameter is zero-based and must be less than parameter "
                                  f"TotalSegments: Segment: {segment} is not less than TotalSegments: {total}")
    return segment, total


def segment_bounds(segment, total):
    if segment is None:
        return None, None
    lo = (segment << 32) // total
    hi = ((segment + 1) << 32) // total
    return lo.to_bytes(4, "big"), (hi.to_bytes(4, "big") if hi < (1 << 32) else None)


def check_members(request):
    """What DynamoDB checks before any attribute value: the table name and the enums."""
    check_request(request, ENUMS)


def run(engine, request):
    """A request of a shape seen before runs its prepared plan (:mod:`kvstore.operations.read_plans`);
    the first of a shape, and anything a plan leaves out, runs :func:`reference`, which leaves one."""
    shape = read_plans.shape_key("Scan", request)
    if shape is None:
        return reference(engine, request)
    plan = engine.read_plans.get(shape)
    if plan is not None:
        response = plan.run(engine, request)
        if response is not None:
            return response
    response = reference(engine, request)
    if read_plans.stale(plan, engine):
        read_plans.build_scan(shape, engine, request)
    return response


def reference(engine, request):
    """The Scan, every check in DynamoDB's order: the reference every prepared plan agrees with."""
    check_members(request)
    limit = check_limit(request, "Scan")
    segment, total = check_segments(request)
    _, filter_, projection = compile_read(request, "Scan")
    table = get_table(engine, request["TableName"])
    source = Source(table, request.get("IndexName"))
    check_consistent_read(request, source)
    select = resolve_select(request, source, projection)
    lo, hi = segment_bounds(segment, total)
    lo_inc = True
    esk = start_key(request, source)
    if esk is not None:
        start = source.row_key_of(esk)
        if (lo is not None and start < lo) or (hi is not None and start >= hi):
            raise ValidationException(
                "The provided starting key is invalid: Invalid ExclusiveStartKey. Please use ExclusiveStartKey "
                f"with correct Segment. TotalSegments: {total} Segment: {segment}")
        lo, lo_inc = start, False
    if engine.capacity is not None:
        source = source.meter(engine.capacity)
    return collect(request, source, (lo, lo_inc, hi, False, False, 128), filter_, projection, select, limit)
