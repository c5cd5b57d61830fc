"""The TableDescription shape shared by Create/Describe/Update/DeleteTable."""


def local_kms_key(table_arn):
    """The KMS key ARN reported for SSE without a key of one's own: in the table's account and region."""
    _arn, _aws, _service, region, account, _resource = table_arn.split(":", 5)
    return f"arn:aws:kms:{region}:{account}:key/kvstore-local"


def throughput(spec, billing):
    if billing == "PAY_PER_REQUEST" or not spec:
        return {"NumberOfDecreasesToday": 0, "ReadCapacityUnits": 0, "WriteCapacityUnits": 0}
    return {"NumberOfDecreasesToday": 0, "ReadCapacityUnits": spec["ReadCapacityUnits"],
            "WriteCapacityUnits": spec["WriteCapacityUnits"]}


def describe(table, status="ACTIVE"):
    meta = table.meta
    billing = meta.get("BillingMode", "PROVISIONED")
    desc = {
        "AttributeDefinitions": [dict(d) for d in meta["AttributeDefinitions"]],
        "TableName": table.name,
        "KeySchema": [dict(k) for k in meta["KeySchema"]],
        "TableStatus": status,
        "CreationDateTime": meta["CreationDateTime"],
        "ProvisionedThroughput": throughput(meta.get("ProvisionedThroughput"), billing),
        "TableSizeBytes": table.size_bytes,
        "ItemCount": table.item_count,
        "TableArn": meta["TableArn"],
        "TableId": meta["TableId"],
    }
    if billing == "PAY_PER_REQUEST":
        desc["BillingModeSummary"] = {"BillingMode": "PAY_PER_REQUEST",
                                      "LastUpdateToPayPerRequestDateTime": meta.get(
                                          "LastUpdateToPayPerRequestDateTime", meta["CreationDateTime"])}
    lsis = [_index(table, i, meta) for i in table.lsis]
    if lsis:
        desc["LocalSecondaryIndexes"] = lsis
    gsis = [_index(table, i, meta) for i in table.gsis]
    if gsis:
        desc["GlobalSecondaryIndexes"] = gsis
    if meta.get("StreamSpecification"):               # only while a stream is enabled
        desc["StreamSpecification"] = dict(meta["StreamSpecification"])
    if meta.get("LatestStreamArn"):                   # the last stream, enabled or not
        desc["LatestStreamLabel"] = meta["LatestStreamLabel"]
        desc["LatestStreamArn"] = meta["LatestStreamArn"]
    sse = meta.get("SSESpecification")
    if sse and sse.get("Enabled"):
        desc["SSEDescription"] = {"Status": "ENABLED", "SSEType": sse.get("SSEType", "KMS"),
                                  "KMSMasterKeyArn": sse.get("KMSMasterKeyId") or
                                  local_kms_key(meta["TableArn"])}
    if meta.get("TableClass"):
        desc["TableClassSummary"] = {"TableClass": meta["TableClass"]}
    if "DeletionProtectionEnabled" in meta:
        desc["DeletionProtectionEnabled"] = meta["DeletionProtectionEnabled"]
    if meta.get("RestoreSummary"):
        desc["RestoreSummary"] = dict(meta["RestoreSummary"])
    for member in ("OnDemandThroughput", "WarmThroughput"):
        if meta.get(member):
            desc[member] = dict(meta[member])
    return desc


def _index(table, index, meta):
    desc = index.describe()
    desc["IndexArn"] = f"{meta['TableArn']}/index/{index.name}"
    if index.kind == "GSI":
        spec = next((g for g in meta.get("GlobalSecondaryIndexes", ()) if g["IndexName"] == index.name), {})
        desc["IndexStatus"] = index.status
        if index.backfilling:
            desc["Backfilling"] = True
        desc["ProvisionedThroughput"] = throughput(spec.get("ProvisionedThroughput"),
                                                   meta.get("BillingMode", "PROVISIONED"))
    return desc
