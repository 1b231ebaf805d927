"""Helpers for testing code that uses pgq-sa (in the spirit of River's ``rivertest``).

::

    from pgq_sa import testing

    async def test_signup_sends_welcome(engine):
        await signup(engine, "ada@example.com")
        job = await testing.assert_enqueued(engine, "send_email", {"to": "ada@example.com"})
        await testing.run_inline(registry, job)          # run the handler, no worker
        await testing.work_until_empty(registry, engine)  # or a real worker, until done
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

import anyio
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from .admin import job_to_dict
from .context import JobContext
from .enqueue import tables_for
from .registry import Registry
from .schema import QUEUED, RUNNING
from .sql import status_in

__all__ = ["assert_enqueued", "enqueued_jobs", "run_inline", "work_until_empty"]


async def enqueued_jobs(
    target: AsyncEngine | AsyncConnection,
    entrypoint: str | None = None,
    *,
    queue: str | None = None,
    statuses: tuple[str, ...] = (QUEUED,),
    schema: str | None = None,
) -> list[dict[str, Any]]:
    """Jobs in ``statuses`` (default: queued), oldest first, as dicts."""
    jobs = tables_for(schema).jobs
    stmt = select(jobs).where(status_in(jobs.c.status, statuses)).order_by(jobs.c.id)
    if entrypoint is not None:
        stmt = stmt.where(jobs.c.entrypoint == entrypoint)
    if queue is not None:
        stmt = stmt.where(jobs.c.queue == queue)
    if isinstance(target, AsyncEngine):
        async with target.connect() as conn:
            rows = (await conn.execute(stmt)).all()
    else:
        rows = (await target.execute(stmt)).all()
    return [job_to_dict(r) for r in rows]


async def assert_enqueued(
    target: AsyncEngine | AsyncConnection,
    entrypoint: str,
    payload: Mapping[str, Any] | None = None,
    *,
    queue: str | None = None,
    priority: int | None = None,
    schema: str | None = None,
) -> dict[str, Any]:
    """Assert a queued ``entrypoint`` job exists (whose payload contains ``payload``);
    return it.  The error lists what is queued instead."""
    found = await enqueued_jobs(target, entrypoint, queue=queue, schema=schema)
    for job in found:
        if payload is not None and any(job["payload"].get(k, object()) != v
                                       for k, v in payload.items()):
            continue
        if priority is not None and job["priority"] != priority:
            continue
        return job
    queued = await enqueued_jobs(target, schema=schema)
    summary = ", ".join(f"{j['entrypoint']}({j['payload']})" for j in queued[:10]) or "nothing"
    raise AssertionError(f"no queued {entrypoint!r} job with payload {dict(payload or {})} "
                         f"(queue={queue}, priority={priority}); queued: {summary}")


async def run_inline(registry: Registry, job: Mapping[str, Any] | str,
                     payload: Mapping[str, Any] | None = None) -> Any:
    """Run a handler in this process without a worker or a claim.

    ``job`` is a job dict (from :func:`assert_enqueued`) or an entrypoint name with
    ``payload``; the handler gets a :class:`JobContext` for attempt 1."""
    if isinstance(job, str):
        entrypoint, data, job_id, queue = job, dict(payload or {}), 0, None
    else:
        entrypoint, data = job["entrypoint"], dict(job["payload"])
        job_id, queue = job.get("id", 0), job.get("queue")
    task = registry[entrypoint]
    task.check_payload(data)
    ctx = JobContext(id=job_id, entrypoint=entrypoint, queue=queue or task.queue, attempt=1,
                     max_attempts=task.max_attempts, priority=task.priority, payload=data,
                     created_at=datetime.now(timezone.utc), worker_id="inline")
    kwargs = task.arguments(data, ctx)
    if task.is_async:
        return await task.fn(**kwargs)
    return await anyio.to_thread.run_sync(lambda: task.fn(**kwargs))


async def work_until_empty(registry: Registry, engine: AsyncEngine, *,
                           timeout: float = 30.0, **worker_options: Any) -> dict[str, int]:
    """Run a real worker until no ready job of its queues is queued or running;
    return its counters.  Jobs scheduled in the future are not waited for."""
    from .worker import Worker

    worker = Worker(registry, engine, **{"poll_interval": 0.05, **worker_options})
    jobs = tables_for(registry.schema).jobs
    pending = (
        select(func.count())
        .select_from(jobs)
        .where(jobs.c.queue.in_(worker.queues), jobs.c.entrypoint.in_(worker.entrypoints),
               (jobs.c.status == RUNNING) | ((jobs.c.status == QUEUED)
                                             & (jobs.c.run_at <= func.now())))
    )
    with anyio.fail_after(timeout):
        async with anyio.create_task_group() as tg:
            tg.start_soon(worker.run)
            await worker.wait_started()
            while True:
                async with engine.connect() as conn:
                    if not (await conn.execute(pending)).scalar():
                        break
                await anyio.sleep(0.05)
            worker.stop()
    return dict(worker.state.stats)
