"""kill -9 of ``kvstore serve --durability sync`` during writes: every answered write survives.

The server answers an item write under ``sync`` from its event loop once the log has synced the
write's record (kvstore.server.app, "answers held until durable").  Clients on several connections
write PutItems (boto3, no retries) and note each one answered; the test kills the server with SIGKILL at a random
moment, opens the directory and checks every noted item is there, for several rounds on one
directory.
"""

import os
import random
import re
import signal
import subprocess
import sys
import threading

import kvstore

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LISTENING = re.compile(r"kvstore listening on http://127\.0\.0\.1:(\d+)")
TABLE = "kill9"
CONNECTIONS = 6
WAIT = 60


def serve(data):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    process = subprocess.Popen([sys.executable, "-m", "kvstore", "serve", "--port", "0", "--data-dir", data,
                                "--durability", "sync"], stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    lines = []
    for line in process.stderr:
        lines.append(line)
        match = LISTENING.search(line)
        if match:
            threading.Thread(target=process.stderr.read, daemon=True).start()   # keep its pipe drained
            return process, int(match.group(1))
    raise AssertionError("the server exited before listening:\n" + "".join(lines))


def client(port):
    import boto3
    from botocore.config import Config
    return boto3.client("dynamodb", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                        aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret",
                        config=Config(retries={"total_max_attempts": 1}, connect_timeout=WAIT, read_timeout=WAIT))


def writer(port, prefix, acked, stop):
    from botocore.exceptions import BotoCoreError
    dynamodb = client(port)
    i = 0
    try:
        while not stop.is_set():
            pk = f"{prefix}-{i}"
            dynamodb.put_item(TableName=TABLE, Item={"pk": {"S": pk}, "n": {"N": str(i)}})
            acked.append(pk)       # answered 200 (any other answer raises)
            i += 1
    except BotoCoreError:          # the kill: what was not answered is not acknowledged
        pass


def test_answered_writes_survive_kill_9_of_the_server(tmp_path):
    data = str(tmp_path / "db")
    rng = random.Random(20261207)
    acked_all = []
    for round_ in range(3):
        process, port = serve(data)
        try:
            if round_ == 0:
                client(port).create_table(TableName=TABLE, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                                          AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                                          BillingMode="PAY_PER_REQUEST")
            acked = [[] for _ in range(CONNECTIONS)]
            stop = threading.Event()
            threads = [threading.Thread(target=writer, args=(port, f"r{round_}c{c}", acked[c], stop))
                       for c in range(CONNECTIONS)]
            for t in threads:
                t.start()
            target = rng.randint(100, 600)
            while sum(map(len, acked)) < target and all(t.is_alive() for t in threads):
                threading.Event().wait(0.005)
            os.kill(process.pid, signal.SIGKILL)
            process.wait(WAIT)
            stop.set()
            for t in threads:
                t.join(WAIT)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(WAIT)
        assert sum(map(len, acked)) >= target
        acked_all += [pk for per_connection in acked for pk in per_connection]
        db = kvstore.open(data)
        try:
            table = db.Table(TABLE)
            missing = [pk for pk in acked_all if "Item" not in table.get_item(Key={"pk": pk})]
        finally:
            db.close()
        assert missing == [], f"{len(missing)} answered writes lost in round {round_}: {missing[:5]}"
