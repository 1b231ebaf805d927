"""Producer: claims ready jobs, never more than free capacity, and starts them."""

from __future__ import annotations

import logging
from typing import Any

import anyio
import anyio.lowlevel

from ..driver import ConnectionLost, Lease
from ..sql import Statements
from .completer import Completer
from .executor import Executor
from .state import WorkerState

__all__ = ["Producer"]

log = logging.getLogger("pgq_sa.producer")


class Producer:
    """Claim loop: wake on NOTIFY, on a freed slot, or every ``poll_interval``.

    A worker runs two producers, each owning half of the capacity, on two
    connections: while one waits for its claim, the jobs of the other run, so the
    database round trip overlaps with job execution (double buffering) without
    ever holding more jobs than the worker's concurrency.
    """

    def __init__(self, lease: Lease, stmts: Statements, state: WorkerState, executor: Executor,
                 completer: Completer, *, worker_id: str, queues: list[str],
                 entrypoints: list[str], poll_interval: float, share: int) -> None:
        self._lease = lease
        self.share = share
        self.owned = 0
        #: True while waiting for work (a notification or the poll interval)
        self.idle = False
        self._wake = anyio.Event()
        self._slot = anyio.Event()
        self._state = state
        self._executor = executor
        self._completer = completer
        self._poll = poll_interval
        self._stmt = stmts.claim(many_queues=len(queues) > 1)
        self._stmt_ack = stmts.claim(many_queues=len(queues) > 1, acknowledge="any")
        self._stmt_ok = stmts.claim(many_queues=len(queues) > 1,
                                    acknowledge="succeeded")
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
        state.producers.append(self)

    def poke(self) -> None:
        """New work may be ready."""
        self._wake.set()

    def released_all(self) -> None:
        """Wake the loop wherever it waits (shutdown)."""
        self._slot.set()
        self._wake.set()

    def released(self) -> None:
        """One of this producer's jobs ended."""
        self.owned -= 1
        self._slot.set()

    async def claim(self, limit: int) -> list[Any]:
        """One statement: record the outcomes waiting in the completer, claim up to
        ``limit`` jobs.  ``[]`` if the connection broke (outcomes are kept)."""
        self.claims += 1
        outcomes = self._completer.take()
        params = {**self._params, "limit": limit}
        stmt = self._stmt
        if outcomes:
            succeeded_only, arrays = self._completer.params(outcomes)
            params.update(arrays)
            stmt = self._stmt_ok if succeeded_only else self._stmt_ack
        try:
            rows: list[Any] = await self._lease.fetch(stmt, params, retry=False)
        except ConnectionLost:
            self._completer.restore(outcomes)
            return []
        except BaseException:
            self._completer.restore(outcomes)
            raise
        finally:
            self._state.claimed.set()
        if outcomes:
            self._completer.written_elsewhere(outcomes)
        return rows

    async def run(self, jobs: Any) -> None:
        """Claim until stopping; admitted jobs go to the runners through ``jobs``."""
        state = self._state
        while not state.stopping:
            free = self.share - self.owned
            if free <= 0:
                self._slot = anyio.Event()
                await self._slot.wait()
                # let the other jobs that end in this tick release their slots too
                await anyio.lowlevel.checkpoint()
                continue
            self._wake = anyio.Event()  # notifications from now on count
            try:
                rows = await self.claim(free)
            except Exception:
                log.exception("claim failed; retrying after the poll interval")
                rows = []
                with anyio.move_on_after(self._poll):
                    await self._wake.wait()
                continue
            state.stats["claimed"] += len(rows)
            admit = self._executor.admit
            for row in rows:
                entry = admit(row, self)
                if state.stopping:  # claimed while a shutdown began: hand it straight back
                    self._executor.return_unstarted(entry)
                else:
                    jobs.put(entry)
            if not rows and self._lease.failing:
                continue  # the connection broke (the lease backed off): poll at once
            if len(rows) == free:
                for sibling in state.producers:  # there may be more ready right now:
                    if sibling is not self:      # let the other claim loops join in
                        sibling.poke()
                await anyio.lowlevel.checkpoint()
                continue
            self.idle = True
            try:
                with anyio.move_on_after(self._poll):
                    await self._wake.wait()
            finally:
                self.idle = False
