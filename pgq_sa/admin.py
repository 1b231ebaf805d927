"""Operator actions as a Python API: inspect, cancel, retry and prune jobs.

Each function takes an ``AsyncEngine`` (own transaction) or an ``AsyncConnection``
(caller's transaction) and runs the statements from :mod:`pgq_sa.sql`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy.exc import ProgrammingError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from .enqueue import tables_for
from .errors import SchemaNotInstalled
from .sql import Statements, statements_for

__all__ = ["CancelResult", "cancel", "get_job", "job_to_dict", "prune", "retry"]

Target = AsyncEngine | AsyncConnection


@asynccontextmanager
async def _conn(target: Target):  # type: ignore[no-untyped-def]
    try:
        if isinstance(target, AsyncEngine):
            async with target.begin() as conn:
                yield conn
        else:
            yield target
    except ProgrammingError as exc:
        if "does not exist" in str(exc.orig) and "pgq_" in str(exc.orig):
            raise SchemaNotInstalled() from exc
        raise


def _stmts(schema: str | None) -> Statements:
    return statements_for(tables_for(schema))


def job_to_dict(row: Any) -> dict[str, Any]:
    """A job row as plain JSON-able values."""
    out: dict[str, Any] = {}
    for key, value in row._mapping.items():
        if isinstance(value, datetime):
            value = value.isoformat()
        elif key in ("payload", "errors") and isinstance(value, str):
            value = json.loads(value)
        out[key] = value
    return out


async def get_job(target: Target, job_id: int, *, schema: str | None = None
                  ) -> dict[str, Any] | None:
    """The job as a dict (status, attempts, errors, timestamps…) or ``None``."""
    async with _conn(target) as conn:
        row = (await conn.execute(_stmts(schema).get_job, {"id": job_id})).first()
    return None if row is None else job_to_dict(row)


class CancelResult(dict[str, list[int]]):
    """``{"cancelled": [...], "requested": [...], "unchanged": [...]}``."""


async def cancel(target: Target, ids: Iterable[int], *, schema: str | None = None,
                 now: datetime | None = None) -> CancelResult:
    """Cancel jobs: queued ones at once; running ones are asked to stop (their worker
    cancels them within about a second and records ``cancelled``)."""
    id_list = [int(i) for i in ids]
    s = _stmts(schema)
    async with _conn(target) as conn:
        # cancel_queued, also counted in pgq_stats
        cancelled = await conn.execute(s.stats.cancel_queued, {"ids": id_list, "now": now})
        done = [r[0] for r in cancelled]
        running = list(await conn.execute(s.cancel_running, {"ids": id_list, "now": now}))
        for row in running:
            await conn.execute(s.notify, {"channel": f"{s.channel}_cancel",
                                          "payload": str(row[0])})
    requested = [r[0] for r in running]
    unchanged = [i for i in id_list if i not in set(done) | set(requested)]
    return CancelResult(cancelled=done, requested=requested, unchanged=unchanged)


async def retry(target: Target, ids: Iterable[int], *, schema: str | None = None,
                now: datetime | None = None) -> list[int]:
    """Put ``failed`` or ``cancelled`` jobs back in the queue; returns those that were."""
    s = _stmts(schema)
    async with _conn(target) as conn:
        rows = list(await conn.execute(s.retry, {"ids": [int(i) for i in ids], "now": now}))
        for queue in sorted({r[1] for r in rows}):
            await conn.execute(s.notify, {"channel": s.channel, "payload": queue})
    return [r[0] for r in rows]


async def prune(target: AsyncEngine, older_than: float | timedelta, *,
                schema: str | None = None, batch: int = 1000,
                now: datetime | None = None) -> int:
    """Delete finished jobs that finished more than ``older_than`` ago, ``batch`` rows
    per transaction (short locks); returns how many were deleted."""
    seconds = older_than.total_seconds() if isinstance(older_than, timedelta) else older_than
    before = (now or datetime.now(timezone.utc)) - timedelta(seconds=float(seconds))
    s = _stmts(schema)
    total = 0
    while True:
        async with _conn(target) as conn:
            n = len(list(await conn.execute(s.prune, {"before": before, "limit": batch})))
        total += n
        if n < batch:
            return total
