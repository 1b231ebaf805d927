"""Producer: claims ready jobs, never more than its share of the capacity, and starts
them."""

from __future__ import annotations

import logging

import anyio
import anyio.lowlevel

from ..driver import ConnectionLost, Lease
from ..queries import fetch
from ..queries.claim import ClaimedJob, claim
from ..sql import Statements
from .completer import OutcomeBuffer
from .dispatch import Dispatcher
from .executor import Executor
from .service import Passes
from .state import Running, Share, WorkerState

__all__ = ["Producer"]

log = logging.getLogger("pgq_sa.producer")


class Producer:
    """Claim loop: wake on NOTIFY, on a freed slot, or every ``poll_interval``.

    A worker runs two producers, each owning a :class:`~.state.Share` (half of the
    capacity), on two connections: while one waits for its claim, the jobs of the
    other run, so the database round trip overlaps with job execution (double
    buffering) without ever holding more jobs than the worker's concurrency.
    """

    def __init__(self, lease: Lease, stmts: Statements, state: WorkerState, executor: Executor,
                 outcomes: OutcomeBuffer, *, share: Share, worker_id: str,
                 queues: list[str], entrypoints: list[str], poll_interval: float) -> None:
        self._lease = lease
        self._stmts = stmts
        self._state = state
        self._executor = executor
        self._outcomes = outcomes
        self._share = share
        self._worker_id = worker_id
        self._queues = queues
        self._entrypoints = entrypoints
        self._poll = poll_interval
        self._idle = False
        self._wake = anyio.Event()
        #: Test signal: a claim statement returned (or failed).
        self.passes = Passes()
        state.claimers.append(self)

    @property
    def share(self) -> Share:
        """The part of the capacity this loop claims for."""
        return self._share

    @property
    def idle(self) -> bool:
        """True while waiting for work (a notification or the poll interval)."""
        return self._idle

    def poke(self) -> None:
        """New work may be ready."""
        self._wake.set()

    def released_all(self) -> None:
        """Wake the loop wherever it waits (shutdown)."""
        self._share.freed.set()
        self._wake.set()

    async def claim(self, limit: int) -> list[ClaimedJob]:
        """One statement: record the outcomes waiting in the buffer, claim up to
        ``limit`` jobs.  ``[]`` if the connection broke (outcomes are kept)."""
        taken = self._outcomes.take()
        query = claim(self._stmts, worker_id=self._worker_id, queues=self._queues,
                      entrypoints=self._entrypoints, limit=limit,
                      acknowledgements=None if taken is None else taken.acknowledgements)
        try:
            jobs = await fetch(self._lease, query, retry=False)
        except ConnectionLost:
            if taken is not None:
                self._outcomes.restore(taken)
            return []
        except BaseException:
            if taken is not None:
                self._outcomes.restore(taken)
            raise
        finally:
            self._state.claimed.set()
            self.passes.tick()
        if taken is not None:
            self._outcomes.written(taken)
        return jobs

    async def run(self, runners: Dispatcher[Running]) -> None:
        """Claim until stopping; admitted jobs go to the runners."""
        state, share = self._state, self._share
        while not state.stopping:
            free = share.free
            if free <= 0:
                await share.wait_event().wait()
                # let the other jobs that end in this tick release their slots too
                await anyio.lowlevel.checkpoint()
                continue
            self._wake = anyio.Event()  # notifications from now on count
            try:
                jobs = await self.claim(free)
            except Exception:
                log.exception("claim failed; retrying after the poll interval")
                with anyio.move_on_after(self._poll):
                    await self._wake.wait()
                continue
            state.counters["claimed"] += len(jobs)
            admit = self._executor.admit
            for job in jobs:
                entry = admit(job, share)
                if state.stopping:  # claimed while a shutdown began: hand it straight back
                    self._executor.return_unstarted(entry)
                else:
                    runners.put(entry)
            if not jobs and self._lease.failing:
                continue  # the connection broke (the lease backed off): poll at once
            if len(jobs) == free:
                for sibling in state.claimers:  # there may be more ready right now:
                    if sibling is not self:     # let the other claim loops join in
                        sibling.poke()
                await anyio.lowlevel.checkpoint()
                continue
            self._idle = True
            try:
                with anyio.move_on_after(self._poll):
                    await self._wake.wait()
            finally:
                self._idle = False
