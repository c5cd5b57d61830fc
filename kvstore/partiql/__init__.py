"""DynamoDB's PartiQL dialect as a front end over the item operations.

``statement(text)`` parses once per text and ``plan(engine, text)`` maps the
statement to operation requests once per (text, key schemas)
(:mod:`~kvstore.partiql.cache`); :func:`run_select` pages a SELECT through
GetItem, Query or Scan (:mod:`~kvstore.partiql.select`); writes are run by the
operation modules from :meth:`WritePlan.request`; :mod:`~kvstore.partiql.hot`
keeps direct routes for repeated SELECTs.  The three PartiQL actions live in
``kvstore/operations/{execute_statement,batch_execute_statement,execute_transaction}.py``.
"""

from kvstore.partiql import tree
from kvstore.partiql.cache import HOT, clear_cache, plan, statement
from kvstore.partiql.errors import strip_expression_prefix
from kvstore.partiql.hot import remember_hot
from kvstore.partiql.planner import SelectPlan, WritePlan
from kvstore.partiql.select import add_capacity, get_request, project, run_select

__all__ = ["statement", "plan", "clear_cache", "run_select", "get_request", "project", "add_capacity",
           "remember_hot", "strip_expression_prefix", "HOT", "SelectPlan", "WritePlan", "tree"]
