"""DynamoDB expressions: parse once, check in DynamoDB's order, evaluate on native items.

:func:`compile_request` is the one entry point the operations use::

    compiled = compile_request(operation="UpdateItem", condition="attribute_exists(pk)",
                               update="SET #c = #c + :one", names={"#c": "count"},
                               values={":one": Decimal(1)})
    compiled.condition.evaluate(old_item)      # -> bool (old_item None: the item is missing)
    new_item = compiled.update.apply(old_item, True)

It returns :class:`Compiled` with ``condition``, ``filter``, ``key_condition``,
``update`` and ``projection`` (each None when not given).  Where the work is:

* :mod:`~kvstore.expressions.request`: compile_request, the order of the checks;
* :mod:`~kvstore.expressions.placeholders`: ExpressionAttributeNames / Values checks;
* :mod:`~kvstore.expressions.templates`: the request-shape template cache;
* :mod:`~kvstore.expressions.compiled`: what compile_request returns;
* tokens, parser and tree: the text; validate: the checks on the tree;
  evaluate, key_condition, update, projection: the compiled parts;
* :mod:`~kvstore.expressions.legacy`: Expected, AttributeUpdates and the
  other pre-expression parameters, compiled to the same objects.
"""

from kvstore.expressions.compiled import Compiled, Condition
from kvstore.expressions.key_condition import KeyCondition, ResolvedKeyCondition
from kvstore.expressions.placeholders import check_placeholder_maps
from kvstore.expressions.projection import Projection
from kvstore.expressions.request import clear_cache, compile_request
from kvstore.expressions.update import Update

__all__ = ["compile_request", "check_placeholder_maps", "Compiled", "Condition", "KeyCondition",
           "ResolvedKeyCondition", "Update", "Projection", "clear_cache"]
