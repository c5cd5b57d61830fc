"""Backup plans (kvstore.engine.plans): schedules and retention over simulated weeks, catch-up after
downtime, tagging, restores, and the ways a plan is set (Python, ``kvstore serve`` flags, config file)."""

import datetime

import pytest

import kvstore
from kvstore.clock import ManualClock
from kvstore.engine.backup import store
from kvstore.engine.plans import BackupPlan, load_config, parse_duration
from kvstore.server.main import build_parser

START = 1_700_000_000           # 2023-11-14T22:13:20Z
HOUR, DAY = 3600, 86400


def create(db, name="things"):
    return db.create_table(TableName=name, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                           AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                           BillingMode="PAY_PER_REQUEST")


def plan_backups(db, plan, table="things"):
    return [b for b in store(db.engine).all() if b.plan == plan and b.meta["TableName"] == table]


def test_hourly_and_daily_over_three_weeks_keep_the_newest_of_each():
    clock = ManualClock(start=START)
    db = kvstore.open(":memory:", clock=clock, backup_plans=[BackupPlan("hourly", HOUR, 24),
                                                             BackupPlan("daily", DAY, 7)])
    table = create(db)
    for step in range(21 * 24):
        table.put_item(Item={"pk": "k", "step": step})
        clock.advance(HOUR)
        db.run_pending()
        hourly = plan_backups(db, "hourly")
        daily = plan_backups(db, "daily")
        # one hourly backup per hour, the newest 24 kept; one daily per day, the newest 7 kept
        assert len(hourly) == min(step + 1, 24)
        assert hourly[-1].created == clock()
        assert [b.created for b in hourly] == [clock() - HOUR * i for i in reversed(range(len(hourly)))]
        assert len(daily) == min((step + 1) // 24, 7)
        if daily:
            assert [b.created for b in daily] == [START + DAY * (i + 1) for i in range(
                (step + 1) // 24 - len(daily), (step + 1) // 24)]
    summaries = db.meta.client.list_backups(TableName="things")["BackupSummaries"]
    assert len(summaries) == 31
    stamp = datetime.datetime.fromtimestamp(clock(), datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    assert {s["BackupName"] for s in summaries[-2:]} == {f"hourly.{stamp}", f"daily.{stamp}"}
    assert {s["BackupName"].split(".")[0] for s in summaries} == {"hourly", "daily"}
    db.close()


def test_a_plan_backup_restores_the_table_as_it_was():
    clock = ManualClock(start=START)
    db = kvstore.open(":memory:", clock=clock, backup_plans=["hourly:1h:2"])
    table = create(db)
    for i in range(50):
        table.put_item(Item={"pk": f"k{i}", "v": i})
    clock.advance(HOUR)
    db.run_pending()
    table.put_item(Item={"pk": "later", "v": -1})
    arn = plan_backups(db, "hourly")[0].arn
    db.meta.client.restore_table_from_backup(TargetTableName="restored", BackupArn=arn)
    items = db.Table("restored").scan()["Items"]
    assert sorted(int(i["v"]) for i in items) == list(range(50))
    db.close()


def test_catch_up_after_downtime_is_one_backup_not_one_per_missed_slot(tmp_path):
    clock = ManualClock(start=START)
    path = str(tmp_path / "db")
    with kvstore.open(path, clock=clock, backup_plans=["hourly:1h:24"]) as db:
        create(db)
        create(db, "other")
        clock.advance(HOUR)
        db.run_pending()
        assert len(plan_backups(db, "hourly")) == 1
    clock.advance(3 * DAY + 1234)                      # closed for three days
    with kvstore.open(path, clock=clock, backup_plans=["hourly:1h:24"]) as db:
        db.run_pending()
        for name in ("things", "other"):
            backups = plan_backups(db, "hourly", name)
            assert [b.created for b in backups] == [START + HOUR, clock()]
        caught_up = clock()
        clock.advance(HOUR - 1)                         # the next slot is an interval after the catch-up
        db.run_pending()
        assert len(plan_backups(db, "hourly")) == 2
        clock.advance(1)
        db.run_pending()
        assert [b.created for b in plan_backups(db, "hourly")] == [START + HOUR, caught_up, caught_up + HOUR]


def test_reopen_before_the_next_slot_takes_no_extra_backup(tmp_path):
    clock = ManualClock(start=START)
    path = str(tmp_path / "db")
    with kvstore.open(path, clock=clock, backup_plans=["hourly:1h:24"]) as db:
        create(db)
        clock.advance(HOUR)
        db.run_pending()
    clock.advance(600)
    with kvstore.open(path, clock=clock, backup_plans=["hourly:1h:24"]) as db:
        db.run_pending()
        assert len(plan_backups(db, "hourly")) == 1      # the 10-minute-old backup still covers this slot
        clock.advance(HOUR - 600)
        db.run_pending()
        assert [b.created for b in plan_backups(db, "hourly")] == [START + HOUR, START + 2 * HOUR]
        assert plan_backups(db, "hourly")[0].name == "hourly.20231114T231320Z"


def test_retention_never_deletes_backups_the_plan_did_not_make():
    clock = ManualClock(start=START)
    db = kvstore.open(":memory:", clock=clock, backup_plans=["hourly:1h:1"])
    create(db)
    client = db.meta.client
    mine = client.create_backup(TableName="things", BackupName="hourly.20231114T221320Z")["BackupDetails"]
    for _ in range(5):
        clock.advance(HOUR)
        db.run_pending()
    names = [s["BackupArn"] for s in client.list_backups()["BackupSummaries"]]
    assert mine["BackupArn"] in names and len(names) == 2
    db.close()


def test_a_plan_limited_to_tables_backs_up_only_those_and_tables_created_later_are_covered():
    clock = ManualClock(start=START)
    db = kvstore.open(":memory:", clock=clock, backup_plans=["some:1d:3:things,later"])
    create(db)
    create(db, "other")
    clock.advance(DAY)
    db.run_pending()
    create(db, "later")
    clock.advance(DAY)
    db.run_pending()
    tables = [s["TableName"] for s in db.meta.client.list_backups()["BackupSummaries"]]
    assert sorted(tables) == ["later", "things", "things"]
    db.close()


def test_add_replace_and_remove_a_plan_from_python():
    clock = ManualClock(start=START)
    db = kvstore.open(":memory:", clock=clock)
    create(db)
    db.add_backup_plan("hourly:1h:24")
    db.run_pending()                                   # no backup yet: the first run is due at once
    assert len(plan_backups(db, "hourly")) == 1
    db.add_backup_plan(BackupPlan("hourly", 2 * HOUR, 24))
    assert db.backup_plans == [BackupPlan("hourly", 2 * HOUR, 24)]
    clock.advance(HOUR)
    db.run_pending()
    assert len(plan_backups(db, "hourly")) == 1        # the replaced plan runs every two hours now
    clock.advance(HOUR)
    db.run_pending()
    assert len(plan_backups(db, "hourly")) == 2
    db.remove_backup_plan("hourly")
    assert db.backup_plans == []
    clock.advance(10 * HOUR)
    db.run_pending()
    assert len(plan_backups(db, "hourly")) == 2        # removed plans stop; their backups stay
    with pytest.raises(KeyError):
        db.remove_backup_plan("hourly")
    db.close()


def test_a_table_deleted_between_runs_is_skipped_and_its_backups_kept():
    clock = ManualClock(start=START)
    db = kvstore.open(":memory:", clock=clock, backup_plans=["hourly:1h:2"])
    create(db)
    clock.advance(HOUR)
    db.run_pending()
    db.Table("things").delete()
    clock.advance(5 * HOUR)
    db.run_pending()
    assert len(plan_backups(db, "hourly")) == 1
    assert db.engine.background_errors == []
    db.close()


@pytest.mark.parametrize("spec, plan", [
    ("hourly:1h:24", BackupPlan("hourly", HOUR, 24)),
    ("daily:1d:7:a_table,b.table", BackupPlan("daily", DAY, 7, ["a_table", "b.table"])),
    ("quick:90:1", BackupPlan("quick", 90, 1)),
    ("weekly:2w:4", BackupPlan("weekly", 14 * DAY, 4)),
])
def test_plan_specs(spec, plan):
    assert BackupPlan.parse(spec) == plan


@pytest.mark.parametrize("spec", ["hourly", "hourly:1h", "hourly:1h:0", "hourly:1x:3", "hourly:0s:3",
                                  "bad name:1h:3", "hourly:1h:-1", "hourly:1h:3:ab", "a:b:c:d:e", ":1h:3"])
def test_bad_plan_specs_are_refused(spec):
    with pytest.raises(ValueError):
        BackupPlan.parse(spec)


def test_durations():
    assert [parse_duration(t) for t in ("30", "30s", "15m", "2h", "1d", "1w")] == [30, 30, 900, 7200, 86400, 604800]


def test_config_file_and_serve_flags(tmp_path):
    config = tmp_path / "kvstore.toml"
    config.write_text('[[backup_plan]]\nname = "hourly"\nevery = "1h"\nkeep = 24\n\n'
                      '[[backup_plan]]\nname = "daily"\nevery = 86400\nkeep = 7\ntables = ["orders"]\n')
    assert load_config(str(config)) == [BackupPlan("hourly", HOUR, 24), BackupPlan("daily", DAY, 7, ["orders"])]
    args = build_parser().parse_args(["--config", str(config), "--backup-plan", "h:1h:3", "--backup-plan", "d:1d:2"])
    assert args.config == str(config) and args.backup_plan == ["h:1h:3", "d:1d:2"]
    bad = tmp_path / "bad.toml"
    bad.write_text('[[backup_plan]]\nname = "hourly"\nevery = "1h"\nkeep = 24\ncolour = "red"\n')
    with pytest.raises(ValueError, match="colour"):
        load_config(str(bad))
    bad.write_text('backups = 1\n')
    with pytest.raises(ValueError, match="backups"):
        load_config(str(bad))


def test_serve_refuses_a_bad_plan(capsys):
    from kvstore.server.main import main
    assert main(["--in-memory", "--backup-plan", "hourly:1h"]) == 2
    assert main(["--in-memory", "--backup-plan", "h:1h:2", "--backup-plan", "h:1d:2"]) == 2
