"""Pruning removes only finished jobs and statistics older than the cut-off; never a
queued or running job, whatever its age."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import anyio
import pytest
from click.testing import CliRunner
from sqlalchemy import func, insert, select

import pgq_sa
from pgq_sa import retention
from pgq_sa.cli.main import cli
from pgq_sa.driver import Lease
from pgq_sa.sql import statements_for
from pgq_sa.worker.pruner import Pruner

from .conftest import running_worker, wait_for, wait_status

pytestmark = pytest.mark.anyio
jobs, stats = pgq_sa.tables.jobs, pgq_sa.tables.stats
NOW = datetime(2030, 6, 1, 12, 0, tzinfo=timezone.utc)
DAY = timedelta(days=1)


def ago(delta: timedelta) -> datetime:
    return NOW - delta


async def populate(engine) -> dict[str, set[int]]:
    """Jobs and statistics on both sides of the default cut-offs (1 day, 7 days, 1 h)."""
    kept: set[int] = set()
    pruned: set[int] = set()
    old, recent = ago(2 * DAY), ago(timedelta(hours=23))
    async with engine.begin() as conn:
        async def add(status: str, finished_at: datetime | None, **extra) -> int:
            row = await conn.execute(insert(jobs).values(
                entrypoint="t", status=status, finished_at=finished_at,
                created_at=ago(10 * DAY), run_at=ago(10 * DAY), **extra,
            ).returning(jobs.c.id))
            return int(row.scalar_one())

        for status in ("succeeded", "failed", "cancelled"):
            for _ in range(3):
                pruned.add(await add(status, old))
            kept.add(await add(status, recent))
        # queued and running jobs are never pruned, even with an old finished_at
        kept.add(await add("queued", None))
        kept.add(await add("queued", old))
        kept.add(await add("running", None, started_at=ago(3 * DAY), worker_id="w"))
        kept.add(await add("running", old, started_at=ago(3 * DAY), worker_id="w"))
        rows = [
            (1, ago(timedelta(hours=2))),    # per-second, older than 1 h: pruned
            (1, ago(timedelta(minutes=30))),  # kept
            (60, ago(8 * DAY)),               # per-minute, older than 7 days: pruned
            (60, ago(6 * DAY)),               # kept
        ]
        for span, bucket in rows:
            for entrypoint in ("a", "b", "c"):
                await conn.execute(insert(stats).values(
                    span=span, bucket=bucket, queue="q", entrypoint=entrypoint,
                    status="succeeded", count=1))
    return {"kept": kept, "pruned": pruned}


async def remaining(engine) -> tuple[set[int], list[tuple[int, datetime]]]:
    async with engine.connect() as conn:
        ids = {r[0] for r in await conn.execute(select(jobs.c.id))}
        buckets = sorted({(r[0], r[1]) for r in await conn.execute(
            select(stats.c.span, stats.c.bucket))})
    return ids, buckets


async def test_prune_removes_only_old_finished_jobs_and_stats(engine):
    ids = await populate(engine)
    result = await retention.prune(engine, now=NOW, batch=2)  # several small batches
    assert (result.jobs, result.stats) == (9, 6)
    left, buckets = await remaining(engine)
    assert left == ids["kept"]
    assert buckets == [(1, ago(timedelta(minutes=30))), (60, ago(6 * DAY))]
    again = await retention.prune(engine, now=NOW)
    assert (again.jobs, again.stats) == (0, 0)


async def test_prune_with_none_keeps_that_kind(engine):
    ids = await populate(engine)
    result = await retention.prune(engine, jobs=None, now=NOW)
    assert result.jobs == 0 and result.stats == 6
    left, _ = await remaining(engine)
    assert left == ids["kept"] | ids["pruned"]
    assert await pgq_sa.admin.prune(engine, timedelta(days=1), now=NOW) == 9


async def test_worker_pruner_works_in_bounded_passes(engine):
    ids = await populate(engine)
    lease = Lease(engine, "pruner")
    try:
        pruner = Pruner(lease, statements_for(pgq_sa.tables), jobs=86400.0,
                        stats=7 * 86400.0, interval=60, batch=2, max_batches=2, pause=0)
        first = await pruner.prune_once(NOW)
        assert first.more and first.jobs == 4  # two batches of two, then it stops
        while (await pruner.prune_once(NOW)).more:
            pass
        assert (pruner.deleted.jobs, pruner.deleted.stats) == (9, 6)
    finally:
        await lease.close()
    left, _ = await remaining(engine)
    assert left == ids["kept"]


async def test_running_worker_prunes_on_its_own(dsn, engine):
    registry = pgq_sa.Registry()

    @registry.task()
    async def t() -> None:
        pass

    async with engine.begin() as conn:
        old = (await conn.execute(insert(jobs).values(
            entrypoint="t", status="succeeded", finished_at=func.now() - timedelta(hours=2),
        ).returning(jobs.c.id))).scalar_one()
    async with running_worker(registry, dsn, job_retention=3600.0,
                              prune_interval=0.05) as worker:
        async def gone() -> bool:
            return await pgq_sa.admin.get_job(engine, old) is None

        await wait_for(gone, timeout=10)
        job = await t.enqueue(engine)
        await wait_status(engine, job, "succeeded")
        assert worker.pruner is not None
        with anyio.fail_after(10):
            await worker.pruner.passes.wait(3)  # a few more passes: the fresh job stays
        assert await pgq_sa.admin.get_job(engine, job) is not None



def test_cli_jobs_prune(dsn, engine_sync_populated):
    result = CliRunner().invoke(cli, ["jobs", "prune", "--dsn", dsn, "--now", NOW.isoformat(),
                                      "--json", "--batch", "4"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"jobs": 9, "stats": 6}
    result = CliRunner().invoke(cli, ["jobs", "prune", "--dsn", dsn, "--older-than", "1h",
                                      "--stats-older-than", "never", "--now",
                                      NOW.isoformat()])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "deleted 3 finished job(s) and 0 statistics row(s)"
    result = CliRunner().invoke(cli, ["jobs", "prune", "--dsn", dsn, "--older-than", "soon"])
    assert result.exit_code == 2 and "bad duration" in result.output


@pytest.fixture
def engine_sync_populated(dsn):
    import asyncio

    from sqlalchemy.ext.asyncio import create_async_engine

    async def go() -> None:
        eng = create_async_engine(pgq_sa.dsn.async_url(dsn))
        try:
            await populate(eng)
        finally:
            await eng.dispose()

    asyncio.run(go())


@pytest.mark.parametrize(("text", "seconds"), [
    ("90", 90), ("90s", 90), ("15m", 900), ("12h", 43200), ("7d", 604800), ("1w", 604800),
    ("1d12h", 129600), ("0.5h", 1800),
])
def test_parse_duration(text, seconds):
    assert retention.parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "soon", "5x", "1d5", "-3"])
def test_parse_duration_rejects(text):
    with pytest.raises(ValueError):
        retention.parse_duration(text)
