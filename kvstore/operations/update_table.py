"""UpdateTable: billing mode and throughput, adding and deleting GSIs, streams, and settings.

A new GSI is filled from the table's rows in the background: DescribeTable
shows it CREATING with ``Backfilling: true`` until every partition has been
copied, then ACTIVE.  Writes keep flowing meanwhile and maintain the index;
reading it before it is ACTIVE is a ValidationException, as in DynamoDB.
"""

import copy

from kvstore.errors import (
    LimitExceededException, ResourceInUseException, ResourceNotFoundException, ValidationException,
    constraint_error, invalid_parameter,
)
from kvstore.operations.common import check_request, get_table, table_name_violations
from kvstore.operations.table_description import describe
from kvstore.operations.table_schema import (
    check_billing, check_gsi_throughput, check_key_schema, check_projection, index_member_violations,
    stream_specification_violations, throughput_violations,
)

NOTHING_TO_DO = ("At least one of ProvisionedThroughput, BillingMode, UpdateStreamEnabled, "
                 "GlobalSecondaryIndexUpdates or SSESpecification or ReplicaUpdates is required")
SETTINGS = ("BillingMode", "ProvisionedThroughput", "GlobalSecondaryIndexUpdates", "StreamSpecification",
            "SSESpecification", "ReplicaUpdates", "TableClass", "DeletionProtectionEnabled",
            "OnDemandThroughput", "WarmThroughput")


def run(engine, request):
    check_request(request)
    violations = stream_specification_violations(request.get("StreamSpecification"))
    violations += gsi_update_violations(request.get("GlobalSecondaryIndexUpdates"))
    if violations:
        raise constraint_error(violations)
    if not any(request.get(m) is not None for m in SETTINGS) or request.get("GlobalSecondaryIndexUpdates") == []:
        raise ValidationException(NOTHING_TO_DO)
    with engine.catalog_lock:
        table = get_table(engine, request["TableName"])
        if any(i.status != "ACTIVE" for i in table.gsis):
            raise ResourceInUseException(f"Attempt to change a resource which is still in use: Table is being "
                                         f"updated: {table.name}")
        meta = copy.deepcopy(table.meta)
        _billing(meta, request)
        created = _gsi_updates(table, meta, request)
        stream = _stream(table, meta, request)
        for member in ("SSESpecification", "TableClass", "DeletionProtectionEnabled", "OnDemandThroughput",
                       "WarmThroughput"):
            if request.get(member) is not None:
                meta[member] = request[member]
        if engine.capacity is not None:    # capacity accrued so far is at the old rates; the new ones start now
            engine.capacity.settle(table)
        table.meta = meta
        for name in [n for n, i in table.indexes.items()
                     if i.kind == "GSI" and n not in {g["IndexName"] for g in meta.get("GlobalSecondaryIndexes", ())}]:
            table.remove_index(name)
        for d in meta["AttributeDefinitions"]:
            table.attribute_types[d["AttributeName"]] = d["AttributeType"]
        engine.save_meta(table, stream)
        index = None
        if created is not None:
            index = table.add_index("GSI", created, status="CREATING")
            index.backfilling = True
        response = {"TableDescription": describe(table, "UPDATING" if index else "ACTIVE")}
    if index is not None:
        engine.start_backfill(table, index)
    return response


def _billing(meta, request):
    billing = request.get("BillingMode")
    throughput = request.get("ProvisionedThroughput")
    violations = throughput_violations(throughput, "provisionedThroughput")
    if violations:
        raise constraint_error(violations)
    # the same billing mode named again changes nothing: the throughput check below decides
    unchanged_billing = billing is None or (billing == "PROVISIONED" and meta.get("BillingMode", "PROVISIONED")
                                            == "PROVISIONED")
    if billing is not None:
        if billing not in ("PROVISIONED", "PAY_PER_REQUEST"):
            raise ValidationException(
                f"1 validation error detected: Value '{billing}' at 'billingMode' failed to satisfy constraint: "
                "Member must satisfy enum value set: [PROVISIONED, PAY_PER_REQUEST]")
        if billing == "PROVISIONED" and meta.get("BillingMode") == "PAY_PER_REQUEST" and not throughput:
            check_billing({"BillingMode": "PROVISIONED"})
        if billing == "PAY_PER_REQUEST" and throughput:
            check_billing(request)
        if billing == "PAY_PER_REQUEST" and meta.get("BillingMode") != "PAY_PER_REQUEST":
            meta["LastUpdateToPayPerRequestDateTime"] = meta.get("CreationDateTime")
        meta["BillingMode"] = billing
        if billing == "PAY_PER_REQUEST":
            meta["ProvisionedThroughput"] = {}
    if throughput is not None:
        if meta.get("BillingMode") == "PAY_PER_REQUEST":
            check_billing({"BillingMode": "PAY_PER_REQUEST", "ProvisionedThroughput": throughput})
        if unchanged_billing and _same_throughput(meta.get("ProvisionedThroughput"), throughput) and \
                request.get("GlobalSecondaryIndexUpdates") is None:
            raise ValidationException(
                "The provisioned throughput for the table will not change. The requested value equals the "
                "current value. Current ReadCapacityUnits provisioned for the table: "
                f"{throughput.get('ReadCapacityUnits')}. Requested ReadCapacityUnits: "
                f"{throughput.get('ReadCapacityUnits')}. Current WriteCapacityUnits provisioned for the table: "
                f"{throughput.get('WriteCapacityUnits')}. Requested WriteCapacityUnits: "
                f"{throughput.get('WriteCapacityUnits')}. Refer to the Amazon DynamoDB Developer Guide for "
                "current limits and how to request higher limits.")
        meta["ProvisionedThroughput"] = dict(throughput)


def _same_throughput(current, requested):
    return bool(current) and all(current.get(m) == requested.get(m)
                                 for m in ("ReadCapacityUnits", "WriteCapacityUnits"))


def gsi_update_violations(updates):
    """Member constraints inside ``GlobalSecondaryIndexUpdates`` (the service model's required members:
    IndexName, KeySchema and Projection of ``Create``, IndexName of ``Update`` and ``Delete``, both
    capacity units of a ProvisionedThroughput, at least 1), reported with the request's others."""
    out = []
    for i, update in enumerate(updates or (), 1):
        for action, required in (("Create", None), ("Update", ("IndexName",)), ("Delete", ("IndexName",))):
            spec = update.get(action)
            if spec is None:
                continue
            path = f"globalSecondaryIndexUpdates.{i}.member.{action.lower()}"
            out += index_member_violations(spec, path) if required is None else \
                index_member_violations(spec, path, required)
            if spec.get("IndexName") is not None:
                out += table_name_violations(spec["IndexName"], f"{path}.indexName", 3)
            out += throughput_violations(spec.get("ProvisionedThroughput"), f"{path}.provisionedThroughput")
    return out


def _gsi_updates(table, meta, request):
    updates = request.get("GlobalSecondaryIndexUpdates")
    if updates is None:
        return None
    names = []
    for update in updates:
        kinds = [k for k in ("Create", "Update", "Delete") if update.get(k) is not None]
        if len(kinds) != 1:
            raise invalid_parameter("One of GlobalSecondaryIndexUpdate.Update, GlobalSecondaryIndexUpdate.Create, "
                                    "GlobalSecondaryIndexUpdate.Delete must not be null")
        names.append(update[kinds[0]].get("IndexName"))
    for name in names:
        if names.count(name) > 1:
            raise invalid_parameter("Only one global secondary index update per index is allowed simultaneously. "
                                    f"Index: {name}")
    if sum(1 for u in updates if u.get("Create") or u.get("Delete")) > 1:
        raise LimitExceededException("Subscriber limit exceeded: Only 1 online index can be created or deleted "
                                     "simultaneously per table")
    created = None
    gsis = meta.setdefault("GlobalSecondaryIndexes", [])
    for update in updates:
        if update.get("Create"):
            created = _create_gsi(table, meta, request, update["Create"])
            gsis.append(created)
        elif update.get("Delete"):
            name = update["Delete"]["IndexName"]
            if any(i["IndexName"] == name for i in meta.get("LocalSecondaryIndexes", ())):
                raise ValidationException(f"One or more parameter values were invalid: Cannot delete a local "
                                          f"secondary index: {name}")
            if not any(g["IndexName"] == name for g in gsis):
                raise ResourceNotFoundException(f"Requested resource not found: Index: {name} not found")
            gsis[:] = [g for g in gsis if g["IndexName"] != name]
        else:
            spec = update["Update"]
            match = [g for g in gsis if g["IndexName"] == spec["IndexName"]]
            if not match:
                raise ResourceNotFoundException(
                    f"Requested resource not found: Index: {spec['IndexName']} not found")
            if spec.get("ProvisionedThroughput"):
                match[0]["ProvisionedThroughput"] = dict(spec["ProvisionedThroughput"])
    if not gsis:
        del meta["GlobalSecondaryIndexes"]
    _prune_definitions(meta)
    return created


def _create_gsi(table, meta, request, spec):
    from kvstore import limits
    name = spec.get("IndexName")
    if name in table.indexes:
        raise ValidationException(f"One or more parameter values were invalid: Index {name} already exists")
    if len(table.gsis) >= limits.MAX_GSIS:
        raise invalid_parameter(f"GlobalSecondaryIndex count exceeds the per-table limit of {limits.MAX_GSIS}")
    definitions = request.get("AttributeDefinitions")
    if not definitions:
        raise ValidationException("One or more parameter values were invalid: AttributeDefinitions must be "
                                  "provided when creating a global secondary index")
    new_types = {d["AttributeName"]: d["AttributeType"] for d in definitions}
    check_key_schema(spec["KeySchema"], new_types, name, gsi=True)
    existing = {d["AttributeName"]: d["AttributeType"] for d in meta["AttributeDefinitions"]}
    for key in spec["KeySchema"]:
        attr = key["AttributeName"]
        if attr in existing and existing[attr] != new_types[attr]:
            raise invalid_parameter(
                "Attributes cannot be redefined. Please check that your attribute has the same type as previously "
                f"defined. Existing schema: [{attr}:{existing[attr]}] New schema: [{attr}:{new_types[attr]}]")
        if attr not in existing:
            meta["AttributeDefinitions"].append({"AttributeName": attr, "AttributeType": new_types[attr]})
            existing[attr] = new_types[attr]
    check_projection(spec.get("Projection"), name, set())
    check_gsi_throughput(spec, meta.get("BillingMode", "PROVISIONED"))
    out = {"IndexName": name, "KeySchema": [dict(k) for k in spec["KeySchema"]],
           "Projection": dict(spec["Projection"])}
    if spec.get("ProvisionedThroughput"):
        out["ProvisionedThroughput"] = dict(spec["ProvisionedThroughput"])
    return out


def _prune_definitions(meta):
    """Keep only definitions some key schema still uses (deleting a GSI frees its attributes)."""
    used = {k["AttributeName"] for k in meta["KeySchema"]}
    for member in ("LocalSecondaryIndexes", "GlobalSecondaryIndexes"):
        for index in meta.get(member, ()):
            used.update(k["AttributeName"] for k in index["KeySchema"])
    meta["AttributeDefinitions"] = [d for d in meta["AttributeDefinitions"] if d["AttributeName"] in used]


def _stream(table, meta, request):
    """What the request does to the stream: a view type to enable, False to disable, None for nothing.

    ``Engine.save_meta`` makes the change, in the same log record as the new catalog entry.
    """
    spec = request.get("StreamSpecification")
    if spec is None:
        return None
    if request.get("ProvisionedThroughput") is not None or request.get("BillingMode") == "PROVISIONED":
        raise invalid_parameter("You cannot modify stream status while updating table IOPS")
    if spec.get("StreamEnabled"):
        if not spec.get("StreamViewType"):
            raise invalid_parameter("If stream is being enabled then UpdateViewType is required")
        if table.stream is not None:
            raise ValidationException(f"Table already has an enabled stream: TableName: {table.name}")
        return spec["StreamViewType"]
    if spec.get("StreamViewType"):
        raise invalid_parameter("If stream is being disabled, then UpdateViewType must not be specified")
    if table.stream is None:
        raise ValidationException(f"Table has no stream to disable: TableName: {table.name}")
    return False
