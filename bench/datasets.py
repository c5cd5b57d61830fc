"""The two data sets every target loads: ``items`` (a DynamoDB-style table
with a sort key and a global secondary index) and ``usertable`` (YCSB's).

Both are pure functions of a record number, so every target loads the same
bytes and a workload can name any record without asking the target.
"""

import random
import string

from .distributions import ycsb_key

_POOL_SIZE = 1024


def value_pool(length, seed=7):
    """Random printable strings used for payloads and field values."""
    rng = random.Random(seed)
    letters = string.ascii_letters + string.digits
    return ["".join(rng.choices(letters, k=length)) for _ in range(_POOL_SIZE)]


class Items:
    """``bench_items``: key (pk S, sk S), GSI ``by_group`` (grp S, ts S,
    projection ALL), attributes cnt (N) and payload (S, 100 characters).

    Records come in item collections of 100 under one partition key, so a
    Query reads a sorted range; ~100 records share each GSI partition key.
    One record is ~190 bytes of attribute data.
    """

    name = "items"
    table = "bench_items"
    index = "by_group"
    collection = 100
    payload_length = 100

    def __init__(self, count):
        if count < 1:
            raise ValueError("a data set needs at least one record")
        self.count = count
        self.groups = max(1, count // 100)
        self.collections = max(1, count // self.collection)
        self.pool = value_pool(self.payload_length)

    def key(self, n):
        return "p%08d" % (n // self.collection), "s%04d" % (n % self.collection)

    def group(self, g):
        return "g%06d" % g

    def group_of(self, n):
        return self.group((n * 7919) % self.groups)

    def record(self, n, payload=None):
        pk, sk = self.key(n)
        if payload is None:
            # A fresh string per record: a store that keeps references (the
            # dict floor) must not look smaller by sharing pool strings.
            p = self.pool[n % _POOL_SIZE]
            payload = p[:-8] + "%08x" % (n & 0xFFFFFFFF)
        return {"pk": pk, "sk": sk, "grp": self.group_of(n), "ts": "%010d" % n, "cnt": 0, "payload": payload}

    def records(self, start=0, stop=None):
        for n in range(start, self.count if stop is None else stop):
            yield self.record(n)

    def create_table_kwargs(self, table=None):
        """boto3 ``create_table`` arguments for this data set."""
        return {
            "TableName": table or self.table,
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            "AttributeDefinitions": [
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
                {"AttributeName": "grp", "AttributeType": "S"},
                {"AttributeName": "ts", "AttributeType": "S"},
            ],
            "GlobalSecondaryIndexes": [
                {
                    "IndexName": self.index,
                    "KeySchema": [
                        {"AttributeName": "grp", "KeyType": "HASH"},
                        {"AttributeName": "ts", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
            "BillingMode": "PAY_PER_REQUEST",
        }

    def describe(self):
        return {
            "table": self.table,
            "records": self.count,
            "key": "pk (S, 100 records per value) + sk (S)",
            "gsi": "by_group: grp (S, ~100 records per value) + ts (S), projection ALL",
            "attributes": "cnt (N), payload (S, %d chars); ~190 bytes per record" % self.payload_length,
        }


class UserTable:
    """YCSB's ``usertable``: key ``ycsb_key`` ("user" + FNV hash of the record
    number), ten fields ``field0``..``field9`` of 100 characters (YCSB's
    defaults: fieldcount=10, fieldlength=100, so ~1 KB per record)."""

    name = "usertable"
    table = "usertable"
    key_attr = "ycsb_key"
    field_count = 10
    field_length = 100

    def __init__(self, count):
        if count < 1:
            raise ValueError("a data set needs at least one record")
        self.count = count
        self.fields = ["field%d" % i for i in range(self.field_count)]
        self.pool = value_pool(self.field_length, seed=11)
        self._keys = {}

    def key(self, keynum):
        """YCSB key of a record number, memoised: hashing costs ~2 µs and
        operation generation should not dominate a round's wall time."""
        k = self._keys.get(keynum)
        if k is None:
            k = self._keys[keynum] = ycsb_key(keynum)
        return k

    def record(self, keynum):
        pool = self.pool
        item = {self.key_attr: ycsb_key(keynum)}
        tag = "%08x" % (keynum & 0xFFFFFFFF)
        for i, f in enumerate(self.fields):
            item[f] = pool[(keynum * 10 + i) % _POOL_SIZE][:-8] + tag
        return item

    def records(self, start=0, stop=None):
        for n in range(start, self.count if stop is None else stop):
            yield self.record(n)

    def create_table_kwargs(self, table=None):
        return {
            "TableName": table or self.table,
            "KeySchema": [{"AttributeName": self.key_attr, "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": self.key_attr, "AttributeType": "S"}],
            "BillingMode": "PAY_PER_REQUEST",
        }

    def describe(self):
        return {
            "table": self.table,
            "records": self.count,
            "key": "ycsb_key (S) = 'user' + fnvhash64(record number)",
            "attributes": "field0..field9 (S, %d chars each); ~1 KB per record" % self.field_length,
        }


DATASETS = {"items": Items, "usertable": UserTable}


def make(name, count):
    return DATASETS[name](count)
