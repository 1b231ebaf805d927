"""Where enqueue, operator actions and the testing helpers run: one resolver.

A *target* is what a caller hands pgq-sa: an engine (pgq-sa opens a transaction of
its own), or a connection or ORM session (pgq-sa runs in the caller's transaction:
its change, and the NOTIFY that tells workers, take effect when that commits);
async (:func:`connection`) or sync (:func:`connection_sync`).  Both also turn a
missing pgq-sa schema into :class:`~pgq_sa.SchemaNotInstalled`
(:func:`pgq_sa.schema_state.missing_schema`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

from sqlalchemy import Connection, Engine
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession
from sqlalchemy.orm import Session

from .schema_state import missing_schema

__all__ = ["AsyncTarget", "SyncTarget", "connection", "connection_sync"]

AsyncTarget = AsyncEngine | AsyncConnection | AsyncSession
SyncTarget = Engine | Connection | Session


@asynccontextmanager
async def connection(target: AsyncTarget, *, schema: str | None = None,
                     what: str = "this function", read_only: bool = False,
                     ) -> AsyncIterator[AsyncConnection | AsyncSession]:
    """The connection to run on: an engine's in a transaction of its own (committed
    at the end of the block, or only rolled back when ``read_only``), a caller's
    connection or session as it is."""
    try:
        if isinstance(target, AsyncEngine):
            if read_only:
                async with target.connect() as conn:
                    yield conn
                    await conn.rollback()
            else:
                async with target.begin() as conn:
                    yield conn
        elif isinstance(target, (AsyncConnection, AsyncSession)):
            yield target
        else:
            raise TypeError(f"{what} needs an AsyncEngine, AsyncConnection or AsyncSession "
                            f"(use the *_sync twin for sync ones), got "
                            f"{type(target).__name__}")
    except Exception as exc:
        missing = missing_schema(exc, schema)
        if missing is not None:
            raise missing from exc
        raise


@contextmanager
def connection_sync(target: SyncTarget, *, schema: str | None = None,
                    what: str = "this function", read_only: bool = False,
                    ) -> Iterator[Connection | Session]:
    """Sync twin of :func:`connection`."""
    try:
        if isinstance(target, Engine):
            if read_only:
                with target.connect() as conn:
                    yield conn
                    conn.rollback()
            else:
                with target.begin() as conn:
                    yield conn
        elif isinstance(target, (Connection, Session)):
            yield target
        else:
            raise TypeError(f"{what} needs an Engine, Connection or Session (use the async "
                            f"function for async ones), got {type(target).__name__}")
    except Exception as exc:
        missing = missing_schema(exc, schema)
        if missing is not None:
            raise missing from exc
        raise
