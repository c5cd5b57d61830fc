"""Every ConditionExpression / FilterExpression check (reference 8.4, 8.5, 8.9) and its exact text."""

import pytest

from kvstore.types import Binary

from .helpers import N, condition, error

P = "Invalid ConditionExpression: "


def check(text, names=None, values=None, operation="PutItem"):
    return error(operation, condition=text, names=names, values=values)


# ---------------------------------------------------------------- functions

def test_unknown_function_is_not_a_syntax_error():
    assert check("dog(a)") == P + "Invalid function name; function: dog"


def test_function_names_are_case_sensitive():
    assert check("BEGINS_WITH(a, :p)", values={":p": "x"}) == P + "Invalid function name; function: BEGINS_WITH"


@pytest.mark.parametrize("name", ["list_append", "if_not_exists"])
def test_update_functions_are_not_allowed_in_conditions(name):
    assert check(f"a = {name}(b, :v)", values={":v": N(1)}) == \
        P + f"The function is not allowed in a condition expression; function: {name}"


def test_size_alone_is_not_a_condition():
    assert check("size(a)") == P + \
        "The function is not allowed to be used this way in an expression; function: size"
    assert check("NOT size(a)") == P + \
        "The function is not allowed to be used this way in an expression; function: size"


@pytest.mark.parametrize("text, function", [
    ("attribute_exists(a) < :v", "attribute_exists"),
    ("size(contains(a, :v)) = :v", "contains"),
    ("a IN (begins_with(b, :v))", "begins_with"),
])
def test_boolean_functions_are_not_operands(text, function):
    assert check(text, values={":v": "x"}) == P + \
        f"The function is not allowed to be used this way in an expression; function: {function}"


@pytest.mark.parametrize("text, name, count", [
    ("size(a, b) > :v", "size", 2),
    ("attribute_exists(a, b)", "attribute_exists", 2),
    ("attribute_not_exists(a, b)", "attribute_not_exists", 2),
    ("begins_with(a)", "begins_with", 1),
    ("contains(a, b, c)", "contains", 3),
    ("attribute_type(a)", "attribute_type", 1),
])
def test_wrong_number_of_operands(text, name, count):
    values = {":v": N(1)} if ":v" in text else None
    assert check(text, values=values) == P + \
        f"Incorrect number of operands for operator or function; operator or function: {name}, " \
        f"number of operands: {count}"


@pytest.mark.parametrize("name", ["attribute_exists", "attribute_not_exists"])
def test_existence_functions_need_a_path(name):
    assert check(f"{name}(:v)", values={":v": "x"}) == P + \
        f"Operator or function requires a document path; operator or function: {name}"


def test_attribute_type_names():
    for t in ("S", "SS", "N", "NS", "B", "BS", "BOOL", "NULL", "L", "M"):
        condition("attribute_type(a, :t)", values={":t": t})
    assert check("attribute_type(a, :t)", values={":t": "DOG"}) == P + \
        "Invalid attribute type name found; type: DOG, valid types: {B,NULL,SS,BOOL,L,BS,N,NS,S,M}"
    assert check("attribute_type(a, :t)", values={":t": N(1)}) == P + \
        "Incorrect operand type for operator or function; operator or function: attribute_type, operand type: N"
    assert check("attribute_type(a, b)").startswith(P + "Incorrect operand type for operator or function; "
                                                        "operator or function: attribute_type, operand type: ")


@pytest.mark.parametrize("value, tag", [(N(1), "N"), (True, "BOOL"), ({"x"}, "SS"), ([], "L")])
def test_begins_with_takes_strings_or_binary_from_the_query(value, tag):
    assert check("begins_with(a, :v)", values={":v": value}) == P + \
        f"Incorrect operand type for operator or function; operator or function: begins_with, operand type: {tag}"
    condition("begins_with(a, :v)", values={":v": Binary(b"x")})
    condition("begins_with(:v, a)", values={":v": "x"})


@pytest.mark.parametrize("value, tag", [(N(1), "N"), (True, "BOOL"), (None, "NULL")])
def test_size_of_a_query_side_value_needs_a_sized_type(value, tag):
    assert check("size(:v) > :n", values={":v": value, ":n": N(1)}) == P + \
        f"Incorrect operand type for operator or function; operator or function: size, operand type: {tag}"


# ---------------------------------------------------------------- operand types

@pytest.mark.parametrize("op", ["<", "<=", ">", ">="])
@pytest.mark.parametrize("value, tag", [
    (True, "BOOL"), (None, "NULL"), ({"a"}, "SS"), ({N(1)}, "NS"), ([N(1)], "L"), ({"k": "a"}, "M"),
])
def test_ordering_a_query_side_value_that_cannot_be_ordered(op, value, tag):
    assert check(f"n {op} :v", values={":v": value}) == P + \
        f"Incorrect operand type for operator or function; operator or function: {op}, operand type: {tag}"


def test_operand_type_is_checked_whatever_the_side_and_short_circuit():
    message = P + "Incorrect operand type for operator or function; operator or function: >, operand type: BOOL"
    assert check(":v > :x", values={":x": N(1), ":v": True}) == message
    assert check(":x > :v", values={":x": N(1), ":v": True}) == message
    assert check("attribute_not_exists(z) OR n > :v", values={":v": True}) == message
    assert check("NOT (n > :v)", values={":v": True}) == message


def test_size_result_is_a_number():
    assert check("size(s) > :v", values={":v": True}) == P + \
        "Incorrect operand type for operator or function; operator or function: >, operand type: BOOL"
    assert check("begins_with(size(s), :v)", values={":v": "x"}) == P + \
        "Incorrect operand type for operator or function; operator or function: begins_with, operand type: N"


def test_between_bounds_from_the_query():
    assert check("n BETWEEN :a AND :b", values={":a": True, ":b": False}) == P + \
        "Incorrect operand type for operator or function; operator or function: BETWEEN, operand type: BOOL"
    assert check("a BETWEEN :x AND :y", values={":x": N(5), ":y": "a"}) == P + \
        "The BETWEEN operator requires same data type for lower and upper bounds; " \
        "lower bound operand: AttributeValue: {N:5}, upper bound operand: AttributeValue: {S:a}"
    assert check("a BETWEEN :x AND :y", values={":x": N(10), ":y": N(1)}) == P + \
        "The BETWEEN operator requires upper bound to be greater than or equal to lower bound; " \
        "lower bound operand: AttributeValue: {N:10}, upper bound operand: AttributeValue: {N:1}"
    assert check("a BETWEEN :x AND :y", values={":x": "b", ":y": "a"}).startswith(
        P + "The BETWEEN operator requires upper bound")
    condition("a BETWEEN :x AND :x", values={":x": N(1)})
    condition("a BETWEEN b AND :y", values={":y": N(1)})


def test_equality_accepts_every_type():
    for value in (True, None, {"a"}, [N(1)], {"k": "v"}, Binary(b"")):
        condition("a = :v AND b <> :v AND c IN (:v, :w)", values={":v": value, ":w": N(1)})


# ---------------------------------------------------------------- same operand

@pytest.mark.parametrize("text, op, path", [
    ("a = a", "=", "[a]"),
    ("a.b[1] < a.b[1]", "<", "[a, b, [1]]"),
    ("#x <> x", "<>", "[x]"),
    ("a BETWEEN :v AND a", "BETWEEN", "[a]"),
    ("a IN (:v, a)", "IN", "[a]"),
    ("contains(a, a)", "contains", "[a]"),
    ("begins_with(a, a)", "begins_with", "[a]"),
    ("attribute_type(a, a)", "attribute_type", "[a]"),
])
def test_the_first_operand_must_differ_from_the_others(text, op, path):
    names = {"#x": "x"} if "#x" in text else None
    values = {":v": N(1)} if ":v" in text else None
    assert check(text, names=names, values=values) == P + \
        f"The first operand must be distinct from the remaining operands for this operator or function; " \
        f"operator: {op}, first operand: {path}"


def test_identical_value_placeholders_are_fine():
    condition(":a > :a OR a = :a", values={":a": N(1)})


# ---------------------------------------------------------------- names, lists, limits

def test_reserved_words_are_reported_as_written():
    assert check("Status = :v", values={":v": N(1)}) == P + \
        "Attribute name is a reserved keyword; reserved keyword: Status"
    assert check("a.data = :v", values={":v": N(1)}) == P + \
        "Attribute name is a reserved keyword; reserved keyword: data"
    condition("#s = :v", names={"#s": "status"}, values={":v": N(1)})
    condition("size(a) > :v", values={":v": N(1)})          # function names are exempt


def test_list_index_must_fit_an_int():
    condition("a[2147483647] = :v", values={":v": N(1)})
    assert check("a[99999999999999] = :v", values={":v": N(1)}) == P + \
        "List index is not within the allowable range; index: [99999999999999]"


def test_path_depth_limit_is_32():
    deep = ".".join(["a"] * 32)
    condition(f"{deep} = :v", values={":v": N(1)})
    assert check(deep + ".a = :v", values={":v": N(1)}) == P + \
        "The document path has too many nesting levels; nesting levels: 33"


def test_operator_limit_is_300():
    ok = " OR ".join(["a = :v"] * 150)                       # 150 comparisons + 149 ORs = 299
    condition(ok, values={":v": N(1)})
    too_many = " OR ".join(["a = :v"] * 151)                 # 301
    assert check(too_many, values={":v": N(1)}) == P + \
        "The expression contains too many operators; operator count: 301"
    assert check("NOT " * 1000 + "a = :v", values={":v": N(1)}) == P + \
        "The expression contains too many operators; operator count: 301"


def test_functions_count_as_operators():
    ok = " AND ".join(["attribute_exists(a)"] * 150)         # 150 + 149 = 299
    condition(ok)
    assert check(ok + " AND attribute_exists(b)").endswith("operator count: 301")


def test_in_takes_at_most_100_values():
    names = [f":v{i}" for i in range(101)]
    values = {k: N(i) for i, k in enumerate(names)}
    condition(f"a IN ({', '.join(names[:100])})", values={k: values[k] for k in names[:100]})
    assert check(f"a IN ({', '.join(names)})", values=values) == P + \
        "The IN operator is provided with too many operands; number of operands: 101"


def test_expression_size_limit_counts_utf8_bytes():
    condition("a = :v AND " + "b" * 4080 + " = :v", values={":v": N(1)})      # exactly 4096 bytes
    text = "a = :v AND " + "b" * 4081 + " = :v"
    assert check(text, values={":v": N(1)}) == P + \
        "Expression size has exceeded the maximum allowed size; expression size: 4097"
    assert error("Scan", filter=text, values={":v": N(1)}) == "Invalid FilterExpression: " \
        "Expression size has exceeded the maximum allowed size; expression size: 4097"
    # checked on the raw bytes, before parsing (2049 two-byte characters)
    assert check("é" * 2049) == P + "Expression size has exceeded the maximum allowed size; expression size: 4098"


def test_size_limit_message_of_update_projection_and_key_condition_has_no_size():
    long_name = "a" + "z" * 4096
    message = "Expression size has exceeded the maximum allowed size;"
    assert error("UpdateItem", update=f"SET {long_name} = :v", values={":v": N(1)}) == \
        "Invalid UpdateExpression: " + message
    assert error("GetItem", projection=long_name) == "Invalid ProjectionExpression: " + message
    assert error("Query", key_condition=f"{long_name} = :v", values={":v": N(1)}) == \
        "Invalid KeyConditionExpression: " + message


def test_empty_expression():
    assert check("") == P + "The expression can not be empty;"


# ---------------------------------------------------------------- priority

def test_syntax_errors_come_before_everything():
    assert check("dog(status) = ").startswith(P + "Syntax error")


def test_document_order_decides_between_name_checks():
    assert check("dog(status)") == P + "Invalid function name; function: dog"
    assert check("status = dog(a)") == P + "Attribute name is a reserved keyword; reserved keyword: status"


def test_text_checks_come_before_placeholder_checks():
    # reserved word (text only) before the undefined placeholder
    assert check("#a = :v AND status = :v") == P + \
        "Attribute name is a reserved keyword; reserved keyword: status"


def test_operands_are_checked_before_their_operator():
    assert check("#a = a") == P + \
        "An expression attribute name used in the document path is not defined; attribute name: #a"
    assert check("a < :v") == P + \
        "An expression attribute value used in expression is not defined; attribute value: :v"


def test_filter_messages_use_their_own_prefix():
    assert error("Scan", filter="dog(a)") == "Invalid FilterExpression: Invalid function name; function: dog"
