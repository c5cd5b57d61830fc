"""UpdateExpression: static checks, application, runtime errors, key checks, UPDATED_OLD/NEW (reference 8.7, 6.1)."""

import pytest

from kvstore.errors import ValidationException

from .helpers import N, error, update

P = "Invalid UpdateExpression: "
NOT_FOUND = "The provided expression refers to an attribute that does not exist in the item"
BAD_PATH = "The document path provided in the update expression is invalid for update"
BAD_TYPE = "An operand in the update expression has an incorrect data type"


def apply(text, item, values=None, names=None, existed=True):
    if values:
        values = {k: v for k, v in values.items() if k in text}
    return update(text, names=names, values=values or None).apply(item, existed)


def runtime_error(text, item, values=None, names=None):
    with pytest.raises(ValidationException) as e:
        apply(text, item, values, names)
    return e.value.message


# ================================================================ static checks

@pytest.mark.parametrize("keyword", ["SET", "REMOVE", "ADD", "DELETE"])
def test_each_section_at_most_once(keyword):
    action = {"SET": "a = :v", "REMOVE": "a", "ADD": "a :n", "DELETE": "a :s"}[keyword]
    other = {"SET": "b = :v", "REMOVE": "b", "ADD": "b :n", "DELETE": "b :s"}[keyword]
    text = f"{keyword} {action} SET c = :v {keyword} {other}" if keyword != "SET" else \
        f"SET {action} REMOVE c SET {other}"
    values = {k: v for k, v in {":v": N(1), ":n": N(1), ":s": {"x"}}.items() if k in text}
    assert error("UpdateItem", update=text, values=values) == \
        P + f'The "{keyword}" section can only be used once in an update expression;'


@pytest.mark.parametrize("text, one, two", [
    ("SET a = :v, a.b = :v", "[a]", "[a, b]"),
    ("SET a.b = :v, a = :v", "[a, b]", "[a]"),
    ("SET a = :v REMOVE a", "[a]", "[a]"),
    ("SET a[1] = :v, a[1][1] = :v", "[a, [1]]", "[a, [1], [1]]"),
    ("SET #a = :v, a = :v", "[a]", "[a]"),
    ("REMOVE x.y ADD x.y.z :v", "[x, y]", "[x, y, z]"),
])
def test_overlapping_paths(text, one, two):
    assert error("UpdateItem", update=text, names={"#a": "a"} if "#a" in text else None,
                 values={":v": N(1)}) == \
        P + f"Two document paths overlap with each other; must remove or rewrite one of these paths; " \
            f"path one: {one}, path two: {two}"


def test_conflicting_paths():
    assert error("UpdateItem", update="SET a.b = :v, a[1] = :v", values={":v": N(1)}) == \
        P + "Two document paths conflict with each other; must remove or rewrite one of these paths; " \
            "path one: [a, b], path two: [a, [1]]"


def test_sibling_paths_are_fine():
    update("SET a.b = :v, a.c = :v, l[0] = :v, l[1] = :v", values={":v": N(1)})


@pytest.mark.parametrize("text, message", [
    ("SET a = size(b)", "The function is not allowed in an update expression; function: size"),
    ("SET a = attribute_exists(b)",
     "The function is not allowed in an update expression; function: attribute_exists"),
    ("SET a = foo(b)", "Invalid function name; function: foo"),
    ("SET a = list_append(list_append(a, :l), :l)",
     "The function is not allowed to be used this way in an expression; function: list_append"),
    ("SET a = if_not_exists(a, list_append(a, :l))",
     "The function is not allowed to be used this way in an expression; function: list_append"),
    ("SET a = list_append(a, :l) + :n",
     "The function is not allowed to be used this way in an expression; function: list_append"),
    ("SET a = list_append(a)",
     "Incorrect number of operands for operator or function; operator or function: list_append, "
     "number of operands: 1"),
    ("SET a = if_not_exists(a, :n, :n)",
     "Incorrect number of operands for operator or function; operator or function: if_not_exists, "
     "number of operands: 3"),
    ("SET a = if_not_exists(:n, a)",
     "Operator or function requires a document path; operator or function: if_not_exists"),
    ("SET a = if_not_exists(b, b)",
     "The first operand must be distinct from the remaining operands for this operator or function; "
     "operator: if_not_exists, first operand: [b]"),
    ("SET a = a + :s",
     "Incorrect operand type for operator or function; operator or function: +, operand type: S"),
    ("SET a = :l - a",
     "Incorrect operand type for operator or function; operator or function: -, operand type: L"),
    ("SET a = list_append(a, :s)",
     "Incorrect operand type for operator or function; operator or function: list_append, operand type: S"),
    ("SET status = :n", "Attribute name is a reserved keyword; reserved keyword: status"),
    ("SET a = :n REMOVE b.status", "Attribute name is a reserved keyword; reserved keyword: status"),
    ("SET a[99999999999] = :n", "List index is not within the allowable range; index: [99999999999]"),
])
def test_update_static_errors(text, message):
    values = {k: v for k, v in {":n": N(1), ":s": "x", ":l": [N(1)]}.items() if k in text}
    assert error("UpdateItem", update=text, values=values or None) == P + message


def test_nested_if_not_exists_is_fine():
    assert apply("SET a = list_append(if_not_exists(a, :e), :l)", {}, {":e": [], ":l": [N(1)]}) == {"a": [N(1)]}
    assert apply("SET a = if_not_exists(a, :z) + :one", {}, {":z": N(0), ":one": N(1)}) == {"a": N(1)}


@pytest.mark.parametrize("value, type_name", [
    ("x", "STRING"), (True, "BOOLEAN"), (None, "NULL"), ([N(1)], "LIST"), ({"k": N(1)}, "MAP"),
])
def test_add_takes_a_number_or_a_set(value, type_name):
    assert error("UpdateItem", update="ADD a :v", values={":v": value}) == \
        P + "Incorrect operand type for operator or function; operator: ADD, operand type: " \
            f"{type_name}, typeSet: ALLOWED_FOR_ADD_OPERAND"


@pytest.mark.parametrize("value, type_name", [(N(1), "NUMBER"), ("x", "STRING"), ([N(1)], "LIST")])
def test_delete_takes_a_set(value, type_name):
    assert error("UpdateItem", update="DELETE a :v", values={":v": value}) == \
        P + "Incorrect operand type for operator or function; operator: DELETE, operand type: " \
            f"{type_name}, typeSet: ALLOWED_FOR_DELETE_OPERAND"


def test_target_paths_are_checked_from_the_last_action():
    assert error("UpdateItem", update="SET #a = :v, #b = :v", values={":v": N(1)}) == \
        P + "An expression attribute name used in the document path is not defined; attribute name: #b"
    assert error("UpdateItem", update="SET a = :x, b = :y") == \
        P + "An expression attribute value used in expression is not defined; attribute value: :y"


def test_targets_before_values():
    assert error("UpdateItem", update="SET a = :undefined, #undefined = :v", values={":v": N(1)}) == \
        P + "An expression attribute name used in the document path is not defined; attribute name: #undefined"


def test_operators_of_all_actions_share_the_limit():
    actions = ",".join(f"a{i}=b+:n" for i in range(300))
    update(f"SET {actions}", values={":n": N(1)})
    actions = ",".join(f"a{i}=b+:n" for i in range(301))
    assert error("UpdateItem", update=f"SET {actions}", values={":n": N(1)}) == \
        P + "The expression contains too many operators; operator count: 301"


# ================================================================ application

def test_set_and_remove_top_level():
    old = {"pk": "k", "a": N(1), "b": "x"}
    new = apply("SET c = :c, a = :a REMOVE b", old, {":a": N(2), ":c": [N(1)]})
    assert new == {"pk": "k", "a": N(2), "c": [N(1)]}
    assert old == {"pk": "k", "a": N(1), "b": "x"}


def test_right_hand_sides_read_the_item_before_the_update():
    assert apply("SET a = :new, b = a", {"a": "OLD"}, {":new": "NEW"}) == {"a": "NEW", "b": "OLD"}
    assert apply("REMOVE a SET b = a", {"a": N(1)}) == {"b": N(1)}
    assert apply("SET a = b, b = a", {"a": N(1), "b": N(2)}) == {"a": N(2), "b": N(1)}


def test_a_missing_right_hand_side_is_an_error():
    assert runtime_error("SET a = b", {}) == NOT_FOUND
    assert runtime_error("SET x = :v, y = x", {}, {":v": N(1)}) == NOT_FOUND
    assert runtime_error("SET a = b.c[3]", {"b": {"c": []}}) == NOT_FOUND


def test_arithmetic():
    assert apply("SET a = a + :n", {"a": N("1.5")}, {":n": N("2.25")}) == {"a": N("3.75")}
    assert apply("SET a = :n - a", {"a": N(10)}, {":n": N(3)}) == {"a": N(-7)}
    assert apply("SET a = (a - :n)", {"a": N(10)}, {":n": N(3)}) == {"a": N(7)}
    assert apply("SET a = b + c", {"b": N("0.1"), "c": N("0.2")}) == {"a": N("0.3"), "b": N("0.1"),
                                                                       "c": N("0.2")}
    assert runtime_error("SET a = a + :n", {}, {":n": N(1)}) == NOT_FOUND
    assert runtime_error("SET a = a + :n", {"a": "x"}, {":n": N(1)}) == BAD_TYPE
    assert runtime_error("SET a = b + c", {"b": "x"}) == BAD_TYPE        # first operand checked first


def test_arithmetic_respects_number_limits():
    assert apply("SET a = a + :n", {"a": N("9" * 38)}, {":n": N(1)}) == {"a": N("1e38")}
    # a result needing more than 38 digits is, in DynamoDB's words, an overflow (reference 1.3)
    assert runtime_error("SET a = a + :n", {"a": N("1" + "0" * 37)}, {":n": N("0.1")}) == \
        "Number overflow. Attempting to store a number with magnitude larger than supported range"
    assert runtime_error("SET a = a + :n", {"a": N("1e50")}, {":n": N(1)}) == \
        "Number overflow. Attempting to store a number with magnitude larger than supported range"
    assert runtime_error("SET a = a + :n", {"a": N("9.9999999999999999999999999999999999999E+125")},
                         {":n": N("9.9999999999999999999999999999999999999E+125")}) == \
        "Number overflow. Attempting to store a number with magnitude larger than supported range"
    assert apply("SET a = a - :n", {"a": N(5)}, {":n": N(5)}) == {"a": N(0)}


def test_list_append():
    assert apply("SET l = list_append(l, :v)", {"l": [N(1)]}, {":v": [N(2)]}) == {"l": [N(1), N(2)]}
    assert apply("SET l = list_append(:v, l)", {"l": [N(1)]}, {":v": [N(2)]}) == {"l": [N(2), N(1)]}
    assert runtime_error("SET l = list_append(l, :v)", {}, {":v": [N(2)]}) == NOT_FOUND
    assert runtime_error("SET l = list_append(l, :v)", {"l": "x"}, {":v": [N(2)]}) == BAD_TYPE


def test_if_not_exists():
    assert apply("SET a = if_not_exists(a, :v)", {}, {":v": N(1)}) == {"a": N(1)}
    assert apply("SET a = if_not_exists(a, :v)", {"a": N(5)}, {":v": N(1)}) == {"a": N(5)}
    assert apply("SET a = if_not_exists(b, c)", {"b": N(2), "c": N(3)}) == {"a": N(2), "b": N(2), "c": N(3)}
    # the default is evaluated even when not needed
    assert runtime_error("SET a = if_not_exists(b, c)", {"b": N(2)}) == NOT_FOUND


def test_nested_set_needs_its_parent():
    assert apply("SET a.b = :v", {"a": {}}, {":v": N(1)}) == {"a": {"b": N(1)}}
    assert apply("SET a.b.c = :v", {"a": {"b": {"c": N(0), "d": N(9)}}}, {":v": N(1)}) == \
        {"a": {"b": {"c": N(1), "d": N(9)}}}
    assert runtime_error("SET a.b = :v", {}, {":v": N(1)}) == BAD_PATH
    assert runtime_error("SET a.b = :v", {"a": "x"}, {":v": N(1)}) == BAD_PATH
    assert runtime_error("SET a.b = :v", {"a": [N(1)]}, {":v": N(1)}) == BAD_PATH
    assert runtime_error("SET a[0] = :v", {"a": {"0": N(1)}}, {":v": N(1)}) == BAD_PATH
    assert runtime_error("SET a.b.c = :v", {"a": {}}, {":v": N(1)}) == BAD_PATH


def test_nested_set_on_a_missing_item_is_invalid():
    with pytest.raises(ValidationException) as e:
        update("SET a.b = :v", values={":v": N(1)}).apply({"pk": "k"}, False)
    assert e.value.message == BAD_PATH


def test_set_list_element_replaces_or_appends_in_index_order():
    assert apply("SET l[1] = :v", {"l": ["a", "b", "c"]}, {":v": "B"}) == {"l": ["a", "B", "c"]}
    assert apply("SET l[9] = :x, l[5] = :y", {"l": ["a"]}, {":x": "x", ":y": "y"}) == {"l": ["a", "y", "x"]}
    assert apply("SET l[0] = :x", {"l": []}, {":x": "x"}) == {"l": ["x"]}


def test_remove_list_elements_by_original_index():
    assert apply("REMOVE l[1], l[2]", {"l": ["a", "b", "c", "d"]}) == {"l": ["a", "d"]}
    assert apply("REMOVE l[0] SET l[1] = :x", {"l": ["a", "b", "c"]}, {":x": "B"}) == {"l": ["B", "c"]}
    assert apply("REMOVE l[7]", {"l": ["a"]}) == {"l": ["a"]}
    assert apply("REMOVE l[0]", {"l": ["a"]}) == {"l": []}


def test_remove_missing_leaf_is_a_no_op_but_a_missing_parent_is_not():
    assert apply("REMOVE a.b, c", {"a": {}}) == {"a": {}}
    assert apply("REMOVE m.x", {"m": {"x": N(1)}}) == {"m": {}}
    assert runtime_error("REMOVE a.b", {}) == BAD_PATH


def test_remove_only_update_on_a_missing_item_changes_nothing():
    u = update("REMOVE a.b.c, d[3] DELETE s :s", values={":s": {"x"}})
    assert u.only_removes is True
    assert u.apply({"pk": "k"}, False) == {"pk": "k"}
    assert update("SET a = :v REMOVE b", values={":v": N(1)}).only_removes is False


def test_add_numbers_and_sets():
    assert apply("ADD n :n", {}, {":n": N(5)}) == {"n": N(5)}
    assert apply("ADD n :n", {"n": N(5)}, {":n": N(-7)}) == {"n": N(-2)}
    assert apply("ADD s :s", {}, {":s": {"a"}}) == {"s": {"a"}}
    assert apply("ADD s :s", {"s": {"a", "b"}}, {":s": {"b", "c"}}) == {"s": {"a", "b", "c"}}
    assert apply("ADD s :s", {"s": {N(1)}}, {":s": {N("1.0"), N(2)}}) == {"s": {N(1), N(2)}}
    assert runtime_error("ADD n :n", {"n": "x"}, {":n": N(1)}) == BAD_TYPE
    assert runtime_error("ADD s :s", {"s": {N(1)}}, {":s": {"a"}}) == BAD_TYPE
    assert runtime_error("ADD s :s", {"s": ["a"]}, {":s": {"a"}}) == BAD_TYPE


def test_add_into_maps_and_list_elements():
    assert apply("ADD counters.#k :one", {"counters": {}}, {":one": N(1)}, {"#k": "x y"}) == \
        {"counters": {"x y": N(1)}}
    assert apply("ADD a.d[2] :s", {"a": {"d": [N(1), N(2), {"x"}]}}, {":s": {"y"}}) == \
        {"a": {"d": [N(1), N(2), {"x", "y"}]}}


def test_delete_from_sets():
    assert apply("DELETE s :s", {"s": {"a", "b"}}, {":s": {"a", "z"}}) == {"s": {"b"}}
    assert apply("DELETE s :s", {"s": {"a"}}, {":s": {"a"}}) == {}
    assert apply("DELETE s :s", {}, {":s": {"a"}}) == {}
    assert apply("DELETE s :s", {"s": {N("1.5")}}, {":s": {N("1.50")}}) == {}
    assert runtime_error("DELETE s :s", {"s": "a"}, {":s": {"a"}}) == BAD_TYPE
    assert runtime_error("DELETE s :s", {"s": {N(1)}}, {":s": {"a"}}) == BAD_TYPE


def test_update_does_not_share_containers_with_its_inputs():
    value = {"k": [N(1)]}
    old = {"a": {"b": [N(1)]}, "s": {"x"}, "keep": {"deep": [N(1)]}}
    u = update("SET a.b[0] = :v, c = :v ADD s :s", values={":v": value, ":s": {"y"}})
    new = u.apply(old, True)
    assert new == {"a": {"b": [value]}, "s": {"x", "y"}, "keep": {"deep": [N(1)]}, "c": value}
    new["c"]["k"].append(N(2))
    new["a"]["b"].append(N(3))
    new["s"].add("z")
    assert value == {"k": [N(1)]}
    assert old == {"a": {"b": [N(1)]}, "s": {"x"}, "keep": {"deep": [N(1)]}}


def test_nesting_limit_applies_to_written_values():
    deep = N(1)
    for _ in range(30):
        deep = {"m": deep}
    apply("SET a = :v", {}, {":v": deep})
    with pytest.raises(ValidationException) as e:
        apply("SET a.b.c = :v", {"a": {"b": {}}}, {":v": deep})
    assert "Nesting Levels have exceeded supported limits" in e.value.message


# ================================================================ keys

def test_key_attributes_cannot_be_updated():
    for text in ("SET pk = :v", "REMOVE sk", "ADD pk :v", "DELETE sk :s"):
        u = update(text, values={k: v for k, v in {":v": N(1), ":s": {"a"}}.items() if k in text} or None)
        with pytest.raises(ValidationException) as e:
            u.check_keys(("pk", "sk"), ("gsi_pk",))
        name = "pk" if "pk" in text else "sk"
        assert e.value.message == \
            f"One or more parameter values were invalid: Cannot update attribute {name}. This attribute is part " \
            "of the key"


def test_key_attributes_cannot_be_reached_into():
    with pytest.raises(ValidationException) as e:
        update("SET pk.x = :v", values={":v": N(1)}).check_keys(("pk",), ())
    assert e.value.message == \
        "Key attributes must be scalars; list random access '[]' and map lookup '.' are not allowed: Key: pk"
    with pytest.raises(ValidationException) as e:
        update("SET a = g[0]").check_keys(("pk",), ("g",))
    assert e.value.message == \
        "Key attributes must be scalars; list random access '[]' and map lookup '.' are not allowed: IndexKey: g"


def test_index_keys_may_be_set():
    update("SET g = :v", values={":v": "x"}).check_keys(("pk",), ("g",))


# ================================================================ ReturnValues

def test_updated_old_and_new_top_level():
    u = update("SET a = :v, n = n + :one REMOVE r, absent", values={":v": "A", ":one": N(1)})
    old = {"pk": "k", "a": "a0", "n": N(1), "r": "gone", "other": N(9)}
    new = u.apply(old, True)
    assert u.updated_old(old) == {"a": "a0", "n": N(1), "r": "gone"}
    assert u.updated_new(new) == {"a": "A", "n": N(2)}


def test_updated_values_keep_nesting():
    u = update("SET a.c[1] = :v", values={":v": "X"})
    old = {"a": {"b": N(1), "c": ["p", "q", "r"]}}
    new = u.apply(old, True)
    assert u.updated_old(old) == {"a": {"c": ["q"]}}
    assert u.updated_new(new) == {"a": {"c": ["X"]}}


def test_updated_new_omits_an_element_appended_past_the_end():
    u = update("SET a.c[100] = :v", values={":v": "X"})
    old = {"a": {"c": ["p"]}}
    new = u.apply(old, True)
    assert new == {"a": {"c": ["p", "X"]}}
    assert u.updated_old(old) == {}
    assert u.updated_new(new) == {}


def test_updated_new_shows_the_element_shifted_into_a_removed_index():
    u = update("REMOVE a.c[1]")
    old = {"a": {"c": ["p", "q", "r"]}}
    new = u.apply(old, True)
    assert u.updated_old(old) == {"a": {"c": ["q"]}}
    assert u.updated_new(new) == {"a": {"c": ["r"]}}


def test_updated_old_of_paths_that_did_not_exist_is_empty():
    u = update("SET a = :v", values={":v": N(1)})
    assert u.updated_old({"pk": "k"}) == {}
