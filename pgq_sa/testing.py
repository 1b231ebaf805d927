"""Helpers for testing code that uses pgq-sa (in the spirit of River's ``rivertest``).

::

    from pgq_sa import testing

    async def test_signup_sends_welcome(engine):
        await signup(engine, "ada@example.com")
        job = await testing.assert_enqueued(engine, "send_email", {"to": "ada@example.com"})
        await testing.run_inline(registry, job)          # run the handler, no worker
        await testing.work_until_empty(registry, engine)  # or a real worker, until done

Sync apps (a sync ``Engine``, ``Connection`` or ``Session``) have the same helpers
with ``_sync``: :func:`assert_enqueued_sync`, :func:`enqueued_jobs_sync`,
:func:`run_inline_sync` and :func:`work_until_empty_sync`.

``run_inline`` runs the handler as a worker would: the payload makes the same JSON
round trip (so a value that would not survive it fails here too) and typed
parameters arrive converted.  The helpers read the registry's schema, or take
``schema=``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timezone
from typing import Any, TypeVar

import anyio
from sqlalchemy import Connection, Engine
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession
from sqlalchemy.orm import Session

from .admin import job_to_dict
from .context import JobContext
from .dsn import async_url, engine_options
from .payload import dump_payload
from .queries import Query, execute, execute_sync
from .queries.inspection import jobs_in, pending
from .registry import Registry, Task
from .schema import QUEUED, tables_for
from .sql import statements_for
from .target import connection, connection_sync

__all__ = ["assert_enqueued", "assert_enqueued_sync", "enqueued_jobs", "enqueued_jobs_sync",
           "run_inline", "run_inline_sync", "work_until_empty", "work_until_empty_sync"]


def _query(entrypoint: str | None, queue: str | None, statuses: tuple[str, ...],
           schema: str | None) -> Query[dict[str, Any]]:
    return jobs_in(statements_for(tables_for(schema)), statuses=statuses,
                   entrypoint=entrypoint, queue=queue)


async def enqueued_jobs(
    target: AsyncEngine | AsyncConnection | AsyncSession,
    entrypoint: str | None = None,
    *,
    queue: str | None = None,
    statuses: tuple[str, ...] = (QUEUED,),
    schema: str | None = None,
) -> list[dict[str, Any]]:
    """Jobs in ``statuses`` (default: queued), oldest first, as dicts.  A connection
    or session sees the jobs its own transaction enqueued."""
    query = _query(entrypoint, queue, statuses, schema)
    async with connection(target, schema=schema, what="enqueued_jobs", read_only=True) as conn:
        rows = await execute(conn, query)
    return [job_to_dict(row) for row in rows]


def enqueued_jobs_sync(
    target: Engine | Connection | Session,
    entrypoint: str | None = None,
    *,
    queue: str | None = None,
    statuses: tuple[str, ...] = (QUEUED,),
    schema: str | None = None,
) -> list[dict[str, Any]]:
    """Sync twin of :func:`enqueued_jobs` for an ``Engine``, ``Connection`` or
    ``Session``."""
    query = _query(entrypoint, queue, statuses, schema)
    with connection_sync(target, schema=schema, what="enqueued_jobs_sync",
                         read_only=True) as conn:
        rows = execute_sync(conn, query)
    return [job_to_dict(row) for row in rows]


def _match(found: list[dict[str, Any]], payload: Mapping[str, Any] | None,
           priority: int | None) -> dict[str, Any] | None:
    # compare with the JSON form of ``payload``: typed values as they are stored
    want = None if payload is None else json.loads(_json(payload))
    for job in found:
        if want is not None and any(job["payload"].get(k, object()) != v
                                    for k, v in want.items()):
            continue
        if priority is not None and job["priority"] != priority:
            continue
        return job
    return None


def _json(payload: Mapping[str, Any]) -> str:
    from .convert import codec_for

    data = {}
    for key, value in payload.items():
        codec = None if value is None else codec_for(type(value))
        data[key] = value if codec is None else codec.encode(value, f"payload.{key}")
    return dump_payload(data)


def _not_found(entrypoint: str, payload: Mapping[str, Any] | None, queue: str | None,
               priority: int | None, queued: list[dict[str, Any]]) -> AssertionError:
    # A test helper: showing what is queued (payloads included) is its purpose.
    summary = ", ".join(f"{j['entrypoint']}({j['payload']})" for j in queued[:10]) or "nothing"
    return AssertionError(f"no queued {entrypoint!r} job with payload {dict(payload or {})} "
                          f"(queue={queue}, priority={priority}); queued: {summary}")


async def assert_enqueued(
    target: AsyncEngine | AsyncConnection | AsyncSession,
    entrypoint: str,
    payload: Mapping[str, Any] | None = None,
    *,
    queue: str | None = None,
    priority: int | None = None,
    schema: str | None = None,
) -> dict[str, Any]:
    """Assert a queued ``entrypoint`` job exists (whose payload contains ``payload``,
    typed values compared in their JSON form); return it.  The error lists what is
    queued instead."""
    found = await enqueued_jobs(target, entrypoint, queue=queue, schema=schema)
    job = _match(found, payload, priority)
    if job is not None:
        return job
    raise _not_found(entrypoint, payload, queue, priority,
                     await enqueued_jobs(target, schema=schema))


def assert_enqueued_sync(
    target: Engine | Connection | Session,
    entrypoint: str,
    payload: Mapping[str, Any] | None = None,
    *,
    queue: str | None = None,
    priority: int | None = None,
    schema: str | None = None,
) -> dict[str, Any]:
    """Sync twin of :func:`assert_enqueued`."""
    found = enqueued_jobs_sync(target, entrypoint, queue=queue, schema=schema)
    job = _match(found, payload, priority)
    if job is not None:
        return job
    raise _not_found(entrypoint, payload, queue, priority,
                     enqueued_jobs_sync(target, schema=schema))


def _inline(registry: Registry, job: Mapping[str, Any] | str,
            payload: Mapping[str, Any] | None) -> tuple[Task[Any, Any], dict[str, Any]]:
    """The task and the keyword arguments a worker would call it with."""
    if isinstance(job, str):
        entrypoint, data, job_id, queue = job, dict(payload or {}), 0, None
        attempt, max_attempts, priority = 1, None, None
    else:
        entrypoint, data = job["entrypoint"], dict(job["payload"])
        job_id, queue = job.get("id", 0), job.get("queue")
        attempt = max(1, int(job.get("attempts") or 0) + 1)
        max_attempts, priority = job.get("max_attempts"), job.get("priority")
    task = registry[entrypoint]
    task.check_payload(data)
    # the JSON round trip a job makes through the database
    wire = json.loads(dump_payload(task.encode_payload(data), entrypoint))
    ctx = JobContext(id=job_id, entrypoint=entrypoint, queue=queue or task.queue,
                     attempt=attempt, max_attempts=max_attempts or task.max_attempts,
                     priority=task.priority if priority is None else priority, payload=wire,
                     created_at=datetime.now(timezone.utc), worker_id="inline")
    return task, task.arguments(wire, ctx)


async def run_inline(registry: Registry, job: Mapping[str, Any] | str,
                     payload: Mapping[str, Any] | None = None) -> Any:
    """Run a handler in this process without a worker or a claim; return what it
    returns.

    ``job`` is a job dict (from :func:`assert_enqueued`) or an entrypoint name with
    ``payload`` (typed values allowed); the payload makes the JSON round trip a job
    makes and typed parameters arrive converted; the handler gets a
    :class:`JobContext` (attempt 1 for a new job)."""
    task, kwargs = _inline(registry, job, payload)
    if task.is_async:
        return await task.fn(**kwargs)
    return await anyio.to_thread.run_sync(lambda: task.fn(**kwargs))


def run_inline_sync(registry: Registry, job: Mapping[str, Any] | str,
                    payload: Mapping[str, Any] | None = None) -> Any:
    """Sync twin of :func:`run_inline`: a ``def`` handler runs in this thread, an
    ``async def`` one in an event loop of its own."""
    task, kwargs = _inline(registry, job, payload)
    if not task.is_async:
        return task.fn(**kwargs)

    async def call() -> Any:
        return await task.fn(**kwargs)

    return _run(call)


T = TypeVar("T")


def _run(fn: Callable[[], Awaitable[T]]) -> T:
    """``fn()`` in an event loop of its own: in this thread, or, when this thread
    already runs one (sync code called from async code), in a thread of its own
    that this one waits for."""
    import asyncio

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return anyio.run(fn)
    outcome: list[Any] = []

    def target() -> None:
        try:
            outcome.append((True, anyio.run(fn)))
        except BaseException as exc:
            outcome.append((False, exc))

    thread = threading.Thread(target=target, name="pgq-sa-testing")
    thread.start()
    thread.join()
    ok, value = outcome[0]
    if not ok:
        raise value
    result: T = value
    return result


async def work_until_empty(registry: Registry, engine: AsyncEngine, *,
                           timeout: float = 30.0, **worker_options: Any) -> dict[str, int]:
    """Run a real worker until no ready job of its queues is queued or running;
    return its counters.  Jobs scheduled in the future are not waited for."""
    from .worker import Worker

    worker = Worker(registry, engine, **{"poll_interval": 0.05, **worker_options})
    left = pending(statements_for(tables_for(registry.schema)), queues=worker.queues,
                   entrypoints=worker.entrypoints)
    with anyio.fail_after(timeout):
        async with anyio.create_task_group() as tg:
            tg.start_soon(worker.run)
            await worker.wait_started()
            while True:
                async with engine.connect() as conn:
                    if not (await execute(conn, left))[0]:
                        break
                await anyio.sleep(0.05)
            worker.stop()
    return dict(worker.state.counters)


def work_until_empty_sync(registry: Registry, database: Engine | str | URL, *,
                          timeout: float = 30.0, **worker_options: Any) -> dict[str, int]:
    """Sync twin of :func:`work_until_empty`: a real worker, in an event loop of its
    own, on the database of ``database`` (a sync ``Engine`` or a URL), until the
    ready jobs are done; returns its counters.  Commit the jobs first: the worker
    uses connections of its own."""
    url = database.url if isinstance(database, Engine) else database

    async def run() -> dict[str, int]:
        from sqlalchemy.ext.asyncio import create_async_engine

        from .worker.worker import LEASES

        engine = create_async_engine(async_url(url), pool_size=LEASES + 2,
                                     **engine_options(url))
        try:
            return await work_until_empty(registry, engine, timeout=timeout,
                                          **worker_options)
        finally:
            await engine.dispose()

    return _run(run)
