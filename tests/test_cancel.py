"""Cancellation: queued jobs never run; running ones stop within about a second."""

from __future__ import annotations

import json
import subprocess
import time

import anyio
import pytest
from sqlalchemy import select

import pgq_sa
from pgq_sa import tables

from .conftest import (
    claim_passes,
    get_job,
    running_worker,
    wait_cancelled,
    wait_for,
    wait_status,
)
from .procs import PGQ_SA, ROOT

pytestmark = pytest.mark.anyio
jobs = tables.jobs


def cli(dsn: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PGQ_SA, *args, "--dsn", dsn], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)



async def test_cancel_queued_job_never_runs(engine, dsn):
    registry = pgq_sa.Registry()
    ran: list[int] = []

    @registry.task()
    async def work() -> None:
        ran.append(1)

    job_id = await work.enqueue(engine)
    result = await pgq_sa.cancel(engine, [job_id])
    assert result == {"cancelled": [job_id], "requested": [], "unchanged": [], "missing": []}
    async with running_worker(registry, dsn, poll_interval=0.1) as worker:
        await claim_passes(worker)
    assert ran == []
    row = await get_job(engine, job_id)
    assert row["status"] == "cancelled" and row["attempts"] == 0
    assert row["finished_at"] is not None


async def test_cancel_running_async_job_from_cli(engine, dsn):
    """``pgq-sa jobs cancel ID``: the handler is cancelled through its cancel scope
    within about a second (NOTIFY: the heartbeat would take 7.5 s), and the job is
    never retried."""
    registry = pgq_sa.Registry()
    started, seen = anyio.Event(), []

    @registry.task(max_attempts=5)
    async def work() -> None:
        started.set()
        try:
            await anyio.sleep(60)
        except anyio.get_cancelled_exc_class():
            seen.append("cancelled")
            raise

    async with running_worker(registry, dsn, poll_interval=0.2) as worker:
        job_id = await work.enqueue(engine)
        with anyio.fail_after(10):
            await started.wait()
        out = await anyio.to_thread.run_sync(lambda: cli(dsn, "jobs", "cancel", str(job_id)))
        assert out.returncode == 0, out.stderr
        assert f"{job_id}: running, cancellation requested" in out.stdout
        t0 = time.monotonic()
        await wait_status(engine, job_id, "cancelled", timeout=5)
        assert time.monotonic() - t0 < 2.0
        await claim_passes(worker)  # a job put back in the queue would be claimed again
    row = await get_job(engine, job_id)
    assert seen == ["cancelled"]
    assert row["status"] == "cancelled" and row["attempts"] == 1 and row["errors"] == []


async def test_cancel_running_sync_job_polls_ctx_cancelled(engine, dsn, app_sync_engine):
    registry = pgq_sa.Registry()
    started, seen = anyio.Event(), []

    @registry.task()
    def work(ctx: pgq_sa.JobContext) -> None:
        anyio.from_thread.run_sync(started.set)
        seen.append(wait_cancelled(ctx))

    async with running_worker(registry, dsn, poll_interval=0.2):
        job_id = await work.enqueue(engine)
        with anyio.fail_after(10):
            await started.wait()
        result = await anyio.to_thread.run_sync(
            lambda: pgq_sa.cancel_sync(app_sync_engine, [job_id]))
        assert result["requested"] == [job_id]
        await wait_status(engine, job_id, "cancelled", timeout=3)
        await wait_for(lambda: _true(seen), timeout=3)
    assert seen == [True]


async def test_cancel_without_notify_is_picked_up_by_the_heartbeat(engine, dsn):
    registry = pgq_sa.Registry()
    started = anyio.Event()

    @registry.task(heartbeat_timeout=2)  # beats every 0.5 s
    async def work() -> None:
        started.set()
        await anyio.sleep(60)

    async with running_worker(registry, dsn, poll_interval=0.2, listen=False):
        job_id = await work.enqueue(engine)
        with anyio.fail_after(10):
            await started.wait()
        await pgq_sa.cancel(engine, [job_id])
        await wait_status(engine, job_id, "cancelled", timeout=3)


async def test_cancel_request_wins_over_a_failure_that_would_be_retried(engine, dsn):
    """The handler fails right after the cancel request (before the worker heard of
    it): the job ends ``cancelled`` instead of going back to the queue."""
    registry = pgq_sa.Registry()

    @registry.task(max_attempts=5)
    async def work(ctx: pgq_sa.JobContext) -> None:
        with anyio.CancelScope(shield=True):  # only the database tells us
            while True:
                async with engine.connect() as conn:
                    asked = (await conn.execute(select(jobs.c.cancel_requested_at)
                                                .where(jobs.c.id == ctx.id))).scalar()
                if asked is not None:
                    raise RuntimeError("failing after the cancel request")
                await anyio.sleep(0.02)

    async with running_worker(registry, dsn, poll_interval=0.2, listen=False) as worker:
        job_id = await work.enqueue(engine)
        await wait_status(engine, job_id, "running", timeout=10)
        await pgq_sa.cancel(engine, [job_id])
        await wait_status(engine, job_id, "cancelled", timeout=5)
        await claim_passes(worker)  # a job put back in the queue would be claimed again
    row = await get_job(engine, job_id)
    assert row["status"] == "cancelled" and row["attempts"] == 1


async def test_cancel_finished_or_unknown_jobs_is_a_no_op(engine, dsn):
    registry = pgq_sa.Registry()

    @registry.task()
    async def work() -> None:
        pass

    async with running_worker(registry, dsn, poll_interval=0.1):
        job_id = await work.enqueue(engine)
        await wait_status(engine, job_id, "succeeded")
    result = await pgq_sa.cancel(engine, [job_id, 999999])
    assert result == {"cancelled": [], "requested": [], "unchanged": [job_id],
                      "missing": [999999]}
    out = await anyio.to_thread.run_sync(
        lambda: cli(dsn, "jobs", "cancel", str(job_id), "--json"))
    assert out.returncode == 1
    assert json.loads(out.stdout)["unchanged"] == [job_id]
    assert (await get_job(engine, job_id))["status"] == "succeeded"



async def _true(xs: list) -> bool:
    return bool(xs)
