"""Heartbeat: one statement per interval refreshes every running job of this worker
(and the worker's own row), and picks up cancellation requests whose NOTIFY was lost."""

from __future__ import annotations

import logging
import os
import socket
import time
from typing import Any

import anyio

from ..driver import Lease
from ..sql import Statements
from .state import WorkerState

__all__ = ["Heartbeat", "heartbeat_interval"]

log = logging.getLogger("pgq_sa.heartbeat")


def heartbeat_interval(heartbeat_timeouts: list[float]) -> float:
    """A quarter of the shortest heartbeat timeout, between 0.25 s and 10 s.

    The rescue threshold is thus four missed beats, so a slow beat never makes a
    live job look dead."""
    shortest = min(heartbeat_timeouts) if heartbeat_timeouts else 30.0
    return max(0.25, min(10.0, shortest / 4))


class Heartbeat:
    def __init__(self, lease: Lease, stmts: Statements, state: WorkerState, *, worker_id: str,
                 queues: list[str], entrypoints: list[str], interval: float) -> None:
        self._lease = lease
        self._stmts = stmts
        self._state = state
        self.interval = interval
        self._worker = {
            "worker_id": worker_id,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "queues": queues,
            "entrypoints": entrypoints,
            "concurrency": state.concurrency,
            "now": None,
        }
        self.beats = 0
        #: Unix time of the last successful beat (``None`` before the first).
        self.last_beat_at: float | None = None

    async def register(self) -> None:
        await self._lease.fetch(self._stmts.register_worker, self._worker)

    async def beat(self) -> None:
        await self.register()
        rows = await self._lease.fetch(self._stmts.heartbeat, self._worker)
        self.beats += 1
        self.last_beat_at = time.time()
        for row in rows:
            if row[2]:  # cancel requested
                entry = self._state.running.get(row[0])
                if entry is not None:
                    entry.stop("cancel")

    async def run(self) -> None:
        while True:
            await anyio.sleep(self.interval)
            try:
                await self.beat()
            except Exception:
                log.exception("heartbeat failed; trying again next interval")

    async def deregister(self) -> None:
        params: dict[str, Any] = {"worker_id": self._worker["worker_id"]}
        with anyio.CancelScope(shield=True), anyio.move_on_after(5):
            try:
                await self._lease.fetch(self._stmts.delete_worker, params, retry=False)
            except Exception:
                log.warning("could not remove worker row %s", params["worker_id"])
