"""Real second servers for the migration tests: ``kvstore serve`` (a subprocess) and moto's server.

moto stands in for a third-party DynamoDB endpoint that is not kvstore (its own item
ordering, segmenting, number spelling and descriptions), so a copy that only works
between two kvstores would fail there.  Both listen on 127.0.0.1 only.
"""

import os
import re
import signal
import subprocess
import sys
from decimal import Decimal

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LISTENING = re.compile(r"kvstore listening on (http://127\.0\.0\.1:\d+)")


@pytest.fixture(autouse=True)
def aws_environment(monkeypatch):
    """Credentials and region as boto3 finds them: the environment (no profile files)."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


class Served:
    """``kvstore serve --port 0`` on a directory (or in memory), as a user runs it."""

    def __init__(self, *args):
        env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
        self.process = subprocess.Popen([sys.executable, "-m", "kvstore", "serve", "--port", "0", *args],
                                        stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
        lines = []
        while True:
            line = self.process.stderr.readline()
            if not line:
                raise AssertionError("server exited before listening:\n" + "".join(lines))
            lines.append(line)
            match = LISTENING.search(line)
            if match:
                self.url = match.group(1)
                return

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        self.process.stderr.read()
        return self.process.wait(timeout=60)


@pytest.fixture
def served():
    server = Served("--in-memory")
    yield server
    server.stop()


@pytest.fixture
def moto_url():
    from moto.server import ThreadedMotoServer
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    _moto_reset(url)          # moto's backends are global to the process: start each test empty
    yield url
    _moto_reset(url)
    server.stop()


def _moto_reset(url):
    import urllib.request
    urllib.request.urlopen(urllib.request.Request(url + "/moto-api/reset", method="POST"), timeout=30).read()


SCHEMA = dict(
    KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
    AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "N"},
                          {"AttributeName": "g", "AttributeType": "S"}, {"AttributeName": "l", "AttributeType": "B"}],
    BillingMode="PAY_PER_REQUEST",
    GlobalSecondaryIndexes=[{"IndexName": "by-g", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                             "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["m"]}}],
    LocalSecondaryIndexes=[{"IndexName": "by-l", "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                                                               {"AttributeName": "l", "KeyType": "RANGE"}],
                            "Projection": {"ProjectionType": "KEYS_ONLY"}}],
)


def sample_item(i):
    """Every attribute type, sets with several members (their order differs between stores)."""
    return {"pk": f"p{i % 37}", "sk": Decimal(i), "g": f"g{i % 5}", "l": bytes([i % 256, 1]),
            "n": Decimal("1.50") * i, "ss": {f"s{i}", "a", "zz"}, "ns": {Decimal(1), Decimal("2.5"), Decimal(i + 3)},
            "bs": {b"\x00", bytes([i % 256 + 0]) + b"x"}, "m": {"x": [Decimal(i), "a", None, True, {"y": b"\xff"}]},
            "bool": i % 2 == 0, "null": None, "text": "é" * (i % 5)}


def make_directory(path, count, ttl="expires"):
    import kvstore
    with kvstore.open(str(path)) as db:
        table = db.create_table(TableName="orders", **SCHEMA)
        if ttl:
            db.meta.client.update_time_to_live(TableName="orders",
                                               TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl})
        with table.batch_writer() as writer:
            for i in range(count):
                writer.put_item(Item=sample_item(i))
    return str(path)


def native_item(i):
    """``sample_item(i)`` in kvstore's native model (what the migration sides take)."""
    from kvstore.types import from_python
    return {k: from_python(v) for k, v in sample_item(i).items()}
