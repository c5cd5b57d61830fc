"""Checks of a table's schema that CreateTable, UpdateTable and RestoreTableFromBackup share.

Each raises DynamoDB's error, with its exact message, for the first problem it
finds: member constraints (reported together), attribute definitions, key
schemas, index definitions and projections, billing and throughput, stream
specifications and tags.
"""

from kvstore import limits
from kvstore.errors import ValidationException, constraint_error, invalid_parameter
from kvstore.operations.common import table_name_violations
from kvstore.operations.multi_attribute_keys import check_gsi_key_elements, lsi_key_schema_violations
from kvstore.operations.tags import check_tag_list

BILLING_MODES = "[PROVISIONED, PAY_PER_REQUEST]"


def check_member_constraints(request):
    violations = table_name_violations(request.get("TableName"), minimum=limits.MIN_TABLE_NAME)
    key_schema = request.get("KeySchema")
    definitions = request.get("AttributeDefinitions")
    if key_schema is None:
        violations.append((None, "keySchema", "Member must not be null"))
    else:
        if len(key_schema) > 2:
            violations.append((_render(key_schema), "keySchema", "Member must have length less than or equal to 2"))
        if len(key_schema) < 1:
            violations.append(("[]", "keySchema", "Member must have length greater than or equal to 1"))
        for i, element in enumerate(key_schema, 1):
            if element.get("AttributeName") is None:
                violations.append((None, f"keySchema.{i}.member.attributeName", "Member must not be null"))
            if element.get("KeyType") not in ("HASH", "RANGE"):
                violations.append((element.get("KeyType"), f"keySchema.{i}.member.keyType",
                                   "Member must satisfy enum value set: [HASH, RANGE]"))
    violations += lsi_key_schema_violations(request.get("LocalSecondaryIndexes"))
    for member, path in (("LocalSecondaryIndexes", "localSecondaryIndexes"),
                         ("GlobalSecondaryIndexes", "globalSecondaryIndexes")):
        for i, spec in enumerate(request.get(member) or (), 1):
            violations += index_member_violations(spec, f"{path}.{i}.member")
    if definitions is None:
        violations.append((None, "attributeDefinitions", "Member must not be null"))
    else:
        for i, d in enumerate(definitions, 1):
            if d.get("AttributeName") is None:
                violations.append((None, f"attributeDefinitions.{i}.member.attributeName", "Member must not be null"))
            if d.get("AttributeType") is None:
                violations.append((None, f"attributeDefinitions.{i}.member.attributeType", "Member must not be null"))
            elif d.get("AttributeType") not in ("S", "N", "B"):
                violations.append((d.get("AttributeType"), f"attributeDefinitions.{i}.member.attributeType",
                                   "Member must satisfy enum value set: [B, N, S]"))
    violations.extend(stream_specification_violations(request.get("StreamSpecification")))
    billing = request.get("BillingMode")
    if billing is not None and billing not in ("PROVISIONED", "PAY_PER_REQUEST"):
        violations.append((billing, "billingMode", f"Member must satisfy enum value set: {BILLING_MODES}"))
    violations += throughput_violations(request.get("ProvisionedThroughput"), "provisionedThroughput")
    if violations:
        raise constraint_error(violations)


def throughput_violations(throughput, path):
    """A ProvisionedThroughput's member constraints: both capacity units given (the model requires
    them), each at least 1."""
    out = []
    if throughput is not None:
        for member in ("ReadCapacityUnits", "WriteCapacityUnits"):
            value = throughput.get(member)
            where = f"{path}.{member[:1].lower()}{member[1:]}"
            if value is None:
                out.append((None, where, "Member must not be null"))
            elif value < 1:
                out.append((str(value), where, "Member must have value greater than or equal to 1"))
    return out


#: members an index definition must carry (CreateTable's GlobalSecondaryIndex and LocalSecondaryIndex,
#: UpdateTable's CreateGlobalSecondaryIndexAction), as the service model requires them
INDEX_REQUIRED = ("IndexName", "KeySchema", "Projection")


def index_member_violations(spec, path, required=INDEX_REQUIRED):
    """Member constraints inside one index definition (``path`` is its member path, e.g.
    ``globalSecondaryIndexes.1.member``): required members present, a KeySchema of at least
    one element, each element with an AttributeName and a KeyType of the enum.

    DynamoDB's validator reports these with the request's other member constraints,
    before it looks at what the index means."""
    out = []
    for member in required:
        if spec.get(member) is None:
            out.append((None, f"{path}.{member[:1].lower()}{member[1:]}", "Member must not be null"))
    key_schema = spec.get("KeySchema")
    if key_schema is not None:
        if not key_schema:
            out.append(("[]", f"{path}.keySchema", "Member must have length greater than or equal to 1"))
        for i, element in enumerate(key_schema, 1):
            if element.get("AttributeName") is None:
                out.append((None, f"{path}.keySchema.{i}.member.attributeName", "Member must not be null"))
            if element.get("KeyType") not in ("HASH", "RANGE"):
                out.append((element.get("KeyType"), f"{path}.keySchema.{i}.member.keyType",
                            "Member must satisfy enum value set: [HASH, RANGE]"))
    return out


def _render(elements):
    return "[" + ", ".join(
        "KeySchemaElement(attributeName=%s, keyType=%s)" % (e.get("AttributeName"), e.get("KeyType"))
        for e in elements) + "]"


def check_attribute_definitions(definitions):
    types = {}
    for d in definitions:
        name = d["AttributeName"]
        if name in types:
            raise invalid_parameter(f"Duplicate AttributeName in AttributeDefinitions: {name}")
        if not name:
            raise invalid_parameter("Empty attribute name")
        if len(name.encode("utf-8")) > limits.MAX_KEY_ATTRIBUTE_NAME_SIZE:
            raise ValidationException(
                f"One or more parameter values were invalid: AttributeName must be {limits.MAX_KEY_ATTRIBUTE_NAME_SIZE} "
                f"characters or less: {name}")
        types[name] = d["AttributeType"]
    return types


def check_key_schema(key_schema, attribute_types, index_name, gsi=False):
    """A table's, LSI's or (``gsi``) GSI's KeySchema against the attribute definitions.

    A GSI's key may have several HASH and RANGE elements (multi_attribute_keys.py)."""
    names = [k["AttributeName"] for k in key_schema]
    if len(set(names)) < len(names) and len(attribute_types) < len(names):
        raise ValidationException("Invalid KeySchema: Some index key attribute have no definition")
    missing = [n for n in names if n not in attribute_types]
    if missing:
        if len(key_schema) > len(attribute_types):
            raise ValidationException("Invalid KeySchema: Some index key attribute have no definition")
        raise invalid_parameter(
            f"Some index key attributes are not defined in AttributeDefinitions. Keys: [{', '.join(names)}], "
            f"AttributeDefinitions: [{', '.join(attribute_types)}]")
    if gsi:
        check_gsi_key_elements(key_schema)
    elif key_schema[0]["KeyType"] != "HASH":
        raise ValidationException("Invalid KeySchema: The first KeySchemaElement is not a HASH key type")
    elif len(key_schema) == 2:
        if key_schema[1]["KeyType"] != "RANGE":
            raise ValidationException("Invalid KeySchema: The second KeySchemaElement is not a RANGE key type")
        if names[0] == names[1]:
            raise ValidationException(
                "Both the Hash Key and the Range Key element in the KeySchema have the same name")
    for n in names:
        if len(n.encode("utf-8")) > limits.MAX_KEY_ATTRIBUTE_NAME_SIZE:
            raise invalid_parameter(f"Key attribute names must be at most 255 bytes long: {n}")


def check_index(spec, attribute_types, seen, projected, used, gsi=False, path="indexName"):
    """One index definition of CreateTable; ``path`` is its member path in constraint messages
    (``globalSecondaryIndexes.2.member``, as DynamoDB reports every nested member)."""
    name = spec.get("IndexName")
    violations = table_name_violations(name, f"{path}.indexName", 3)
    if violations:
        raise constraint_error(violations)
    if name in seen:
        raise invalid_parameter(f"Duplicate index name: {name}")
    seen.add(name)
    check_key_schema(spec["KeySchema"], attribute_types, name, gsi)
    used.update(k["AttributeName"] for k in spec["KeySchema"])
    check_projection(spec.get("Projection"), name, projected)


def check_projection(projection, index_name, projected):
    if not projection or projection.get("ProjectionType") is None:
        if projection and projection.get("NonKeyAttributes"):
            raise invalid_parameter("Unknown ProjectionType: null")
        raise invalid_parameter("Unknown ProjectionType: null")
    ptype = projection["ProjectionType"]
    if ptype not in ("ALL", "KEYS_ONLY", "INCLUDE"):
        raise constraint_error([(ptype, "projection.projectionType",
                                 "Member must satisfy enum value set: [INCLUDE, ALL, KEYS_ONLY]")])
    non_key = projection.get("NonKeyAttributes")
    if ptype in ("ALL", "KEYS_ONLY") and non_key is not None:
        raise invalid_parameter(f"ProjectionType is {ptype}, but NonKeyAttributes is specified")
    if ptype == "INCLUDE":
        if not non_key:
            raise invalid_parameter("ProjectionType is INCLUDE, but NonKeyAttributes is not specified")
        if len(set(non_key)) != len(non_key):
            raise invalid_parameter(f"Duplicate attribute names in NonKeyAttributes for index: {index_name}")
        for name in non_key:
            if len(name.encode("utf-8", "surrogatepass")) > limits.MAX_KEY_ATTRIBUTE_NAME_SIZE:
                raise invalid_parameter(f"NonKeyAttributes names must be {limits.MAX_KEY_ATTRIBUTE_NAME_SIZE} "
                                        f"bytes or less for index: {index_name}")
        projected.update(non_key)
        if len(projected) > limits.MAX_PROJECTED_ATTRIBUTES:
            raise invalid_parameter("The number of projected attributes in all indexes exceeds the limit of "
                                    f"{limits.MAX_PROJECTED_ATTRIBUTES}")


def check_billing(request):
    billing = request.get("BillingMode") or "PROVISIONED"
    throughput = request.get("ProvisionedThroughput")
    if billing == "PROVISIONED":
        if not throughput or throughput.get("ReadCapacityUnits") is None or \
                throughput.get("WriteCapacityUnits") is None:
            raise invalid_parameter("ReadCapacityUnits and WriteCapacityUnits must both be specified when "
                                    "BillingMode is PROVISIONED")
    elif throughput:
        raise invalid_parameter("Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when "
                                "BillingMode is PAY_PER_REQUEST")


def check_gsi_throughput(gsi, billing):
    throughput = gsi.get("ProvisionedThroughput")
    if billing == "PAY_PER_REQUEST" and throughput:
        raise invalid_parameter(f"ProvisionedThroughput should not be specified for index: {gsi['IndexName']} "
                                "when BillingMode is PAY_PER_REQUEST")
    if billing == "PROVISIONED" and not throughput:
        raise invalid_parameter("ProvisionedThroughput must be specified for index: " + gsi["IndexName"])


STREAM_VIEW_TYPES = ("OLD_IMAGE", "KEYS_ONLY", "NEW_AND_OLD_IMAGES", "NEW_IMAGE")


def stream_specification_violations(spec):
    """Member constraints of a StreamSpecification (reported with the request's other constraints)."""
    if spec is None:
        return []
    out = []
    if spec.get("StreamEnabled") is None:
        out.append((None, "streamSpecification.streamEnabled", "Member must not be null"))
    view = spec.get("StreamViewType")
    if view is not None and view not in STREAM_VIEW_TYPES:
        out.append((view, "streamSpecification.streamViewType",
                    f"Member must satisfy enum value set: [{', '.join(STREAM_VIEW_TYPES)}]"))
    return out


def check_stream_specification(spec):
    """CreateTable's StreamSpecification rules; returns the view type of a stream to enable, or None."""
    if spec is None:
        return None
    if spec.get("StreamEnabled"):
        if not spec.get("StreamViewType"):
            raise invalid_parameter("Table is being created with a stream enabled, UpdateViewType is required")
        return spec["StreamViewType"]
    if spec.get("StreamViewType"):
        raise invalid_parameter("Table is being created with a stream disabled, UpdateViewType should not be "
                                "specified")
    return None


def check_tags(tags):
    if tags is None:
        return
    check_tag_list(tags)


def hash_name(key_schema):
    return next(k["AttributeName"] for k in key_schema if k["KeyType"] == "HASH")
