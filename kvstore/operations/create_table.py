"""CreateTable: a table with a HASH (and optional RANGE) key, optional LSIs and GSIs.

kvstore answers ACTIVE at once, as DynamoDB Local does; boto3's
``table_exists`` waiter works either way.  Validation follows DynamoDB's order:
required members and member constraints first (reported together), then the
key schema against the attribute definitions, then indexes and billing.
"""

from kvstore import limits
from kvstore.engine.table import new_table_meta
from kvstore.errors import ResourceInUseException, ValidationException, invalid_parameter
from kvstore.operations.table_description import describe
from kvstore.operations.table_schema import (
    check_attribute_definitions, check_billing, check_gsi_throughput, check_index, check_key_schema,
    check_member_constraints, check_stream_specification, check_tags, hash_name,
)


def run(engine, request):
    meta = plan(request, engine.clock(), engine.account_id, engine.region)
    with engine.catalog_lock:
        if request["TableName"] in engine.tables:
            raise ResourceInUseException(f"Table already exists: {request['TableName']}")
        stream_view = check_stream_specification(request.get("StreamSpecification"))
        table = engine.add_table(meta, stream_view) if stream_view else engine.add_table(meta)
    return {"TableDescription": describe(table)}


def plan(request, now, account_id=limits.ACCOUNT_ID, region=limits.REGION):
    """Validate a CreateTable request as DynamoDB does; return the new table's catalog entry.

    Touches no engine: RestoreTableFromBackup validates its new table through
    this too.  Whether the name is taken is the caller's check.
    """
    if request.get("TableName") is None:
        raise ValidationException("The parameter 'TableName' is required but was not present in the request")
    check_member_constraints(request)
    attribute_types = check_attribute_definitions(request["AttributeDefinitions"])
    check_key_schema(request["KeySchema"], attribute_types, None)
    used = {k["AttributeName"] for k in request["KeySchema"]}
    check_billing(request)
    lsis = request.get("LocalSecondaryIndexes")
    gsis = request.get("GlobalSecondaryIndexes")
    seen = set()
    projected = set()
    if lsis is not None:
        if not lsis:
            raise invalid_parameter("List of LocalSecondaryIndexes is empty")
        if len(lsis) > limits.MAX_LSIS:
            raise invalid_parameter(f"Number of LocalSecondaryIndexes exceeds per-table limit of {limits.MAX_LSIS}")
        table_hash = hash_name(request["KeySchema"])
        if len(request["KeySchema"]) < 2:
            raise invalid_parameter("Table KeySchema does not have a range key, which is required when "
                                    "specifying a LocalSecondaryIndex")
        for i, lsi in enumerate(lsis, 1):
            check_index(lsi, attribute_types, seen, projected, used, path=f"localSecondaryIndexes.{i}.member")
            name = lsi["IndexName"]
            if len(lsi["KeySchema"]) < 2:
                raise invalid_parameter(f"Index KeySchema does not have a range key for index: {name}")
            if hash_name(lsi["KeySchema"]) != table_hash:
                raise invalid_parameter(
                    f"Index KeySchema does not have the same leading hash key as table KeySchema for index: "
                    f"{name}. index hash key: {hash_name(lsi['KeySchema'])}, table hash key: {table_hash}")
    if gsis is not None:
        if not gsis:
            raise invalid_parameter("List of GlobalSecondaryIndexes is empty")
        if len(gsis) > limits.MAX_GSIS:
            raise invalid_parameter(f"GlobalSecondaryIndex count exceeds the per-table limit of {limits.MAX_GSIS}")
        for i, gsi in enumerate(gsis, 1):
            check_index(gsi, attribute_types, seen, projected, used, gsi=True,
                        path=f"globalSecondaryIndexes.{i}.member")
            check_gsi_throughput(gsi, request.get("BillingMode") or "PROVISIONED")
    unused = [d["AttributeName"] for d in request["AttributeDefinitions"] if d["AttributeName"] not in used]
    if unused:
        raise invalid_parameter(
            "Some AttributeDefinitions are not used. AttributeDefinitions: "
            f"[{', '.join(d['AttributeName'] for d in request['AttributeDefinitions'])}], keys used: "
            f"[{', '.join(sorted(used))}]")
    check_stream_specification(request.get("StreamSpecification"))
    check_tags(request.get("Tags"))
    return new_table_meta(request, now, account_id, region)
