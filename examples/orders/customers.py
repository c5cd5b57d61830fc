"""Customers: profiles, with e-mail addresses unique across customers."""

from examples.orders import keys
from examples.orders.backend import Backend, Retry, error_code
from examples.orders.errors import AlreadyExists, VersionConflict
from examples.orders.items import failed, public, put_action, set_expression, to_int


class Customers(Backend):
    """Create, read and update customer profiles."""

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
            actions = [put_action(self.table_name, profile, "attribute_not_exists(PK)"),
                       put_action(self.table_name, dict(keys.email(email), type="email", customer_id=customer_id),
                            "attribute_not_exists(PK)")]
            reasons = self._transact(actions)
            if reasons is None:
                return public(profile)
            if failed(reasons[1]):
                raise AlreadyExists(f"e-mail address {email} is already registered", field="email")
            raise Retry()  # the random id collided, or a conflict
        return self._retrying(attempt)

    def get_customer(self, customer_id):
        return public(self._get(keys.customer(customer_id), "customer", customer_id))

    def update_customer(self, customer_id, expected_version, name=None, email=None):
        """Change name and/or e-mail if the profile is still at ``expected_version`` (optimistic locking).

        A new e-mail address moves its uniqueness item in the same transaction as
        the profile, so two customers can never end up with one address.
        """
        current = self._get(keys.customer(customer_id), "customer", customer_id)
        if to_int(current["version"]) != expected_version:
            raise VersionConflict(f"customer {customer_id} is at version {to_int(current['version'])}",
                                  current_version=to_int(current["version"]))
        changes = {"updated_at": self._now()}
        if name is not None:
            changes["name"] = name
        new_email = email is not None and email.lower() != current["email"].lower()
        if email is not None:
            changes["email"] = email
        update, names, values = set_expression(changes)
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
                if error_code(e) != "ConditionalCheckFailedException":
                    raise
                raise self._versioned_failure(keys.customer(customer_id), "customer", customer_id,
                                              expected_version) from None
            return public(result["Attributes"])
        actions = [
            {"Update": {"TableName": self.table_name, "Key": keys.customer(customer_id), "UpdateExpression": update,
                        "ConditionExpression": condition, "ExpressionAttributeNames": names,
                        "ExpressionAttributeValues": values}},
            {"Delete": {"TableName": self.table_name, "Key": keys.email(current["email"]),
                        "ConditionExpression": "customer_id = :id",
                        "ExpressionAttributeValues": {":id": customer_id}}},
            put_action(self.table_name, dict(keys.email(email), type="email", customer_id=customer_id),
                 "attribute_not_exists(PK)"),
        ]
        reasons = self._transact(actions)
        if reasons is not None:
            if failed(reasons[2]):
                raise AlreadyExists(f"e-mail address {email} is already registered", field="email")
            raise self._versioned_failure(keys.customer(customer_id), "customer", customer_id, expected_version)
        return self.get_customer(customer_id)
