"""Errors: one exception class per DynamoDB code, carrying code, message, HTTP status and a botocore-shaped
``.response``; raised by every face the way boto3 users catch them."""

import pickle

import pytest

import kvstore
from kvstore import errors

from .helpers import ERROR_TYPES, raises, unique_name

CATALOGUE = {  # reference 4.1: code -> HTTP status
    "ValidationException": 400, "SerializationException": 400, "UnknownOperationException": 400,
    "ResourceNotFoundException": 400, "ResourceInUseException": 400, "ConditionalCheckFailedException": 400,
    "TransactionCanceledException": 400, "TransactionConflictException": 400,
    "TransactionInProgressException": 400, "IdempotentParameterMismatchException": 400,
    "ItemCollectionSizeLimitExceededException": 400, "LimitExceededException": 400,
    "ProvisionedThroughputExceededException": 400, "ThrottlingException": 400, "RequestLimitExceeded": 400,
    "DuplicateItemException": 400, "TableNotFoundException": 400, "TableAlreadyExistsException": 400,
    "BackupNotFoundException": 400, "BackupInUseException": 400, "ExpiredIteratorException": 400,
    "TrimmedDataAccessException": 400, "AccessDeniedException": 400, "MissingAuthenticationTokenException": 400,
    "IncompleteSignatureException": 400, "InvalidSignatureException": 400, "UnrecognizedClientException": 400,
    "InternalServerError": 500,
}
RETRYABLE = {"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded",
             "InternalServerError"}


# -- the classes ------------------------------------------------------------------------------------

@pytest.mark.parametrize("code, status", sorted(CATALOGUE.items()))
def test_one_class_per_code(code, status):
    """kvstore.errors has a class named after every DynamoDB error code, with its HTTP status."""
    cls = getattr(errors, code)
    e = cls("some message")
    assert isinstance(e, errors.ClientError) and isinstance(e, errors.DynamoDBError) and isinstance(e, Exception)
    assert (e.code, e.message, e.status) == (code, "some message", status)


@pytest.mark.parametrize("code, status", sorted(CATALOGUE.items()))
def test_botocore_shaped_response(code, status):
    """``.response`` has botocore's shape: Error.Code, Error.Message, ResponseMetadata.HTTPStatusCode."""
    response = getattr(errors, code)("text").response
    assert response["Error"] == {"Code": code, "Message": "text"}
    assert response["ResponseMetadata"]["HTTPStatusCode"] == status


@pytest.mark.parametrize("code", sorted(CATALOGUE))
def test_retryable_codes(code):
    """Throttling and server errors are the retryable ones (as botocore treats them)."""
    assert getattr(errors, code).retryable == (code in RETRYABLE)


def test_extra_members_at_the_top_of_the_response():
    """Extra body members (Item, CancellationReasons) sit at the top level of ``.response``, like botocore's."""
    e = errors.TransactionCanceledException("cancelled", CancellationReasons=[{"Code": "None"}])
    assert e.response["CancellationReasons"] == [{"Code": "None"}]
    e = errors.ConditionalCheckFailedException("The conditional request failed", Item={"pk": "a"})
    assert e.response["Item"] == {"pk": "a"}


def test_errors_pickle():
    """Errors survive pickling (multiprocessing, logging handlers) with code, message and extras."""
    e = pickle.loads(pickle.dumps(errors.TransactionCanceledException("m", CancellationReasons=[{"Code": "None"}])))
    assert type(e) is errors.TransactionCanceledException
    assert (e.code, e.message, e.response["CancellationReasons"]) == ("TransactionCanceledException", "m",
                                                                     [{"Code": "None"}])


def test_top_level_exports():
    """The common classes are importable from kvstore itself."""
    for name in ("ClientError", "ValidationException", "ConditionalCheckFailedException", "ResourceNotFoundException",
                 "ResourceInUseException", "TransactionCanceledException"):
        assert getattr(kvstore, name) is getattr(errors, name)


# -- errors raised through a database ------------------------------------------------------------------

def test_raised_error_has_code_message_and_status(db):
    """An operation's error carries the code, DynamoDB's message and HTTP 400."""
    with raises("ResourceNotFoundException", "Requested resource not found") as excinfo:
        db.Table(unique_name()).get_item(Key={"pk": "a"})
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_str_is_botocores(db):
    """str(e) reads like botocore's ClientError: 'An error occurred (Code) when calling the Op operation: msg'."""
    with pytest.raises(ERROR_TYPES) as excinfo:
        db.Table(unique_name()).get_item(Key={"pk": "a"})
    assert str(excinfo.value) == ("An error occurred (ResourceNotFoundException) when calling the GetItem operation: "
                                  "Requested resource not found")
    assert excinfo.value.operation_name == "GetItem"


def test_catch_through_client_exceptions(db, hash_table):
    """``db.meta.client.exceptions.<Code>`` catches that error, as with boto3."""
    hash_table.put_item(Item={"pk": "a"})
    with pytest.raises(db.meta.client.exceptions.ConditionalCheckFailedException):
        hash_table.put_item(Item={"pk": "a"}, ConditionExpression="attribute_not_exists(pk)")
    with pytest.raises(db.meta.client.exceptions.ResourceNotFoundException):
        db.Table(unique_name()).get_item(Key={"pk": "a"})


def test_other_codes_are_not_caught_by_a_specific_class(db):
    """A ValidationException is not a ResourceNotFoundException."""
    with pytest.raises(ERROR_TYPES) as excinfo:
        db.Table("a!b").get_item(Key={"pk": "a"})
    assert not isinstance(excinfo.value, db.meta.client.exceptions.ResourceNotFoundException)
    assert isinstance(excinfo.value, db.meta.client.exceptions.ClientError)


def test_conditional_check_failed_carries_the_item(db, hash_table):
    """ReturnValuesOnConditionCheckFailure=ALL_OLD puts Item at the top level of the error response."""
    hash_table.put_item(Item={"pk": "a", "v": 1})
    with raises("ConditionalCheckFailedException", "The conditional request failed") as excinfo:
        hash_table.put_item(Item={"pk": "a"}, ConditionExpression="attribute_not_exists(pk)",
                            ReturnValuesOnConditionCheckFailure="ALL_OLD")
    assert "Item" in excinfo.value.response


def test_transaction_cancelled_carries_reasons(db, hash_table):
    """TransactionCanceledException has CancellationReasons at the top level."""
    from .helpers import transact_write
    hash_table.put_item(Item={"pk": "a"})
    with raises("TransactionCanceledException") as excinfo:
        transact_write(db, TransactItems=[{"ConditionCheck": {"TableName": hash_table.name, "Key": {"pk": "a"},
                                                              "ConditionExpression": "attribute_not_exists(pk)"}}])
    assert excinfo.value.response["CancellationReasons"] == [
        {"Code": "ConditionalCheckFailed", "Message": "The conditional request failed"}]


def test_embedded_errors_are_kvstore_classes():
    """The embedded API raises kvstore's own classes (so ``except kvstore.ValidationException`` works)."""
    with kvstore.open(":memory:") as database:
        with pytest.raises(kvstore.ResourceNotFoundException) as excinfo:
            database.Table("missing-table").get_item(Key={"pk": "a"})
    assert type(excinfo.value) is errors.ResourceNotFoundException
