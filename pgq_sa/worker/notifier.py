"""Notifier: LISTEN on a dedicated connection; wake the producer, cancel jobs.

Payloads on the jobs channel are queue names (sent once per queue per enqueueing
statement); payloads on the cancel channel are job ids.  The connection is checked
every ``health_interval`` with ``SELECT 1`` under a timeout, because a silently
dropped TCP path is not noticed otherwise; after any reconnect the producer polls at
once, since notifications sent meanwhile are lost.
"""

from __future__ import annotations

import logging
from typing import Any

import anyio

from ..driver import Lease, is_connection_error
from .state import WorkerState

__all__ = ["Notifier"]

log = logging.getLogger("pgq_sa.notifier")


class Notifier:
    def __init__(self, lease: Lease, state: WorkerState, *, channel: str, queues: list[str],
                 health_interval: float = 5.0) -> None:
        self._lease = lease
        self._state = state
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
            await raw.add_listener(self.channel, self._on_job)
            await raw.add_listener(self.cancel_channel, self._on_cancel)
        raw.add_termination_listener(self._on_terminated)
        return raw

    async def run(self) -> None:
        """Listen until cancelled; reconnect (with backoff) whenever the connection
        fails or stops answering the health check."""
        while True:
            self._lost = anyio.Event()
            try:
                raw = await self._listen()
            except Exception as exc:
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
            except Exception as exc:
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
