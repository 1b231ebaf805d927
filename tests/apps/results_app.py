"""Tasks for results, progress, per-job timeouts and exactly-once effects, run by
real worker processes (``pgq-sa worker tests.apps.results_app:registry``)."""

from __future__ import annotations

import os
import time
import uuid
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import anyio
from sqlalchemy import text

import pgq_sa

registry = pgq_sa.Registry()


@registry.task()
async def typed(user: uuid.UUID, at: datetime) -> tuple[uuid.UUID, datetime, Decimal]:
    """Returns typed values: they travel as JSON and come back as their types."""
    return user, at, Decimal("1.25")


@registry.task()
def plain(n: int) -> dict[str, object]:
    """A sync handler returning plain JSON."""
    return {"n": n, "squares": [i * i for i in range(n)]}


@registry.task()
def big(size: int) -> str:
    """Returns ``size`` characters (over the worker's limit: the job fails)."""
    return "x" * size


@registry.task(max_attempts=1)
async def boom() -> None:
    """Fails at once."""
    raise ValueError("boom")


@registry.task()
async def progress_steps(marker: str, ctx: pgq_sa.JobContext, steps: int = 10) -> str:
    """Reports progress, then waits for ``marker`` to exist before finishing."""
    for i in range(1, steps + 1):
        await ctx.progress(i / steps, f"step {i}/{steps}")
    while not await anyio.Path(marker).exists():  # noqa: ASYNC110 (another process)
        await anyio.sleep(0.02)
    return "done"


@registry.task()
def progress_sync(marker: str, ctx: pgq_sa.JobContext) -> str:
    """A sync handler reporting progress."""
    ctx.progress_sync(0.5, "half way")
    while not Path(marker).exists():
        time.sleep(0.02)
    return "done"


@registry.task(max_attempts=5, heartbeat_timeout=2)
async def effect(key: str, ctx: pgq_sa.JobContext) -> str:
    """Inserts a row inside ``ctx.transaction()``.  ``PGQ_TEST_KILL`` (``before`` or
    ``after``) names a point at which the process kills itself, on the first
    attempt only (a marker file records that it happened)."""
    kill = os.environ.get("PGQ_TEST_KILL", "")
    marker = Path(os.environ.get("PGQ_TEST_MARKERS", "/tmp")) / f"killed-{ctx.id}"
    first = not marker.exists()
    async with ctx.transaction() as conn:
        await conn.execute(text("INSERT INTO effects (job_id, key) VALUES (:id, :key)"),
                           {"id": ctx.id, "key": key})
        if kill == "before" and first:
            marker.touch()
            os.kill(os.getpid(), 9)
    if kill == "after" and first:
        marker.touch()
        os.kill(os.getpid(), 9)
    return key


@registry.task(max_attempts=5, heartbeat_timeout=2)
def effect_sync(key: str, ctx: pgq_sa.JobContext) -> str:
    """:func:`effect` for a sync handler (a sync Connection)."""
    with ctx.transaction_sync() as conn:
        conn.execute(text("INSERT INTO effects (job_id, key) VALUES (:id, :key)"),
                     {"id": ctx.id, "key": key})
    return key


@registry.task(max_attempts=3)
async def fenced(key: str, marker: str, ctx: pgq_sa.JobContext) -> str:
    """Inserts a row inside ``ctx.transaction()`` and, on its first attempt, waits
    for ``marker`` before the block ends (the test takes the job away meanwhile)."""
    async with ctx.transaction() as conn:
        await conn.execute(text("INSERT INTO effects (job_id, key) VALUES (:id, :key)"),
                           {"id": ctx.id, "key": key})
        ctx.set_result({"attempt": ctx.attempt})
        if ctx.attempt == 1:
            while not await anyio.Path(marker).exists():  # noqa: ASYNC110 (another process)
                await anyio.sleep(0.02)
    return "ignored"
