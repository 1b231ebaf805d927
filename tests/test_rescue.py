"""Heartbeats and rescue: jobs of dead workers go back to the queue, live ones never."""

from __future__ import annotations

import signal
import time
from collections import Counter

import anyio
import pytest
from sqlalchemy import func, select, update

import pgq_sa
from pgq_sa import tables
from pgq_sa.worker.heartbeat import heartbeat_interval

from .conftest import job_status, running_worker, wait_for, wait_status
from .procs import WorkerProcess, query, wait_until

pytestmark = pytest.mark.slow  # real processes, kills and outages: the full suite only

jobs = tables.jobs


def _lost_on(errors: list[dict], worker_id: str) -> bool:
    return any(e["type"] == "WorkerLost" and worker_id in e["message"] for e in errors)


def test_sigkill_one_of_two_workers(dsn, sync_engine):
    """A few hundred jobs in flight, one of two worker processes is SIGKILLed: every
    job succeeds; the only jobs that ran twice were in flight on the killed worker."""
    query(dsn, "CREATE TABLE runs (job_id bigint, attempt int, pid int, "
               "at timestamptz DEFAULT clock_timestamp())")
    n = 400
    with WorkerProcess(dsn, "-c", "100") as a, WorkerProcess(dsn, "-c", "100") as b:
        a_id = a.wait_registered()
        b.wait_registered()
        pgq_sa.enqueue_many_sync(sync_engine, [("record", {"seconds": 1.0})] * n)
        # both are busy: ~200 jobs running; kill A in the middle of its jobs
        wait_until(lambda: query(dsn, "SELECT count(DISTINCT pid) FROM runs")[0][0] == 2
                   and query(dsn, "SELECT count(*) FROM runs")[0][0] >= 150, 30,
                   message="both workers running jobs")
        a.kill()
        wait_until(lambda: query(dsn, "SELECT count(*) FROM pgq_jobs "
                                      "WHERE status = 'succeeded'")[0][0] == n, 60,
                   message="every job to succeed")
        assert b.alive

    rows = query(dsn, "SELECT id, status, errors FROM pgq_jobs")
    assert len(rows) == n and {r[1] for r in rows} == {"succeeded"}
    rescued = {r[0] for r in rows if _lost_on(r[2], a_id)}
    assert rescued, "the killed worker had jobs in flight: some must have been rescued"
    # every job that was not rescued carries no error at all
    assert all(r[2] == [] for r in rows if r[0] not in rescued)

    runs = query(dsn, "SELECT job_id, attempt, pid FROM runs ORDER BY at")
    per_job = Counter(job_id for job_id, _, _ in runs)
    assert set(per_job) == {r[0] for r in rows}, "a job never ran"
    duplicates = {job_id for job_id, count in per_job.items() if count > 1}
    assert duplicates <= rescued, "a job ran twice although its worker did not die"
    for job_id in duplicates:
        first = next(r for r in runs if r[0] == job_id)
        assert first[2] == a.pid, "the first run of a duplicate must be the killed worker's"
    # the rescued jobs ran again on the survivor
    assert all(any(r[0] == j and r[2] == b.pid for r in runs) for j in rescued)


def test_sigkilled_worker_out_of_attempts_fails(dsn, sync_engine):
    """A job whose worker dies on its last attempt ends ``failed`` (WorkerLost)."""
    with WorkerProcess(dsn, "-c", "2") as a:
        a_id = a.wait_registered()
        [job_id] = pgq_sa.enqueue_many_sync(
            sync_engine, [("nap", {"seconds": 60}, {"max_attempts": 1})])
        wait_until(lambda: query(dsn, "SELECT status FROM pgq_jobs WHERE id = %s",
                                 (job_id,))[0][0] == "running", 20, message="job to start")
        a.signal(signal.SIGKILL)
        a.wait(10)
        with WorkerProcess(dsn, "-c", "2") as b:
            b.wait_registered()
            wait_until(lambda: query(dsn, "SELECT status FROM pgq_jobs WHERE id = %s",
                                     (job_id,))[0][0] == "failed", 20,
                       message="job to fail")
    [(attempts, errors, last_error)] = query(
        dsn, "SELECT attempts, errors, last_error FROM pgq_jobs WHERE id = %s", (job_id,))
    assert attempts == 1
    assert [e["type"] for e in errors] == ["WorkerLost"] and _lost_on(errors, a_id)
    assert "worker lost" in last_error


def test_heartbeat_interval_is_derived_from_the_timeout():
    assert heartbeat_interval([30.0]) == 7.5
    assert heartbeat_interval([2.0, 30.0]) == 0.5  # the shortest task decides
    assert heartbeat_interval([1.0]) == 0.25
    assert heartbeat_interval([3600.0]) == 10.0


@pytest.mark.anyio
async def test_long_job_of_a_live_worker_is_never_rescued(engine, dsn):
    """Jobs running for several heartbeat timeouts, with two live workers rescuing."""
    registry = pgq_sa.Registry()
    runs: list[int] = []

    @registry.task(heartbeat_timeout=1)
    async def long(ctx: pgq_sa.JobContext) -> None:
        runs.append(ctx.id)
        await anyio.sleep(4)

    async with running_worker(registry, dsn, concurrency=5), \
            running_worker(registry, dsn, concurrency=5) as second:
        ids = await pgq_sa.enqueue_many(engine, [long.job()] * 6)

        async def done() -> bool:
            return all([await job_status(engine, i) == "succeeded" for i in ids])

        await wait_for(done, timeout=30)
        assert second.rescuer is not None and second.rescuer.rescued == 0
    assert sorted(runs) == sorted(ids)  # each ran exactly once
    async with engine.connect() as conn:
        rows = (await conn.execute(select(jobs.c.attempts, jobs.c.errors))).all()
    assert all(r.attempts == 1 and r.errors == [] for r in rows)


@pytest.mark.anyio
async def test_heartbeat_is_one_statement_for_all_running_jobs(engine, dsn):
    """All running jobs of a worker get the same heartbeat timestamp (one statement,
    one transaction), refreshed every interval."""
    registry = pgq_sa.Registry()

    @registry.task(heartbeat_timeout=1)
    async def hold() -> None:
        await anyio.sleep(3)

    async with running_worker(registry, dsn, concurrency=20) as worker:
        await pgq_sa.enqueue_many(engine, [hold.job()] * 20)

        async def beats() -> list:
            async with engine.connect() as conn:
                rows = (await conn.execute(
                    select(jobs.c.heartbeat_at).where(jobs.c.status == "running"))).all()
            return rows if len(rows) == 20 and len({r[0] for r in rows}) == 1 else []

        assert worker.heartbeat is not None
        with anyio.fail_after(10):
            await worker.heartbeat.passes.wait(2)  # a whole beat after the claim
        first = (await wait_for(beats, timeout=5))[0][0]
        with anyio.fail_after(10):
            await worker.heartbeat.passes.wait(1)
        second = (await wait_for(beats, timeout=5))[0][0]
        assert second > first
        assert worker.heartbeat is not None and worker.heartbeat.beats >= 2


@pytest.mark.anyio
async def test_lost_claim_is_rescued(engine, dsn):
    """A job marked running for a live worker that does not know about it (its claim
    result was lost with the connection) is not kept alive by that worker's
    heartbeat: it is rescued after the heartbeat timeout and then runs."""
    registry = pgq_sa.Registry()
    ran: list[int] = []

    @registry.task(heartbeat_timeout=1)
    async def job(ctx: pgq_sa.JobContext) -> None:
        ran.append(ctx.attempt)

    async with running_worker(registry, dsn, poll_interval=0.2) as worker:
        job_id = await job.options(delay=3600).enqueue(engine)
        async with engine.begin() as conn:  # what a claim does, result never delivered
            await conn.execute(update(jobs).where(jobs.c.id == job_id).values(
                status="running", attempts=1, worker_id=worker.id,
                started_at=func.now(), heartbeat_at=func.now(), run_at=func.now()))
        t0 = time.monotonic()
        await wait_status(engine, job_id, "succeeded", timeout=15)
        assert time.monotonic() - t0 >= 0.9  # not before the heartbeat timeout
    job_row = await pgq_sa.admin.get_job(engine, job_id)
    assert ran == [2]
    assert [e["type"] for e in job_row["errors"]] == ["WorkerLost"]


@pytest.mark.anyio
async def test_job_of_vanished_worker_is_rescued_without_waiting(engine, dsn):
    """A running job whose worker row is gone (the worker deregistered, or never
    existed) is rescued at once, not after the heartbeat timeout (30 s here)."""
    registry = pgq_sa.Registry()

    @registry.task()
    async def job() -> None:
        pass

    job_id = await job.options(delay=3600).enqueue(engine)
    await _held_by_ghost(engine, job_id, run_at=func.now())
    async with running_worker(registry, dsn, poll_interval=0.2):
        await wait_status(engine, job_id, "succeeded", timeout=10)
    job_row = await pgq_sa.admin.get_job(engine, job_id)
    assert job_row["attempts"] == 2
    [lost] = job_row["errors"]
    assert lost["type"] == "WorkerLost" and "ghost is gone" in lost["message"]


@pytest.mark.anyio
async def test_rescue_ends_a_job_whose_cancel_was_requested(engine, dsn):
    registry = pgq_sa.Registry()

    @registry.task()
    async def job() -> None:
        raise AssertionError("must not run")

    job_id = await job.options(delay=3600).enqueue(engine)
    await _held_by_ghost(engine, job_id, cancel_requested_at=func.now())
    async with running_worker(registry, dsn, poll_interval=0.2):
        await wait_status(engine, job_id, "cancelled", timeout=10)


async def _held_by_ghost(engine, job_id: int, **values) -> None:
    """Make ``job_id`` look claimed by a worker that has no row (it is gone)."""
    async with engine.begin() as conn:
        await conn.execute(update(jobs).where(jobs.c.id == job_id).values(
            status="running", attempts=1, worker_id="ghost", started_at=func.now(),
            heartbeat_at=func.now(), **values))



@pytest.mark.anyio
async def test_job_taken_from_a_live_worker_is_stopped_there(engine, dsn):
    """When the database no longer gives a running job to its worker (it was rescued
    and claimed elsewhere while the worker could not reach the database), the
    worker's next heartbeat notices and stops its copy; its late ack changes
    nothing."""
    registry = pgq_sa.Registry()
    first_run = anyio.Event()
    seen: list[str] = []

    @registry.task(heartbeat_timeout=1)
    async def work(ctx: pgq_sa.JobContext) -> None:
        if ctx.attempt == 1:
            first_run.set()
            try:
                await anyio.sleep(60)
            except anyio.get_cancelled_exc_class():
                seen.append("stopped")
                raise

    async with running_worker(registry, dsn, poll_interval=0.2, rescue=False) as worker:
        job_id = await work.enqueue(engine)
        with anyio.fail_after(10):
            await first_run.wait()
        async with engine.begin() as conn:  # another worker now holds attempt 2
            await conn.execute(update(jobs).where(jobs.c.id == job_id).values(
                worker_id="elsewhere", attempts=2, heartbeat_at=func.now()))
        await wait_for(lambda: _true(seen), timeout=5)

        async def lost() -> bool:
            return worker.state.counters["lost"] == 1

        await wait_for(lost, timeout=5)
        assert worker.completer is not None
        assert await worker.completer.drain(timeout=5)  # the stopped copy's ack is tried
        assert not len(worker.state.capacity)
    row = await pgq_sa.admin.get_job(engine, job_id)
    assert (row["status"], row["worker_id"], row["attempts"]) == ("running", "elsewhere", 2)


async def _true(xs: list) -> bool:
    return bool(xs)
