"""Exactly-once database effects: ``ctx.transaction()`` / ``ctx.transaction_sync()``.

The handler's writes and the job's success share one transaction on the worker's
database: the block's exit runs the fenced completion
(:func:`pgq_sa.sql.acknowledge.complete`: still ``running`` at this attempt, no
cancel asked) and commits; when the fence finds no row (rescued, cancelled or
ended meanwhile) it rolls back and raises :class:`~pgq_sa.CommitRefused`.  The
completion statement locks the job's row until the commit, so the rescue (SKIP
LOCKED) cannot take the job between the fence and the commit.

A job completed this way is marked :attr:`JobContext._completed`: the executor
records its outcome as ``committed`` (counted, logged, never acknowledged again).

Sync handlers get a sync ``Connection`` from a small engine on the same database
URL with a sync driver (psycopg 3, else psycopg2), created on first use.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import anyio
from sqlalchemy import Connection, Engine, create_engine
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ..context import JobContext
from ..errors import CommitRefused, ConfigurationError
from ..queries import execute, execute_sync
from ..queries.acknowledge import complete
from ..queries.workflow import dependency_results
from ..registry import Registry
from ..sql import Statements

__all__ = ["Effects"]


def _refused(ctx: JobContext) -> CommitRefused:
    return CommitRefused(
        f"job {ctx.id} attempt {ctx.attempt} is no longer running on this worker "
        "(rescued, cancelled or ended meanwhile): its transaction was rolled back")


class Effects:
    """Opens the transactions of ``ctx.transaction()`` on ``engine``."""

    def __init__(self, engine: AsyncEngine, stmts: Statements, registry: Registry, *,
                 max_result_bytes: int | None = None, pool_size: int = 4) -> None:
        self.engine = engine
        self.stmts = stmts
        self.registry = registry
        self.max_result_bytes = max_result_bytes
        self._pool_size = pool_size
        self._sync_engine: Engine | None = None
        self._lock = threading.Lock()

    def _result(self, ctx: JobContext) -> str | None:
        if not ctx._has_result:
            return None
        task = self.registry.tasks[ctx.entrypoint]
        return task.dump_result(ctx._result, self.max_result_bytes)

    def _begin(self, ctx: JobContext) -> str | None:
        if ctx._completed:
            raise RuntimeError(f"job {ctx.id}: ctx.transaction() already committed its "
                               "success (use it once per attempt)")
        if ctx.cancelled:
            raise _refused(ctx)
        return None

    @asynccontextmanager
    async def transaction(self, ctx: JobContext) -> AsyncIterator[AsyncConnection]:
        """The handler's transaction; its commit marks the job succeeded."""
        self._begin(ctx)
        async with self.engine.connect() as conn:
            await conn.begin()
            try:
                yield conn
                result = self._result(ctx)
                rows = await execute(conn, complete(self.stmts, job_id=ctx.id,
                                                    attempt=ctx.attempt, result=result))
            except BaseException:
                await conn.rollback()
                raise
            if not rows:
                await conn.rollback()
                raise _refused(ctx)
            ctx._committing = True
            try:
                # shielded: a stop (cancel, timeout, shutdown) arriving now cannot
                # leave the job succeeded in the database and "stopped" here
                with anyio.CancelScope(shield=True):
                    await conn.commit()
            finally:
                ctx._committing = False
            ctx._completed = True

    def sync_engine(self) -> Engine:
        """The sync engine of ``transaction_sync`` (created on first use)."""
        with self._lock:
            if self._sync_engine is None:
                url = self.engine.url
                for driver in ("psycopg", "psycopg2"):
                    try:
                        __import__(driver)
                    except ImportError:
                        continue
                    self._sync_engine = create_engine(
                        url.set(drivername=f"postgresql+{driver}"),
                        pool_size=self._pool_size, max_overflow=16, pool_pre_ping=True)
                    break
                else:
                    raise ConfigurationError(
                        "ctx.transaction_sync() needs a sync PostgreSQL driver: "
                        "pip install psycopg (or psycopg2)")
            return self._sync_engine

    @contextmanager
    def transaction_sync(self, ctx: JobContext) -> Iterator[Connection]:
        """Sync twin of :meth:`transaction` (a sync handler's thread)."""
        self._begin(ctx)
        with self.sync_engine().connect() as conn:
            conn.begin()
            try:
                yield conn
                result = self._result(ctx)
                rows = execute_sync(conn, complete(self.stmts, job_id=ctx.id,
                                                   attempt=ctx.attempt, result=result))
            except BaseException:
                conn.rollback()
                raise
            if not rows:
                conn.rollback()
                raise _refused(ctx)
            ctx._committing = True
            try:
                conn.commit()
            finally:
                ctx._committing = False
            ctx._completed = True

    async def dependencies(self, ctx: JobContext) -> dict[int, Any]:
        """The results of ``ctx``'s dependencies, by id."""
        async with self.engine.connect() as conn:
            rows = await execute(conn, dependency_results(self.stmts, job_id=ctx.id))
            await conn.rollback()
        return {row.id: row.result for row in rows}

    def dependencies_sync(self, ctx: JobContext) -> dict[int, Any]:
        """Sync twin of :meth:`dependencies`."""
        with self.sync_engine().connect() as conn:
            rows = execute_sync(conn, dependency_results(self.stmts, job_id=ctx.id))
            conn.rollback()
        return {row.id: row.result for row in rows}

    def dispose(self) -> None:
        """Close the sync engine's connections."""
        if self._sync_engine is not None:
            self._sync_engine.dispose()
