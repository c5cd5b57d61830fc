"""A table's shape as copy carries it: CreateTable from a description, and what differs.

What carries: key schema, the key attributes' types, local and global secondary indexes
(key schema, including multi-attribute GSI keys, and projection), billing mode (with the
provisioned throughput numbers when the source is PROVISIONED), the stream specification
and the TTL attribute.  What does not: tags, SSE, table class, deletion protection,
auto scaling and IAM (docs/migration.md says why).

``differences(source, target)`` lists, one line each, what makes an existing target
incompatible; copy refuses to write into it until they are resolved.
"""


def _keys_of(schema):
    return [(k["AttributeName"], k["KeyType"]) for k in schema or ()]


def _attribute_types(description):
    return {a["AttributeName"]: a["AttributeType"] for a in description.get("AttributeDefinitions", ())}


def billing_mode(description):
    return (description.get("BillingModeSummary") or {}).get("BillingMode", "PROVISIONED")


def _throughput(description):
    pt = description.get("ProvisionedThroughput") or {}
    return {"ReadCapacityUnits": max(1, int(pt.get("ReadCapacityUnits") or 1)),
            "WriteCapacityUnits": max(1, int(pt.get("WriteCapacityUnits") or 1))}


def stream_spec(description):
    spec = description.get("StreamSpecification") or {}
    if not spec.get("StreamEnabled"):
        return None
    return {"StreamEnabled": True, "StreamViewType": spec["StreamViewType"]}


def ttl_attribute(ttl_description):
    if (ttl_description or {}).get("TimeToLiveStatus") in ("ENABLED", "ENABLING"):
        return ttl_description.get("AttributeName")
    return None


def _projection(index):
    p = index.get("Projection") or {"ProjectionType": "ALL"}
    out = {"ProjectionType": p.get("ProjectionType", "ALL")}
    if p.get("NonKeyAttributes"):
        out["NonKeyAttributes"] = sorted(p["NonKeyAttributes"])
    return out


def create_request(description, name=None):
    """The CreateTable request that reproduces ``description`` (TTL is applied after, see copy)."""
    provisioned = billing_mode(description) == "PROVISIONED"
    request = {
        "TableName": name or description["TableName"],
        "KeySchema": [dict(AttributeName=n, KeyType=t) for n, t in _keys_of(description["KeySchema"])],
        "AttributeDefinitions": [dict(AttributeName=n, AttributeType=t)
                                 for n, t in _attribute_types(description).items()],
        "BillingMode": "PROVISIONED" if provisioned else "PAY_PER_REQUEST",
    }
    if provisioned:
        request["ProvisionedThroughput"] = _throughput(description)
    lsis = [{"IndexName": i["IndexName"], "KeySchema": i["KeySchema"], "Projection": _projection(i)}
            for i in description.get("LocalSecondaryIndexes") or ()]
    if lsis:
        request["LocalSecondaryIndexes"] = lsis
    gsis = []
    for i in description.get("GlobalSecondaryIndexes") or ():
        gsi = {"IndexName": i["IndexName"], "KeySchema": i["KeySchema"], "Projection": _projection(i)}
        if provisioned:
            gsi["ProvisionedThroughput"] = _throughput(i)
        gsis.append(gsi)
    if gsis:
        request["GlobalSecondaryIndexes"] = gsis
    stream = stream_spec(description)
    if stream:
        request["StreamSpecification"] = stream
    return request


def _indexes(description, member):
    return {i["IndexName"]: (_keys_of(i["KeySchema"]), _projection(i)) for i in description.get(member) or ()}


def differences(source, target, source_ttl=None, target_ttl=None):
    """What differs between two existing tables, as sentences (empty when compatible)."""
    out = []
    if _keys_of(source["KeySchema"]) != _keys_of(target["KeySchema"]):
        out.append(f"key schema: source {_keys_of(source['KeySchema'])}, target {_keys_of(target['KeySchema'])}")
    s_types, t_types = _attribute_types(source), _attribute_types(target)
    for name in sorted(set(s_types) | set(t_types)):
        if name in s_types and name in t_types and s_types[name] != t_types[name]:
            out.append(f"attribute {name!r}: type {s_types[name]} in the source, {t_types[name]} in the target")
    for member, label in (("LocalSecondaryIndexes", "local secondary index"),
                          ("GlobalSecondaryIndexes", "global secondary index")):
        s_ix, t_ix = _indexes(source, member), _indexes(target, member)
        for name in sorted(set(s_ix) - set(t_ix)):
            out.append(f"{label} {name!r}: missing in the target")
        for name in sorted(set(t_ix) - set(s_ix)):
            out.append(f"{label} {name!r}: only in the target")
        for name in sorted(set(s_ix) & set(t_ix)):
            if s_ix[name][0] != t_ix[name][0]:
                out.append(f"{label} {name!r}: key schema {s_ix[name][0]} in the source, {t_ix[name][0]} in the target")
            if s_ix[name][1] != t_ix[name][1]:
                out.append(f"{label} {name!r}: projection {s_ix[name][1]} in the source, {t_ix[name][1]} in the target")
    if billing_mode(source) != billing_mode(target):
        out.append(f"billing mode: {billing_mode(source)} in the source, {billing_mode(target)} in the target")
    if stream_spec(source) != stream_spec(target):
        out.append(f"stream: {stream_spec(source)} in the source, {stream_spec(target)} in the target")
    if source_ttl is not None and target_ttl is not None and ttl_attribute(source_ttl) != ttl_attribute(target_ttl):
        out.append(f"time to live attribute: {ttl_attribute(source_ttl)!r} in the source, "
                   f"{ttl_attribute(target_ttl)!r} in the target")
    return out
