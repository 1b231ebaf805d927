"""Rescue within seconds of a crash: a worker holds a session-level advisory lock for
its lifetime; when its process dies PostgreSQL closes the session, and any live
worker sees the lock gone and returns its jobs at once, long before the heartbeat
timeout.  An acknowledgement from a worker thought dead stays fenced."""

from __future__ import annotations

import time
from collections import Counter

import anyio
import pytest
from sqlalchemy import text

import pgq_sa

from .apps import topologies
from .apps.topologies import HEARTBEAT_TIMEOUT
from .conftest import running_worker, wait_for
from .procs import WorkerProcess, query, wait_until

pytestmark = pytest.mark.slow  # real processes and kills: the full suite only

APP = "tests.apps.topologies:registry"
RUNS = ("CREATE TABLE runs (job_id bigint, attempt int, pid int, host text, "
        "at timestamptz DEFAULT clock_timestamp())")


def test_sigkill_one_of_two_workers_is_rescued_within_seconds(dsn, sync_engine):
    """50 jobs in flight on each of two worker processes; one is SIGKILLed: its jobs
    are back within about two seconds (the heartbeat timeout is 30 s) and finish on
    the survivor; duplicates only among the killed worker's in-flight jobs; nothing
    lost."""
    query(dsn, RUNS)
    n, seconds = 100, 3.0
    with WorkerProcess(dsn, "-c", "50", app=APP) as a, \
            WorkerProcess(dsn, "-c", "50", app=APP) as b:
        a_id = a.wait_registered()
        b.wait_registered()
        wait_until(lambda: query(dsn, "SELECT count(*) FROM pgq_workers "
                                      "WHERE session_key IS NOT NULL")[0][0] == 2, 20,
                   message="both workers to record their session lock")
        pgq_sa.enqueue_many_sync(sync_engine, [("hold", {"seconds": seconds})] * n)
        wait_until(lambda: query(dsn, "SELECT count(*) FROM runs")[0][0] == n, 30,
                   message="every job in flight")
        in_flight = {r[0] for r in query(dsn, "SELECT id FROM pgq_jobs WHERE status = "
                                              "'running' AND worker_id = %s", (a_id,))}
        assert len(in_flight) == 50
        [(killed_at,)] = query(dsn, "SELECT clock_timestamp()")
        t0 = time.monotonic()
        a.kill()
        wait_until(lambda: query(dsn, "SELECT count(*) FROM pgq_jobs "
                                      "WHERE status = 'succeeded'")[0][0] == n,
                   HEARTBEAT_TIMEOUT, message="every job to succeed")
        finished_after = time.monotonic() - t0
        assert b.alive
        survivor_log = b.output()

    # back in the queue within seconds of the kill, not after the heartbeat timeout
    [(rescued, last_rescue)] = query(
        dsn, "SELECT count(*), extract(epoch FROM max((e->>'at')::timestamptz) - %s) "
             "FROM pgq_jobs, jsonb_array_elements(errors) e "
             "WHERE e->>'type' = 'WorkerLost'", (killed_at,))
    assert rescued == len(in_flight)
    assert float(last_rescue) < 3.0, last_rescue
    assert finished_after < HEARTBEAT_TIMEOUT / 2, finished_after
    assert f"the database session of worker(s) {a_id} is gone" in survivor_log

    rows = query(dsn, "SELECT id, status, errors FROM pgq_jobs")
    assert len(rows) == n and {r[1] for r in rows} == {"succeeded"}
    lost = {r[0] for r in rows if r[2]}
    assert lost == in_flight
    assert all(f"the database session of worker {a_id} is gone" in r[2][0]["message"]
               for r in rows if r[0] in lost)
    runs = query(dsn, "SELECT job_id, attempt, pid FROM runs")
    per_job = Counter(job_id for job_id, _, _ in runs)
    assert set(per_job) == {r[0] for r in rows}, "a job never ran"
    duplicates = {job_id for job_id, count in per_job.items() if count > 1}
    assert duplicates == in_flight, "duplicates only among the killed worker's jobs"
    assert all(count == 2 for job_id, count in per_job.items() if job_id in duplicates)


@pytest.mark.anyio
async def test_a_worker_without_the_session_lock_waits_for_the_heartbeat_timeout(
        dsn, sync_engine):
    """With ``--no-session-lock`` a killed worker's job is not taken early: the
    lost-session check only concerns workers that recorded a lock."""
    query(dsn, RUNS)
    with WorkerProcess(dsn, "-c", "5", "--no-session-lock", app=APP) as a:
        a_id = a.wait_registered()
        assert query(dsn, "SELECT session_key FROM pgq_workers WHERE id = %s",
                     (a_id,)) == [(None,)]
        [job_id] = pgq_sa.enqueue_many_sync(sync_engine, [("hold", {"seconds": 60})])
        wait_until(lambda: query(dsn, "SELECT count(*) FROM runs")[0][0] == 1, 20,
                   message="the job to start")
        a.kill()
    async with running_worker(topologies.registry, dsn) as survivor:
        assert survivor.rescuer is not None
        with anyio.fail_after(20):
            await survivor.rescuer.probes.wait(3)  # three looks for lost sessions
        assert query(dsn, "SELECT status, worker_id FROM pgq_jobs WHERE id = %s",
                     (job_id,)) == [("running", a_id)]


@pytest.mark.anyio
async def test_ack_of_a_worker_thought_dead_stays_fenced(engine, dsn):
    """The database thinks a live worker's session is gone (its row names a lock no
    session holds, as after its lock connection was cut): a second worker rescues
    and reruns the job; the first copy's late outcome (a success) is not written
    over the second attempt's (a failure)."""
    registry = pgq_sa.Registry()
    release_first = anyio.Event()
    attempts: list[int] = []

    @registry.task(max_attempts=2)
    async def work(ctx: pgq_sa.JobContext) -> None:
        attempts.append(ctx.attempt)
        if ctx.attempt == 1:
            with anyio.CancelScope(shield=True):
                await release_first.wait()
            return
        raise RuntimeError("second attempt fails on purpose")

    async with running_worker(registry, dsn, poll_interval=0.2, rescue=False) as first:
        try:
            job_id = await work.enqueue(engine)

            async def started() -> bool:
                return attempts == [1]

            await wait_for(started, timeout=10)

            async def failed() -> bool:
                async with engine.begin() as conn:
                    # a key no session holds; the first worker's next beat writes its
                    # own again, so say it until the rescue happened
                    await conn.execute(text(
                        "UPDATE pgq_workers SET session_key = 4242 WHERE id = :id"),
                        {"id": first.id})
                row = await pgq_sa.admin.get_job(engine, job_id)
                return row is not None and row["status"] == "failed"

            async with running_worker(registry, dsn, poll_interval=0.2) as second:
                await wait_for(failed, timeout=15)
                assert second.rescuer is not None and second.rescuer.rescued == 1
        finally:
            release_first.set()
        assert first.completer is not None
        assert await first.completer.drain(timeout=5)
    row = await pgq_sa.admin.get_job(engine, job_id)
    assert (row["status"], row["attempts"]) == ("failed", 2)
    assert attempts == [1, 2]
    assert "the database session of worker" in row["errors"][0]["message"]
