"""ProjectionExpression (and AttributesToGet): which parts of an item to return.

The result keeps the item's nesting: ``a.b[0]`` of ``{a: {b: [1, 2], c: 3}}``
is ``{a: {b: [1]}}``; several paths merge (``a.b, a.c``); list elements are
returned compacted, in the order of their original index whatever the order
they were asked in; paths that do not resolve are skipped.  The same code
gives UpdateItem's UPDATED_OLD / UPDATED_NEW (the update's target paths
projected from the old or the new item).
"""

from kvstore.expressions.evaluate import MISSING, copy_value

__all__ = ["Projection", "build_tree"]


class Projection:
    """A compiled projection.

    ``top_level_names``: the top-level attributes it returns (index queries
    check them against the index projection); ``nested_top_level_names``:
    those reached into with ``.`` or ``[]`` (must not be key attributes).
    """

    __slots__ = ("tree", "top_level_names", "nested_top_level_names", "paths")

    def __init__(self, paths):
        self.paths = tuple(paths)
        self.tree = build_tree(self.paths)
        self.top_level_names = frozenset(p[0] for p in self.paths)
        self.nested_top_level_names = frozenset(p[0] for p in self.paths if len(p) > 1)

    def apply(self, item):
        """A new dict with the projected parts of ``item`` (never sharing its containers)."""
        out = {}
        for key, sub in self.tree.items():
            value = item.get(key, MISSING)
            if value is MISSING:
                continue
            if sub is None:
                out[key] = copy_value(value)
            else:
                value = _project(sub, value)
                if value is not MISSING:
                    out[key] = value
        return out

    def __repr__(self):
        return f"Projection({self.paths!r})"


def build_tree(paths):
    """``{key: subtree or None}`` for paths known not to overlap or conflict."""
    root = {}
    for path in paths:
        node = root
        last = len(path) - 1
        for depth, e in enumerate(path):
            if depth == last:
                node[e] = None
            else:
                node = node.setdefault(e, {})
    return root


def _project(tree, value):
    t = type(value)
    if t is dict:
        out = {}
        for key, sub in tree.items():
            if type(key) is int:
                continue
            child = value.get(key, MISSING)
            if child is MISSING:
                continue
            if sub is None:
                out[key] = copy_value(child)
            else:
                child = _project(sub, child)
                if child is not MISSING:
                    out[key] = child
        return out if out else MISSING
    if t is list:
        out = []
        n = len(value)
        for key in sorted(k for k in tree if type(k) is int and k < n):
            sub = tree[key]
            child = value[key]
            if sub is None:
                out.append(copy_value(child))
            else:
                child = _project(sub, child)
                if child is not MISSING:
                    out.append(child)
        return out if out else MISSING
    return MISSING
