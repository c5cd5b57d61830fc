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
place).  Under enforced capacity (``engine.capacity``) every request takes the
reference path.
"""

from kvstore import _core
from kvstore.errors import DynamoDBError
from kvstore.expressions.request import prepare
from kvstore.operations import query as _query
from kvstore.operations.reading import Source, plain_page, collect, resolve_select, start_key

__all__ = ["shape_key", "clear", "build_query", "build_scan"]

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
        if engine.capacity is not None:
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
            bounds = (*bounds, not self.forward, _query.chunk(limit))
        filter_, projection = compiled.filter, compiled.projection
        if self.plain and filter_ is None and projection is None:
            return plain_page(request, self.source, bounds, limit)
        return collect(request, self.source, bounds, filter_, projection, self.select, limit)


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
