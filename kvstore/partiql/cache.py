"""The parse and plan caches: a statement is parsed once per text and planned once per key schemas.

``statement(text)`` returns the tree (cached by text); ``plan(engine, text)``
the plan for the engine's current table (cached by text and the key schemas of
the table and index read, so a recreated table gets a new plan).  The caches
are bounded (a quarter is evicted at a time, oldest first); :data:`HOT` holds
the direct routes of :mod:`kvstore.partiql.hot`.
"""

import threading

from kvstore.errors import ValidationException
from kvstore.operations.common import get_table
from kvstore.partiql import tree
from kvstore.partiql.parser import parse
from kvstore.partiql.planner import plan_delete, plan_exists, plan_insert, plan_select, plan_update

_CACHE_SIZE = 4096
_statements = {}          # text -> tree
_plans = {}               # (text, table schema, index schema) -> plan
#: statement text -> ``answer(engine, params)`` (see kvstore.partiql.hot)
HOT = {}
_lock = threading.Lock()


def _remember(cache, key, value):
    if len(cache) >= _CACHE_SIZE:
        with _lock:
            if len(cache) >= _CACHE_SIZE:
                for old in list(cache)[:_CACHE_SIZE // 4]:
                    cache.pop(old, None)
    cache[key] = value


def statement(text):
    """The parsed statement (cached by text)."""
    node = _statements.get(text)
    if node is None:
        node = parse(text)
        _remember(_statements, text, node)
    return node


def clear_cache():
    _statements.clear()
    _plans.clear()
    HOT.clear()


def plan(engine, text, node=None):
    """``(tree, table, plan)`` for statement ``text`` against the engine's current tables."""
    if node is None:
        node = statement(text)
    select = node.select if isinstance(node, tree.Exists) else node
    table = get_table(engine, select.table)
    index = None
    if isinstance(select, tree.Select) and select.index is not None:
        index = table.indexes.get(select.index)
        if index is None:
            raise ValidationException("The table does not have the specified index")
        if index.schema.composite:
            raise ValidationException("PartiQL statements cannot be executed on tables with multi-attribute HASH "
                                      "keys or multi-attribute RANGE keys.")
    key = (text, table.schema, index.schema if index is not None else None)
    found = _plans.get(key)
    if found is None:
        if isinstance(node, tree.Exists):
            found = plan_exists(node, table)
        elif isinstance(node, tree.Select):
            found = plan_select(node, table, index)
        elif isinstance(node, tree.Insert):
            found = plan_insert(node, table)
        elif isinstance(node, tree.Update):
            found = plan_update(node, table)
        else:
            found = plan_delete(node, table)
        _remember(_plans, key, found)
    return node, table, found
