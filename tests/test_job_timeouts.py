"""Per-job timeouts: the task's heartbeat timeout is stored with each job at enqueue,
and the rescue applies the job's own value, also in a worker process whose
registry does not know the task."""

from __future__ import annotations

import pytest
from sqlalchemy import text

import pgq_sa

from .apps import results_app
from .conftest import get_job, wait_status
from .procs import WorkerProcess

pytestmark = pytest.mark.anyio


async def test_enqueue_stores_the_tasks_heartbeat_timeout(engine, sync_engine):
    by_task = await results_app.effect.enqueue(engine, key="a")  # heartbeat_timeout=2
    by_sync_task = results_app.effect_sync.enqueue_sync(sync_engine, key="b")
    many = await pgq_sa.enqueue_many(engine, [results_app.effect.job(key=str(i))
                                              for i in range(300)])  # COPY from 200 on
    by_name = await pgq_sa.enqueue(engine, "effect", {"key": "c"})
    assert (await get_job(engine, by_task))["heartbeat_timeout"] == 2.0
    assert (await get_job(engine, by_sync_task))["heartbeat_timeout"] == 2.0
    assert (await get_job(engine, many[0]))["heartbeat_timeout"] == 2.0
    assert (await get_job(engine, many[-1]))["heartbeat_timeout"] == 2.0
    assert (await get_job(engine, by_name))["heartbeat_timeout"] is None  # no registry


async def test_a_worker_rescues_with_the_jobs_timeout_not_its_registrys(engine, dsn):
    """Two jobs of a dead worker (its row is still there, so only the heartbeat
    timeout decides), of a task the rescuing worker does not register (its own
    policy would be the 30 s default): the one with a stored 2 s timeout and a
    heartbeat 5 s old is rescued; the one with a stored 60 s timeout and a heartbeat
    45 s old is not, in the same rescue statement."""
    short = await results_app.effect.enqueue(engine, key="short")
    long = await results_app.effect.enqueue(engine, key="long")
    async with engine.begin() as conn:
        await conn.execute(text(
            "INSERT INTO pgq_workers (id, host, pid, queues, entrypoints, concurrency) "
            "VALUES ('ghost', 'h', 1, '{default}', '{effect}', 1)"))
        await conn.execute(text(
            "UPDATE pgq_jobs SET status = 'running', attempts = 1, worker_id = 'ghost', "
            "started_at = now() - interval '50 seconds', heartbeat_at = now() - "
            "CASE WHEN id = :short THEN interval '5 seconds' ELSE interval '45 seconds' END, "
            "heartbeat_timeout = CASE WHEN id = :short THEN 2 ELSE 60 END "
            "WHERE id IN (:short, :long)"), {"short": short, "long": long})
    # tests.apps.cli_app does not register "effect"
    with WorkerProcess(dsn, app="tests.apps.cli_app:registry") as worker:
        worker.wait_registered()
        rescued = await wait_status(engine, short, "queued", timeout=20)
    assert "no heartbeat from worker ghost" in rescued["last_error"]
    assert (await get_job(engine, long))["status"] == "running"
