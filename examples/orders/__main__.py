"""``python -m examples.orders [serve | create-tables | import-parameters]``.

    serve              (default) run the service; configuration from the environment (config.py)
    create-tables      create the table where the configuration points, and exit
    import-parameters  print the TableCreationParameters for DynamoDB's import from S3

``serve`` stops cleanly on SIGINT / SIGTERM: it stops accepting requests,
lets the running ones finish (up to 10 s), then closes the database so
kvstore's log is flushed and its directory lock released.
"""

import argparse
import json
import logging
import signal
import sys
import threading

from examples.orders import schema
from examples.orders.config import ConfigError, Settings, connect

log = logging.getLogger("orders")
DRAIN_SECONDS = 10


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m examples.orders", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", nargs="?", default="serve", choices=("serve", "create-tables", "import-parameters"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = Settings.from_env()
    except ConfigError as e:
        log.error("%s", e)
        return 2
    if args.command == "import-parameters":
        print(json.dumps(schema.import_parameters(settings.table), indent=2))
        return 0
    resource_factory, close = connect(settings)
    try:
        if args.command == "create-tables":
            created = schema.create_table(resource_factory(), settings.table)
            log.info("table %s %s on %s", settings.table, "created" if created else "already exists",
                     settings.describe())
            return 0
        return serve(settings, resource_factory)
    finally:
        close()


def serve(settings, resource_factory):
    from werkzeug.serving import WSGIRequestHandler, make_server

    from examples.orders.app import Lifecycle, create_app
    from examples.orders.store import Store

    resource = resource_factory()
    if settings.create_tables:
        if schema.create_table(resource, settings.table):
            log.info("created table %s", settings.table)
    elif not schema.table_exists(resource, settings.table):
        log.error("table %s does not exist on %s: run `python -m examples.orders create-tables` "
                  "(or set ORDERS_CREATE_TABLES=1)", settings.table, settings.describe())
        return 1

    lifecycle = Lifecycle()
    app = create_app(Store(resource_factory, settings.table), settings.describe(), lifecycle)

    class Handler(WSGIRequestHandler):
        def log_request(self, *args, **kwargs):
            if settings.access_log:
                super().log_request(*args, **kwargs)

    server = make_server(settings.host, settings.port, app, threaded=True, request_handler=Handler)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    thread = threading.Thread(target=server.serve_forever, name="http", daemon=True)
    thread.start()
    log.info("orders service on http://%s:%d, %s", settings.host, server.port, settings.describe())
    stop.wait()
    log.info("shutting down: finishing requests in flight")
    if not lifecycle.drain(DRAIN_SECONDS):
        log.warning("requests still running after %d s; closing anyway", DRAIN_SECONDS)
    server.shutdown()
    server.server_close()
    log.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
