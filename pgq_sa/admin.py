"""Operator actions as a Python API: inspect, cancel, retry and prune jobs.

Each function takes an ``AsyncEngine`` (own transaction) or an ``AsyncConnection``
or ``AsyncSession`` (caller's transaction: the change, and the NOTIFY that tells
workers, take effect when it commits) and runs the statements from
:mod:`pgq_sa.sql`.  :func:`cancel_sync` and :func:`retry_sync` do the same with a
sync ``Engine``, ``Connection`` or ``Session``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from .queries import execute, execute_sync
from .queries import inspection as inspect
from .queries import operator as act
from .schema import tables_for
from .sql import Statements, statements_for
from .target import AsyncTarget, SyncTarget, connection, connection_sync

__all__ = ["CancelResult", "cancel", "cancel_sync", "flow_keys", "get_job", "job_to_dict",
           "missing",
           "prune", "retry", "retry_sync"]

Target = AsyncTarget


def _stmts(schema: str | None) -> Statements:
    return statements_for(tables_for(schema))


def job_to_dict(row: Any) -> dict[str, Any]:
    """A job row (a mapping, or a SQLAlchemy row) as plain JSON-able values."""
    mapping: Mapping[str, Any] = row if isinstance(row, Mapping) else row._mapping
    out: dict[str, Any] = {}
    for key, value in mapping.items():
        if isinstance(value, datetime):
            value = value.isoformat()
        elif key in ("payload", "errors") and isinstance(value, str):
            value = json.loads(value)
        out[key] = value
    return out


async def get_job(target: Target, job_id: int, *, schema: str | None = None
                  ) -> dict[str, Any] | None:
    """The job as a dict (status, attempts, errors, timestamps…) or ``None``."""
    async with connection(target, schema=schema, what="get_job") as conn:
        rows = await execute(conn, inspect.get_job(_stmts(schema), job_id=job_id))
    return job_to_dict(rows[0]) if rows else None


async def flow_keys(target: Target, *, schema: str | None = None, limit: int = 20,
                    now: datetime | None = None) -> list[dict[str, Any]]:
    """Flow-controlled jobs (limits, fairness keys) per queue and flow key: ready
    and running counts and the limits, the keys with the most ready jobs first."""
    async with connection(target, schema=schema, what="flow_keys") as conn:
        rows = await execute(conn, inspect.flow_keys(_stmts(schema), limit=limit, now=now))
    return [row._asdict() for row in rows]


class CancelResult(dict[str, list[int]]):
    """``{"cancelled": [...], "requested": [...], "unchanged": [...], "missing": [...]}``:
    cancelled at once (were queued), asked to stop (running), left alone (already
    finished), and ids with no job."""


def _unchanged(ids: list[int], *changed: list[int]) -> list[int]:
    seen = set().union(*changed)
    return [i for i in ids if i not in seen]


def _cancel_result(ids: list[int], done: list[int], requested: list[int],
                   existing: set[int]) -> CancelResult:
    rest = _unchanged(ids, done, requested)
    return CancelResult(cancelled=done, requested=requested,
                        unchanged=[i for i in rest if i in existing],
                        missing=[i for i in rest if i not in existing])


async def cancel(target: Target, ids: Iterable[int], *, schema: str | None = None,
                 now: datetime | None = None) -> CancelResult:
    """Cancel jobs: a queued job ends ``cancelled`` at once and never runs; a running
    job is asked to stop (its worker cancels it within about a second, through a
    NOTIFY, or at its next heartbeat if the NOTIFY is lost) and ends ``cancelled``.
    A cancelled job is never retried.  Finished jobs are left alone (``unchanged``);
    ids with no job are listed as ``missing``.
    """
    id_list = [int(i) for i in ids]
    s = _stmts(schema)
    async with connection(target, schema=schema, what="cancel") as conn:
        done = await execute(conn, act.cancel_queued(s, ids=id_list, now=now))
        running = [r.id for r in await execute(conn, act.cancel_running(s, ids=id_list,
                                                                         now=now))]
        for job_id in running:
            await execute(conn, act.notify(s, channel=f"{s.channel}_cancel",
                                           payload=str(job_id)))
        rest = _unchanged(id_list, done, running)
        existing = set(await execute(conn, inspect.existing_ids(s, ids=rest))) if rest \
            else set()
    return _cancel_result(id_list, done, running, existing)


def cancel_sync(target: SyncTarget, ids: Iterable[int], *, schema: str | None = None,
                now: datetime | None = None) -> CancelResult:
    """Sync twin of :func:`cancel` for an ``Engine``, ``Connection`` or ``Session``."""
    id_list = [int(i) for i in ids]
    s = _stmts(schema)
    with connection_sync(target, schema=schema, what="cancel_sync") as conn:
        done = execute_sync(conn, act.cancel_queued(s, ids=id_list, now=now))
        running = [r.id for r in execute_sync(conn, act.cancel_running(s, ids=id_list,
                                                                        now=now))]
        for job_id in running:
            execute_sync(conn, act.notify(s, channel=f"{s.channel}_cancel",
                                          payload=str(job_id)))
        rest = _unchanged(id_list, done, running)
        existing = set(execute_sync(conn, inspect.existing_ids(s, ids=rest))) if rest \
            else set()
    return _cancel_result(id_list, done, running, existing)


async def missing(target: Target, ids: Iterable[int], *, schema: str | None = None
                  ) -> list[int]:
    """Those of ``ids`` that name no job."""
    id_list = [int(i) for i in ids]
    async with connection(target, schema=schema, what="missing") as conn:
        found = set(await execute(conn, inspect.existing_ids(_stmts(schema), ids=id_list)))
    return [i for i in id_list if i not in found]


async def retry(target: Target, ids: Iterable[int], *, schema: str | None = None,
                now: datetime | None = None) -> list[int]:
    """Put ``failed`` or ``cancelled`` jobs back in the queue with a fresh count of
    attempts (their error history is kept); returns the ids that were."""
    s = _stmts(schema)
    async with connection(target, schema=schema, what="retry") as conn:
        retried = await execute(conn, act.retry(s, ids=[int(i) for i in ids], now=now))
        for queue in sorted({r.queue for r in retried}):
            await execute(conn, act.notify(s, channel=s.channel, payload=queue))
    return [r.id for r in retried]


def retry_sync(target: SyncTarget, ids: Iterable[int], *, schema: str | None = None,
               now: datetime | None = None) -> list[int]:
    """Sync twin of :func:`retry` for an ``Engine``, ``Connection`` or ``Session``."""
    s = _stmts(schema)
    with connection_sync(target, schema=schema, what="retry_sync") as conn:
        retried = execute_sync(conn, act.retry(s, ids=[int(i) for i in ids], now=now))
        for queue in sorted({r.queue for r in retried}):
            execute_sync(conn, act.notify(s, channel=s.channel, payload=queue))
    return [r.id for r in retried]


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
        async with connection(target, schema=schema, what="prune") as conn:
            n = len(await execute(conn, act.prune_jobs(s, before=before, limit=batch)))
        total += n
        if n < batch:
            return total
