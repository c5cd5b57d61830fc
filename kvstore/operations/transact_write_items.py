"""TransactWriteItems: up to 100 Put/Update/Delete/ConditionCheck actions, all or nothing.

Request-level problems (expression syntax, placeholders, two actions on one
item, size) fail the whole request with ValidationException.  Per-action
problems cancel it with TransactionCanceledException whose CancellationReasons
has one entry per action in order: key and item validation first for every
action (after the first ValidationError the rest report None), then every
condition is evaluated (no short-circuit).  A ClientRequestToken makes the call
idempotent for 10 minutes.

The usual transaction (no token, no ConsumedCapacity or ItemCollectionMetrics
asked, every action of the usual shape with a known expression template, no
capacity metering or contention mode) is checked, locked, imaged and
committed in one core call, ``_core.transact_commit``; whatever it finds
unusual or failing, it leaves unwritten, and ``run_general`` answers the
request from its start.  (The embedded API makes the core call itself and, when
it answers None, calls ``run_general``: ``kvstore.api.Database.transact_write_items``.)
"""

import json

from kvstore import _core, limits
from kvstore.errors import (
    IdempotentParameterMismatchException, ItemCollectionSizeLimitExceededException, ResourceNotFoundException,
    TransactionInProgressException, ValidationException,
)
from kvstore.expressions.compiled import ProgramCondition
from kvstore.expressions.request import _MAP
from kvstore.expressions.templates import TEMPLATES
from kvstore.expressions.update import Update
from kvstore.operations.common import (
    _SHORT_INDEX_KEY, _SHORT_KEY, _SHORT_NAME, _VALID_NAMES, capacity, check_attribute_names, check_collection_size,
    check_constraints, check_index_keys, check_item_size, enum_violations, item_collection_metrics, key_from_item,
    key_from_request, table_name_violations, write_units_of,
)
from kvstore.operations.transactions import Locks, cancel, check_action_count
from kvstore.operations.update_item import compute_new_item
from kvstore.operations.writing import (
    _PLAIN_MEMBERS, _USUAL_MEMBERS, _USUAL_UPDATE_MEMBERS, compile_write, index_write_units,
)

WRITES_ITEMS = True
REQUEST_VALUES = (
    "TransactItems.[].Put.Item:item", "TransactItems.[].Put.ExpressionAttributeValues:eav",
    "TransactItems.[].Update.Key:item", "TransactItems.[].Update.ExpressionAttributeValues:eav",
    "TransactItems.[].Delete.Key:item", "TransactItems.[].Delete.ExpressionAttributeValues:eav",
    "TransactItems.[].ConditionCheck.Key:item", "TransactItems.[].ConditionCheck.ExpressionAttributeValues:eav",
)
RESPONSE_VALUES = ("ItemCollectionMetrics.*.[].ItemCollectionKey:item",)
ENUMS = ("ReturnConsumedCapacity", "ReturnItemCollectionMetrics")
KINDS = ("ConditionCheck", "Put", "Update", "Delete")


def run(engine, request):
    # the usual transaction, checked, locked, imaged and committed in one core call; None (anything
    # unusual, any check failing, a condition false: nothing written) hands the request to the
    # general path from its start, which answers as DynamoDB does
    lsn = _core.transact_commit(engine, request, USUAL_CONTEXT)
    if lsn is None:
        return run_general(engine, request)
    _core.wait_usual(engine, lsn)
    return {}


def run_general(engine, request):
    """The request answered from its start, every check made and worded: what ``run`` does once
    ``_core.transact_commit`` answered None (nothing was written)."""
    actions = request.get("TransactItems")
    violations = enum_violations(request, ENUMS)
    token = request.get("ClientRequestToken")
    if token is not None and not 1 <= len(token) <= 36:
        violations.append((token, "clientRequestToken", "Member must have length less than or equal to 36"))
    check_constraints(violations)
    check_action_count(actions)
    # per action, (kind, spec, shape) of the usual one (one kind, a valid table name seen before, its
    # required members, no bad enum: nothing _violations would report), None for the general path
    usual = _core.usual_actions(actions if actions.__class__ is list else list(actions), _KINDS, _VALID_NAMES,
                                _ON_FAILURE)
    if None in usual:
        # DynamoDB checks every action's members before anything else (an expression included), and
        # names each by its position: "Value null at 'transactItems.2.member.update.updateExpression'"
        violations = []
        for i, action in enumerate(actions, 1):
            if usual[i - 1] is None:
                violations += _violations(action, i)
        check_constraints(violations)
    parsed = [_compiled(*u) if u is not None else _parse(action) for u, action in zip(usual, actions)]
    if _core.transact_size(parsed, _PLAIN_MEMBERS) > limits.MAX_TRANSACT_REQUEST_SIZE:
        raise ValidationException("Transaction size cannot exceed 4 MB: the aggregate size of the request "
                                  "must be at most 4194304 bytes")
    by_name = engine.tables
    tables = []
    for p in parsed:
        table = by_name.get(p[1]["TableName"])
        if table is None:
            raise ResourceNotFoundException("Requested resource not found")
        tables.append(table)
    if token is not None:
        replay = _claim_token(engine, token, request)
        if replay is not None:
            return replay
    try:
        response = _run(engine, request, parsed, tables)
    except BaseException:
        _release_token(engine, token)
        raise
    _finish_token(engine, token, response)
    return response


#: per kind of action: the member it requires (besides TableName), the operation named in its
#: expression errors, whether it has an update, and the member it cannot do without
_KINDS = {"Put": ("Item", "PutItem", False, None), "Update": ("Key", "Update", True, "UpdateExpression"),
          "Delete": ("Key", "Delete", False, None),
          "ConditionCheck": ("Key", "ConditionCheck", False, "ConditionExpression")}
_ON_FAILURE = (None, "ALL_OLD", "NONE")
#: what the core's ``transact_commit`` reads (its positions are ``kvstore._pycore``'s ``TX_*``)
USUAL_CONTEXT = (_KINDS, _VALID_NAMES, _ON_FAILURE, _PLAIN_MEMBERS, _USUAL_MEMBERS, _USUAL_UPDATE_MEMBERS, _MAP,
                 TEMPLATES, limits.MAX_TRANSACT_ITEMS, limits.MAX_TRANSACT_REQUEST_SIZE, limits.MAX_ITEM_SIZE,
                 _SHORT_NAME, _SHORT_KEY, _SHORT_INDEX_KEY, Update, ProgramCondition)


def _compiled(kind, spec, shape):
    """``_parse``'s answer for a usual action."""
    if spec.keys() <= _PLAIN_MEMBERS:          # compile_write's first step: nothing to compile
        condition = update = None
    else:
        condition, update = compile_write(spec, shape[1], update=shape[2])
    return kind, spec, condition, update, (_core.pack_item(spec["Item"]) if kind == "Put" else None)


def _kind(action):
    kinds = [k for k in KINDS if action.get(k) is not None] if isinstance(action, dict) else []
    if len(kinds) != 1:
        raise ValidationException("TransactItems can only contain one of Check, Put, Update or Delete")
    return kinds[0]


def _violations(action, i):
    """The member constraints of action ``i`` (1-based), at their paths as DynamoDB names them
    (``transactItems.1.member.put.tableName``: captured against DynamoDB)."""
    kind = _kind(action)
    spec = action[kind]
    path = f"transactItems.{i}.member.{kind[0].lower() + kind[1:]}"
    violations = table_name_violations(spec.get("TableName"), f"{path}.tableName")
    violations += [(value, f"{path}.{member[0].lower() + member[1:]}", message) for value, member, message
                   in enum_violations(spec, ("ReturnValuesOnConditionCheckFailure",))]
    if kind == "Put" and spec.get("Item") is None:
        violations.append((None, f"{path}.item", "Member must not be null"))
    if kind != "Put" and spec.get("Key") is None:
        violations.append((None, f"{path}.key", "Member must not be null"))
    if kind == "Update" and spec.get("UpdateExpression") is None:
        violations.append((None, f"{path}.updateExpression", "Member must not be null"))
    if kind == "ConditionCheck" and spec.get("ConditionExpression") is None:
        violations.append((None, f"{path}.conditionExpression", "Member must not be null"))
    return violations


def _parse(action):
    """``(kind, spec, condition, update, packed item)`` of one action whose members were checked."""
    kind = _kind(action)
    spec = action[kind]
    condition, update = compile_write(spec, kind if kind != "Put" else "PutItem", update=(kind == "Update"))
    packed = _core.pack_item(spec["Item"]) if kind == "Put" else None
    return kind, spec, condition, update, packed


def _run(engine, request, parsed, tables):
    reasons = [None] * len(parsed)    # a reason only where an action fails
    targets = []
    failed = False
    seen = set()
    for i, ((kind, spec, condition, update, packed), table) in enumerate(zip(parsed, tables)):
        try:
            if kind == "Put":
                item = spec["Item"]
                check_attribute_names(item)
                if len(packed) * 4 > limits.MAX_ITEM_SIZE:      # (check_item_size's own shortcut)
                    check_item_size(item, packed=packed)
                row_key = key_from_item(table, item)
                if table.indexes:
                    check_index_keys(table, item)
            else:
                row_key = key_from_request(table, spec["Key"])
                if update is not None:
                    update.check_keys(table.schema.names, tuple(table.index_key_types()))
        except ValidationException as e:
            if not failed:
                reasons[i] = {"Code": "ValidationError", "Message": e.message}
                failed = True
            targets.append(None)
            continue
        target = (table, row_key)
        if target in seen:                 # (a Table hashes and compares by identity: one per name)
            raise ValidationException("Transaction request cannot include multiple operations on one item")
        seen.add(target)
        targets.append(target)
    if failed:
        raise cancel(_reasons(reasons))
    if engine.capacity is not None:
        engine.capacity.admit_transaction(targets, parsed_kinds=[p[0] for p in parsed])
    writes = []
    units = {}                            # table name -> units, its indexes' included
    index_units = {}                      # table name -> {(index name, kind): units}
    count_units = request.get("ReturnConsumedCapacity") in ("TOTAL", "INDEXES") or engine.capacity is not None
    locks = Locks(targets)
    if engine.contention is not None:      # kvstore.contention: cancel on items another transaction holds
        locks = engine.contention.transaction(targets, locks)
    with locks:
        for i, ((kind, spec, condition, update, put_packed), (table, row_key)) in enumerate(zip(parsed, targets)):
            old_packed = table.rows.get(row_key)
            # the old image matters to a condition, an update and index maintenance; a blind Put or
            # Delete on a table without indexes only needs to know whether the item was there
            needs_old = condition is not None or kind == "Update" or table.indexes
            old = _core.unpack_item(old_packed) if (old_packed is not None and needs_old) else None
            if condition is not None and not condition.evaluate(old):
                reason = {"Code": "ConditionalCheckFailed", "Message": "The conditional request failed"}
                if old is not None and spec.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD":
                    reason["Item"] = old
                reasons[i] = reason
                failed = True
                continue
            if failed or kind == "ConditionCheck":
                continue
            if kind == "Put":
                new, packed = spec["Item"], put_packed
            else:
                try:
                    new, packed = _new_image(kind, spec, table, old, update, put_packed)
                except ValidationException as e:
                    reasons[i] = {"Code": "ValidationError", "Message": e.message}
                    failed = True
                    continue
            try:
                check_collection_size(table, row_key, old_packed, packed)
            except ItemCollectionSizeLimitExceededException as e:
                reasons[i] = {"Code": "ItemCollectionSizeLimitExceeded", "Message": e.message}
                failed = True
                continue
            if count_units:                       # twice the non-transactional units (reference 7)
                units[table.name] = units.get(table.name, 0) + 2 * write_units_of(old_packed, packed, new)
                if table.indexes:                 # each index entry written or removed, not doubled
                    charged = index_units.setdefault(table.name, {})
                    for index, u in index_write_units(table, row_key, old, new).items():
                        charged[index] = charged.get(index, 0) + u
                        units[table.name] += u
            if packed is not None or old_packed is not None:
                if not (packed is not None and packed == old_packed):
                    writes.append((table, row_key, old, new, packed))
        if failed:
            raise cancel(_reasons(reasons))
        lsn = _core.commit_usual(engine, writes) if writes else 0
    _core.wait_usual(engine, lsn)
    if engine.capacity is not None:
        by_name = {t.name: t for t in tables}
        for name, table_units in units.items():         # the table (LSIs included) and each GSI apart
            charged = index_units.get(name, {})
            gsi = {i: u for (i, kind), u in charged.items() if kind == "GSI"}
            engine.capacity.charge(by_name[name], table_units - sum(gsi.values()), gsi or None, write=True)
    response = {}
    mode = request.get("ReturnConsumedCapacity")
    if mode in ("TOTAL", "INDEXES"):
        response["ConsumedCapacity"] = [capacity(n, u, mode, index_units.get(n), read=False)
                                        for n, u in units.items()]
    if request.get("ReturnItemCollectionMetrics") == "SIZE":
        metrics = {}
        for (kind, spec, _, _, _), (table, _) in zip(parsed, targets):
            if kind != "ConditionCheck":
                m = item_collection_metrics(table, spec.get("Item") or spec["Key"])
                if m is not None:
                    metrics.setdefault(table.name, []).append(m)
        if metrics:
            response["ItemCollectionMetrics"] = metrics
    return response


def _reasons(reasons):
    """CancellationReasons: ``{"Code": "None"}`` for every action that did not fail."""
    return [r if r is not None else {"Code": "None"} for r in reasons]


def _new_image(kind, spec, table, old, update, put_packed):
    if kind == "Put":
        return spec["Item"], put_packed
    if kind == "Delete":
        return None, None
    new = compute_new_item(table, spec["Key"], old, update)
    if new is None:
        return None, None
    packed = _core.pack_item(new)
    check_item_size(new, "Item size to update has exceeded the maximum allowed size", packed)
    check_index_keys(table, new, updating=True)
    return new, packed


# -- idempotency -----------------------------------------------------------------

def _fingerprint(request):
    return _stable({k: v for k, v in request.items() if k not in ("ClientRequestToken", "ReturnConsumedCapacity")})


def _stable(value):
    return json.dumps(value, sort_keys=True, default=_encode_other)


def _encode_other(value):
    if isinstance(value, (set, frozenset)):
        return sorted(_stable(v) for v in value)
    return repr(value)


def _request_size(parsed):
    """Bytes the actions carry: packed items, keys, expressions and values (close to their wire size);
    a Put without expressions carries its item alone (``_core.transact_size``)."""
    return _core.transact_size(parsed, _PLAIN_MEMBERS)


def _claim_token(engine, token, request):
    """Returns the stored response for a repeated call, or None after claiming the token."""
    fingerprint = _fingerprint(request)
    entry = engine.transaction_tokens.claim(token, fingerprint)
    if entry is None:
        return None
    if entry.fingerprint != fingerprint:
        raise IdempotentParameterMismatchException("Transaction token already used with different parameters")
    if entry.finished_at is None:
        raise TransactionInProgressException("Transaction is already in progress")
    engine.wait_durable(entry.lsn)
    return dict(entry.response)


def _finish_token(engine, token, response):
    if token is not None:
        durability = engine.durability
        engine.transaction_tokens.finish(token, dict(response), durability.next_lsn - 1 if durability else 0)


def _release_token(engine, token):
    if token is not None:
        engine.transaction_tokens.release(token)
