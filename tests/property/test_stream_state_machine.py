"""Model-based test of DynamoDB Streams: every committed write produces exactly the records a model expects.

Four tables, one per view type, receive the same random writes (Put, UpdateItem SET/REMOVE, DeleteItem,
BatchWriteItem, TransactWriteItems, conditional writes that fail, writes that change nothing), with the
clock moving so shards roll over.  A plain dict models the items; after every step each table's new records
(read in process) must be exactly the model's changes with the images of its view type, and at the end the
whole stream read through GetRecords, shard by shard, must be the same list.
"""

import hypothesis.strategies as st
from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

import kvstore
from kvstore.errors import ConditionalCheckFailedException, TransactionCanceledException

from tests.operations.stream_helpers import Clock

VIEWS = ("KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES")
PKS = st.sampled_from(["a", "b", "c", "d"])
VALUES = st.one_of(st.integers(-3, 3), st.sampled_from(["x", "y", True, None]), st.just({"m": [1, "two"]}))
ATTRS = st.dictionaries(st.sampled_from(["u", "v", "w"]), VALUES, max_size=3)


def _expected(view, name, key, old, new):
    body = {"Keys": {"pk": key}}
    if view in ("NEW_IMAGE", "NEW_AND_OLD_IMAGES") and new is not None:
        body["NewImage"] = new
    if view in ("OLD_IMAGE", "NEW_AND_OLD_IMAGES") and old is not None:
        body["OldImage"] = old
    return name, body


def _seen(record):
    body = {k: v for k, v in record["dynamodb"].items() if k in ("Keys", "NewImage", "OldImage")}
    return record["eventName"], body


class StreamModel(RuleBasedStateMachine):
    @initialize()
    def create(self):
        self.clock = Clock()
        self.db = kvstore.open(":memory:", clock=self.clock, stream_shard_seconds=50)
        self.tables = {}
        for view in VIEWS:
            self.tables[view] = self.db.create_table(
                TableName=view.lower(), KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST",
                StreamSpecification={"StreamEnabled": True, "StreamViewType": view})
        self.readers = {view: table.stream(timeout=0) for view, table in self.tables.items()}
        self.items = {}
        self.pending = []          # (key, old, new) of this step
        self.history = {view: [] for view in VIEWS}

    def teardown(self):
        if hasattr(self, "db"):
            self.db.close()

    def _change(self, key, new):
        old = self.items.get(key)
        if new is None:
            self.items.pop(key, None)
        else:
            self.items[key] = new
        if old != new or (old is not None and new is not None and _types(old) != _types(new)):
            self.pending.append((key, old, new))

    def _each(self, call):
        for table in self.tables.values():
            call(table)

    @rule(key=PKS, attrs=ATTRS)
    def put(self, key, attrs):
        item = dict(attrs, pk=key)
        self._each(lambda t: t.put_item(Item=item))
        self._change(key, item)

    @rule(key=PKS)
    def put_same(self, key):
        if key in self.items:
            item = dict(reversed(list(self.items[key].items())))       # same item, other attribute order
            self._each(lambda t: t.put_item(Item=item))

    @rule(key=PKS, name=st.sampled_from(["u", "v", "w"]), value=VALUES, remove=st.booleans())
    def update(self, key, name, value, remove):
        if remove:
            self._each(lambda t: t.update_item(Key={"pk": key}, UpdateExpression="REMOVE #n",
                                               ExpressionAttributeNames={"#n": name}))
            if key in self.items:
                new = {k: v for k, v in self.items[key].items() if k != name}
                self._change(key, new)
        else:
            self._each(lambda t: t.update_item(Key={"pk": key}, UpdateExpression="SET #n = :v",
                                               ExpressionAttributeNames={"#n": name},
                                               ExpressionAttributeValues={":v": value}))
            self._change(key, dict(self.items.get(key, {"pk": key}), **{name: value}))

    @rule(key=PKS)
    def delete(self, key):
        self._each(lambda t: t.delete_item(Key={"pk": key}))
        if key in self.items:
            self._change(key, None)

    @rule(key=PKS)
    def failed_condition(self, key):
        for table in self.tables.values():
            try:
                table.put_item(Item={"pk": key, "zzz": 1}, ConditionExpression="attribute_exists(never)")
            except ConditionalCheckFailedException:
                pass
            else:
                raise AssertionError("the condition should have failed")

    @rule(puts=st.dictionaries(PKS, ATTRS, max_size=3), deletes=st.sets(PKS, max_size=2))
    def batch(self, puts, deletes):
        deletes = deletes - set(puts)
        if not puts and not deletes:
            return
        for view, table in self.tables.items():
            requests = [{"PutRequest": {"Item": dict(a, pk=k)}} for k, a in puts.items()]
            requests += [{"DeleteRequest": {"Key": {"pk": k}}} for k in deletes]
            self.db.batch_write_item(RequestItems={table.name: requests})
        for k, a in puts.items():
            self._change(k, dict(a, pk=k))
        for k in deletes:
            if k in self.items:
                self._change(k, None)

    @rule(puts=st.dictionaries(PKS, ATTRS, min_size=1, max_size=3), fail=st.booleans())
    def transaction(self, puts, fail):
        for table in self.tables.values():
            actions = [{"Put": {"TableName": table.name, "Item": dict(a, pk=k)}} for k, a in puts.items()]
            if fail:
                actions[0]["Put"]["ConditionExpression"] = "attribute_exists(never)"
            try:
                self.db.transact_write_items(TransactItems=actions)
            except TransactionCanceledException:
                assert fail
        if not fail:
            for k, a in puts.items():
                self._change(k, dict(a, pk=k))

    @rule(seconds=st.sampled_from([1, 20, 60]))
    def time_passes(self, seconds):
        self.clock.advance(seconds)

    @invariant()
    def records_match(self):
        if not hasattr(self, "db"):
            return
        for view, reader in self.readers.items():
            got = [_seen(r) for r in reader]
            want = [_expected(view, "INSERT" if old is None else "REMOVE" if new is None else "MODIFY",
                              key, old, new) for key, old, new in self.pending]
            assert got == want, (view, got, want)
            self.history[view] += got
        self.pending = []

    @invariant()
    def whole_stream_through_get_records(self):
        if not hasattr(self, "db") or sum(len(h) for h in self.history.values()) % 7:
            return
        client = self.db.client("dynamodbstreams")
        for view, table in self.tables.items():
            arn = table.describe()["LatestStreamArn"]
            shards = client.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
            numbers, records = [], []
            for shard in shards:
                iterator = client.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"],
                                                     ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
                while iterator:
                    page = client.get_records(ShardIterator=iterator, Limit=4)
                    records += page["Records"]
                    iterator = page.get("NextShardIterator")
                    if not page["Records"]:
                        break
            numbers = [int(r["dynamodb"]["SequenceNumber"]) for r in records]
            assert numbers == sorted(set(numbers))
            assert len(records) == len(self.history[view])


def _types(item):
    return {k: type(v) for k, v in item.items()}


StreamModel.TestCase.settings = settings(max_examples=40, stateful_step_count=30, deadline=None,
                                         suppress_health_check=[HealthCheck.too_slow])
TestStreamModel = StreamModel.TestCase
