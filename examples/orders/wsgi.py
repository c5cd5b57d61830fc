"""The WSGI entry point for a production server, configured from the environment like ``serve``.

    waitress-serve --threads 16 --listen 127.0.0.1:8080 examples.orders.wsgi:app
    gunicorn --workers 1 --threads 16 --bind 127.0.0.1:8080 'examples.orders.wsgi:app'

The app also reads the table's stream to keep the order summaries current
(summaries.py; ``ORDERS_SUMMARIES_INTERVAL=0`` turns that off in a process).

One worker process when the database is kvstore embedded: the data directory
belongs to one process (kvstore locks it), and threads are how that process
serves requests side by side.  Against DynamoDB or ``kvstore serve`` the
service holds no state and any number of workers is fine.  The database is
closed when the worker exits.
"""

import atexit
import logging

from examples.orders import schema
from examples.orders.app import create_app
from examples.orders.config import Settings, connect, connect_streams
from examples.orders.store import Store
from examples.orders.summaries import SummaryProjector

log = logging.getLogger("orders")


class TableMissing(RuntimeError):
    pass


def build(settings=None):
    """``(app, close)`` for ``settings`` (default: from the environment); the table made ready first."""
    settings = settings or Settings.from_env()
    resource_factory, close = connect(settings)
    try:
        resource = resource_factory()
        if settings.create_tables:
            if schema.create_table(resource, settings.table):
                log.info("created table %s", settings.table)
        elif not schema.table_exists(resource, settings.table):
            raise TableMissing(f"table {settings.table} does not exist on {settings.describe()}: run "
                               "`python -m examples.orders create-tables` (or set ORDERS_CREATE_TABLES=1)")
        app = create_app(Store(resource_factory, settings.table), settings.describe(),
                         access_log=settings.access_log)
        projector = None
        if settings.summaries_interval:
            projector = SummaryProjector(resource_factory, connect_streams(settings, resource), settings.table)
            projector.start(settings.summaries_interval)
    except BaseException:
        close()
        raise

    def close_all():
        if projector is not None:
            projector.stop()
        close()
    return app, close_all


def __getattr__(name):
    """``app`` is built on first access, so importing this module for ``build`` has no side effects."""
    if name != "app":
        raise AttributeError(name)
    global app
    app, close = build()
    atexit.register(close)
    return app
