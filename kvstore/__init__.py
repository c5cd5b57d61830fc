"""kvstore: an embedded key-value store with Amazon DynamoDB's API and semantics.

>>> import kvstore
>>> db = kvstore.open(":memory:")
>>> table = db.create_table(TableName="things", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
...     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
>>> table.put_item(Item={"pk": "a", "n": 1})["ResponseMetadata"]["HTTPStatusCode"]
200
>>> table.get_item(Key={"pk": "a"})["Item"]
{'pk': 'a', 'n': Decimal('1')}
"""

from kvstore import errors
from kvstore._core import implementation
from kvstore.api import Database, Table, open
from kvstore.conditions import Attr, Key
from kvstore.engine.plans import BackupPlan
from kvstore.errors import (
    ClientError, ConditionalCheckFailedException, DynamoDBError, ResourceInUseException,
    ResourceNotFoundException, TransactionCanceledException, ValidationException,
)
from kvstore.types import Binary

__version__ = "0.1.0"

__all__ = [
    "open", "Database", "Table", "Key", "Attr", "Binary", "BackupPlan", "errors", "implementation",
    "ClientError", "DynamoDBError", "ValidationException", "ConditionalCheckFailedException",
    "ResourceNotFoundException", "ResourceInUseException", "TransactionCanceledException",
]
