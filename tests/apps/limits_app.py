"""Worker app for the flow-control tests (tests/test_flow_control.py): every run
records its span (start and end, wall clock) in the table ``spans``."""

from __future__ import annotations

import os
import time

import anyio
import asyncpg

import pgq_sa

registry = pgq_sa.Registry()
_pool: asyncpg.Pool | None = None


async def pool() -> asyncpg.Pool:
    global _pool
    if _pool is None:
        _pool = await asyncpg.create_pool(os.environ["PGQ_SA_DSN"], min_size=1, max_size=4)
    return _pool


async def record(ctx: pgq_sa.JobContext, key: str, seconds: float) -> None:
    started = time.time()
    await anyio.sleep(seconds)
    p = await pool()
    await p.execute("INSERT INTO spans (job_id, key, started, ended, pid) "
                    "VALUES ($1, $2, to_timestamp($3), to_timestamp($4), $5)",
                    ctx.id, key, started, time.time(), os.getpid())


@registry.task(concurrency_limit=3, max_attempts=1)
async def limited(ctx: pgq_sa.JobContext, n: int) -> None:
    await record(ctx, "all", 0.05)


@registry.task(concurrency_limit=2, concurrency_key="tenant", max_attempts=1)
async def per_tenant(ctx: pgq_sa.JobContext, tenant: str, n: int) -> None:
    await record(ctx, tenant, 0.05)


@registry.task(rate_limit="10/s", max_attempts=1)
async def rated(ctx: pgq_sa.JobContext, n: int) -> None:
    await record(ctx, "rated", 0.0)


@registry.task(fairness_key="tenant", max_attempts=1)
async def fair(ctx: pgq_sa.JobContext, tenant: str, n: int) -> None:
    await record(ctx, tenant, 0.0)


@registry.task(max_attempts=1)
async def plain(ctx: pgq_sa.JobContext, n: int) -> None:
    await record(ctx, "plain", 0.0)


#: Fairness keys only (no limits): its workers claim without the flow lock.
fair_registry = pgq_sa.Registry()


@fair_registry.task(name="fair", fairness_key="tenant", max_attempts=1)
async def fair_only(ctx: pgq_sa.JobContext, tenant: str, n: int) -> None:
    await record(ctx, tenant, 0.0)
