"""Notifier: LISTEN on a dedicated connection; wake the producer, cancel jobs; hold
the worker's session lock.

Payloads on the jobs channel are queue names (sent once per queue per enqueueing
statement); payloads on the cancel channel are job ids.  The connection is checked
every ``health_interval`` with ``SELECT 1`` under a timeout, because a silently
dropped TCP path is not noticed otherwise; after any reconnect the producer polls at
once, since notifications sent meanwhile are lost.

The same connection, kept for the worker's lifetime, holds a session-level
advisory lock on the worker's session key (:func:`~pgq_sa.queries.lifecycle.
session_key_for`): when the process dies, PostgreSQL closes the session, the lock
is gone, and any live worker's rescuer returns the jobs at once instead of after
the heartbeat timeout.  With ``listen=False`` the connection only holds the lock.
"""

from __future__ import annotations

import logging
from typing import Any

import anyio

from ..driver import Lease, is_connection_error
from ..queries.lifecycle import take_session_lock
from ..sql import Statements, compiled
from .state import WorkerState

__all__ = ["Notifier"]

log = logging.getLogger("pgq_sa.notifier")


class Notifier:
    def __init__(self, lease: Lease, state: WorkerState, *, channel: str, queues: list[str],
                 health_interval: float = 5.0, listen: bool = True,
                 stmts: Statements | None = None, session_key: int | None = None) -> None:
        self._lease = lease
        self._state = state
        self._listen_enabled = listen
        self._stmts = stmts
        self.session_key = session_key if stmts is not None else None
        self.channel = channel
        self.cancel_channel = f"{channel}_cancel"
        self._queues = set(queues)
        self._health = health_interval
        self._lost = anyio.Event()
        self.listening = anyio.Event()

    def _on_job(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        if payload in self._queues:
            self._state.poke_one()

    def _on_cancel(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        try:
            job_id = int(payload)
        except ValueError:
            return
        entry = self._state.capacity.get(job_id)
        if entry is not None:
            entry.stop("cancel")

    def _on_terminated(self, _conn: Any) -> None:
        self._lost.set()

    async def _listen(self) -> Any:
        raw = await self._lease.connect()
        with anyio.fail_after(self._lease.timeout or 30.0):
            await self._lock_session(raw)
            if self._listen_enabled:
                await raw.add_listener(self.channel, self._on_job)
                await raw.add_listener(self.cancel_channel, self._on_cancel)
        raw.add_termination_listener(self._on_terminated)
        return raw

    async def _lock_session(self, raw: Any) -> None:
        """Take the session lock if it is not held (a previous session of this worker
        may still hold it: a path cut off, not yet closed by the server; then try
        again at the next health check)."""
        if self.session_key is None or self._stmts is None or \
                self._state.session_key is not None:
            return
        query = take_session_lock(self._stmts, session_key=self.session_key)
        statement = compiled(query.statement)
        if await raw.fetchval(statement.sql, *statement.args(query.params)):
            self._state.session_key = self.session_key
            self._state.beat_now.set()  # record it now
        else:
            log.info("the session lock of this worker is still held by an older session "
                     "(a connection not yet closed by the server): trying again")

    async def run(self) -> None:
        """Listen until cancelled; reconnect (with backoff) whenever the connection
        fails or stops answering the health check."""
        while True:
            self._lost = anyio.Event()
            try:
                raw = await self._listen()
            except Exception as exc:
                self._state.session_key = None
                if not is_connection_error(exc):
                    log.exception("listener failed to start; retrying")
                await self._lease.backoff(exc)
                continue
            self._lease.succeeded()
            self.listening.set()
            # Notifications sent while we were not listening are lost: poll for jobs
            # and for cancellation requests now.
            self._state.poke()
            self._state.beat_now.set()
            try:
                while True:
                    with anyio.move_on_after(self._health):
                        await self._lost.wait()
                    if self._lost.is_set():
                        raise ConnectionError("listener connection closed")
                    await raw.fetchval("SELECT 1", timeout=max(1.0, self._health))
                    with anyio.fail_after(max(1.0, self._health)):
                        await self._lock_session(raw)
            except Exception as exc:
                self._state.session_key = None
                self.listening = anyio.Event()
                if not is_connection_error(exc):
                    log.exception("listener health check failed; reconnecting")
                await self._lease.backoff(exc)

    async def close(self) -> None:
        raw = self._lease.raw
        if raw is not None and not raw.is_closed():
            with anyio.CancelScope(shield=True), anyio.move_on_after(2):
                try:
                    await raw.remove_listener(self.channel, self._on_job)
                    await raw.remove_listener(self.cancel_channel, self._on_cancel)
                except Exception:
                    pass
        # Never hand a connection with LISTEN registrations back to the pool.
        await self._lease.discard()
