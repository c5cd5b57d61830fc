"""The data layer: the only module that reads or writes the orders table.

It is written against boto3's documented DynamoDB resource API and nothing
else, so the same code runs on three backends chosen by configuration
(``config.connect``): kvstore embedded (``kvstore.open(path)``), kvstore over
the wire (``kvstore serve`` through boto3) and DynamoDB through boto3.  The
rules that make that work:

* Expressions are strings with ``#name`` / ``:value`` placeholders, the one
  form every DynamoDB-compatible API accepts, in a Table call or inside a
  transaction.
* Errors are told apart by ``e.response["Error"]["Code"]`` on the
  ``ClientError`` of ``resource.meta.client.exceptions``: botocore's on boto3,
  kvstore's on kvstore, the same shape.
* TransactWriteItems is the one call the resource lacks: :func:`transaction_writer`
  bridges it (below, and the README says why).
* boto3 resources are not thread-safe, so each thread holds its own resource
  from the ``connect`` callable (handed on to a later thread when it ends);
  kvstore's database is thread-safe and ``connect`` returns the same one.

Numbers come back from the database as ``Decimal``; everything this module
returns uses ``int`` (money is integer cents), so callers never see a Decimal.
See keys.py for the key design and README.md for the access patterns.
"""

import hashlib
import json
import random
import threading
import time
import weakref
from datetime import datetime, timezone
from decimal import Decimal

from examples.orders import cursor, keys
from examples.orders.errors import (
    AlreadyExists, Busy, IdempotencyMismatch, InvalidCursor, InvalidTransition, NotFound, OutOfStock,
    UnknownProduct, VersionConflict,
)
from examples.orders.schema import DEFAULT_TABLE

#: order statuses and the transitions between them
PLACED, SHIPPED, DELIVERED, CANCELLED = "PLACED", "SHIPPED", "DELIVERED", "CANCELLED"
STATUSES = (PLACED, SHIPPED, DELIVERED, CANCELLED)
MAX_LINES = 25                  # 2 + 2 * 25 + 1 transaction actions, well under DynamoDB's 100
MAX_PAGE = 100
IDEMPOTENCY_TTL = 24 * 3600     # seconds an Idempotency-Key is remembered (TTL attribute expires_at)

_HIDDEN = frozenset({keys.PK, keys.SK, keys.GSI1PK, keys.GSI1SK, keys.GSI2PK, keys.GSI2SK, "type"})
_RETRYABLE_REASONS = frozenset({"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"})
_RETRYABLE_CODES = frozenset({"TransactionConflictException", "ThrottlingException",
                              "ProvisionedThroughputExceededException", "RequestLimitExceeded",
                              "InternalServerError", "ServiceUnavailable"})


class _Retry(Exception):
    """Lost a race (a condition on a value that just changed, a transaction conflict): try again."""


def transaction_writer(resource):
    """``transact_write_items(TransactItems=[...])`` with native values, for either kind of resource.

    boto3's DynamoDB resource has no transaction method, kvstore's database
    has one.  boto3's way in is the resource's own client,
    ``resource.meta.client``: the resource registers its serializer on that
    client, so the request takes native values there too (a plain
    ``boto3.client("dynamodb")`` would want ``{"N": "3"}``).  What boto3 does
    not convert is the body of an error: the ``Item`` of each cancellation
    reason comes back in DynamoDB JSON, so it is deserialized here, and
    callers read ``reason["Item"]["stock"]`` as a number on every backend.
    Chosen by what the resource can do, once per resource: the only place in
    the data layer that knows two kinds exist.
    """
    native = getattr(resource, "transact_write_items", None)
    if native is not None:
        return native

    from boto3.dynamodb.types import TypeDeserializer
    deserialize = TypeDeserializer().deserialize
    client = resource.meta.client

    def transact_write_items(**kwargs):
        try:
            return client.transact_write_items(**kwargs)
        except client.exceptions.TransactionCanceledException as e:
            for reason in e.response.get("CancellationReasons") or ():
                if "Item" in reason:
                    reason["Item"] = {name: deserialize(value) for name, value in reason["Item"].items()}
            raise

    return transact_write_items


class _Connection:
    """A resource, its table and its transaction writer: used by one thread at a time."""

    def __init__(self, resource, table_name):
        self.resource = resource
        self.table = resource.Table(table_name)
        self.transact = transaction_writer(resource)


class _Lease:
    """A thread's hold on a connection; when the thread ends, the connection goes back to the pool."""

    __slots__ = ("conn", "__weakref__")

    def __init__(self, conn):
        self.conn = conn


class Store:
    """Customers, products (with their stock) and orders, in one DynamoDB-style table.

    ``resource`` is a kvstore database, a boto3 DynamoDB resource, or a
    callable returning one (called once per thread: boto3 resources must not
    be shared between threads).
    """

    def __init__(self, resource, table_name=DEFAULT_TABLE, clock=None, max_attempts=10):
        self._connect = resource if callable(resource) else (lambda: resource)
        self.table_name = table_name
        self._clock = clock or (lambda: datetime.now(timezone.utc))
        self._max_attempts = max_attempts
        self._local = threading.local()
        self._pool = []      # connections of threads that ended, for the next threads (list ops are atomic)
        self._ClientError = self._conn.resource.meta.client.exceptions.ClientError

    @property
    def _conn(self):
        """This thread's connection: made on its first use, back in the pool when the thread ends.

        Servers that start a thread per connection (Werkzeug's) would otherwise
        build a boto3 resource, tens of milliseconds, for every new thread.
        """
        lease = getattr(self._local, "lease", None)
        if lease is None:
            try:
                conn = self._pool.pop()
            except IndexError:
                conn = _Connection(self._connect(), self.table_name)
            lease = self._local.lease = _Lease(conn)
            weakref.finalize(lease, self._pool.append, conn)
        return lease.conn

    def ping(self):
        """A cheap read that proves the table answers (for the health endpoint)."""
        self._conn.table.get_item(Key={keys.PK: "HEALTH", keys.SK: "HEALTH"})

    # -- customers ----------------------------------------------------------------

    def create_customer(self, name, email):
        """A new customer; AlreadyExists if the e-mail address is taken (case-insensitive).

        E-mail uniqueness is an item of its own (``EMAIL#<address>``) written in
        the same transaction as the profile, with ``attribute_not_exists``:
        DynamoDB has no unique constraint on non-key attributes.
        """
        def attempt():
            customer_id = keys.new_customer_id()
            profile = dict(keys.customer(customer_id), type="customer", customer_id=customer_id, name=name,
                           email=email, created_at=self._now(), order_count=0, version=1)
            actions = [_put(self.table_name, profile, "attribute_not_exists(PK)"),
                       _put(self.table_name, dict(keys.email(email), type="email", customer_id=customer_id),
                            "attribute_not_exists(PK)")]
            reasons = self._transact(actions)
            if reasons is None:
                return _public(profile)
            if _failed(reasons[1]):
                raise AlreadyExists(f"e-mail address {email} is already registered", field="email")
            raise _Retry()  # the random id collided, or a conflict
        return self._retrying(attempt)

    def get_customer(self, customer_id):
        return _public(self._get(keys.customer(customer_id), "customer", customer_id))

    def update_customer(self, customer_id, expected_version, name=None, email=None):
        """Change name and/or e-mail if the profile is still at ``expected_version`` (optimistic locking).

        A new e-mail address moves its uniqueness item in the same transaction as
        the profile, so two customers can never end up with one address.
        """
        current = self._get(keys.customer(customer_id), "customer", customer_id)
        if _int(current["version"]) != expected_version:
            raise VersionConflict(f"customer {customer_id} is at version {_int(current['version'])}",
                                  current_version=_int(current["version"]))
        changes = {"updated_at": self._now()}
        if name is not None:
            changes["name"] = name
        new_email = email is not None and email.lower() != current["email"].lower()
        if email is not None:
            changes["email"] = email
        update, names, values = _set_expression(changes)
        names["#version"] = "version"
        values.update({":expected": expected_version, ":one": 1})
        condition = "attribute_exists(PK) AND #version = :expected"
        update += ", #version = #version + :one"
        if not new_email:
            try:
                result = self._conn.table.update_item(
                    Key=keys.customer(customer_id), UpdateExpression=update, ConditionExpression=condition,
                    ExpressionAttributeNames=names, ExpressionAttributeValues=values, ReturnValues="ALL_NEW")
            except self._ClientError as e:
                if _code(e) != "ConditionalCheckFailedException":
                    raise
                raise self._versioned_failure(keys.customer(customer_id), "customer", customer_id,
                                              expected_version) from None
            return _public(result["Attributes"])
        actions = [
            {"Update": {"TableName": self.table_name, "Key": keys.customer(customer_id), "UpdateExpression": update,
                        "ConditionExpression": condition, "ExpressionAttributeNames": names,
                        "ExpressionAttributeValues": values}},
            {"Delete": {"TableName": self.table_name, "Key": keys.email(current["email"]),
                        "ConditionExpression": "customer_id = :id",
                        "ExpressionAttributeValues": {":id": customer_id}}},
            _put(self.table_name, dict(keys.email(email), type="email", customer_id=customer_id),
                 "attribute_not_exists(PK)"),
        ]
        reasons = self._transact(actions)
        if reasons is not None:
            if _failed(reasons[2]):
                raise AlreadyExists(f"e-mail address {email} is already registered", field="email")
            raise self._versioned_failure(keys.customer(customer_id), "customer", customer_id, expected_version)
        return self.get_customer(customer_id)

    # -- products and stock ---------------------------------------------------------

    def create_product(self, sku, name, price_cents, stock):
        product = dict(keys.product(sku), **keys.catalog_index(sku), type="product", sku=sku, name=name,
                       price_cents=price_cents, stock=stock, version=1, updated_at=self._now())
        try:
            self._conn.table.put_item(Item=product, ConditionExpression="attribute_not_exists(PK)")
        except self._ClientError as e:
            if _code(e) != "ConditionalCheckFailedException":
                raise
            raise AlreadyExists(f"product {sku} already exists") from None
        return _public(product)

    def get_product(self, sku):
        return _public(self._get(keys.product(sku), "product", sku))

    def update_product(self, sku, expected_version, name=None, price_cents=None):
        """Change the description or price if still at ``expected_version``.

        Stock is not versioned: it moves by atomic counters (orders, restocks),
        and a price edit should not fail because an order was placed meanwhile.
        """
        changes = {"updated_at": self._now()}
        if name is not None:
            changes["name"] = name
        if price_cents is not None:
            changes["price_cents"] = price_cents
        update, names, values = _set_expression(changes)
        names["#version"] = "version"
        values.update({":expected": expected_version, ":one": 1})
        try:
            result = self._conn.table.update_item(
                Key=keys.product(sku), UpdateExpression=update + ", #version = #version + :one",
                ConditionExpression="attribute_exists(PK) AND #version = :expected",
                ExpressionAttributeNames=names, ExpressionAttributeValues=values, ReturnValues="ALL_NEW")
        except self._ClientError as e:
            if _code(e) != "ConditionalCheckFailedException":
                raise
            raise self._versioned_failure(keys.product(sku), "product", sku, expected_version) from None
        return _public(result["Attributes"])

    def restock(self, sku, quantity):
        """Add ``quantity`` units to the stock, atomically (``ADD``), whatever else is happening."""
        try:
            result = self._conn.table.update_item(
                Key=keys.product(sku), UpdateExpression="ADD stock :q SET updated_at = :now",
                ConditionExpression="attribute_exists(PK)",
                ExpressionAttributeValues={":q": quantity, ":now": self._now()}, ReturnValues="ALL_NEW")
        except self._ClientError as e:
            if _code(e) != "ConditionalCheckFailedException":
                raise
            raise NotFound(f"product {sku} not found") from None
        return _public(result["Attributes"])

    def list_products(self, limit=MAX_PAGE, page=None):
        """The catalog by SKU: GSI1 partition ``CATALOG``."""
        return self._page("products", page, IndexName=keys.GSI1, Limit=limit,
                          KeyConditionExpression="GSI1PK = :catalog",
                          ExpressionAttributeValues={":catalog": keys.CATALOG})

    # -- orders -----------------------------------------------------------------------

    def place_order(self, customer_id, lines, idempotency_key=None):
        """Place an order and reserve its stock in one transaction; returns ``(order, created)``.

        ``lines`` is a list of ``(sku, quantity)`` with distinct SKUs.  One
        TransactWriteItems, all or nothing:

        0. the customer's ``order_count`` goes from n to n+1 (the order's number,
           and the proof the customer exists);
        1. the order header, 2... its lines;
        then one update per line: ``stock = stock - q`` if ``stock >= q`` and the
           price is still the one the line was priced at;
        last, with an ``idempotency_key``, a record of this request.

        When the transaction is cancelled, DynamoDB says which action failed
        (``CancellationReasons``, one per action, in order) and, thanks to
        ``ReturnValuesOnConditionCheckFailure=ALL_OLD``, what the item held:
        a product's reason tells which line was short and how many are left.
        A race (another order of the same customer, a price change) is retried.
        ``created`` is False when ``idempotency_key`` replayed an earlier order.
        """
        request_hash = hashlib.sha256(json.dumps(sorted(lines)).encode()).hexdigest()

        def attempt():
            table = self.table_name
            profile = self._get(keys.customer(customer_id), "customer", customer_id)
            products = self._get_products([sku for sku, _ in lines])
            unknown = [sku for sku, _ in lines if sku not in products]
            if unknown:
                raise UnknownProduct(f"unknown product {unknown[0]}", skus=unknown)
            now = self._now()
            seq = _int(profile["order_count"]) + 1
            order_id = keys.order_id(now[:10], seq)
            priced = []
            for n, (sku, quantity) in enumerate(lines, 1):
                product = products[sku]
                price = _int(product["price_cents"])
                priced.append(dict(keys.line(customer_id, order_id, n), type="line", order_id=order_id, line_no=n,
                                   sku=sku, name=product["name"], quantity=quantity, unit_price_cents=price,
                                   amount_cents=price * quantity))
            header = dict(keys.order(customer_id, order_id), type="order", customer_id=customer_id,
                          order_id=order_id, status=PLACED, placed_at=now, updated_at=now,
                          total_cents=sum(line["amount_cents"] for line in priced), line_count=len(priced),
                          version=1, **keys.status_index(PLACED, now, customer_id, order_id),
                          **keys.shipment_index(now, customer_id, order_id))
            actions = [{"Update": {
                "TableName": table, "Key": keys.customer(customer_id),
                "UpdateExpression": "SET order_count = :seq",
                "ConditionExpression": "attribute_exists(PK) AND order_count = :previous",
                "ExpressionAttributeValues": {":seq": seq, ":previous": seq - 1},
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}},
                _put(table, header, "attribute_not_exists(PK)")]
            actions += [_put(table, line) for line in priced]
            first_product = len(actions)
            actions += [{"Update": {
                "TableName": table, "Key": keys.product(line["sku"]),
                "UpdateExpression": "SET stock = stock - :q",
                "ConditionExpression": "attribute_exists(PK) AND stock >= :q AND price_cents = :price",
                "ExpressionAttributeValues": {":q": line["quantity"], ":price": line["unit_price_cents"]},
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}} for line in priced]
            if idempotency_key is not None:
                record = dict(keys.idempotency(customer_id, idempotency_key), type="idempotency",
                              order_id=order_id, request_hash=request_hash, created_at=now,
                              expires_at=int(time.time()) + IDEMPOTENCY_TTL)
                put = _put(table, record, "attribute_not_exists(PK)")
                put["Put"]["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
                actions.append(put)
            reasons = self._transact(actions)
            if reasons is None:
                return dict(_public(header), lines=[_public(line) for line in priced]), True
            if idempotency_key is not None and _failed(reasons[-1]):
                previous = reasons[-1].get("Item") or {}
                if previous.get("request_hash") != request_hash:
                    raise IdempotencyMismatch("Idempotency-Key was used for a different order request")
                return self.get_order(customer_id, previous["order_id"]), False
            if _failed(reasons[0]) and not reasons[0].get("Item"):
                raise NotFound(f"customer {customer_id} not found")
            short, gone = [], []
            for n, line in enumerate(priced, 1):
                reason = reasons[first_product + n - 1]
                if not _failed(reason):
                    continue
                old = reason.get("Item")
                if not old:
                    gone.append(line["sku"])
                elif _int(old["stock"]) < line["quantity"]:
                    short.append({"line": n, "sku": line["sku"], "requested": line["quantity"],
                                  "available": _int(old["stock"])})
            if gone:
                raise UnknownProduct(f"unknown product {gone[0]}", skus=gone)
            if short:
                raise OutOfStock("not enough stock for " + ", ".join(s["sku"] for s in short), lines=short)
            raise _Retry()  # order_count or a price moved under us, or a conflict
        return self._retrying(attempt)

    def get_order(self, customer_id, order_id):
        """The order header (GetItem) and its lines (Query on the ``LINE#<order>#`` prefix)."""
        header = self._get(keys.order(customer_id, order_id), "order", order_id)
        lines = self._query_all(KeyConditionExpression="PK = :pk AND begins_with(SK, :prefix)",
                                ExpressionAttributeValues={":pk": keys.customer_pk(customer_id),
                                                           ":prefix": keys.line_prefix(order_id)})
        return dict(_public(header), lines=[_public(line) for line in lines])

    def list_customer_orders(self, customer_id, limit=20, page=None):
        """A customer's orders, newest first; NotFound for an unknown customer.

        The first page is one Query read backwards from ``PROFILE`` down to
        ``ORDER#``: the profile comes first (so an unknown customer is told
        from one without orders at no extra cost), then the newest orders.
        """
        scope = f"orders:{customer_id}"
        first = page is None
        items, next_page = self._page(
            scope, page, Limit=limit + 1 if first else limit, ScanIndexForward=False,
            KeyConditionExpression="PK = :pk AND SK BETWEEN :first AND :last",
            ExpressionAttributeValues={":pk": keys.customer_pk(customer_id),
                                       ":first": keys.ORDER_PREFIX, ":last": keys.PROFILE})
        if first:
            if not items or items[0]["customer_id"] != customer_id or "order_id" in items[0]:
                raise NotFound(f"customer {customer_id} not found")
            items = items[1:]
        return items, next_page

    def list_orders_by_status(self, status, limit=20, page=None):
        """Every customer's orders in ``status``, newest first: GSI1 partition ``STATUS#<status>``."""
        return self._page(f"status:{status}", page, IndexName=keys.GSI1, Limit=limit, ScanIndexForward=False,
                          KeyConditionExpression="GSI1PK = :status",
                          ExpressionAttributeValues={":status": f"STATUS#{status}"})

    def list_awaiting_shipment(self, limit=20, page=None):
        """Orders waiting for the warehouse, oldest first: the whole of the sparse GSI2."""
        return self._page("shipments", page, IndexName=keys.GSI2, Limit=limit,
                          KeyConditionExpression="GSI2PK = :queue",
                          ExpressionAttributeValues={":queue": keys.AWAITING_SHIPMENT})

    def ship_order(self, customer_id, order_id, expected_version=None):
        """PLACED -> SHIPPED; the order leaves the awaiting-shipment index (its GSI2 keys are removed)."""
        return self._transition(customer_id, order_id, PLACED, SHIPPED, expected_version,
                                remove=(keys.GSI2PK, keys.GSI2SK), stamp="shipped_at")

    def deliver_order(self, customer_id, order_id, expected_version=None):
        """SHIPPED -> DELIVERED."""
        return self._transition(customer_id, order_id, SHIPPED, DELIVERED, expected_version, stamp="delivered_at")

    def cancel_order(self, customer_id, order_id, expected_version=None):
        """PLACED -> CANCELLED and its stock back on the shelf, in one transaction."""
        def attempt():
            order = self.get_order(customer_id, order_id)
            if order["status"] != PLACED:
                raise InvalidTransition(f"order {order_id} is {order['status']}, only a PLACED order can be "
                                        "cancelled", status=order["status"])
            if expected_version is not None and order["version"] != expected_version:
                raise VersionConflict(f"order {order_id} is at version {order['version']}",
                                      current_version=order["version"])
            now = self._now()
            update, names, values = _set_expression({"status": CANCELLED, "updated_at": now, "cancelled_at": now,
                                                     keys.GSI1PK: f"STATUS#{CANCELLED}"})
            names.update({"#version": "version", "#status": "status"})
            values.update({":placed": PLACED, ":seen": order["version"], ":one": 1})
            actions = [{"Update": {
                "TableName": self.table_name, "Key": keys.order(customer_id, order_id),
                "UpdateExpression": update + ", #version = #version + :one REMOVE GSI2PK, GSI2SK",
                "ConditionExpression": "#status = :placed AND #version = :seen",
                "ExpressionAttributeNames": names, "ExpressionAttributeValues": values}}]
            actions += [{"Update": {"TableName": self.table_name, "Key": keys.product(line["sku"]),
                                    "UpdateExpression": "ADD stock :q",
                                    "ExpressionAttributeValues": {":q": line["quantity"]}}}
                        for line in order["lines"]]
            if self._transact(actions) is not None:
                raise _Retry()    # changed since we read it: look again
            return self.get_order(customer_id, order_id)
        return self._retrying(attempt)

    # -- helpers --------------------------------------------------------------------------

    def _now(self):
        now = self._clock()
        return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"

    def _get(self, key, what, ident):
        item = self._conn.table.get_item(Key=key, ConsistentRead=True).get("Item")
        if item is None:
            raise NotFound(f"{what} {ident} not found")
        return item

    def _get_products(self, skus):
        """Products by SKU (BatchGetItem, re-asking for UnprocessedKeys)."""
        found = {}
        request = {self.table_name: {"Keys": [keys.product(sku) for sku in skus], "ConsistentRead": True}}
        for attempt in range(self._max_attempts):
            response = self._conn.resource.batch_get_item(RequestItems=request)
            for item in response["Responses"].get(self.table_name, ()):
                found[item["sku"]] = item
            request = response.get("UnprocessedKeys") or {}
            if not request:
                return found
            _backoff(attempt)
        raise Busy("the database is busy, try again")

    def _transition(self, customer_id, order_id, source, target, expected_version, remove=(), stamp=None):
        now = self._now()
        changes = {"status": target, "updated_at": now, keys.GSI1PK: f"STATUS#{target}"}
        if stamp:
            changes[stamp] = now
        update, names, values = _set_expression(changes)
        names.update({"#version": "version", "#status": "status"})
        values.update({":source": source, ":one": 1})
        update += ", #version = #version + :one"
        if remove:
            update += " REMOVE " + ", ".join(remove)
        condition = "attribute_exists(PK) AND #status = :source"
        if expected_version is not None:
            condition += " AND #version = :expected"
            values[":expected"] = expected_version
        key = keys.order(customer_id, order_id)
        try:
            self._conn.table.update_item(
                Key=key, UpdateExpression=update, ConditionExpression=condition, ExpressionAttributeNames=names,
                ExpressionAttributeValues=values)
        except self._ClientError as e:
            if _code(e) != "ConditionalCheckFailedException":
                raise
            current = self._get(key, "order", order_id)
            if current["status"] != source:
                raise InvalidTransition(f"order {order_id} is {current['status']}, not {source}",
                                        status=current["status"]) from None
            raise VersionConflict(f"order {order_id} is at version {_int(current['version'])}",
                                  current_version=_int(current["version"])) from None
        return self.get_order(customer_id, order_id)

    def _versioned_failure(self, key, what, ident, expected_version):
        """Why a ``version = :expected`` condition failed: the item is gone, or it moved on."""
        current = self._get(key, what, ident)
        return VersionConflict(f"{what} {ident} is at version {_int(current['version'])}, not {expected_version}",
                               current_version=_int(current["version"]))

    def _page(self, scope, page, **query):
        """One page of a Query and the cursor of the next; a cursor the database rejects is a 400."""
        start = cursor.decode(scope, page)
        if start is not None:
            query["ExclusiveStartKey"] = start
        try:
            response = self._conn.table.query(**query)
        except self._ClientError as e:
            if start is not None and _code(e) == "ValidationException":
                raise InvalidCursor("cursor does not fit this listing") from None
            raise
        return [_public(item) for item in response["Items"]], cursor.encode(scope, response.get("LastEvaluatedKey"))

    def _query_all(self, **query):
        items = []
        while True:
            response = self._conn.table.query(**query)
            items += response["Items"]
            if "LastEvaluatedKey" not in response:
                return items
            query["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def _transact(self, actions):
        """None when the transaction committed, else its cancellation reasons (one per action)."""
        try:
            self._conn.transact(TransactItems=actions)
        except self._ClientError as e:
            if _code(e) != "TransactionCanceledException":
                raise
            reasons = e.response.get("CancellationReasons") or [{"Code": "Unknown"}] * len(actions)
            if any(r.get("Code") in _RETRYABLE_REASONS for r in reasons):
                raise _Retry() from None
            return reasons
        return None

    def _retrying(self, attempt):
        """Run ``attempt`` again (with jittered backoff) while it loses races; Busy when it keeps losing."""
        for n in range(self._max_attempts):
            try:
                return attempt()
            except _Retry:
                pass
            except self._ClientError as e:
                if _code(e) not in _RETRYABLE_CODES:
                    raise
            _backoff(n)
        raise Busy("too much contention on the same items, try again")


# -- item helpers -------------------------------------------------------------------------

def _put(table, item, condition=None):
    spec = {"TableName": table, "Item": item}
    if condition:
        spec["ConditionExpression"] = condition
    return {"Put": spec}


def _set_expression(changes):
    """``SET #a = :a, ...`` with every name and value a placeholder (reserved words are safe)."""
    names, values, parts = {}, {}, []
    for n, (name, value) in enumerate(changes.items()):
        names[f"#a{n}"] = name
        values[f":a{n}"] = value
        parts.append(f"#a{n} = :a{n}")
    return "SET " + ", ".join(parts), names, values


def _code(error):
    return error.response["Error"]["Code"]


def _failed(reason):
    return reason.get("Code") not in (None, "None")


def _int(value):
    return int(value) if isinstance(value, Decimal) else value


def _public(item):
    """An item as the API shows it: no key plumbing, numbers as int (they are all integers here)."""
    return {name: _int(value) for name, value in item.items() if name not in _HIDDEN}


def _backoff(attempt):
    time.sleep(random.uniform(0, min(0.1, 0.002 * 2 ** attempt)))
