"""Operator actions as a Python API: inspect, cancel, retry and prune jobs; pause
and resume queues.

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

from .queries import execute, execute_sync, workflow
from .queries import inspection as inspect
from .queries import operator as act
from .queries import queues as flow
from .queries import schedules as periodic_queries
from .queries.queues import QueueState
from .schema import tables_for
from .sql import Statements, statements_for
from .target import AsyncTarget, SyncTarget, connection, connection_sync

__all__ = ["CancelResult", "QueueState", "cancel", "cancel_sync", "flow_keys", "get_dependencies",
           "get_job", "job_to_dict", "missing", "pause_queue", "pause_queue_sync",
           "paused_queues", "prune", "resume_queue", "resume_queue_sync", "retry", "retry_sync",
           "run_schedule", "schedules"]

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


async def get_dependencies(target: Target, job_id: int, *, schema: str | None = None
                           ) -> dict[str, list[dict[str, Any]]]:
    """``{"waits_on": [...], "waited_by": [...]}``: the jobs job ``job_id`` waits on
    and those waiting on it, each ``{"id", "entrypoint", "status", "done"}``."""
    async with connection(target, schema=schema, what="get_dependencies",
                          read_only=True) as conn:
        rows = await execute(conn, workflow.dependencies(_stmts(schema), job_id=job_id))
    out: dict[str, list[dict[str, Any]]] = {"waits_on": [], "waited_by": []}
    for row in rows:
        out[row.relation].append({"id": row.id, "entrypoint": row.entrypoint,
                                  "status": row.status, "done": row.done})
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


# -- pause and resume queues -------------------------------------------------------------


def _queue_name(queue: object) -> str:
    if not isinstance(queue, str) or not queue:
        what = "an empty string" if queue == "" else f"a {type(queue).__name__}"
        raise ValueError(f"a queue name is a non-empty string, got {what}")
    return queue


async def _set_paused(target: Target, queue: str, paused: bool, schema: str | None,
                      now: datetime | None, what: str) -> QueueState:
    name = _queue_name(queue)
    async with connection(target, schema=schema, what=what) as conn:
        [state] = await execute(conn, flow.set_paused(_stmts(schema), queue=name,
                                                      paused=paused, now=now))
    return state


def _set_paused_sync(target: SyncTarget, queue: str, paused: bool, schema: str | None,
                     now: datetime | None, what: str) -> QueueState:
    name = _queue_name(queue)
    with connection_sync(target, schema=schema, what=what) as conn:
        [state] = execute_sync(conn, flow.set_paused(_stmts(schema), queue=name,
                                                     paused=paused, now=now))
    return state


async def pause_queue(target: Target, queue: str, *, schema: str | None = None,
                      now: datetime | None = None) -> QueueState:
    """Pause ``queue``: no worker starts another of its jobs (from its next claim,
    within about a second); running jobs finish, queued ones wait.  Persisted in
    ``pgq_sa``'s ``pgq_queues`` table until :func:`resume_queue`.  A queue with no
    jobs yet can be paused too.  Returns the queue's state."""
    return await _set_paused(target, queue, True, schema, now, "pause_queue")


async def resume_queue(target: Target, queue: str, *, schema: str | None = None,
                       now: datetime | None = None) -> QueueState:
    """Resume ``queue`` (a NOTIFY wakes its workers at once); resuming a queue that
    is not paused changes nothing.  Returns the queue's state."""
    return await _set_paused(target, queue, False, schema, now, "resume_queue")


def pause_queue_sync(target: SyncTarget, queue: str, *, schema: str | None = None,
                     now: datetime | None = None) -> QueueState:
    """Sync twin of :func:`pause_queue` for an ``Engine``, ``Connection`` or ``Session``."""
    return _set_paused_sync(target, queue, True, schema, now, "pause_queue_sync")


def resume_queue_sync(target: SyncTarget, queue: str, *, schema: str | None = None,
                      now: datetime | None = None) -> QueueState:
    """Sync twin of :func:`resume_queue`."""
    return _set_paused_sync(target, queue, False, schema, now, "resume_queue_sync")


async def paused_queues(target: Target, *, schema: str | None = None
                        ) -> dict[str, datetime | None]:
    """The paused queues: name -> when it was paused."""
    async with connection(target, schema=schema, what="paused_queues") as conn:
        rows = await execute(conn, flow.paused_queues(_stmts(schema)))
    return {r.name: r.paused_at for r in rows}


# -- periodic schedules -------------------------------------------------------------------

#: A schedule registered this much longer ago than the newest registration is no longer
#: in the code of any running worker (workers refresh their rows every minute).
ORPHANED_AFTER = timedelta(minutes=3)


async def schedules(target: Target, *, schema: str | None = None,
                    known: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """The periodic schedules in ``pgq_schedules`` as JSON-able dicts: name, task,
    expression, time zone, missed-firing policy, next and last fire time, last job
    and its status, and ``orphaned``: not among ``known`` (the names a registry
    has) when given, else not refreshed by any worker for :data:`ORPHANED_AFTER`
    while others were (removed from the code: it never fires again)."""
    from .periodic import next_fire, parse_expression

    names = set(known) if known is not None else None
    async with connection(target, schema=schema, what="schedules") as conn:
        rows = await execute(conn, periodic_queries.list_schedules(_stmts(schema)))
    newest = max((r.seen_at for r in rows), default=None)
    out: list[dict[str, Any]] = []
    for r in rows:
        orphaned = (r.name not in names) if names is not None else (
            newest is not None and r.seen_at < newest - ORPHANED_AFTER)
        upcoming: datetime | None = None
        if not orphaned:
            try:
                cron, every = parse_expression(r.expression, r.timezone)
                upcoming = next_fire(cron, every, r.timezone, r.now)
            except ValueError:
                upcoming = None
        out.append({
            "name": r.name, "entrypoint": r.entrypoint, "expression": r.expression,
            "timezone": r.timezone, "missed": r.missed,
            "next_fire_at": upcoming.isoformat() if upcoming is not None else None,
            "last_fire_at": r.last_fire_at.isoformat() if r.last_fire_at else None,
            "last_job_id": r.last_job_id, "last_status": r.last_status,
            "orphaned": orphaned, "seen_at": r.seen_at.isoformat(),
        })
    return out


async def run_schedule(target: Target, name: str, *, schema: str | None = None) -> int | None:
    """Enqueue schedule ``name``'s job now (its task, payload, queue and priority, as
    the workers registered them), outside its fire times: its last firing does not
    change.  Returns the job id, ``None`` if there is no such schedule."""
    async with connection(target, schema=schema, what="run_schedule") as conn:
        ids = await execute(conn, periodic_queries.run_now(_stmts(schema), name=name))
    return ids[0] if ids else None
