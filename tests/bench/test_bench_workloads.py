"""Workloads: each emits only its own operations, reproducibly, and with
the arguments a target needs."""

import collections

import pytest

from bench import datasets
from bench.workloads import WORKLOADS, select

ITEMS = datasets.Items(1_000)
USERS = datasets.UserTable(1_000)


def data_for(w):
    return ITEMS if w.dataset == "items" else USERS


def test_the_named_workloads_exist():
    for name in ("get", "put", "update_conditional", "query_10", "scan_page", "batch_write_25", "transact_2",
                 "gsi_query", "ycsb_d_latest"):
        assert name in WORKLOADS
    for letter in "abcef":
        for dist in ("uniform", "zipfian"):
            assert "ycsb_%s_%s" % (letter, dist) in WORKLOADS


@pytest.mark.parametrize("name", list(WORKLOADS))
def test_a_workload_emits_only_its_mix_and_is_reproducible(name):
    w = WORKLOADS[name]
    ops = w.ops(data_for(w), seed=7).next_ops(400)
    again = w.ops(data_for(w), seed=7).next_ops(400)
    assert ops == again
    assert {op for op, _ in ops} <= {op for op, _ in w.mix}
    assert w.parameters(1000)["records"] == 1000


def test_ycsb_mix_proportions_hold():
    ops = WORKLOADS["ycsb_b_uniform"].ops(USERS, seed=1).next_ops(20_000)
    share = collections.Counter(op for op, _ in ops)["read"] / len(ops)
    assert 0.94 < share < 0.96


def test_batches_and_transactions_never_repeat_a_key():
    for args in (a for _, a in WORKLOADS["batch_write_25"].ops(ITEMS, seed=2).next_ops(50)):
        keys = [(i["pk"], i["sk"]) for i in args[0]]
        assert len(keys) == 25 == len(set(keys))
    for _, (a, b) in WORKLOADS["transact_2"].ops(ITEMS, seed=2).next_ops(200):
        assert a != b


def test_queries_name_a_range_that_holds_ten_records():
    for _, (pk, sk, limit) in WORKLOADS["query_10"].ops(ITEMS, seed=3).next_ops(200):
        assert limit == 10 and int(sk[1:]) <= ITEMS.collection - 10
        assert int(pk[1:]) < ITEMS.collections


def test_inserting_workers_never_collide():
    w = WORKLOADS["ycsb_e_uniform"]
    seen = set()
    for worker in range(3):
        ops = w.ops(USERS, seed=1, worker=worker, workers=3, insert_next=1_000).next_ops(2_000)
        keys = [a[0] for op, a in ops if op == "insert"]
        assert keys and not (set(keys) & seen)
        seen |= set(keys)
    assert not seen & {USERS.key(n) for n in range(1_000)}


def test_read_latest_reads_mostly_recent_records():
    w = WORKLOADS["ycsb_d_latest"]
    ops = w.ops(USERS, seed=4).next_ops(5_000)
    recent = {USERS.key(n) for n in range(900, 1_400)}
    reads = [a[0] for op, a in ops if op == "read"]
    assert sum(k in recent for k in reads) / len(reads) > 0.5


def test_select_accepts_patterns_and_rejects_unknown_names():
    assert [w.name for w in select(["ycsb_c_*"])] == ["ycsb_c_uniform", "ycsb_c_zipfian"]
    assert len(select(["all"])) == len(WORKLOADS)
    with pytest.raises(SystemExit):
        select(["nope"])


def test_records_are_fresh_objects_with_the_documented_shape():
    a, b = ITEMS.record(5), ITEMS.record(5)
    assert a == b and a["payload"] is not b["payload"]
    assert set(a) == {"pk", "sk", "grp", "ts", "cnt", "payload"} and len(a["payload"]) == 100
    u = USERS.record(5)
    assert len(u) == 11 and all(len(u["field%d" % i]) == 100 for i in range(10))
