"""Exactly-once database effects: a handler's writes inside ctx.transaction() commit
together with the job's success, fenced on the attempt.  Worker processes are
SIGKILLed at chosen points (inside the transaction before its commit, after the
commit before the handler returns): after rescue and retry every job's row exists
exactly once and every job ends succeeded."""

from __future__ import annotations

import pytest
from sqlalchemy import text

import pgq_sa

from .apps import results_app
from .conftest import get_job, wait_for, wait_status
from .procs import WorkerProcess

pytestmark = pytest.mark.anyio

APP = "tests.apps.results_app:registry"


@pytest.fixture
async def effects_table(engine):
    async with engine.begin() as conn:
        # no unique key: a second insert for a job would show up as a second row
        await conn.execute(text("CREATE TABLE effects (job_id bigint, key text)"))


async def rows_per_job(engine) -> dict[int, int]:
    async with engine.connect() as conn:
        return dict((await conn.execute(text(
            "SELECT job_id, count(*) FROM effects GROUP BY job_id"))).all())


@pytest.mark.slow
@pytest.mark.parametrize("point", ["before", "after"])
async def test_sigkill_before_or_after_commit_applies_each_effect_once(
        engine, dsn, effects_table, tmp_path, point):
    jobs = [await results_app.effect.enqueue(engine, key=f"k{i}") for i in range(3)]
    env = {"PGQ_TEST_KILL": point, "PGQ_TEST_MARKERS": str(tmp_path)}
    kills = 0

    async def all_done() -> bool:
        async with engine.connect() as conn:
            left = (await conn.execute(text(
                "SELECT count(*) FROM pgq_jobs WHERE status <> 'succeeded'"))).scalar()
        return left == 0

    # Each worker kills itself on the first job not killed yet (a marker file per
    # job); the next one rescues that job (heartbeat_timeout=2) and retries it.
    for _ in range(len(jobs) + 1):
        with WorkerProcess(dsn, "--concurrency", "1", app=APP, env=env) as worker:
            worker.wait_registered()

            async def ended() -> bool:
                return not worker.alive or await all_done()

            await wait_for(ended, timeout=60, interval=0.05)
            if not worker.alive:
                assert worker.proc.returncode == -9, worker.output()
                kills += 1
        if await all_done():
            break
    # each job's first attempt kills its worker at the chosen point, unless a stop
    # came first (a heartbeat taking it for lost, say): the guarantee below holds
    # either way, and at least one kill must have tested it
    assert 1 <= kills <= len(jobs)
    assert await all_done()
    assert await rows_per_job(engine) == {job: 1 for job in jobs}
    for job in jobs:
        found = await get_job(engine, job)
        assert found["status"] == "succeeded"
        if point == "before":  # killed inside the transaction: rolled back, ran again
            assert found["attempts"] == 2
            assert "WorkerLost" in str(found["errors"])
        else:  # committed: never rescued, never run again
            assert found["attempts"] == 1 and found["errors"] == []


async def test_commit_refused_when_the_job_was_taken_away(engine, dsn, effects_table,
                                                         tmp_path):
    """The job's row moves on to a later attempt while the handler is inside its
    transaction: the fence refuses the commit, nothing is applied; the next
    attempt commits once."""
    marker = tmp_path / "go"
    job = await results_app.fenced.enqueue(engine, key="x", marker=str(marker))
    with WorkerProcess(dsn, "--concurrency", "2", app=APP) as worker:
        worker.wait_registered()
        await wait_status(engine, job, "running", timeout=20)

        async def inserted_uncommitted() -> bool:  # the handler reached its wait
            async with engine.connect() as conn:
                return bool((await conn.execute(text(
                    "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                    "WHERE c.relname = 'effects' AND l.mode = 'RowExclusiveLock'"))).scalar())

        await wait_for(inserted_uncommitted, timeout=20)
        # taken away: the row now holds a later attempt (as after a rescue and a new
        # claim).  It stays running on this worker, so its heartbeat does not stop
        # the handler: only the fence can refuse the commit.
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE pgq_jobs SET attempts = attempts + 1 "
                                    "WHERE id = :id"), {"id": job})
        marker.touch()

        async def refused() -> bool:
            return "CommitRefused" in worker.output()

        await wait_for(refused, timeout=20)
        assert await rows_per_job(engine) == {}  # rolled back: nothing applied
        async with engine.begin() as conn:  # back in the queue, as the rescue would
            await conn.execute(text(
                "UPDATE pgq_jobs SET status = 'queued', worker_id = NULL, attempts = 1, "
                "run_at = now() WHERE id = :id"), {"id": job})
        assert await pgq_sa.wait(engine, job, timeout=30) == {"attempt": 2}
        found = await get_job(engine, job)
    assert found["status"] == "succeeded" and found["attempts"] == 2
    assert await rows_per_job(engine) == {job: 1}


async def test_sync_handler_transaction(engine, dsn, effects_table):
    jobs = [await results_app.effect_sync.enqueue(engine, key=f"s{i}") for i in range(5)]
    with WorkerProcess(dsn, "--concurrency", "4", app=APP) as worker:
        worker.wait_registered()
        for job in jobs:
            await wait_status(engine, job, "succeeded", timeout=20)
    assert await rows_per_job(engine) == {job: 1 for job in jobs}
