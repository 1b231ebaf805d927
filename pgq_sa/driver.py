"""The one narrow seam between pgq-sa's worker and the database.

A :class:`Lease` is one dedicated connection checked out of the SQLAlchemy
``AsyncEngine`` pool; statements compiled once by :mod:`pgq_sa.sql` run on the raw
asyncpg connection underneath (no SQLAlchemy per-statement overhead) in autocommit
mode.  When the connection breaks (database restart, ``pg_terminate_backend``, a
dropped network path) the lease logs one line, backs off with jitter, reconnects
and, if asked, retries the statement.
"""

from __future__ import annotations

import asyncio
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

from .schema_state import missing_schema
from .sql import compiled

__all__ = ["ConnectionLost", "Lease", "is_connection_error"]

log = logging.getLogger("pgq_sa.driver")

_CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncio.TimeoutError,  # distinct from TimeoutError before Python 3.11
    ConnectionError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.OperatorInterventionError,  # admin shutdown, terminate_backend
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    # the protocol is in an unknown state (seen after pg_terminate_backend mid-query):
    # the connection cannot be trusted any more
    asyncpg.exceptions.InternalClientError,
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


_SET = "SELECT set_config($1::text, $2::text, false)"
#: Back to the value the session started with (RESET, with the name as a parameter).
_RESET = "SELECT set_config(name, reset_val, false) FROM pg_settings WHERE name = $1::text"

#: Per engine, the leases currently failing: only the first failure logs a warning.
_outages: dict[int, set[str]] = {}


class Lease:
    """A dedicated, self-healing connection from ``engine`` for one worker service.

    Statements are serialized (an asyncpg connection runs one at a time, so services
    sharing a lease take turns) and bounded by ``timeout`` seconds: a statement that
    takes longer is presumed to sit on a dead network path, and the connection is
    replaced.
    """

    def __init__(self, engine: AsyncEngine, name: str, *, min_backoff: float = 0.1,
                 max_backoff: float = 5.0, timeout: float | None = 10.0,
                 settings: Mapping[str, str] | None = None) -> None:
        self.engine = engine
        self.name = name
        #: Session settings (``set_config``) for this lease's connection, put back to
        #: the session's defaults before the connection returns to the pool.
        self.settings = dict(settings or {})
        self._conn: AsyncConnection | None = None
        self._raw: Any = None
        self._min_backoff = min_backoff
        self._max_backoff = max_backoff
        self._timeout = timeout
        self._lock = anyio.Lock()
        self._failures = 0
        self.reconnects = 0

    @property
    def timeout(self) -> float | None:
        """Seconds a statement may take before the connection is presumed dead."""
        return self._timeout

    @property
    def failing(self) -> bool:
        """True between a connection failure and the next successful statement."""
        return self._failures > 0

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
                raw: Any = pooled.driver_connection
                for name, value in self.settings.items():
                    await raw.fetch(_SET, name, value, timeout=self._timeout)
            except BaseException:
                await conn.close()
                raise
            self._conn, self._raw = conn, raw
        return self._raw

    async def open(self) -> None:
        """Connect ahead of the first statement (a worker opens its leases at once,
        so their round trips overlap).  A connection error is left for the first
        statement to meet, back off from and report."""
        async with self._lock:
            try:
                await self.connect()
            except Exception as exc:
                if not is_connection_error(exc):
                    raise
                log.debug("could not open connection (%s) yet: %s", self.name, exc)

    async def discard(self) -> None:
        """Drop the current connection without returning it to the pool."""
        conn, raw, self._conn, self._raw = self._conn, self._raw, None, None
        if raw is not None:
            # close the socket now: SQLAlchemy's invalidate() would first try a
            # graceful close, which waits 2 s on a dead network path
            with contextlib.suppress(Exception):
                raw.terminate()
        if conn is not None:
            with anyio.CancelScope(shield=True), anyio.move_on_after(5):
                with contextlib.suppress(Exception):
                    await conn.invalidate()
                with contextlib.suppress(Exception):
                    await conn.close()

    async def close(self) -> None:
        """Return the connection to the pool (or drop it if it is broken)."""
        conn, self._conn, raw, self._raw = self._conn, None, self._raw, None
        if conn is None:
            return
        with anyio.CancelScope(shield=True), anyio.move_on_after(5):
            try:
                if raw is None or raw.is_closed():
                    await conn.invalidate()
                else:
                    for name in self.settings:
                        await raw.fetch(_RESET, name, timeout=self._timeout)
                await conn.close()
            except Exception:
                pass

    async def backoff(self, exc: BaseException) -> None:
        """Log the failure (one line per outage of the engine, however many leases
        notice it), drop the connection and sleep with jitter."""
        self._failures += 1
        if self._failures == 1:
            down = _outages.setdefault(id(self.engine), set())
            level = logging.DEBUG if down else logging.WARNING
            down.add(self.name)
            detail = str(exc).splitlines()[0] if str(exc) else "no answer in time"
            log.log(level, "database connection lost (%s): %s: %s; reconnecting with backoff",
                    self.name, type(exc).__name__, detail)
        await self.discard()
        delay = min(self._max_backoff, self._min_backoff * 2 ** min(self._failures - 1, 10))
        await anyio.sleep(delay * random.uniform(0.5, 1.0))

    def succeeded(self) -> None:
        """Record a success: the end of an outage (logged once), if there was one."""
        if self._failures:
            self.reconnects += 1
            down = _outages.get(id(self.engine), set())
            down.discard(self.name)
            log.log(logging.DEBUG if down else logging.INFO,
                    "database connection restored (%s) after %d failed tries",
                    self.name, self._failures)
        self._failures = 0

    async def fetch(self, stmt: Executable, params: Mapping[str, Any], *,
                    retry: bool = True, timeout: float | None = None) -> list[Any]:
        """Run ``stmt``; on a connection error back off, reconnect and (if ``retry``)
        run it again, until it succeeds or the caller is cancelled.  Without ``retry``
        a connection error raises :class:`ConnectionLost` after the back-off, and
        :attr:`failing` stays true until the next success."""
        c = compiled(stmt)
        args = c.args(params)
        while True:
            failure: BaseException | None = None
            async with self._lock:
                try:
                    raw = await self.connect()
                    rows: list[Any] = await raw.fetch(c.sql, *args,
                                                      timeout=timeout or self._timeout)
                except Exception as exc:
                    missing = missing_schema(exc)
                    if missing is not None:
                        raise missing from exc
                    if not is_connection_error(exc):
                        raise
                    failure = exc
                    # drop it while holding the lock: another service sharing this
                    # lease must not get the broken connection, nor lose its new one
                    await self.discard()
            if failure is not None:
                await self.backoff(failure)
                if not retry:
                    raise ConnectionLost(str(failure)) from failure
                continue
            self.succeeded()
            return rows

    async def fetch_locked(self, lock: str, stmt: Executable, params: Mapping[str, Any], *,
                           timeout: float | None = None) -> list[Any]:
        """Run ``lock`` (plain SQL that begins a transaction and takes a lock, e.g.
        :attr:`pgq_sa.sql.Statements.flow_lock`), then ``stmt``, then commit: the
        statement's snapshot is taken after the lock is granted.  No retry: a
        connection error raises :class:`ConnectionLost` after the back-off."""
        c = compiled(stmt)
        args = c.args(params)
        failure: BaseException | None = None
        async with self._lock:
            try:
                raw = await self.connect()
                limit = timeout or self._timeout
                try:
                    await raw.execute(lock, timeout=limit)
                    rows: list[Any] = await raw.fetch(c.sql, *args, timeout=limit)
                    await raw.execute("COMMIT", timeout=limit)
                except BaseException:
                    if not raw.is_closed() and raw.is_in_transaction():
                        with anyio.CancelScope(shield=True), anyio.move_on_after(5), \
                                contextlib.suppress(Exception):
                            await raw.execute("ROLLBACK")
                    raise
            except Exception as exc:
                missing = missing_schema(exc)
                if missing is not None:
                    raise missing from exc
                if not is_connection_error(exc):
                    raise
                failure = exc
                await self.discard()
        if failure is not None:
            await self.backoff(failure)
            raise ConnectionLost(str(failure)) from failure
        self.succeeded()
        return rows
