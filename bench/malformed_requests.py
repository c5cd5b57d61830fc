"""Malformed requests at volume: how many, over how many member paths, and how many answered 5xx.

    python -m bench.malformed_requests [--requests 100000] [--seed 1 [--seed 2 ...]] [--durable]
                                       [--json FILE] [--markdown FILE]

Drives the generator of ``tests/hardening/malformed.py`` (requests for every
DynamoDB and DynamoDB Streams operation built from botocore's model, with
members spoiled at any depth) through the in-process request handler, against
a database holding one table.  Members are spoiled in type and in content
(strings with lone surrogates, NUL, very long; numbers at and past DynamoDB's
limits; nesting around 32 levels), and some bodies in their bytes (not UTF-8,
a BOM, cut).  ``--durable`` puts the database in a temporary directory (WAL,
catalog, checkpoints: what ``kvstore serve`` and the soak run on), which
``:memory:`` does not exercise.  Each ``--seed`` is a run of ``--requests``,
one after the other in this process.  Reports the requests sent, the distinct
spoiled member paths they covered, the answers by status and error type, and
every 5xx with its request and the place the internal error was raised (issue
14 target: 0 over at least 100,000).
"""

import argparse
import collections
import json
import logging
import os
import random
import shutil
import sys
import tempfile
import time
import traceback

import kvstore
from kvstore.operations import ACTIONS, OPERATIONS, STREAMS
from kvstore.server.handler import RequestHandler

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "hardening"))
import malformed  # noqa: E402


class _InternalErrors(logging.Handler):
    """Keeps where each internal error the handler logged was raised (its traceback's last frame)."""

    def __init__(self):
        super().__init__(logging.ERROR)
        self.places = collections.Counter()
        self.last = None

    def emit(self, record):
        if record.exc_info and record.exc_info[2] is not None:
            frame = traceback.extract_tb(record.exc_info[2])[-1]
            place = f"{type(record.exc_info[1]).__name__} at {os.path.basename(frame.filename)}:{frame.lineno}"
        else:
            place = record.getMessage()
        self.places[place] += 1
        self.last = place


def _ensure_table(db):
    if malformed.TABLE not in db.client().list_tables()["TableNames"]:
        db.client().create_table(
            TableName=malformed.TABLE, BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                  {"AttributeName": "sk", "AttributeType": "N"}])


def run(db, handler, seed, requests, paths, statuses, types, failures, errors):
    """``requests`` generated bad requests from ``random.Random(seed)`` through ``handler``."""
    rng = random.Random(seed)
    actions = sorted(ACTIONS)
    for _ in range(requests):
        _ensure_table(db)
        action = rng.choice(actions)
        prefix = OPERATIONS[action].target_prefix
        body, spoiled = malformed.bad_request(rng, "dynamodbstreams" if prefix == STREAMS else "dynamodb", action)
        raw, spoiled_bytes = malformed.bad_bytes(rng, body)
        paths |= spoiled | spoiled_bytes
        errors.last = None
        status, _, out = handler.answer("POST", "/", {"content-type": "application/x-amz-json-1.0",
                                                      "x-amz-target": f"{prefix}.{action}"}, raw)
        statuses[status] += 1
        if status != 200:
            types[json.loads(out).get("__type", "?").rpartition("#")[2]] += 1
        if status >= 500:
            failures.append((seed, action, errors.last, raw[:300].decode("utf-8", "replace")))


def run_http(seeds, requests, paths, statuses, types, failures, dropped):
    """The same requests over HTTP to ``kvstore serve`` on a durable directory (the soak's server:
    SigV4-signed keep-alive requests, the HTTP front, a child process).  Returns the server log's
    lines that report an internal error."""
    import http.client

    from .soak import Api, Server, _free_port
    directory = tempfile.mkdtemp(prefix="kvstore-malformed-http-")
    log_path = os.path.join(directory, "server.log")
    server = Server(os.path.join(directory, "db"), _free_port(), "batch", log_path)
    server.start()
    api = Api(server.port)
    try:
        status, _ = api.dynamodb("CreateTable", {
            "TableName": malformed.TABLE, "BillingMode": "PAY_PER_REQUEST",
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"},
                                     {"AttributeName": "sk", "AttributeType": "N"}]})
        actions = sorted(ACTIONS)
        for seed in seeds:
            rng = random.Random(seed)
            for _ in range(requests):
                action = rng.choice(actions)
                prefix = OPERATIONS[action].target_prefix
                body, spoiled = malformed.bad_request(rng, "dynamodbstreams" if prefix == STREAMS else "dynamodb",
                                                      action)
                raw, spoiled_bytes = malformed.bad_bytes(rng, body)
                paths |= spoiled | spoiled_bytes
                try:
                    status, out = api.call(f"{prefix}.{action}", raw)
                except (OSError, http.client.HTTPException):
                    dropped.append((seed, action, raw[:300].decode("utf-8", "replace")))
                    continue
                statuses[status] += 1
                if status != 200:
                    types[(out or {}).get("__type", "?").rpartition("#")[2]] += 1
                if status >= 500:
                    failures.append((seed, action, "see the server log", raw[:300].decode("utf-8", "replace")))
        api.close()
    finally:
        server.stop()
        with open(log_path, encoding="utf-8", errors="replace") as f:
            errors = [line.rstrip() for line in f if "ERROR" in line or "Error" in line]
        if not failures and not errors:
            shutil.rmtree(directory, ignore_errors=True)
        else:
            print("server log kept:", log_path)
    return errors


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100_000, help="per seed")
    parser.add_argument("--seed", type=int, action="append", help="repeatable; default 1")
    parser.add_argument("--durable", action="store_true", help="a database in a temporary directory")
    parser.add_argument("--http", action="store_true",
                        help="over HTTP to kvstore serve on a durable directory, as the soak sends them")
    parser.add_argument("--json")
    parser.add_argument("--markdown", help="write the report as bench/results/malformed_requests.md is")
    parser.add_argument("--append", action="store_true", help="add the report to --markdown's file")
    args = parser.parse_args(argv)
    seeds = args.seed or [1]
    server_log = logging.getLogger("kvstore.server")
    server_log.propagate = False                 # 5xx are counted and printed below, with where they came from
    errors = _InternalErrors()
    server_log.addHandler(errors)
    paths, statuses, types, failures, dropped = set(), collections.Counter(), collections.Counter(), [], []
    started = time.perf_counter()
    if args.http:
        for line in run_http(seeds, args.requests, paths, statuses, types, failures, dropped):
            errors.places[line[:200]] += 1
    else:
        directory = tempfile.mkdtemp(prefix="kvstore-malformed-") if args.durable else None
        db = kvstore.open(directory or ":memory:")
        handler = RequestHandler(db.engine)
        try:
            for seed in seeds:
                run(db, handler, seed, args.requests, paths, statuses, types, failures, errors)
        finally:
            db.close()
            if directory:
                shutil.rmtree(directory, ignore_errors=True)
    elapsed = time.perf_counter() - started
    report = {"requests": args.requests * len(seeds), "seeds": seeds, "durable": args.durable or args.http,
              "http": args.http, "dropped": len(dropped),
              "member_paths": len(paths), "content_paths": sum(1 for p in paths if "~" in p),
              "operations": len(ACTIONS), "statuses": dict(statuses), "errors": dict(types.most_common()),
              "5xx": len(failures), "internal_errors": dict(errors.places), "seconds": round(elapsed, 1)}
    print(json.dumps(report, indent=2))
    for seed, action, place, raw in failures[:20]:
        print("5xx", seed, action, place, raw)
    for seed, action, raw in dropped[:20]:
        print("dropped", seed, action, raw)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)
    if args.markdown:
        with open(args.markdown, "a" if args.append else "w") as f:
            f.write(("\n" if args.append else "") + _markdown(report, failures, appended=args.append))
    return 1 if failures or dropped else 0


def _markdown(report, failures, appended=False):
    seeds = " ".join(f"--seed {seed}" for seed in report["seeds"])
    per_seed = report["requests"] // len(report["seeds"])
    flags = " --http" if report["http"] else " --durable" if report["durable"] else ""
    where = ("over HTTP to `kvstore serve` on a durable directory (SigV4-signed keep-alive requests, as the "
             "soak sends them)" if report["http"] else
             "through the in-process request handler" + (" on a durable database (a temporary directory: WAL, "
                                                         "catalog, checkpoints)" if report["durable"] else ""))
    lines = [] if appended else ["# Malformed requests (issue 14, item 1)", ""]
    lines += [f"`python -m bench.malformed_requests --requests {per_seed} {seeds}{flags}`: "
              "requests for every DynamoDB and DynamoDB Streams operation generated from botocore's model "
              "(tests/hardening/malformed.py), members spoiled at any depth in type and in content (lone "
              "surrogates, NUL, very long strings, numbers at and past the 38-digit and exponent limits, "
              "nesting around 32 levels), some bodies in their bytes (not UTF-8, BOM, cut), " + where
              + ".  Target: 0 answers of 5xx over at least 100,000.", "",
              "| measure | value |", "|---|---|",
             f"| requests | {report['requests']:,} ({len(report['seeds'])} seeds of {per_seed:,}) |",
             f"| operations | {report['operations']} |",
             f"| distinct spoiled member paths | {report['member_paths']} (of which content spoils: "
             f"{report['content_paths']}) |",
             f"| answers 5xx | {report['5xx']} |"]
    if report["http"]:
        lines += [f"| dropped connections | {report['dropped']} |"]
    lines += [f"| seconds | {report['seconds']} |", "",
             "| status | answers |", "|---|---|"]
    lines += [f"| {status} | {count:,} |" for status, count in sorted(report["statuses"].items())]
    lines += ["", "| error | answers |", "|---|---|"]
    lines += [f"| {code} | {count:,} |" for code, count in report["errors"].items()]
    if failures:
        lines += ["", "5xx answers:", ""] + [f"- seed {seed}, {action} ({place}): `{raw}`"
                                             for seed, action, place, raw in failures[:20]]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
