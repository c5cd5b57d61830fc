"""``kvstore serve``: run the DynamoDB-compatible HTTP server.

    kvstore serve                          # ./kvstore-data, http://127.0.0.1:8000
    kvstore serve --in-memory --port 0     # throw-away database, any free port
    kvstore serve --data-dir /var/lib/kv --host 0.0.0.0 --credentials creds.ini \\
                  --tls-cert cert.pem --tls-key key.pem
    kvstore serve --idle-timeout 30 --header-timeout 10 --max-connections 1000 \\
                  --cors https://app.example.com

Point any DynamoDB SDK at it with ``endpoint_url``.  It binds to loopback
unless told otherwise.  Requests must be SigV4-signed and current (as DynamoDB
Local requires).  Without credentials any key and secret pass (like DynamoDB
Local) and it says so; with ``--credentials`` (a file only its owner can read)
or ``KVSTORE_ACCESS_KEY_ID``/``KVSTORE_SECRET_ACCESS_KEY`` it verifies the
signature, and each key reaches its account's tables in the region it signs
for (docs/security.md).
SIGINT / SIGTERM stop it cleanly: requests in flight finish, then the
database closes (its log flushed).

Imports happen inside :func:`main` so the server answers its first request
quickly.
"""

import argparse
import os
import sys

# The HTTP front is imported at once for its defaults: the server loads it before its first answer anyway.
from kvstore.server.app import HEADER_TIMEOUT, IDLE_TIMEOUT, MAX_CONNECTIONS

DEFAULT_DATA_DIR = "./kvstore-data"
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def build_parser():
    parser = argparse.ArgumentParser(
        prog="kvstore serve", description="Serve a kvstore database over DynamoDB's HTTP API.")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--data-dir", "--db", dest="data_dir", default=None, metavar="DIR",
                       help=f"database directory (default: {DEFAULT_DATA_DIR})")
    where.add_argument("--in-memory", action="store_true", help="keep the database in memory only")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port to bind, 0 for any free port (default: 8000)")
    parser.add_argument("--durability", choices=("sync", "batch", "none"), default="batch",
                        help="when a write is on disk: before it is acknowledged (sync), "
                             "within a short interval (batch, default), or left to the OS (none)")
    parser.add_argument("--stream-shard-seconds", type=float, default=None, metavar="SECONDS",
                        help="roll DynamoDB Streams shards over this often (default: 4 hours, as DynamoDB)")
    parser.add_argument("--log-level", default="info",
                        choices=("debug", "info", "warning", "error", "critical"))
    parser.add_argument("--credentials", metavar="FILE",
                        help="verify SigV4 signatures with the access keys in FILE (AWS credentials format "
                             "with optional aws_account_id, read_only and policy per profile, or 'KEY_ID SECRET' "
                             "lines; mode 0600: docs/security.md)")
    parser.add_argument("--tls-cert", metavar="FILE", help="serve HTTPS with this certificate (PEM)")
    parser.add_argument("--tls-key", metavar="FILE", help="private key of --tls-cert (PEM)")
    parser.add_argument("--threads", type=int, default=64,
                        help="threads for requests that may block: table operations, backups, imports (default: 64)")
    parser.add_argument("--backup-plan", action="append", default=[], metavar="NAME:EVERY:KEEP[:TABLES]",
                        help="take backups on a schedule and keep the newest KEEP per table, e.g. hourly:1h:24 "
                             "(repeatable; TABLES: comma-separated, default all)")
    parser.add_argument("--config", metavar="FILE",
                        help="TOML file with [[backup_plan]] tables (name, every, keep, tables)")
    parser.add_argument("--enforce-capacity", action="store_true",
                        help="throttle past each table's and GSI's capacity as DynamoDB does (docs/testing-failures.md)")
    parser.add_argument("--contention", action="store_true",
                        help="concurrent transactions on one item conflict (TransactionConflict) as in DynamoDB")
    parser.add_argument("--faults", metavar="FILE",
                        help="inject the faults described in FILE (JSON; docs/testing-failures.md)")
    parser.add_argument("--fault-endpoint", action="store_true",
                        help="serve GET/POST /_kvstore/faults to read and replace the fault rules "
                             "(on the server's own address; anyone who reaches it can break requests)")
    parser.add_argument("--no-metrics", action="store_true",
                        help="record no request metrics and serve no GET /metrics (docs/operations.md)")
    parser.add_argument("--metrics-token-file", metavar="FILE",
                        help="GET /metrics answers only with 'Authorization: Bearer <token>', the token being "
                             "FILE's content (Prometheus: authorization.credentials_file)")
    parser.add_argument("--all-in-threads", action="store_true",
                        help="serve every request from the thread pool (for measurement; reads and item writes run "
                             "on the event loop by default)")
    edges = parser.add_argument_group("HTTP connections")
    edges.add_argument("--idle-timeout", type=_seconds, default=IDLE_TIMEOUT, metavar="SECONDS",
                       help="close a keep-alive connection idle this long, or whose client stops sending a body "
                            f"or reading its answers (0: never; default {IDLE_TIMEOUT:g})")
    edges.add_argument("--header-timeout", type=_seconds, default=HEADER_TIMEOUT, metavar="SECONDS",
                       help="a request's line and headers (and a new connection's first request) must arrive "
                            f"within this, else 408 and close (0: no limit; default {HEADER_TIMEOUT:g})")
    edges.add_argument("--max-connections", type=_positive, default=MAX_CONNECTIONS, metavar="N",
                       help=f"open connections at most; past it a new one is answered 503 ServiceUnavailable "
                            f"and closed (default {MAX_CONNECTIONS})")
    edges.add_argument("--cors", type=_cors, default="*", metavar="ORIGINS",
                       help="origins browsers may call from, as DynamoDB Local's -cors: '*' (default) or a "
                            "comma-separated list; 'none' sends no CORS headers")
    return parser


def _seconds(text):
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"not a number of seconds >= 0: {text!r}")
    return value


def _cors(text):
    if text.strip().lower() == "none":
        return None
    from kvstore.server.cors import Cors
    try:
        return Cors(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _positive(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {text!r}")
    return value


def _raise_open_files_limit(connections, log):
    """Raise the soft limit on open files so ``connections`` sockets fit (plus the database's files)."""
    try:
        import resource
    except ImportError:              # not POSIX
        return
    need = connections + 256
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= need:
        return
    target = need if hard == resource.RLIM_INFINITY else min(need, hard)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (OSError, ValueError):
        target = soft
    if target < need:
        log.warning("open files limited to %d: fewer than --max-connections %d connections may be accepted",
                    target, connections)


def main(argv=None):
    args = build_parser().parse_args(argv)
    if bool(args.tls_cert) != bool(args.tls_key):
        print("kvstore serve: --tls-cert and --tls-key go together", file=sys.stderr)
        return 2

    import logging
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    log = logging.getLogger("kvstore.server")

    from kvstore.server import auth
    try:
        keys = auth.load_keys(args.credentials) if args.credentials else auth.credentials_from_env()
    except (OSError, ValueError) as e:
        log.error("cannot read credentials: %s", e)
        return 2

    ssl_context = None
    if args.tls_cert:
        import ssl
        ssl_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        try:
            ssl_context.load_cert_chain(args.tls_cert, args.tls_key)
        except (OSError, ssl.SSLError) as e:
            log.error("cannot load TLS certificate: %s", e)
            return 2

    metrics_token = None
    if args.metrics_token_file:
        try:
            with open(args.metrics_token_file, encoding="utf-8") as f:
                metrics_token = f.read().strip()
        except OSError as e:
            log.error("cannot read the metrics token: %s", e)
            return 2
        if not metrics_token:
            log.error("the metrics token file %s is empty", args.metrics_token_file)
            return 2
        if args.no_metrics:
            log.error("--metrics-token-file and --no-metrics exclude each other")
            return 2

    from kvstore.engine.plans import BackupPlan, load_config
    try:
        plans = load_config(args.config) if args.config else []
        plans += [BackupPlan.parse(spec) for spec in args.backup_plan]
    except (OSError, ValueError) as e:
        log.error("bad backup plan: %s", e)
        return 2
    if len({p.name for p in plans}) != len(plans):
        log.error("bad backup plan: two plans have the same name")
        return 2

    # before the database's and the server's threads exist (kvstore/server/memory.py: RSS stays flat)
    from kvstore.server import memory
    memory.limit_arenas()
    memory.pin_mmap_threshold()

    import kvstore
    path = ":memory:" if args.in_memory else (args.data_dir or DEFAULT_DATA_DIR)
    fault_specs = []
    if args.faults:
        from kvstore.faults import FaultRule
        try:
            import json
            with open(args.faults, encoding="utf-8") as f:
                spec = json.load(f)
            fault_specs = spec.get("faults", []) if isinstance(spec, dict) else spec
            for s in fault_specs:
                FaultRule.from_dict(s)
        except (OSError, ValueError, TypeError) as e:
            log.error("cannot read faults from %s: %s", args.faults, e)
            return 2

    def open_database(where, **identity):
        """A database with the server's options (each gets its own fault rules: they count their firings)."""
        from kvstore.faults import FaultRule
        options = {} if args.stream_shard_seconds is None else {"stream_shard_seconds": args.stream_shard_seconds}
        return kvstore.open(where, durability=args.durability, backup_plans=plans,
                            capacity="enforce" if args.enforce_capacity else "report", contention=args.contention,
                            faults=[FaultRule.from_dict(s) for s in fault_specs], metrics=not args.no_metrics,
                            **options, **identity)

    try:
        db = open_database(path)
    except Exception as e:
        log.error("cannot open database %s: %s", path, e)
        return 1

    import asyncio
    import signal

    from kvstore.server.app import Server, inline_nothing
    from kvstore.server.handler import RequestHandler

    from kvstore.server.accounts import Accounts, directory_of
    accounts = None
    if keys:
        def open_account(account_id, region):
            where = ":memory:" if args.in_memory else directory_of(path, account_id, region)
            log.info("opening the database of account %s in %s (%s)", account_id, region,
                     "in memory" if args.in_memory else os.path.abspath(where))
            return open_database(where, account_id=account_id, region=region)
        accounts = Accounts(db, open_account)
        checker = auth.SigV4Verifier(keys, clock=db.engine.clock)
    else:
        checker = auth.AnyKey(clock=db.engine.clock)
    handler = RequestHandler(db.engine, auth=checker, accounts=accounts, fault_endpoint=args.fault_endpoint,
                             metrics_token=metrics_token)
    inline = inline_nothing if args.all_in_threads else None      # None: the Server's choice for the durability
    _raise_open_files_limit(args.max_connections, log)
    server = Server(handler, args.host, args.port, ssl=ssl_context, inline=inline, max_workers=args.threads,
                    idle_timeout=args.idle_timeout or None, header_timeout=args.header_timeout or None,
                    max_connections=args.max_connections,
                    cors=args.cors)

    async def serve():
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await server.start()
        releaser = memory.Releaser(loop)       # malloc's free pages back to the kernel every 10 s
        scheme = "https" if ssl_context else "http"
        host = f"[{args.host}]" if ":" in args.host else args.host
        data = "in memory" if args.in_memory else os.path.abspath(path)
        if keys:
            n_accounts = len({getattr(k, "account", None) for k in checker.keys.values()})
            auth_note = (f"SigV4 verified for {len(keys)} access key(s) of {n_accounts} account(s), "
                         "each seeing its account's tables in the region it signs for")
        else:
            auth_note = ("no credentials configured: any access key id and secret are accepted (like DynamoDB "
                         "Local), requests must still be signed, all share one database")
        log.info("kvstore listening on %s://%s:%d, data %s (durability %s); %s",
                 scheme, host, server.port, data, args.durability, auth_note)
        for plan in plans:
            log.info("backup plan %s: every %gs, keep %d per table (%s)", plan.name, plan.every, plan.keep,
                     "all tables" if plan.tables is None else ", ".join(plan.tables))
        if not args.no_metrics:
            if metrics_token:
                metrics_note = "bearer token required (--metrics-token-file)"
            elif keys:
                metrics_note = ("refused: the server has credentials, so scraping needs --metrics-token-file "
                                "(docs/operations.md, Metrics)")
            else:
                metrics_note = ("no authentication, as for every request without credentials: anyone who "
                                "reaches the port can read table names, request counts and sizes, never items")
            log.info("metrics: GET %s://%s:%d/metrics (%s)", scheme, host, server.port, metrics_note)
        if not keys and args.host not in LOOPBACK:
            log.warning("listening on %s without credentials: anyone who can reach it can read and write",
                        args.host)
        await stop.wait()
        releaser.stop()
        log.info("shutting down")
        await server.shutdown()

    try:
        asyncio.run(serve())
    except OSError as e:
        log.error("cannot listen on %s:%d: %s", args.host, args.port, e)
        if accounts is not None:
            accounts.close()
        db.close()
        return 1
    if accounts is not None:
        accounts.close()
    db.close()
    log.info("database closed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
