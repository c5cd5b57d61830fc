"""ExecuteStatement: every PartiQL statement form and its errors, on every face (reference 6.13)."""

from decimal import Decimal

import pytest

from .helpers import create_table, index, number_rejected, raises, validation, wrong_type

E = "Statement wasn't well formed, can't be processed: "


@pytest.fixture
def db(dynamodb):
    return dynamodb


@pytest.fixture
def client(db):
    return db.meta.client


@pytest.fixture
def table(db):
    """``pk`` (S) + ``sk`` (N), with a KEYS_ONLY GSI on ``g`` and an ALL LSI on ``l``."""
    return create_table(db, hash_key=("pk", "S"), range_key=("sk", "N"),
                        gsis=[index("by_g", ("g", "S"), projection="KEYS_ONLY")],
                        lsis=[index("by_l", ("pk", "S"), ("l", "S"))])


def run(client, statement, *params, **options):
    if params:
        options["Parameters"] = list(params)
    return client.execute_statement(Statement=statement, **options)


def items(client, statement, *params, **options):
    return run(client, statement, *params, **options)["Items"]


def fill(client, table, count=5, pk="a"):
    for i in range(count):
        run(client, f'INSERT INTO "{table.name}" VALUE {{\'pk\': ?, \'sk\': ?, \'v\': ?, \'m\': {{\'x\': [1, \'q\']}}}}',
            pk, i, i * 10)


# -- INSERT -----------------------------------------------------------------------------

def test_insert_every_literal_type(client, table):
    """Strings, numbers in every form, booleans, NULL, lists, maps and sets are stored as their types."""
    assert items(client, f'INSERT INTO "{table.name}" VALUE {{\'pk\': \'a\', \'sk\': 1, \'s\': \'it\'\'s\', '
                         "'n': -.73e1, 'e': 7.31E6, 't': TRUE, 'f': false, 'z': NULL, 'li': [1, 'a'], "
                         "'m': {'k': {'d': 2}}, 'ns': <<1, 2>>, 'ss': <<'x'>>}") == []
    item = table.get_item(Key={"pk": "a", "sk": 1})["Item"]
    assert item == {"pk": "a", "sk": 1, "s": "it's", "n": Decimal("-7.3"), "e": Decimal("7310000"), "t": True,
                    "f": False, "z": None, "li": [1, "a"], "m": {"k": {"d": 2}}, "ns": {1, 2}, "ss": {"x"}}


def test_insert_parameters_bind_in_order(client, table):
    run(client, f"INSERT INTO \"{table.name}\" VALUE {{'pk': ?, 'sk': ?, 'b': ?, 'bs': ?}}",
        "p", 2, b"\x01", {b"\x02"})
    assert table.get_item(Key={"pk": "p", "sk": 2})["Item"]["bs"] == {b"\x02"}
    assert table.get_item(Key={"pk": "p", "sk": 2})["Item"]["b"] == b"\x01"


def test_insert_existing_key_is_duplicate(client, table):
    """INSERT never overwrites; a deleted key can be inserted again."""
    stmt = f"INSERT INTO \"{table.name}\" VALUE {{'pk': 'a', 'sk': 1, 'v': ?}}"
    run(client, stmt, 1)
    with raises("DuplicateItemException", "Duplicate primary key exists in table"):
        run(client, stmt, 2)
    assert table.get_item(Key={"pk": "a", "sk": 1})["Item"]["v"] == 1
    run(client, f"DELETE FROM \"{table.name}\" WHERE pk = 'a' AND sk = 1")
    run(client, stmt, 3)
    assert table.get_item(Key={"pk": "a", "sk": 1})["Item"]["v"] == 3


def test_insert_number_literal_out_of_range_names_its_location(client, table):
    with validation("Number overflow. Attempting to store a number with magnitude larger than supported range "
                    "under root.m.x"):
        run(client, f"INSERT INTO \"{table.name}\" VALUE {{'pk': 'a', 'sk': 1, 'm': {{'x': 1e200}}}}")


def test_set_literal_errors(client, table):
    with validation("One or more parameter values were invalid: Input collection [x, x] contains duplicates."):
        run(client, f"INSERT INTO \"{table.name}\" VALUE {{'pk': 'a', 'sk': 1, 's': <<'x', 'x'>>}}")
    with validation("Empty bags are not supported"):
        run(client, f"INSERT INTO \"{table.name}\" VALUE {{'pk': 'a', 'sk': 1, 's': <<>>}}")


# -- SELECT -----------------------------------------------------------------------------

def test_select_by_full_key_and_missing_key(client, table):
    fill(client, table)
    assert items(client, f'SELECT * FROM "{table.name}" WHERE pk = ? AND sk = ?', "a", 2) == [
        {"pk": "a", "sk": 2, "v": 20, "m": {"x": [1, "q"]}}]
    assert items(client, f'SELECT * FROM "{table.name}" WHERE pk = ? AND sk = ?', "a", 99) == []


def test_select_partition_with_sort_conditions(client, table):
    fill(client, table)
    t = table.name
    assert [i["sk"] for i in items(client, f'SELECT sk FROM "{t}" WHERE pk = \'a\' AND sk > 2')] == [3, 4]
    assert [i["sk"] for i in items(client, f'SELECT sk FROM "{t}" WHERE pk = \'a\' AND sk BETWEEN 1 AND 3')] == [1, 2, 3]
    assert [i["sk"] for i in items(client, f'SELECT sk FROM "{t}" WHERE \'a\' = pk AND 2 >= sk')] == [0, 1, 2]
    assert [i["sk"] for i in items(client, f'SELECT sk FROM "{t}" WHERE pk = \'a\' AND sk <> 2 AND v > 0')] == [1, 3, 4]


def test_select_projection_nested_paths_renamed_and_empty_items_kept(client, table):
    """A nested path comes back under its last step; an item with none of the attributes is ``{}``."""
    fill(client, table, 2)
    got = items(client, f'SELECT v, m.x, "m"."x"[1], nope FROM "{table.name}" WHERE pk = \'a\'')
    assert got == [{"v": 0, "x": "q"}, {"v": 10, "x": "q"}]
    assert items(client, f'SELECT nope FROM "{table.name}" WHERE pk = \'a\'') == [{}, {}]


def test_order_by_sort_key_descending(client, table):
    fill(client, table)
    got = items(client, f'SELECT sk FROM "{table.name}" WHERE pk = \'a\' ORDER BY sk DESC')
    assert [i["sk"] for i in got] == [4, 3, 2, 1, 0]


def test_in_on_partition_key_queries_each_value(client, table):
    fill(client, table, 2, pk="a")
    fill(client, table, 2, pk="b")
    got = items(client, f'SELECT pk, sk FROM "{table.name}" WHERE pk IN [\'b\', \'a\', \'zz\'] ORDER BY pk')
    assert [(i["pk"], i["sk"]) for i in got] == [("a", 0), ("a", 1), ("b", 0), ("b", 1)]


def test_scan_with_filter_and_every_where_operator(client, table):
    fill(client, table)
    t = table.name
    assert sorted(i["v"] for i in items(client, f'SELECT v FROM "{t}" WHERE v >= 20 AND v <> 30')) == [20, 40]
    assert sorted(i["v"] for i in items(client, f'SELECT v FROM "{t}" WHERE v IN (0, 40) OR v = 10')) == [0, 10, 40]
    assert sorted(i["v"] for i in items(client, f'SELECT v FROM "{t}" WHERE NOT v BETWEEN 10 AND 30')) == [0, 40]
    assert sorted(i["v"] for i in items(client, f'SELECT v FROM "{t}" WHERE v NOT IN [0, 10]')) == [20, 30, 40]
    assert len(items(client, f'SELECT * FROM "{t}" WHERE attribute_exists(m.x) AND size(m.x) = 2')) == 5
    assert len(items(client, f'SELECT * FROM "{t}" WHERE contains(m.x, \'q\') AND begins_with(pk, \'a\')')) == 5
    assert len(items(client, f'SELECT * FROM "{t}" WHERE attribute_type(v, \'N\') = true')) == 5
    assert len(items(client, f'SELECT * FROM "{t}" WHERE ATTRIBUTE_NOT_EXISTS(v) = false')) == 5
    assert len(items(client, f'SELECT * FROM "{t}" WHERE nope IS MISSING AND v IS NOT MISSING')) == 5
    assert len(items(client, f'SELECT * FROM "{t}" WHERE v IS NOT NULL AND m IS STRUCT AND v IS NUMBER')) == 5
    assert items(client, f'SELECT * FROM "{t}" WHERE v IS NULL') == []


def test_comments_and_case_insensitive_keywords(client, table):
    """Comments are ignored, keywords are case-insensitive, names are not."""
    fill(client, table, 1)
    got = items(client, f'select /* all */ * from "{table.name}" -- tail\n where PK = \'a\'')
    assert got == []                     # attribute names are case-sensitive: PK is not pk
    assert len(items(client, f'sElEcT * FrOm "{table.name}" wHeRe pk = \'a\'')) == 1


def test_limit_and_next_token_page_through(client, table):
    fill(client, table, 5)
    seen = []
    token = None
    pages = 0
    while True:
        extra = {"NextToken": token} if token else {}
        response = run(client, f'SELECT sk FROM "{table.name}" WHERE pk = ?', "a", Limit=2, **extra)
        seen += [i["sk"] for i in response["Items"]]
        pages += 1
        token = response.get("NextToken")
        if not token:
            break
    assert seen == [0, 1, 2, 3, 4]
    assert pages == 3


def test_next_token_of_another_statement_is_refused(client, table):
    fill(client, table, 3)
    token = run(client, f'SELECT * FROM "{table.name}"', Limit=1)["NextToken"]
    with validation("NextToken does not match request"):
        run(client, f'SELECT sk FROM "{table.name}"', Limit=1, NextToken=token)


def test_index_reads(client, table):
    run(client, f"INSERT INTO \"{table.name}\" VALUE {{'pk': 'a', 'sk': 1, 'g': 'G', 'l': 'L', 'x': 1}}")
    run(client, f"INSERT INTO \"{table.name}\" VALUE {{'pk': 'a', 'sk': 2, 'x': 2}}")
    assert items(client, f'SELECT * FROM "{table.name}"."by_g" WHERE g = \'G\'') == [
        {"pk": "a", "sk": 1, "g": "G"}]
    assert len(items(client, f'SELECT * FROM "{table.name}"."by_l"')) == 1          # sparse
    with validation("One or more parameter values were invalid: Global secondary index by_g does not project [x]"):
        run(client, f'SELECT x FROM "{table.name}"."by_g"')
    with validation("One or more parameter values were invalid: Secondary index by_g does not project one or more "
                    "filter attributes: [x]"):
        run(client, f'SELECT * FROM "{table.name}"."by_g" WHERE x = 1')
    with validation("Strongly consistent read is not supported on Global Secondary Indexes"):
        run(client, f'SELECT * FROM "{table.name}"."by_g"', ConsistentRead=True)
    assert len(items(client, f'SELECT * FROM "{table.name}"."by_l" WHERE pk = \'a\'', ConsistentRead=True)) == 1
    with validation("The table does not have the specified index"):
        run(client, f'SELECT * FROM "{table.name}"."nope"')


def test_consumed_capacity(client, table):
    fill(client, table, 2)
    response = run(client, f'SELECT * FROM "{table.name}" WHERE pk = \'a\' AND sk = 1',
                   ReturnConsumedCapacity="TOTAL")
    assert response["ConsumedCapacity"] == {"TableName": table.name, "CapacityUnits": 0.5,
                                            "ReadCapacityUnits": 0.5}
    response = run(client, f"UPDATE \"{table.name}\" SET v = 1 WHERE pk = 'a' AND sk = 1",
                   ReturnConsumedCapacity="TOTAL")
    assert response["ConsumedCapacity"]["WriteCapacityUnits"] >= 1


# -- UPDATE / DELETE -----------------------------------------------------------------------

def test_update_set_remove_functions_and_returning(client, table):
    fill(client, table, 1)
    t = table.name
    got = items(client, f"UPDATE \"{t}\" SET v = v + 5 SET s = set_add(s, <<'a', 'b'>>) REMOVE m "
                        f"SET li = list_append([0], ?) WHERE pk = 'a' AND sk = 0 RETURNING ALL NEW *", [1])
    assert got == [{"pk": "a", "sk": 0, "v": 5, "s": {"a", "b"}, "li": [0, 1]}]
    got = items(client, f"UPDATE \"{t}\" SET s = SET_DELETE(s, ?), v = v - 1 WHERE pk = 'a' AND sk = 0 "
                        "RETURNING MODIFIED OLD *", {"a"})
    assert got == [{"s": {"a", "b"}, "v": 5}]
    got = items(client, f"FROM \"{t}\" WHERE pk = 'a' AND sk = 0 SET s = set_delete(s, <<'b'>>) "
                        "RETURNING MODIFIED NEW *")
    assert got == []                           # removing every member removes the attribute
    assert table.get_item(Key={"pk": "a", "sk": 0})["Item"] == {"pk": "a", "sk": 0, "v": 4, "li": [0, 1]}
    assert items(client, f"UPDATE \"{t}\" SET data = 'x' WHERE pk = 'a' AND sk = 0 RETURNING ALL OLD *") == [
        {"pk": "a", "sk": 0, "v": 4, "li": [0, 1]}]


def test_update_requires_existing_item_and_condition(client, table):
    fill(client, table, 1)
    with raises("ConditionalCheckFailedException", "The conditional request failed"):
        run(client, f"UPDATE \"{table.name}\" SET v = 1 WHERE pk = 'zz' AND sk = 0")
    assert "Item" not in table.get_item(Key={"pk": "zz", "sk": 0})
    with raises("ConditionalCheckFailedException"):
        run(client, f"UPDATE \"{table.name}\" SET v = 1 WHERE pk = 'a' AND sk = 0 AND v = 99")
    assert table.get_item(Key={"pk": "a", "sk": 0})["Item"]["v"] == 0


def test_condition_failure_returns_old_item_when_asked(client, table):
    fill(client, table, 1)
    with raises("ConditionalCheckFailedException") as excinfo:
        run(client, f"DELETE FROM \"{table.name}\" WHERE pk = 'a' AND sk = 0 AND v = 99",
            ReturnValuesOnConditionCheckFailure="ALL_OLD")
    assert "Item" in excinfo.value.response


def test_delete_missing_item_and_returning(client, table):
    fill(client, table, 1)
    t = table.name
    assert items(client, f"DELETE FROM \"{t}\" WHERE pk = 'zz' AND sk = 0 AND v = 5") == []
    assert items(client, f"DELETE FROM \"{t}\" WHERE pk = 'a' AND sk = 0 RETURNING ALL OLD *") == [
        {"pk": "a", "sk": 0, "v": 0, "m": {"x": [1, "q"]}}]
    with validation("Invalid returning clause: RETURNING ALL NEW *. Only RETURNING ALL OLD * is allowed in "
                    "DELETE statements."):
        run(client, f"DELETE FROM \"{t}\" WHERE pk = 'a' AND sk = 0 RETURNING ALL NEW *")


def test_writes_need_every_key_equality(client, table):
    message = "Where clause does not contain a mandatory equality on all key attributes"
    for statement in (f"UPDATE \"{table.name}\" SET v = 1 WHERE pk = 'a'", f"DELETE FROM \"{table.name}\"",
                      f"DELETE FROM \"{table.name}\" WHERE v = 1 AND sk = 1"):
        with validation(message):
            run(client, statement)


def test_set_function_errors(client, table):
    t = table.name
    fill(client, table, 1)
    cases = [
        (f"UPDATE \"{t}\" SET s = set_add(x, <<1>>) WHERE pk = 'a' AND sk = 0",
         "The first argument to SET_ADD must equal the assignment value at 1:{c}:7"),
        (f"UPDATE \"{t}\" SET s = set_add(s, 1) WHERE pk = 'a' AND sk = 0",
         "The second argument to SET_ADD must be a value with type SET at 1:{c2}:1"),
        (f"UPDATE \"{t}\" SET s = set_add(s) WHERE pk = 'a' AND sk = 0",
         "SET_ADD must have exactly two arguments at 1:{c}:7"),
    ]
    for statement, message in cases:
        c = statement.index("set_add") + 1
        with validation(message.format(c=c, c2=c + 8)):
            run(client, statement)
    with validation("An operand in the update expression has an incorrect data type"):
        run(client, f"UPDATE \"{t}\" SET v = set_add(v, <<1>>) WHERE pk = 'a' AND sk = 0")


# -- errors ------------------------------------------------------------------------------------

@pytest.mark.parametrize("statement, message", [
    ("SLECT * FROM t", E + "Expected data manipulation"),
    ("SELECT * FROM", E + "Unexpected term"),
    ("SELECT * FROM t WHERE", E + "Unexpected term"),
    ("SELECT * FROM t WHERE pk = 'a' AND", E + "Missing right-hand side expression of infix operator"),
    ("SELECT * FROM t WHERE ORDER BY pk", E + "Unexpected keyword"),
    ("SELECT * FROM t WHERE IS NULL", E + "Unexpected operator"),
    ("SELECT * FROM t WHERE pk = 1 foo", E + "Unexpected token after expression"),
    ("SELECT * FROM t ORDER BY pk WHERE pk = 1", E + "Unexpected token after expression"),
    ("DELETE FROM", E + "Expected identifier for simple path"),
    ("SELECT * FROM t # comment", E),
    ("SELECT * FROM t /* open", E),
    ("SELECT * FROM t WHERE x = 1e99999999999", E),
    ("SELECT * FROM t WHERE x IS FOO", E + "Expected type name"),
    ("SELECT * FROM t WHERE attribute_exists(m.inner)", E + "Invalid path dot component"),
    ("SELECT * FROM t x", "Aliasing is not supported"),
    ("SELECT * FROM t AS x", "Aliasing is not supported"),
    ("x IS INT4", "Unsupported operation: IsType"),
    ('SELECT * FROM "t"."i"."x"', "A path may contain at most 2 components in the FROM clause"),
    ('SELECT * FROM "t".""', "Path component cannot be an empty string"),
    ("SELECT count(*) FROM t", "Unexpected path component at 1:8:5"),
])
def test_syntax_errors_precede_the_table_lookup(client, statement, message):
    with validation(message):
        run(client, statement)


def test_where_function_errors(client, table):
    t = table.name
    with validation("Operator or function requires a document path; operator or function: attribute_exists"):
        run(client, f"SELECT * FROM \"{t}\" WHERE attribute_exists('x')")
    with validation("Incorrect number of operands for operator or function; operator or function: "
                    "attribute_exists, number of operands: 0"):
        run(client, f"SELECT * FROM \"{t}\" WHERE attribute_exists()")
    with validation("Unrecognized function: exists at 1:{}:6".format(len(f'SELECT * FROM "{t}" WHERE ') + 1)):
        run(client, f"SELECT * FROM \"{t}\" WHERE EXISTS(x)")
    with validation("Incorrect operand type for operator or function; operator or function: <, operand type: BOOL"):
        run(client, f"SELECT * FROM \"{t}\" WHERE v < true")
    with validation("Incorrect operand type for operator or function; operator or function: >=, operand type: M"):
        run(client, f"SELECT * FROM \"{t}\" WHERE pk = 'a' AND sk >= ?", {"a": 1})


def test_order_by_rules(client, table):
    t = table.name
    with validation("Must have WHERE clause in the statement when using ORDER BY clause."):
        run(client, f'SELECT * FROM "{t}" ORDER BY sk')
    with validation("Attribute v in ORDER BY clause must be part of the primary key"):
        run(client, f'SELECT * FROM "{t}" WHERE pk = \'a\' ORDER BY v')
    with validation("Must have at least one non-optional hash key condition in WHERE clause when using ORDER BY "
                    "clause."):
        run(client, f'SELECT * FROM "{t}" WHERE v = 1 ORDER BY sk')
    with validation("Must have hash key in ORDER BY clause when more than one hash key condition specified in "
                    "WHERE clause."):
        run(client, f'SELECT * FROM "{t}" WHERE pk IN [\'a\', \'b\'] ORDER BY sk')


def test_missing_table(client):
    with raises("ResourceNotFoundException", "Requested resource not found"):
        run(client, 'SELECT * FROM "no-such-table"')


def test_parameter_count_must_match(client, table):
    with validation("Number of parameters in request and statement don't match."):
        run(client, f'SELECT * FROM "{table.name}" WHERE pk = ?')
    with validation("Number of parameters in request and statement don't match."):
        run(client, f'SELECT * FROM "{table.name}" WHERE pk = ?', "a", "b")


def test_request_constraints(client, table):
    with validation(contains="Member must have length less than or equal to 8192"):
        run(client, "SELECT * FROM t WHERE a = '" + "x" * 8200 + "'")
    with validation(contains="Value '0' at 'limit' failed to satisfy constraint"):
        run(client, f'SELECT * FROM "{table.name}"', Limit=0)
    with validation(contains="at 'parameters' failed to satisfy constraint: Member must have length greater"):
        client.execute_statement(Statement=f'SELECT * FROM "{table.name}"', Parameters=[])


def test_exists_outside_a_transaction(client, table):
    with validation("EXISTS can only be used in ExecuteTransaction write requests."):
        run(client, f"EXISTS(SELECT * FROM \"{table.name}\" WHERE pk = 'a' AND sk = 1 AND v = 1)")


def test_key_value_of_another_type_matches_nothing(client, table):
    fill(client, table, 1)
    assert items(client, f'SELECT * FROM "{table.name}" WHERE pk = 1 AND sk = 0') == []
    assert items(client, f'SELECT * FROM "{table.name}" WHERE pk = \'a\' AND sk = \'0\'') == []


def test_number_parameters_are_read_like_bigdecimal(client, table):
    """An exponent beyond 32 bits cannot be converted; precision minus scale past 32 bits is an underflow
    (boto3's own Decimal context may refuse these before sending: that counts as refused too)."""
    statement = f"INSERT INTO \"{table.name}\" VALUE {{'pk': 'a', 'sk': 1, 'n': ?}}"
    number_rejected(lambda: run(client, statement, Decimal("1e99999999999")),
                    "The parameter cannot be converted to a numeric value: 1E+99999999999")
    number_rejected(lambda: run(client, statement, [Decimal("1e2147483647")]),
                    "Number underflow. Attempting to store a number with magnitude smaller than supported range")
    assert "Item" not in table.get_item(Key={"pk": "a", "sk": 1})


def test_or_of_partition_branches(client, table):
    """An OR whose branches each pin the partition key runs one Query per branch, in branch order."""
    fill(client, table, 5, pk="a")
    fill(client, table, 5, pk="b")
    t = table.name
    got = items(client, f"SELECT pk, sk FROM \"{t}\" WHERE pk = 'b' AND sk > 3 OR pk = 'a' AND sk < 2 AND v >= 0")
    assert [(i["pk"], i["sk"]) for i in got] == [("b", 4), ("a", 0), ("a", 1)]
    got = items(client, f"SELECT pk, sk FROM \"{t}\" WHERE pk = 'a' AND sk >= 3 OR pk = 'a' AND sk = 0 "
                        "ORDER BY pk, sk DESC")
    assert [(i["pk"], i["sk"]) for i in got] == [("a", 4), ("a", 3), ("a", 0)]
    response = run(client, f"SELECT sk FROM \"{t}\" WHERE pk = 'a' AND sk = 1 OR pk = 'b' AND sk = 2",
                   ReturnConsumedCapacity="TOTAL")
    assert response["Items"] == [{"sk": 1}, {"sk": 2}]
    assert response["ConsumedCapacity"]["CapacityUnits"] == 1.0          # two Queries, not a Scan of 10 items


def test_overlapping_branches_are_refused(client, table):
    message = "Overlapping conditions with range keys are not supported in where clause"
    t = table.name
    for where in ("pk = 'a' AND x = '1' OR pk = 'a' AND sk = 2", "pk = 'a' AND x <> '1' OR pk = 'a' AND sk = 2",
                  "pk = 'a' AND sk BETWEEN 1 AND 3 OR pk = 'a' AND sk >= 3"):
        with validation(message):
            run(client, f"SELECT * FROM \"{t}\" WHERE {where}")
    fill(client, table, 3)
    got = items(client, f"SELECT sk FROM \"{t}\" WHERE pk = 'a' AND sk <> 1 OR pk = 'a' AND sk = 1")
    assert sorted(i["sk"] for i in got) == [0, 1, 2]            # a negated sort condition: one Scan


def test_repeated_statement_pages_the_same(client, table):
    """The cached route of a repeated statement answers as the first run did, 1 MB pages and NextToken included."""
    for i in range(12):
        table.put_item(Item={"pk": "big", "sk": i, "blob": "x" * 100_000})
    statement = f'SELECT sk FROM "{table.name}" WHERE pk = ?'
    for text in (statement, f'SELECT * FROM "{table.name}" WHERE pk = ?'):
        first, second = run(client, text, "big"), run(client, text, "big")
        assert [i["sk"] for i in first["Items"]] == [i["sk"] for i in second["Items"]]
        assert len(first["Items"]) < 12 and first["NextToken"] == second["NextToken"]
        rest = run(client, text, "big", NextToken=second["NextToken"])
        assert [i["sk"] for i in second["Items"] + rest["Items"]] == list(range(12))
        assert "NextToken" not in rest


def test_nesting_beyond_32_levels_is_refused(client, table):
    message = ("Nesting Levels have exceeded supported limits: Attributes in the item have nested levels beyond "
               "supported limit")
    deep = "[" * 32 + "1" + "]" * 32                     # the item is level 1: 33 levels
    with validation(message):
        run(client, f"INSERT INTO \"{table.name}\" VALUE {{'pk': 'a', 'sk': 1, 'li': {deep}}}")
    ok = "[" * 31 + "1" + "]" * 31
    run(client, f"INSERT INTO \"{table.name}\" VALUE {{'pk': 'a', 'sk': 1, 'li': {ok}}}")
    value = 1
    for _ in range(32):
        value = [value]
    with validation(message):
        run(client, f"INSERT INTO \"{table.name}\" VALUE {{'pk': 'a', 'sk': 2, 'li': ?}}", value)


def test_members_of_the_wrong_type(client, table, face, db):
    """A member of the wrong JSON type is a SerializationException on the faces that send it, boto3's
    ParamValidationError from the embedded API (as boto3 raises before sending), never an internal error.
    (boto3's resource layer walks Parameters and Statements itself, so those shapes are sent only embedded.)"""
    requests = [({"Statement": 123}, "Statement"),
                ({"Statement": f'SELECT * FROM "{table.name}"', "Limit": "2"}, "Limit")]
    if face == "embedded":
        requests.append(({"Statement": f'SELECT * FROM "{table.name}"', "Parameters": "abc"}, "Parameters"))
    for request, parameter in requests:
        with wrong_type(db, parameter):
            client.execute_statement(**request)
    with wrong_type(db, "Statements[0].Statement"):
        client.batch_execute_statement(Statements=[{"Statement": 5}])
    if face == "embedded":
        with wrong_type(db, "TransactStatements"):
            client.execute_transaction(TransactStatements="x")
