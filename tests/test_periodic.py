"""Periodic jobs with real worker processes: every fire time is one job whatever
the number of workers, the missed-firing policy holds after all workers were
down, and ``pgq-sa schedules`` lists what happened."""

from __future__ import annotations

import itertools
import json
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

import pytest

from .procs import pgq, query, start, wait_until

#: The full suite only: three worker processes for about a minute.
pytestmark = pytest.mark.slow

APP = "tests.apps.periodic_app:registry"
GRACE = timedelta(seconds=3)
SECOND = timedelta(seconds=1)


@contextmanager
def periodic_workers(dsn: str, n: int, missed: str) -> Iterator[list[subprocess.Popen[bytes]]]:
    env = {"PGQ_SA_TEST_EVERY": "1", "PGQ_SA_TEST_MISSED": missed,
           "PGQ_SA_TEST_GRACE": str(GRACE.total_seconds())}
    procs = [start("worker", APP, "--log-level", "INFO", dsn=dsn, env=env) for _ in range(n)]
    try:
        yield procs
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                assert p.wait(timeout=30) == 0
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
                raise


def fired(dsn: str, after: datetime | None = None) -> list[tuple[int, datetime, datetime]]:
    """(id, run_at = fire time, created_at = the firing pass's clock) of tick jobs."""
    return [(r[0], r[1], r[2]) for r in query(
        dsn, "SELECT id, run_at, created_at FROM pgq_jobs WHERE entrypoint = 'tick' "
             "AND (%s::timestamptz IS NULL OR run_at > %s) ORDER BY run_at, id",
        (after, after))]


def db_now(dsn: str) -> datetime:
    return query(dsn, "SELECT now()")[0][0]


def assert_each_second_once(jobs: list[tuple[int, datetime, datetime]]) -> None:
    times = [t for _, t, _ in jobs]
    assert len(set(times)) == len(times), f"a fire time fired twice: {times}"
    assert all(t.microsecond == 0 for t in times)
    gaps = [(a, b) for a, b in itertools.pairwise(times) if b - a != SECOND]
    assert not gaps, f"fire times missing: {gaps}"


def stop_and_wait(dsn: str, last: datetime, down: timedelta) -> None:
    """With every worker stopped: wait until the clock is ``down`` past ``last``."""
    wait_until(lambda: db_now(dsn) > last + down, 30, 0.1, message="the downtime")
    assert fired(dsn, last) == []  # nobody fires while every worker is down


@pytest.mark.parametrize("missed", ["latest", "skip"])
def test_three_workers_fire_each_time_once_and_the_policy_holds_after_downtime(dsn, missed):
    # three workers, an interval of 1 s, about 15 s: each fire time exactly one job
    with periodic_workers(dsn, 3, missed):
        wait_until(lambda: len(fired(dsn)) >= 15, 60, 0.2, message="15 firings")
    jobs = fired(dsn)
    assert_each_second_once(jobs)
    [(last_fire, last_job)] = query(
        dsn, "SELECT last_fire_at, last_job_id FROM pgq_schedules WHERE name = 'tick'")
    assert (last_fire, last_job) == (jobs[-1][1], jobs[-1][0])
    # every worker down for 4 s more than the grace, then one comes back
    stop_and_wait(dsn, last_fire, GRACE + 4 * SECOND)
    with periodic_workers(dsn, 1, missed):
        wait_until(lambda: len(fired(dsn, last_fire)) >= 4, 30, 0.2,
                   message="firings after the restart")
    after = fired(dsn, last_fire)
    assert_each_second_once([j for j in after if j[2] - j[1] <= GRACE])
    late = [j for j in after if j[2] - j[1] > GRACE]  # fire times missed by then
    first_pass = min(created for _, _, created in after)
    # the newest fire time at least GRACE old at the first pass
    newest_missed = (first_pass - GRACE).replace(microsecond=0)
    if missed == "skip":
        assert late == [], after
        assert after[0][1] > newest_missed
    else:
        assert [(t, created) for _, t, created in late] == [(newest_missed, first_pass)], after
        assert after[0][1] == newest_missed  # none older: the others were dropped
        assert newest_missed - last_fire >= 4 * SECOND
    assert_each_second_once([j for j in after if j[1] >= newest_missed])

    listed = json.loads(pgq("schedules", "--json", dsn=dsn).stdout)
    [row] = listed
    assert row["name"] == "tick" and row["expression"] == "every 1s"
    assert row["missed"] == missed and row["orphaned"] is False
    assert row["last_job_id"] == after[-1][0] and row["last_status"] in (
        "queued", "running", "succeeded")
    assert row["next_fire_at"] > row["last_fire_at"]
