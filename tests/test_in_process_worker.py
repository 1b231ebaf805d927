"""``async with pgq_sa.Worker(...)``: a worker inside another program's lifetime (an
ASGI app's lifespan), started and stopped with it.  The FastAPI example's tests run
it through a real app (tests/test_example_app.py)."""

from __future__ import annotations

import anyio
import pytest
from sqlalchemy import text

import pgq_sa

from .conftest import job_status, wait_for

pytestmark = pytest.mark.anyio


async def test_runs_jobs_in_the_block_and_stops_cleanly_after(engine, dsn):
    registry = pgq_sa.Registry()
    release = anyio.Event()
    done: list[int] = []

    @registry.task()
    async def slow(n: int) -> None:
        await release.wait()
        done.append(n)

    first = await pgq_sa.enqueue(engine, "slow", {"n": 1})
    async with pgq_sa.Worker(registry, dsn, poll_interval=0.1, shutdown_timeout=10) as worker:
        # registered and listening when the block starts
        async with engine.connect() as conn:
            row = (await conn.execute(text("SELECT count(*) FROM pgq_workers WHERE id = :id"),
                                      {"id": worker.id})).scalar()
        assert row == 1
        await wait_for(lambda: _is(engine, first, "running"))
        release.set()  # the block ends while the job may still be finishing
    # after the block: the job finished (graceful stop), the worker is gone
    assert done == [1]
    assert await job_status(engine, first) == "succeeded"
    async with engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM pgq_workers"))).scalar() == 0
    with pytest.raises(RuntimeError):
        async with worker:  # a worker runs once
            pass


async def _is(engine, job_id: int, status: str) -> bool:
    return await job_status(engine, job_id) == status


async def test_a_missing_schema_raises_from_the_block_start(empty_db):
    registry = pgq_sa.Registry()

    @registry.task()
    async def noop() -> None: ...

    with anyio.fail_after(20), pytest.raises(pgq_sa.SchemaNotInstalled,
                                             match="run pgq-sa db upgrade"):
        async with pgq_sa.Worker(registry, empty_db):
            pytest.fail("the block must not run")


async def test_an_error_in_the_block_stops_the_worker_and_propagates(engine, dsn):
    registry = pgq_sa.Registry()

    @registry.task()
    async def noop() -> None: ...

    with anyio.fail_after(20), pytest.raises(ZeroDivisionError):
        async with pgq_sa.Worker(registry, dsn, poll_interval=0.1):
            1 / 0  # noqa: B018
    async with engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM pgq_workers"))).scalar() == 0
