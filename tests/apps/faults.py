"""Tasks for worker processes started by the fault tests.

The worker gets the database from ``PGQ_SA_DSN``; tasks that record their runs
write to the ``runs`` side table (created by the test) on their own connection.
"""

from __future__ import annotations

import os
import time

import anyio
import asyncpg

import pgq_sa

registry = pgq_sa.Registry()

_pool: asyncpg.Pool | None = None
_pool_lock: anyio.Lock | None = None


async def _db() -> asyncpg.Pool:
    global _pool, _pool_lock
    if _pool_lock is None:
        _pool_lock = anyio.Lock()
    async with _pool_lock:
        if _pool is None:
            _pool = await asyncpg.create_pool(os.environ["PGQ_SA_DSN"], min_size=1, max_size=10)
    return _pool


@registry.task(heartbeat_timeout=2, max_attempts=10)
async def record(ctx: pgq_sa.JobContext, seconds: float = 0.0) -> None:
    """Record this run in ``runs``, then take ``seconds``."""
    pool = await _db()
    await pool.execute("INSERT INTO runs (job_id, attempt, pid) VALUES ($1, $2, $3)",
                       ctx.id, ctx.attempt, os.getpid())
    await anyio.sleep(seconds)


@registry.task(heartbeat_timeout=3, max_attempts=10)
async def noop(n: int = 0) -> None:
    """Nothing: for drains where the queue itself is under test."""


@registry.task(heartbeat_timeout=3, max_attempts=10)
async def nap(seconds: float) -> None:
    """Sleep ``seconds`` (async: cancellable)."""
    await anyio.sleep(seconds)


@registry.task(heartbeat_timeout=3, max_attempts=10)
def stubborn(seconds: float) -> None:
    """Sleep ``seconds`` in a thread, ignoring cancellation."""
    time.sleep(seconds)
