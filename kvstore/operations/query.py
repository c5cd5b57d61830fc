"""Query: the items of one partition-key value, in sort-key order, from a table or an index.

The key condition picks the partition and a sort-key range; Limit counts items
read before the filter; ScanIndexForward=false walks the range backwards.  A
filter may not use the queried key attributes.
"""

from kvstore.errors import ValidationException
from kvstore.expressions.key_condition import ResolvedKeyCondition
from kvstore.operations import read_plans
from kvstore.operations.common import check_request, get_table
from kvstore.operations.reading import (
    Source, check_consistent_read, check_limit, collect, compile_read, resolve_select, start_key,
)

READ_ONLY = True
REQUEST_VALUES = ("ExclusiveStartKey:start", "KeyConditions.*.AttributeValueList:values",
                  "QueryFilter.*.AttributeValueList:values", "ExpressionAttributeValues:eav")
RESPONSE_VALUES = ("Items:items", "LastEvaluatedKey:item")
ENUMS = ("Select", "ReturnConsumedCapacity")


def check_members(request):
    """What DynamoDB checks before any attribute value: the table name and the enums."""
    check_request(request, ENUMS)


def run(engine, request, key_filter=False):
    """``key_filter``: let the filter read key attributes (a PartiQL WHERE names them freely).

    A request of a shape seen before runs its prepared plan (:mod:`kvstore.operations.read_plans`);
    the first of a shape, and anything a plan leaves out, runs :func:`reference`, which leaves one.
    """
    shape = read_plans.shape_key("Query", request, key_filter)
    if shape is None:
        return reference(engine, request, key_filter)
    plan = engine.read_plans.get(shape)
    if plan is not None:
        response = plan.run(engine, request)
        if response is not None:
            return response
    response = reference(engine, request, key_filter)
    if read_plans.stale(plan, engine):
        read_plans.build_query(shape, engine, request, key_filter)
    return response


def reference(engine, request, key_filter=False):
    """The Query, every check in DynamoDB's order: the reference every prepared plan agrees with."""
    check_members(request)
    limit = check_limit(request, "Query")
    key_condition, filter_, projection = compile_read(request, "Query")
    if key_condition is None:
        raise ValidationException("Either the KeyConditions or KeyConditionExpression parameter must be specified "
                                  "in the request.")
    table = get_table(engine, request["TableName"])
    source = Source(table, request.get("IndexName"))
    check_consistent_read(request, source)
    select = resolve_select(request, source, projection)
    schema = source.schema
    if schema.composite:
        key = key_condition.resolve_composite(schema, source.index.name)
    else:
        key = key_condition.resolve(schema.hash_name, schema.range_name, schema.types())
    if filter_ is not None and not key_filter:
        for name in schema.names:
            if name in filter_.top_level_names:
                member = "QueryFilter" if request.get("QueryFilter") is not None else "Filter Expression"
                raise ValidationException(
                    f"{member} can only contain non-primary key attributes: Primary key attribute: {name}")
    forward = request.get("ScanIndexForward", True) is not False
    if schema.composite:
        lo, lo_inc, hi, hi_inc = key.bounds(schema)
        esk = start_key(request, source)
        if esk is not None:
            key.check_start_key(schema, esk)
            lo, lo_inc, hi, hi_inc = _after(source.row_key_of(esk), forward, lo, lo_inc, hi, hi_inc)
        bounds = (lo, lo_inc, hi, hi_inc, not forward, chunk(limit))
    else:
        bounds = page_bounds(request, source, schema, key.hash_value, key.range_op, key.range_values, forward, limit)
    if engine.capacity is not None:
        source = source.meter(engine.capacity, bounds[0] if source.index is None else None)
    return collect(request, source, bounds, filter_, projection, select, limit)


def page_bounds(request, source, schema, hash_value, range_op, range_values, forward, limit, bounds=None):
    """``read_page``'s bounds of a Query on a single-attribute key whose key values passed their checks
    (``bounds``: their row-key bounds when already known), after the request's ExclusiveStartKey
    (checked here)."""
    lo, lo_inc, hi, hi_inc = bounds or schema.range_bounds(hash_value, range_op, range_values)
    esk = start_key(request, source)
    if esk is not None:
        # A table without a sort key holds one item per partition: the
        # LastEvaluatedKey it returns is accepted back and the next page is empty.
        if esk[schema.hash_name] != hash_value:
            raise ValidationException(
                "The provided starting key is outside query boundaries based on provided conditions")
        if schema.range_name is not None and not ResolvedKeyCondition(
                hash_value, range_op, range_values, ()).matches_range(esk[schema.range_name]):
            raise ValidationException("The provided starting key does not match the range key predicate")
        lo, lo_inc, hi, hi_inc = _after(source.row_key_of(esk), forward, lo, lo_inc, hi, hi_inc)
    return lo, lo_inc, hi, hi_inc, not forward, chunk(limit)


def _after(start, forward, lo, lo_inc, hi, hi_inc):
    if forward:
        return start, False, hi, hi_inc
    return lo, lo_inc, start, False


def chunk(limit):
    """Keys to take per lock hold: a small Query (Limit 10) should not copy more than it needs."""
    return 128 if limit is None else max(1, min(limit + 1, 128))
