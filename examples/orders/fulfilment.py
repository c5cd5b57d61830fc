"""Fulfilment: an order's moves after it is placed (shipped, delivered, cancelled with its stock back)."""

from examples.orders import keys
from examples.orders.backend import Retry, error_code
from examples.orders.errors import InvalidTransition, VersionConflict
from examples.orders.items import set_expression, to_int
from examples.orders.ordering import CANCELLED, DELIVERED, PLACED, SHIPPED, Ordering


class Fulfilment(Ordering):
    """Ship, deliver and cancel orders (a conditional status transition each)."""

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
            update, names, values = set_expression({"status": CANCELLED, "updated_at": now, "cancelled_at": now,
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
                raise Retry()    # changed since we read it: look again
            return self.get_order(customer_id, order_id)
        return self._retrying(attempt)

    def _transition(self, customer_id, order_id, source, target, expected_version, remove=(), stamp=None):
        now = self._now()
        changes = {"status": target, "updated_at": now, keys.GSI1PK: f"STATUS#{target}"}
        if stamp:
            changes[stamp] = now
        update, names, values = set_expression(changes)
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
            if error_code(e) != "ConditionalCheckFailedException":
                raise
            current = self._get(key, "order", order_id)
            if current["status"] != source:
                raise InvalidTransition(f"order {order_id} is {current['status']}, not {source}",
                                        status=current["status"]) from None
            raise VersionConflict(f"order {order_id} is at version {to_int(current['version'])}",
                                  current_version=to_int(current["version"])) from None
        return self.get_order(customer_id, order_id)
