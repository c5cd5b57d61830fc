"""Drive the orders service over HTTP and report latency per endpoint.

    python -m examples.orders.load --spawn                      # start a service (embedded, temp dir), load it
    python -m examples.orders.load --url http://127.0.0.1:8080  # load a running service
    python -m examples.orders.load --spawn --clients 16 --duration 30 --json results.json

N client threads, each with its own keep-alive ``http.client`` connection,
run a shop-like mix (browse products, place orders, read them back, list,
ship) for a bounded time, then print p50 / p90 / p99 / max per endpoint, as
seen by the client: that is the service's edge latency plus the loopback hop.
Set-up requests (products, customers) are not measured.  Expected refusals
(409 out of stock) count as answers; any other non-2xx is an error.

It only targets loopback unless ``--allow-remote`` is given, and it stops by
itself (``--duration``, at most 600 s).
"""

import argparse
import http.client
import json
import os
import platform
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlsplit

MAX_DURATION = 600
LOOPBACK = ("127.0.0.1", "localhost", "::1")

#: the mix: (weight, operation name)
MIX = (
    (25, "get_order"),
    (20, "get_product"),
    (20, "place_order"),
    (15, "list_customer_orders"),
    (5, "list_orders_by_status"),
    (5, "list_pending_shipments"),
    (5, "ship_order"),
    (5, "health"),
)


class Client:
    """One keep-alive connection; ``request`` returns (status, body) and records the latency."""

    def __init__(self, host, port, samples):
        self.host, self.port = host, port
        self.samples = samples
        self.conn = http.client.HTTPConnection(host, port, timeout=10)

    def request(self, label, method, path, body=None, record=True):
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"} if data is not None else {}
        started = time.perf_counter()
        try:
            self.conn.request(method, path, body=data, headers=headers)
            response = self.conn.getresponse()
            payload = response.read()
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
            if record:
                self.samples[label].append((time.perf_counter() - started, 599))
            return 599, None
        elapsed = time.perf_counter() - started
        if record:
            self.samples[label].append((elapsed, response.status))
        return response.status, json.loads(payload) if payload else None

    def close(self):
        self.conn.close()


def set_up(client, products, customers, run_id):
    skus = [f"LOAD-{run_id}-{n}" for n in range(products)]
    for sku in skus:
        status, body = client.request(None, "POST", "/products", {
            "sku": sku, "name": f"Load product {sku}", "price_cents": 100 + len(sku), "stock": 10_000_000},
            record=False)
        if status != 201:
            raise SystemExit(f"cannot create product {sku}: {status} {body}")
    ids = []
    for n in range(customers):
        status, body = client.request(None, "POST", "/customers", {
            "name": f"Load {n}", "email": f"load-{run_id}-{n}@example.com"}, record=False)
        if status != 201:
            raise SystemExit(f"cannot create a customer: {status} {body}")
        ids.append(body["customer_id"])
    return skus, ids


def shopper(client, skus, customers, deadline, seed):
    """One client's loop: a weighted random mix until the deadline."""
    rng = random.Random(seed)
    names = [name for weight, name in MIX for _ in range(weight)]
    placed = []           # (customer, order id) this client placed and has not shipped
    while time.monotonic() < deadline:
        op = rng.choice(names)
        cid = rng.choice(customers)
        if op == "place_order" or (op in ("get_order", "ship_order") and not placed):
            lines = [{"sku": sku, "quantity": rng.randint(1, 3)} for sku in rng.sample(skus, rng.randint(1, 3))]
            status, body = client.request("POST /customers/{id}/orders", "POST", f"/customers/{cid}/orders",
                                          {"lines": lines})
            if status == 201:
                placed.append((cid, body["order_id"]))
        elif op == "get_order":
            owner, oid = rng.choice(placed)
            client.request("GET /customers/{id}/orders/{id}", "GET", f"/customers/{owner}/orders/{oid}")
        elif op == "ship_order":
            owner, oid = placed.pop(rng.randrange(len(placed)))
            client.request("POST /customers/{id}/orders/{id}/ship", "POST",
                           f"/customers/{owner}/orders/{oid}/ship")
        elif op == "get_product":
            client.request("GET /products/{sku}", "GET", f"/products/{rng.choice(skus)}")
        elif op == "list_customer_orders":
            client.request("GET /customers/{id}/orders", "GET", f"/customers/{cid}/orders?limit=10")
        elif op == "list_orders_by_status":
            client.request("GET /orders?status=PLACED", "GET", "/orders?status=PLACED&limit=20")
        elif op == "list_pending_shipments":
            client.request("GET /shipments/pending", "GET", "/shipments/pending?limit=20")
        else:
            client.request("GET /health", "GET", "/health")


def percentile(sorted_values, p):
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(round(p / 100 * (len(sorted_values) - 1))))]


def summarize(samples, elapsed):
    rows = []
    everything = []
    for label in sorted(samples):
        values = samples[label]
        latencies = sorted(v for v, _ in values)
        everything += latencies
        errors = sum(1 for _, status in values if status >= 400 and status != 409)
        refused = sum(1 for _, status in values if status == 409)
        rows.append({"endpoint": label, "requests": len(values), "per_second": len(values) / elapsed,
                     "p50_ms": percentile(latencies, 50) * 1e3, "p90_ms": percentile(latencies, 90) * 1e3,
                     "p99_ms": percentile(latencies, 99) * 1e3, "max_ms": latencies[-1] * 1e3 if latencies else 0,
                     "refused_409": refused, "errors": errors})
    everything.sort()
    total = {"endpoint": "all", "requests": len(everything), "per_second": len(everything) / elapsed,
             "p50_ms": percentile(everything, 50) * 1e3, "p90_ms": percentile(everything, 90) * 1e3,
             "p99_ms": percentile(everything, 99) * 1e3, "max_ms": everything[-1] * 1e3 if everything else 0,
             "refused_409": sum(r["refused_409"] for r in rows), "errors": sum(r["errors"] for r in rows)}
    return rows + [total]


def render(rows, header):
    lines = [header, "",
             "| endpoint | requests | req/s | p50 ms | p90 ms | p99 ms | max ms | 409 | errors |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        name = f"**{r['endpoint']}**" if r["endpoint"] == "all" else f"`{r['endpoint']}`"
        lines.append(f"| {name} | {r['requests']} | {r['per_second']:.0f} | {r['p50_ms']:.2f} | {r['p90_ms']:.2f} "
                     f"| {r['p99_ms']:.2f} | {r['max_ms']:.1f} | {r['refused_409']} | {r['errors']} |")
    return "\n".join(lines)


def spawn(env_overrides):
    """Start ``python -m examples.orders`` on a free port with a temporary data directory."""
    data = tempfile.mkdtemp(prefix="orders-load-")
    env = dict(os.environ, ORDERS_PORT="0", ORDERS_DATA_DIR=os.path.join(data, "db"), **env_overrides)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(Path(__file__).resolve().parents[2]),
                                                      env.get("PYTHONPATH")]))
    log = open(os.path.join(data, "service.log"), "w+b")
    proc = subprocess.Popen([sys.executable, "-m", "examples.orders"], env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        log.seek(0)
        found = re.search(rb"orders service on http://([\d.]+):(\d+)", log.read())
        if found:
            return proc, f"http://{found.group(1).decode()}:{found.group(2).decode()}"
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.kill()
    log.seek(0)
    raise SystemExit("the service did not start:\n" + log.read().decode(errors="replace"))


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m examples.orders.load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8080", help="the service (default: %(default)s)")
    parser.add_argument("--spawn", action="store_true",
                        help="start the service (python -m examples.orders, temporary data dir) and stop it after; "
                             "ORDERS_* / KVSTORE_ENDPOINT from the environment pick its backend")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (default: %(default)s)")
    parser.add_argument("--duration", type=float, default=15, help="seconds of load (default: %(default)s)")
    parser.add_argument("--warmup", type=float, default=2, help="unmeasured seconds first (default: %(default)s)")
    parser.add_argument("--products", type=int, default=50)
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    parser.add_argument("--allow-remote", action="store_true", help="allow a non-loopback --url")
    args = parser.parse_args(argv)
    if not 0 < args.duration <= MAX_DURATION:
        parser.error(f"--duration must be in (0, {MAX_DURATION}]")
    if not 1 <= args.clients <= 256:
        parser.error("--clients must be from 1 to 256")

    proc = None
    url = args.url
    if args.spawn:
        proc, url = spawn({})
    try:
        target = urlsplit(url)
        if target.hostname not in LOOPBACK and not args.allow_remote:
            parser.error(f"{target.hostname} is not loopback; pass --allow-remote to load it")
        host, port = target.hostname, target.port or 80
        setup = Client(host, port, defaultdict(list))
        status, health = setup.request(None, "GET", "/health", record=False)
        if status != 200:
            raise SystemExit(f"{url}/health answered {status}: {health}")
        run_id = f"{int(time.time()) % 100000}{random.Random().randrange(1000):03d}"
        skus, customers = set_up(setup, args.products, args.customers, run_id)
        setup.close()

        if args.warmup > 0:
            run(host, port, args.clients, args.warmup, skus, customers, args.seed + 1000)
        samples, elapsed = run(host, port, args.clients, args.duration, skus, customers, args.seed)
        rows = summarize(samples, elapsed)
        header = (f"{args.clients} clients, {elapsed:.1f} s, {url} ({health['database']}); "
                  f"{os.cpu_count()} cores, {platform.python_implementation()} {platform.python_version()}, "
                  f"load generator on the same machine")
        print(render(rows, header))
        if args.json:
            Path(args.json).write_text(json.dumps({"header": header, "rows": rows}, indent=2))
    finally:
        if proc is not None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)
    return 0


def run(host, port, clients, duration, skus, customers, seed):
    samples = [defaultdict(list) for _ in range(clients)]
    connections = [Client(host, port, samples[n]) for n in range(clients)]
    deadline = time.monotonic() + duration
    threads = [threading.Thread(target=shopper, args=(connections[n], skus, customers, deadline, seed + n))
               for n in range(clients)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    for c in connections:
        c.close()
    merged = defaultdict(list)
    for per_client in samples:
        for label, values in per_client.items():
            merged[label] += values
    return merged, elapsed


if __name__ == "__main__":
    sys.exit(main())
