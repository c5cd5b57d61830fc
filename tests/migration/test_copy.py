"""kvstore copy between real stores: a directory, ``kvstore serve`` and moto's server."""

import json
import os
import subprocess
import sys

import pytest

from kvstore.migration.copy import CopyInterrupted, copy_tables
from kvstore.migration.endpoints import MigrationError, open_side
from kvstore.migration.verify import diff_tables

from .conftest import ROOT, SCHEMA, make_directory, sample_item


def identical(results):
    return all(not (r["missing"] or r["extra"] or r["different"]) for r in results)


def quiet(text):
    pass


def shape(description):
    """What copy promises to carry, in a comparable form."""
    def index(i):
        projection = dict(i["Projection"])
        if "NonKeyAttributes" in projection:
            projection["NonKeyAttributes"] = sorted(projection["NonKeyAttributes"])
        return i["IndexName"], [tuple(k.items()) for k in i["KeySchema"]], projection
    return {"keys": description["KeySchema"],
            "types": sorted((a["AttributeName"], a["AttributeType"]) for a in description["AttributeDefinitions"]),
            "billing": description.get("BillingModeSummary", {}).get("BillingMode"),
            "gsi": sorted(index(i) for i in description.get("GlobalSecondaryIndexes", ())),
            "lsi": sorted(index(i) for i in description.get("LocalSecondaryIndexes", ()))}


def test_directory_to_kvstore_serve_to_moto_and_back_to_a_directory(tmp_path, served, moto_url):
    source = open_side(make_directory(tmp_path / "src", 200))
    hops = [source, open_side(served.url), open_side(moto_url), open_side(str(tmp_path / "back"), create=True)]
    try:
        for a, b in zip(hops, hops[1:]):
            counts = copy_tables(a, b, segments=3, state_path=str(tmp_path / "state.json"), progress=False,
                                 log=quiet, page_size=40)
            assert counts == {"orders": {"items": 200, "bytes": counts["orders"]["bytes"]}}
            assert not os.path.exists(tmp_path / "state.json")       # removed once complete
            assert identical(diff_tables(a, b, segments=2, page_size=50))
            assert shape(b.describe("orders")) == shape(source.describe("orders"))
            assert b.ttl("orders") == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires"}
        assert identical(diff_tables(source, hops[-1], segments=4))
        key = {"pk": "p5", "sk": sample_item(5)["sk"]}
        got = hops[-1].client.get_item(TableName="orders", Key=key)["Item"]
        assert got == sample_item(5)
    finally:
        for side in hops:
            side.close()


def test_an_interrupted_copy_resumes_where_it_stopped(tmp_path, served):
    source = open_side(make_directory(tmp_path / "src", 400, ttl=None))
    target = open_side(served.url)
    state_path = str(tmp_path / "state.json")
    pages = []

    def interrupt_on_fifth_page(table, segment, last_key):
        pages.append(segment)
        if len(pages) == 5:
            raise CopyInterrupted("injected")

    try:
        with pytest.raises(CopyInterrupted):
            copy_tables(source, target, segments=2, state_path=state_path, progress=False, log=quiet,
                        page_size=25, after_page=interrupt_on_fifth_page)
        with open(state_path) as f:
            state = json.load(f)
        assert state["format"] == "kvstore-copy/1" and state["segments"] == 2
        recorded = sum(s["items"] for s in state["tables"]["orders"]["segments"].values())
        assert 5 * 25 <= recorded < 400
        assert target.client.scan(TableName="orders", Select="COUNT")["Count"] >= recorded

        scanned = []
        real_scan = source.scan

        def counting_scan(*args, **kwargs):
            items, last = real_scan(*args, **kwargs)
            scanned.extend(items)
            return items, last

        source.scan = counting_scan
        counts = copy_tables(source, target, segments=8, state_path=state_path, progress=False, log=quiet,
                             page_size=25)
        assert counts["orders"]["items"] == 400
        assert len(scanned) == 400 - recorded          # acknowledged pages are not read again
        assert identical(diff_tables(source, target))
        assert not os.path.exists(state_path)
    finally:
        source.close()
        target.close()


def test_an_existing_incompatible_target_is_refused_with_every_difference(tmp_path, served):
    source = open_side(make_directory(tmp_path / "src", 10, ttl=None))
    target = open_side(served.url)
    try:
        target.client.create_table(
            TableName="orders", BillingMode="PROVISIONED",
            ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 5},
            KeySchema=SCHEMA["KeySchema"],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                  {"AttributeName": "sk", "AttributeType": "S"}])
        with pytest.raises(MigrationError) as e:
            copy_tables(source, target, progress=False, log=quiet)
        message = str(e.value)
        assert "attribute 'sk': type N in the source, S in the target" in message
        assert "global secondary index 'by-g': missing in the target" in message
        assert "local secondary index 'by-l': missing in the target" in message
        assert "billing mode: PAY_PER_REQUEST in the source, PROVISIONED in the target" in message
        assert target.client.scan(TableName="orders")["Count"] == 0
    finally:
        source.close()
        target.close()


def test_a_compatible_existing_target_is_filled(tmp_path):
    source = open_side(make_directory(tmp_path / "src", 50))
    target = open_side(make_directory(tmp_path / "dst", 0))
    try:
        copy_tables(source, target, progress=False, log=quiet)
        assert identical(diff_tables(source, target))
    finally:
        source.close()
        target.close()


def run_cli(*args):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "kvstore", *args], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=120)


def test_cli_copy_verify_and_diff(tmp_path, served):
    src = make_directory(tmp_path / "src", 120)
    done = run_cli("copy", "--from", src, "--to", served.url, "--verify", "--no-progress",
                   "--state", str(tmp_path / "s.json"))
    assert done.returncode == 0, done.stderr
    assert "orders: 120 items in the source, 120 in the target: identical" in done.stderr
    same = run_cli("diff", "--from", served.url, "--to", src)
    assert same.returncode == 0, same.stderr
    import kvstore
    with kvstore.open(src) as db:
        db.Table("orders").delete_item(Key={"pk": "p1", "sk": 1})
    differ = run_cli("diff", "--from", src, "--to", served.url)
    assert differ.returncode == 1
    assert '1 missing' not in differ.stderr and "0 missing, 1 extra, 0 different" in differ.stderr
    assert 'extra {"pk":{"S":"p1"},"sk":{"N":"1"}}' in differ.stderr
    missing = run_cli("diff", "--from", src, "--to", str(tmp_path / "nothing"))
    assert missing.returncode == 2 and "no such kvstore directory" in missing.stderr


def test_multi_attribute_gsi_keys_are_carried(tmp_path, served):
    import kvstore
    index = {"IndexName": "by-region-day", "Projection": {"ProjectionType": "ALL"},
             "KeySchema": [{"AttributeName": "region", "KeyType": "HASH"}, {"AttributeName": "shop", "KeyType": "HASH"},
                           {"AttributeName": "day", "KeyType": "RANGE"}, {"AttributeName": "n", "KeyType": "RANGE"}]}
    with kvstore.open(str(tmp_path / "src")) as db:
        table = db.create_table(
            TableName="sales", BillingMode="PAY_PER_REQUEST", GlobalSecondaryIndexes=[index],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": n, "AttributeType": t}
                                  for n, t in (("pk", "S"), ("region", "S"), ("shop", "S"), ("day", "S"), ("n", "N"))])
        for i in range(30):
            table.put_item(Item={"pk": f"s{i}", "region": f"r{i % 2}", "shop": f"x{i % 3}", "day": f"d{i % 4}", "n": i})
    source, target = open_side(str(tmp_path / "src")), open_side(served.url)
    try:
        copy_tables(source, target, progress=False, log=quiet)
        [gsi] = target.describe("sales")["GlobalSecondaryIndexes"]
        assert gsi["KeySchema"] == index["KeySchema"]
        found = target.client.query(
            TableName="sales", IndexName="by-region-day",
            KeyConditionExpression="#r = :r AND shop = :s AND #d = :d",
            ExpressionAttributeNames={"#r": "region", "#d": "day"},
            ExpressionAttributeValues={":r": {"S": "r0"}, ":s": {"S": "x0"}, ":d": {"S": "d0"}})["Items"]
        assert sorted(int(i["n"]["N"]) for i in found) == [0, 12, 24]
        assert identical(diff_tables(source, target))
    finally:
        source.close()
        target.close()
