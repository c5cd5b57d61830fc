"""Prepared Query and Scan plans: what a request's *shape* decides, worked out once.

A Query's checks mostly depend on its shape, not on its values: the table and
index named, the expression texts and ExpressionAttributeNames, the value
placeholders and the classes of their values, Select, ScanIndexForward,
ConsistentRead, ReturnConsumedCapacity.  Like a prepared statement, the first
request of a shape that succeeds through the reference path (``query.run`` /
``scan.run``, which raise DynamoDB's errors in DynamoDB's order) leaves a plan
in the engine (``engine.read_plans``), keyed by that shape; the next requests of the shape only run what looks
at their values:

* ``Limit`` (an int of at least 1, else the reference path);
* the expression template's checks inside values (BETWEEN bounds, ...), which
  raise exactly where ``compile_read`` would;
* the key-condition values against the key schema: class, empty, sort-key
  size (anything unusual goes to the reference path, which raises the error);
* ExclusiveStartKey, by the reference's own functions;
* the page walk and the response, by ``reading.collect``.

A plan holds the table and index objects it was built for and is used only
while ``engine.tables`` still holds that table and the index is still there
and ACTIVE: a deleted, re-created or restored table, or a deleted index, sends
the request to the reference path, which rebuilds the plan (the "schema
version" is the identity of those objects; a key schema never changes in
place).  Under enforced capacity (``engine.capacity``) a plan reads through a
metered copy of its Source (``Source.meter``), as the reference path does.

A ``Table.query`` / ``Table.scan`` call of a shape seen before whose page is
plain (whole items; no filter, projection or ConsumedCapacity; S keys; no
BETWEEN, whose bounds' order is checked inside values; no start key for a
Query) is answered by one core call, ``embedded_read``: shape key, plan
lookup, the values' checks, the key-condition bounds, the page walk and the
response, from the ``page`` spec :func:`page_spec` leaves beside the plan.
Whatever it declines runs the Python plan below it (``run_embedded``).
"""

from kvstore import _core
from kvstore import limits as _limits
from kvstore.errors import DynamoDBError, ProvisionedThroughputExceededException, ThrottlingException
from kvstore.types import from_python
from kvstore.expressions.request import prepare
from kvstore.operations import query as _query
from kvstore.operations.reading import Source, plain_page, collect, resolve_select, start_key

__all__ = ["shape_key", "clear", "build_query", "build_scan", "embedded_read", "run_embedded",
           "build_embedded", "page_spec"]

#: plans an engine keeps (``engine.read_plans``, by shape key): cleared when full, since shapes are few;
#: the plans live and die with their engine, so a closed database's tables are not held here
SIZE = 1024

_NO_VALUES = ()


def shape_key(operation, request, flag=False):
    """The shape of a Query or Scan request (``kvstore._core.read_shape``), or None when it has a member
    a plan does not cover (legacy parameters, Segment, unusual value types: those always take the
    reference path)."""
    return _core.read_shape((operation, flag), request)


def clear(engine):
    """Forget every plan of ``engine`` (tests)."""
    engine.read_plans.clear()


def _remember(engine, shape, plan):
    plans = engine.read_plans
    if len(plans) >= SIZE:
        plans.clear()
    plans[shape] = plan


def stale(plan, engine):
    """Whether ``plan`` was built for another table or index object than the engine holds now."""
    return plan is None or engine.tables.get(plan.table_name) is not plan.table or (
        plan.index is not None and plan.table.indexes.get(plan.index.name) is not plan.index)


def _instantiate(request, operation):
    values = request.get("ExpressionAttributeValues")
    return prepare(operation=operation, names=request.get("ExpressionAttributeNames"), values=values,
                   key_condition=request.get("KeyConditionExpression") if operation == "Query" else None,
                   filter=request.get("FilterExpression"), projection=request.get("ProjectionExpression"))


class _Plan:
    __slots__ = ("table_name", "table", "index", "source", "instantiate", "select", "plain")

    def __init__(self, engine, request, operation):
        self.table_name = request["TableName"]
        self.table = engine.tables[self.table_name]
        self.source = Source(self.table, request.get("IndexName"))
        self.index = self.source.index
        self.instantiate = _instantiate(request, operation)
        compiled = self.instantiate(_values(request))
        self.select = resolve_select(request, self.source, compiled.projection)
        # whole items as stored (collect's plain page) unless COUNT or an LSI read through to the table
        self.plain = self.select != "COUNT" and not (
            self.index is not None and not self.index.projects_all and not self.source.is_gsi
            and self.select == "ALL_ATTRIBUTES")

    def _compiled(self, engine, request):
        """This request's compiled expressions, or None when the reference path must take it."""
        limit = request.get("Limit")
        if limit is not None and (limit.__class__ is not int or limit < 1):
            return None
        compiled = self.instantiate(_values(request))       # raises the checks inside values
        if compiled is None:
            return None
        if engine.tables.get(self.table_name) is not self.table:
            return None
        index = self.index
        if index is not None and (self.table.indexes.get(index.name) is not index or index.status != "ACTIVE"):
            return None
        return compiled


def _values(request):
    values = request.get("ExpressionAttributeValues")
    return _NO_VALUES if values is None else tuple(values.values())


class QueryPlan(_Plan):
    """A prepared Query on a single-attribute key (a multi-attribute GSI key takes the reference path)."""

    __slots__ = ("hash_name", "hash_type", "range_name", "range_type", "range_op", "delimited", "forward",
                 "schema")

    def __init__(self, engine, request, key_filter):
        super().__init__(engine, request, "Query")
        schema = self.schema = self.source.schema
        if schema.composite:
            raise _Unplanned
        self.hash_name, self.range_name = schema.hash_name, schema.range_name
        self.hash_type, self.range_type = schema.hash_type, schema.range_type
        self.delimited = schema.delimited
        conditions = self.instantiate(_values(request)).key_condition.conditions
        self.range_op = conditions[self.range_name][0] if self.range_name in conditions else None
        self.forward = request.get("ScanIndexForward", True) is not False

    def run(self, engine, request):
        """The response, or None when the reference path must answer (it then raises or answers)."""
        compiled = self._compiled(engine, request)
        if compiled is None:
            return None
        conditions = compiled.key_condition.conditions
        hash_value = conditions[self.hash_name][1][0]
        op = self.range_op
        range_values = () if op is None else conditions[self.range_name][1]
        # the key values' checks and the row-key bounds in one core call; None: the reference finds the error
        bounds = _core.query_bounds(hash_value, self.hash_type, op, range_values, self.range_type, self.delimited)
        if bounds is None:
            return None
        limit = request.get("Limit")
        if "ExclusiveStartKey" in request:
            bounds = _query.page_bounds(request, self.source, self.schema, hash_value, op, range_values,
                                        self.forward, limit, bounds)
        else:
            bounds = (*bounds, not self.forward, 128 if limit is None else min(limit + 1, 128))
        filter_, projection = compiled.filter, compiled.projection
        source = self.source
        if self.plain and filter_ is None and projection is None \
                and request.get("ReturnConsumedCapacity") not in _SIZED:
            return _whole_items(self.table, source, bounds, limit, engine.capacity,
                                bounds[0] if self.index is None else None, request)
        if engine.capacity is not None:
            source = source.meter(engine.capacity, bounds[0] if self.index is None else None)
        if self.plain and filter_ is None and projection is None:
            return plain_page(request, source, bounds, limit)
        return collect(request, source, bounds, filter_, projection, self.select, limit)


#: ReturnConsumedCapacity values whose answer needs the size of what was read
_SIZED = ("TOTAL", "INDEXES")


def _whole_items(table, source, bounds, limit, meter=None, row_key=None, request=None):
    """``reading.plain_page`` without ConsumedCapacity (its usual case), in one core call: the page of
    whole items, Count, ScannedCount and LastEvaluatedKey.  Under enforced capacity (``meter``) the
    core also gives the page's read size and the meter admits and charges it (``Source.meter``)."""
    values = table.rows if source.index is None else source.index.entries
    items, size, stopped = _core.read_page(source.structure.partitions, source.structure.locks, table._shift, *bounds, values,
                                           limit, _limits.MAX_PAGE_SIZE, True, meter is not None)
    if meter is not None:
        meter.read(table, source.index, row_key, size, request.get("ConsistentRead"))
    response = {"Items": items, "Count": len(items), "ScannedCount": len(items)}
    if stopped:
        response["LastEvaluatedKey"] = source.last_key(items[-1])
    return response


class ScanPlan(_Plan):
    """A prepared Scan without Segment / TotalSegments."""

    __slots__ = ()

    def run(self, engine, request):
        compiled = self._compiled(engine, request)
        if compiled is None:
            return None
        source = self.source
        lo, lo_inc = None, True
        esk = start_key(request, source)
        if esk is not None:
            lo, lo_inc = source.row_key_of(esk), False
        limit = request.get("Limit")
        bounds = (lo, lo_inc, None, False, False, 128)
        filter_, projection = compiled.filter, compiled.projection
        if self.plain and filter_ is None and projection is None \
                and request.get("ReturnConsumedCapacity") not in _SIZED:
            return _whole_items(self.table, source, bounds, limit, engine.capacity, None, request)
        if engine.capacity is not None:
            source = source.meter(engine.capacity)
        if self.plain and filter_ is None and projection is None:
            return plain_page(request, source, bounds, limit)
        return collect(request, source, bounds, filter_, projection, self.select, limit)


class _Unplanned(Exception):
    """A request shape this module leaves to the reference path."""


_CHANGED = (KeyError, DynamoDBError, _Unplanned)


def build_query(shape, engine, request, key_filter):
    """Leave a plan for ``shape`` after ``request`` succeeded through the reference path."""
    try:
        plan = QueryPlan(engine, request, key_filter)
    except _CHANGED:            # the table or index went away since the reference read it
        return
    _remember(engine, shape, plan)


def build_scan(shape, engine, request):
    """Leave a plan for ``shape`` after ``request`` succeeded through the reference path."""
    try:
        plan = ScanPlan(engine, request, "Scan")
    except _CHANGED:
        return
    _remember(engine, shape, plan)


# ------------------------------------------------------------------ the Python API's calls

#: ``embedded_read(engine, ("embedded", operation, table_name, allow_floats), kwargs)``: a ``Table.query``
#: / ``Table.scan`` call answered in one core call when its plan has a ``page`` spec (:func:`page_spec`),
#: else the call's shape for :func:`run_embedded`, or None when the call must take the general path
#: (metrics or injected faults recorded around the operation, a ``TableName`` of its own, a member or
#: value a plan does not cover: ``Key`` / ``Attr`` conditions, legacy parameters, Segment); see
#: ``kvstore._pycore.embedded_read``
embedded_read = _core.embedded_read


def run_embedded(engine, shape, kwargs):
    """The native response of a Python API call of ``shape`` (``embedded_read``) through its prepared
    plan, or None when the general path must answer (no plan yet, a value whose conversion or check
    is not plainly fine, anything the plan leaves to the reference).

    The conversion of the call's Python values (``Database.native_request``) and boto3's parameter
    check (``kvstore.params.check``) are folded in here: the shape fixes every member's type but
    those of ``Limit``, ``ExclusiveStartKey`` and the values, so what is left is converting the values
    (``from_python``, as ``native_request`` does) and checking the rest as the plan already does.
    A value whose conversion raises, or an error of the plan itself, sends the call to the general
    path, which redoes it from the start and raises the error in the order DynamoDB and boto3 check
    (a read changes nothing, so running it twice is only slower)."""
    embedded = engine.read_plans.get(shape)
    if embedded is None:
        return None
    return embedded.run(engine, kwargs)


_MAPS = ("ExclusiveStartKey", "ExpressionAttributeValues", "ExpressionAttributeNames")


class _EmbeddedPlan:
    """A Python API call's shape, bound to the prepared plan of the native request it converts to;
    ``page``: the spec of its one-call page (:func:`page_spec`), or None."""

    __slots__ = ("table_name", "plan", "allow_floats", "page")

    def __init__(self, table_name, plan, allow_floats, page=None):
        self.table_name, self.plan, self.allow_floats, self.page = table_name, plan, allow_floats, page

    def run(self, engine, kwargs):
        # boto3's parameter check of the members the shape does not fix: each of its exact type
        if "Limit" in kwargs and kwargs["Limit"].__class__ is not int:
            return None
        for member in _MAPS:
            if member in kwargs and kwargs[member].__class__ is not dict:
                return None
        request = dict(kwargs)
        request["TableName"] = self.table_name
        try:
            values = kwargs.get("ExpressionAttributeValues")
            if values is not None:
                allow_floats = self.allow_floats
                request["ExpressionAttributeValues"] = {k: from_python(v, allow_floats) for k, v in values.items()}
            start = kwargs.get("ExclusiveStartKey")
            if start is not None:
                request["ExclusiveStartKey"] = _core.item_from_python(start, self.allow_floats)
            return self.plan.run(engine, request)
        except (ProvisionedThroughputExceededException, ThrottlingException) as e:
            # enforced capacity refused the page once read (kvstore.capacity): that answer is final, and
            # the general path would count the refusal twice
            e._operation_name = "Query" if self.plan.__class__ is QueryPlan else "Scan"
            raise
        except Exception:      # noqa: BLE001 - the general path redoes the call and raises its first error
            return None


def build_embedded(engine, shape, native_request, key_filter=False):
    """Bind ``shape`` (``embedded_read``'s) to the plan its native request left, after the call succeeded
    through the general path (nothing is bound when that request has no plan)."""
    operation, table_name, allow_floats = shape[1], shape[2], shape[3]
    native = _core.read_shape((operation, key_filter), native_request)
    if native is None:
        return
    plan = engine.read_plans.get(native)
    if plan is None or stale(plan, engine):
        return
    _remember(engine, shape, _EmbeddedPlan(table_name, plan, allow_floats, page_spec(plan, native_request)))


#: the one-call page's range operators: BETWEEN is left out, it checks its bounds' order inside values
_PAGE_OPERATORS = (None, "EQ", "LT", "LE", "GT", "GE", "BEGINS_WITH")


def page_spec(plan, request):
    """The spec with which ``_core.embedded_read`` answers the calls of ``plan``'s shape in one core
    call, or None when they need more than it does (see ``_pycore._plan_page``): a page of whole
    items without filter, projection or ConsumedCapacity, of a Query on an S or S-S key (its value
    placeholders found by instantiating the shape's template with marker objects) or of a Scan.
    ``request``: the native request that left ``plan``."""
    if not plan.plain or request.get("ReturnConsumedCapacity") in _SIZED:
        return None
    placeholders = tuple(request.get("ExpressionAttributeValues") or ())
    markers = tuple(object() for _ in placeholders)
    try:
        compiled = plan.instantiate(markers)
    except Exception:      # noqa: BLE001 - a check that looks inside values: the Python plan runs it
        return None
    if compiled is None or compiled.filter is not None or compiled.projection is not None:
        return None
    source = plan.source
    key_names = tuple(source.key_names())
    if plan.__class__ is ScanPlan:
        schema = plan.table.schema
        start_schema = None
        if plan.index is None and schema.hash_type == "S" and schema.range_type in (None, "S"):
            start_schema = (schema.hash_name, schema.range_name)
        return (plan.table_name, plan.table, plan.index, False, None, None, None, False, False, key_names,
                start_schema)
    op = plan.range_op
    if op not in _PAGE_OPERATORS or plan.hash_type != "S" or (op is not None and plan.range_type != "S"):
        return None
    conditions = compiled.key_condition.conditions
    hash_slot = placeholders[markers.index(conditions[plan.hash_name][1][0])]
    range_slot = None if op is None else placeholders[markers.index(conditions[plan.range_name][1][0])]
    return (plan.table_name, plan.table, plan.index, True, hash_slot, range_slot, op, plan.delimited,
            not plan.forward, key_names, None)
