"""Retention: how long finished jobs and statistics are kept, and pruning them.

Pruning deletes in batches of ``batch`` rows, one short statement (and
transaction) each, locking candidate rows with ``SKIP LOCKED``: it never waits for,
nor holds up, a worker.  Only finished jobs (``succeeded``, ``failed``,
``cancelled``) whose ``finished_at`` is older than the cut-off are deleted; queued
and running jobs never are.

Statistics come in two widths (see :mod:`pgq_sa.sql.statistics`): per-second rows feed
the live figures and are kept :data:`FINE_STATS_RETENTION` (at most the statistics
retention); per-minute rows are kept the full statistics retention.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import anyio
from sqlalchemy.ext.asyncio import AsyncEngine

from .queries import Query, execute, operator
from .schema import tables_for
from .sql import Statements, statements_for

__all__ = ["FINE_STATS_RETENTION", "JOB_RETENTION", "STATS_RETENTION", "PruneResult",
           "parse_duration", "prune", "prune_stats", "pruning_steps"]

#: Finished jobs are kept one day by default.
JOB_RETENTION = 86400.0
#: Statistics (per-minute rows) are kept seven days by default.
STATS_RETENTION = 7 * 86400.0
#: Per-second statistics rows are kept one hour.
FINE_STATS_RETENTION = 3600.0
BATCH = 1000

#: Runs one pruning query and returns how many rows it deleted.
Runner = Callable[[Query[int]], Awaitable[int]]


@dataclass
class PruneResult:
    """Rows deleted by one pruning pass."""

    jobs: int = 0
    stats: int = 0
    #: True when a batch limit stopped the pass early (more may be left).
    more: bool = False


def parse_duration(text: str) -> float:
    """``90``, ``90s``, ``15m``, ``12h``, ``7d``, ``1w`` (or combinations like ``1d12h``)
    in seconds; raises ``ValueError`` otherwise."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
    value = text.strip().lower()
    if not value:
        raise ValueError("empty duration")
    try:
        seconds = float(value)
    except ValueError:
        seconds = None
    if seconds is None:
        seconds, number = 0.0, ""
        for ch in value:
            if ch.isdigit() or ch == ".":
                number += ch
            elif ch in units and number:
                seconds += float(number) * units[ch]
                number = ""
            else:
                raise ValueError(f"bad duration {text!r}: use e.g. 90s, 15m, 12h, 7d")
        if number:
            raise ValueError(f"bad duration {text!r}: a number needs a unit (s, m, h, d, w)")
    if seconds < 0:
        raise ValueError(f"duration must be >= 0, got {text!r}")
    return seconds


def pruning_steps(stmts: Statements, now: datetime, *, jobs: float | None,
                  stats: float | None, fine_stats: float = FINE_STATS_RETENTION,
                  batch: int = BATCH) -> list[tuple[str, Query[int]]]:
    """The (kind, query) batches of one pass; ``None`` keeps that kind forever."""
    steps: list[tuple[str, Query[int]]] = []
    if jobs is not None:
        steps.append(("jobs", operator.prune_jobs(stmts, before=now - timedelta(seconds=jobs),
                                         limit=batch)))
    if stats is not None:
        fine = min(fine_stats, stats)
        for span, keep in ((1, fine), (60, stats)):
            steps.append(("stats", operator.prune_stats(stmts, span=span,
                                               before=now - timedelta(seconds=keep),
                                               limit=batch)))
    return steps


async def run_pass(run: Runner, stmts: Statements, now: datetime, *, jobs: float | None,
                   stats: float | None, fine_stats: float = FINE_STATS_RETENTION,
                   batch: int = BATCH, max_batches: int | None = None,
                   pause: float = 0.0) -> PruneResult:
    """Delete batch after batch until each kind is done (or ``max_batches`` per kind),
    sleeping ``pause`` seconds between batches."""
    result = PruneResult()
    for kind, query in pruning_steps(stmts, now, jobs=jobs, stats=stats,
                                     fine_stats=fine_stats, batch=batch):
        batches = 0
        while True:
            n = await run(query)
            setattr(result, kind, getattr(result, kind) + n)
            batches += 1
            if n < batch:
                break
            if max_batches is not None and batches >= max_batches:
                result.more = True
                break
            await anyio.sleep(pause)
    return result


def _engine_runner(engine: AsyncEngine) -> Runner:
    async def run(query: Query[int]) -> int:
        async with engine.begin() as conn:
            return len(await execute(conn, query))

    return run


async def prune(engine: AsyncEngine, *, jobs: float | None = JOB_RETENTION,
                stats: float | None = STATS_RETENTION,
                fine_stats: float = FINE_STATS_RETENTION, schema: str | None = None,
                batch: int = BATCH, now: datetime | None = None) -> PruneResult:
    """Delete finished jobs older than ``jobs`` seconds and statistics older than
    ``stats`` seconds (``None``: keep that kind), in batches; returns the counts."""
    stmts = statements_for(tables_for(schema))
    return await run_pass(_engine_runner(engine), stmts, now or datetime.now(timezone.utc),
                          jobs=jobs, stats=stats, fine_stats=fine_stats, batch=batch)


async def prune_stats(engine: AsyncEngine, older_than: float | timedelta, *,
                      schema: str | None = None, batch: int = BATCH,
                      now: datetime | None = None) -> int:
    """Delete statistics older than ``older_than``; returns how many rows."""
    seconds = older_than.total_seconds() if isinstance(older_than, timedelta) else older_than
    result = await prune(engine, jobs=None, stats=float(seconds), schema=schema, batch=batch,
                         now=now)
    return result.stats
