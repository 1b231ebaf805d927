"""Worker behaviour: order, scheduling, retries, unknown entrypoints, wake-up."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import anyio
import pytest
from sqlalchemy import select

import pgq_sa
from pgq_sa import tables

from .conftest import claim_passes, job_status, running_worker, wait_for, wait_status

pytestmark = pytest.mark.anyio
jobs = tables.jobs


async def test_priority_then_fifo(engine, dsn):
    registry = pgq_sa.Registry()
    order: list[str] = []

    @registry.task()
    async def step(name: str) -> None:
        order.append(name)

    await pgq_sa.enqueue_many(engine, [
        ("step", {"name": "low-1"}, {"priority": 0}),
        ("step", {"name": "high-1"}, {"priority": 10}),
        ("step", {"name": "low-2"}, {"priority": 0}),
        ("step", {"name": "mid"}, {"priority": 5}),
        ("step", {"name": "high-2"}, {"priority": 10}),
    ])
    async with running_worker(registry, dsn, concurrency=1):
        await wait_for(lambda: _len_at_least(order, 5))
    assert order == ["high-1", "high-2", "mid", "low-1", "low-2"]


async def _len_at_least(xs: list, n: int) -> bool:
    return len(xs) >= n


async def test_run_at_is_respected(engine, dsn):
    registry = pgq_sa.Registry()
    started: dict[str, float] = {}

    @registry.task()
    async def tick(name: str) -> None:
        started[name] = time.monotonic()

    t0 = time.monotonic()
    await pgq_sa.enqueue(engine, "tick", {"name": "later"}, delay=1.5)
    await pgq_sa.enqueue(engine, "tick", {"name": "future"},
                         run_at=datetime.now(timezone.utc) + timedelta(days=1))
    await pgq_sa.enqueue(engine, "tick", {"name": "now"})
    async with running_worker(registry, dsn, poll_interval=0.2) as worker:
        await wait_for(lambda: _len_at_least(list(started), 2), timeout=10)
        await claim_passes(worker)
    assert set(started) == {"now", "later"}
    assert started["later"] - t0 >= 1.5
    async with engine.connect() as conn:
        status = (await conn.execute(
            select(jobs.c.status).where(jobs.c.payload["name"].astext == "future"))).scalar()
    assert status == "queued"


async def test_retry_with_backoff_then_failed_with_error(engine, dsn):
    registry = pgq_sa.Registry()
    attempts: list[int] = []

    @registry.task(max_attempts=3, backoff=pgq_sa.Backoff(base=0.05, cap=0.1))
    async def flaky(ctx: pgq_sa.JobContext) -> None:
        attempts.append(ctx.attempt)
        raise ValueError(f"bad luck #{ctx.attempt}")

    job_id = await flaky.enqueue(engine)
    async with running_worker(registry, dsn, poll_interval=0.05):
        await wait_status(engine, job_id, "failed")
    assert attempts == [1, 2, 3]
    job = await pgq_sa.admin.get_job(engine, job_id)
    assert job["attempts"] == 3
    assert job["last_error"] == "ValueError: bad luck #3"
    assert [e["attempt"] for e in job["errors"]] == [1, 2, 3]
    assert all(e["type"] == "ValueError" and "Traceback" in e["traceback"]
               for e in job["errors"])
    assert job["finished_at"] is not None



async def test_retry_then_succeed_and_sync_handler(engine, dsn):
    registry = pgq_sa.Registry()

    @registry.task(max_attempts=3, backoff=pgq_sa.Backoff(base=0.01, jitter=0))
    def sometimes(ctx: pgq_sa.JobContext) -> None:  # plain def: runs in a thread
        if ctx.attempt < 2:
            raise RuntimeError("first try fails")

    job_id = await sometimes.enqueue(engine)
    async with running_worker(registry, dsn, poll_interval=0.05):
        await wait_status(engine, job_id, "succeeded")
    job = await pgq_sa.admin.get_job(engine, job_id)
    assert job["attempts"] == 2 and len(job["errors"]) == 1


async def test_unknown_entrypoint_is_left_alone(engine, dsn):
    registry = pgq_sa.Registry()
    done: list[int] = []

    @registry.task()
    async def known() -> None:
        done.append(1)

    unknown_id = await pgq_sa.enqueue(engine, "not_registered_here", {}, priority=100)
    known_id = await known.enqueue(engine)
    async with running_worker(registry, dsn, poll_interval=0.05) as worker:
        await wait_status(engine, known_id, "succeeded")
        await claim_passes(worker)
    job = await pgq_sa.admin.get_job(engine, unknown_id)
    assert job["status"] == "queued" and job["attempts"] == 0 and job["worker_id"] is None


async def test_bad_payload_fails_without_retry(engine, dsn):
    registry = pgq_sa.Registry()

    @registry.task(max_attempts=5)
    async def needs_x(x: int) -> None: ...

    job_id = await pgq_sa.enqueue(engine, "needs_x", {"y": 1})  # bypasses the task check
    async with running_worker(registry, dsn, poll_interval=0.05):
        await wait_status(engine, job_id, "failed")
    job = await pgq_sa.admin.get_job(engine, job_id)
    assert job["attempts"] == 1
    assert "bad payload" in job["last_error"] and "needs_x" in job["last_error"]


async def test_only_served_queues(engine, dsn):
    registry = pgq_sa.Registry()
    seen: list[str] = []

    @registry.task(queue="a")
    async def in_a() -> None:
        seen.append("a")

    @registry.task(queue="b")
    async def in_b() -> None:
        seen.append("b")

    a = await in_a.enqueue(engine)
    b = await in_b.enqueue(engine)
    async with running_worker(registry, dsn, queues=["a"], poll_interval=0.05) as worker:
        await wait_status(engine, a, "succeeded")
        await claim_passes(worker)
    assert seen == ["a"]
    assert await job_status(engine, b) == "queued"
    # without --queue a worker serves every queue its registry uses
    async with running_worker(registry, dsn, poll_interval=0.05):
        await wait_status(engine, b, "succeeded")


async def test_claims_never_exceed_concurrency(engine, dsn):
    registry = pgq_sa.Registry()
    running = 0
    peak = 0

    @registry.task()
    async def slow() -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await anyio.sleep(0.05)
        running -= 1

    await pgq_sa.enqueue_many(engine, [("slow", {})] * 60)
    async with running_worker(registry, dsn, concurrency=4, poll_interval=0.05) as w:
        async def claimed_le_4() -> bool:
            async with engine.connect() as conn:
                n = (await conn.execute(select(jobs.c.id).where(jobs.c.status == "running"))).all()
            # handlers never exceed 4; rows of jobs that just ended stay 'running'
            # until the completer's batched ack lands, so the table may show up to 2x
            assert len(n) <= 8
            return w.state.counters["succeeded"] == 60
        await wait_for(claimed_le_4, timeout=20)
    assert peak == 4


async def _started_after_enqueue(engine, registry_started: dict, listen: bool,
                                 dsn: str, poll: float) -> float:
    registry = pgq_sa.Registry()

    @registry.task()
    async def ping() -> None:
        registry_started["t"] = time.monotonic()

    async with running_worker(registry, dsn, poll_interval=poll, listen=listen) as w:

        async def idle() -> bool:
            return all(producer.idle for producer in w.producers)

        await wait_for(idle, interval=0.005)  # the worker waits for work now
        assert w.state.counters["claimed"] == 0
        t0 = time.monotonic()
        await ping.enqueue(engine)
        await wait_for(lambda: _has(registry_started), timeout=poll + 10)
    return registry_started["t"] - t0


async def _has(d: dict) -> bool:
    return "t" in d


async def test_listen_wakes_idle_worker_before_poll(engine, dsn):
    delay = await _started_after_enqueue(engine, {}, True, dsn, poll=30.0)
    assert delay < 2.0  # the poll interval is 30 s: only the notification explains this


async def test_polling_runs_job_without_notifications(engine, dsn):
    delay = await _started_after_enqueue(engine, {}, False, dsn, poll=0.5)
    assert delay < 10.0


async def test_engine_pool_too_small_is_a_clear_error(dsn):
    from sqlalchemy.ext.asyncio import create_async_engine

    registry = pgq_sa.Registry()

    @registry.task()
    async def noop() -> None: ...

    small = create_async_engine(pgq_sa.dsn.async_url(dsn), pool_size=1, max_overflow=0)
    try:
        with pytest.raises(pgq_sa.ConfigurationError, match="pool_size="):
            pgq_sa.Worker(registry, small)
    finally:
        await small.dispose()
