"""DescribeTimeToLive: whether a table's Time to Live is on, and on which attribute.

ENABLED with the attribute, or DISABLED without one (a disabled table's old
attribute is forgotten).  DynamoDB's enum also has ENABLING and DISABLING,
but a Describe right after UpdateTimeToLive already shows the settled state,
as here.
"""

from kvstore.errors import ResourceNotFoundException
from kvstore.operations.common import check_request


READ_ONLY = True


def run(engine, request):
    check_request(request)
    table = engine.tables.get(request["TableName"])
    if table is None:
        raise ResourceNotFoundException(f"Requested resource not found: Table: {request['TableName']} not found")
    spec = table.meta.get("TimeToLiveSpecification")
    if spec and spec.get("Enabled"):
        return {"TimeToLiveDescription": {"TimeToLiveStatus": "ENABLED", "AttributeName": spec["AttributeName"]}}
    return {"TimeToLiveDescription": {"TimeToLiveStatus": "DISABLED"}}
