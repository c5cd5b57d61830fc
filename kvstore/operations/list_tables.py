"""ListTables: table names in ascending order, 100 (or Limit) at a time."""

from kvstore.operations.common import check_constraints, table_name_violations


READ_ONLY = True


def run(engine, request):
    limit = request.get("Limit")
    start = request.get("ExclusiveStartTableName")
    violations = []
    if start is not None:
        violations += table_name_violations(start, "exclusiveStartTableName", 3)
    if limit is not None and limit < 1:
        violations.append((str(limit), "limit", "Member must have value greater than or equal to 1"))
    if limit is not None and limit > 100:
        violations.append((str(limit), "limit", "Member must have value less than or equal to 100"))
    check_constraints(violations)
    limit = limit or 100
    names = sorted(n for n in engine.tables if start is None or n > start)
    response = {"TableNames": names[:limit]}
    if len(names) > limit:
        response["LastEvaluatedTableName"] = names[limit - 1]
    return response
