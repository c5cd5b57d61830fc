"""What :func:`~kvstore.expressions.compile_request` returns: :class:`Compiled` and :class:`Condition`.

The other compiled parts (:class:`~kvstore.expressions.key_condition.KeyCondition`,
:class:`~kvstore.expressions.update.Update`,
:class:`~kvstore.expressions.projection.Projection`) live beside the code that
builds them; a condition is built in two places (expressions and the legacy
Expected / QueryFilter / ScanFilter), so its class lives here.
"""

from kvstore._core import condition_holds

__all__ = ["Compiled", "Condition", "ProgramCondition", "FIELDS"]

_EMPTY_ITEM = {}


class Condition:
    """A compiled ConditionExpression / FilterExpression (or legacy Expected / filter).

    ``evaluate(item)``: item is a dict, or None for a missing item (every
    attribute absent).  ``top_level_names``: top-level attributes it reads;
    ``nested_top_level_names``: those it reaches into with ``.`` or ``[]``.
    """

    __slots__ = ("_fn", "top_level_names", "nested_top_level_names")

    def __init__(self, fn, top_level_names, nested_top_level_names=frozenset()):
        self._fn = fn
        self.top_level_names = frozenset(top_level_names)
        self.nested_top_level_names = frozenset(nested_top_level_names)

    def evaluate(self, item):
        return self._fn(_EMPTY_ITEM if item is None else item)

    __call__ = evaluate


class ProgramCondition(Condition):
    """A ConditionExpression of a common shape, as a program the core evaluates
    (:mod:`kvstore.expressions.programs`) with one request's values (``vals``, by slot)."""

    __slots__ = ("program", "vals")

    def __init__(self, program, vals, top_level_names, nested_top_level_names=frozenset()):
        self._fn = None
        self.top_level_names = frozenset(top_level_names)
        self.nested_top_level_names = frozenset(nested_top_level_names)
        self.program = program
        self.vals = vals

    def evaluate(self, item):
        return condition_holds(self.program, item, self.vals)

    __call__ = evaluate


class Compiled:
    """The compiled expressions of one request; each member is None when the request does not give it."""

    __slots__ = ("condition", "filter", "key_condition", "update", "projection")

    def __init__(self, condition=None, filter=None, key_condition=None, update=None,  # noqa: A002
                 projection=None):
        self.condition = condition
        self.filter = filter
        self.key_condition = key_condition
        self.update = update
        self.projection = projection


#: Compiled's members, in its constructor's order
FIELDS = ("condition", "filter", "key_condition", "update", "projection")
