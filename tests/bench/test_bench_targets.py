"""Every target does the same work for the same operation: the comparison
is only fair if a GetItem, a primary-key SELECT and an LMDB get return the
same record, a Query and a range SELECT the same ten, and so on."""

import decimal
import tempfile

import pytest

from bench import targets
from bench.runner import Runner
from bench.targets.sqlite import _FIELDS, _ITEM_COLS

ITEMS = 300
USERS = 200
CANDIDATES = ["dict", "sqlite-wal-normal", "lmdb", "moto", "kvstore", "kvstore-memory", "kvstore-mock",
              "kvstore-http", "kvstore-http-boto3"]


def _plain(v):
    if isinstance(v, dict) and len(v) == 1 and next(iter(v)) in ("S", "N"):
        (t, x), = v.items()
        return int(x) if t == "N" else x
    if isinstance(v, decimal.Decimal):
        return int(v)
    return v


def as_item(result, dataset):
    """A record from any target's answer: dict, sqlite row, wire JSON."""
    if result is None:
        return None
    if isinstance(result, tuple):
        cols = _ITEM_COLS if dataset == "items" else ("ycsb_key",) + _FIELDS
        return dict(zip(cols, result))
    if "Item" in result and isinstance(result["Item"], dict):
        result = result["Item"]
    return {k: _plain(v) for k, v in result.items()}


def as_items(result, dataset):
    if isinstance(result, dict):
        result = result.get("Items", [])
    return [as_item(r, dataset) for r in result]


@pytest.fixture(scope="module")
def server():
    reason = targets.builtin()["kvstore-http"].available()
    if reason:
        yield None
        return
    from bench.targets.serve import KvstoreServer

    with KvstoreServer(None) as s:
        yield s


@pytest.fixture(scope="module", params=CANDIDATES)
def runner(request, server):
    spec = targets.builtin()[request.param]
    reason = spec.available()
    if reason:
        pytest.skip(reason)
    if spec.needs == "server":
        if server is None:
            pytest.skip("kvstore serve unavailable")
        spec.kwargs.update(endpoint=server.endpoint, name=spec.name, prefix="t%d_" % id(request))
    r = Runner(spec, tempfile.mkdtemp(prefix="kvbench-test-"), {})
    r.load("items", ITEMS)
    r.load("usertable", USERS)
    yield r
    r.close()


def call(runner, op, *args):
    prepare, execute = runner.session(0).bind(op)
    return execute(prepare(*args))


def get(runner, n):
    return as_item(call(runner, "get", *runner.data["items"].key(n)), "items")


def test_get_returns_the_loaded_record(runner):
    data = runner.data["items"]
    assert get(runner, 105) == data.record(105)
    assert as_item(call(runner, "read", data_key := runner.data["usertable"].key(7)), "usertable") == \
        runner.data["usertable"].record(7)
    assert data_key.startswith("user")


def test_put_replaces_and_update_increments(runner):
    data = runner.data["items"]
    call(runner, "put", data.record(42, payload="x" * 100))
    assert get(runner, 42)["payload"] == "x" * 100
    call(runner, "update_conditional", *data.key(42))
    call(runner, "update_conditional", *data.key(42))
    assert get(runner, 42)["cnt"] == 2


def test_query_returns_ten_records_in_sort_key_order(runner):
    pk = runner.data["items"].key(100)[0]
    found = as_items(call(runner, "query", pk, "s0037", 10), "items")
    assert [r["sk"] for r in found] == ["s%04d" % i for i in range(37, 47)]
    assert {r["pk"] for r in found} == {pk}


def test_scan_pages_visit_every_record_once(runner):
    seen = []
    for _ in range(3):
        seen += [(r["pk"], r["sk"]) for r in as_items(call(runner, "scan_page", 100), "items")]
    assert len(seen) == ITEMS and len(set(seen)) == ITEMS


def test_batch_write_and_transaction(runner):
    data = runner.data["items"]
    call(runner, "batch_write", [data.record(n, payload="b" * 100) for n in range(10, 35)])
    assert all(get(runner, n)["payload"] == "b" * 100 for n in (10, 22, 34))
    call(runner, "transact", data.key(1), data.key(2))
    assert (get(runner, 1)["cnt"], get(runner, 2)["cnt"]) == (-1, 1)


def test_gsi_query_returns_the_groups_first_records_by_ts(runner):
    data = runner.data["items"]
    group = data.group(1)
    expected = sorted((r for r in data.records() if r["grp"] == group), key=lambda r: r["ts"])[:10]
    found = as_items(call(runner, "gsi_query", group, 10), "items")
    assert [(r["pk"], r["sk"], r["grp"], r["ts"]) for r in found] == \
        [(r["pk"], r["sk"], r["grp"], r["ts"]) for r in expected]


def test_ycsb_operations(runner):
    users = runner.data["usertable"]
    key = users.key(3)
    call(runner, "update", key, "field4", "u" * 100)
    call(runner, "rmw", key, "field5", "v" * 100)
    got = as_item(call(runner, "read", key), "usertable")
    assert (got["field4"], got["field5"], got["field0"]) == ("u" * 100, "v" * 100, users.record(3)["field0"])
    new = users.record(5_000)
    call(runner, "insert", new["ycsb_key"], new)
    assert as_item(call(runner, "read", new["ycsb_key"]), "usertable") == new
    assert len(as_items(call(runner, "scan", users.key(11), 7), "usertable")) == 7
