"""Products and their stock: the catalog, versioned descriptions and prices, atomic stock counters."""

from examples.orders import keys
from examples.orders.backend import backoff, error_code
from examples.orders.errors import AlreadyExists, Busy, NotFound
from examples.orders.items import public, set_expression
from examples.orders.pages import MAX_PAGE, Pages


class Inventory(Pages):
    """Create, read, update and restock products; the catalog listing."""

    def create_product(self, sku, name, price_cents, stock):
        product = dict(keys.product(sku), **keys.catalog_index(sku), type="product", sku=sku, name=name,
                       price_cents=price_cents, stock=stock, version=1, updated_at=self._now())
        try:
            self._conn.table.put_item(Item=product, ConditionExpression="attribute_not_exists(PK)")
        except self._ClientError as e:
            if error_code(e) != "ConditionalCheckFailedException":
                raise
            raise AlreadyExists(f"product {sku} already exists") from None
        return public(product)

    def get_product(self, sku):
        return public(self._get(keys.product(sku), "product", sku))

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
        update, names, values = set_expression(changes)
        names["#version"] = "version"
        values.update({":expected": expected_version, ":one": 1})
        try:
            result = self._conn.table.update_item(
                Key=keys.product(sku), UpdateExpression=update + ", #version = #version + :one",
                ConditionExpression="attribute_exists(PK) AND #version = :expected",
                ExpressionAttributeNames=names, ExpressionAttributeValues=values, ReturnValues="ALL_NEW")
        except self._ClientError as e:
            if error_code(e) != "ConditionalCheckFailedException":
                raise
            raise self._versioned_failure(keys.product(sku), "product", sku, expected_version) from None
        return public(result["Attributes"])

    def restock(self, sku, quantity):
        """Add ``quantity`` units to the stock, atomically (``ADD``), whatever else is happening."""
        try:
            result = self._conn.table.update_item(
                Key=keys.product(sku), UpdateExpression="ADD stock :q SET updated_at = :now",
                ConditionExpression="attribute_exists(PK)",
                ExpressionAttributeValues={":q": quantity, ":now": self._now()}, ReturnValues="ALL_NEW")
        except self._ClientError as e:
            if error_code(e) != "ConditionalCheckFailedException":
                raise
            raise NotFound(f"product {sku} not found") from None
        return public(result["Attributes"])

    def list_products(self, limit=MAX_PAGE, page=None):
        """The catalog by SKU: GSI1 partition ``CATALOG``."""
        return self._page("products", page, IndexName=keys.GSI1, Limit=limit,
                          KeyConditionExpression="GSI1PK = :catalog",
                          ExpressionAttributeValues={":catalog": keys.CATALOG})

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
            backoff(attempt, self._sleep)
        raise Busy("the database is busy, try again")
