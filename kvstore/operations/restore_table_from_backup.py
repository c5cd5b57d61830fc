"""RestoreTableFromBackup: a new table with the backup's key schema, indexes and rows.

The new table takes the source table's key schema, attribute definitions,
local and global secondary indexes, billing mode and throughput, and its
encryption settings, unless a ``*Override`` member replaces them (a
``GlobalSecondaryIndexOverride`` / ``LocalSecondaryIndexOverride`` replaces
the whole list; ``[]`` drops every index).  As in DynamoDB, tags, streams,
TTL and deletion protection are not restored.  Indexes are rebuilt by
applying the rows.  The table's description carries ``RestoreSummary``.

DynamoDB answers CREATING and restores in the background; kvstore restores
before answering, so the response is ACTIVE with ``RestoreInProgress: false``.
The new table is validated exactly as CreateTable validates a request.
"""

import copy

from kvstore.engine.backup import store
from kvstore.errors import TableAlreadyExistsException, constraint_error
from kvstore.operations import create_table
from kvstore.operations.backups import arn_violations, find, restore_slot
from kvstore.operations.common import table_name_violations
from kvstore.operations.table_description import describe
from kvstore.operations.table_schema import BILLING_MODES


def run(engine, request):
    target = request.get("TargetTableName")
    violations = table_name_violations(target, "targetTableName", minimum=3)
    violations += arn_violations(request.get("BackupArn"), "backupArn")
    billing = request.get("BillingModeOverride")
    if billing is not None and billing not in ("PROVISIONED", "PAY_PER_REQUEST"):
        violations.append((billing, "billingModeOverride", f"Member must satisfy enum value set: {BILLING_MODES}"))
    if violations:
        raise constraint_error(violations)
    backup = find(engine, request["BackupArn"], "RestoreTableFromBackup")
    if target in engine.tables:
        raise TableAlreadyExistsException(f"Table already exists: {target}")
    meta = _new_meta(engine, backup, request)
    meta["RestoreSummary"] = {"SourceBackupArn": backup.arn, "SourceTableArn": backup.meta["TableArn"],
                              "RestoreDateTime": engine.clock(), "RestoreInProgress": True}
    with restore_slot(engine), engine.catalog_lock:
        if target in engine.tables:
            raise TableAlreadyExistsException(f"Table already exists: {target}")
        table = store(engine).restore(backup, meta)
    return {"TableDescription": describe(table)}


def _new_meta(engine, backup, request):
    return restored_meta(engine, backup.meta, request)


def restored_meta(engine, source, request):
    """The catalog entry of a table restored from ``source`` (a catalog entry) with the request's
    ``*Override`` members, built as CreateTable would build it from the equivalent request
    (RestoreTableToPointInTime builds its new table through this too)."""
    billing = request.get("BillingModeOverride") or source.get("BillingMode", "PROVISIONED")
    throughput = request.get("ProvisionedThroughputOverride")
    if throughput is None and billing == "PROVISIONED":
        throughput = source.get("ProvisionedThroughput") or None
    create = {"TableName": request["TargetTableName"], "KeySchema": copy.deepcopy(source["KeySchema"]),
              "BillingMode": billing}
    if billing == "PROVISIONED" and throughput:
        create["ProvisionedThroughput"] = dict(throughput)
    lsis = request.get("LocalSecondaryIndexOverride")
    if lsis is None:
        lsis = [{k: v for k, v in i.items() if k in ("IndexName", "KeySchema", "Projection")}
                for i in source.get("LocalSecondaryIndexes", ())]
    gsis = request.get("GlobalSecondaryIndexOverride")
    if gsis is None:
        gsis = [_gsi_for(g, billing, throughput) for g in source.get("GlobalSecondaryIndexes", ())]
    if lsis:
        create["LocalSecondaryIndexes"] = copy.deepcopy(lsis)
    if gsis:
        create["GlobalSecondaryIndexes"] = copy.deepcopy(gsis)
    used = {k["AttributeName"] for k in create["KeySchema"]}
    for index in list(lsis) + list(gsis):
        used.update(k.get("AttributeName") for k in index.get("KeySchema") or ())
    create["AttributeDefinitions"] = [dict(d) for d in source["AttributeDefinitions"] if d["AttributeName"] in used]
    for member, override in (("SSESpecification", "SSESpecificationOverride"),
                             ("OnDemandThroughput", "OnDemandThroughputOverride")):
        value = request.get(override, source.get(member))
        if value is not None:
            create[member] = copy.deepcopy(value)
    if source.get("TableClass"):
        create["TableClass"] = source["TableClass"]
    return create_table.plan(create, engine.clock(), engine.account_id, engine.region)


def _gsi_for(gsi, billing, table_throughput):
    out = {"IndexName": gsi["IndexName"], "KeySchema": gsi["KeySchema"], "Projection": gsi["Projection"]}
    if billing == "PROVISIONED":
        throughput = gsi.get("ProvisionedThroughput") or table_throughput
        if throughput:
            out["ProvisionedThroughput"] = dict(throughput)
    return out
