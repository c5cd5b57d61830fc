"""DynamoDB actions, one module each: the single source of truth for behaviour.

Each module exposes ``run(engine, request) -> response`` over native values
(see ``docs/design.md``).  :func:`execute` dispatches by DynamoDB action name;
the Python API, the HTTP server and the boto3 hook all call it.
"""

import importlib
import re

from kvstore.errors import UnknownOperationException

#: DynamoDB action name -> module name under kvstore.operations
ACTIONS = [
    "CreateTable", "DescribeTable", "ListTables", "DeleteTable", "UpdateTable",
    "PutItem", "GetItem", "UpdateItem", "DeleteItem", "Query", "Scan",
    "BatchGetItem", "BatchWriteItem", "TransactWriteItems", "TransactGetItems",
    "TagResource", "UntagResource", "ListTagsOfResource",
    "DescribeLimits", "DescribeEndpoints", "DescribeContinuousBackups",
    "UpdateTimeToLive", "DescribeTimeToLive",
    "CreateBackup", "DescribeBackup", "ListBackups", "DeleteBackup", "RestoreTableFromBackup",
    "ListStreams", "DescribeStream", "GetShardIterator", "GetRecords",
    "ExecuteStatement", "BatchExecuteStatement", "ExecuteTransaction",
]


def module_name(action):
    return re.sub(r"(?<!^)(?=[A-Z])", "_", action).lower()


class _Registry(dict):
    """action -> module, imported on first use so start-up stays fast."""

    def __missing__(self, action):
        if action not in ACTIONS:
            raise KeyError(action)
        try:
            module = importlib.import_module(f"kvstore.operations.{module_name(action)}")
        except ModuleNotFoundError as e:
            if e.name != f"kvstore.operations.{module_name(action)}":
                raise
            raise KeyError(action) from None
        self[action] = module
        return module

    def available(self):
        out = []
        for action in ACTIONS:
            try:
                self[action]
            except KeyError:
                continue
            out.append(action)
        return out


OPERATIONS = _Registry()


def execute(engine, action, request):
    """Run DynamoDB action ``action`` with a native ``request``; return the native response."""
    try:
        module = OPERATIONS[action]
    except KeyError:
        raise UnknownOperationException(f"Unknown operation: {action}") from None
    return module.run(engine, request)
