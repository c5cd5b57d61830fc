"""Prepared UpdateItem calls of the Python API: what a call's shape decides, worked out once.

``Table.update_item`` calls repeat a few shapes: the same table, the same
UpdateExpression and ConditionExpression texts and ExpressionAttributeNames,
the same value placeholders with values of the same classes.  Every check
DynamoDB makes before it reads the item depends on the shape alone except
those on the values (the key's, the placeholders'), so, as
:mod:`kvstore.operations.read_plans` does for Query and Scan, the first call of
a shape that succeeds through the reference path (``update_item.run``, which
raises DynamoDB's errors in DynamoDB's order) leaves a plan in the engine
(``engine.write_plans``), and the next calls of the shape only do what looks at
their values:

* convert the Key and ExpressionAttributeValues (``item_from_python``, as
  ``Database.usual_write`` does) and build the row key (``request_row_key``);
* under the item's lock: read it, run the condition and update *programs*
  (:mod:`kvstore.expressions.programs`: the expressions' common shapes,
  evaluated by the core in one call each), the size and index-key checks, and
  commit, exactly as ``update_item.run`` does for the usual request.

A plan covers only what needs no more than that: a call of ``Key``,
``UpdateExpression`` and optionally ``ConditionExpression``,
``ExpressionAttributeNames`` and ``ExpressionAttributeValues``; expressions
whose shapes have programs, whose template runs no check inside values, and
whose update reaches into no nested attribute (so the key-attribute check
depends on the key schema alone); an engine with no contention, injected
faults or metrics (each of which wraps the reference path).  Under enforced
capacity a plan admits and charges the write as the reference path does (an
admission is only a check: a call sent back to the reference path is admitted
again there and charged once).  Anything a call's values make unusual -- a value that does not
convert, a key that does not match the schema, an operand of the wrong type,
an item over the size limit -- sends the call back to the reference path
*before anything changed*, which redoes it and raises what DynamoDB raises; a
false condition raises ConditionalCheckFailedException here, as the reference
does for the usual request.

A plan holds the table object it was built for and is used only while
``engine.tables`` holds that object (a deleted, re-created or restored table
sends the call to the reference path, which rebuilds it).  Index keys are
checked against the table's indexes at the time of the call, since UpdateTable
can add one.

``Table.update_item`` makes one core call, ``_core.embedded_update`` (with
:data:`EMBEDDED_CONTEXT`): the call's shape, its plan looked up and run; the
call's shape comes back when no plan answered, for the reference path and
:func:`build_embedded`.

Cost: one dict lookup of the shape key (``_core.write_shape``: one pass over
the call's members) per call; at most :data:`SIZE` plans per engine (a shape
no plan covers is remembered as None, so it is judged once).
"""

from kvstore import _core
from kvstore.errors import DynamoDBError
from kvstore.expressions.compiled import ProgramCondition
from kvstore.expressions.request import _MAP
from kvstore.expressions.templates import TEMPLATES
from kvstore.operations.common import check_collection_size, check_index_keys, check_item_size
from kvstore.operations.writing import _USUAL_UPDATE_MEMBERS, condition_failed

__all__ = ["EMBEDDED_CONTEXT", "build_embedded", "clear", "SIZE"]

#: plans an engine keeps (``engine.write_plans``, by shape): cleared when full, since shapes are few
SIZE = 1024

#: the members of a call a plan covers
_MEMBERS = frozenset(("Key", "UpdateExpression", "ConditionExpression", "ExpressionAttributeNames",
                      "ExpressionAttributeValues"))

_TOO_BIG = "Item size to update has exceeded the maximum allowed size"
_RESPONSE_METADATA = {"HTTPStatusCode": 200, "RetryAttempts": 0}
_NO_REQUEST = {}


def clear(engine):
    """Forget every plan of ``engine`` (tests)."""
    engine.write_plans.clear()


def build_embedded(engine, shape, table_name, allow_floats, native_request):
    """After a call of ``shape`` succeeded through the reference path: leave a plan for the shape when its
    expressions are of the shapes a plan covers (see the module docstring), or None when they are not
    (so the next calls do not try again); a plan built for a table object the engine no longer holds is
    built again."""
    plans = engine.write_plans
    table = engine.tables.get(table_name)
    if shape in plans:
        known = plans[shape]
        if known is None or known.table is table:
            return
    if table is None:
        return
    plan = _plan(table, native_request, allow_floats)
    if len(plans) >= SIZE:
        plans.clear()
    plans[shape] = plan


def _plan(table, native_request, allow_floats):
    native = _core.write_shape("UpdateItem", native_request, True, _USUAL_UPDATE_MEMBERS, _MAP)
    if native is None:
        return None
    instantiate = TEMPLATES.get(native[0])
    if instantiate is None or getattr(instantiate, "looks_inside_values", False):
        return None
    compiled = instantiate(native[1])
    if compiled is None:
        return None
    condition, update = compiled.condition, compiled.update
    if condition is not None and condition.__class__ is not ProgramCondition:
        return None
    if update is None or update.plan.program is None or update.plan.nested_top_level_names:
        return None
    for name in table.schema.names:          # an update of a key attribute is refused: by the reference path
        if name in update.plan.top_level_names:
            return None
    return UpdatePlan(table, None if condition is None else condition.program, update.plan, allow_floats)


class UpdatePlan:
    """The prepared UpdateItem of one shape on one table (see the module docstring)."""

    __slots__ = ("table", "condition", "update", "only_removes", "key_schema", "allow_floats")

    def __init__(self, table, condition, update_plan, allow_floats):
        schema = table.schema
        self.table = table
        self.condition = condition                   # the condition's program, or None
        self.update = update_plan.program
        self.only_removes = update_plan.only_removes
        self.key_schema = (schema.hash_name, schema.hash_type, schema.range_name, schema.range_type)
        self.allow_floats = allow_floats

    def run(self, engine, kwargs):
        """The call's response, or None for the reference path (``kvstore._pycore.run_update_plan``)."""
        return _core.run_update_plan(engine, self, kwargs, RUN_CONTEXT)


#: what ``_core.run_update_plan`` (a plan's call, run: see ``kvstore._pycore``) raises and checks with
RUN_CONTEXT = (DynamoDBError, condition_failed, check_item_size, check_index_keys, check_collection_size, _TOO_BIG,
               _NO_REQUEST, _RESPONSE_METADATA)

#: what ``_core.embedded_update`` (a ``Table.update_item`` call: its shape, its plan run) works with: the
#: plan's run context, the members a plan covers and the expressions' map marker
EMBEDDED_CONTEXT = (RUN_CONTEXT, _MEMBERS, _MAP)
