"""Orders: placing one (stock reserved in the same transaction), reading one, listing them.

Statuses and the transitions between them: an order is PLACED, then SHIPPED
and DELIVERED, or CANCELLED while still PLACED (see fulfilment.py).
"""

import hashlib
import json

from examples.orders import keys
from examples.orders.backend import Retry
from examples.orders.errors import IdempotencyMismatch, NotFound, OutOfStock, UnknownProduct
from examples.orders.inventory import Inventory
from examples.orders.items import failed, public, put_action, to_int
from examples.orders.schema import TTL_ATTRIBUTE

#: order statuses
PLACED, SHIPPED, DELIVERED, CANCELLED = "PLACED", "SHIPPED", "DELIVERED", "CANCELLED"
STATUSES = (PLACED, SHIPPED, DELIVERED, CANCELLED)
MAX_LINES = 25                  # 2 + 2 * 25 + 1 transaction actions, well under DynamoDB's 100
IDEMPOTENCY_TTL = 24 * 3600     # seconds an Idempotency-Key is remembered (then TTL deletes its record)


class Ordering(Inventory):
    """Placing orders (reading the customer and the products it needs), reading and listing them."""

    def place_order(self, customer_id, lines, idempotency_key=None):
        """Place an order and reserve its stock in one transaction; returns ``(order, created)``.

        ``lines`` is a list of ``(sku, quantity)`` with distinct SKUs.  One
        TransactWriteItems, all or nothing:

        0. the customer's ``order_count`` goes from n to n+1 (the order's number,
           and the proof the customer exists);
        1. the order header, 2... its lines;
        then one update per line: ``stock = stock - q`` if ``stock >= q`` and the
           price is still the one the line was priced at;
        last, with an ``idempotency_key``, a record of this request, which TTL
           deletes a day later (an expired record still present counts as gone).

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
            moment = self._clock()
            now = self._stamp(moment)
            seq = to_int(profile["order_count"]) + 1
            order_id = keys.order_id(now[:10], seq)
            priced = []
            for n, (sku, quantity) in enumerate(lines, 1):
                product = products[sku]
                price = to_int(product["price_cents"])
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
                put_action(table, header, "attribute_not_exists(PK)")]
            actions += [put_action(table, line) for line in priced]
            first_product = len(actions)
            actions += [{"Update": {
                "TableName": table, "Key": keys.product(line["sku"]),
                "UpdateExpression": "SET stock = stock - :q",
                "ConditionExpression": "attribute_exists(PK) AND stock >= :q AND price_cents = :price",
                "ExpressionAttributeValues": {":q": line["quantity"], ":price": line["unit_price_cents"]},
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}} for line in priced]
            if idempotency_key is not None:
                # expired but not yet deleted by TTL (DynamoDB takes up to two days): the key is free again
                epoch = int(moment.timestamp())
                record = dict(keys.idempotency(customer_id, idempotency_key), type="idempotency",
                              order_id=order_id, request_hash=request_hash, created_at=now,
                              **{TTL_ATTRIBUTE: epoch + IDEMPOTENCY_TTL})
                put = put_action(table, record, "attribute_not_exists(PK) OR #expires <= :now")
                put["Put"].update(ExpressionAttributeNames={"#expires": TTL_ATTRIBUTE},
                                  ExpressionAttributeValues={":now": epoch},
                                  ReturnValuesOnConditionCheckFailure="ALL_OLD")
                actions.append(put)
            reasons = self._transact(actions)
            if reasons is None:
                return dict(public(header), lines=[public(line) for line in priced]), True
            if idempotency_key is not None and failed(reasons[-1]):
                previous = reasons[-1].get("Item") or {}
                if previous.get("request_hash") != request_hash:
                    raise IdempotencyMismatch("Idempotency-Key was used for a different order request")
                return self.get_order(customer_id, previous["order_id"]), False
            if failed(reasons[0]) and not reasons[0].get("Item"):
                raise NotFound(f"customer {customer_id} not found")
            short, gone = [], []
            for n, line in enumerate(priced, 1):
                reason = reasons[first_product + n - 1]
                if not failed(reason):
                    continue
                old = reason.get("Item")
                if not old:
                    gone.append(line["sku"])
                elif to_int(old["stock"]) < line["quantity"]:
                    short.append({"line": n, "sku": line["sku"], "requested": line["quantity"],
                                  "available": to_int(old["stock"])})
            if gone:
                raise UnknownProduct(f"unknown product {gone[0]}", skus=gone)
            if short:
                raise OutOfStock("not enough stock for " + ", ".join(s["sku"] for s in short), lines=short)
            raise Retry()  # order_count or a price moved under us, or a conflict
        return self._retrying(attempt)

    def get_order(self, customer_id, order_id):
        """The order header (GetItem) and its lines (Query on the ``LINE#<order>#`` prefix)."""
        header = self._get(keys.order(customer_id, order_id), "order", order_id)
        lines = self._query_all(KeyConditionExpression="PK = :pk AND begins_with(SK, :prefix)",
                                ExpressionAttributeValues={":pk": keys.customer_pk(customer_id),
                                                           ":prefix": keys.line_prefix(order_id)})
        return dict(public(header), lines=[public(line) for line in lines])

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
