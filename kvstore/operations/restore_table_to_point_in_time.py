"""RestoreTableToPointInTime: a new table holding a PITR table's items as they were at a given second.

The source is named by ``SourceTableName`` or ``SourceTableArn`` (one of them),
the time by ``RestoreDateTime`` or ``UseLatestRestorableTime`` (one of them);
the time must lie in the source's window (DescribeContinuousBackups).  The new
table gets the source's *current* key schema, indexes, billing mode, throughput
and encryption settings unless an ``*Override`` member replaces them
(``BillingModeOverride``, ``GlobalSecondaryIndexOverride``,
``LocalSecondaryIndexOverride``, ``ProvisionedThroughputOverride``,
``OnDemandThroughputOverride``, ``SSESpecificationOverride``), validated as
CreateTable validates them; as in DynamoDB, tags, streams, TTL, PITR and
deletion protection are not carried over.  The restored items are every write
committed at or before the restore time (a transaction whole or not at all):
``kvstore/engine/pitr.py`` replays the retained history.

DynamoDB answers CREATING and restores in the background; kvstore restores
before answering, so the response is ACTIVE with ``RestoreInProgress: false``,
and a crash mid-restore leaves no table.
"""

from datetime import datetime
from decimal import Decimal

from kvstore.engine.pitr import settings
from kvstore.errors import (
    InvalidRestoreTimeException,
    PointInTimeRecoveryUnavailableException,
    TableAlreadyExistsException,
    TableNotFoundException,
    ValidationException,
    constraint_error,
)
from kvstore.operations.backups import restore_slot, table_arn_violations, table_name_of
from kvstore.operations.common import table_name_violations
from kvstore.operations.restore_table_from_backup import restored_meta
from kvstore.operations.table_description import describe
from kvstore.operations.table_schema import BILLING_MODES

INVALID_TIME = "RestoreDateTime must be between EarliestRestorableDateTime and LatestRestorableDateTime"


def check_members(request):
    """Member constraints of the names, the ARN and the billing mode, reported together."""
    violations = table_name_violations(request.get("TargetTableName"), "targetTableName", minimum=3)
    if request.get("SourceTableName") is not None:
        violations += table_name_violations(request["SourceTableName"], "sourceTableName", minimum=3)
    violations += table_arn_violations(request.get("SourceTableArn"), "sourceTableArn", required=False)
    billing = request.get("BillingModeOverride")
    if billing is not None and billing not in ("PROVISIONED", "PAY_PER_REQUEST"):
        violations.append((billing, "billingModeOverride", f"Member must satisfy enum value set: {BILLING_MODES}"))
    if violations:
        raise constraint_error(violations)


def run(engine, request):
    check_members(request)
    name, arn = request.get("SourceTableName"), request.get("SourceTableArn")
    if name is None and arn is None:
        raise ValidationException("Either SourceTableName or SourceTableArn must be specified")
    if name is not None and arn is not None:
        raise ValidationException("Only one of SourceTableName or SourceTableArn may be specified")
    latest = request.get("UseLatestRestorableTime")
    when = _seconds(request.get("RestoreDateTime"))
    if latest and when is not None:
        raise ValidationException("Only one of RestoreDateTime or UseLatestRestorableTime may be specified")
    if not latest and when is None:
        raise ValidationException("Either RestoreDateTime or UseLatestRestorableTime must be specified")
    source_name = name if name is not None else table_name_of(engine, arn, "RestoreTableToPointInTime")
    source = engine.tables.get(source_name)
    if source is None:
        raise TableNotFoundException(f"Table not found: {source_name}")
    target = request["TargetTableName"]
    if target in engine.tables:
        raise TableAlreadyExistsException(f"Table already exists: {target}")
    if settings(source) is None:
        raise PointInTimeRecoveryUnavailableException(
            f"Point in time recovery is not enabled for table '{source_name}'")
    earliest, now = engine.pitr.window(source)
    if latest:
        when = now
    elif not earliest <= when <= now:
        raise InvalidRestoreTimeException(INVALID_TIME)
    meta = restored_meta(engine, source.meta, request)
    meta["RestoreSummary"] = {"SourceTableArn": source.meta["TableArn"], "RestoreDateTime": when,
                              "RestoreInProgress": False}
    with restore_slot(engine):
        table = engine.pitr.restore(source, when, meta)
    return {"TableDescription": describe(table)}


def _seconds(value):
    """A RestoreDateTime as epoch seconds (a datetime from Python, a number from the wire)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, (Decimal, int, float)) and not isinstance(value, bool):
        return float(value)
    raise ValidationException(f"1 validation error detected: Value '{value}' at 'restoreDateTime' failed to "
                              "satisfy constraint: Member must be a timestamp")
