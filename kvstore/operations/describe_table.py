"""DescribeTable: the TableDescription of one table."""

from kvstore.errors import ResourceNotFoundException
from kvstore.operations.common import check_request
from kvstore.operations.table_description import describe


READ_ONLY = True


def run(engine, request):
    check_request(request)
    table = engine.tables.get(request["TableName"])
    if table is None:
        raise ResourceNotFoundException(f"Requested resource not found: Table: {request['TableName']} not found")
    return {"Table": describe(table)}
