"""The HTTP face: Flask routes that validate input, call the store and shape JSON.

Why Flask: the data layer is synchronous (kvstore's API and boto3 both block),
so a WSGI framework calls it directly on the request's thread; an async
framework would hop every database call to a thread pool and add nothing.
Flask is small, maintained by Pallets for 15 years, and the app runs under
any WSGI server: ``python -m examples.orders`` uses waitress (a fixed pool of
threads, HTTP/1.1 keep-alive), gunicorn works too (see wsgi.py).

Every error is JSON: ``{"error": {"code": ..., "message": ..., ...}}`` with
the request id, and a status that says who must act (400 fix the request,
404 / 409 / 412 the state differs, 503 retry, 500 us).
"""

import itertools
import logging
import re
import threading
import time
import uuid

from flask import Flask, g, jsonify, request
from werkzeug.exceptions import HTTPException

from examples.orders import keys, store as orders
from examples.orders.errors import BadRequest, NotFound, PreconditionRequired, ServiceError

log = logging.getLogger("orders")
access = logging.getLogger("orders.access")

EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s]{1,63}$")
MAX_NAME = 200
MAX_QUANTITY = 1000
MAX_PRICE_CENTS = 100_000_000
MAX_STOCK = 1_000_000_000


class Lifecycle:
    """Requests in flight, and a draining flag: shutdown stops taking work, waits, then closes the database."""

    def __init__(self):
        self._cond = threading.Condition()
        self._in_flight = 0
        self.draining = False

    def enter(self):
        """Count a request in; False once draining (checked and counted atomically)."""
        with self._cond:
            if self.draining:
                return False
            self._in_flight += 1
            return True

    def leave(self):
        with self._cond:
            self._in_flight -= 1
            self._cond.notify_all()

    def drain(self, timeout):
        """Refuse new requests, wait up to ``timeout`` s for the running ones; True if none is left."""
        with self._cond:
            self.draining = True
            return self._cond.wait_for(lambda: self._in_flight == 0, timeout)


def create_app(store, description="", lifecycle=None, access_log=False):
    """The WSGI app over a :class:`store.Store`; ``access_log`` logs a line per request (logger orders.access)."""
    app = Flask("orders")
    app.json.sort_keys = False
    app.json.compact = True
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    lifecycle = lifecycle or Lifecycle()
    app.extensions["orders.lifecycle"] = lifecycle

    @app.before_request
    def begin():
        g.request_id = _request_id()
        g.started = time.perf_counter()
        if not lifecycle.enter():
            response = _error(503, "ShuttingDown", "the service is shutting down")
            response.headers["Connection"] = "close"
            response.headers["Retry-After"] = "1"
            return response
        g.counted = True
        return None

    @app.teardown_request
    def end(_exc):
        if g.pop("counted", False):
            lifecycle.leave()

    @app.after_request
    def stamp(response):
        response.headers["X-Request-Id"] = g.get("request_id", "")
        if access_log:
            access.info("%s %s %d %.2fms %s", request.method, request.full_path.rstrip("?"), response.status_code,
                        (time.perf_counter() - g.get("started", time.perf_counter())) * 1e3, g.get("request_id"))
        return response

    @app.errorhandler(ServiceError)
    def service_error(e):
        response = _error(e.status, e.code, e.message, **e.details)
        if e.status == 503:
            response.headers["Retry-After"] = "1"
        return response

    @app.errorhandler(HTTPException)
    def http_error(e):
        return _error(e.code, e.name.replace(" ", ""), e.description)

    @app.errorhandler(Exception)
    def unexpected(e):
        log.exception("request %s failed", g.get("request_id"))
        return _error(500, "InternalError", "internal error; the request id is in X-Request-Id")

    # -- health --------------------------------------------------------------------------

    @app.get("/health")
    def health():
        store.ping()
        return {"status": "ok", "database": description}

    # -- customers -----------------------------------------------------------------------

    @app.post("/customers")
    def create_customer():
        body = _body(required={"name", "email"})
        customer = store.create_customer(_text(body, "name"), _email(body))
        return _created(customer, f"/customers/{customer['customer_id']}")

    @app.get("/customers/<customer_id>")
    def get_customer(customer_id):
        return _versioned(store.get_customer(_customer_id(customer_id)))

    @app.patch("/customers/<customer_id>")
    def update_customer(customer_id):
        customer_id = _customer_id(customer_id)
        version = _if_match(required=True)
        body = _body(optional={"name", "email"})
        customer = store.update_customer(customer_id, version, name=_text(body, "name", required=False),
                                         email=_email(body, required=False))
        return _versioned(customer)

    # -- products --------------------------------------------------------------------------

    @app.post("/products")
    def create_product():
        body = _body(required={"sku", "name", "price_cents", "stock"})
        sku = body["sku"]
        if not isinstance(sku, str) or not keys.SKU.match(sku):
            raise BadRequest("sku must be 1-40 characters of A-Z, 0-9 and '-', starting with a letter or digit",
                             field="sku")
        product = store.create_product(sku, _text(body, "name"), _integer(body, "price_cents", 0, MAX_PRICE_CENTS),
                                       _integer(body, "stock", 0, MAX_STOCK))
        return _created(product, f"/products/{sku}")

    @app.get("/products")
    def list_products():
        items, cursor = store.list_products(*_paging())
        return _listing(items, cursor)

    @app.get("/products/<sku>")
    def get_product(sku):
        return _versioned(store.get_product(_sku(sku)))

    @app.patch("/products/<sku>")
    def update_product(sku):
        sku = _sku(sku)
        version = _if_match(required=True)
        body = _body(optional={"name", "price_cents"})
        return _versioned(store.update_product(
            sku, version, name=_text(body, "name", required=False),
            price_cents=_integer(body, "price_cents", 0, MAX_PRICE_CENTS, required=False)))

    @app.post("/products/<sku>/restock")
    def restock(sku):
        body = _body(required={"quantity"})
        return _versioned(store.restock(_sku(sku), _integer(body, "quantity", 1, MAX_STOCK)))

    # -- orders ------------------------------------------------------------------------------

    @app.post("/customers/<customer_id>/orders")
    def place_order(customer_id):
        customer_id = _customer_id(customer_id)
        key = request.headers.get("Idempotency-Key")
        if key is not None and not keys.IDEMPOTENCY_KEY.match(key):
            raise BadRequest("Idempotency-Key must be 1-64 characters of A-Z a-z 0-9 _ . : -")
        lines = _order_lines(_body(required={"lines"})["lines"])
        order, created = store.place_order(customer_id, lines, idempotency_key=key)
        if created:
            return _created(order, f"/customers/{customer_id}/orders/{order['order_id']}")
        response = _versioned(order)
        response.headers["Idempotent-Replayed"] = "true"
        return response

    @app.get("/customers/<customer_id>/orders")
    def list_customer_orders(customer_id):
        items, cursor = store.list_customer_orders(_customer_id(customer_id), *_paging())
        return _listing(items, cursor)

    @app.get("/customers/<customer_id>/summary")
    def get_summary(customer_id):
        """Orders by status and money spent: a view kept current from the table's stream (summaries.py)."""
        return store.get_summary(_customer_id(customer_id))

    @app.get("/customers/<customer_id>/orders/<order_id>")
    def get_order(customer_id, order_id):
        return _versioned(store.get_order(*_order_ref(customer_id, order_id)))

    @app.post("/customers/<customer_id>/orders/<order_id>/<action>")
    def order_action(customer_id, order_id, action):
        transition = {"ship": store.ship_order, "deliver": store.deliver_order, "cancel": store.cancel_order}
        if action not in transition:
            raise NotFound(f"no action {action!r}; use ship, deliver or cancel")
        return _versioned(transition[action](*_order_ref(customer_id, order_id), _if_match(required=False)))

    @app.get("/orders")
    def list_orders_by_status():
        status = request.args.get("status", orders.PLACED)
        if status not in orders.STATUSES:
            raise BadRequest(f"status must be one of {', '.join(orders.STATUSES)}", field="status")
        items, cursor = store.list_orders_by_status(status, *_paging())
        return _listing(items, cursor)

    @app.get("/shipments/pending")
    def list_awaiting_shipment():
        items, cursor = store.list_awaiting_shipment(*_paging())
        return _listing(items, cursor)

    return app


# -- request parsing ----------------------------------------------------------------------------

_REQUEST_PREFIX = uuid.uuid4().hex[:8]
_request_numbers = itertools.count(1)


def _request_id():
    """The caller's X-Request-Id, or ``<process>-<n>``: unique, and no system call per request."""
    given = request.headers.get("X-Request-Id", "")
    if 0 < len(given) <= 64 and given.isprintable():
        return given
    return f"{_REQUEST_PREFIX}-{next(_request_numbers):x}"


def _body(required=frozenset(), optional=frozenset()):
    """The JSON object of the request; 400 for anything else, a missing field or an unknown one."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object (Content-Type: application/json)")
    unknown = sorted(set(body) - set(required) - set(optional))
    if unknown:
        raise BadRequest(f"unknown field {unknown[0]!r}", field=unknown[0])
    missing = sorted(set(required) - set(body))
    if missing:
        raise BadRequest(f"missing field {missing[0]!r}", field=missing[0])
    return body


def _text(body, name, required=True):
    if name not in body and not required:
        return None
    value = body.get(name)
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_NAME:
        raise BadRequest(f"{name} must be a non-empty string of at most {MAX_NAME} characters", field=name)
    return value.strip()


def _email(body, required=True):
    if "email" not in body and not required:
        return None
    value = body.get("email")
    if not isinstance(value, str) or not EMAIL.match(value):
        raise BadRequest("email must be an e-mail address", field="email")
    return value


def _integer(body, name, minimum, maximum, required=True):
    if name not in body and not required:
        return None
    value = body.get(name)
    if type(value) is not int or not minimum <= value <= maximum:
        raise BadRequest(f"{name} must be an integer from {minimum} to {maximum}", field=name)
    return value


def _order_lines(lines):
    if not isinstance(lines, list) or not 1 <= len(lines) <= orders.MAX_LINES:
        raise BadRequest(f"lines must be a list of 1 to {orders.MAX_LINES} lines", field="lines")
    out, seen = [], set()
    for n, line in enumerate(lines, 1):
        if not isinstance(line, dict) or set(line) != {"sku", "quantity"}:
            raise BadRequest(f"line {n} must be an object with sku and quantity", field="lines", line=n)
        sku, quantity = line["sku"], line["quantity"]
        if not isinstance(sku, str) or not keys.SKU.match(sku):
            raise BadRequest(f"line {n}: sku is not a valid SKU", field="lines", line=n)
        if type(quantity) is not int or not 1 <= quantity <= MAX_QUANTITY:
            raise BadRequest(f"line {n}: quantity must be an integer from 1 to {MAX_QUANTITY}", field="lines",
                             line=n)
        if sku in seen:
            raise BadRequest(f"line {n}: {sku} appears twice; put the whole quantity on one line",
                             field="lines", line=n)
        seen.add(sku)
        out.append((sku, quantity))
    return out


def _paging():
    text = request.args.get("limit", "20")
    if not text.isdigit() or not 1 <= int(text) <= orders.MAX_PAGE:
        raise BadRequest(f"limit must be an integer from 1 to {orders.MAX_PAGE}", field="limit")
    return int(text), request.args.get("cursor") or None


def _if_match(required):
    """The version an ``If-Match: "<version>"`` header expects; 428 if required and absent."""
    header = request.headers.get("If-Match")
    if header is None or header.strip() == "*":
        if required:
            raise PreconditionRequired('send If-Match: "<version>" with the version you read (its ETag)')
        return None
    text = header.strip().removeprefix("W/").strip('"')
    if not text.isdigit():
        raise BadRequest('If-Match must be an ETag of this service, e.g. "3"')
    return int(text)


def _customer_id(text):
    if not keys.CUSTOMER_ID.match(text):
        raise NotFound(f"customer {text} not found")
    return text


def _sku(text):
    if not keys.SKU.match(text):
        raise NotFound(f"product {text} not found")
    return text


def _order_ref(customer_id, order_id):
    customer_id = _customer_id(customer_id)
    if not keys.ORDER_ID.match(order_id):
        raise NotFound(f"order {order_id} not found")
    return customer_id, order_id


# -- responses ----------------------------------------------------------------------------------

def _versioned(resource, status=200):
    response = jsonify(resource)
    response.status_code = status
    if "version" in resource:
        response.headers["ETag"] = f'"{resource["version"]}"'
    return response


def _created(resource, location):
    response = _versioned(resource, 201)
    response.headers["Location"] = location
    return response


def _listing(items, cursor):
    return {"items": items, "next_cursor": cursor}


def _error(http_status, code, message, **details):
    body = {"error": dict({"code": code, "message": message}, **details, request_id=g.get("request_id"))}
    response = jsonify(body)
    response.status_code = http_status
    return response
