"""Malformed calls of the embedded API and through the boto3 hook (issue 14, item 1).

The generator of ``malformed.py`` builds keyword arguments for every
operation from botocore's model (Python values where attribute values go,
objects of any type where they should not).  Every call must end in one of
what boto3 itself raises: success, a DynamoDB error, botocore's
``ParamValidationError`` (or another error of botocore's own, through the
hook), or the TypeError of boto3's attribute-value serializer; never an
exception from inside kvstore.  The embedded API is
compared with boto3 (its resource client, client-side validation on, through
the hook to a twin database): where one raises ParamValidationError for a
wrong type or an unknown member, the other raises it with the same message.
"""

import os
import re
import sys
import traceback
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import kvstore
from kvstore.errors import DynamoDBError, ParamValidationError
from kvstore.operations import ACTIONS as _ALL, OPERATIONS, STREAMS, module_name

sys.path.insert(0, os.path.dirname(__file__))
import malformed  # noqa: E402

boto3 = pytest.importorskip("boto3")
import botocore.exceptions  # noqa: E402

ACTIONS = sorted(_ALL)
KVSTORE_DIR = os.path.dirname(kvstore.__file__) + os.sep
EXAMPLES = int(os.environ.get("KVSTORE_MALFORMED_EXAMPLES", "100"))
# boto3's TypeSerializer: the TypeErrors it raises for a Python value it cannot send
_SERIALIZER = re.compile(r"^(Unsupported type \"<class '.*'>\" for value .*|Float types are not supported\. "
                         r"Use Decimal types instead\.)$", re.S)


def _service(action):
    return "dynamodbstreams" if OPERATIONS[action].target_prefix == STREAMS else "dynamodb"


def _ensure_table(db):
    client = db.client()
    if malformed.TABLE not in client.list_tables()["TableNames"]:
        client.create_table(
            TableName=malformed.TABLE, BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                  {"AttributeName": "sk", "AttributeType": "N"}])
        client.put_item(TableName=malformed.TABLE, Item={"pk": "a", "sk": 1, "n": 5})


def _outcome(call, kwargs, boto3_call=False):
    """``(kind, text)`` of one call: ``ok``, a DynamoDB error code, ``param`` (ParamValidationError),
    ``serializer`` (boto3's TypeError), or (``boto3_call``) ``botocore`` / ``boto3`` for an error raised by
    boto3's own code before the request reaches kvstore; any other exception fails the test."""
    try:
        call(**kwargs)
    except ParamValidationError as e:              # kvstore's (also botocore's when it is installed)
        return "param", re.sub(r"0x[0-9a-f]+", "0x", str(e))
    except botocore.exceptions.ParamValidationError as e:
        return "param", re.sub(r"0x[0-9a-f]+", "0x", str(e))
    except DynamoDBError as e:
        return e.code, e.message
    except botocore.exceptions.ClientError as e:
        return e.response["Error"]["Code"], e.response["Error"]["Message"]
    except botocore.exceptions.BotoCoreError as e:   # boto3 only: e.g. EndpointResolutionError for a table
        return "botocore", str(e)                    # name of the wrong type, before its parameter check
    except Exception as e:   # a TypeError, AttributeError, KeyError, ...
        if type(e) is TypeError and _SERIALIZER.match(str(e)):
            return "serializer", re.sub(r"0x[0-9a-f]+", "0x", str(e))
        frames = traceback.extract_tb(e.__traceback__)
        if boto3_call and not any(f.filename.startswith(KVSTORE_DIR) for f in frames):
            return "boto3", f"{type(e).__name__}: {e}"      # boto3's own failure, before kvstore is reached
        raise AssertionError(f"{type(e).__name__} from {frames[-1].filename}: {e}\n"
                             f"{''.join(traceback.format_exc())}") from None
    return "ok", ""


# PartiQL Parameters: the embedded API takes Python values there (boto3's resource client sends them as
# given, as DynamoDB JSON), so what either says of them is its own: {5: "x"} is a map with a number for a
# name to one, an attribute value with an unknown member "5" to the other
_PARAMETERS = re.compile(r"^(Invalid type for parameter|Unknown parameter in) (\w+\[\d+\]\.)?Parameters\[")


def _without_parameters(text):
    """boto3's message without its lines about PartiQL Parameters (Python values in the embedded API)."""
    return "\n".join(line for line in text.splitlines() if not _PARAMETERS.match(line))


def _type_lines(text):
    return [line for line in text.splitlines()[1:]
            if line.startswith(("Invalid type", "Unknown parameter")) and not _PARAMETERS.match(line)]


@pytest.fixture(scope="module")
def twins():
    """An embedded database and a twin behind the boto3 hook (client-side validation on)."""
    from kvstore.testing import mock_dynamodb
    embedded, hooked = kvstore.open(":memory:"), kvstore.open(":memory:")
    with mock_dynamodb(hooked):
        config = botocore.config.Config(retries={"max_attempts": 1})
        clients = {"dynamodb": boto3.resource("dynamodb", region_name="us-east-1", config=config).meta.client,
                   "dynamodbstreams": boto3.client("dynamodbstreams", region_name="us-east-1", config=config)}
        yield embedded, hooked, clients
    embedded.close()
    hooked.close()


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(rng=st.randoms(use_true_random=False), action=st.sampled_from(ACTIONS))
def test_malformed_calls_raise_what_boto3_raises(twins, rng, action):
    embedded, hooked, clients = twins
    _ensure_table(embedded)
    _ensure_table(hooked)
    service = _service(action)
    kwargs, _ = malformed.bad_request(rng, service, action, native=True)
    method = module_name(action)
    mine = _outcome(getattr(embedded.client(service), method), kwargs)
    theirs = _outcome(getattr(clients[service], method), kwargs, boto3_call=True)
    compare(mine, theirs, (action, kwargs))


def compare(mine, theirs, context):
    """The embedded API's outcome against boto3's for one call."""
    if theirs[0] in ("botocore", "boto3", "serializer") or mine[0] == "serializer":
        # boto3 stopped in its own endpoint or resource code, or its serializer refused a Python value:
        # it converts every attribute value (those of legacy members such as Expected and KeyConditions
        # too) before checking anything, the embedded API converts those as the operation reads them
        return
    if mine[0] == "param":
        assert (theirs[0], _without_parameters(theirs[1])) == (mine[0], _without_parameters(mine[1])), context
    if theirs[0] == "param" and _type_lines(theirs[1]):
        assert (mine[0], _without_parameters(mine[1])) == (theirs[0], _without_parameters(theirs[1])), context


_KEY = {"pk": "a", "sk": 1}


@pytest.mark.parametrize("method,kwargs", [
    # boto3 converts Python values in a list, not in a tuple: a tuple's values are DynamoDB JSON to it
    ("put_item", {"TableName": malformed.TABLE, "Item": {"pk": "a", "sk": 1, "n": 5},
                  "Expected": {"n": {"ComparisonOperator": "IN", "AttributeValueList": ("a",)}}}),
    ("put_item", {"TableName": malformed.TABLE, "Item": {"pk": "a", "sk": 1, "n": 5},
                  "Expected": {"n": {"ComparisonOperator": "IN", "AttributeValueList": ({"N": "5"},)}}}),
    ("put_item", {"TableName": malformed.TABLE, "Item": {"pk": "a", "sk": 1, "n": 5},
                  "Expected": {"n": {"ComparisonOperator": "IN", "AttributeValueList": ({"N": "6"},)}}}),
    ("put_item", {"TableName": malformed.TABLE, "Item": {"pk": "a", "sk": 1, "n": 5},
                  "Expected": {"n": {"ComparisonOperator": "IN", "AttributeValueList": ({"X": "5"}, 7)}}}),
    ("put_item", {"TableName": malformed.TABLE, "Item": {"pk": "a", "sk": 1, "n": 5},
                  "Expected": {"n": {"ComparisonOperator": "IN", "AttributeValueList": [5]}}}),
    ("batch_get_item", {"RequestItems": {malformed.TABLE: {"Keys": (_KEY,)}}}),
    ("batch_get_item", {"RequestItems": {malformed.TABLE: {"Keys": ({"pk": {"S": "a"}, "sk": {"N": "1"}},)}}}),
    ("execute_statement", {"Statement": f'SELECT * FROM "{malformed.TABLE}" WHERE pk = ?', "Parameters": ("a",)}),
    ("execute_statement", {"Statement": f'SELECT * FROM "{malformed.TABLE}" WHERE pk = ?',
                           "Parameters": ({"S": "a"},)}),
], ids=["native values in a tuple", "DynamoDB JSON in a tuple", "a false condition in a tuple",
        "an unknown member in a tuple", "a list", "native keys in a tuple", "DynamoDB JSON keys in a tuple",
        "native parameters in a tuple", "DynamoDB JSON parameters in a tuple"])
def test_values_in_a_tuple_are_taken_as_boto3_takes_them(twins, method, kwargs):
    embedded, hooked, clients = twins
    _ensure_table(embedded)
    _ensure_table(hooked)
    mine = _outcome(getattr(embedded.client(), method), kwargs)
    theirs = _outcome(getattr(clients["dynamodb"], method), kwargs, boto3_call=True)
    assert mine == theirs


# ------------------------------------------------------------------ the examples of the issue

@pytest.mark.parametrize("call,message", [
    (lambda db: db.Table("ttt").get_item(Key=5),
     "Invalid type for parameter Key, value: 5, type: <class 'int'>, valid types: <class 'dict'>"),
    (lambda db: db.Table("ttt").put_item(Item=[{"pk": "a"}]),
     "Invalid type for parameter Item, value: [{'pk': 'a'}], type: <class 'list'>, valid types: <class 'dict'>"),
    (lambda db: db.create_table(TableName="abc", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                                AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                                ProvisionedThroughput={"ReadCapacityUnits": "x", "WriteCapacityUnits": 1}),
     "Invalid type for parameter ProvisionedThroughput.ReadCapacityUnits, value: x, type: <class 'str'>, "
     "valid types: <class 'int'>"),
    (lambda db: db.Table("ttt").put_item(Item={"pk": "a", 1: "x"}),
     "Invalid type for parameter Item (key: 1), value: 1, type: <class 'int'>, valid types: <class 'str'>"),
    (lambda db: db.Table("ttt").query(KeyConditionExpression=5),
     "Invalid type for parameter KeyConditionExpression, value: 5, type: <class 'int'>, valid types: <class 'str'>"),
    (lambda db: db.Table("ttt").scan(Limit=None),
     "Invalid type for parameter Limit, value: None, type: <class 'NoneType'>, valid types: <class 'int'>"),
    (lambda db: db.client().update_table(TableName="ttt", GlobalSecondaryIndexUpdates=[{"Delete": "x"}]),
     "Invalid type for parameter GlobalSecondaryIndexUpdates[0].Delete, value: x, type: <class 'str'>, "
     "valid types: <class 'dict'>"),
])
def test_a_malformed_embedded_call_raises_boto3s_param_validation_error(call, message):
    with kvstore.open(":memory:") as db:
        _ensure_table(db)
        with pytest.raises(botocore.exceptions.ParamValidationError) as excinfo:
            call(db)
        assert isinstance(excinfo.value, ParamValidationError)
        assert str(excinfo.value) == "Parameter validation failed:\n" + message


def test_every_problem_boto3_reports_is_in_the_message():
    """With a wrong type, the missing members and values under a minimum are listed too, in boto3's order."""
    with kvstore.open(":memory:") as db:
        with pytest.raises(ParamValidationError) as excinfo:
            db.client().create_table(TableName="ab", KeySchema=[], ProvisionedThroughput={"ReadCapacityUnits": 0,
                                                                                          "WriteCapacityUnits": "1"})
        # (botocore's model: TableName takes a name or an ARN, min length 1; AttributeDefinitions optional)
        assert str(excinfo.value) == (
            "Parameter validation failed:\n"
            "Invalid length for parameter KeySchema, value: 0, valid min length: 1\n"
            "Invalid value for parameter ProvisionedThroughput.ReadCapacityUnits, value: 0, valid min value: 1\n"
            "Invalid type for parameter ProvisionedThroughput.WriteCapacityUnits, value: 1, type: <class 'str'>, "
            "valid types: <class 'int'>")


def test_without_a_wrong_type_dynamodbs_own_validation_answers():
    """Missing members and values under a minimum alone reach DynamoDB's checks (boto3 with
    parameter_validation=False, and the tests of DynamoDB's validation, see the same)."""
    with kvstore.open(":memory:") as db:
        _ensure_table(db)
        with pytest.raises(kvstore.errors.ValidationException):
            db.Table("ttt").scan(Limit=0)


def test_a_bool_where_a_number_belongs_is_dynamodbs_serialization_error():
    """boto3 lets ``True`` through as an int; DynamoDB refuses the JSON ``true``."""
    with kvstore.open(":memory:") as db:
        _ensure_table(db)
        with pytest.raises(kvstore.errors.SerializationException) as excinfo:
            db.Table("ttt").scan(Limit=True)
        assert excinfo.value.message == "class java.lang.Boolean can not be converted to an Integer"


def test_the_error_pickles():
    import pickle
    with kvstore.open(":memory:") as db:
        with pytest.raises(ParamValidationError) as excinfo:
            db.Table("ttt").get_item(Key=5)
    again = pickle.loads(pickle.dumps(excinfo.value))
    assert type(again) is type(excinfo.value) and str(again) == str(excinfo.value)


@pytest.mark.parametrize("method,kwargs", [
    ("put_item", {"Item": {"pk": "a", "sk": 1},
                  "Expected": {"n": {"ComparisonOperator": "IN", "AttributeValueList": ({"N": "abc"},)}}}),
    ("put_item", {"Item": {"pk": "a", "sk": 1, "n": Decimal("1e200")}, "ReturnValues": "ALL_OLD"}),
    ("get_item", {"Key": {"pk": "a", "sk": Decimal("1e200")}}),
])
def test_an_error_from_a_value_names_its_operation_as_boto3_does(twins, method, kwargs):
    """A value that does not convert raises before the operation runs: its error still reads
    ``An error occurred (<code>) when calling the <operation> operation: ...``, as every other."""
    embedded, hooked, _ = twins
    _ensure_table(embedded)
    with pytest.raises(DynamoDBError) as raised:
        getattr(embedded.Table(malformed.TABLE), method)(**kwargs)
    operation = "".join(part.title() for part in method.split("_"))
    assert raised.value.operation_name == operation
    assert str(raised.value).startswith(f"An error occurred ({raised.value.code}) when calling the {operation} "
                                        f"operation: ")


@pytest.mark.parametrize("kwargs", [
    {"TableName": malformed.TABLE, "Key": {"\udcffpk": {1: 2}}},
    {"TableName": malformed.TABLE, "Key": {"pk": "a", "sk": 1}, "ExpressionAttributeNames": {"#n": "\udcff"},
     "ProjectionExpression": "#n", "ReturnConsumedCapacity": {1: 2}},
    {"TableName": "\udcffttt", "Key": {"\udcffpk": {1: 2}}, "AttributesToGet": [], "ReturnConsumedCapacity": 5},
], ids=["a name that is not a string beside a lone surrogate", "a lone surrogate beside a wrong type",
        "found by hypothesis"])
def test_a_value_refused_for_a_lone_surrogate_still_reports_names_that_are_not_strings(twins, kwargs):
    # boto3's serializer makes every value DynamoDB JSON before its check, which then reports the
    # map's name 1 whatever else is wrong; the embedded API refused the surrogate first and missed it
    embedded, hooked, clients = twins
    _ensure_table(embedded)
    _ensure_table(hooked)
    mine = _outcome(embedded.client().get_item, kwargs)
    theirs = _outcome(clients["dynamodb"].get_item, kwargs, boto3_call=True)
    assert mine == theirs
