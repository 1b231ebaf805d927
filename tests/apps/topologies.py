"""Tasks for the production-topology tests (crash rescue, PgBouncer, roles, hosts).

Every task keeps the default-like heartbeat timeout of 30 s, so that a rescue
within seconds can only come from the lost-session check, not from the timeout.
Tasks that record their runs write to the ``runs`` side table (created by the
test) through ``RUNS_DSN`` (else ``PGQ_SA_DSN``) on their own connection.
"""

from __future__ import annotations

import os
import socket

import anyio
import asyncpg

import pgq_sa

#: The heartbeat timeout of every task here (seconds).
HEARTBEAT_TIMEOUT = float(os.environ.get("TOPOLOGY_HEARTBEAT_TIMEOUT", "30"))

registry = pgq_sa.Registry()

_pool: asyncpg.Pool | None = None
_pool_lock: anyio.Lock | None = None


async def _db() -> asyncpg.Pool:
    global _pool, _pool_lock
    if _pool_lock is None:
        _pool_lock = anyio.Lock()
    async with _pool_lock:
        if _pool is None:
            dsn = os.environ.get("RUNS_DSN") or os.environ["PGQ_SA_DSN"]
            _pool = await asyncpg.create_pool(dsn, min_size=1, max_size=10,
                                              statement_cache_size=0)
    return _pool


@registry.task(heartbeat_timeout=HEARTBEAT_TIMEOUT, max_attempts=10)
async def hold(ctx: pgq_sa.JobContext, seconds: float = 0.0) -> None:
    """Record this run in ``runs`` (job, attempt, pid, host), then take ``seconds``."""
    pool = await _db()
    await pool.execute("INSERT INTO runs (job_id, attempt, pid, host) VALUES ($1, $2, $3, $4)",
                       ctx.id, ctx.attempt, os.getpid(), os.environ.get("HOST_LABEL",
                                                                       socket.gethostname()))
    await anyio.sleep(seconds)


@registry.task(heartbeat_timeout=HEARTBEAT_TIMEOUT, max_attempts=10)
async def quick(n: int = 0) -> None:
    """Nothing (drains through PgBouncer)."""
