"""kill -9 of a database in the middle of writing through the public API.

A child process (engine_writer.py) writes under ``sync`` from three threads:
single puts, conditional updates (some made to fail), deletes, and
TransactWriteItems over both tables, to a table with a GSI and an LSI, while
automatic checkpoints run (a small ``checkpoint_log_bytes``).  It prints each
operation's intent before it starts and its acknowledgement after.  The
parent kills it with SIGKILL at a random moment, reopens the directory and
checks, round after round on the same directory:

* every acknowledged write is there, and each key holds exactly the value of
  its last acknowledged write -- or of the one write to it still in flight;
* a transaction in flight is visible entirely or not at all (every item it
  writes carries its marker; a delete counts too);
* every index agrees with its table (``Table._check``);
* checkpoints were taken along the way and recovery started from them.
"""

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from decimal import Decimal

import pytest

import kvstore
from kvstore import _core

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
WRITER = os.path.join(HERE, "engine_writer.py")

SEED = 20240611
ROUNDS = 32                 # the opt-in run (``-m crash``); the default run kills the writer SHORT_ROUNDS times
SHORT_ROUNDS = 8
THREADS = 3
CHECKPOINT_LOG_BYTES = 48 << 10


class Child:
    """The writer process and a thread draining its stdout (so it never blocks on a full pipe)."""

    def __init__(self, directory, round_, stderr_path):
        self.stderr = open(stderr_path, "w+b")
        self.proc = subprocess.Popen(
            [sys.executable, WRITER, directory, str(SEED), str(round_), str(THREADS), str(CHECKPOINT_LOG_BYTES)],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=self.stderr)
        self.lines = []
        self.ready = threading.Event()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for raw in self.proc.stdout:
            if not raw.endswith(b"\n"):
                break                                    # never happens: each line is one write(2)
            self.lines.append(json.loads(raw))
            if "ready" in self.lines[-1]:
                self.ready.set()
        self.ready.set()

    def kill(self):
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(30)
        self.reader.join(30)
        self.proc.stdout.close()
        self.stderr.seek(0)
        err = self.stderr.read().decode(errors="replace")
        self.stderr.close()
        assert self.proc.returncode == -signal.SIGKILL, f"the writer died on its own:\n{err}"
        assert "Traceback" not in err, err
        return self.lines


def plain(value):
    if isinstance(value, Decimal):
        return int(value)
    return value


def read_back(directory):
    """Reopen the directory (in this process), check every index, return (state, recovery report)."""
    with kvstore.open(directory, durability="sync") as db:
        state = {}
        for name, table in db.engine.tables.items():
            table._check()
            for packed in table.rows.values():
                item = {k: plain(v) for k, v in _core.unpack_item(packed).items()}
                key = f"{item['pk']}|{item['sk']}" if name == "orders" else item["pk"]
                state[(name, key)] = item
        # the public read path agrees with the rows (GSI and LSI queries see what _check saw)
        if "orders" in db.engine.tables:
            orders = db.Table("orders")
            via_gsi = sum(orders.query(IndexName="by_g", KeyConditionExpression="g = :g",
                                       ExpressionAttributeValues={":g": f"g{i}"})["Count"] for i in range(7))
            assert via_gsi == sum(1 for (t, _k), item in state.items() if t == "orders" and "g" in item)
        return state, db.engine.recovery_report


def outcome(lines):
    """Split the child's output into acknowledged operations (in order) and in-flight ones."""
    intents, finished = {}, {}
    by_thread = {}
    for line in lines:
        if "id" in line:
            intents[line["id"]] = line
            by_thread.setdefault(line["t"], []).append(line["id"])
        elif "ack" in line or "nack" in line:
            op_id = line.get("ack") or line.get("nack")
            finished[op_id] = "ok" if "ack" in line else "fail"
    acked, in_flight = [], []
    for t, ids in by_thread.items():
        for i, op_id in enumerate(ids):
            if op_id in finished:
                assert finished[op_id] == intents[op_id]["expect"], intents[op_id]
                if finished[op_id] == "ok":
                    acked.append(intents[op_id])
            else:
                assert i == len(ids) - 1, f"thread {t} started {ids[i + 1]} before {op_id} finished"
                in_flight.append(intents[op_id])
    return acked, in_flight


def writes_of(op):
    return {(table, key): image for table, key, image in op["writes"]}


def test_acknowledged_engine_writes_survive_kill_9(tmp_path):
    kill_rounds(tmp_path, SHORT_ROUNDS, min_checkpoints=1)


@pytest.mark.crash
def test_acknowledged_engine_writes_survive_many_kill_9s(tmp_path):
    kill_rounds(tmp_path, ROUNDS, min_checkpoints=3)


def kill_rounds(tmp_path, rounds, min_checkpoints):
    """Kill the writer ``rounds`` times on one directory, checking the state after each."""
    rng = random.Random(SEED)
    directory = str(tmp_path / "db")
    model = {}                         # (table, key) -> item image; absent: no item
    checkpoints = set()
    totals = {"acked": 0, "in_flight": 0, "in_flight_applied": 0, "tx_in_flight": 0}
    for round_ in range(1, rounds + 1):
        child = Child(directory, round_, str(tmp_path / f"stderr-{round_}"))
        assert child.ready.wait(60), "the writer did not start"
        time.sleep(rng.uniform(0.02, 0.7))
        lines = child.kill()
        ready = lines[0]
        if ready.get("checkpoint"):
            checkpoints.add(ready["checkpoint"]["start_lsn"])
        acked, in_flight = outcome(lines[1:])
        totals["acked"] += len(acked)
        for op in acked:                               # per thread in order; threads own disjoint keys
            model.update(writes_of(op))
        state, _report = read_back(directory)

        pending = {}
        for op in in_flight:
            totals["in_flight"] += 1
            for key, image in writes_of(op).items():
                pending[key] = (op, image)
        for key in set(model) | set(state):
            if key in pending:
                continue
            assert state.get(key) == model.get(key), f"round {round_}: {key} lost an acknowledged write"
        for op in in_flight:
            writes = writes_of(op)
            done = [state.get(k) == image for k, image in writes.items()]
            kept = [state.get(k) == model.get(k) for k in writes]
            assert all(a or b for a, b in zip(done, kept)), f"round {round_}: {op['id']} left a foreign value"
            ambiguous = [a and b for a, b in zip(done, kept)]
            applied = {a for a, amb in zip(done, ambiguous) if not amb}
            assert len(applied) <= 1, f"round {round_}: transaction {op['id']} is partly visible: {state}"
            if applied == {True}:
                totals["in_flight_applied"] += 1
            if len(writes) > 1:
                totals["tx_in_flight"] += 1
        model = {k: v for k, v in state.items()}
    print(f"\n{rounds} rounds: {totals}, checkpoints recovered from: {len(checkpoints)}")
    assert totals["acked"] > rounds * 50
    assert len(checkpoints) >= min_checkpoints, "automatic checkpoints did not happen during the rounds"
