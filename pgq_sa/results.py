"""Wait for a job and get its result: :func:`wait` and :func:`wait_sync`.

A handler's return value is stored with its job (``pgq_jobs.result``, JSON; a
task's return annotation converts typed values as payloads are converted) and
kept as long as the job.  :func:`wait` returns it once the job succeeded, or
raises :class:`~pgq_sa.JobFailed` (its final status and error) when it failed or
was cancelled, and ``TimeoutError`` when ``timeout`` passes first.

It first marks the job *awaited* (one UPDATE): the acknowledgement of an awaited
job sends its id on the completion channel (``pgq_sa_done``; others send no
NOTIFY at all), which :func:`wait` LISTENs to on a connection of its own.  It also
polls every ``poll_interval`` seconds, so a lost notification, a job cancelled
while queued or ended by the rescue only costs that much latency.
"""

from __future__ import annotations

import select as selectors
import time
from collections.abc import Callable
from typing import Any

import anyio
from sqlalchemy import Engine, text
from sqlalchemy.ext.asyncio import AsyncEngine

from .errors import JobFailed
from .job import CANCELLED, FAILED, SUCCEEDED
from .queries import execute, execute_sync
from .queries.results import JobEnd, await_job, job_end
from .schema import tables_for
from .sql import Statements, statements_for
from .target import connection, connection_sync

__all__ = ["JobFailed", "wait", "wait_sync"]

Decode = Callable[[Any], Any]


def _outcome(job_id: int, end: JobEnd | None, decode: Decode | None) -> tuple[bool, Any]:
    """``(True, result)`` once the job succeeded; raises for a job that failed, was
    cancelled or does not exist; ``(False, None)`` while it has not ended."""
    if end is None:
        raise LookupError(f"no job {job_id}: check the id (and the schema)")
    if end.status == SUCCEEDED:
        return True, end.result if decode is None else decode(end.result)
    if end.status in (FAILED, CANCELLED):
        raise JobFailed(job_id, end.status, end.last_error)
    return False, None


def _check(timeout: float | None, poll_interval: float) -> None:
    if timeout is not None and timeout < 0:
        raise ValueError(f"timeout must be >= 0 seconds or None, got {timeout}")
    if poll_interval <= 0:
        raise ValueError(f"poll_interval must be > 0 seconds, got {poll_interval}")


def _timed_out(job_id: int, timeout: float | None) -> TimeoutError:
    return TimeoutError(f"job {job_id} did not end within {timeout}s")


async def wait(engine: AsyncEngine, job_id: int, *, timeout: float | None = None,
               schema: str | None = None, poll_interval: float = 1.0,
               decode: Decode | None = None) -> Any:
    """Wait until job ``job_id`` ends; return its result (``None`` if the handler
    returned nothing).

    Raises :class:`~pgq_sa.JobFailed` (``.status``, ``.error``) when it failed or
    was cancelled, ``TimeoutError`` after ``timeout`` seconds (``None``: no limit),
    ``LookupError`` when there is no such job.  ``decode`` converts the stored JSON
    value (``task.wait`` passes its return type's converter).
    """
    _check(timeout, poll_interval)
    if not isinstance(engine, AsyncEngine):
        raise TypeError(f"wait needs an AsyncEngine (wait_sync takes an Engine), got "
                        f"{type(engine).__name__}")
    stmts = statements_for(tables_for(schema))
    deadline = None if timeout is None else time.monotonic() + timeout
    woken = anyio.Event()
    wanted = str(job_id)

    def on_done(_conn: Any, _pid: int, _channel: str, payload: str) -> None:
        if payload == wanted:
            woken.set()

    async with engine.connect() as listener:
        raw: Any = (await listener.get_raw_connection()).driver_connection
        listening = hasattr(raw, "add_listener")
        if listening:
            await raw.add_listener(stmts.tables.done_channel, on_done)
        try:
            async with connection(engine, schema=schema, what="wait") as conn:
                await execute(conn, await_job(stmts, job_id=job_id))
            while True:
                async with connection(engine, schema=schema, what="wait",
                                      read_only=True) as conn:
                    rows = await execute(conn, job_end(stmts, job_id=job_id))
                done, result = _outcome(job_id, rows[0] if rows else None, decode)
                if done:
                    return result
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    raise _timed_out(job_id, timeout)
                with anyio.move_on_after(poll_interval if left is None
                                         else min(poll_interval, left)):
                    await woken.wait()
                woken = anyio.Event()
        finally:
            if listening:
                with anyio.CancelScope(shield=True):
                    await raw.remove_listener(stmts.tables.done_channel, on_done)
            await listener.rollback()


def _sync_listen(conn: Any, channel: str) -> Callable[[float], None] | None:
    """LISTEN on ``conn`` (psycopg 3 or psycopg2, in autocommit) and a
    function that waits up to ``seconds`` for a notification; ``None`` for drivers
    without a usable notification API (then only polling)."""
    dbapi: Any = conn.connection.dbapi_connection
    driver = conn.dialect.driver
    if driver not in ("psycopg", "psycopg2"):
        return None
    conn.execute(text(f'LISTEN "{channel}"'))  # validated identifier

    def block(seconds: float) -> None:
        fileno = dbapi.fileno()
        selectors.select([fileno], [], [], seconds)
        # drain what arrived; the caller re-reads the job either way
        if driver == "psycopg2":
            dbapi.poll()
            del dbapi.notifies[:]
        else:
            for _ in dbapi.notifies(timeout=0):
                pass

    return block


def wait_sync(engine: Engine, job_id: int, *, timeout: float | None = None,
              schema: str | None = None, poll_interval: float = 1.0,
              decode: Decode | None = None) -> Any:
    """Sync twin of :func:`wait` for an ``Engine`` (LISTEN with psycopg or psycopg2,
    polling with other drivers)."""
    _check(timeout, poll_interval)
    if not isinstance(engine, Engine):
        raise TypeError(f"wait_sync needs an Engine (wait takes an AsyncEngine), got "
                        f"{type(engine).__name__}")
    stmts: Statements = statements_for(tables_for(schema))
    deadline = None if timeout is None else time.monotonic() + timeout
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as listener:
        block = _sync_listen(listener, stmts.tables.done_channel)
        try:
            with connection_sync(engine, schema=schema, what="wait_sync") as conn:
                execute_sync(conn, await_job(stmts, job_id=job_id))
            while True:
                with connection_sync(engine, schema=schema, what="wait_sync",
                                     read_only=True) as conn:
                    rows = execute_sync(conn, job_end(stmts, job_id=job_id))
                done, result = _outcome(job_id, rows[0] if rows else None, decode)
                if done:
                    return result
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    raise _timed_out(job_id, timeout)
                pause = poll_interval if left is None else min(poll_interval, left)
                if block is None:
                    time.sleep(pause)
                else:
                    block(pause)
        finally:
            if block is not None:
                listener.execute(text("UNLISTEN *"))
