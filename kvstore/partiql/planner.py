"""Statements to item-operation requests, decided as DynamoDB decides them (reference 6.13).

A SELECT whose WHERE pins the partition key of the table (or of the named
index) with ``=`` or ``IN`` - a top-level conjunct, or an OR of such
equalities - becomes one Query per partition value, with the first sort-key
condition DynamoDB can use as a key condition and everything else as filter;
when it pins the whole primary key of the table and says nothing else it is a
GetItem; anything else is a Scan with the WHERE as filter.  INSERT becomes a
PutItem that may not overwrite, UPDATE an UpdateItem that requires the item,
DELETE a DeleteItem whose condition applies only to an existing item.

A plan depends on the statement text and the key schemas involved, never on
the request's values: it is built once and cached (see ``kvstore.partiql``).
"""

from decimal import Decimal

from kvstore.errors import ValidationException, invalid_parameter
from kvstore.operations.common import key_type
from kvstore.partiql import tree as t
from kvstore.partiql.render import Renderer, flip, getter, is_value
from kvstore.types import Binary

_RETURN_VALUES = {"ALL OLD": "ALL_OLD", "MODIFIED OLD": "UPDATED_OLD", "ALL NEW": "ALL_NEW",
                  "MODIFIED NEW": "UPDATED_NEW"}
_SORT_OPS = frozenset(("=", "<", "<=", ">", ">="))
MAX_HASH_VALUES = 50


def conjuncts(where):
    if where is None:
        return []
    if isinstance(where, t.And):
        out = []
        for operand in where.operands:
            out.extend(conjuncts(operand))
        return out
    return [where]


def _key_equality(node, names):
    """``(name, value node)`` when ``node`` is ``key = value`` (either way round) for a name in ``names``."""
    if isinstance(node, t.Compare) and node.op == "=":
        for path, value in ((node.left, node.right), (node.right, node.left)):
            if isinstance(path, t.Path) and len(path.steps) == 1 and path.steps[0] in names and is_value(value):
                return path.steps[0], value
    return None


def _and(nodes):
    if not nodes:
        return None
    return nodes[0] if len(nodes) == 1 else t.And(nodes, nodes[0].token)


# ================================================================ SELECT

class Arm:
    """One Query shape of a SELECT (or the Scan): its key condition, filter and names.

    ``hash_getters`` give the partition values it is run for (one, or several for ``IN``);
    ``sort`` is ``(op, getters)`` of its sort-key condition or None.
    """

    def __init__(self, renderer, top_names):
        self.renderer = renderer
        self.projection_text = (", ".join(renderer.name(n) for n in top_names)) if top_names else None
        self.hash_getters = []
        self.sort_op = None
        self.sort_getters = []
        self.key_text = None
        self.filter_text = None
        self.names = None

    def finish(self):
        self.names = self.renderer.names_map()
        return self


class SelectPlan:
    """How one SELECT runs: ``kind`` is "get", "query" or "scan"."""

    def __init__(self, kind, table, index, renderer, projection, top_names):
        self.kind = kind
        self.table = table
        self.index = index
        self.renderer = renderer
        self.projection = projection          # [Path] or None for *
        self.projection_text = (", ".join(renderer.name(n) for n in top_names)) if top_names else None
        self.key_getters = []                 # get: [(name, type, getter)]
        self.arms = []                        # query / scan: [Arm]
        self.hash_type = self.range_type = None
        self.filter_text = None
        self.forward = True
        self.hash_order = None                # None, or True/False to sort the partition values
        self.names = None

    def finish(self, index=None):
        self.names = self.renderer.names_map()
        self.gsi = index is not None and index.kind == "GSI"
        return self


def plan_select(node, table, index):
    """Plan a SELECT on ``table`` (and ``index``: the engine's index object, or None)."""
    source_schema = index.schema if index is not None else table.schema
    parts = conjuncts(node.where)
    projection = node.projection
    top_names = []
    if projection is not None:
        for path in projection:
            if path.steps[0] not in top_names:
                top_names.append(path.steps[0])
    if index is not None:
        _check_index_attributes(node, index, top_names)
    hash_name, range_name = source_schema.hash_name, source_schema.range_name
    branches = _branches(parts, hash_name, range_name)
    if node.order:
        _check_order(node, source_schema, branches)
    index_name = index.name if index is not None else None
    if branches is None:
        plan = SelectPlan("scan", table.name, index_name, Renderer(), projection, top_names)
        arm = Arm(Renderer(), top_names)
        if node.where is not None:
            arm.filter_text = arm.renderer.condition(node.where)
        plan.arms.append(arm.finish())
        return plan.finish(index)
    if len(branches) == 1 and index is None:
        hash_values, sort, rest = branches[0]
        if len(hash_values) == 1 and (range_name is None or (sort is not None and sort[0] == "=")):
            renderer = Renderer()
            plan = SelectPlan("get", table.name, None, renderer, projection, top_names)
            plan.key_getters.append((hash_name, source_schema.hash_type, getter(hash_values[0])))
            if range_name is not None:
                plan.key_getters.append((range_name, source_schema.range_type, getter(sort[1][0])))
            if not rest:
                return plan.finish(index)
    plan = SelectPlan("query", table.name, index_name, Renderer(), projection, top_names)
    plan.hash_type, plan.range_type = source_schema.hash_type, source_schema.range_type
    for hash_values, sort, rest in branches:
        arm = Arm(Renderer(), top_names)
        arm.hash_getters = [getter(v) for v in hash_values]
        key_text = f"{arm.renderer.name(hash_name)} = :h"
        if sort is not None:
            op, operands = sort
            arm.sort_op = op
            arm.sort_getters = [getter(v) for v in operands]
            name = arm.renderer.name(range_name)
            if op == "BETWEEN":
                key_text += f" AND {name} BETWEEN :s0 AND :s1"
            elif op == "begins_with":
                key_text += f" AND begins_with({name}, :s0)"
            else:
                key_text += f" AND {name} {op} :s0"
        arm.key_text = key_text
        if rest:
            arm.filter_text = arm.renderer.condition(_and(rest))
        plan.arms.append(arm.finish())
    for name, descending in node.order:
        if name == range_name:
            plan.forward = not descending
        elif name == hash_name:
            plan.hash_order = descending
    return plan.finish(index)


def _branches(parts, hash_name, range_name):
    """The Query shapes of a WHERE: ``[(partition value nodes, sort condition, other conjuncts)]``.

    None when the WHERE does not pin the partition key (a Scan).  A top-level conjunct
    ``pk = v`` or ``pk IN [..]`` gives one shape; a WHERE that is one OR whose every branch
    pins the partition key with ``=`` gives one shape per branch - unless a branch puts a
    condition on the sort key that cannot be a key condition (``<>``, NOT, ...), which
    DynamoDB runs as a Scan.
    """
    hash_values, hash_at = _partition_values(parts, hash_name)
    if hash_values is not None:
        rest = parts[:hash_at] + parts[hash_at + 1:]
        sort, rest = _split_sort(rest, range_name)
        return [(hash_values, sort, rest)]
    if len(parts) != 1 or not isinstance(parts[0], t.Or):
        return None
    out = []
    for branch in parts[0].operands:
        conj = conjuncts(branch)
        hash_values, hash_at = _partition_values(conj, hash_name, in_lists=False)
        if hash_values is None:
            return None
        rest = conj[:hash_at] + conj[hash_at + 1:]
        sort, rest = _split_sort(rest, range_name)
        if range_name is not None and any(_mentions(part, range_name) for part in rest):
            return None
        out.append((hash_values, sort, rest))
    return out


def _split_sort(rest, range_name):
    if range_name is not None:
        for i, part in enumerate(rest):
            sort = _sort_condition(part, range_name)
            if sort is not None:
                return sort, rest[:i] + rest[i + 1:]
    return None, rest


def _mentions(node, name):
    found = []
    _where_names(node, found)
    return name in found


def _partition_values(parts, hash_name, in_lists=True):
    """``([value nodes], index of the conjunct)`` pinning the partition key, or ``(None, None)``."""
    names = (hash_name,)
    for i, part in enumerate(parts):
        eq = _key_equality(part, names)
        if eq is not None:
            return [eq[1]], i
        if in_lists and isinstance(part, t.In) and not part.negated and isinstance(part.operand, t.Path) \
                and part.operand.steps == [hash_name] and part.items and all(is_value(v) for v in part.items):
            if len(part.items) > MAX_HASH_VALUES:
                raise ValidationException(
                    f"IN operator on the partition key accepts at most {MAX_HASH_VALUES} values")
            return list(part.items), i
    return None, None


def _sort_condition(node, range_name):
    """``(op, [value nodes])`` when ``node`` can be a sort-key condition of a Query."""
    if isinstance(node, t.Compare) and node.op in _SORT_OPS:
        if _is_key(node.left, range_name) and is_value(node.right):
            return node.op, [node.right]
        if _is_key(node.right, range_name) and is_value(node.left):
            return flip(node.op), [node.left]
    if isinstance(node, t.Between) and not node.negated and _is_key(node.operand, range_name) \
            and is_value(node.low) and is_value(node.high):
        return "BETWEEN", [node.low, node.high]
    if isinstance(node, t.Call) and node.name == "begins_with" and len(node.args) == 2 \
            and _is_key(node.args[0], range_name) and is_value(node.args[1]):
        return "begins_with", [node.args[1]]
    return None


def _is_key(node, name):
    return isinstance(node, t.Path) and node.steps == [name]


def _check_order(node, schema, branches):
    if node.where is None:
        raise ValidationException("Must have WHERE clause in the statement when using ORDER BY clause.")
    for name, _ in node.order:
        if name not in schema.names:
            raise ValidationException(f"Attribute {name} in ORDER BY clause must be part of the primary key")
    if branches is None:
        raise ValidationException("Must have at least one non-optional hash key condition in WHERE clause when "
                                  "using ORDER BY clause.")
    values = sum(len(hash_values) for hash_values, _, _ in branches)
    if values > 1 and schema.hash_name not in [n for n, _ in node.order]:
        raise ValidationException("Must have hash key in ORDER BY clause when more than one hash key condition "
                                  "specified in WHERE clause.")


def _check_index_attributes(node, index, top_names):
    if index.projects_all:
        return
    projected = index.projected_names
    if index.kind == "GSI":
        missing = [n for n in top_names if n not in projected]
        if missing:
            raise invalid_parameter(f"Global secondary index {index.name} does not project [{', '.join(missing)}]")
    used = []
    _where_names(node.where, used)
    missing = [n for n in used if n not in projected]
    if missing:
        raise invalid_parameter(f"Secondary index {index.name} does not project one or more filter attributes: "
                                f"[{', '.join(missing)}]")


def _where_names(node, out):
    if isinstance(node, t.Path):
        if node.steps[0] not in out:
            out.append(node.steps[0])
        return
    for slot in getattr(type(node), "__slots__", ()):
        child = getattr(node, slot, None)
        for item in child if isinstance(child, list) else [child]:
            if isinstance(item, t.Node):
                _where_names(item, out)


def order_key(value):
    """Sort key of a partition-key value in DynamoDB's key order."""
    if type(value) is str:
        return (0, value.encode("utf-8", "surrogatepass"))
    if type(value) is Decimal:
        return (1, value)
    if type(value) is Binary:
        return (2, value.value)
    return (3, repr(value))


# ================================================================ writes

class WritePlan:
    """An INSERT, UPDATE or DELETE as one PutItem / UpdateItem / DeleteItem request (``action``)."""

    def __init__(self, action, table, renderer):
        self.action = action
        self.table = table
        self.renderer = renderer
        self.key_getters = []
        self.item_getter = None
        self.update_text = None
        self.condition_text = None
        self.return_values = None
        self.names = None

    def request(self, params):
        """The operation's native request for one set of parameters."""
        request = {"TableName": self.table}
        if self.item_getter is not None:
            item = self.item_getter(params)
            if type(item) is not dict:
                raise ValidationException("Unsupported data type: INSERT takes one map as VALUE")
            request["Item"] = item
        else:
            request["Key"] = {name: get(params) for name, get in self.key_getters}
        if self.update_text:
            request["UpdateExpression"] = self.update_text
        if self.condition_text:
            request["ConditionExpression"] = self.condition_text
        if self.names:
            request["ExpressionAttributeNames"] = self.names
        values = self.renderer.bind(params)
        if values:
            request["ExpressionAttributeValues"] = values
        if self.return_values:
            request["ReturnValues"] = self.return_values
        return request


def plan_insert(node, table):
    renderer = Renderer()
    plan = WritePlan("PutItem", table.name, renderer)
    if not isinstance(node.value, (t.MapExpr, t.Param)):
        raise ValidationException("Unsupported data type: INSERT takes one map as VALUE")
    plan.item_getter = getter(node.value, depth=1)
    plan.condition_text = f"attribute_not_exists({renderer.name(table.schema.hash_name)})"
    plan.names = renderer.names_map()
    return plan


def _key_and_condition(node, table):
    """``(key getters, condition node or None)`` of an UPDATE / DELETE WHERE clause."""
    schema = table.schema
    names = schema.names
    keys = {}
    rest = []
    for part in conjuncts(node.where):
        eq = _key_equality(part, names)
        if eq is not None and eq[0] not in keys:
            keys[eq[0]] = eq[1]
        else:
            rest.append(part)
    if len(keys) != len(names):
        raise ValidationException("Where clause does not contain a mandatory equality on all key attributes")
    return [(n, getter(keys[n])) for n in names], _and(rest)


def plan_update(node, table):
    renderer = Renderer()
    plan = WritePlan("UpdateItem", table.name, renderer)
    plan.key_getters, rest = _key_and_condition(node, table)
    plan.update_text = renderer.update(node.actions)
    exists = f"attribute_exists({renderer.name(table.schema.hash_name)})"
    plan.condition_text = exists if rest is None else f"{exists} AND ({renderer.condition(rest)})"
    if node.returning is not None:
        plan.return_values = _RETURN_VALUES[node.returning]
    plan.names = renderer.names_map()
    return plan


def plan_delete(node, table):
    renderer = Renderer()
    plan = WritePlan("DeleteItem", table.name, renderer)
    if node.returning is not None and node.returning != "ALL OLD":
        raise ValidationException(f"Invalid returning clause: RETURNING {node.returning} *. Only RETURNING ALL "
                                  "OLD * is allowed in DELETE statements.")
    plan.key_getters, rest = _key_and_condition(node, table)
    if rest is not None:
        missing = f"attribute_not_exists({renderer.name(table.schema.hash_name)})"
        plan.condition_text = f"{missing} OR ({renderer.condition(rest)})"
    if node.returning is not None:
        plan.return_values = "ALL_OLD"
    plan.names = renderer.names_map()
    return plan


def plan_exists(node, table):
    """``EXISTS(SELECT ...)`` in a transaction: a ConditionCheck on one item with a further condition."""
    select = node.select
    if select.index is not None:
        raise ValidationException("Reads on indices are not supported within transactions.")
    renderer = Renderer()
    plan = WritePlan("ConditionCheck", table.name, renderer)
    try:
        plan.key_getters, rest = _key_and_condition(select, table)
    except ValidationException:
        raise ValidationException("EXISTS() must contain a single item read with additional condition") from None
    if rest is None:
        raise ValidationException("EXISTS() must contain a single item read with additional condition")
    exists = f"attribute_exists({renderer.name(table.schema.hash_name)})"
    plan.condition_text = f"{exists} AND ({renderer.condition(rest)})"
    plan.names = renderer.names_map()
    return plan


def key_matches(value, expected_type):
    return key_type(value) == expected_type


__all__ = ["SelectPlan", "WritePlan", "plan_select", "plan_insert", "plan_update", "plan_delete", "plan_exists",
           "order_key", "key_matches"]
