"""The AWS CLI's ``aws dynamodb execute-statement`` against ``kvstore serve`` (a real process)."""

import json
import os
import shutil
import socket
import subprocess
import sys
import time

import pytest


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def served():
    port = _free_port()
    process = subprocess.Popen([sys.executable, "-m", "kvstore", "serve", "--in-memory", "--port", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                pytest.fail("kvstore serve did not start")
            time.sleep(0.05)
    yield url
    process.terminate()
    process.wait(timeout=10)


def test_execute_statement_through_the_cli(served):
    exe = shutil.which("aws")
    if exe is None:
        pytest.skip("the AWS CLI is not installed")
    env = dict(os.environ, AWS_ACCESS_KEY_ID="AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY="secret",
               AWS_DEFAULT_REGION="us-east-1", AWS_PAGER="")

    def aws(*args, ok=True):
        done = subprocess.run([exe, "dynamodb", *args, "--endpoint-url", served, "--output", "json"],
                              capture_output=True, text=True, env=env, timeout=60)
        assert (done.returncode == 0) == ok, done.stderr
        return json.loads(done.stdout) if done.stdout.strip() else done.stderr

    aws("create-table", "--table-name", "cli-orders", "--billing-mode", "PAY_PER_REQUEST",
        "--key-schema", "AttributeName=pk,KeyType=HASH", "AttributeName=sk,KeyType=RANGE",
        "--attribute-definitions", "AttributeName=pk,AttributeType=S", "AttributeName=sk,AttributeType=N")
    assert aws("execute-statement", "--statement",
               "INSERT INTO \"cli-orders\" VALUE {'pk': ?, 'sk': ?, 'total': 12.5}",
               "--parameters", '[{"S": "o1"}, {"N": "1"}]') == {"Items": []}
    got = aws("execute-statement", "--statement", 'SELECT * FROM "cli-orders" WHERE pk = ?',
              "--parameters", '[{"S": "o1"}]')
    assert got["Items"] == [{"pk": {"S": "o1"}, "sk": {"N": "1"}, "total": {"N": "12.5"}}]
    error = aws("execute-statement", "--statement", 'SLECT * FROM "cli-orders"', ok=False)
    assert "ValidationException" in error and "Expected data manipulation" in error
