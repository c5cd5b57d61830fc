"""DynamoDB actions, one module each: the single source of truth for behaviour.

A module of this package that defines ``run(engine, request) -> response``
(native values in and out, see ``docs/design.md``) *is* the action its file
name spells in CamelCase: ``get_item.py`` is GetItem, ``list_streams.py`` is
ListStreams.  Writing the module is all it takes to add an action: the
registry (:data:`OPERATIONS`, :data:`ACTIONS`) is derived from the modules
present, and every face (``kvstore.api``, ``kvstore.server``,
``kvstore.testing``) reads what it needs to know about an action from here.
Modules without ``run`` are shared helpers (``common``, ``reading``,
``writing``, ``transactions``, ``table_description``, ``table_schema``,
``backups``, ``tags``).

Besides ``run``, an operation module declares these facts about itself; each
is optional and the default is what most actions are:

``TARGET_PREFIX`` (default :data:`DYNAMODB`)
    The service whose ``X-Amz-Target`` prefix names the action on the wire:
    :data:`DYNAMODB` (``DynamoDB_20120810``) or :data:`STREAMS`
    (``DynamoDBStreams_20120810``).  An action is unknown under the other one.
``READ_ONLY = True``
    The action changes nothing and never waits on the disk: the HTTP server
    runs it on its event loop.
``WRITES_ITEMS = True``
    The action changes only items, through the log: it waits on the disk only
    under ``sync`` durability, so the server runs it on its event loop under
    ``batch`` and ``none``.  Everything else runs in the server's thread pool.
``REQUEST_VALUES`` / ``RESPONSE_VALUES`` (tuples of ``"path:kind"``)
    Where attribute values sit in the request and in the response; the faces
    convert them (wire JSON or Python values <-> native) and pass every other
    member through untouched.  A path is dot-separated steps: a member name,
    ``*`` for every value of a map, ``[]`` for every element of a list.  The
    kind says what is there (:data:`VALUE_KINDS`): ``item`` (a map of
    attribute values), ``items`` (a list of them), ``value``, ``values``,
    ``start`` (an ExclusiveStartKey), ``eav`` (an ExpressionAttributeValues
    map; the structure holding it holds the request's expressions, where the
    Python face renders ``Key``/``Attr`` condition objects) and ``params`` (a
    PartiQL ``Parameters`` list: ``values`` read with PartiQL's number rules).
``EMPTY_RESPONSE = True``
    Success answers with an empty body on the wire (TagResource).
``check_members(request)``
    The member constraints (table name, enums, required members) DynamoDB
    reports before it looks at attribute values.  A face that meets an invalid
    attribute value while converting the request calls it first, so the
    constraint error wins as it does in DynamoDB; ``run`` calls it too.
"""

import importlib
import pkgutil
import re

from kvstore.errors import UnknownOperationException

#: ``X-Amz-Target`` prefix of the DynamoDB API
DYNAMODB = "DynamoDB_20120810"
#: ``X-Amz-Target`` prefix of the DynamoDB Streams API
STREAMS = "DynamoDBStreams_20120810"
TARGET_PREFIXES = (DYNAMODB, STREAMS)
#: the kinds of attribute-value places a ``REQUEST_VALUES`` / ``RESPONSE_VALUES`` path may name
VALUE_KINDS = ("item", "items", "value", "values", "start", "eav", "params")

_ACTION_NAME = re.compile(r"[A-Z][a-z0-9]*(?:[A-Z][a-z0-9]*)*\Z")


def module_name(action):
    """``GetItem`` -> ``get_item``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", action).lower()


def action_name(module):
    """``get_item`` -> ``GetItem``."""
    return "".join(part.capitalize() for part in module.split("_"))


class Operation:
    """What the faces know about one action, read from its module's declarations."""

    __slots__ = ("action", "module", "run", "target_prefix", "read_only", "writes_items",
                 "request_values", "response_values", "request_paths", "response_paths",
                 "empty_response", "check_members")

    def __init__(self, action, module):
        self.action = action
        self.module = module
        self.run = module.run
        self.target_prefix = getattr(module, "TARGET_PREFIX", DYNAMODB)
        self.read_only = getattr(module, "READ_ONLY", False)
        self.writes_items = getattr(module, "WRITES_ITEMS", False)
        self.request_values = tuple(getattr(module, "REQUEST_VALUES", ()))
        self.response_values = tuple(getattr(module, "RESPONSE_VALUES", ()))
        self.request_paths = tuple(parse_path(p) for p in self.request_values)
        self.response_paths = tuple(parse_path(p) for p in self.response_values)
        self.empty_response = getattr(module, "EMPTY_RESPONSE", False)
        self.check_members = getattr(module, "check_members", None)
        if self.target_prefix not in TARGET_PREFIXES:
            raise ValueError(f"{action}: TARGET_PREFIX must be one of {TARGET_PREFIXES}")
        if self.read_only and self.writes_items:
            raise ValueError(f"{action}: READ_ONLY and WRITES_ITEMS exclude each other")

    def __repr__(self):
        return f"<Operation {self.target_prefix}.{self.action}>"


def parse_path(spec):
    """``"RequestItems.*.Keys:items"`` -> ``(("RequestItems", "*", "Keys"), "items")``."""
    path, _, kind = spec.partition(":")
    if kind not in VALUE_KINDS or not path:
        raise ValueError(f"bad attribute-value path {spec!r}: kind must be one of {VALUE_KINDS}")
    return tuple(path.split(".")), kind


#: module names of this package (found without importing them)
_MODULES = frozenset(m.name for m in pkgutil.iter_modules(__path__))


class _Registry(dict):
    """action -> :class:`Operation`, each module imported on first use so start-up stays fast."""

    def __missing__(self, action):
        if type(action) is not str or not _ACTION_NAME.match(action):
            raise KeyError(action)
        name = module_name(action)
        if name not in _MODULES:
            raise KeyError(action)
        module = importlib.import_module(f"{__name__}.{name}")
        if not callable(getattr(module, "run", None)):
            raise KeyError(action)                # a shared helper module, not an action
        operation = self[action] = Operation(action, module)
        return operation

    def available(self):
        """Every action, in name order (imports every module)."""
        return list(_all_actions())


def _all_actions():
    out = []
    for name in sorted(_MODULES):
        try:
            OPERATIONS[action_name(name)]
        except KeyError:
            continue
        out.append(action_name(name))
    return out


OPERATIONS = _Registry()


def __getattr__(name):
    # ``ACTIONS`` imports every operation module: computed when first asked for, not on import.
    if name == "ACTIONS":
        actions = globals()["ACTIONS"] = tuple(_all_actions())
        return actions
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def execute(engine, action, request):
    """Run DynamoDB action ``action`` with a native ``request``; return the native response."""
    try:
        operation = OPERATIONS[action]
    except KeyError:
        raise UnknownOperationException(f"Unknown operation: {action}") from None
    return run_operation(engine, operation, request)


def run_operation(engine, operation, request):
    """The one path from every face to an operation: injected faults, metrics, then ``run``.

    ``execute`` (the Python API, tools) and the wire's ``RequestHandler`` (the
    HTTP server and the boto3 hook) both end here, so what happens around an
    operation cannot differ between the faces.
    """
    metrics = engine.metrics
    if metrics is not None and request.__class__ is dict:     # kvstore.metrics: recorded around the run
        return metrics.observe(engine, operation, request)   # (and the faults, which it counts too)
    if engine.faults is not None:          # kvstore.faults: injected errors, before anything changes
        engine.faults.before(engine, operation.action, request)
    return operation.run(engine, request)
