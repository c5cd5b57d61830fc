"""What the backup actions share: member checks, the lookup of a backup, and its response shapes.

The backups themselves live in the engine (``kvstore.engine.backup``); this is
the DynamoDB face of them: the BackupArn and table name-or-ARN constraints,
``BackupNotFoundException: Backup not found: <arn>``, and the BackupDetails /
BackupSummary / BackupDescription shapes.
"""

import contextlib
import threading

from kvstore import limits
from kvstore.engine.backup import store
from kvstore.errors import AccessDeniedException, BackupNotFoundException, LimitExceededException
from kvstore.operations.table_description import local_kms_key

MIN_ARN = 37
MAX_ARN = 1024
_restores_lock = threading.Lock()


def arn_violations(arn, path, required=True):
    """Constraints of a BackupArn member (37 to 1024 characters)."""
    return _length_violations(arn, path, MIN_ARN, MAX_ARN, required)


def _length_violations(value, path, minimum, maximum, required):
    if value is None:
        return [(None, path, "Member must not be null")] if required else []
    out = []
    if len(value) < minimum:
        out.append((value, path, f"Member must have length greater than or equal to {minimum}"))
    if len(value) > maximum:
        out.append((value, path, f"Member must have length less than or equal to {maximum}"))
    return out


def check_account(engine, arn, action):
    """AccessDeniedException for an ARN of another account: IAM lets no call reach another account's
    table or backup without a resource-based policy there (kvstore has none), and the database of
    this account must not answer for it (a name looked up here would be another table).  The wire
    face with credentials refuses it first, naming the caller (``kvstore.server.policy``)."""
    parts = arn.split(":", 5) if isinstance(arn, str) else ()
    if len(parts) == 6 and parts[0] == "arn" and parts[4] != engine.account_id:
        raise AccessDeniedException(f"User is not authorized to perform: dynamodb:{action} on resource: {arn} "
                                    f"because no resource-based policy allows the dynamodb:{action} action")


def find(engine, arn, action):
    """The backup an ARN names: AccessDeniedException for another account's, BackupNotFoundException for
    one this account's database does not hold (another region's among them: each region has its own)
    and for a SYSTEM backup past its BackupExpiryDateTime, gone as in DynamoDB."""
    check_account(engine, arn, action)
    backup = store(engine).get(arn)
    if backup is None or backup.expired(engine.clock()):
        raise BackupNotFoundException(f"Backup not found: {arn}")
    return backup


@contextlib.contextmanager
def restore_slot(engine):
    """One of the account's concurrent restores, held while a restore runs.

    DynamoDB: "Any number of users can run up to 50 concurrent restores (any
    type of restore) in a given account" (RestoreTableFromBackup and
    RestoreTableToPointInTime); one more is refused with LimitExceededException.
    A kvstore database is one account in one region.  The message is kvstore's
    (DynamoDB's text for this case is not documented).
    """
    most = limits.CONCURRENT_RESTORES
    with _restores_lock:
        running = getattr(engine, "restores_in_progress", 0)
        if running >= most:
            raise LimitExceededException(f"Subscriber limit exceeded: Only {most} restores can be in progress "
                                         "at the same time")
        engine.restores_in_progress = running + 1
    try:
        yield
    finally:
        with _restores_lock:
            engine.restores_in_progress -= 1


def details(backup, status="AVAILABLE"):
    out = {
        "BackupArn": backup.arn,
        "BackupName": backup.name,
        "BackupSizeBytes": backup.size_bytes,
        "BackupStatus": status,
        "BackupType": backup.kind,
        "BackupCreationDateTime": backup.created,
    }
    if backup.expires is not None:
        out["BackupExpiryDateTime"] = backup.expires
    return out


def summary(backup, status="AVAILABLE"):
    meta = backup.meta
    return {"TableName": meta["TableName"], "TableId": meta["TableId"], "TableArn": meta["TableArn"],
            **details(backup, status)}


def description(backup, status="AVAILABLE"):
    meta = backup.meta
    billing = meta.get("BillingMode", "PROVISIONED")
    source = {
        "TableName": meta["TableName"],
        "TableId": meta["TableId"],
        "TableArn": meta["TableArn"],
        "TableSizeBytes": backup.size_bytes,
        "KeySchema": [dict(k) for k in meta["KeySchema"]],
        "TableCreationDateTime": meta["CreationDateTime"],
        "ProvisionedThroughput": _throughput(meta.get("ProvisionedThroughput"), billing),
        "ItemCount": backup.item_count,
        "BillingMode": billing,
    }
    if meta.get("OnDemandThroughput"):
        source["OnDemandThroughput"] = dict(meta["OnDemandThroughput"])
    features = {}
    lsis = [{"IndexName": i["IndexName"], "KeySchema": [dict(k) for k in i["KeySchema"]],
             "Projection": dict(i["Projection"])} for i in meta.get("LocalSecondaryIndexes", ())]
    if lsis:
        features["LocalSecondaryIndexes"] = lsis
    gsis = [{"IndexName": g["IndexName"], "KeySchema": [dict(k) for k in g["KeySchema"]],
             "Projection": dict(g["Projection"]),
             "ProvisionedThroughput": _throughput(g.get("ProvisionedThroughput"), billing)}
            for g in meta.get("GlobalSecondaryIndexes", ())]
    if gsis:
        features["GlobalSecondaryIndexes"] = gsis
    stream = meta.get("StreamSpecification")
    if stream and stream.get("StreamEnabled"):
        features["StreamDescription"] = dict(stream)
    ttl = meta.get("TimeToLiveSpecification")
    if ttl and ttl.get("Enabled"):
        features["TimeToLiveDescription"] = {"TimeToLiveStatus": "ENABLED", "AttributeName": ttl["AttributeName"]}
    sse = meta.get("SSESpecification")
    if sse and sse.get("Enabled"):
        features["SSEDescription"] = {"Status": "ENABLED", "SSEType": sse.get("SSEType", "KMS"),
                                      "KMSMasterKeyArn": sse.get("KMSMasterKeyId") or
                                      local_kms_key(backup.meta["TableArn"])}
    return {"BackupDetails": details(backup, status), "SourceTableDetails": source,
            "SourceTableFeatureDetails": features}


def _throughput(spec, billing):
    if billing == "PAY_PER_REQUEST" or not spec:
        return {"ReadCapacityUnits": 0, "WriteCapacityUnits": 0}
    return {"ReadCapacityUnits": spec["ReadCapacityUnits"], "WriteCapacityUnits": spec["WriteCapacityUnits"]}


def table_arn_violations(value, path, required=True):
    """Constraints of a member that takes a table name or ARN (1 to 1024 characters)."""
    return _length_violations(value, path, 1, 1024, required)


def table_name_of(engine, name_or_arn, action):
    """The table a member naming a table by name or ARN names in this database.

    ``arn:aws:dynamodb:<region>:<account>:table/<name>`` of this database's
    account and region is ``<name>``; another account's is AccessDeniedException
    (:func:`check_account`); another region's is returned whole, so the caller's
    lookup finds no such table and answers its own not-found error naming it (the
    table lives in another database; its name here may be another table).
    """
    if name_or_arn.startswith("arn:") and ":table/" in name_or_arn:
        check_account(engine, name_or_arn, action)
        if name_or_arn.split(":", 5)[3] != engine.region:
            return name_or_arn
        return name_or_arn.split(":table/", 1)[1].split("/", 1)[0]
    return name_or_arn
