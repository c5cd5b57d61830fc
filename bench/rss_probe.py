"""What grows in the server's memory: one traffic class of the soak at a time, in process, under tracemalloc.

    python -m bench.rss_probe [--traffic get|put|update|query|transact|malformed|mix] [--requests 200000]
                              [--warmup 50000] [--top 15] [--durability batch]

Opens a database on a fresh data directory the way ``kvstore serve`` does
(``durability``, metrics on), writes the soak's 16,000 items, then sends
``--requests`` requests of one class of the soak's traffic (bench/soak.py: the
same bodies, signed with SigV4 by botocore, through the wire face's
``RequestHandler`` with ``auth.AnyKey``, as the server answers them) from one
thread.  tracemalloc snapshots are taken after ``--warmup`` requests and at the
end; the report is the difference by traceback (allocation sites whose live
memory grew), the traced total at each snapshot and the growth per million
requests.  A leak shows as a site whose size keeps growing with the requests;
a bounded cache as one that stops.

tracemalloc sees Python allocations only (objects, and buffers allocated through
PyMem/PyObject_Malloc): it measures what the process *holds*, not what the
allocator keeps in its arenas; bench/soak.py measures RSS.
"""

import argparse
import gc
import os
import random
import shutil
import sys
import tempfile
import tracemalloc

from .soak import MIX, PAD, PARTITIONS, ROOT, SORT_KEYS, TABLE, _key

CLASSES = tuple(name for name, _ in MIX) + ("mix",)


class Traffic:
    """The soak's request bodies (bench/soak.py client_main), one client's keys, without the HTTP."""

    def __init__(self, client, seed):
        sys.path.insert(0, os.path.join(ROOT, "tests", "hardening"))
        import malformed
        from kvstore.operations import ACTIONS, OPERATIONS, STREAMS
        self.malformed, self.OPERATIONS, self.STREAMS = malformed, OPERATIONS, STREAMS
        self.actions = sorted(ACTIONS)
        self.client = client
        self.rng = random.Random(seed)
        self.known = {(p, s): 0 for p in range(PARTITIONS) for s in range(SORT_KEYS)}
        self.counter = 0
        self.ops = [name for name, weight in MIX for _ in range(weight)]

    def next(self, op):
        """``(target, body, written)`` of one request of class ``op`` ("mix": drawn as the soak draws)."""
        rng, index, known = self.rng, self.client, self.known
        if op == "mix":
            op = rng.choice(self.ops)
        key = (rng.randrange(PARTITIONS), rng.randrange(SORT_KEYS))
        written = {}
        if op == "get":
            return "DynamoDB_20120810.GetItem", {"TableName": TABLE, "Key": _key(index, *key),
                                                 "ConsistentRead": rng.random() < 0.5}, written
        if op == "put" or (op in ("update", "transact") and key not in known):
            self.counter += 1
            return "DynamoDB_20120810.PutItem", {"TableName": TABLE, "Item": {
                **_key(index, *key), "v": {"N": str(self.counter)}, "pad": {"S": PAD}}}, {key: self.counter}
        if op == "update":
            self.counter += 1
            return "DynamoDB_20120810.UpdateItem", {
                "TableName": TABLE, "Key": _key(index, *key), "UpdateExpression": "SET v = :n",
                "ConditionExpression": "v = :o",
                "ExpressionAttributeValues": {":n": {"N": str(self.counter)}, ":o": {"N": str(known[key])}}}, \
                {key: self.counter}
        if op == "query":
            return "DynamoDB_20120810.Query", {
                "TableName": TABLE, "KeyConditionExpression": "pk = :p AND sk >= :s",
                "ExpressionAttributeValues": {":p": {"S": f"c{index}-p{key[0]}"}, ":s": {"N": "3"}}}, written
        if op == "transact":
            other = (key[0], (key[1] + 1) % SORT_KEYS)
            items = []
            for k in (key, other):
                self.counter += 1
                if k in known:
                    items.append({"Update": {"TableName": TABLE, "Key": _key(index, *k),
                                             "UpdateExpression": "SET v = :n", "ConditionExpression": "v = :o",
                                             "ExpressionAttributeValues": {":n": {"N": str(self.counter)},
                                                                           ":o": {"N": str(known[k])}}}})
                else:
                    items.append({"Put": {"TableName": TABLE, "Item": {**_key(index, *k),
                                                                       "v": {"N": str(self.counter)},
                                                                       "pad": {"S": PAD}},
                                          "ConditionExpression": "attribute_not_exists(pk)"}})
                written[k] = self.counter
            return "DynamoDB_20120810.TransactWriteItems", {"TransactItems": items}, written
        action = rng.choice(self.actions)
        prefix = self.OPERATIONS[action].target_prefix
        body, _ = self.malformed.bad_request(rng, "dynamodbstreams" if prefix == self.STREAMS else "dynamodb",
                                             action)
        return f"{prefix}.{action}", body, written

    def acknowledged(self, written):
        self.known.update(written)


class Signer:
    """SigV4 headers as the soak's clients send them (botocore's signer, lower-case names)."""

    def __init__(self, every_request=False):
        from botocore.auth import SigV4Auth
        from botocore.credentials import Credentials
        self.signer = SigV4Auth(Credentials("AKIDSOAK", "soak-secret"), "dynamodb", "us-east-1")
        self.every_request = every_request
        self._signed = {}          # target -> (second, headers)

    def headers(self, target, raw):
        """Signed headers; unless ``every_request``, one signature per target and second is reused with
        the body's length (AnyKey checks the form and time, not the signature's value): signing is most
        of the probe's own time, and the server's caches see the same forms (key, scope, X-Amz-Date)."""
        import time
        if not self.every_request:
            now = int(time.time())
            known = self._signed.get(target)
            if known is None or known[0] != now:
                known = self._signed[target] = (now, self._sign(target, raw))
            return dict(known[1], **{"content-length": str(len(raw))})
        return self._sign(target, raw)

    def _sign(self, target, raw):
        from botocore.awsrequest import AWSRequest
        request = AWSRequest(method="POST", url="http://127.0.0.1:8000/", data=raw,
                             headers={"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": target})
        self.signer.add_auth(request)
        out = {k.lower(): v for k, v in request.headers.items()}
        out.setdefault("host", "127.0.0.1:8000")
        return out


def open_server(data_dir, durability):
    """The database and the wire face's handler, as ``kvstore serve`` builds them without credentials."""
    import kvstore
    from kvstore.server import auth
    from kvstore.server.handler import RequestHandler
    db = kvstore.open(data_dir, durability=durability, capacity="report", metrics=True)
    handler = RequestHandler(db.engine, auth=auth.AnyKey(clock=db.engine.clock))
    return db, handler


def prefill(handler, signer, clients=8):
    import json
    create = {"TableName": TABLE, "BillingMode": "PAY_PER_REQUEST",
              "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
              "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"},
                                       {"AttributeName": "sk", "AttributeType": "N"}]}
    send(handler, signer, "DynamoDB_20120810.CreateTable", json.dumps(create).encode(), expect=200)
    batch = []
    for c in range(clients):
        for p in range(PARTITIONS):
            for s in range(SORT_KEYS):
                batch.append({"PutRequest": {"Item": {**_key(c, p, s), "v": {"N": "0"}, "pad": {"S": PAD}}}})
                if len(batch) == 25:
                    send(handler, signer, "DynamoDB_20120810.BatchWriteItem",
                         json.dumps({"RequestItems": {TABLE: batch}}).encode(), expect=200)
                    batch = []


def send(handler, signer, target, raw, expect=None):
    status, _, out = handler.answer("POST", "/", signer.headers(target, raw), raw)
    if expect is not None and status != expect:
        raise RuntimeError(f"{target} answered {status}: {out[:300]!r}")
    return status, out


def top_growth(before, after, limit, frames=8):
    """The ``limit`` tracebacks whose live size grew most from ``before`` to ``after``."""
    stats = after.compare_to(before, "traceback")
    stats = [s for s in stats if s.size_diff > 0]
    stats.sort(key=lambda s: -s.size_diff)
    lines = []
    for s in stats[:limit]:
        lines.append(f"+{s.size_diff / 1024:.1f} KiB ({s.count_diff:+d} blocks), now {s.size / 1024:.1f} KiB")
        for frame in s.traceback.format(limit=frames, most_recent_first=True):
            lines.append("    " + frame.strip())
    return lines


def probe(traffic="mix", requests=200_000, warmup=50_000, top=15, durability="batch", frames=8, log=print):
    import json
    data_dir = tempfile.mkdtemp(prefix="kvstore-rss-probe-")
    db = None
    try:
        db, handler = open_server(os.path.join(data_dir, "db"), durability)
        signer = Signer()
        prefill(handler, signer)
        clients = [Traffic(c, 1000 + c) for c in range(8)]
        tracemalloc.start(frames)
        statuses = {}
        snaps = []
        for n in range(requests):
            if n == warmup:
                gc.collect()
                snaps.append((n, tracemalloc.take_snapshot()))
            client = clients[n % 8]
            target, body, written = client.next(traffic)
            raw = json.dumps(body).encode()
            status, _ = send(handler, signer, target, raw)
            statuses[status] = statuses.get(status, 0) + 1
            if status == 200:
                client.acknowledged(written)
            elif status >= 500:
                log(f"5xx: {target} {raw[:200]!r}")
        gc.collect()
        snaps.append((requests, tracemalloc.take_snapshot()))
        (n0, s0), (n1, s1) = snaps
        t0 = sum(s.size for s in s0.statistics("filename"))
        t1 = sum(s.size for s in s1.statistics("filename"))
        tracemalloc.stop()
        per_million = (t1 - t0) / 2 ** 20 / (n1 - n0) * 1e6
        lines = [f"traffic {traffic}: {requests:,} requests, statuses {dict(sorted(statuses.items()))}",
                 f"traced at {n0:,}: {t0 / 2 ** 20:.2f} MiB; at {n1:,}: {t1 / 2 ** 20:.2f} MiB; "
                 f"{per_million:+.3f} MiB per million requests after warm-up", ""]
        lines += top_growth(s0, s1, top, frames)
        lines += ["", "by file and line:"]
        for st in [st for st in s1.compare_to(s0, "lineno") if st.size_diff > 0][:top]:
            lines.append(f"  +{st.size_diff / 1024:.1f} KiB ({st.count_diff:+d}) {st.traceback[0]}")
        return {"traffic": traffic, "requests": requests, "warmup": warmup, "traced_mib": [t0 / 2 ** 20, t1 / 2 ** 20],
                "mib_per_million": per_million, "report": lines}
    finally:
        if db is not None:
            db.close()
        shutil.rmtree(data_dir, ignore_errors=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--traffic", choices=CLASSES, default="mix")
    parser.add_argument("--requests", type=int, default=200_000)
    parser.add_argument("--warmup", type=int, default=50_000)
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--durability", choices=("sync", "batch", "none"), default="batch")
    args = parser.parse_args(argv)
    result = probe(args.traffic, args.requests, args.warmup, args.top, args.durability, args.frames)
    print("\n".join(result["report"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
