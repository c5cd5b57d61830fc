"""The orders example, end to end through its HTTP API, on every face of kvstore.

The ``dynamodb`` fixture (tests/conftest.py) runs each test on kvstore
embedded, on boto3 routed in-process (the hook) and on boto3 over HTTP to
kvstore's server: the same data layer, unchanged, on each.  The pure pieces
(cursor, config, schema) are tested once at the bottom.
"""

import threading
from collections import Counter
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

import kvstore
from examples.orders import cursor, keys, schema
from examples.orders.app import create_app
from examples.orders.config import ConfigError, Settings
from examples.orders.errors import InvalidCursor, OutOfStock
from examples.orders.store import MAX_LINES, Store


def resource_factory(resource):
    """What config.connect hands the store: kvstore's database itself, or a new boto3 resource per call."""
    if isinstance(resource, kvstore.Database):
        return resource
    import boto3
    endpoint = resource.meta.client.meta.endpoint_url
    return lambda: boto3.resource("dynamodb", endpoint_url=endpoint, region_name="us-east-1",
                                  aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret")


class TickingClock:
    """Now, one millisecond later at every reading: orders placed by one test never share a timestamp
    (the indexes sort by placement time, and two orders in one millisecond tie)."""

    def __init__(self):
        self.now = datetime.now(timezone.utc)
        self.lock = threading.Lock()

    def __call__(self):
        with self.lock:
            self.now += timedelta(milliseconds=1)
            return self.now


@pytest.fixture
def store(dynamodb):
    schema.create_table(dynamodb, "orders")
    return Store(resource_factory(dynamodb), "orders", clock=TickingClock())


@pytest.fixture
def http(store):
    return create_app(store, "test").test_client()


def customer(http, name="Ada", email=None):
    email = email or f"{name.lower()}-{id(object())}@example.com"
    response = http.post("/customers", json={"name": name, "email": email})
    assert response.status_code == 201, response.json
    return response.json["customer_id"]


def product(http, sku, stock, price_cents=250):
    response = http.post("/products", json={"sku": sku, "name": sku.title(), "price_cents": price_cents,
                                            "stock": stock})
    assert response.status_code == 201, response.json
    return response.json


def order(http, customer_id, *lines, headers=None):
    return http.post(f"/customers/{customer_id}/orders", headers=headers,
                     json={"lines": [{"sku": sku, "quantity": q} for sku, q in lines]})


def stock(http, sku):
    return http.get(f"/products/{sku}").json["stock"]


# -- customers ------------------------------------------------------------------------------------

def test_customer_is_created_read_back_and_versioned(http):
    created = http.post("/customers", json={"name": "Ada", "email": "ada@example.com"})
    assert created.status_code == 201
    assert created.headers["ETag"] == '"1"'
    cid = created.json["customer_id"]
    assert created.headers["Location"] == f"/customers/{cid}"
    got = http.get(f"/customers/{cid}")
    assert got.status_code == 200
    assert got.json == {"customer_id": cid, "name": "Ada", "email": "ada@example.com", "order_count": 0,
                        "version": 1, "created_at": created.json["created_at"]}


def test_an_email_address_belongs_to_one_customer_whatever_its_case(http):
    customer(http, email="ada@example.com")
    again = http.post("/customers", json={"name": "Other", "email": "ADA@Example.com"})
    assert again.status_code == 409
    assert again.json["error"]["code"] == "AlreadyExists"
    assert again.json["error"]["field"] == "email"


def test_update_needs_the_version_read_and_fails_on_a_stale_one(http):
    cid = customer(http)
    assert http.patch(f"/customers/{cid}", json={"name": "Ada L"}).status_code == 428
    first = http.patch(f"/customers/{cid}", json={"name": "Ada L"}, headers={"If-Match": '"1"'})
    assert first.status_code == 200
    assert (first.json["name"], first.json["version"], first.headers["ETag"]) == ("Ada L", 2, '"2"')
    stale = http.patch(f"/customers/{cid}", json={"name": "Lost update"}, headers={"If-Match": '"1"'})
    assert stale.status_code == 412
    assert stale.json["error"]["current_version"] == 2
    assert http.get(f"/customers/{cid}").json["name"] == "Ada L"


def test_changing_email_frees_the_old_address_and_takes_the_new_one(http):
    cid = customer(http, email="old@example.com")
    other = customer(http, name="Bo", email="taken@example.com")
    clash = http.patch(f"/customers/{cid}", json={"email": "taken@example.com"}, headers={"If-Match": '"1"'})
    assert clash.status_code == 409
    moved = http.patch(f"/customers/{cid}", json={"email": "new@example.com"}, headers={"If-Match": '"1"'})
    assert moved.status_code == 200 and moved.json["email"] == "new@example.com"
    assert http.post("/customers", json={"name": "C", "email": "old@example.com"}).status_code == 201
    assert http.post("/customers", json={"name": "C", "email": "new@example.com"}).status_code == 409
    assert http.get(f"/customers/{other}").json["email"] == "taken@example.com"


def test_unknown_customer_is_404_everywhere(http):
    product(http, "APPLE", 5)
    ghost = "c000000000000"
    assert http.get(f"/customers/{ghost}").status_code == 404
    assert http.get(f"/customers/{ghost}/orders").status_code == 404
    assert order(http, ghost, ("APPLE", 1)).status_code == 404
    assert http.get("/customers/not-an-id").status_code == 404
    assert stock(http, "APPLE") == 5


# -- placing orders -----------------------------------------------------------------------------------

def test_placing_an_order_reserves_stock_and_prices_the_lines(http):
    cid = customer(http)
    product(http, "APPLE", 10, price_cents=120)
    product(http, "PEAR", 3, price_cents=300)
    placed = order(http, cid, ("APPLE", 4), ("PEAR", 1))
    assert placed.status_code == 201, placed.json
    body = placed.json
    assert body["status"] == "PLACED" and body["version"] == 1
    assert body["total_cents"] == 4 * 120 + 300
    assert [(line["line_no"], line["sku"], line["quantity"], line["amount_cents"]) for line in body["lines"]] == [
        (1, "APPLE", 4, 480), (2, "PEAR", 1, 300)]
    assert placed.headers["Location"] == f"/customers/{cid}/orders/{body['order_id']}"
    assert (stock(http, "APPLE"), stock(http, "PEAR")) == (6, 2)
    assert http.get(f"/customers/{cid}/orders/{body['order_id']}").json == body
    assert http.get(f"/customers/{cid}").json["order_count"] == 1


def test_short_stock_is_409_naming_the_short_lines_and_changes_nothing(http):
    cid = customer(http)
    product(http, "APPLE", 10)
    product(http, "PEAR", 1)
    product(http, "PLUM", 0)
    short = order(http, cid, ("APPLE", 2), ("PEAR", 2), ("PLUM", 1))
    assert short.status_code == 409
    error = short.json["error"]
    assert error["code"] == "OutOfStock"
    assert error["lines"] == [{"line": 2, "sku": "PEAR", "requested": 2, "available": 1},
                              {"line": 3, "sku": "PLUM", "requested": 1, "available": 0}]
    assert (stock(http, "APPLE"), stock(http, "PEAR"), stock(http, "PLUM")) == (10, 1, 0)
    assert http.get(f"/customers/{cid}/orders").json["items"] == []
    assert http.get(f"/customers/{cid}").json["order_count"] == 0


def test_unknown_product_is_400(http):
    cid = customer(http)
    product(http, "APPLE", 10)
    response = order(http, cid, ("APPLE", 1), ("NOPE", 1))
    assert response.status_code == 400
    assert response.json["error"]["code"] == "UnknownProduct" and response.json["error"]["skus"] == ["NOPE"]
    assert stock(http, "APPLE") == 10


def test_an_idempotency_key_replays_the_first_order_instead_of_placing_another(http):
    cid = customer(http)
    product(http, "APPLE", 10)
    first = order(http, cid, ("APPLE", 3), headers={"Idempotency-Key": "checkout-1"})
    assert first.status_code == 201
    replay = order(http, cid, ("APPLE", 3), headers={"Idempotency-Key": "checkout-1"})
    assert replay.status_code == 200 and replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json == first.json
    assert stock(http, "APPLE") == 7
    different = order(http, cid, ("APPLE", 1), headers={"Idempotency-Key": "checkout-1"})
    assert different.status_code == 409 and different.json["error"]["code"] == "IdempotencyKeyReused"
    assert order(http, cid, ("APPLE", 1), headers={"Idempotency-Key": "checkout-2"}).status_code == 201


def test_a_customer_reads_their_own_orders_only(http):
    ada, bo = customer(http, "Ada"), customer(http, "Bo")
    product(http, "APPLE", 10)
    placed = order(http, ada, ("APPLE", 1)).json
    assert http.get(f"/customers/{bo}/orders/{placed['order_id']}").status_code == 404
    assert http.get(f"/customers/{bo}/orders").json["items"] == []


# -- listings and the indexes ---------------------------------------------------------------------------

def test_a_customers_orders_page_newest_first_with_an_opaque_cursor(http):
    cid = customer(http)
    product(http, "APPLE", 100)
    placed = [order(http, cid, ("APPLE", 1)).json["order_id"] for _ in range(7)]
    seen, page, pages = [], None, 0
    while True:
        response = http.get(f"/customers/{cid}/orders", query_string={"limit": 3, **({"cursor": page} if page else {})})
        assert response.status_code == 200
        assert all("lines" not in item for item in response.json["items"])
        seen += [item["order_id"] for item in response.json["items"]]
        page, pages = response.json["next_cursor"], pages + 1
        if page is None:
            break
    assert seen == placed[::-1]
    assert pages == 3


def test_orders_by_status_newest_first_and_the_shipment_queue_oldest_first(http):
    ada, bo = customer(http, "Ada"), customer(http, "Bo")
    product(http, "APPLE", 100)
    a1 = order(http, ada, ("APPLE", 1)).json
    b1 = order(http, bo, ("APPLE", 1)).json
    a2 = order(http, ada, ("APPLE", 1)).json
    ids = lambda listing: [(o["customer_id"], o["order_id"]) for o in listing.json["items"]]  # noqa: E731
    ref = lambda o: (o["customer_id"], o["order_id"])  # noqa: E731
    assert ids(http.get("/orders?status=PLACED")) == [ref(a2), ref(b1), ref(a1)]
    assert ids(http.get("/shipments/pending")) == [ref(a1), ref(b1), ref(a2)]
    shipped = http.post(f"/customers/{bo}/orders/{b1['order_id']}/ship")
    assert shipped.status_code == 200 and shipped.json["status"] == "SHIPPED" and shipped.json["version"] == 2
    assert ids(http.get("/shipments/pending")) == [ref(a1), ref(a2)]
    assert ids(http.get("/orders?status=SHIPPED")) == [ref(b1)]
    assert ids(http.get("/orders?status=PLACED")) == [ref(a2), ref(a1)]
    delivered = http.post(f"/customers/{bo}/orders/{b1['order_id']}/deliver", headers={"If-Match": '"2"'})
    assert delivered.status_code == 200 and delivered.json["status"] == "DELIVERED"
    assert ids(http.get("/orders?status=DELIVERED")) == [ref(b1)]


def test_paging_through_an_index_visits_every_order_once(http):
    product(http, "APPLE", 100)
    customers = [customer(http, f"C{n}") for n in range(3)]
    placed = {(c, order(http, c, ("APPLE", 1)).json["order_id"]) for c in customers for _ in range(3)}
    seen, page = [], None
    while True:
        response = http.get("/shipments/pending", query_string={"limit": 4, **({"cursor": page} if page else {})})
        seen += [(o["customer_id"], o["order_id"]) for o in response.json["items"]]
        page = response.json["next_cursor"]
        if page is None:
            break
    assert len(seen) == len(placed) and set(seen) == placed


def test_a_cursor_works_only_for_the_listing_that_issued_it(http):
    ada, bo = customer(http, "Ada"), customer(http, "Bo")
    product(http, "APPLE", 100)
    for c in (ada, ada, bo, bo):
        order(http, c, ("APPLE", 1))
    page = http.get(f"/customers/{ada}/orders?limit=1").json["next_cursor"]
    assert page
    for url in (f"/customers/{bo}/orders", "/orders", "/shipments/pending"):
        response = http.get(url, query_string={"cursor": page})
        assert response.status_code == 400 and response.json["error"]["code"] == "InvalidCursor", url
    assert http.get(f"/customers/{ada}/orders", query_string={"cursor": "!!not base64"}).status_code == 400
    # a well-formed cursor of the right scope whose key lies outside the partition: the database says no
    forged = cursor.encode(f"orders:{ada}", {"PK": f"CUSTOMER#{bo}", "SK": "ORDER#2000-01-01#000001"})
    response = http.get(f"/customers/{ada}/orders", query_string={"cursor": forged})
    assert response.status_code == 400 and response.json["error"]["code"] == "InvalidCursor"


def test_the_catalog_lists_products_by_sku(http):
    for sku in ("PEAR", "APPLE", "FIG"):
        product(http, sku, 1)
    first = http.get("/products?limit=2").json
    second = http.get("/products", query_string={"limit": 2, "cursor": first["next_cursor"]}).json
    assert [p["sku"] for p in first["items"] + second["items"]] == ["APPLE", "FIG", "PEAR"]


# -- state changes --------------------------------------------------------------------------------------

def test_cancelling_puts_the_stock_back_once(http):
    cid = customer(http)
    product(http, "APPLE", 10)
    placed = order(http, cid, ("APPLE", 4)).json
    assert stock(http, "APPLE") == 6
    url = f"/customers/{cid}/orders/{placed['order_id']}"
    stale = http.post(url + "/cancel", headers={"If-Match": '"7"'})
    assert stale.status_code == 412
    cancelled = http.post(url + "/cancel", headers={"If-Match": '"1"'})
    assert cancelled.status_code == 200 and cancelled.json["status"] == "CANCELLED"
    assert stock(http, "APPLE") == 10
    again = http.post(url + "/cancel")
    assert again.status_code == 409 and again.json["error"]["code"] == "InvalidTransition"
    assert stock(http, "APPLE") == 10
    assert http.get("/shipments/pending").json["items"] == []
    assert http.post(url + "/ship").status_code == 409


def test_a_shipped_order_cannot_be_cancelled_or_shipped_again(http):
    cid = customer(http)
    product(http, "APPLE", 10)
    url = f"/customers/{cid}/orders/{order(http, cid, ('APPLE', 1)).json['order_id']}"
    assert http.post(url + "/ship").status_code == 200
    assert http.post(url + "/ship").json["error"]["code"] == "InvalidTransition"
    assert http.post(url + "/cancel").status_code == 409
    assert http.post(url + "/teleport").status_code == 404
    assert stock(http, "APPLE") == 9


def test_product_edits_are_versioned_and_restock_is_atomic(http):
    product(http, "APPLE", 1, price_cents=100)
    edited = http.patch("/products/APPLE", json={"price_cents": 90}, headers={"If-Match": '"1"'})
    assert edited.status_code == 200 and (edited.json["price_cents"], edited.json["version"]) == (90, 2)
    assert http.patch("/products/APPLE", json={"name": "x"}, headers={"If-Match": '"1"'}).status_code == 412
    restocked = http.post("/products/APPLE/restock", json={"quantity": 5})
    assert restocked.status_code == 200 and restocked.json["stock"] == 6 and restocked.json["version"] == 2
    assert http.post("/products/NOPE/restock", json={"quantity": 5}).status_code == 404
    assert http.post("/products", json={"sku": "APPLE", "name": "A", "price_cents": 1, "stock": 1}).status_code == 409
    cid = customer(http)
    assert order(http, cid, ("APPLE", 1)).json["lines"][0]["unit_price_cents"] == 90


# -- the HTTP contract --------------------------------------------------------------------------------

@pytest.mark.parametrize("body, field", [
    ({"lines": []}, "lines"),
    ({"lines": [{"sku": "APPLE", "quantity": 0}]}, "lines"),
    ({"lines": [{"sku": "APPLE", "quantity": 1.5}]}, "lines"),
    ({"lines": [{"sku": "APPLE", "quantity": True}]}, "lines"),
    ({"lines": [{"sku": "apple#1", "quantity": 1}]}, "lines"),
    ({"lines": [{"sku": "APPLE", "quantity": 1}, {"sku": "APPLE", "quantity": 1}]}, "lines"),
    ({"lines": [{"sku": f"P{n}", "quantity": 1} for n in range(MAX_LINES + 1)]}, "lines"),
    ({"lines": [{"sku": "APPLE", "quantity": 1, "gift": True}]}, "lines"),
    ({"lines": "APPLE"}, "lines"),
    ({}, "lines"),
    ({"lines": [{"sku": "APPLE", "quantity": 1}], "coupon": "FREE"}, "coupon"),
])
def test_malformed_orders_are_400_naming_the_field(http, body, field):
    cid = customer(http)
    response = http.post(f"/customers/{cid}/orders", json=body)
    assert response.status_code == 400, response.json
    assert response.json["error"]["code"] == "ValidationError"
    assert response.json["error"]["field"] == field
    assert response.json["error"]["request_id"] == response.headers["X-Request-Id"]


def test_bodies_that_are_not_json_objects_are_400(http):
    assert http.post("/customers", data="name=Ada", content_type="application/x-www-form-urlencoded"
                     ).status_code == 400
    assert http.post("/customers", data="{not json", content_type="application/json").status_code == 400
    assert http.post("/customers", json=["Ada"]).status_code == 400
    assert http.post("/customers", json={"name": "Ada", "email": "nope"}).json["error"]["field"] == "email"
    assert http.post("/customers", json={"name": " ", "email": "a@b.co"}).json["error"]["field"] == "name"
    assert http.post("/products", json={"sku": "A", "name": "A", "price_cents": -1, "stock": 1}
                     ).json["error"]["field"] == "price_cents"
    assert http.get("/orders?status=LOST").status_code == 400
    assert http.get("/orders?limit=0").status_code == 400
    assert http.get("/orders?limit=101").status_code == 400


def test_unknown_routes_and_methods_answer_json(http):
    missing = http.get("/nowhere")
    assert missing.status_code == 404 and missing.json["error"]["code"] == "NotFound"
    wrong = http.delete("/customers")
    assert wrong.status_code == 405 and wrong.json["error"]["code"] == "MethodNotAllowed"


def test_health_reads_the_database(http):
    response = http.get("/health", headers={"X-Request-Id": "probe-1"})
    assert response.status_code == 200 and response.json["status"] == "ok"
    assert response.headers["X-Request-Id"] == "probe-1"


def test_a_draining_service_refuses_new_requests(store):
    app = create_app(store)
    assert app.extensions["orders.lifecycle"].drain(timeout=1)
    response = app.test_client().get("/health")
    assert response.status_code == 503 and response.headers["Connection"] == "close"


# -- concurrency --------------------------------------------------------------------------------------

def test_concurrent_orders_never_oversell(store):
    """Threads race for 25 units; whatever interleaving, every unit sold is in exactly one order."""
    initial = 25
    store.create_product("APPLE", "Apple", 100, initial)
    store.create_product("PEAR", "Pear", 100, 1000)
    customers = [store.create_customer(f"C{n}", f"c{n}@example.com")["customer_id"] for n in range(4)]
    outcomes, placed, lock = Counter(), [], threading.Lock()
    start = threading.Barrier(6)

    def shopper(n):
        start.wait()
        for i in range(10):
            cid = customers[(n + i) % len(customers)]      # several threads share each customer
            quantity = 1 + (n + i) % 3
            try:
                result, created = store.place_order(cid, [("PEAR", 1), ("APPLE", quantity)])
            except OutOfStock as e:
                assert e.details["lines"][0]["sku"] == "APPLE"
                with lock:
                    outcomes["short"] += 1
                continue
            with lock:
                outcomes["placed"] += 1
                placed.append((cid, result["order_id"], quantity))

    threads = [threading.Thread(target=shopper, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    sold = sum(q for _, _, q in placed)
    left = store.get_product("APPLE")["stock"]
    assert left >= 0 and sold + left == initial
    assert outcomes["short"] > 0 and outcomes["placed"] + outcomes["short"] == 60
    assert store.get_product("PEAR")["stock"] == 1000 - outcomes["placed"]
    # every order is there, numbered 1..n per customer without gaps or duplicates
    for cid in customers:
        mine = sorted(int(oid[-6:]) for c, oid, _ in placed if c == cid)
        assert mine == list(range(1, len(mine) + 1))
        assert store.get_customer(cid)["order_count"] == len(mine)
    pending, page = [], None
    while True:
        items, page = store.list_awaiting_shipment(100, page)
        pending += items
        if page is None:
            break
    assert len(pending) == len(placed)


# -- pure pieces ----------------------------------------------------------------------------------------

def test_cursor_round_trips_strings_numbers_and_binary():
    key = {"PK": "CUSTOMER#c1", "n": Decimal("-12.50"), "big": Decimal("1E+125"), "b": b"\x00\xff",
           "kb": kvstore.Binary(b"\x01")}
    page = cursor.encode("scope", key)
    assert "=" not in page and "+" not in page and "/" not in page
    back = cursor.decode("scope", page)
    assert back == {"PK": "CUSTOMER#c1", "n": Decimal("-12.50"), "big": Decimal("1E+125"), "b": b"\x00\xff",
                    "kb": b"\x01"}
    assert cursor.encode("scope", None) is None and cursor.decode("scope", None) is None
    for bad in ("x", page + "A", cursor.encode("scope", {"PK": "a"})[:-2]):
        with pytest.raises(InvalidCursor):
            cursor.decode("scope", bad)
    with pytest.raises(InvalidCursor):
        cursor.decode("other", page)


def test_keys_sort_the_way_the_access_patterns_read_them():
    cid = "c0123456789ab"
    collection = sorted([keys.customer(cid)[keys.SK], keys.order(cid, "2026-11-25-000007")[keys.SK],
                         keys.order(cid, "2026-11-24-000006")[keys.SK], keys.line(cid, "2026-11-25-000007", 1)[keys.SK],
                         keys.idempotency(cid, "k")[keys.SK]])
    assert collection == ["IDEMPOTENCY#k", "LINE#2026-11-25#000007#01", "ORDER#2026-11-24#000006",
                          "ORDER#2026-11-25#000007", "PROFILE"]
    assert keys.ORDER_PREFIX <= collection[2] and collection[3] <= keys.PROFILE


def test_settings_pick_the_backend_from_the_environment():
    assert Settings.from_env({}).backend == "embedded"
    assert Settings.from_env({}).create_tables is True
    wire = Settings.from_env({"KVSTORE_ENDPOINT": "http://127.0.0.1:8000"})
    assert (wire.backend, wire.endpoint_url, wire.create_tables) == ("dynamodb", "http://127.0.0.1:8000", True)
    aws = Settings.from_env({"ORDERS_BACKEND": "dynamodb", "AWS_REGION": "eu-west-1"})
    assert (aws.endpoint_url, aws.region, aws.create_tables) == (None, "eu-west-1", False)
    assert Settings.from_env({"AWS_ENDPOINT_URL": "http://x:1"}).endpoint_url == "http://x:1"
    for env in ({"ORDERS_BACKEND": "mongo"}, {"ORDERS_PORT": "http"}, {"ORDERS_DURABILITY": "maybe"},
                {"ORDERS_CREATE_TABLES": "sure"}, {"ORDERS_THREADS": "0"}):
        with pytest.raises(ConfigError):
            Settings.from_env(env)


def test_the_import_parameters_are_the_table_definition():
    params = schema.import_parameters("shop")
    assert params["TableName"] == "shop"
    assert [i["IndexName"] for i in params["GlobalSecondaryIndexes"]] == ["GSI1", "GSI2"]
    definition = schema.definition("shop")
    assert definition.pop("StreamSpecification") == schema.STREAM       # ImportTable makes no stream
    assert params == definition


def test_create_table_is_idempotent(dynamodb):
    assert schema.create_table(dynamodb, "shop") is True
    assert schema.create_table(dynamodb, "shop") is False
    assert schema.table_exists(dynamodb, "shop") and not schema.table_exists(dynamodb, "nope")


def test_the_service_runs_unchanged_on_moto():
    """moto answers boto3 the way DynamoDB does, with no endpoint configured: the AWS code path.

    A second, independent implementation of DynamoDB: what passes on kvstore
    and on moto alike is the behaviour of the API, not of one implementation.
    """
    boto3 = pytest.importorskip("boto3")
    moto = pytest.importorskip("moto")
    with moto.mock_aws():
        schema.create_table(boto3.resource("dynamodb", region_name="us-east-1"), "orders")
        store = Store(lambda: boto3.resource("dynamodb", region_name="us-east-1"), "orders", clock=TickingClock())
        http = create_app(store).test_client()
        cid = customer(http)
        product(http, "APPLE", 3)
        placed = order(http, cid, ("APPLE", 2), headers={"Idempotency-Key": "k1"})
        assert placed.status_code == 201
        assert order(http, cid, ("APPLE", 2), headers={"Idempotency-Key": "k1"}).json == placed.json
        short = order(http, cid, ("APPLE", 2))
        assert short.status_code == 409 and short.json["error"]["lines"][0]["available"] == 1
        url = f"/customers/{cid}/orders/{placed.json['order_id']}"
        assert [o["order_id"] for o in http.get("/shipments/pending").json["items"]] == [placed.json["order_id"]]
        assert http.post(url + "/ship", headers={"If-Match": '"1"'}).status_code == 200
        assert http.get("/shipments/pending").json["items"] == []
        assert http.post(url + "/cancel").status_code == 409
        assert http.patch(f"/customers/{cid}", json={"email": "x@example.com"}, headers={"If-Match": '"1"'}
                          ).status_code == 200
        assert http.get(f"/customers/{cid}/orders?limit=1").json["items"][0]["order_id"] == placed.json["order_id"]


def test_the_move_to_dynamodb_rehearsed_export_then_import_of_the_data_files(tmp_path):
    """kvstore's export writes DynamoDB's export format; DynamoDB's ImportTable reads the data files under
    an S3 prefix and creates the table from TableCreationParameters.  Done here locally, with the
    parameters from schema.py and only the data/ folder, the service finds every order, index included."""
    transfer = pytest.importorskip("kvstore.transfer")
    with kvstore.open(str(tmp_path / "before")) as db:
        schema.create_table(db, "orders")
        http = create_app(Store(db, "orders", clock=TickingClock())).test_client()
        cid = customer(http)
        product(http, "APPLE", 9)
        placed = [order(http, cid, ("APPLE", 2)).json for _ in range(3)]
        http.post(f"/customers/{cid}/orders/{placed[0]['order_id']}/ship")
        transfer.export_table(db, "orders", str(tmp_path / "s3"))
    data, = (tmp_path / "s3" / "AWSDynamoDB").glob("*/data")
    with kvstore.open(str(tmp_path / "after")) as db:
        report = transfer.import_table(db, "orders", str(data), create=schema.import_parameters("orders"))
        assert report["ErrorCount"] == 0 and report["ImportedItemCount"] == 1 + 1 + 1 + 3 * 2
        http = create_app(Store(db, "orders")).test_client()
        assert http.get(f"/customers/{cid}/orders/{placed[1]['order_id']}").json == placed[1]
        assert stock(http, "APPLE") == 3
        pending = [o["order_id"] for o in http.get("/shipments/pending").json["items"]]
        assert pending == [placed[1]["order_id"], placed[2]["order_id"]]
        assert [p["sku"] for p in http.get("/products").json["items"]] == ["APPLE"]


def test_the_wsgi_entry_point_builds_the_app_from_the_environment(monkeypatch):
    from examples.orders import wsgi
    monkeypatch.setenv("ORDERS_DATA_DIR", ":memory:")
    monkeypatch.delenv("KVSTORE_ENDPOINT", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("ORDERS_BACKEND", raising=False)
    app, close = wsgi.build()
    try:
        assert app.test_client().get("/health").json["database"].startswith("kvstore embedded at :memory:")
    finally:
        close()


def test_threads_reuse_the_connections_of_threads_that_ended():
    """A thread-per-connection server must not pay for a new boto3 resource on every connection."""
    with kvstore.open(":memory:") as db:
        schema.create_table(db, "orders")
        made = []
        store = Store(lambda: made.append(1) or db, "orders")
        for _ in range(10):
            t = threading.Thread(target=store.ping)
            t.start()
            t.join()
        assert len(made) == 2            # the constructing thread's, and one passed from thread to thread
        barrier = threading.Barrier(3)
        threads = [threading.Thread(target=lambda: (store.ping(), barrier.wait())) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(made) == 4            # three at once need three: never two threads on one resource
