"""TransactWriteItems: up to 100 Put/Update/Delete/ConditionCheck actions applied all or nothing."""

import pytest

from .helpers import (
    cancellation_codes, create_table, index, raises, same_item, transact_write, unique_name, validation,
)

CCF = {"Code": "ConditionalCheckFailed", "Message": "The conditional request failed"}


def reasons_of(e):
    """CancellationReasons without any Item (compared separately)."""
    return [{k: v for k, v in r.items() if k != "Item"} for r in e.response["CancellationReasons"]]


def cancelled(*codes):
    return raises("TransactionCanceledException",
                  f"Transaction cancelled, please refer cancellation reasons for specific reasons [{', '.join(codes)}]")


@pytest.fixture
def table(range_table):
    range_table.put_item(Item={"pk": "a", "sk": 1, "v": 1})
    range_table.put_item(Item={"pk": "a", "sk": 2, "v": 2})
    return range_table


def item(table, pk, sk):
    return table.get_item(Key={"pk": pk, "sk": sk}).get("Item")


def test_all_four_actions_apply_together(db, table):
    """Put, Update, Delete and ConditionCheck succeed together; the response has no error."""
    response = transact_write(db, TransactItems=[
        {"Put": {"TableName": table.name, "Item": {"pk": "b", "sk": 1, "v": "new"}}},
        {"Update": {"TableName": table.name, "Key": {"pk": "a", "sk": 1}, "UpdateExpression": "SET v = v + :one",
                    "ExpressionAttributeValues": {":one": 1}}},
        {"Delete": {"TableName": table.name, "Key": {"pk": "a", "sk": 2}}},
        {"ConditionCheck": {"TableName": table.name, "Key": {"pk": "zzz", "sk": 0},
                            "ConditionExpression": "attribute_not_exists(pk)"}},
    ])
    assert "ConsumedCapacity" not in response
    assert item(table, "b", 1) == {"pk": "b", "sk": 1, "v": "new"}
    assert item(table, "a", 1)["v"] == 2
    assert item(table, "a", 2) is None
    assert item(table, "zzz", 0) is None


def test_actions_over_several_tables(db, table, hash_table):
    """A transaction may span tables."""
    transact_write(db, TransactItems=[
        {"Put": {"TableName": table.name, "Item": {"pk": "x", "sk": 1}}},
        {"Put": {"TableName": hash_table.name, "Item": {"pk": "x"}}}])
    assert item(table, "x", 1) == {"pk": "x", "sk": 1}
    assert hash_table.get_item(Key={"pk": "x"})["Item"] == {"pk": "x"}


def test_failed_condition_cancels_everything(db, table):
    """A false condition cancels the transaction: no action is applied; reasons list one code per action."""
    with cancelled("None", "ConditionalCheckFailed") as excinfo:
        transact_write(db, TransactItems=[
            {"Put": {"TableName": table.name, "Item": {"pk": "b", "sk": 1}}},
            {"Update": {"TableName": table.name, "Key": {"pk": "a", "sk": 1}, "UpdateExpression": "SET v = :v",
                        "ConditionExpression": "v = :wrong", "ExpressionAttributeValues": {":v": 5, ":wrong": 99}}}])
    assert reasons_of(excinfo.value) == [{"Code": "None"}, CCF]
    assert item(table, "b", 1) is None
    assert item(table, "a", 1)["v"] == 1


def test_every_failed_condition_is_reported(db, table):
    """Conditions are all evaluated (no short-circuit)."""
    with cancelled("None", "None", "ConditionalCheckFailed", "ConditionalCheckFailed") as excinfo:
        transact_write(db, TransactItems=[
            {"Put": {"TableName": table.name, "Item": {"pk": "c", "sk": 1}}},
            {"ConditionCheck": {"TableName": table.name, "Key": {"pk": "a", "sk": 1},
                                "ConditionExpression": "attribute_exists(v)"}},
            {"ConditionCheck": {"TableName": table.name, "Key": {"pk": "a", "sk": 2},
                                "ConditionExpression": "attribute_not_exists(v)"}},
            {"Delete": {"TableName": table.name, "Key": {"pk": "q", "sk": 1},
                        "ConditionExpression": "attribute_exists(pk)"}}])
    assert cancellation_codes(excinfo.value) == ["None", "None", "ConditionalCheckFailed", "ConditionalCheckFailed"]
    assert item(table, "c", 1) is None


def test_old_item_in_cancellation_reason(db, table):
    """ReturnValuesOnConditionCheckFailure ALL_OLD adds the item to that action's reason."""
    with cancelled("ConditionalCheckFailed") as excinfo:
        transact_write(db, TransactItems=[
            {"Put": {"TableName": table.name, "Item": {"pk": "a", "sk": 1},
                     "ConditionExpression": "attribute_not_exists(pk)",
                     "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}}])
    (reason,) = excinfo.value.response["CancellationReasons"]
    assert same_item(reason["Item"], {"pk": "a", "sk": 1, "v": 1})


def test_no_item_in_reason_without_all_old(db, table):
    """Without ALL_OLD the reason carries no Item."""
    with cancelled("ConditionalCheckFailed") as excinfo:
        transact_write(db, TransactItems=[
            {"Put": {"TableName": table.name, "Item": {"pk": "a", "sk": 1},
                     "ConditionExpression": "attribute_not_exists(pk)"}}])
    assert "Item" not in excinfo.value.response["CancellationReasons"][0]


def test_validation_error_cancels_with_later_actions_none(db, table):
    """A per-action validation problem cancels with ValidationError; later actions report None."""
    with raises("TransactionCanceledException") as excinfo:
        transact_write(db, TransactItems=[
            {"Put": {"TableName": table.name, "Item": {"pk": "ok", "sk": 1}}},
            {"Put": {"TableName": table.name, "Item": {"pk": "bad", "sk": "not a number"}}},
            {"ConditionCheck": {"TableName": table.name, "Key": {"pk": "nope", "sk": 1},
                                "ConditionExpression": "attribute_exists(pk)"}}])
    assert cancellation_codes(excinfo.value) == ["None", "ValidationError", "None"]
    assert item(table, "ok", 1) is None


def test_item_too_large_is_a_validation_error(db, table):
    """An oversized Put item cancels with ValidationError."""
    with raises("TransactionCanceledException") as excinfo:
        transact_write(db, TransactItems=[
            {"Put": {"TableName": table.name, "Item": {"pk": "big", "sk": 1, "v": "x" * 409_600}}}])
    assert cancellation_codes(excinfo.value) == ["ValidationError"]


def test_two_actions_on_one_item(db, table):
    """At most one action per item, ConditionCheck included."""
    with validation("Transaction request cannot include multiple operations on one item"):
        transact_write(db, TransactItems=[
            {"Put": {"TableName": table.name, "Item": {"pk": "a", "sk": 1}}},
            {"ConditionCheck": {"TableName": table.name, "Key": {"pk": "a", "sk": 1},
                                "ConditionExpression": "attribute_exists(pk)"}}])
    assert item(table, "a", 1)["v"] == 1


def test_two_writes_on_one_item(db, table):
    """Also for a Delete and an Update of one key."""
    with validation("Transaction request cannot include multiple operations on one item"):
        transact_write(db, TransactItems=[
            {"Delete": {"TableName": table.name, "Key": {"pk": "a", "sk": 1}}},
            {"Update": {"TableName": table.name, "Key": {"pk": "a", "sk": 1}, "UpdateExpression": "REMOVE v"}}])


def test_same_key_in_two_tables_is_fine(db, table, range_table):
    """The one-action-per-item rule is per table."""
    other = create_table(db, range_key=("sk", "N"))
    transact_write(db, TransactItems=[{"Put": {"TableName": table.name, "Item": {"pk": "k", "sk": 1}}},
                                      {"Put": {"TableName": other.name, "Item": {"pk": "k", "sk": 1}}}])


def test_action_with_two_kinds(db, table):
    """Each element holds exactly one action."""
    with validation("TransactItems can only contain one of Check, Put, Update or Delete"):
        transact_write(db, TransactItems=[{"Put": {"TableName": table.name, "Item": {"pk": "x", "sk": 1}},
                                           "Delete": {"TableName": table.name, "Key": {"pk": "y", "sk": 1}}}])


def test_empty_action(db, table):
    """An element with no action is rejected the same way."""
    with validation("TransactItems can only contain one of Check, Put, Update or Delete"):
        transact_write(db, TransactItems=[{}])


def test_empty_list(db):
    """TransactItems holds 1..100 actions."""
    with validation("1 validation error detected: Value '[]' at 'transactItems' failed to satisfy constraint: "
                    "Member must have length greater than or equal to 1"):
        transact_write(db, TransactItems=[])


def test_one_hundred_actions(db, hash_table):
    """100 actions are accepted."""
    transact_write(db, TransactItems=[{"Put": {"TableName": hash_table.name, "Item": {"pk": f"k{i}"}}}
                                      for i in range(100)])
    assert hash_table.scan()["Count"] == 100


def test_more_than_one_hundred_actions(db, hash_table):
    """101 actions are a constraint violation on transactItems."""
    with validation(startswith="1 validation error detected: Value '[",
                    endswith="]' at 'transactItems' failed to satisfy constraint: "
                             "Member must have length less than or equal to 100"):
        transact_write(db, TransactItems=[{"Put": {"TableName": hash_table.name, "Item": {"pk": f"k{i}"}}}
                                          for i in range(101)])


def test_missing_table(db, table):
    """A missing table fails the request with ResourceNotFoundException."""
    with raises("ResourceNotFoundException", "Requested resource not found"):
        transact_write(db, TransactItems=[{"Put": {"TableName": table.name, "Item": {"pk": "x", "sk": 1}}},
                                          {"Put": {"TableName": unique_name(), "Item": {"pk": "x"}}}])
    assert item(table, "x", 1) is None


def test_condition_check_needs_a_condition(db, table):
    """ConditionCheck without ConditionExpression is a request-level ValidationException."""
    with validation():
        transact_write(db, TransactItems=[{"ConditionCheck": {"TableName": table.name, "Key": {"pk": "a", "sk": 1}}}])


def test_expression_syntax_error_is_request_level(db, table):
    """Expression errors fail the whole request with ValidationException (not a cancellation)."""
    with validation(startswith="Invalid ConditionExpression: Syntax error;"):
        transact_write(db, TransactItems=[{"Put": {"TableName": table.name, "Item": {"pk": "x", "sk": 1},
                                                   "ConditionExpression": "v = = :x",
                                                   "ExpressionAttributeValues": {":x": 1}}}])


def test_unused_value_is_request_level(db, table):
    """Unused placeholders fail the whole request."""
    with validation("Value provided in ExpressionAttributeValues unused in expressions: keys: {:v}"):
        transact_write(db, TransactItems=[{"Put": {"TableName": table.name, "Item": {"pk": "x", "sk": 1},
                                                   "ConditionExpression": "attribute_not_exists(pk)",
                                                   "ExpressionAttributeValues": {":v": 1}}}])


def test_invalid_return_values_on_condition_check_failure(db, table):
    """ReturnValuesOnConditionCheckFailure other than NONE/ALL_OLD fails the request."""
    with validation():
        transact_write(db, TransactItems=[{"Put": {"TableName": table.name, "Item": {"pk": "x", "sk": 1},
                                                   "ConditionExpression": "attribute_not_exists(pk)",
                                                   "ReturnValuesOnConditionCheckFailure": "ALL_NEW"}}])


def test_key_attribute_update_is_rejected(db, table):
    """Updating a key attribute inside a transaction is rejected."""
    with raises_any_validation():
        transact_write(db, TransactItems=[{"Update": {"TableName": table.name, "Key": {"pk": "a", "sk": 1},
                                                      "UpdateExpression": "SET sk = :v",
                                                      "ExpressionAttributeValues": {":v": 5}}}])
    assert item(table, "a", 1)["v"] == 1


def raises_any_validation():
    """A per-action problem DynamoDB may report either request-level or as a ValidationError reason."""
    import contextlib

    import pytest as _pytest

    from .helpers import ERROR_TYPES, error_code

    @contextlib.contextmanager
    def block():
        with _pytest.raises(ERROR_TYPES) as excinfo:
            yield excinfo
        code = error_code(excinfo.value)
        assert code in ("ValidationException", "TransactionCanceledException"), code
        if code == "TransactionCanceledException":
            assert "ValidationError" in cancellation_codes(excinfo.value)
    return block()


# -- idempotency ---------------------------------------------------------------------------------

def test_client_request_token_makes_a_retry_idempotent(db, table):
    """A repeated call with the same ClientRequestToken succeeds without applying the writes again."""
    request = [{"Update": {"TableName": table.name, "Key": {"pk": "a", "sk": 1}, "UpdateExpression": "ADD v :one",
                           "ExpressionAttributeValues": {":one": 1}}}]
    transact_write(db, TransactItems=request, ClientRequestToken="token-1")
    transact_write(db, TransactItems=request, ClientRequestToken="token-1")
    assert item(table, "a", 1)["v"] == 2
    transact_write(db, TransactItems=request, ClientRequestToken="token-2")
    assert item(table, "a", 1)["v"] == 3


def test_same_token_different_request(db, table):
    """The same token with different parameters is IdempotentParameterMismatchException."""
    transact_write(db, TransactItems=[{"Put": {"TableName": table.name, "Item": {"pk": "t", "sk": 1}}}],
                   ClientRequestToken="token-x")
    with raises("IdempotentParameterMismatchException"):
        transact_write(db, TransactItems=[{"Put": {"TableName": table.name, "Item": {"pk": "t", "sk": 2}}}],
                       ClientRequestToken="token-x")
    assert item(table, "t", 2) is None


def test_token_longer_than_36_characters(db, table):
    """ClientRequestToken is 1..36 characters."""
    with validation(contains="clientRequestToken"):
        transact_write(db, TransactItems=[{"Put": {"TableName": table.name, "Item": {"pk": "t", "sk": 1}}}],
                       ClientRequestToken="x" * 37)


# -- response members ------------------------------------------------------------------------------

def test_consumed_capacity_is_twice_the_plain_write(db, table, hash_table):
    """Transactional writes cost twice the plain formula, reported per table."""
    response = transact_write(db, ReturnConsumedCapacity="TOTAL", TransactItems=[
        {"Put": {"TableName": table.name, "Item": {"pk": "c", "sk": 1}}},
        {"Put": {"TableName": hash_table.name, "Item": {"pk": "c"}}}])
    units = {c["TableName"]: c["CapacityUnits"] for c in response["ConsumedCapacity"]}
    assert units == {table.name: 2.0, hash_table.name: 2.0}


def test_item_collection_metrics_on_an_lsi_table(db, lsi_table):
    """ReturnItemCollectionMetrics SIZE reports per LSI table."""
    response = transact_write(db, ReturnItemCollectionMetrics="SIZE", TransactItems=[
        {"Put": {"TableName": lsi_table.name, "Item": {"pk": "a", "sk": 1}}}])
    (entry,) = response["ItemCollectionMetrics"][lsi_table.name]
    assert entry["ItemCollectionKey"] == {"pk": "a"}


def test_transaction_maintains_indexes(db, gsi_table):
    """Indexes follow transactional writes."""
    transact_write(db, TransactItems=[{"Put": {"TableName": gsi_table.name, "Item": {"pk": "a", "sk": 1, "g": "x"}}}])
    assert gsi_table.scan(IndexName="gsi_all")["Items"] == [{"pk": "a", "sk": 1, "g": "x"}]


def test_resource_client_takes_native_values(db, table):
    """boto3's resource registers its value (de)serialisation on ``meta.client``: code calls
    ``dynamodb.meta.client.transact_write_items`` with plain Python values."""
    db.meta.client.transact_write_items(TransactItems=[
        {"Put": {"TableName": table.name, "Item": {"pk": "m", "sk": 1, "v": {"nested": [1, "x"]}}}},
        {"Update": {"TableName": table.name, "Key": {"pk": "a", "sk": 1}, "UpdateExpression": "SET v = :v",
                    "ExpressionAttributeValues": {":v": 7}}}])
    assert item(table, "m", 1) == {"pk": "m", "sk": 1, "v": {"nested": [1, "x"]}}
    assert item(table, "a", 1)["v"] == 7


def test_update_needs_an_update_expression(db, table):
    """An Update action without UpdateExpression is rejected."""
    with validation():
        transact_write(db, TransactItems=[{"Update": {"TableName": table.name, "Key": {"pk": "a", "sk": 1}}}])


def test_request_over_4_mb(db, hash_table):
    """The request payload is limited to 4 MB (the items themselves may each be up to 400 KB)."""
    big = "x" * 390_000
    with validation(contains="size cannot exceed"):
        transact_write(db, TransactItems=[{"Put": {"TableName": hash_table.name, "Item": {"pk": f"k{i}", "v": big}}}
                                          for i in range(11)])
    assert hash_table.scan(Select="COUNT")["Count"] == 0


def test_deleting_big_items_in_a_small_request(db, hash_table):
    """The 4 MB limit is on the request, not on the items touched: deleting 5 MB of items is fine."""
    big = "x" * 390_000
    for i in range(13):
        hash_table.put_item(Item={"pk": f"k{i}", "v": big})
    transact_write(db, TransactItems=[{"Delete": {"TableName": hash_table.name, "Key": {"pk": f"k{i}"}}}
                                      for i in range(13)])
    assert hash_table.scan(Select="COUNT")["Count"] == 0


# -- a shape seen before (session 8) -------------------------------------------------
# The second request of a shape takes the operation's usual path (its checks and new images in the
# compiled core); whatever that path finds unusual or failing is answered by the general path, so a
# request answers the same the first time, the second time and on every face.

def counter_pair(table, first, second, floor=0):
    def update(pk, expression):
        return {"Update": {"TableName": table.name, "Key": {"pk": pk, "sk": 1}, "UpdateExpression": expression,
                           "ConditionExpression": "attribute_exists(pk) AND cnt > :floor",
                           "ExpressionAttributeValues": {":one": 1, ":floor": floor},
                           "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}}
    return [update(first, "SET cnt = cnt - :one"), update(second, "SET cnt = cnt + :one")]


def test_repeated_transfers_apply_until_a_condition_fails(dynamodb):
    """The same two conditional Updates, again and again: each call applies both, until the
    condition of the first is false; then the call cancels with its reason and the old item, and
    changes nothing."""
    table = create_table(dynamodb, hash_key=("pk", "S"), range_key=("sk", "N"))
    table.put_item(Item={"pk": "from", "sk": 1, "cnt": 3})
    table.put_item(Item={"pk": "to", "sk": 1, "cnt": 10})
    for _ in range(3):
        assert "ConsumedCapacity" not in transact_write(dynamodb, TransactItems=counter_pair(table, "from", "to"))
    assert item(table, "from", 1)["cnt"] == 0 and item(table, "to", 1)["cnt"] == 13
    for _ in range(2):
        with cancelled("ConditionalCheckFailed", "None") as excinfo:
            transact_write(dynamodb, TransactItems=counter_pair(table, "from", "to"))
        assert reasons_of(excinfo.value) == [CCF, {"Code": "None"}]
        assert same_item(excinfo.value.response["CancellationReasons"][0]["Item"], {"pk": "from", "sk": 1, "cnt": 0})
    assert item(table, "from", 1)["cnt"] == 0 and item(table, "to", 1)["cnt"] == 13


def test_repeated_shape_on_one_item_is_refused(dynamodb):
    """Two actions on one item fail the request, however often its shape was seen."""
    table = create_table(dynamodb, hash_key=("pk", "S"), range_key=("sk", "N"))
    table.put_item(Item={"pk": "a", "sk": 1, "cnt": 5})
    table.put_item(Item={"pk": "b", "sk": 1, "cnt": 5})
    transact_write(dynamodb, TransactItems=counter_pair(table, "a", "b"))
    for _ in range(2):
        with validation("Transaction request cannot include multiple operations on one item"):
            transact_write(dynamodb, TransactItems=counter_pair(table, "a", "a"))
    assert item(table, "a", 1)["cnt"] == 4


def test_repeated_update_of_a_missing_item_creates_it_or_not(dynamodb):
    """An Update of a missing item creates it from its key (a REMOVE alone creates nothing), the
    same on every call of the shape."""
    table = create_table(dynamodb, hash_key=("pk", "S"), range_key=("sk", "N"))
    for n in range(3):
        transact_write(dynamodb, TransactItems=[
            {"Update": {"TableName": table.name, "Key": {"pk": f"new{n}", "sk": n},
                        "UpdateExpression": "SET cnt = if_not_exists(cnt, :zero) + :one",
                        "ConditionExpression": "attribute_not_exists(pk)",
                        "ExpressionAttributeValues": {":zero": 0, ":one": 1}}},
            {"Update": {"TableName": table.name, "Key": {"pk": f"gone{n}", "sk": n}, "UpdateExpression": "REMOVE v"}},
            {"Delete": {"TableName": table.name, "Key": {"pk": f"never{n}", "sk": n}}}])
        assert item(table, f"new{n}", n) == {"pk": f"new{n}", "sk": n, "cnt": 1}
        assert item(table, f"gone{n}", n) is None


def test_repeated_update_of_a_key_attribute_is_a_validation_error(dynamodb):
    """An update that writes a key attribute cancels with ValidationError on every call."""
    table = create_table(dynamodb, hash_key=("pk", "S"), range_key=("sk", "N"))
    table.put_item(Item={"pk": "a", "sk": 1})
    for _ in range(2):
        with cancelled("None", "ValidationError") as excinfo:
            transact_write(dynamodb, TransactItems=[
                {"Put": {"TableName": table.name, "Item": {"pk": "b", "sk": 1}}},
                {"Update": {"TableName": table.name, "Key": {"pk": "a", "sk": 1}, "UpdateExpression": "SET sk = :v",
                            "ExpressionAttributeValues": {":v": 2}}}])
        assert excinfo.value.response["CancellationReasons"][1]["Message"] == \
            "One or more parameter values were invalid: Cannot update attribute sk. This attribute is part of the key"
    assert item(table, "b", 1) is None


def test_repeated_index_key_of_the_wrong_type_is_a_validation_error(dynamodb):
    """A Put or an Update giving a GSI key attribute a value of another type cancels with
    ValidationError on every call, naming the index."""
    table = create_table(dynamodb, hash_key=("pk", "S"), range_key=("sk", "N"), gsis=[index("by_grp", ("grp", "S"))])
    table.put_item(Item={"pk": "a", "sk": 1, "grp": "g"})
    message = ("One or more parameter values were invalid: Type mismatch for Index Key grp Expected: S Actual: N "
               "IndexName: by_grp")
    for _ in range(2):
        with cancelled("ValidationError", "None") as excinfo:
            transact_write(dynamodb, TransactItems=[
                {"Put": {"TableName": table.name, "Item": {"pk": "b", "sk": 1, "grp": 7}}},
                {"Put": {"TableName": table.name, "Item": {"pk": "c", "sk": 1, "grp": "ok"}}}])
        assert excinfo.value.response["CancellationReasons"][0]["Message"] == message
        with cancelled("None", "ValidationError") as excinfo:
            transact_write(dynamodb, TransactItems=[
                {"Put": {"TableName": table.name, "Item": {"pk": "c", "sk": 1, "grp": "ok"}}},
                {"Update": {"TableName": table.name, "Key": {"pk": "a", "sk": 1}, "UpdateExpression": "SET grp = :g",
                            "ExpressionAttributeValues": {":g": 7}}}])
        assert excinfo.value.response["CancellationReasons"][1]["Message"] == message
    assert item(table, "c", 1) is None and item(table, "a", 1)["grp"] == "g"


def test_repeated_transaction_with_consumed_capacity_reports_it(dynamodb):
    """ReturnConsumedCapacity NONE answers without it; TOTAL reports twice the units of each write,
    call after call."""
    table = create_table(dynamodb, hash_key=("pk", "S"), range_key=("sk", "N"))
    for n in range(2):
        actions = [{"Put": {"TableName": table.name, "Item": {"pk": f"p{n}", "sk": k}}} for k in range(2)]
        assert "ConsumedCapacity" not in transact_write(dynamodb, TransactItems=actions, ReturnConsumedCapacity="NONE")
        response = transact_write(dynamodb, TransactItems=actions, ReturnConsumedCapacity="TOTAL")
        assert response["ConsumedCapacity"] == [{"TableName": table.name, "CapacityUnits": 4.0,
                                                 "WriteCapacityUnits": 4.0}]
