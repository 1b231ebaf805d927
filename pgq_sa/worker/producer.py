"""Producer: claims ready jobs, never more than free capacity, and starts them."""

from __future__ import annotations

import logging
from typing import Any

import anyio
import anyio.lowlevel
from anyio.abc import TaskGroup

from ..driver import Lease
from ..sql import Statements
from .executor import Executor
from .state import WorkerState

__all__ = ["Producer"]

log = logging.getLogger("pgq_sa.producer")


class Producer:
    """Claim loop: wake on NOTIFY, on a freed slot, or every ``poll_interval``."""

    def __init__(self, lease: Lease, stmts: Statements, state: WorkerState, executor: Executor,
                 *, worker_id: str, queues: list[str], entrypoints: list[str],
                 poll_interval: float) -> None:
        self._lease = lease
        self._state = state
        self._executor = executor
        self._poll = poll_interval
        self._stmt = stmts.claim(many_queues=len(queues) > 1)
        self._params: dict[str, Any] = {
            "worker_id": worker_id,
            "entrypoints": entrypoints,
            "now": None,
        }
        if len(queues) > 1:
            self._params["queues"] = queues
        else:
            self._params["queue"] = queues[0]
        self.claims = 0

    async def claim(self, limit: int) -> list[Any]:
        """One claim statement for up to ``limit`` jobs (``[]`` if the connection broke)."""
        self.claims += 1
        return await self._lease.fetch(self._stmt, {**self._params, "limit": limit}, retry=False)

    async def run(self, jobs_tg: TaskGroup) -> None:
        state = self._state
        while not state.stopping:
            free = state.free
            if free <= 0:
                state.slot_freed = anyio.Event()
                await state.slot_freed.wait()
                # let the other jobs that end in this tick release their slots too
                await anyio.lowlevel.checkpoint()
                continue
            state.wake = anyio.Event()  # notifications from now on count
            try:
                rows = await self.claim(free)
            except Exception:
                log.exception("claim failed; retrying after the poll interval")
                rows = []
                with anyio.move_on_after(self._poll):
                    await state.wake.wait()
                continue
            if state.stopping:
                # Claimed while a shutdown began: hand them straight back.
                for row in rows:
                    self._executor.return_unstarted(row)
                return
            state.stats["claimed"] += len(rows)
            for row in rows:
                self._executor.start(jobs_tg, row)
            if not rows and self._lease.failing:
                continue  # the connection broke (the lease backed off): poll at once
            if len(rows) == free:
                await anyio.lowlevel.checkpoint()
                continue  # there may be more ready right now
            with anyio.move_on_after(self._poll):
                await state.wake.wait()
