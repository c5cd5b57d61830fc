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
    if args.command == "serve":
        return serve(settings)
    resource_factory, close = connect(settings)
    try:
        created = schema.create_table(resource_factory(), settings.table)
    finally:
        close()
    log.info("table %s %s on %s", settings.table, "created" if created else "already exists", settings.describe())
    return 0


def serve(settings):
    """Run the app under waitress until SIGINT / SIGTERM, then drain and close the database."""
    import waitress

    from examples.orders.wsgi import build

    try:
        app, close = build(settings)
    except Exception as e:  # a missing table, a locked data directory, an unreachable endpoint...
        log.error("cannot start: %s", e)
        return 1
    lifecycle = app.extensions["orders.lifecycle"]
    try:
        server = waitress.create_server(app, host=settings.host, port=settings.port, threads=settings.threads,
                                        ident="orders")
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        threading.Thread(target=server.run, name="http", daemon=True).start()
        log.info("orders service on http://%s:%s, %s, %d threads", settings.host, server.effective_port,
                 settings.describe(), settings.threads)
        stop.wait()
        log.info("shutting down: finishing requests in flight")
        if not lifecycle.drain(DRAIN_SECONDS):
            log.warning("requests still running after %d s; closing anyway", DRAIN_SECONDS)
        server.close()
    finally:
        close()
    log.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
