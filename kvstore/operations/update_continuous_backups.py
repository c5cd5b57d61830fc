"""UpdateContinuousBackups: turn point-in-time recovery on or off, or change its recovery period.

``PointInTimeRecoverySpecification`` is ``{PointInTimeRecoveryEnabled, RecoveryPeriodInDays}``;
the period is 1 to 35 days and defaults to 35 when PITR is turned on.  Turning it
off drops the table's history (turning it on again starts a new one, from that
moment, as in DynamoDB).  The history itself is the engine's
(``kvstore/engine/pitr.py``).  ``TableName`` may be the table's ARN.
"""

from kvstore.engine.pitr import DEFAULT_DAYS, settings
from kvstore.errors import TableNotFoundException, ValidationException
from kvstore.operations.backups import table_arn_violations, table_name_of
from kvstore.operations.common import check_constraints
from kvstore.operations.describe_continuous_backups import description

MIN_DAYS = 1
MAX_DAYS = 35
SPEC = "pointInTimeRecoverySpecification"


def check_members(request):
    """The table name-or-ARN, the specification and its members' constraints, reported together."""
    violations = table_arn_violations(request.get("TableName"), "tableName")
    spec = request.get("PointInTimeRecoverySpecification")
    if spec is None:
        violations.append((None, SPEC, "Member must not be null"))
    else:
        if spec.get("PointInTimeRecoveryEnabled") is None:
            violations.append((None, f"{SPEC}.pointInTimeRecoveryEnabled", "Member must not be null"))
        days = spec.get("RecoveryPeriodInDays")
        if days is not None and type(days) is int:
            if days < MIN_DAYS:
                violations.append((days, f"{SPEC}.recoveryPeriodInDays",
                                   f"Member must have value greater than or equal to {MIN_DAYS}"))
            if days > MAX_DAYS:
                violations.append((days, f"{SPEC}.recoveryPeriodInDays",
                                   f"Member must have value less than or equal to {MAX_DAYS}"))
    check_constraints(violations)


def run(engine, request):
    check_members(request)
    spec = request["PointInTimeRecoverySpecification"]
    enabled, days = spec["PointInTimeRecoveryEnabled"], spec.get("RecoveryPeriodInDays")
    if type(enabled) is not bool:
        raise ValidationException(f"1 validation error detected: Value '{enabled}' at "
                                  f"'{SPEC}.pointInTimeRecoveryEnabled' failed to satisfy constraint: "
                                  "Member must be a boolean")
    if days is not None and type(days) is not int:
        raise ValidationException(f"1 validation error detected: Value '{days}' at '{SPEC}.recoveryPeriodInDays' "
                                  "failed to satisfy constraint: Member must be an integer")
    if days is not None and not enabled:
        raise ValidationException("RecoveryPeriodInDays can only be set when PointInTimeRecoveryEnabled is true")
    name = table_name_of(engine, request["TableName"], "UpdateContinuousBackups")
    table = engine.tables.get(name)
    if table is None:
        raise TableNotFoundException(f"Table not found: {name}")
    if enabled:
        current = settings(table)
        if days is None:
            days = current["RecoveryPeriodInDays"] if current is not None else DEFAULT_DAYS
        engine.pitr.enable(table, days)
    else:
        engine.pitr.disable(table)
    return {"ContinuousBackupsDescription": description(engine, table)}
