"""The data layer: the only code that reads or writes the orders table, as one class, :class:`Store`.

Store is assembled from the parts of the data layer, one module each:

* backend.py: connections (one per thread), transactions, retries; the one
  part that knows the store runs on kvstore embedded, kvstore over the wire
  and DynamoDB alike, and the rules that make that work;
* items.py: the shape of items (transaction actions, ``SET`` expressions,
  the public view with integer numbers);
* pages.py: listings a page at a time, with cursors (cursor.py encodes them);
* customers.py, inventory.py (products and stock), ordering.py (placing,
  reading, listing orders), fulfilment.py (shipping, delivering, cancelling),
  summaries.py (each customer's order summary, and the stream consumer that
  keeps it current).

See keys.py for the key design and README.md for the access patterns.
"""

from examples.orders.backend import transaction_writer
from examples.orders.customers import Customers
from examples.orders.fulfilment import Fulfilment
from examples.orders.ordering import (
    CANCELLED, DELIVERED, IDEMPOTENCY_TTL, MAX_LINES, PLACED, SHIPPED, STATUSES,
)
from examples.orders.pages import MAX_PAGE
from examples.orders.summaries import Summaries

__all__ = ["Store", "transaction_writer", "PLACED", "SHIPPED", "DELIVERED", "CANCELLED", "STATUSES",
           "MAX_LINES", "MAX_PAGE", "IDEMPOTENCY_TTL"]


class Store(Customers, Fulfilment, Summaries):
    """Customers, products (with their stock) and orders, in one DynamoDB-style table.

    ``resource`` is a kvstore database, a boto3 DynamoDB resource, or a
    callable returning one (called once per thread: boto3 resources must not
    be shared between threads).  ``Store(resource, table_name="orders",
    clock=None, max_attempts=10, sleep=time.sleep)``: see :class:`~examples.orders.backend.Backend`.
    """
