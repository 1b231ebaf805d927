"""The one narrow seam between pgq-sa's worker and the database.

A :class:`Lease` is one dedicated connection checked out of the SQLAlchemy
``AsyncEngine`` pool; statements compiled once by :mod:`pgq_sa.sql` run on the raw
asyncpg connection underneath (no SQLAlchemy per-statement overhead) in autocommit
mode.  When the connection breaks (database restart, ``pg_terminate_backend``, a
dropped network path) the lease logs one line, backs off with jitter, reconnects
and, if asked, retries the statement.
"""

from __future__ import annotations

import contextlib
import logging
import random
from collections.abc import Mapping
from typing import Any

import anyio
import asyncpg
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql import Executable

from .errors import SchemaNotInstalled
from .sql import compiled

__all__ = ["ConnectionLost", "Lease", "is_connection_error"]

log = logging.getLogger("pgq_sa.driver")

_CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    ConnectionError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.OperatorInterventionError,  # admin shutdown, terminate_backend
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
)


def is_connection_error(exc: BaseException) -> bool:
    """True if ``exc`` means the connection (not the statement) failed."""
    if isinstance(exc, sa_exc.DBAPIError):
        if exc.connection_invalidated:
            return True
        orig = exc.orig
        inner = getattr(orig, "__cause__", None) or getattr(orig, "__context__", None)
        return isinstance(orig, _CONNECTION_ERRORS) or (
            inner is not None and isinstance(inner, _CONNECTION_ERRORS)
        ) or ("connection" in str(orig).lower() and "closed" in str(orig).lower())
    if isinstance(exc, sa_exc.InterfaceError):
        return True
    return isinstance(exc, _CONNECTION_ERRORS)


class ConnectionLost(Exception):
    """A statement was not run because the connection broke (the lease has backed off
    and will reconnect on next use)."""


class Lease:
    """A dedicated, self-healing connection from ``engine`` for one worker service."""

    def __init__(self, engine: AsyncEngine, name: str, *, min_backoff: float = 0.1,
                 max_backoff: float = 5.0) -> None:
        self.engine = engine
        self.name = name
        self._conn: AsyncConnection | None = None
        self._raw: Any = None
        self._min_backoff = min_backoff
        self._max_backoff = max_backoff
        self._failures = 0
        self.reconnects = 0

    @property
    def raw(self) -> Any:
        """The asyncpg connection (connect first)."""
        return self._raw

    async def connect(self) -> Any:
        """Check out a connection (if not holding one) and return the asyncpg connection."""
        if self._raw is None or self._raw.is_closed():
            await self.discard()
            conn = await self.engine.connect()
            try:
                pooled = await conn.get_raw_connection()
                raw = pooled.driver_connection
            except BaseException:
                await conn.close()
                raise
            self._conn, self._raw = conn, raw
        return self._raw

    async def discard(self) -> None:
        """Drop the current connection without returning it to the pool."""
        conn, self._conn, self._raw = self._conn, None, None
        if conn is not None:
            with anyio.CancelScope(shield=True):
                with contextlib.suppress(Exception):
                    await conn.invalidate()
                with contextlib.suppress(Exception):
                    await conn.close()

    async def close(self) -> None:
        """Return the connection to the pool (or drop it if it is broken)."""
        conn, self._conn, raw, self._raw = self._conn, None, self._raw, None
        if conn is None:
            return
        with anyio.CancelScope(shield=True):
            try:
                if raw is None or raw.is_closed():
                    await conn.invalidate()
                await conn.close()
            except Exception:
                pass

    async def backoff(self, exc: BaseException) -> None:
        """Log the failure (once per outage), drop the connection and sleep with jitter."""
        self._failures += 1
        if self._failures == 1:
            log.warning("database connection lost (%s): %s: %s; reconnecting",
                        self.name, type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "")
        await self.discard()
        delay = min(self._max_backoff, self._min_backoff * 2 ** min(self._failures - 1, 10))
        await anyio.sleep(delay * random.uniform(0.5, 1.0))

    def _ok(self) -> None:
        if self._failures:
            log.warning("database connection restored (%s) after %d failed tries",
                        self.name, self._failures)
            self.reconnects += 1
        self._failures = 0

    async def fetch(self, stmt: Executable, params: Mapping[str, Any], *,
                    retry: bool = True, timeout: float | None = None) -> list[Any]:
        """Run ``stmt``; on a connection error back off, reconnect and (if ``retry``)
        run it again, until it succeeds or the caller is cancelled.  Without ``retry``
        a connection error raises :class:`ConnectionLost` after the back-off."""
        c = compiled(stmt)
        args = c.args(params)
        while True:
            try:
                raw = await self.connect()
                rows: list[Any] = await raw.fetch(c.sql, *args, timeout=timeout)
            except asyncpg.exceptions.UndefinedTableError as exc:
                raise SchemaNotInstalled() from exc
            except Exception as exc:
                if not is_connection_error(exc):
                    raise
                await self.backoff(exc)
                if not retry:
                    raise ConnectionLost(str(exc)) from exc
                continue
            self._ok()
            return rows
