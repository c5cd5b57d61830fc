"""Per-customer order summaries: a derived view kept current by a DynamoDB Streams consumer.

The table has a stream (``NEW_AND_OLD_IMAGES``, schema.py).  Every change
of an order item is a stream record: an INSERT when it is placed, a MODIFY
when its status moves.  :class:`SummaryProjector` reads the stream through
the DynamoDB Streams API (``describe_stream``, ``get_shard_iterator``,
``get_records``), the one interface kvstore embedded
(``db.client("dynamodbstreams")``), ``kvstore serve`` and DynamoDB all
answer, and folds each order change into the customer's summary item::

    CUSTOMER#<id>  SUMMARY   orders, placed, shipped, delivered, cancelled, spent_cents, last_order_at

How it stays correct:

* **Lineage**: a stream is split in shards that roll over (DynamoDB about
  every four hours); a shard is read only once its parent is read to its
  end, so a customer's changes are applied in the order they happened.
* **Exactly-once effect from at-least-once delivery**: a record is applied in
  one transaction with the shard's checkpoint item
  (``STREAM#summaries / SHARD#<shard id>``, the last applied sequence number),
  whose condition refuses a record at or before the checkpoint.  A record
  delivered twice (a restart, a retry after a timeout) changes nothing the
  second time.  Records that are not order changes (lines, profiles, the
  summaries themselves) need no write at all.
* **Restarts**: a projector starts each shard after its checkpoint
  (``AFTER_SEQUENCE_NUMBER``), or at ``TRIM_HORIZON`` if it has none; data
  trimmed past the 24-hour retention restarts at the horizon.

``poll()`` does one pass over every shard and returns how many order changes
it applied; the service runs it every ``interval`` seconds on a thread
(:meth:`start`), a test calls it when it wants the view current.
"""

import logging
import threading
from decimal import Decimal

from examples.orders import keys
from examples.orders.backend import Backend, error_code
from examples.orders.items import public, to_int

log = logging.getLogger("orders.summaries")

SUMMARY = "SUMMARY"
CHECKPOINT_PK = "STREAM#summaries"
STATUSES = ("PLACED", "SHIPPED", "DELIVERED", "CANCELLED")
#: sequence numbers are decimal strings of up to 40 digits; padded, they compare as strings
_SEQ_DIGITS = 40


def summary_key(customer_id):
    return {keys.PK: keys.customer_pk(customer_id), keys.SK: SUMMARY}


def empty_summary(customer_id):
    return {"customer_id": customer_id, "orders": 0, "spent_cents": 0,
            **{status.lower(): 0 for status in STATUSES}}


class Summaries(Backend):
    """Reading a customer's summary (the part of the store the HTTP API calls)."""

    def get_summary(self, customer_id):
        """The customer's order summary (zeros before their first order); NotFound for an unknown customer."""
        item = self._conn.table.get_item(Key=summary_key(customer_id), ConsistentRead=True).get("Item")
        if item is None:
            self._get(keys.customer(customer_id), "customer", customer_id)
            return empty_summary(customer_id)
        return dict(empty_summary(customer_id), **public(item))


class SummaryProjector(Backend):
    """The stream consumer that keeps the summaries current (see the module docstring).

    ``streams`` is a DynamoDB Streams client (boto3's ``dynamodbstreams``
    client, or kvstore's ``db.client("dynamodbstreams")``); ``resource`` as
    for the store.
    """

    def __init__(self, resource, streams, table_name, **options):
        super().__init__(resource, table_name, **options)
        self.streams = streams
        self._iterators = {}          # shard id -> next iterator (None once a closed shard is read to its end)
        self._stop = threading.Event()
        self._thread = None

    # -- reading the stream ----------------------------------------------------------------

    def poll(self):
        """Read every shard (parents first) as far as it goes now; return the order changes applied."""
        arn = self._conn.resource.meta.client.describe_table(TableName=self.table_name)["Table"].get("LatestStreamArn")
        if arn is None:
            return 0
        shards = self._shards(arn)
        finished = {shard_id for shard_id, it in self._iterators.items() if it is None}
        applied = 0
        progress = True
        while progress:                               # a parent finished in this pass frees its children
            progress = False
            for shard in shards:
                shard_id = shard["ShardId"]
                parent = shard.get("ParentShardId")
                if shard_id in finished or (parent in {s["ShardId"] for s in shards} and parent not in finished):
                    continue
                applied += self._read_shard(arn, shard_id)
                if self._iterators.get(shard_id, "") is None:
                    finished.add(shard_id)
                    progress = True
        return applied

    def _shards(self, arn):
        shards, start = [], None
        while True:
            request = {"StreamArn": arn} if start is None else {"StreamArn": arn, "ExclusiveStartShardId": start}
            description = self.streams.describe_stream(**request)["StreamDescription"]
            shards += description["Shards"]
            start = description.get("LastEvaluatedShardId")
            if start is None:
                return shards

    def _read_shard(self, arn, shard_id):
        iterator = self._iterators.get(shard_id) or self._start(arn, shard_id)
        applied = 0
        while iterator is not None:
            try:
                page = self.streams.get_records(ShardIterator=iterator, Limit=1000)
            except self.streams.exceptions.ClientError as e:
                if error_code(e) not in ("ExpiredIteratorException", "TrimmedDataAccessException"):
                    raise
                iterator = self._start(arn, shard_id)          # from the checkpoint again
                continue
            for record in page["Records"]:
                applied += self._apply(shard_id, record)
            iterator = page.get("NextShardIterator")
            if not page["Records"]:
                break                                          # open shard, nothing new: until next poll
        self._iterators[shard_id] = iterator
        return applied

    def _start(self, arn, shard_id):
        """An iterator after the shard's checkpoint, or at its oldest record."""
        checkpoint = self._conn.table.get_item(Key=_checkpoint_key(shard_id), ConsistentRead=True).get("Item")
        request = {"StreamArn": arn, "ShardId": shard_id, "ShardIteratorType": "TRIM_HORIZON"}
        if checkpoint is not None:
            request.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER",
                           SequenceNumber=checkpoint["sequence"].lstrip("0") or "0")
        try:
            return self.streams.get_shard_iterator(**request)["ShardIterator"]
        except self.streams.exceptions.ClientError as e:
            if error_code(e) != "TrimmedDataAccessException":
                raise
            request.update(ShardIteratorType="TRIM_HORIZON")
            request.pop("SequenceNumber")
            return self.streams.get_shard_iterator(**request)["ShardIterator"]

    # -- folding a change into the view ---------------------------------------------------------

    def _apply(self, shard_id, record):
        """Apply one stream record; 1 if it was an order change applied now, else 0."""
        change = _order_change(record)
        if change is None:
            return 0
        customer_id, adds, last_order_at = change
        names, values, parts = {}, {}, []
        for n, (attribute, delta) in enumerate(adds.items()):
            names[f"#a{n}"] = attribute
            values[f":a{n}"] = delta
            parts.append(f"#a{n} :a{n}")
        update = "ADD " + ", ".join(parts)
        update += " SET customer_id = :cid"
        values[":cid"] = customer_id
        if last_order_at is not None:
            update += ", last_order_at = :last"
            values[":last"] = last_order_at
        sequence = record["dynamodb"]["SequenceNumber"].zfill(_SEQ_DIGITS)
        actions = [
            {"Update": {"TableName": self.table_name, "Key": summary_key(customer_id), "UpdateExpression": update,
                        "ExpressionAttributeNames": names, "ExpressionAttributeValues": values}},
            {"Put": {"TableName": self.table_name, "Item": dict(_checkpoint_key(shard_id), sequence=sequence),
                     "ConditionExpression": "attribute_not_exists(PK) OR #seq < :seq",
                     "ExpressionAttributeNames": {"#seq": "sequence"},
                     "ExpressionAttributeValues": {":seq": sequence}}},
        ]
        reasons = self._retrying(lambda: self._transact(actions) or [])
        if reasons and reasons[1].get("Code") == "ConditionalCheckFailed":
            return 0                                   # delivered again: applied before
        if reasons:
            raise RuntimeError(f"summary update refused: {reasons}")
        return 1

    # -- running in the service ---------------------------------------------------------------------

    def start(self, interval=1.0):
        """Poll every ``interval`` seconds on a daemon thread until :meth:`stop`."""
        def loop():
            while not self._stop.wait(interval):
                try:
                    self.poll()
                except Exception:                      # keep going: the next poll starts from the checkpoint
                    log.exception("order summaries: poll failed")
        self._thread = threading.Thread(target=loop, name="order-summaries", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        if self._thread is not None:
            self._thread.join()


def _checkpoint_key(shard_id):
    return {keys.PK: CHECKPOINT_PK, keys.SK: f"SHARD#{shard_id}"}


def _number(value):
    return to_int(Decimal(value["N"]))


def _order_change(record):
    """``(customer_id, {attribute: delta}, last_order_at or None)`` for a change of an order item, else None."""
    body = record["dynamodb"]
    new, old = body.get("NewImage"), body.get("OldImage")
    image = new or old
    if image is None or image.get("type", {}).get("S") != "order":
        return None
    customer_id = image["customer_id"]["S"]
    total = _number(image["total_cents"])
    event = record["eventName"]
    if event == "INSERT":
        return customer_id, {"orders": 1, new["status"]["S"].lower(): 1, "spent_cents": total}, new["placed_at"]["S"]
    if event == "REMOVE":
        status = old["status"]["S"]
        return customer_id, {"orders": -1, status.lower(): -1,
                             "spent_cents": 0 if status == "CANCELLED" else -total}, None
    before, after = old["status"]["S"], new["status"]["S"]
    if before == after:
        return None
    adds = {before.lower(): -1, after.lower(): 1}
    if after == "CANCELLED":
        adds["spent_cents"] = -total
    return customer_id, adds, None
