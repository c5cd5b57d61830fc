"""``kvstore stats PATH|URL``: the figures of a closed directory or of a running server."""

import os
import subprocess
import sys

import kvstore
from kvstore import stats
from kvstore.server import auth
from kvstore.server.app import ServerThread
from kvstore.server.handler import RequestHandler
from tests.prometheus_text import strict_parse, value

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KEYS = dict(KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")


def make_directory(path, n=12):
    with kvstore.open(str(path)) as db:
        db.create_table(TableName="orders", **KEYS)
        c = db.client()
        for i in range(n):
            c.put_item(TableName="orders", Item={"pk": str(i), "v": "x" * i})
        c.delete_item(TableName="orders", Key={"pk": "0"})


def test_stats_of_a_closed_directory(tmp_path, capsys):
    make_directory(tmp_path / "db")
    assert stats.main([str(tmp_path / "db"), "--prometheus"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# offline:")
    f = strict_parse(out.split("\n", 1)[1])
    assert value(f, "kvstore_table_items", table="orders", index="") == 11
    assert value(f, "kvstore_table_size_bytes", table="orders", index="") > 0
    assert value(f, "kvstore_log_segments") >= 1
    assert "kvstore_requests_total" not in f                 # request figures live in a running process

    assert stats.main([str(tmp_path / "db")]) == 0            # the summary for people
    summary = capsys.readouterr().out
    assert "kvstore_table_items" in summary and "table=orders index=''" in summary and " 11" in summary
    with kvstore.open(str(tmp_path / "db")) as db:            # read without being changed
        assert db.client().scan(TableName="orders")["Count"] == 11


def test_stats_of_a_server_directory_adds_every_account_and_region(tmp_path, capsys):
    from kvstore.server.accounts import directory_of
    root = tmp_path / "data"
    make_directory(root, n=5)                                     # the default pair's database
    make_directory(directory_of(str(root), "000000000000", "eu-west-1"), n=9)
    make_directory(directory_of(str(root), "123456789012", "us-west-2"), n=3)
    assert stats.main([str(root), "--prometheus"]) == 0
    f = strict_parse(capsys.readouterr().out.split("\n", 1)[1])
    for account, region, items in (("123456789012", "us-east-1", 4), ("000000000000", "eu-west-1", 8),
                                   ("123456789012", "us-west-2", 2)):
        assert value(f, "kvstore_table_items", account=account, region=region, table="orders", index="") == items
    assert value(f, "kvstore_table_items", table="orders", index="") == 14   # nothing read twice


def test_stats_of_an_open_directory_says_to_ask_the_server(tmp_path, capsys):
    make_directory(tmp_path / "db")
    with kvstore.open(str(tmp_path / "db")):
        assert stats.main([str(tmp_path / "db")]) == 1
    assert "kvstore stats http://" in capsys.readouterr().err


def test_stats_of_a_missing_directory(tmp_path, capsys):
    assert stats.main([str(tmp_path / "nothing")]) == 1
    assert "cannot read" in capsys.readouterr().err


def test_stats_of_a_server_url(tmp_path, capsys):
    db = kvstore.open(":memory:", metrics=True)
    try:
        handler = RequestHandler(db.engine, auth=auth.AnyKey(clock=db.engine.clock), metrics_token="t0ken")
        with ServerThread(handler) as running:
            import boto3
            c = boto3.client("dynamodb", endpoint_url=running.url, region_name="us-east-1",
                             aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret")
            c.create_table(TableName="orders", **KEYS)
            for i in range(4):
                c.get_item(TableName="orders", Key={"pk": {"S": str(i)}})
            token = tmp_path / "token"
            token.write_text("t0ken\n")
            assert stats.main([running.url]) == 1                 # the token is needed
            assert "401" in capsys.readouterr().err
            assert stats.main([running.url, "--token-file", str(token), "--prometheus"]) == 0
            f = strict_parse(capsys.readouterr().out)
            assert value(f, "kvstore_requests_total", operation="GetItem", table="orders") == 4
            assert stats.main([running.url + "/metrics", "--token-file", str(token)]) == 0
            summary = capsys.readouterr().out
            assert "kvstore_successful_request_latency_seconds (histogram)" in summary
            assert "operation=GetItem table=orders" in summary and "count 4" in summary
    finally:
        db.close()


def test_the_command_line_routes_to_stats(tmp_path):
    make_directory(tmp_path / "db", n=3)
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    done = subprocess.run([sys.executable, "-m", "kvstore", "stats", str(tmp_path / "db")], capture_output=True,
                          text=True, env=env, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "kvstore_table_items" in done.stdout
