"""The registry of actions: derived from the operation modules present, whose declarations the faces read."""

import importlib
import pkgutil

import pytest

from kvstore import operations
from kvstore.operations import DYNAMODB, OPERATIONS, STREAMS, Operation, action_name, module_name

from .helpers import create_table, validation

_MODULES = sorted(m.name for m in pkgutil.iter_modules(operations.__path__))
#: the names an operation module may declare (kvstore/operations/__init__.py documents them)
DECLARATIONS = {"TARGET_PREFIX", "READ_ONLY", "WRITES_ITEMS", "REQUEST_VALUES", "RESPONSE_VALUES",
                "EMPTY_RESPONSE"}


def _loose(name):
    """A declaration's name without underscores and plural: READONLY, WRITE_ITEM ... meet READ_ONLY, WRITES_ITEMS."""
    return name.replace("_", "").replace("S", "")


def _module(name):
    return importlib.import_module(f"kvstore.operations.{name}")


@pytest.mark.parametrize("name", _MODULES)
def test_every_module_with_run_is_registered_under_its_file_name(name):
    module = _module(name)
    action = action_name(name)
    if hasattr(module, "run"):
        assert module_name(action) == name
        assert action in operations.ACTIONS
        assert OPERATIONS[action].module is module
    else:                                     # a shared helper: never an action, declares nothing
        assert action not in operations.ACTIONS
        with pytest.raises(KeyError):
            OPERATIONS[action]
        assert not DECLARATIONS & set(vars(module)), f"{name} declares operation facts but has no run()"


def test_every_registered_action_has_its_module():
    assert operations.ACTIONS == tuple(sorted(operations.ACTIONS))
    assert list(operations.ACTIONS) == OPERATIONS.available()
    for action in operations.ACTIONS:
        assert module_name(action) in _MODULES
        assert callable(OPERATIONS[action].run)


def test_actions_lists_only_what_exists():
    for missing in ("NoSuchAction", "Common", "TableSchema", "getItem", "Get_item", "", "../x"):
        assert missing not in operations.ACTIONS
        with pytest.raises(KeyError):
            OPERATIONS[missing]


@pytest.mark.parametrize("action", operations.ACTIONS)
def test_declarations_are_well_formed(action):
    """Misspelt declarations would silently take the default: only the documented names are used."""
    operation = OPERATIONS[action]
    module = operation.module
    near = {_loose(d): d for d in DECLARATIONS}
    for name in vars(module):
        if name.isupper() and name not in DECLARATIONS and _loose(name) in near:
            raise AssertionError(f"{action}: {name} is not an operation declaration; did you mean "
                                 f"{near[_loose(name)]}?")
    assert operation.target_prefix in (DYNAMODB, STREAMS)
    assert type(operation.read_only) is bool and type(operation.writes_items) is bool
    assert not (operation.read_only and operation.writes_items)
    for steps, kind in operation.request_paths + operation.response_paths:
        assert all(steps) and kind in operations.VALUE_KINDS


def test_declarations_are_checked_when_registered():
    import types
    run = lambda engine, request: {}  # noqa: E731
    with pytest.raises(ValueError, match="TARGET_PREFIX"):
        Operation("X", types.SimpleNamespace(run=run, TARGET_PREFIX="DynamoDB_2012"))
    with pytest.raises(ValueError, match="exclude"):
        Operation("X", types.SimpleNamespace(run=run, READ_ONLY=True, WRITES_ITEMS=True))
    with pytest.raises(ValueError, match="kind"):
        Operation("X", types.SimpleNamespace(run=run, REQUEST_VALUES=("Key:thing",)))


def test_what_the_faces_read():
    """A few facts the faces act on, as the modules declare them."""
    assert OPERATIONS["GetItem"].read_only and OPERATIONS["Query"].read_only
    assert OPERATIONS["PutItem"].writes_items and OPERATIONS["TransactWriteItems"].writes_items
    assert not OPERATIONS["CreateTable"].read_only and not OPERATIONS["CreateTable"].writes_items
    assert OPERATIONS["TagResource"].empty_response and OPERATIONS["UntagResource"].empty_response
    assert not OPERATIONS["ListTagsOfResource"].empty_response
    assert all(OPERATIONS[a].target_prefix == DYNAMODB for a in ("GetItem", "CreateBackup", "DescribeLimits"))


# -- check_members: member constraints before attribute values, on every face ------------------

@pytest.fixture
def db(dynamodb):
    return dynamodb


def test_an_enum_constraint_is_reported_before_an_invalid_value(db):
    """DynamoDB checks member constraints before attribute values; each face converts values first,
    so it asks the operation's check_members when a value is invalid."""
    table = create_table(db, hash_key=("pk", "S"))
    with validation(startswith="1 validation error detected: Value 'NOPE' at 'returnValues'"):
        table.put_item(Item={"pk": "a", "s": set()}, ReturnValues="NOPE")
    with validation(startswith="1 validation error detected: Value 'NOPE' at 'returnConsumedCapacity'"):
        table.get_item(Key={"pk": set()}, ReturnConsumedCapacity="NOPE")
    with validation(startswith="One or more parameter values were invalid: An number set  may not be empty"):
        table.put_item(Item={"pk": "a", "s": set()})


def test_a_bad_table_name_is_reported_before_an_invalid_value(db):
    table = db.Table("bad name")
    message = ("1 validation error detected: Value 'bad name' at 'tableName' failed to satisfy constraint: "
               "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+")
    with validation(message):
        table.put_item(Item={"pk": "a", "s": set()})
    with validation(message):
        table.get_item(Key={"pk": set()})
    with validation(message):
        table.query(KeyConditionExpression="pk = :v", ExpressionAttributeValues={":v": set()})
