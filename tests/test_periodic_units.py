"""Periodic schedules without processes: fire times, the missed-firing policies,
registration errors, and a schedule removed from the code (in-process workers)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

import pgq_sa
from pgq_sa.periodic import Schedule

from .conftest import running_worker, wait_for
from .procs import pgq, query

T = datetime(2026, 3, 29, 0, 0, 0, tzinfo=timezone.utc)  # Oslo switches to summer time at 01:00


def at(seconds: float) -> datetime:
    return T + timedelta(seconds=seconds)


def test_cron_in_a_time_zone_and_with_seconds():
    daily = Schedule("d", "t", cron="30 2 * * *", tz="Europe/Oslo")
    # 02:30 does not exist in Oslo on the day summer time starts: croniter moves on
    assert daily.next_after(T - timedelta(days=1)).astimezone(timezone.utc) == \
        datetime(2026, 3, 28, 1, 30, tzinfo=timezone.utc)
    assert daily.describe() == "30 2 * * * (Europe/Oslo)"
    every_ten = Schedule("s", "t", cron="* * * * * */10")
    assert every_ten.next_after(at(0)) == at(10) and every_ten.latest_at(at(9.9)) == at(0)
    interval = Schedule("i", "t", every=timedelta(minutes=5))
    assert interval.expression == "every 300s" and interval.next_after(at(1)) == at(300)
    assert interval.latest_at(at(300)) == at(300)


@pytest.mark.parametrize(("missed", "fired"), [
    ("latest", [97, 98, 99, 100]),  # the latest missed, then the on-time ones
    ("skip", [98, 99, 100]),
    ("all", [94, 95, 96, 97, 98, 99, 100]),  # up to max_missed=4 missed ones
])
def test_missed_policies(missed, fired):
    s = Schedule("s", "t", every=timedelta(seconds=1), missed=missed, max_missed=4,
                 grace=timedelta(seconds=2.5))
    # last fired at 0, down until 100.2: 98 to 100 are on time (at most 2.5 s old)
    firing = s.due(at(0), at(100.2))
    assert [(t - T).total_seconds() for t in firing.fire] == fired
    assert firing.last == at(100)
    assert s.due(at(100), at(100.5)).fire == ()  # nothing new
    assert s.due(at(100), at(101)).fire == (at(101),)


def test_on_time_firings_all_fire_whatever_the_policy():
    s = Schedule("s", "t", every=timedelta(seconds=1), missed="skip",
                 grace=timedelta(seconds=10))
    assert s.due(at(0), at(3.5)).fire == (at(1), at(2), at(3))


@pytest.mark.parametrize(("options", "message"), [
    ({"cron": "*/5 * * *"}, "task 'job': invalid cron expression '\\*/5 \\* \\* \\*'"),
    ({"cron": "* * * * *", "tz": "Mars/Olympus"}, "task 'job': unknown time zone"),
    ({"every": 0}, "task 'job': every must be > 0 seconds"),
    ({"every": 5, "missed": "never"}, "task 'job': missed must be one of latest, skip, all"),
    ({"every": 5, "missed": "all", "max_missed": 0}, "max_missed must be an int >= 1"),
    ({"tz": "Europe/Oslo"}, "task 'job': tz= applies to cron= schedules only"),
])
def test_bad_schedules_fail_at_registration_naming_the_task(options, message):
    registry = pgq_sa.Registry()
    with pytest.raises(ValueError, match=message):
        @registry.task(**options)
        def job() -> None: ...
    assert "job" not in registry and not registry.schedules


def test_schedule_checks_its_task_and_payload():
    registry = pgq_sa.Registry()

    @registry.task()
    def report(account: int) -> None: ...

    with pytest.raises(TypeError, match="task 'report': payload does not fit"):
        registry.schedule(report, every=60)
    registry.schedule(report, every=60, payload={"account": 1}, name="report-1")
    with pytest.raises(ValueError, match="a schedule named 'report-1' already exists"):
        registry.schedule(report, cron="0 * * * *", payload={"account": 1}, name="report-1")
    with pytest.raises(pgq_sa.UnknownTask):
        registry.schedule("nope", every=60)
    assert registry.schedules["report-1"].payload == {"account": 1}


@pytest.mark.anyio
async def test_a_schedule_removed_from_the_code_stops_firing(dsn):
    def make(*names: str) -> pgq_sa.Registry:
        registry = pgq_sa.Registry()

        @registry.task(queue="p")
        def tick() -> None: ...

        for name in names:
            registry.schedule(tick, every=1, name=name)
        return registry

    async with running_worker(make("old", "kept"), dsn) as worker:
        assert worker.scheduler is not None
        await worker.scheduler.passes.wait(1)
        async def four() -> bool:
            return query(dsn, "SELECT count(*) FROM pgq_jobs")[0][0] >= 4

        await wait_for(four, 15, 0.1)
    [(old_last,)] = query(dsn, "SELECT last_fire_at FROM pgq_schedules WHERE name = 'old'")
    async with running_worker(make("kept"), dsn) as worker:
        assert worker.scheduler is not None
        kept = query(dsn, "SELECT last_fire_at FROM pgq_schedules WHERE name = 'kept'")[0][0]
        async def kept_fired_twice() -> bool:
            return query(dsn, "SELECT last_fire_at FROM pgq_schedules WHERE name = 'kept'"
                         )[0][0] >= kept + timedelta(seconds=2)

        await wait_for(kept_fired_twice, 15, 0.1)
        assert worker.scheduler.fired.get("old") is None
    assert query(dsn, "SELECT last_fire_at FROM pgq_schedules WHERE name = 'old'") == \
        [(old_last,)]
    listed = pgq("schedules", "--json", "--registry", "tests.apps.periodic_app:registry",
                 dsn=dsn)
    assert listed.returncode == 0, listed.stderr
    import json

    rows = {r["name"]: r for r in json.loads(listed.stdout)}
    assert rows["old"]["orphaned"] is True and rows["old"]["next_fire_at"] is None
    assert "old (orphaned)" in pgq("schedules", "--registry",
                                   "tests.apps.periodic_app:registry", dsn=dsn).stdout
    bad = pgq("schedules", "--registry", "tests.apps.nothing:registry", dsn=dsn)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1
    # run now: one more job, outside the fire times
    ran = pgq("schedules", "run", "kept", dsn=dsn)
    assert ran.returncode == 0, ran.stderr
    job = query(dsn, "SELECT entrypoint, queue FROM pgq_jobs WHERE id = %s",
                (int(ran.stdout),))
    assert job == [("tick", "p")]
    missing = pgq("schedules", "run", "nope", dsn=dsn)
    assert missing.returncode == 1 and missing.stderr.strip() == (
        "error: no schedule named 'nope' (pgq-sa schedules lists them)")


@pytest.mark.anyio
async def test_a_firing_carries_its_tasks_limits_and_heartbeat_timeout(dsn):
    """A periodic job is an ordinary job of its task: the concurrency limit and the
    heartbeat timeout an enqueue would store are on its row too."""
    registry = pgq_sa.Registry()

    @registry.task(queue="p", concurrency_limit=2, heartbeat_timeout=45, every=1)
    def limited_tick() -> None: ...

    async with running_worker(registry, dsn):
        async def fired() -> bool:
            return query(dsn, "SELECT count(*) FROM pgq_jobs")[0][0] >= 1

        await wait_for(fired, 15, 0.1)
    rows = query(dsn, "SELECT flow_key, concurrency_key, concurrency_limit, heartbeat_timeout "
                      "FROM pgq_jobs ORDER BY id LIMIT 1")
    assert rows == [("limited_tick", "limited_tick", 2, 45.0)]
