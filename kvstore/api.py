"""The Python face: a database and tables shaped like boto3's DynamoDB resource.

``kvstore.open(path)`` returns a :class:`Database` with the interface of
``boto3.resource("dynamodb")`` (``create_table``, ``Table``, ``tables.all()``,
``batch_get_item``, ``batch_write_item``) plus ``transact_write_items`` /
``transact_get_items`` taking the same request shapes with native values.  A
:class:`Table` has the methods, keyword arguments and return shapes of boto3's
Table resource, so code moves between kvstore and DynamoDB unchanged.

This layer only converts: Python values are validated into the native model
(``types.from_python``), ``Key``/``Attr`` condition objects are rendered to
expressions with placeholders, and the request goes to the same operation
modules the HTTP server uses.
"""

import datetime
import time
import types as _pytypes

from kvstore import errors
from kvstore._core import embedded_update, item_from_python, transact_actions, transact_embedded
from kvstore.conditions import _is_condition as is_condition, build_expression
from kvstore.engine.database import MEMORY, Engine
from kvstore.engine.plans import BackupPlan
from kvstore.operations import DYNAMODB, OPERATIONS, action_name, execute, module_name, read_plans, write_plans
from kvstore.operations import get_item as _get_item, transact_write_items as _transact_write_items
from kvstore.params import check as check_params, converted_sequence, raw_value_errors, transaction_checks
from kvstore.types import from_python, from_wire
from kvstore._request_shapes import RESPONSE_TIMESTAMPS

#: the start of from_python's TypeError for a map key that is not a string
_NOT_A_NAME = "Map keys must be strings"
_CONDITION_MEMBERS = (("KeyConditionExpression", True), ("FilterExpression", False),
                      ("ConditionExpression", False))
#: the members ``Database._expressions`` reads: a request with none of them is left as it is
_EXPRESSION_MEMBERS = frozenset(["ExpressionAttributeNames", "ExpressionAttributeValues"]
                                + [member for member, _ in _CONDITION_MEMBERS])
#: the single-item writes whose usual call ``Database.usual_write`` converts, and the member holding their item or key
_USUAL_WRITES = {"PutItem": "Item", "UpdateItem": "Key", "DeleteItem": "Key"}
#: the members of such a call (no legacy member, whose values convert elsewhere)
_USUAL_WRITE_MEMBERS = frozenset(("Item", "Key", "ConditionExpression", "UpdateExpression", "ExpressionAttributeNames",
                                  "ExpressionAttributeValues", "ReturnValues", "ReturnConsumedCapacity",
                                  "ReturnItemCollectionMetrics", "ReturnValuesOnConditionCheckFailure"))
#: a TransactWriteItems action's kind -> its member holding attribute values (besides ExpressionAttributeValues)
_TRANSACT_MEMBERS = {"Put": "Item", "Update": "Key", "Delete": "Key", "ConditionCheck": "Key"}
#: what ``_core.transact_request`` holds a call to (``kvstore.params``) and ``_core.transact_commit`` reads
_TRANSACT_CHECKS = transaction_checks()
_TRANSACT_CONTEXT = _transact_write_items.USUAL_CONTEXT
#: what ``_core.embedded_update`` (``Table.update_item``'s shape and prepared plan) works with
_UPDATE_CONTEXT = write_plans.EMBEDDED_CONTEXT


class Database:
    """An open kvstore database (a directory or ``":memory:"``).

    Use it as a context manager, or call :meth:`close`, so the log is flushed
    and the directory lock released.
    """

    def __init__(self, path=MEMORY, durability="batch", allow_floats=False, *, capacity="report",
                 contention=False, faults=(), metrics=False, **options):
        if capacity not in ("report", "enforce"):
            raise ValueError(f"capacity must be 'report' or 'enforce', not {capacity!r}")
        self.engine = Engine(path, durability, allow_floats=allow_floats, **options)
        if metrics:
            from kvstore.metrics import new_recorder
            self.engine.metrics = new_recorder()
        if capacity == "enforce":
            from kvstore.capacity import CapacityMeter
            self.engine.capacity = CapacityMeter(self.engine)
        if contention:
            from kvstore.contention import Contention
            self.engine.contention = Contention()
        for rule in faults:
            self.faults.add(rule)
        self.path = path
        self.allow_floats = allow_floats
        self.tables = _TableCollection(self)
        self.meta = _pytypes.SimpleNamespace(client=_Client(self))
        self._converters = {"item": self._item, "start": self._item, "items": self._items, "value": self._value,
                            "values": self._values, "params": self._parameters}

    # -- boto3 ServiceResource methods ---------------------------------------

    def create_table(self, **kwargs):
        response = self._call("CreateTable", kwargs)
        return Table(self, response["TableDescription"]["TableName"])

    def Table(self, name):  # noqa: N802  (boto3's name)
        return Table(self, name)

    def batch_get_item(self, **kwargs):
        return self._call("BatchGetItem", self.native_request("BatchGetItem", kwargs))

    def batch_write_item(self, **kwargs):
        return self._call("BatchWriteItem", self.native_request("BatchWriteItem", kwargs))

    def transact_write_items(self, **kwargs):
        """The usual call (``_core.transact_request``: nothing for boto3's parameter check to report, an
        engine that wraps no call in faults or metrics) is committed by the operation's core call
        without the check and ``run_operation``, all in one core call (``_core.transact_embedded``);
        one the core leaves to the general path (nothing was written) goes there directly.  Anything
        else takes ``_call``, which checks it first."""
        try:
            answer = transact_embedded(self.engine, kwargs, self.allow_floats, _TRANSACT_MEMBERS, _TRANSACT_CHECKS,
                                       _TRANSACT_CONTEXT)
        except errors.DynamoDBError as e:
            e._operation_name = "TransactWriteItems"
            raise
        if answer is not None:
            if answer.__class__ is dict:            # committed: the response
                return answer
            # (what run_operation and the operation's run do with neither faults nor metrics, once
            # the core's commit has answered None)
            return self._call("TransactWriteItems", answer[0], _transact_write_items.run_general)
        if kwargs.get("TransactItems").__class__ is list:       # the usual call: its actions converted at once
            # (in one core call for string expressions and their values; Key / Attr conditions here)
            actions = transact_actions(kwargs["TransactItems"], self.allow_floats, _TRANSACT_MEMBERS)
            if actions is None:
                try:
                    actions = self._transact_actions(kwargs["TransactItems"])
                except Exception:       # noqa: BLE001 - the general path below raises DynamoDB's first error
                    actions = None
            if actions is not None:
                request = dict(kwargs)
                request["TransactItems"] = actions
                return self._call("TransactWriteItems", request)
        return self._call("TransactWriteItems", self.native_request("TransactWriteItems", kwargs))

    def transact_get_items(self, **kwargs):
        return self._call("TransactGetItems", self.native_request("TransactGetItems", kwargs))

    # -- streams ---------------------------------------------------------------

    def client(self, service_name="dynamodb"):
        """A low-level client: ``"dynamodb"`` is ``db.meta.client``; ``"dynamodbstreams"`` answers
        ListStreams, DescribeStream, GetShardIterator and GetRecords exactly as boto3's
        ``dynamodbstreams`` client does (attribute values in DynamoDB JSON, timestamps as datetimes)."""
        if service_name == "dynamodb":
            return self.meta.client
        if service_name == "dynamodbstreams":
            from kvstore.streams_client import StreamsClient
            return StreamsClient(self)
        raise ValueError(f"kvstore serves 'dynamodb' and 'dynamodbstreams', not {service_name!r}")

    def stream_consumer(self, table_name, name, start="TRIM_HORIZON", timeout=None):
        """A named, durable consumer of a table's stream records (see ``kvstore.consumers``)."""
        from kvstore.consumers import StreamConsumer
        return StreamConsumer(self, table_name, name, start, timeout)

    @property
    def faults(self):
        """The :class:`kvstore.faults.FaultSet` of this database: injected errors and latency."""
        if self.engine.faults is None:
            from kvstore.faults import FaultSet
            self.engine.faults = FaultSet()
        return self.engine.faults

    def metrics(self):
        """The database's figures now, a :class:`kvstore.metrics.Snapshot` (docs/operations.md, "Metrics").

        Items and bytes per table and index, the log, streams and TTL are always
        there; the request figures (requests, SuccessfulRequestLatency, errors,
        returned and scanned items, consumed capacity) only when the database was
        opened with ``metrics=True`` (off by default: recording costs a little on
        every call; ``kvstore serve`` turns it on).  ``snapshot.value(name,
        **labels)`` sums one figure, ``snapshot.as_dict()`` gives them all,
        ``snapshot.to_prometheus()`` what ``GET /metrics`` serves.
        """
        from kvstore.metrics import snapshot
        return snapshot(self.engine)

    # -- lifecycle -------------------------------------------------------------

    def close(self):
        self.engine.close()

    def checkpoint(self):
        """Write a checkpoint now (it also happens in the background)."""
        self.engine.checkpoint()

    @property
    def backup_plans(self):
        """The backup plans running on this database (``kvstore.open(..., backup_plans=[...])``)."""
        return list(self.engine.plans)

    def add_backup_plan(self, plan):
        """Run ``plan`` (a :class:`kvstore.BackupPlan`, or ``"NAME:EVERY:KEEP[:TABLES]"``) from now on.

        A plan of the same name is replaced.  Its first backup is taken at once
        for a table whose newest backup of the plan is an interval old or missing.
        """
        if isinstance(plan, str):
            plan = BackupPlan.parse(plan)
        return self.engine.plans.add(plan)

    def remove_backup_plan(self, name):
        """Stop the plan ``name``; the backups it made stay until deleted."""
        self.engine.plans.remove(name)

    @property
    def clock(self):
        """The database's clock (``kvstore.open(..., clock=...)``; wall time by default)."""
        return self.engine.clock

    def run_pending(self):
        """Run the background work due by the clock now (TTL sweeps, ...) in this thread; wait for the rest.

        With a :class:`kvstore.clock.ManualClock`, ``clock.advance(86400)``
        then ``db.run_pending()`` makes a day's background work happen before
        the call returns: a test never sleeps.  Returns the names of the jobs this
        thread ran (a job already running on the scheduler's thread is waited for).
        """
        return self.engine.scheduler.run_pending()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return f"kvstore.Database({self.path!r})"

    # -- conversion ------------------------------------------------------------

    def _call(self, action, request, run=None):
        """``execute`` the request after boto3's parameter check; ``run``: the operation's function that
        answers it instead (the caller knows ``run_operation`` would add nothing)."""
        try:
            check_params(action, request)         # boto3's ParamValidationError, before DynamoDB's checks
            response = execute(self.engine, action, request) if run is None else run(self.engine, request)
        except errors.DynamoDBError as e:
            e._operation_name = action
            raise
        dated = RESPONSE_TIMESTAMPS.get(action)
        if dated is not None:
            response = _with_datetimes(response, dated)
        # boto3 responses carry ResponseMetadata; code checks its HTTPStatusCode
        response["ResponseMetadata"] = {"HTTPStatusCode": 200, "RetryAttempts": 0}
        return response

    def _value(self, value):
        return from_python(value, self.allow_floats)

    def _values(self, values):
        if not converted_sequence(values):
            return _from_raw(values, from_wire)
        return [from_python(v, self.allow_floats) for v in values]

    def _item(self, item):
        return item_from_python(item, self.allow_floats)       # (compiled: kvstore._core)

    def _items(self, items):
        if not converted_sequence(items):
            return _from_raw(items, _key_from_wire)
        return [self._item(item) for item in items]

    def _transact_actions(self, actions):
        """``native_request``'s TransactItems for actions of the usual shape (one kind each, its
        members in a dict), or None for anything else: the same values, without the general walk."""
        out = []
        for action in actions:
            if action.__class__ is not dict or len(action) != 1:
                return None
            for kind, spec in action.items():
                pass
            member = _TRANSACT_MEMBERS.get(kind)
            if member is None or spec.__class__ is not dict:
                return None
            spec = dict(spec)
            if member in spec:
                spec[member] = self._item(spec[member])
            out.append({kind: self._rendered(spec)})
        return out

    def _expressions(self, spec):
        """A request (or a transaction's action) with Key/Attr conditions rendered and values converted."""
        if not isinstance(spec, dict):
            return spec
        return self._rendered(dict(spec))

    def _rendered(self, request):
        """``_expressions`` of a request that is already the caller's own copy (changed in place)."""
        if request.keys().isdisjoint(_EXPRESSION_MEMBERS):
            return request
        names = request.get("ExpressionAttributeNames")
        values = request.get("ExpressionAttributeValues")
        for member, is_key in _CONDITION_MEMBERS:
            condition = request.get(member)
            if condition is not None and not isinstance(condition, str) and is_condition(condition):
                text, names, values = build_expression(condition, is_key, names, values)
                request[member] = text
        if names is not None:
            request["ExpressionAttributeNames"] = names
        if values is not None:
            request["ExpressionAttributeValues"] = self._placeholder_values(values)
        return request

    def _placeholder_values(self, values):
        """ExpressionAttributeValues converted from Python values, each as ``_placeholder_value`` does."""
        if not isinstance(values, dict):
            return values
        if values.__class__ is dict:
            # the usual map, in one core call (the same conversion per value, in order); a name
            # that is not a str, or a value refused, is redone below to raise what it raised before
            try:
                converted = item_from_python(values, self.allow_floats)
            except errors.ValidationException:
                converted = values
            if converted is not values:
                return converted
        return {k: self._placeholder_value(k, v) for k, v in values.items()}

    def _parameters(self, values):
        """PartiQL Parameters: PartiQL's number rules (kvstore.partiql.parameters), then the values."""
        if not converted_sequence(values):
            return _from_raw(values, from_wire)
        from kvstore.partiql.parameters import check_native, converted
        out = []
        for value in values:
            check_native(value)
            out.append(converted(self._value, value))
        return out

    def _placeholder_value(self, placeholder, value):
        try:
            return self._value(value)
        except errors.ValidationException as e:
            raise errors.ValidationException(
                f"ExpressionAttributeValues contains invalid value: {e.message} for key {placeholder}") from None

    def usual_write(self, member, kwargs, table_name):
        """``native_request`` of a PutItem, UpdateItem or DeleteItem of the usual shape (members in
        ``_USUAL_WRITE_MEMBERS``; ``member`` holds its item or key), or None for anything else, or
        when a value does not convert (``native_request`` then raises what it raises)."""
        condition = kwargs.get("ConditionExpression")
        if condition is not None and condition.__class__ is not str:
            return None                           # a Key / Attr condition: rendered by _rendered
        request = dict(kwargs, TableName=table_name)
        try:
            if member in request:
                request[member] = self._item(request[member])
            values = request.get("ExpressionAttributeValues")
            if values is not None:
                request["ExpressionAttributeValues"] = self._placeholder_values(values)
        except Exception:       # noqa: BLE001 - redone by native_request, which raises DynamoDB's first error
            return None
        return request

    def native_request(self, action, kwargs):
        """The native request of ``action`` from boto3-style keyword arguments.

        Python values are validated into the native model where the action's
        module declares attribute values (``REQUEST_VALUES``), and ``Key`` /
        ``Attr`` conditions are rendered to expressions beside each
        ``ExpressionAttributeValues`` place.  ``kwargs`` is not modified.
        """
        try:
            operation = OPERATIONS[action]
        except KeyError:
            return dict(kwargs)                   # execute() answers UnknownOperationException
        tree = _TREES.get(operation)
        if tree is None:
            tree = _TREES[operation] = _path_tree(operation.request_paths)
        if tree is not False:
            try:
                request = self._walk(kwargs, tree)
            except Exception:       # noqa: BLE001 - redone path by path, which raises DynamoDB's first error
                request = None
            if request is not None:
                return dict(request) if request is kwargs else request
        request = kwargs
        try:
            for steps, kind in operation.request_paths:
                if kind == "eav":
                    request = _convert(request, steps[:-1], self._expressions)
                else:
                    request = _convert(request, steps, self._converters[kind])
        except errors.DynamoDBError as e:
            self.refuse_value(action, e, kwargs, kwargs)
        except TypeError as e:
            if str(e).startswith(_NOT_A_NAME):        # {"m": {1: 2}}: boto3's ParamValidationError
                check_params(action, kwargs, attribute_names=True)
            raise
        return dict(request) if request is kwargs else request

    def _walk(self, node, tree):
        """``node`` with every value place of ``tree`` (see :func:`_path_tree`) converted, in one walk.

        The same result as converting the request's paths one after another
        (each conversion reads and writes only its own member; the caller's
        arguments are never modified), without copying the structures the
        paths share once per path: a TransactWriteItems of two actions walked
        its action list eight times.  An invalid value raises here in walk
        order, so the caller redoes the request path by path, in declared
        order, to raise the error DynamoDB reports first.
        """
        kind, children, eav = tree
        if kind == "*":
            if isinstance(node, dict):
                node = {k: self._walk(v, children) for k, v in node.items()}
        elif kind == "[]":
            if isinstance(node, (list, tuple)):
                node = [self._walk(v, children) for v in node]
        elif isinstance(node, dict):
            out = None
            for name, child in children:
                if name in node:
                    value = node[name]
                    if child.__class__ is str:
                        value = self._converters[child](value)
                    else:
                        value = self._walk(value, child)
                    if out is None:
                        out = dict(node)
                    out[name] = value
            if out is not None:
                node = out
        if eav:
            node = self._expressions(node)
        return node

    def refuse_value(self, action, error, request, members):
        """Raise what a call whose attribute value did not convert (``error``) gets: boto3 converts
        values without judging them and checks parameters next, so a wrong type elsewhere in
        ``request`` is its ParamValidationError; then DynamoDB reports an action's member constraints
        (of ``members``) before an invalid value; else ``error``.  Named after ``action``, as ``_call``
        names what an operation raises.  boto3's serializer makes every value DynamoDB JSON before
        the check, so a name that is not a string anywhere in the values (``{"m": {1: 2}}``) is
        reported with the rest, whatever value failed here."""
        check_params(action, request, attribute_names=True)
        try:
            if isinstance(error, errors.ValidationException):
                self.members_first(OPERATIONS[action], members)
        except errors.DynamoDBError as first:
            first._operation_name = action
            raise
        error._operation_name = action
        raise error

    @staticmethod
    def members_first(operation, request):
        """DynamoDB reports an action's member constraints before an invalid attribute value."""
        if operation.check_members is not None:
            operation.check_members(request)



#: Operation -> its request paths as one tree for ``Database._walk`` (False: walk path by path)
_TREES = {}


def _path_tree(paths):
    """The request paths of an operation as a tree of ``(kind, children, eav)`` nodes.

    ``kind`` is ``"*"`` (every value of a map; ``children`` is the node for
    them), ``"[]"`` (every element of a list) or None (named members:
    ``children`` is ``((name, node or converter kind), ...)``); ``eav`` marks a
    structure holding an ExpressionAttributeValues map, which
    ``Database._expressions`` converts whole.  False when the paths do not
    form such a tree (a place that is both a value and a structure, or a map
    walked both by name and by ``*``).
    """
    root = {}
    eav_at = set()
    for steps, kind in paths:
        if kind == "eav":
            steps, kind = steps[:-1], None
        node = root
        for step in steps[:-1]:
            node = node.setdefault(step, {})
            if node.__class__ is not dict:
                return False
        if kind is None:
            eav_at.add(steps)
            continue
        if steps[-1] in node:
            return False
        node[steps[-1]] = kind
    for steps in eav_at:           # an eav place must be a structure (or the request itself)
        node = root
        for step in steps:
            node = node.setdefault(step, {})
            if node.__class__ is not dict:
                return False

    def build(node, at):
        wild = [s for s in node if s in ("*", "[]")]
        if wild and len(node) > 1:
            return None
        if wild:
            child = build(node[wild[0]], at + (wild[0],))
            return None if child is None else (wild[0], child, at in eav_at)
        children = []
        for name, sub in node.items():
            if sub.__class__ is str:
                children.append((name, sub))
            else:
                child = build(sub, at + (name,))
                if child is None:
                    return None
                children.append((name, child))
        return None, tuple(children), at in eav_at

    tree = build(root, ())
    return False if tree is None else tree


def _with_datetimes(node, tree):
    """``node`` with the epoch seconds at ``tree``'s timestamps as aware datetimes, as botocore parses a
    response (``_request_shapes.RESPONSE_TIMESTAMPS``); what lies on the way is copied, never modified."""
    if isinstance(node, list):
        return [_with_datetimes(v, tree) for v in node]
    if tree is True:
        return _datetime(node) if isinstance(node, (int, float)) and not isinstance(node, bool) else node
    if not isinstance(node, dict):
        return node
    if "*" in tree:
        return {k: _with_datetimes(v, tree["*"]) for k, v in node.items()}
    out = dict(node)
    for member, inner in tree.items():
        if member in out:
            out[member] = _with_datetimes(out[member], inner)
    return out


def _datetime(seconds):
    return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc)


def _from_raw(values, convert):
    """A tuple where the model has a list of attribute values (or of keys): boto3 leaves its values
    as they are (it converts Python values in a list only), so they are DynamoDB JSON; converted
    with ``convert`` when the parameter check would pass every one, else the tuple itself, for
    that check to report (anything that is not a tuple: as it is, for the check)."""
    if values.__class__ is not tuple or any(raw_value_errors(v, convert is _key_from_wire) for v in values):
        return values
    return [convert(v) for v in values]


def _key_from_wire(key):
    return {name: from_wire(value) for name, value in key.items()}


def _convert(node, steps, convert):
    """``node`` with the value at ``steps`` converted, copying what lies on the way (the caller's
    arguments are never modified); a shape that does not fit is left for the operation to reject."""
    if not steps:
        return convert(node)
    step, rest = steps[0], steps[1:]
    if step == "*":
        if not isinstance(node, dict):
            return node
        return {k: _convert(v, rest, convert) for k, v in node.items()}
    if step == "[]":
        if not isinstance(node, (list, tuple)):
            return node
        return [_convert(v, rest, convert) for v in node]
    if not isinstance(node, dict) or step not in node or (rest and node[step] is None):
        return node
    out = dict(node)
    out[step] = _convert(node[step], rest, convert)
    return out


class Table:
    """A table, shaped like boto3's ``dynamodb.Table`` resource."""

    def __init__(self, database, name):
        self._db = database
        self.name = name
        self.table_name = name
        self.meta = _pytypes.SimpleNamespace(client=database.meta.client)

    def __repr__(self):
        return f"dynamodb.Table(name={self.name!r})"

    def __eq__(self, other):
        return isinstance(other, Table) and other._db is self._db and other.name == self.name

    def __hash__(self):
        return hash(self.name)

    # -- data plane ------------------------------------------------------------

    def put_item(self, **kwargs):
        if len(kwargs) == 1 and "Item" in kwargs:      # the common case: one member to convert
            return self._db._call("PutItem", self._one_member("PutItem", "Item", kwargs))
        return self._call("PutItem", kwargs)

    def get_item(self, **kwargs):
        if len(kwargs) == 1 and "Key" in kwargs:
            response = _get_item.run_key(self._db.engine, self.name, kwargs["Key"])
            if response is not None:
                response["ResponseMetadata"] = {"HTTPStatusCode": 200, "RetryAttempts": 0}
                return response
            return self._db._call("GetItem", self._one_member("GetItem", "Key", kwargs))
        return self._call("GetItem", kwargs)

    def update_item(self, **kwargs):
        """A call of a shape seen before runs its prepared plan (``write_plans``); the first of a shape,
        and anything the plan leaves to the reference, takes the general path, which leaves the plan."""
        db = self._db
        engine = db.engine
        shape = embedded_update(engine, ("embedded", self.name, db.allow_floats), kwargs, _UPDATE_CONTEXT)
        if shape.__class__ is dict:         # (the plan's response)
            return shape
        if shape is not None:
            request = db.usual_write("Key", kwargs, self.name)
            if request is not None:
                response = db._call("UpdateItem", request)
                write_plans.build_embedded(engine, shape, self.name, db.allow_floats, request)
                return response
        return self._call("UpdateItem", kwargs)

    def delete_item(self, **kwargs):
        return self._call("DeleteItem", kwargs)

    def query(self, **kwargs):
        db = self._db
        # a plain page of a shape seen before, in one core call; else the call's shape (or None) for _read
        shape = read_plans.embedded_read(db.engine, ("embedded", "Query", self.name, db.allow_floats), kwargs)
        if shape.__class__ is dict:
            return shape
        return self._read("Query", kwargs, shape)

    def scan(self, **kwargs):
        db = self._db
        shape = read_plans.embedded_read(db.engine, ("embedded", "Scan", self.name, db.allow_floats), kwargs)
        if shape.__class__ is dict:
            return shape
        return self._read("Scan", kwargs, shape)

    def _read(self, action, kwargs, shape):
        """A Query or Scan that ``read_plans.embedded_read`` did not answer in one core call (``shape``:
        the call's shape, or None when it has none a plan can serve): a call of a shape seen before runs
        its prepared plan with the conversion of its values folded in (``read_plans.run_embedded``); the
        first of a shape, and anything the plan leaves out, takes the general path (``_call``), which
        leaves the plan."""
        db = self._db
        engine = db.engine
        if shape is not None:
            response = read_plans.run_embedded(engine, shape, kwargs)
            if response is not None:
                response["ResponseMetadata"] = {"HTTPStatusCode": 200, "RetryAttempts": 0}
                return response
        request = db.native_request(action, dict(kwargs, TableName=self.name))
        response = db._call(action, request)
        if shape is not None and shape not in engine.read_plans:
            read_plans.build_embedded(engine, shape, request)
        return response

    def stream(self, start="TRIM_HORIZON", timeout=None):
        """The table's stream records as they commit, in process (see ``kvstore.consumers``)."""
        from kvstore.consumers import StreamReader
        return StreamReader(self._db, self.name, start, timeout)

    def batch_writer(self, overwrite_by_pkeys=None, flush_amount=25):
        """A buffering writer like boto3's: sends BatchWriteItem 25 requests at a time."""
        from kvstore.batch_writer import BatchWriter
        return BatchWriter(self._db, self.name, overwrite_by_pkeys, flush_amount)

    def _call(self, action, kwargs):
        db = self._db
        member = _USUAL_WRITES.get(action)
        if member is not None and kwargs.keys() <= _USUAL_WRITE_MEMBERS:
            request = db.usual_write(member, kwargs, self.name)
            if request is not None:
                return db._call(action, request)
        return db._call(action, db.native_request(action, dict(kwargs, TableName=self.name)))

    def _one_member(self, action, member, kwargs):
        try:
            return {"TableName": self.name, member: self._db._item(kwargs[member])}
        except errors.DynamoDBError as e:
            self._db.refuse_value(action, e, {**kwargs, "TableName": self.name},
                                  {"TableName": self.name, member: kwargs[member]})
        except TypeError as e:
            if str(e).startswith(_NOT_A_NAME):
                check_params(action, {**kwargs, "TableName": self.name}, attribute_names=True)
            raise

    # -- control plane ---------------------------------------------------------

    def describe(self):
        return self._db._call("DescribeTable", {"TableName": self.name})["Table"]

    def load(self):
        self.describe()

    reload = load

    def delete(self):
        return self._db._call("DeleteTable", {"TableName": self.name})

    def update(self, **kwargs):
        request = dict(kwargs, TableName=self.name)
        self._db._call("UpdateTable", request)
        return self

    def wait_until_exists(self):
        self.describe()

    def wait_until_not_exists(self):
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                self.describe()
            except errors.ResourceNotFoundException:
                return
            time.sleep(0.01)

    def _attribute(member, default=None):  # noqa: N805 (descriptor factory)
        return property(lambda self: self.describe().get(member, default),
                        doc=f"``{member}`` of the table's description (boto3 attribute).")

    attribute_definitions = _attribute("AttributeDefinitions")
    key_schema = _attribute("KeySchema")
    table_status = _attribute("TableStatus")
    creation_date_time = _attribute("CreationDateTime")
    provisioned_throughput = _attribute("ProvisionedThroughput")
    table_size_bytes = _attribute("TableSizeBytes")
    item_count = _attribute("ItemCount")
    table_arn = _attribute("TableArn")
    table_id = _attribute("TableId")
    billing_mode_summary = _attribute("BillingModeSummary")
    local_secondary_indexes = _attribute("LocalSecondaryIndexes")
    global_secondary_indexes = _attribute("GlobalSecondaryIndexes")
    stream_specification = _attribute("StreamSpecification")
    latest_stream_label = _attribute("LatestStreamLabel")
    latest_stream_arn = _attribute("LatestStreamArn")
    restore_summary = _attribute("RestoreSummary")
    sse_description = _attribute("SSEDescription")
    table_class_summary = _attribute("TableClassSummary")
    deletion_protection_enabled = _attribute("DeletionProtectionEnabled")
    del _attribute


class _TableCollection:
    """``db.tables.all()`` / ``.limit(n)`` / ``.page_size(n)`` like boto3's collection."""

    def __init__(self, database):
        self._db = database

    def all(self):
        start = None
        while True:
            request = {} if start is None else {"ExclusiveStartTableName": start}
            page = self._db._call("ListTables", request)
            for name in page["TableNames"]:
                yield Table(self._db, name)
            start = page.get("LastEvaluatedTableName")
            if start is None:
                return

    __iter__ = all

    def limit(self, count):
        for i, table in enumerate(self.all()):
            if i >= count:
                return
            yield table

    def page_size(self, count):
        return self.all()


class _Client:
    """``db.meta.client``: the low-level client as boto3's resource leaves it.

    boto3's DynamoDB resource registers its value (de)serialisation on its own
    ``meta.client``, so ``dynamodb.meta.client.list_tables()``,
    ``.transact_write_items(...)`` or ``.create_backup(...)`` take and return
    plain Python values; this client does the same.  Every action is a method
    named in snake_case; ``exceptions`` holds the error classes
    (``client.exceptions.ConditionalCheckFailedException``).
    """

    def __init__(self, database):
        self._db = database
        self.exceptions = _pytypes.SimpleNamespace(
            **{name: cls for name, cls in errors.ERRORS_BY_CODE.items()}, ClientError=errors.ClientError)

    def __getattr__(self, name):
        action = action_name(name)
        try:
            operation = OPERATIONS[action] if module_name(action) == name else None
        except KeyError:
            operation = None
        if operation is None or operation.target_prefix != DYNAMODB:      # Streams has a client of its own
            raise AttributeError(f"'DynamoDB' client has no method {name!r}")
        db = self._db

        def call(**kwargs):
            return db._call(action, db.native_request(action, kwargs))

        call.__name__ = name
        return call


def open(path=MEMORY, durability="batch", allow_floats=False, **options):  # noqa: A001 (kvstore.open)
    """Open (or create) a database directory, or ``":memory:"``.

    ``durability``: ``"sync"`` (acknowledged means fsynced; concurrent writers
    share fsyncs), ``"batch"`` (default: fsynced within a few milliseconds) or
    ``"none"``.  ``allow_floats=True`` converts Python floats to numbers through
    their shortest exact repr instead of rejecting them as boto3 does.

    Other options: ``clock`` (a callable returning epoch seconds, e.g.
    :class:`kvstore.clock.ManualClock`: every feature reads the time from it;
    see docs/testing.md), ``ttl_sweep_seconds`` (how often expired items are
    deleted, default 1; None: only by ``db.engine.ttl.run()``),
    ``ttl_cooldown_seconds`` (refuse a TTL change this soon after the last,
    as DynamoDB does with about an hour; default never), ``backup_plans``
    (:class:`kvstore.BackupPlan` s or ``"NAME:EVERY:KEEP[:TABLES]"`` strings:
    backups on a schedule with a retention; see docs/operations.md).

    Unhappy paths, for testing code that must survive them (docs/testing-failures.md):
    ``capacity="enforce"`` throttles as DynamoDB does past each table's and
    GSI's capacity (``kvstore.capacity``); ``faults=[FaultRule(...)]`` injects
    errors and latency (``kvstore.faults``, also ``db.faults``);
    ``contention=True`` makes concurrent transactions on one item conflict
    (``kvstore.contention``).
    """
    if options.get("backup_plans"):
        options["backup_plans"] = [BackupPlan.parse(p) if isinstance(p, str) else p for p in options["backup_plans"]]
    return Database(path, durability, allow_floats, **options)
