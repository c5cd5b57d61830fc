"""UpdateTimeToLive: turn a table's Time to Live on (naming the attribute) or off.

The response echoes the specification; the table stays ACTIVE.  Both members
are required, also to disable, where the name must be the current one.  A
table has one TTL attribute: changing it takes a disable, then an enable.
DynamoDB also refuses any change within about an hour of the previous one;
kvstore enforces that only when the database is opened with
``ttl_cooldown_seconds`` (as the reference advises for a local store).

The settings live in the table's catalog entry, so they survive restarts;
the sweeper (``kvstore.engine.ttl``) finds the items, including those
written before TTL was enabled.
"""

import copy

from kvstore import limits
from kvstore.engine import ttl
from kvstore.errors import ResourceNotFoundException, SerializationException, ValidationException, constraint_error
from kvstore.operations.common import table_name_violations

#: catalog member holding the clock time of the last successful change (for the cooldown)
CHANGED_AT = "TimeToLiveChangedAt"


def run(engine, request):
    spec = request.get("TimeToLiveSpecification")
    name = enabled = None
    if spec is not None:
        if type(spec) is not dict:
            raise SerializationException(_kind_message(spec, "structure"))
        name, enabled = spec.get("AttributeName"), spec.get("Enabled")
        if name is not None and type(name) is not str:
            raise SerializationException(_kind_message(name, "String"))
        if enabled is not None and type(enabled) is not bool:
            raise SerializationException(_kind_message(enabled, "Boolean"))
    violations = table_name_violations(request.get("TableName"))
    if spec is None:
        violations.append((None, "timeToLiveSpecification", "Member must not be null"))
    else:
        path = "timeToLiveSpecification.attributeName"
        if name is None:
            violations.append((None, path, "Member must not be null"))
        elif not name:
            violations.append(("''", path, "Member must have length greater than or equal to 1"))
        elif len(name) > limits.MAX_KEY_ATTRIBUTE_NAME_SIZE:
            violations.append((name, path, "Member must have length less than or equal to "
                               f"{limits.MAX_KEY_ATTRIBUTE_NAME_SIZE}"))
        if enabled is None:
            violations.append((None, "timeToLiveSpecification.enabled", "Member must not be null"))
    if violations:
        raise _constraint_error(violations)
    with engine.catalog_lock:
        table = engine.tables.get(request["TableName"])
        if table is None:
            raise ResourceNotFoundException(f"Requested resource not found: Table: {request['TableName']} not found")
        current = table.meta.get("TimeToLiveSpecification")
        current = current["AttributeName"] if current and current.get("Enabled") else None
        if enabled and current == name:
            raise ValidationException("TimeToLive is already enabled")
        if current is None and not enabled:
            raise ValidationException("TimeToLive is already disabled")
        if current is not None and current != name:
            raise ValidationException(
                f"TimeToLive is active on a different AttributeName: current AttributeName is {current}")
        now = engine.clock()
        cooldown = engine.ttl_cooldown_seconds
        changed = table.meta.get(CHANGED_AT)
        if cooldown is not None and changed is not None and now - changed < cooldown:
            raise ValidationException("Time to live has been modified multiple times within a fixed interval")
        meta = copy.deepcopy(table.meta)
        if enabled:
            meta["TimeToLiveSpecification"] = {"Enabled": True, "AttributeName": name}
        else:
            meta.pop("TimeToLiveSpecification", None)
        meta[CHANGED_AT] = now
        table.meta = meta
        ttl.configure(table, live=True)
        engine.save_meta(table)
        if enabled:
            engine.schedule_ttl_sweeps()
    return {"TimeToLiveSpecification": {"Enabled": enabled, "AttributeName": name}}


def _constraint_error(violations):
    # an empty name is shown as Value '' (constraint_error's "" means "no value shown")
    error = constraint_error([(v, p, c) if v != "''" else ("\0", p, c) for v, p, c in violations])
    return ValidationException(error.message.replace("Value '\0'", "Value ''"))


def _kind_message(value, target):
    """What DynamoDB's (Java) deserializer says of a JSON value of the wrong kind inside the specification."""
    if type(value) is list:
        return "Start of list found where not expected"
    if type(value) is dict:
        return "Start of structure or map found where not expected."
    if target == "structure":
        return "Expected null"
    if type(value) is str:
        return f"'{value.upper()}' can not be converted to an Boolean"
    java = {bool: "java.lang.Boolean", str: "java.lang.String", float: "java.lang.Double"}.get(type(value))
    if java is None:
        java = "java.lang.Integer" if -2 ** 31 <= value < 2 ** 31 else "java.lang.Long"
    return f"class {java} can not be converted to an {target}"
