"""The orders service as an operator runs it: real processes, real sockets, real signals.

``python -m examples.orders`` embedded (data survives a clean restart) and
pointed at ``python -m kvstore serve`` by environment alone; the
create-tables and import-parameters commands.
"""

import http.client
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from examples.orders import schema

REPO = Path(__file__).resolve().parents[2]


class Process:
    """A child process whose output goes to a file, with the port it says it listens on."""

    def __init__(self, args, env, log, ready):
        self.log = log
        self.proc = subprocess.Popen([sys.executable, *args], cwd=REPO, env=env, stdout=log.open("wb"),
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            found = re.search(ready, self.output())
            if found:
                self.port = int(found.group(1))
                return
            if self.proc.poll() is not None:
                raise AssertionError(f"{args} exited {self.proc.returncode}:\n{self.output()}")
            time.sleep(0.05)
        self.proc.kill()
        raise AssertionError(f"{args} did not start:\n{self.output()}")

    def output(self):
        return self.log.read_text(errors="replace")

    def stop(self):
        """SIGTERM, as a service manager sends; the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


def environment(**extra):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ORDERS_", "KVSTORE_", "AWS_"))}
    env.update({"PYTHONPATH": str(REPO), "ORDERS_PORT": "0"})
    env.update(extra)
    return env


def orders_service(tmp_path, name, **env):
    return Process(["-m", "examples.orders"], environment(**env), tmp_path / f"{name}.log",
                   r"orders service on http://127\.0\.0\.1:(\d+)")


def call(port, method, path, body=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, body=None if body is None else json.dumps(body),
                     headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        return response.status, json.loads(response.read() or b"null")
    finally:
        conn.close()


def place_an_order(port):
    status, customer = call(port, "POST", "/customers", {"name": "Ada", "email": "ada@example.com"})
    assert status == 201, customer
    assert call(port, "POST", "/products", {"sku": "APPLE", "name": "Apple", "price_cents": 99, "stock": 5})[0] == 201
    status, order = call(port, "POST", f"/customers/{customer['customer_id']}/orders",
                         {"lines": [{"sku": "APPLE", "quantity": 2}]})
    assert status == 201, order
    return customer["customer_id"], order


@pytest.fixture
def kvstore_server(tmp_path):
    server = Process(["-m", "kvstore", "serve", "--in-memory", "--port", "0"], environment(),
                     tmp_path / "kvstore.log", r"listening on http://127\.0\.0\.1:(\d+)")
    yield server
    assert server.stop() == 0, server.output()


def test_embedded_orders_survive_a_clean_restart(tmp_path):
    data = tmp_path / "orders-data"
    first = orders_service(tmp_path, "first", ORDERS_DATA_DIR=str(data))
    customer_id, order = place_an_order(first.port)
    assert call(first.port, "GET", "/health")[1]["database"].startswith("kvstore embedded at")
    twin = subprocess.run([sys.executable, "-m", "examples.orders"], cwd=REPO, capture_output=True, text=True,
                          env=environment(ORDERS_DATA_DIR=str(data)), timeout=60)
    assert twin.returncode == 1 and "cannot start" in twin.stderr, twin.stderr
    assert first.stop() == 0, first.output()
    assert "stopped" in first.output()

    second = orders_service(tmp_path, "second", ORDERS_DATA_DIR=str(data))
    try:
        status, again = call(second.port, "GET", f"/customers/{customer_id}/orders/{order['order_id']}")
        assert (status, again) == (200, order)
        assert call(second.port, "GET", "/products/APPLE")[1]["stock"] == 3
    finally:
        assert second.stop() == 0, second.output()


def test_the_same_service_runs_on_kvstore_serve_by_configuration_alone(tmp_path, kvstore_server):
    endpoint = f"http://127.0.0.1:{kvstore_server.port}"
    service = orders_service(tmp_path, "wire", KVSTORE_ENDPOINT=endpoint, ORDERS_SUMMARIES_INTERVAL="0.1")
    try:
        status, health = call(service.port, "GET", "/health")
        assert status == 200 and health["database"] == f"DynamoDB API at {endpoint}"
        customer_id, order = place_an_order(service.port)
        status, short = call(service.port, "POST", f"/customers/{customer_id}/orders",
                             {"lines": [{"sku": "APPLE", "quantity": 4}]})
        assert status == 409 and short["error"]["lines"][0]["available"] == 3
        status, pending = call(service.port, "GET", "/shipments/pending")
        assert [o["order_id"] for o in pending["items"]] == [order["order_id"]]
        # the summary is kept by the service's stream consumer (boto3's dynamodbstreams client over HTTP)
        deadline = time.monotonic() + 30                 # a liveness bound, not a timing assertion
        while call(service.port, "GET", f"/customers/{customer_id}/summary")[1]["orders"] != 1:
            assert time.monotonic() < deadline, service.output()
            time.sleep(0.05)
        assert call(service.port, "GET", f"/customers/{customer_id}/summary")[1]["spent_cents"] == 198
    finally:
        assert service.stop() == 0, service.output()
    assert "embedded" not in service.output()


def test_create_tables_then_a_service_that_does_not_create_them(tmp_path, kvstore_server):
    env = environment(AWS_ENDPOINT_URL=f"http://127.0.0.1:{kvstore_server.port}", ORDERS_TABLE="shop",
                      ORDERS_CREATE_TABLES="0")
    refused = subprocess.run([sys.executable, "-m", "examples.orders"], cwd=REPO, env=env, capture_output=True,
                             text=True, timeout=60)
    assert refused.returncode == 1 and "create-tables" in refused.stderr
    for expected in ("created", "already exists"):
        done = subprocess.run([sys.executable, "-m", "examples.orders", "create-tables"], cwd=REPO, env=env,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0 and f"table shop {expected}" in done.stderr, done.stderr
    service = orders_service(tmp_path, "shop", AWS_ENDPOINT_URL=env["AWS_ENDPOINT_URL"], ORDERS_TABLE="shop",
                             ORDERS_CREATE_TABLES="0")
    try:
        place_an_order(service.port)
    finally:
        assert service.stop() == 0, service.output()


def test_import_parameters_print_the_schema():
    done = subprocess.run([sys.executable, "-m", "examples.orders", "import-parameters"], cwd=REPO,
                          env=environment(ORDERS_TABLE="shop"), capture_output=True, text=True, timeout=60)
    assert done.returncode == 0
    assert json.loads(done.stdout) == schema.import_parameters("shop")


def test_a_bad_setting_stops_the_service_with_its_name(tmp_path):
    done = subprocess.run([sys.executable, "-m", "examples.orders"], cwd=REPO, env=environment(ORDERS_PORT="web"),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "ORDERS_PORT" in done.stderr
