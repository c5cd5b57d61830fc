"""Malformed requests at volume: how many, over how many member paths, and how many answered 5xx.

    python -m bench.malformed_requests [--requests 100000] [--seed 1] [--json FILE] [--markdown FILE]

Drives the generator of ``tests/hardening/malformed.py`` (requests for every
DynamoDB and DynamoDB Streams operation built from botocore's model, with
members spoiled at any depth) through the in-process request handler, against
a database holding one table.  Reports the requests sent, the distinct spoiled
member paths they covered, the answers by status and error type, and every
5xx with its request (issue 14 target: 0 over at least 100,000).
"""

import argparse
import collections
import json
import logging
import os
import random
import sys
import time

import kvstore
from kvstore.operations import ACTIONS, OPERATIONS, STREAMS
from kvstore.server.handler import RequestHandler

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "hardening"))
import malformed  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json")
    parser.add_argument("--markdown", help="write the report as bench/results/malformed_requests.md is")
    args = parser.parse_args(argv)
    logging.getLogger("kvstore.server").setLevel(logging.CRITICAL)     # 5xx are counted and printed below
    db = kvstore.open(":memory:")
    handler = RequestHandler(db.engine)
    rng = random.Random(args.seed)
    actions = sorted(ACTIONS)
    paths, statuses, types, failures = set(), collections.Counter(), collections.Counter(), []
    started = time.perf_counter()
    for _ in range(args.requests):
        if malformed.TABLE not in db.client().list_tables()["TableNames"]:
            db.client().create_table(
                TableName=malformed.TABLE, BillingMode="PAY_PER_REQUEST",
                KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
                AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                      {"AttributeName": "sk", "AttributeType": "N"}])
        action = rng.choice(actions)
        prefix = OPERATIONS[action].target_prefix
        body, spoiled = malformed.bad_request(rng, "dynamodbstreams" if prefix == STREAMS else "dynamodb", action)
        paths |= spoiled
        raw = json.dumps(body).encode()
        status, _, out = handler.answer("POST", "/", {"content-type": "application/x-amz-json-1.0",
                                                      "x-amz-target": f"{prefix}.{action}"}, raw)
        statuses[status] += 1
        if status != 200:
            types[json.loads(out).get("__type", "?").rpartition("#")[2]] += 1
        if status >= 500:
            failures.append((action, raw[:300].decode("utf-8", "replace")))
    elapsed = time.perf_counter() - started
    report = {"requests": args.requests, "seed": args.seed, "member_paths": len(paths),
              "operations": len(actions), "statuses": dict(statuses), "errors": dict(types.most_common()),
              "5xx": len(failures), "seconds": round(elapsed, 1)}
    print(json.dumps(report, indent=2))
    for action, raw in failures[:20]:
        print("5xx", action, raw)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(_markdown(report, failures))
    db.close()
    return 1 if failures else 0


def _markdown(report, failures):
    lines = ["# Malformed requests (issue 14, item 1)", "",
             f"`python -m bench.malformed_requests --requests {report['requests']} --seed {report['seed']}`: "
             "requests for every DynamoDB and DynamoDB Streams operation generated from botocore's model "
             "(tests/hardening/malformed.py), members spoiled at any depth, through the in-process request "
             "handler.  Target: 0 answers of 5xx over at least 100,000.", "",
             "| measure | value |", "|---|---|",
             f"| requests | {report['requests']:,} |", f"| operations | {report['operations']} |",
             f"| distinct spoiled member paths | {report['member_paths']} |",
             f"| answers 5xx | {report['5xx']} |", f"| seconds | {report['seconds']} |", "",
             "| status | answers |", "|---|---|"]
    lines += [f"| {status} | {count:,} |" for status, count in sorted(report["statuses"].items())]
    lines += ["", "| error | answers |", "|---|---|"]
    lines += [f"| {code} | {count:,} |" for code, count in report["errors"].items()]
    if failures:
        lines += ["", "5xx answers:", ""] + [f"- {action}: `{raw}`" for action, raw in failures[:20]]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
