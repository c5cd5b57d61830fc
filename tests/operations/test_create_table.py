"""CreateTable: key schema, indexes, billing, and the validation DynamoDB applies, in its words."""

import re
import uuid

import pytest

from .helpers import (
    as_epoch, create_table, describe, index, raises, unique_name, validation,
)

HASH = [{"AttributeName": "pk", "KeyType": "HASH"}]
HASH_RANGE = [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}]
PK_S = [{"AttributeName": "pk", "AttributeType": "S"}]
PK_SK = PK_S + [{"AttributeName": "sk", "AttributeType": "N"}]
INVALID = "One or more parameter values were invalid: "


def defs(**types):
    return [{"AttributeName": n, "AttributeType": t} for n, t in types.items()]


def create(db, name=None, **kwargs):
    request = {"TableName": name or unique_name(), "KeySchema": HASH, "AttributeDefinitions": PK_S,
               "BillingMode": "PAY_PER_REQUEST"}
    request.update(kwargs)
    return db.create_table(**request)


# -- success ------------------------------------------------------------------------

def test_hash_only_table_is_active_with_its_key_schema(db):
    """CreateTable returns the table; once it exists DescribeTable shows it ACTIVE with the schema given."""
    name = unique_name()
    table = create(db, name)
    table.wait_until_exists()
    desc = describe(table)
    assert desc["TableName"] == name
    assert desc["TableStatus"] == "ACTIVE"
    assert desc["KeySchema"] == HASH
    assert desc["AttributeDefinitions"] == PK_S


def test_hash_and_range_table(db):
    """A KeySchema of two elements is HASH then RANGE."""
    table = create(db, KeySchema=HASH_RANGE, AttributeDefinitions=PK_SK)
    desc = describe(table)
    assert desc["KeySchema"] == HASH_RANGE
    assert sorted(desc["AttributeDefinitions"], key=lambda d: d["AttributeName"]) == PK_SK


def test_create_returns_a_table_named_like_the_request(db):
    """The boto3 resource's create_table returns a Table whose name is the TableName."""
    name = unique_name()
    assert create(db, name).name == name


@pytest.mark.parametrize("key_type", ["S", "N", "B"])
def test_every_key_type_is_accepted(db, key_type):
    """Key attributes may be strings, numbers or binary."""
    table = create(db, AttributeDefinitions=defs(pk=key_type))
    assert describe(table)["AttributeDefinitions"] == defs(pk=key_type)


def test_pay_per_request_reports_billing_mode_and_zero_throughput(db):
    """An on-demand table reports BillingModeSummary PAY_PER_REQUEST and a 0/0 ProvisionedThroughput."""
    desc = describe(create(db))
    assert desc["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    throughput = desc["ProvisionedThroughput"]
    assert throughput["ReadCapacityUnits"] == 0
    assert throughput["WriteCapacityUnits"] == 0
    assert throughput["NumberOfDecreasesToday"] == 0


def test_provisioned_table_reports_its_throughput(db):
    """A PROVISIONED table (the default billing mode) echoes its capacity units."""
    table = db.create_table(TableName=unique_name(), KeySchema=HASH, AttributeDefinitions=PK_S,
                            ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 7})
    throughput = describe(table)["ProvisionedThroughput"]
    assert throughput["ReadCapacityUnits"] == 5
    assert throughput["WriteCapacityUnits"] == 7
    assert throughput["NumberOfDecreasesToday"] == 0


def test_explicit_provisioned_billing_mode(db):
    """BillingMode PROVISIONED with ProvisionedThroughput is the explicit form of the default."""
    table = create(db, BillingMode="PROVISIONED",
                   ProvisionedThroughput={"ReadCapacityUnits": 1, "WriteCapacityUnits": 1})
    assert describe(table)["ProvisionedThroughput"]["ReadCapacityUnits"] == 1


def test_description_carries_arn_id_and_creation_time(db):
    """TableArn is arn:aws:dynamodb:<region>:<12-digit account>:table/<name>; TableId is a UUID."""
    import time
    name = unique_name()
    before = time.time()
    desc = describe(create(db, name))
    assert re.fullmatch(r"arn:aws:dynamodb:[a-z0-9-]+:\d{12}:table/" + re.escape(name), desc["TableArn"])
    uuid.UUID(desc["TableId"])
    assert before - 5 <= as_epoch(desc["CreationDateTime"]) <= time.time() + 5


def test_new_table_is_empty(db):
    """ItemCount and TableSizeBytes of a new table are 0."""
    desc = describe(create(db))
    assert desc["ItemCount"] == 0
    assert desc["TableSizeBytes"] == 0


def test_table_name_of_255_characters_and_all_allowed_characters(db):
    """Table names are 3..255 characters of [a-zA-Z0-9_.-]."""
    for name in ("a" * 255, "aZ0_.-", "abc"):
        assert create(db, name).name == name


def test_table_names_are_case_sensitive(db):
    """'Abc' and 'abc' are two tables."""
    create(db, "Abc-" + "x" * 8)
    create(db, "abc-" + "x" * 8)


def test_key_attribute_name_of_255_bytes_is_accepted(db):
    """Key attribute names may be up to 255 bytes."""
    name = "k" * 255
    table = create(db, KeySchema=[{"AttributeName": name, "KeyType": "HASH"}], AttributeDefinitions=defs(**{name: "S"}))
    assert describe(table)["KeySchema"][0]["AttributeName"] == name


def test_stream_disabled_specification_alone_is_fine(db):
    """StreamSpecification {StreamEnabled: false} without a view type is accepted."""
    create(db, StreamSpecification={"StreamEnabled": False})


def test_index_identical_to_the_base_key_is_allowed(db):
    """A GSI whose key equals the table's key, and two identically keyed GSIs, are allowed."""
    table = create_table(db, range_key=("sk", "N"),
                         gsis=[index("same", ("pk", "S"), ("sk", "N")), index("same2", ("pk", "S"), ("sk", "N"))])
    names = sorted(g["IndexName"] for g in describe(table)["GlobalSecondaryIndexes"])
    assert names == ["same", "same2"]


def test_gsi_may_use_the_table_sort_key_as_its_hash_key(db):
    """GSI keys may be any S/N/B attributes, including the table's own key attributes."""
    table = create_table(db, range_key=("sk", "N"), gsis=[index("by_sk", ("sk", "N"))])
    assert describe(table)["GlobalSecondaryIndexes"][0]["KeySchema"] == [{"AttributeName": "sk", "KeyType": "HASH"}]


def test_lsi_may_reuse_the_table_sort_key(db):
    """An LSI's range key may even equal the table's."""
    create_table(db, range_key=("sk", "N"), lsis=[index("lsi_sk", ("pk", "S"), ("sk", "N"))])


def test_attribute_definitions_merge_table_and_index_keys(db):
    """AttributeDefinitions list every key attribute of the table and its indexes once."""
    table = create_table(db, range_key=("sk", "N"), gsis=[index("gsi_g", ("g", "S"), ("sk", "N"))],
                         lsis=[index("lsi_l", ("pk", "S"), ("l", "B"))])
    got = {d["AttributeName"]: d["AttributeType"] for d in describe(table)["AttributeDefinitions"]}
    assert got == {"pk": "S", "sk": "N", "g": "S", "l": "B"}


def test_five_lsis_and_twenty_gsis_are_accepted(db):
    """The limits are 5 LSIs and 20 GSIs per table."""
    lsis = [index(f"lsi{i}", ("pk", "S"), (f"l{i}", "S")) for i in range(5)]
    gsis = [index(f"gsi{i}", (f"g{i}", "S")) for i in range(20)]
    desc = describe(create_table(db, range_key=("sk", "N"), lsis=lsis, gsis=gsis))
    assert len(desc["LocalSecondaryIndexes"]) == 5
    assert len(desc["GlobalSecondaryIndexes"]) == 20


def test_tags_given_at_creation(db):
    """Tags may be given with CreateTable."""
    create(db, Tags=[{"Key": "team", "Value": "storage"}])


# -- errors: the table exists, names --------------------------------------------------

def test_existing_name_is_resource_in_use(db):
    """Creating a table whose name exists is ResourceInUseException."""
    name = unique_name()
    create(db, name)
    with raises("ResourceInUseException", f"Table already exists: {name}"):
        create(db, name)


def test_missing_table_name(db):
    """CreateTable without TableName uses DynamoDB's free-text 'required' message."""
    with validation("The parameter 'TableName' is required but was not present in the request"):
        db.create_table(KeySchema=HASH, AttributeDefinitions=PK_S, BillingMode="PAY_PER_REQUEST")


def test_table_name_too_short(db):
    """A name under 3 characters is a tableName constraint violation."""
    with validation("1 validation error detected: Value 'ab' at 'tableName' failed to satisfy constraint: "
                    "Member must have length greater than or equal to 3"):
        create(db, "ab")


def test_table_name_too_long(db):
    """A name over 255 characters is a tableName constraint violation."""
    name = "a" * 256
    with validation(f"1 validation error detected: Value '{name}' at 'tableName' failed to satisfy constraint: "
                    "Member must have length less than or equal to 255"):
        create(db, name)


@pytest.mark.parametrize("name", ["a!b", "has space", "tab/le", "émoji"])
def test_table_name_with_invalid_characters(db, name):
    """Table names must match [a-zA-Z0-9_.-]+."""
    with validation(f"1 validation error detected: Value '{name}' at 'tableName' failed to satisfy constraint: "
                    "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+"):
        create(db, name)


# -- errors: key schema and attribute definitions ----------------------------------------

@pytest.mark.parametrize("bad_type", ["BOOL", "SS", "L", "M", "NULL", "junk"])
def test_key_attribute_type_must_be_s_n_or_b(db, bad_type):
    """AttributeType outside {S, N, B} is an enum constraint violation naming the type."""
    with validation(f"1 validation error detected: Value '{bad_type}' at 'attributeDefinitions.1.member.attributeType' "
                    "failed to satisfy constraint: Member must satisfy enum value set: [B, N, S]"):
        create(db, AttributeDefinitions=defs(pk=bad_type))


def test_bad_type_of_second_definition_is_reported_with_its_position(db):
    """Constraint paths use 1-based list indices."""
    with validation("1 validation error detected: Value 'BOOL' at 'attributeDefinitions.2.member.attributeType' "
                    "failed to satisfy constraint: Member must satisfy enum value set: [B, N, S]"):
        create(db, KeySchema=HASH_RANGE, AttributeDefinitions=defs(pk="S", sk="BOOL"))


@pytest.mark.parametrize("member, path", [("AttributeName", "attributeName"), ("AttributeType", "attributeType")])
def test_a_definition_without_a_member_is_a_null_member(db, member, path):
    """A definition missing its name or type (JSON null reads the same) is 'Member must not be null' at its
    path, not an internal error (the soak's generator found the missing name answered 500)."""
    definition = {"AttributeName": "pk", "AttributeType": "S"}
    del definition[member]
    with validation(f"1 validation error detected: Value null at 'attributeDefinitions.1.member.{path}' "
                    "failed to satisfy constraint: Member must not be null"):
        create(db, AttributeDefinitions=[definition])


def test_bad_key_type(db):
    """KeyType must be HASH or RANGE."""
    with validation("1 validation error detected: Value 'INVALID' at 'keySchema.1.member.keyType' failed to satisfy "
                    "constraint: Member must satisfy enum value set: [HASH, RANGE]"):
        create(db, KeySchema=[{"AttributeName": "pk", "KeyType": "INVALID"}])


def test_more_than_two_key_elements(db):
    """KeySchema has at most 2 elements."""
    keys = HASH_RANGE + [{"AttributeName": "x", "KeyType": "RANGE"}]
    with validation(startswith="1 validation error detected: Value '[",
                    endswith="]' at 'keySchema' failed to satisfy constraint: "
                             "Member must have length less than or equal to 2"):
        create(db, KeySchema=keys, AttributeDefinitions=defs(pk="S", sk="N", x="S"))


def test_key_attribute_not_defined(db):
    """A key attribute missing from AttributeDefinitions is reported with both lists."""
    with validation(INVALID + "Some index key attributes are not defined in AttributeDefinitions. "
                    "Keys: [pk], AttributeDefinitions: [other]"):
        create(db, AttributeDefinitions=defs(other="S"))


def test_more_key_elements_than_definitions(db):
    """Two key elements and one definition: 'Some index key attribute have no definition'."""
    with validation("Invalid KeySchema: Some index key attribute have no definition"):
        create(db, KeySchema=HASH_RANGE, AttributeDefinitions=PK_S)


def test_same_name_for_hash_and_range_with_one_definition(db):
    """HASH and RANGE on one name defined once trips the definition-count check first."""
    keys = [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "pk", "KeyType": "RANGE"}]
    with validation("Invalid KeySchema: Some index key attribute have no definition"):
        create(db, KeySchema=keys, AttributeDefinitions=PK_S)


def test_same_name_for_hash_and_range_with_enough_definitions(db):
    """HASH and RANGE may not name the same attribute."""
    keys = [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "pk", "KeyType": "RANGE"}]
    with validation("Both the Hash Key and the Range Key element in the KeySchema have the same name"):
        create(db, KeySchema=keys, AttributeDefinitions=defs(pk="S", other="S"))


def test_first_key_element_must_be_hash(db):
    """The first KeySchemaElement is the HASH key."""
    with validation("Invalid KeySchema: The first KeySchemaElement is not a HASH key type"):
        create(db, KeySchema=[{"AttributeName": "pk", "KeyType": "RANGE"}])


def test_first_of_two_key_elements_must_be_hash(db):
    """RANGE then HASH is rejected on the first element."""
    keys = [{"AttributeName": "sk", "KeyType": "RANGE"}, {"AttributeName": "pk", "KeyType": "HASH"}]
    with validation("Invalid KeySchema: The first KeySchemaElement is not a HASH key type"):
        create(db, KeySchema=keys, AttributeDefinitions=PK_SK)


def test_second_key_element_must_be_range(db):
    """Two HASH elements: the second is not a RANGE key."""
    keys = [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "HASH"}]
    with validation("Invalid KeySchema: The second KeySchemaElement is not a RANGE key type"):
        create(db, KeySchema=keys, AttributeDefinitions=PK_SK)


def test_unused_attribute_definitions(db):
    """Every AttributeDefinition must be a key of the table or of an index."""
    with validation(INVALID + "Some AttributeDefinitions are not used. AttributeDefinitions: [pk, sk, extra], "
                    "keys used: [pk, sk]"):
        create(db, KeySchema=HASH_RANGE, AttributeDefinitions=defs(pk="S", sk="N", extra="S"))


@pytest.mark.parametrize("second_type", ["S", "N"])
def test_attribute_defined_twice(db, second_type):
    """The same AttributeName twice (even with the same type) is rejected, naming it."""
    definitions = PK_S + [{"AttributeName": "pk", "AttributeType": second_type}]
    with validation(contains=["pk"]) as excinfo:
        create(db, AttributeDefinitions=definitions)
    assert "uplicate" in excinfo.value.response["Error"]["Message"]


def test_key_attribute_name_over_255_bytes(db):
    """Key attribute names are limited to 255 bytes; the error mentions the limit."""
    name = "k" * 256
    with validation(contains="255"):
        create(db, KeySchema=[{"AttributeName": name, "KeyType": "HASH"}], AttributeDefinitions=defs(**{name: "S"}))


def test_key_attribute_name_over_255_bytes_counted_in_utf8(db):
    """128 two-byte characters are 256 bytes."""
    name = "é" * 128
    with validation(contains="255"):
        create(db, KeySchema=[{"AttributeName": name, "KeyType": "HASH"}], AttributeDefinitions=defs(**{name: "S"}))


# -- errors: billing ----------------------------------------------------------------------

def test_provisioned_by_default_requires_throughput(db):
    """Without BillingMode the table is PROVISIONED and needs both capacity units."""
    with validation(INVALID + "ReadCapacityUnits and WriteCapacityUnits must both be specified when BillingMode "
                    "is PROVISIONED"):
        db.create_table(TableName=unique_name(), KeySchema=HASH, AttributeDefinitions=PK_S)


def test_explicit_provisioned_requires_throughput(db):
    """BillingMode PROVISIONED without ProvisionedThroughput is rejected."""
    with validation(INVALID + "ReadCapacityUnits and WriteCapacityUnits must both be specified when BillingMode "
                    "is PROVISIONED"):
        create(db, BillingMode="PROVISIONED")


def test_pay_per_request_rejects_throughput(db):
    """An on-demand table takes no ProvisionedThroughput."""
    with validation(INVALID + "Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode "
                    "is PAY_PER_REQUEST"):
        create(db, ProvisionedThroughput={"ReadCapacityUnits": 1, "WriteCapacityUnits": 1})


def test_pay_per_request_rejects_gsi_throughput(db):
    """Nor may its GSIs have ProvisionedThroughput."""
    spec, index_defs = index("gsi1", ("g", "S"))
    spec["ProvisionedThroughput"] = {"ReadCapacityUnits": 1, "WriteCapacityUnits": 1}
    with validation(INVALID + "ProvisionedThroughput should not be specified for index: gsi1 when BillingMode is "
                    "PAY_PER_REQUEST"):
        create(db, AttributeDefinitions=defs(pk="S", g="S"), GlobalSecondaryIndexes=[spec])


# -- errors: indexes ------------------------------------------------------------------------

def lsi(name="lsi1", hash_name="pk", range_name="l", projection=None):
    keys = [{"AttributeName": hash_name, "KeyType": "HASH"}]
    if range_name:
        keys.append({"AttributeName": range_name, "KeyType": "RANGE"})
    projection = {"ProjectionType": "ALL"} if projection is None else projection
    return {"IndexName": name, "KeySchema": keys, "Projection": projection}


def gsi(name="gsi1", hash_name="g", projection=None):
    return {"IndexName": name, "KeySchema": [{"AttributeName": hash_name, "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "ALL"} if projection is None else projection}


def test_empty_lsi_list(db):
    """An empty LocalSecondaryIndexes list is rejected."""
    with validation(INVALID + "List of LocalSecondaryIndexes is empty"):
        create(db, KeySchema=HASH_RANGE, AttributeDefinitions=PK_SK, LocalSecondaryIndexes=[])


def test_empty_gsi_list(db):
    """An empty GlobalSecondaryIndexes list is rejected."""
    with validation(INVALID + "List of GlobalSecondaryIndexes is empty"):
        create(db, GlobalSecondaryIndexes=[])


def test_lsi_on_a_table_without_range_key(db):
    """LSIs need a table with a RANGE key."""
    with validation(INVALID + "Table KeySchema does not have a range key, which is required when specifying a "
                    "LocalSecondaryIndex"):
        create(db, AttributeDefinitions=defs(pk="S", l="S"), LocalSecondaryIndexes=[lsi()])


def test_lsi_without_range_key(db):
    """An LSI's own KeySchema needs a RANGE key."""
    with validation(INVALID + "Index KeySchema does not have a range key for index: lsi1"):
        create(db, KeySchema=HASH_RANGE, AttributeDefinitions=PK_SK, LocalSecondaryIndexes=[lsi(range_name=None)])


def test_lsi_with_another_hash_key(db):
    """An LSI shares the table's hash key."""
    with validation(INVALID + "Index KeySchema does not have the same leading hash key as table KeySchema for "
                    "index: lsi1. index hash key: x, table hash key: pk"):
        create(db, KeySchema=HASH_RANGE, AttributeDefinitions=defs(pk="S", sk="N", x="S", l="S"),
               LocalSecondaryIndexes=[lsi(hash_name="x")])


def test_projection_without_type(db):
    """A Projection without ProjectionType is 'Unknown ProjectionType: null'."""
    with validation(INVALID + "Unknown ProjectionType: null"):
        create(db, AttributeDefinitions=defs(pk="S", g="S"), GlobalSecondaryIndexes=[gsi(projection={})])


def test_non_key_attributes_with_projection_all(db):
    """NonKeyAttributes belong to INCLUDE only."""
    projection = {"ProjectionType": "ALL", "NonKeyAttributes": ["a"]}
    with validation(INVALID + "ProjectionType is ALL, but NonKeyAttributes is specified"):
        create(db, AttributeDefinitions=defs(pk="S", g="S"), GlobalSecondaryIndexes=[gsi(projection=projection)])


def test_non_key_attributes_with_projection_keys_only(db):
    """KEYS_ONLY with NonKeyAttributes is rejected the same way."""
    projection = {"ProjectionType": "KEYS_ONLY", "NonKeyAttributes": ["a"]}
    with validation(contains="NonKeyAttributes is specified"):
        create(db, AttributeDefinitions=defs(pk="S", g="S"), GlobalSecondaryIndexes=[gsi(projection=projection)])


def test_include_without_non_key_attributes(db):
    """INCLUDE needs NonKeyAttributes."""
    with validation():
        create(db, AttributeDefinitions=defs(pk="S", g="S"),
               GlobalSecondaryIndexes=[gsi(projection={"ProjectionType": "INCLUDE"})])


def test_include_with_duplicate_non_key_attributes(db):
    """NonKeyAttributes may not repeat a name."""
    projection = {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["a", "a"]}
    with validation():
        create(db, AttributeDefinitions=defs(pk="S", g="S"), GlobalSecondaryIndexes=[gsi(projection=projection)])


def test_more_than_100_projected_attributes_over_all_indexes(db):
    """At most 100 NonKeyAttributes over all indexes of a table."""
    first = gsi("gsi1", projection={"ProjectionType": "INCLUDE", "NonKeyAttributes": [f"a{i}" for i in range(60)]})
    second = gsi("gsi2", projection={"ProjectionType": "INCLUDE", "NonKeyAttributes": [f"b{i}" for i in range(41)]})
    with validation():
        create(db, AttributeDefinitions=defs(pk="S", g="S"), GlobalSecondaryIndexes=[first, second])


@pytest.mark.parametrize("kinds", [("GSI", "GSI"), ("LSI", "LSI"), ("LSI", "GSI")])
def test_duplicate_index_name(db, kinds):
    """GSI and LSI names share one namespace per table."""
    specs = {"GSI": [], "LSI": []}
    for i, kind in enumerate(kinds):
        specs[kind].append(gsi("dup", hash_name="g") if kind == "GSI" else lsi("dup", range_name=f"l{i}"))
    request = {"KeySchema": HASH_RANGE, "AttributeDefinitions": defs(pk="S", sk="N", g="S", l0="S", l1="S")}
    if specs["GSI"]:
        request["GlobalSecondaryIndexes"] = specs["GSI"]
    if specs["LSI"]:
        request["LocalSecondaryIndexes"] = specs["LSI"]
    used = {"g"} if specs["GSI"] else set()
    used |= {f"l{i}" for i, k in enumerate(kinds) if k == "LSI"}
    request["AttributeDefinitions"] = [d for d in request["AttributeDefinitions"]
                                       if d["AttributeName"] in used | {"pk", "sk"}]
    with validation(INVALID + "Duplicate index name: dup"):
        create(db, **request)


def test_more_than_twenty_gsis(db):
    """The default quota is 20 GSIs per table."""
    gsis = [gsi(f"gsi{i}", hash_name=f"g{i}") for i in range(21)]
    with validation(INVALID + "GlobalSecondaryIndex count exceeds the per-table limit of 20"):
        create(db, AttributeDefinitions=defs(pk="S", **{f"g{i}": "S" for i in range(21)}),
               GlobalSecondaryIndexes=gsis)


def test_more_than_five_lsis(db):
    """At most 5 LSIs per table."""
    lsis = [lsi(f"lsi{i}", range_name=f"l{i}") for i in range(6)]
    with validation(INVALID + "Number of LocalSecondaryIndexes exceeds per-table limit of 5"):
        create(db, KeySchema=HASH_RANGE, AttributeDefinitions=defs(pk="S", sk="N", **{f"l{i}": "S" for i in range(6)}),
               LocalSecondaryIndexes=lsis)


def test_index_key_attribute_not_defined(db):
    """An index key attribute needs an AttributeDefinition too."""
    with validation(startswith=INVALID + "Some index key attributes are not defined in AttributeDefinitions."):
        create(db, GlobalSecondaryIndexes=[gsi()])


# -- errors: streams and tags -----------------------------------------------------------------

def test_stream_enabled_without_view_type(db):
    """StreamEnabled true needs a StreamViewType."""
    with validation():
        create(db, StreamSpecification={"StreamEnabled": True})


@pytest.mark.parametrize("tags", [[{"Key": "", "Value": "v"}], [{"Key": "k" * 129, "Value": "v"}],
                                  [{"Key": "k", "Value": "v" * 257}]])
def test_invalid_tags_create_no_table(db, tags):
    """Invalid Tags are a ValidationException and no table is created."""
    name = unique_name()
    with validation():
        create(db, name, Tags=tags)
    with raises("ResourceNotFoundException"):
        db.Table(name).load()


def test_non_key_attribute_name_over_255_bytes(db):
    """Projected NonKeyAttributes names are limited to 255 bytes, like key names."""
    projection = {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["n" * 256]}
    with validation(contains="255"):
        create(db, AttributeDefinitions=defs(pk="S", g="S"), GlobalSecondaryIndexes=[gsi(projection=projection)])


def test_non_key_attribute_name_of_255_bytes(db):
    """... 255 bytes are fine."""
    projection = {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["n" * 255]}
    create(db, AttributeDefinitions=defs(pk="S", g="S"), GlobalSecondaryIndexes=[gsi(projection=projection)])


def test_index_key_attribute_name_over_255_bytes(db):
    """Index key attribute names are limited to 255 bytes."""
    name = "g" * 256
    with validation(contains="255"):
        create(db, AttributeDefinitions=defs(pk="S", **{name: "S"}), GlobalSecondaryIndexes=[gsi(hash_name=name)])


@pytest.mark.parametrize("name", ["ab", "x" * 256, "bad name"])
def test_invalid_index_names(db, name):
    """Index names follow the table-name rules: 3..255 characters of [a-zA-Z0-9_.-]."""
    with validation():
        create(db, AttributeDefinitions=defs(pk="S", g="S"), GlobalSecondaryIndexes=[gsi(name)])


@pytest.mark.parametrize("kind", ["GlobalSecondaryIndexes", "LocalSecondaryIndexes"])
def test_an_invalid_index_name_is_reported_at_its_full_member_path(dynamodb, kind):
    """Reference 3.6: a nested member's path is 1-based with ``.member`` (the second index here),
    as for a missing IndexName; it was reported at a bare 'indexName'."""
    key = [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "g", "KeyType": "RANGE"}]
    specs = [{"IndexName": n, "KeySchema": key, "Projection": {"ProjectionType": "ALL"}} for n in ("fine", "ab")]
    path = ("globalSecondaryIndexes" if kind == "GlobalSecondaryIndexes" else "localSecondaryIndexes") + ".2.member"
    with validation(f"1 validation error detected: Value 'ab' at '{path}.indexName' failed to satisfy constraint: "
                    "Member must have length greater than or equal to 3"):
        dynamodb.create_table(TableName=unique_name(), BillingMode="PAY_PER_REQUEST", KeySchema=HASH_RANGE,
                              AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"}
                                                    for n in ("pk", "sk", "g")], **{kind: specs})


def test_index_name_rules_allow_255_characters(db):
    """A 255-character index name is fine."""
    create(db, AttributeDefinitions=defs(pk="S", g="S"), GlobalSecondaryIndexes=[gsi("i" * 255)])


@pytest.mark.parametrize("kind", ["GlobalSecondaryIndexes", "LocalSecondaryIndexes"])
@pytest.mark.parametrize("spec,message", [
    ({"IndexName": "idx", "KeySchema": [], "Projection": {"ProjectionType": "ALL"}},
     "Value '[]' at '{path}.keySchema' failed to satisfy constraint: Member must have length greater than or "
     "equal to 1"),
    ({"IndexName": "idx", "Projection": {"ProjectionType": "ALL"}},
     "Value null at '{path}.keySchema' failed to satisfy constraint: Member must not be null"),
    ({"KeySchema": "K", "Projection": {"ProjectionType": "ALL"}},
     "Value null at '{path}.indexName' failed to satisfy constraint: Member must not be null"),
    ({"IndexName": "idx", "KeySchema": "K"},
     "Value null at '{path}.projection' failed to satisfy constraint: Member must not be null"),
])
def test_index_definition_member_constraints(dynamodb, kind, spec, message):
    """An index definition's required members (issue 14: a GSI without KeySchema answered 500)."""
    key = [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "g", "KeyType": "RANGE"}]
    spec = {k: (key if v == "K" else v) for k, v in spec.items()}
    path = ("globalSecondaryIndexes" if kind == "GlobalSecondaryIndexes" else "localSecondaryIndexes") + ".1.member"
    name = unique_name()
    with validation("1 validation error detected: " + message.replace("{path}", path)):
        dynamodb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST", KeySchema=HASH_RANGE,
                              AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk", "g")],
                              **{kind: [spec]})
    assert name not in [t.name for t in dynamodb.tables.all()]
