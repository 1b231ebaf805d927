"""Worker app for the exactly-once claim test: every run records its job id in a
table whose primary key rejects a second run of the same job."""

from __future__ import annotations

import os

import asyncpg

import pgq_sa

registry = pgq_sa.Registry()
_pool: asyncpg.Pool | None = None


async def pool() -> asyncpg.Pool:
    global _pool
    if _pool is None:
        _pool = await asyncpg.create_pool(os.environ["PGQ_SA_DSN"], min_size=1, max_size=4)
    return _pool


@registry.task(max_attempts=1)
async def record(ctx: pgq_sa.JobContext) -> None:
    p = await pool()
    await p.execute("INSERT INTO runs (job_id, pid) VALUES ($1, $2)", ctx.id, os.getpid())
