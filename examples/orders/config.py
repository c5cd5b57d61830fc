"""Configuration from the environment, and the one place that picks the database.

    (nothing set)                    kvstore embedded, data in ./orders-data
    ORDERS_DATA_DIR=/var/lib/orders  kvstore embedded, elsewhere (":memory:" for a throw-away one)
    KVSTORE_ENDPOINT=http://127.0.0.1:8000
                                     a `kvstore serve` through boto3 (AWS_ENDPOINT_URL works too)
    ORDERS_BACKEND=dynamodb          DynamoDB through boto3, credentials and region from the
                                     usual AWS chain (env, ~/.aws, instance role)
    ORDERS_SUMMARIES_INTERVAL=1      seconds between reads of the table's stream for the order
                                     summaries (0: this process does not update them)

Every other module receives what :func:`connect` builds and never asks which
backend it is talking to.
"""

import os
import threading
from dataclasses import dataclass

from examples.orders.schema import DEFAULT_TABLE

BACKENDS = ("embedded", "dynamodb")


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    backend: str = "embedded"
    data_dir: str = "./orders-data"
    durability: str = "sync"
    endpoint_url: str | None = None
    region: str = "us-east-1"
    table: str = DEFAULT_TABLE
    create_tables: bool = True
    host: str = "127.0.0.1"
    port: int = 8080
    threads: int = 16
    access_log: bool = False
    summaries_interval: float = 1.0

    @classmethod
    def from_env(cls, environ=None):
        env = os.environ if environ is None else environ
        endpoint = env.get("KVSTORE_ENDPOINT") or env.get("AWS_ENDPOINT_URL_DYNAMODB") or env.get("AWS_ENDPOINT_URL")
        backend = env.get("ORDERS_BACKEND") or ("dynamodb" if endpoint else "embedded")
        if backend not in BACKENDS:
            raise ConfigError(f"ORDERS_BACKEND must be one of {', '.join(BACKENDS)}, not {backend!r}")
        durability = env.get("ORDERS_DURABILITY", "sync")
        if durability not in ("sync", "batch", "none"):
            raise ConfigError(f"ORDERS_DURABILITY must be sync, batch or none, not {durability!r}")
        # A local kvstore (embedded or `kvstore serve`) is ours to set up; an AWS account's table is
        # created by whoever owns the account (create-tables, IaC), not by a service starting.
        default_create = "1" if backend == "embedded" or endpoint else "0"
        return cls(
            backend=backend,
            data_dir=env.get("ORDERS_DATA_DIR", cls.data_dir),
            durability=durability,
            endpoint_url=endpoint,
            region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or cls.region,
            table=env.get("ORDERS_TABLE", DEFAULT_TABLE),
            create_tables=_flag(env, "ORDERS_CREATE_TABLES", default_create),
            host=env.get("ORDERS_HOST", cls.host),
            port=_port(env.get("ORDERS_PORT", str(cls.port))),
            threads=_threads(env.get("ORDERS_THREADS", str(cls.threads))),
            access_log=_flag(env, "ORDERS_ACCESS_LOG", "0"),
            summaries_interval=_interval(env.get("ORDERS_SUMMARIES_INTERVAL", str(cls.summaries_interval))),
        )

    def describe(self):
        """One line for the start-up log and the health endpoint (no secrets in it)."""
        if self.backend == "embedded":
            return f"kvstore embedded at {self.data_dir} (durability {self.durability})"
        return f"DynamoDB API at {self.endpoint_url or 'AWS ' + self.region}"


def connect(settings):
    """``(resource_factory, close)`` for the configured backend.

    ``resource_factory()`` returns an object shaped like
    ``boto3.resource("dynamodb")``: kvstore's embedded database (one,
    thread-safe, shared by every thread) or a new boto3 resource (boto3
    resources must not be shared between threads; the store asks once per
    thread).  ``close()`` releases the database (flushes kvstore's log and
    its directory lock).
    """
    if settings.backend == "embedded":
        import kvstore
        db = kvstore.open(settings.data_dir, durability=settings.durability)
        return (lambda: db), db.close

    session, options = _boto3_session(settings)
    lock = threading.Lock()   # creating clients from one session is not thread-safe; using them is

    def resource():
        with lock:
            return session.resource("dynamodb", **options)

    return resource, (lambda: None)


def connect_streams(settings, resource):
    """A DynamoDB Streams client for the configured backend (``resource``: what :func:`connect` gave).

    kvstore embedded answers the Streams API itself (``db.client("dynamodbstreams")``,
    boto3's shapes); otherwise boto3's ``dynamodbstreams`` client at the same endpoint.
    """
    if settings.backend == "embedded":
        return resource.client("dynamodbstreams")
    session, options = _boto3_session(settings)
    return session.client("dynamodbstreams", **options)


def _boto3_session(settings):
    import boto3
    from botocore.config import Config

    session = boto3.session.Session(region_name=settings.region)
    options = {"endpoint_url": settings.endpoint_url,
               "config": Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=2,
                                read_timeout=10, tcp_keepalive=True)}
    if settings.endpoint_url and session.get_credentials() is None:
        # `kvstore serve` without --credentials accepts any signature, but boto3 must sign with something
        options.update(aws_access_key_id="kvstore", aws_secret_access_key="kvstore")
    return session, options


def _flag(env, name, default):
    value = env.get(name, default).strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise ConfigError(f"{name} must be 1 or 0, not {value!r}")


def _interval(text):
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1
    if not 0 <= seconds <= 3600:
        raise ConfigError(f"ORDERS_SUMMARIES_INTERVAL must be seconds from 0 (off) to 3600, not {text!r}")
    return seconds


def _threads(text):
    if not text.isdigit() or not 1 <= int(text) <= 512:
        raise ConfigError(f"ORDERS_THREADS must be a number of threads from 1 to 512, not {text!r}")
    return int(text)


def _port(text):
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise ConfigError(f"ORDERS_PORT must be a port number, not {text!r}")
    return port
