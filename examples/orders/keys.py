"""The key design: every item's PK / SK and index keys, in one place.

One table holds every entity (DynamoDB's single-table design).  Items that are
read together share a partition key, so one Query returns them; the sort key
orders them the way they are read.  A customer's partition, sorted by SK:

    CUSTOMER#c1a2  IDEMPOTENCY#k-123                  replay record of a POST
    CUSTOMER#c1a2  LINE#2026-11-25#000007#01          order line
    CUSTOMER#c1a2  ORDER#2026-11-24#000006            order header
    CUSTOMER#c1a2  ORDER#2026-11-25#000007            order header
    CUSTOMER#c1a2  PROFILE                            the customer

``PROFILE`` sorts after every ``ORDER#``, so reading that partition backwards
from ``PROFILE`` returns the customer and then their orders newest first.
Lines have their own prefix so listing orders never pages through lines.

Two global secondary indexes:

* ``GSI1`` is overloaded: orders by status (``STATUS#<status>``, sorted by the
  time they were placed) and the product catalog (``CATALOG``, sorted by SKU).
* ``GSI2`` is sparse: only orders awaiting shipment carry ``GSI2PK``, so the
  index is exactly the warehouse's work queue; shipping or cancelling an order
  removes the attributes and the order leaves the index.

Key strings never contain user text that could hold ``#`` except through the
validators below, which is what keeps the prefixes unambiguous.
"""

import re
import secrets

#: attribute names of the table and its indexes
PK, SK = "PK", "SK"
GSI1, GSI1PK, GSI1SK = "GSI1", "GSI1PK", "GSI1SK"
GSI2, GSI2PK, GSI2SK = "GSI2", "GSI2PK", "GSI2SK"

PROFILE = "PROFILE"
PRODUCT = "PRODUCT"
EMAIL = "EMAIL"
CATALOG = "CATALOG"
AWAITING_SHIPMENT = "AWAITING_SHIPMENT"

ORDER_PREFIX = "ORDER#"
LINE_PREFIX = "LINE#"
IDEMPOTENCY_PREFIX = "IDEMPOTENCY#"

CUSTOMER_ID = re.compile(r"^c[0-9a-f]{12}$")
SKU = re.compile(r"^[A-Z0-9][A-Z0-9-]{0,39}$")
ORDER_ID = re.compile(r"^(\d{4}-\d{2}-\d{2})-(\d{6})$")
IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


def new_customer_id():
    """``c`` + 12 hex digits: random, so customers spread over DynamoDB's partitions."""
    return "c" + secrets.token_hex(6)


def customer(customer_id):
    return {PK: f"CUSTOMER#{customer_id}", SK: PROFILE}


def customer_pk(customer_id):
    return f"CUSTOMER#{customer_id}"


def email(address):
    """The uniqueness record of an e-mail address (case-insensitive)."""
    return {PK: f"EMAIL#{address.lower()}", SK: EMAIL}


def product(sku):
    return {PK: f"PRODUCT#{sku}", SK: PRODUCT}


def order_id(date, seq):
    """The public id of a customer's ``seq``-th order, placed on ``date`` (YYYY-MM-DD)."""
    return f"{date}-{seq:06d}"


def order_sk(order_id):
    date, seq = ORDER_ID.match(order_id).groups()
    return f"{ORDER_PREFIX}{date}#{seq}"


def order(customer_id, order_id):
    return {PK: customer_pk(customer_id), SK: order_sk(order_id)}


def line_prefix(order_id):
    """Sort-key prefix shared by the lines of one order."""
    date, seq = ORDER_ID.match(order_id).groups()
    return f"{LINE_PREFIX}{date}#{seq}#"


def line(customer_id, order_id, line_no):
    return {PK: customer_pk(customer_id), SK: f"{line_prefix(order_id)}{line_no:02d}"}


def idempotency(customer_id, key):
    return {PK: customer_pk(customer_id), SK: f"{IDEMPOTENCY_PREFIX}{key}"}


def status_index(status, placed_at, customer_id, order_id):
    """GSI1 keys of an order: its status, then newest first by the time it was placed."""
    return {GSI1PK: f"STATUS#{status}", GSI1SK: f"{placed_at}#{customer_id}#{order_id}"}


def shipment_index(placed_at, customer_id, order_id):
    """GSI2 keys of an order awaiting shipment (absent otherwise: a sparse index)."""
    return {GSI2PK: AWAITING_SHIPMENT, GSI2SK: f"{placed_at}#{customer_id}#{order_id}"}


def catalog_index(sku):
    return {GSI1PK: CATALOG, GSI1SK: sku}
