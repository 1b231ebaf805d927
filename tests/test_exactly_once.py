"""Four worker processes drain 5,000 jobs: every job runs exactly once."""

from __future__ import annotations

import pytest
from sqlalchemy import text

import pgq_sa

from .conftest import wait_for
from .procs import workers

pytestmark = [pytest.mark.anyio, pytest.mark.slow]  # four worker processes


async def test_four_processes_claim_each_job_once(engine, dsn, tmp_path):
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE runs (job_id bigint PRIMARY KEY, pid int)"))
    ids = await pgq_sa.enqueue_many(engine, [("record", {})] * 5000)
    with workers("tests.apps.exactly_once:registry", dsn, 4, "--concurrency", "8",
                 log_dir=tmp_path) as procs:
        async def drained() -> bool:
            async with engine.connect() as conn:
                left = (await conn.execute(text(
                    "SELECT count(*) FROM pgq_jobs WHERE status IN ('queued','running')"
                ))).scalar()
            assert all(p.poll() is None for p in procs), "a worker process died"
            return left == 0

        await wait_for(drained, timeout=120, interval=0.2)
    async with engine.connect() as conn:
        statuses = dict((await conn.execute(text(
            "SELECT status, count(*) FROM pgq_jobs GROUP BY status"))).all())
        runs = (await conn.execute(text("SELECT count(*), count(DISTINCT job_id), "
                                        "count(DISTINCT pid) FROM runs"))).one()
        missing = (await conn.execute(text(
            "SELECT count(*) FROM pgq_jobs j LEFT JOIN runs r ON r.job_id = j.id "
            "WHERE r.job_id IS NULL"))).scalar()
    assert statuses == {"succeeded": 5000}, statuses  # a second run would have failed
    assert runs[0] == runs[1] == len(ids) == 5000
    assert missing == 0
    assert runs[2] >= 2  # the work really was shared between processes
