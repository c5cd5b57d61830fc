"""DeleteTable: drop a table and everything in it; the name is free again at once.

A table with point-in-time recovery on leaves a SYSTEM backup,
``<table>$DeletedTableBackup``, kept 35 days (``kvstore/engine/pitr.py``, ``PointInTime.drop``).
"""

from kvstore.errors import ResourceNotFoundException, ValidationException
from kvstore.operations.common import check_request
from kvstore.operations.table_description import describe


def run(engine, request):
    check_request(request)
    name = request["TableName"]
    table = engine.tables.get(name)
    if table is None:
        raise ResourceNotFoundException(f"Requested resource not found: Table: {name} not found")
    if table.meta.get("DeletionProtectionEnabled"):
        raise ValidationException(f"Table '{name}' can't be deleted while DeletionProtectionEnabled is set to True")
    desc = describe(table, "DELETING")
    engine.pitr.drop(name)
    for member in ("KeySchema", "AttributeDefinitions", "LocalSecondaryIndexes", "GlobalSecondaryIndexes",
                   "CreationDateTime"):
        desc.pop(member, None)
    return {"TableDescription": desc}
