"""Listings a page at a time: one Query per page, and the opaque cursor of the next (cursor.py).

``scope`` names the listing a cursor belongs to; a cursor the database
rejects as a starting key is the client's mistake (a 400), not a 500.
"""

from examples.orders import cursor
from examples.orders.backend import Backend, error_code
from examples.orders.errors import InvalidCursor
from examples.orders.items import public

MAX_PAGE = 100


class Pages(Backend):
    """Query pages and whole Query results (following ``LastEvaluatedKey``)."""

    def _page(self, scope, page, **query):
        """One page of a Query and the cursor of the next; a cursor the database rejects is a 400."""
        start = cursor.decode(scope, page)
        if start is not None:
            query["ExclusiveStartKey"] = start
        try:
            response = self._conn.table.query(**query)
        except self._ClientError as e:
            if start is not None and error_code(e) == "ValidationException":
                raise InvalidCursor("cursor does not fit this listing") from None
            raise
        return [public(item) for item in response["Items"]], cursor.encode(scope, response.get("LastEvaluatedKey"))

    def _query_all(self, **query):
        items = []
        while True:
            response = self._conn.table.query(**query)
            items += response["Items"]
            if "LastEvaluatedKey" not in response:
                return items
            query["ExclusiveStartKey"] = response["LastEvaluatedKey"]
