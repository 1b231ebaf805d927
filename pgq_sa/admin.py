"""Operator actions as a Python API: inspect, cancel, retry and prune jobs.

Each function takes an ``AsyncEngine`` (own transaction) or an ``AsyncConnection``
or ``AsyncSession`` (caller's transaction: the change, and the NOTIFY that tells
workers, take effect when it commits) and runs the statements from
:mod:`pgq_sa.sql`.  :func:`cancel_sync` and :func:`retry_sync` do the same with a
sync ``Engine``, ``Connection`` or ``Session``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import ProgrammingError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession
from sqlalchemy.orm import Session

from .errors import SchemaNotInstalled
from .schema import tables_for
from .sql import Statements, statements_for

__all__ = ["CancelResult", "cancel", "cancel_sync", "get_job", "job_to_dict", "missing",
           "prune", "retry", "retry_sync"]

Target = AsyncEngine | AsyncConnection | AsyncSession
SyncTarget = Engine | Connection | Session


def _schema_error(exc: ProgrammingError) -> None:
    if "does not exist" in str(exc.orig) and "pgq_" in str(exc.orig):
        raise SchemaNotInstalled() from exc


@asynccontextmanager
async def _conn(target: Target) -> AsyncIterator[Any]:
    try:
        if isinstance(target, AsyncEngine):
            async with target.begin() as conn:
                yield conn
        elif isinstance(target, (AsyncConnection, AsyncSession)):
            yield target
        else:
            raise TypeError(f"expected an AsyncEngine, AsyncConnection or AsyncSession "
                            f"(use the *_sync function for sync ones), got "
                            f"{type(target).__name__}")
    except ProgrammingError as exc:
        _schema_error(exc)
        raise


@contextmanager
def _sync_conn(target: SyncTarget) -> Iterator[Any]:
    try:
        if isinstance(target, Engine):
            with target.begin() as conn:
                yield conn
        elif isinstance(target, (Connection, Session)):
            yield target
        else:
            raise TypeError(f"expected an Engine, Connection or Session (use the async "
                            f"function for async ones), got {type(target).__name__}")
    except ProgrammingError as exc:
        _schema_error(exc)
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
    async with _conn(target) as conn:
        done = [r[0] for r in await conn.execute(s.cancel_queued,
                                                 {"ids": id_list, "now": now})]
        running = [r[0] for r in await conn.execute(s.cancel_running,
                                                    {"ids": id_list, "now": now})]
        for job_id in running:
            await conn.execute(s.notify, {"channel": f"{s.channel}_cancel",
                                          "payload": str(job_id)})
        rest = _unchanged(id_list, done, running)
        existing = {r[0] for r in await conn.execute(s.existing_ids, {"ids": rest})} \
            if rest else set()
    return _cancel_result(id_list, done, running, existing)


def cancel_sync(target: SyncTarget, ids: Iterable[int], *, schema: str | None = None,
                now: datetime | None = None) -> CancelResult:
    """Sync twin of :func:`cancel` for an ``Engine``, ``Connection`` or ``Session``."""
    id_list = [int(i) for i in ids]
    s = _stmts(schema)
    with _sync_conn(target) as conn:
        done = [r[0] for r in conn.execute(s.cancel_queued, {"ids": id_list, "now": now})]
        running = [r[0] for r in conn.execute(s.cancel_running, {"ids": id_list, "now": now})]
        for job_id in running:
            conn.execute(s.notify, {"channel": f"{s.channel}_cancel", "payload": str(job_id)})
        rest = _unchanged(id_list, done, running)
        existing = {r[0] for r in conn.execute(s.existing_ids, {"ids": rest})} if rest \
            else set()
    return _cancel_result(id_list, done, running, existing)


async def missing(target: Target, ids: Iterable[int], *, schema: str | None = None
                  ) -> list[int]:
    """Those of ``ids`` that name no job."""
    id_list = [int(i) for i in ids]
    async with _conn(target) as conn:
        found = {r[0] for r in await conn.execute(_stmts(schema).existing_ids,
                                                  {"ids": id_list})}
    return [i for i in id_list if i not in found]


async def retry(target: Target, ids: Iterable[int], *, schema: str | None = None,
                now: datetime | None = None) -> list[int]:
    """Put ``failed`` or ``cancelled`` jobs back in the queue with a fresh count of
    attempts (their error history is kept); returns the ids that were."""
    s = _stmts(schema)
    async with _conn(target) as conn:
        rows = list(await conn.execute(s.retry, {"ids": [int(i) for i in ids], "now": now}))
        for queue in sorted({r[1] for r in rows}):
            await conn.execute(s.notify, {"channel": s.channel, "payload": queue})
    return [r[0] for r in rows]


def retry_sync(target: SyncTarget, ids: Iterable[int], *, schema: str | None = None,
               now: datetime | None = None) -> list[int]:
    """Sync twin of :func:`retry` for an ``Engine``, ``Connection`` or ``Session``."""
    s = _stmts(schema)
    with _sync_conn(target) as conn:
        rows = list(conn.execute(s.retry, {"ids": [int(i) for i in ids], "now": now}))
        for queue in sorted({r[1] for r in rows}):
            conn.execute(s.notify, {"channel": s.channel, "payload": queue})
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
            n = len(list(await conn.execute(s.prune_jobs, {"before": before, "limit": batch})))
        total += n
        if n < batch:
            return total
