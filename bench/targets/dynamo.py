"""Targets spoken to through boto3's Table-resource API: kvstore embedded
(``kvstore.open``), boto3 in-process hooks (``kvstore.testing.mock_dynamodb``,
moto) and boto3 over HTTP to any DynamoDB-compatible endpoint.

One session class serves them all, so they execute the very same calls; the
only branch is TransactWriteItems, which boto3's resource layer lacks (boto3
users call ``resource.meta.client``, which the resource has taught to take
native values; kvstore's database object has the method itself).
"""

import time

from .base import ConditionFailed, Session, Target

_COND_ERRORS = ("ConditionalCheckFailedException", "TransactionCanceledException")


def _wire_value(v):
    if isinstance(v, str):
        return {"S": v}
    if isinstance(v, bool):
        return {"BOOL": v}
    if isinstance(v, (int, float)) or type(v).__name__ == "Decimal":
        return {"N": str(v)}
    raise TypeError("bench items hold only strings and numbers, not %r" % type(v))


def wire_item(item):
    """DynamoDB JSON of a bench item (strings and numbers only)."""
    return {k: _wire_value(v) for k, v in item.items()}


def _error_code(exc):
    code = getattr(exc, "response", {}).get("Error", {}).get("Code")
    return code or type(exc).__name__


class TableSession(Session):
    """Operations through ``Table``-resource calls with native values."""

    def __init__(self, db, tables, native_transactions):
        self.db = db
        self.items_name = tables["items"]
        self.users_name = tables["usertable"]
        self.items = db.Table(self.items_name)
        self.users = db.Table(self.users_name)
        self.native_transactions = native_transactions
        self.scan_from = None

    # items -----------------------------------------------------------------
    def prepare_get(self, pk, sk):
        return {"pk": pk, "sk": sk}

    def op_get(self, key):
        return self.items.get_item(Key=key).get("Item")

    def op_put(self, item):
        self.items.put_item(Item=item)

    def prepare_update_conditional(self, pk, sk):
        return {
            "Key": {"pk": pk, "sk": sk},
            "UpdateExpression": "SET cnt = cnt + :one",
            "ConditionExpression": "attribute_exists(pk) AND cnt < :max",
            "ExpressionAttributeValues": {":one": 1, ":max": 10**12},
        }

    def op_update_conditional(self, kwargs):
        try:
            self.items.update_item(**kwargs)
        except Exception as exc:
            if _error_code(exc) in _COND_ERRORS:
                raise ConditionFailed(kwargs["Key"]) from exc
            raise

    def prepare_query(self, pk, sk, limit):
        return {
            "KeyConditionExpression": "pk = :p AND sk >= :s",
            "ExpressionAttributeValues": {":p": pk, ":s": sk},
            "Limit": limit,
        }

    def op_query(self, kwargs):
        return self.items.query(**kwargs)["Items"]

    def op_scan_page(self, limit):
        if self.scan_from is None:
            page = self.items.scan(Limit=limit)
        else:
            page = self.items.scan(Limit=limit, ExclusiveStartKey=self.scan_from)
        self.scan_from = page.get("LastEvaluatedKey")
        return page["Items"]

    def prepare_batch_write(self, items):
        return {self.items_name: [{"PutRequest": {"Item": i}} for i in items]}

    def op_batch_write(self, request):
        while request:
            request = self.db.batch_write_item(RequestItems=request).get("UnprocessedItems")

    def prepare_transact(self, a, b):
        def update(key, expression):
            return {
                "Update": {
                    "TableName": self.items_name,
                    "Key": {"pk": key[0], "sk": key[1]},
                    "UpdateExpression": expression,
                    "ConditionExpression": "attribute_exists(pk)",
                    "ExpressionAttributeValues": {":one": 1},
                }
            }

        # Native values for both: boto3's resource registers its type
        # serializer on ``meta.client`` too.
        return [update(a, "SET cnt = cnt - :one"), update(b, "SET cnt = cnt + :one")]

    def op_transact(self, items):
        try:
            if self.native_transactions:
                self.db.transact_write_items(TransactItems=items)
            else:
                self.db.meta.client.transact_write_items(TransactItems=items)
        except Exception as exc:
            if _error_code(exc) in _COND_ERRORS:
                raise ConditionFailed(items) from exc
            raise

    def prepare_gsi_query(self, grp, limit):
        return {
            "IndexName": "by_group",
            "KeyConditionExpression": "grp = :g",
            "ExpressionAttributeValues": {":g": grp},
            "Limit": limit,
        }

    def op_gsi_query(self, kwargs):
        return self.items.query(**kwargs)["Items"]

    # usertable -------------------------------------------------------------
    def prepare_read(self, key):
        return {"ycsb_key": key}

    def op_read(self, key):
        return self.users.get_item(Key=key).get("Item")

    def prepare_update(self, key, field, value):
        return {
            "Key": {"ycsb_key": key},
            "UpdateExpression": "SET %s = :v" % field,
            "ExpressionAttributeValues": {":v": value},
        }

    def op_update(self, kwargs):
        self.users.update_item(**kwargs)

    def prepare_insert(self, key, record):
        return record

    def op_insert(self, record):
        self.users.put_item(Item=record)

    def prepare_scan(self, key, length):
        # YCSB's DynamoDB binding: a Scan from the start key, Limit = length.
        return {"ExclusiveStartKey": {"ycsb_key": key}, "Limit": length}

    def op_scan(self, kwargs):
        return self.users.scan(**kwargs)["Items"]

    def prepare_rmw(self, key, field, value):
        return {"ycsb_key": key}, self.prepare_update(key, field, value)

    def op_rmw(self, arg):
        self.users.get_item(Key=arg[0])
        self.users.update_item(**arg[1])


def load_with_resource(db, table_name, records):
    """Bulk load through the resource's batch writer (BatchWriteItem x 25)."""
    with db.Table(table_name).batch_writer() as writer:
        for r in records:
            writer.put_item(Item=r)


def create_tables(db, data, table_name, wait=False):
    kwargs = data.create_table_kwargs(table_name)
    table = db.create_table(**kwargs)
    if wait:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            status = db.meta.client.describe_table(TableName=table_name)["Table"]["TableStatus"]
            if status == "ACTIVE":
                break
            time.sleep(0.5)
    return table


class Boto3Mixin:
    """boto3 resource construction shared by the boto3-based targets."""

    region = "us-east-1"

    def resource(self, endpoint_url=None):
        import boto3
        from botocore.config import Config

        session = boto3.session.Session(
            aws_access_key_id=self.options.get("aws_access_key_id") or "bench",
            aws_secret_access_key=self.options.get("aws_secret_access_key") or "bench",
            region_name=self.options.get("region") or self.region,
        )
        # No retries: a benchmark must see failures, not back off and hide them.
        config = Config(retries={"max_attempts": 1, "mode": "standard"}, max_pool_connections=64,
                        connect_timeout=10, read_timeout=30)
        return session.resource("dynamodb", endpoint_url=endpoint_url, config=config)

    def boto3_info(self):
        import boto3
        import botocore

        return {"boto3": boto3.__version__, "botocore": botocore.__version__}


class Boto3EndpointTarget(Boto3Mixin, Target):
    """boto3's Table resource over HTTP to a DynamoDB-compatible endpoint."""

    kind = "endpoint"
    remote = True

    def __init__(self, workdir, options=None, endpoint=None, name="endpoint-boto3", prefix="kvbench_",
                 kind="endpoint", description=None):
        super().__init__(workdir, options)
        self.endpoint = endpoint
        self.name = name
        self.kind = kind
        self.prefix = prefix
        self.description = description or "boto3 Table resource -> %s" % endpoint
        self.durability = "whatever the endpoint provides"
        self.tables = {"items": prefix + "items", "usertable": prefix + "usertable"}
        self.owned = set()

    def shared_key(self):
        return self.endpoint

    def setup(self, data):
        db = self.resource(self.endpoint)
        name = self.tables[data.name]
        client = db.meta.client
        try:
            client.delete_table(TableName=name)
            client.get_waiter("table_not_exists").wait(TableName=name, WaiterConfig={"Delay": 1})
        except client.exceptions.ResourceNotFoundException:
            pass
        create_tables(db, data, name, wait=True)
        self.owned.add(name)

    def load(self, data, records):
        load_with_resource(self.resource(self.endpoint), self.tables[data.name], records)

    def attach(self, data):
        pass

    def session(self):
        return TableSession(self.resource(self.endpoint), self.tables, native_transactions=False)

    def close(self, clean=True):
        if self.owned and not self.options.get("keep_tables"):
            client = self.resource(self.endpoint).meta.client
            for name in self.owned:
                try:
                    client.delete_table(TableName=name)
                except Exception:
                    pass
        self.owned.clear()

    def info(self):
        return dict(self.boto3_info(), endpoint=self.endpoint)


class Boto3InProcessTarget(Boto3Mixin, Target):
    """boto3 with an in-process stand-in for the service: kvstore's botocore
    hook (no socket) or moto.  Requests still go through botocore's whole
    serialize / parse path."""

    def __init__(self, workdir, options=None, hook="kvstore"):
        super().__init__(workdir, options)
        self.hook = hook
        self.loader = None
        if hook == "kvstore":
            import kvstore
            import kvstore.testing

            self.name = "kvstore-mock"
            self.kind = "kvstore"
            self.description = "boto3 Table resource -> kvstore.testing.mock_dynamodb() (in-process hook, in memory)"
            self.durability = "none (in memory)"
            # The hook serves a database we hold, so loading can skip botocore
            # (4000 BatchWriteItem calls through it take a minute).
            self.loader = kvstore.open(":memory:")
            self.context = kvstore.testing.mock_dynamodb(self.loader)
        else:
            import moto

            self.name = "moto"
            self.kind = "baseline"
            self.description = "boto3 Table resource -> moto %s mock_aws (in-process)" % moto.__version__
            self.durability = "none (in memory)"
            self.context = moto.mock_aws()
        self.context.__enter__()
        self.tables = {"items": "bench_items", "usertable": "usertable"}
        self.db = self.resource()

    def setup(self, data):
        create_tables(self.db, data, self.tables[data.name])

    def load(self, data, records):
        load_with_resource(self.loader or self.db, self.tables[data.name], records)

    def session(self):
        return TableSession(self.resource(), self.tables, native_transactions=False)

    def close(self, clean=True):
        if self.context is not None:
            self.context.__exit__(None, None, None)
            self.context = None
        if self.loader is not None:
            self.loader.close()
            self.loader = None

    def info(self):
        out = self.boto3_info()
        if self.hook == "kvstore":
            import kvstore

            out["kvstore"] = getattr(kvstore, "__version__", "?")
            out["implementation"] = getattr(kvstore, "implementation", "?")
        else:
            import moto

            out["moto"] = moto.__version__
        return out
