"""Producer: claims ready jobs, never more than its share of the capacity, and starts
them."""

from __future__ import annotations

import logging

import anyio
import anyio.lowlevel

from ..driver import ConnectionLost, Lease
from ..queries import fetch
from ..queries.claim import ClaimedJob, claim, claim_flow
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

    Each round claims plain jobs (:meth:`claim`) and, when that leaves free
    capacity, flow-controlled jobs (limits, fairness keys: :meth:`claim_flow`,
    serialized cluster-wide), or the other way round: the kind that returned jobs
    last goes first, the two take turns while both do, and each goes first at least
    once per poll interval (:meth:`claim_both`).  Either statement also records the
    outcomes waiting in the buffer.  Jobs over a limit stay queued: the
    loop waits for a notification, a freed slot (the completer pokes after writing
    outcomes when this worker runs limited tasks) or the poll interval.

    A worker runs two producers, each owning a :class:`~.state.Share` (half of the
    capacity), on two connections: while one waits for its claim, the jobs of the
    other run, so the database round trip overlaps with job execution (double
    buffering) without ever holding more jobs than the worker's concurrency.
    """

    def __init__(self, lease: Lease, stmts: Statements, state: WorkerState, executor: Executor,
                 outcomes: OutcomeBuffer, *, share: Share, worker_id: str,
                 queues: list[str], entrypoints: list[str], poll_interval: float,
                 limited: bool = True) -> None:
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
        # which kind of claim (plain, flow-controlled) returned jobs last, and when
        # each last ran (see claim_both)
        self._flow_rows = False
        self._plain_rows = True
        self._flowed_first = False
        self._flow_more = False
        #: The last claim took the flow lock (see run).
        self._locked_last = False
        self._flow_at = self._plain_at = self._limited_at = float("-inf")
        #: The worker runs tasks with limits: every flow claim takes the flow lock.
        self._limited = limited
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
        self._plain_rows = True  # it may be plain: worth a plain claim first
        self._wake.set()

    def wake(self) -> None:
        """Claim again now (more of what the last claims found may be ready)."""
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
        self._plain_at = anyio.current_time()
        self._plain_rows = bool(jobs)
        return jobs

    async def claim_flow(self, limit: int) -> list[ClaimedJob]:
        """One transaction: take the flow lock, record the outcomes waiting in the
        buffer and claim up to ``limit`` flow-controlled jobs within their limits.
        ``[]`` if the connection broke (outcomes are kept)."""
        taken = self._outcomes.take()
        now = self._flow_at = anyio.current_time()
        # jobs with limits need the flow lock: every claim when this worker runs
        # limited tasks, else once per poll interval (jobs enqueued with limits by
        # other code); jobs with a fairness key only are claimed without it
        limited = self._limited or now - self._limited_at >= self._poll
        if limited:
            self._limited_at = now
            self._locked_last = True
        flow = claim_flow(self._stmts, worker_id=self._worker_id, queues=self._queues,
                          entrypoints=self._entrypoints, limit=limit,
                          acknowledgements=None if taken is None else taken.acknowledgements,
                          limited=limited)
        try:
            if flow.lock is None:
                rows = await self._lease.fetch(flow.query.statement, flow.query.params,
                                               retry=False)
            else:
                rows = await self._lease.fetch_locked(flow.lock, flow.query.statement,
                                                      flow.query.params)
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
        jobs = [flow.query.row(row) for row in rows]
        self._flow_rows = bool(jobs)
        # each key offers only its share of a claim: a short one may leave more
        self._flow_more = 0 < len(jobs) < limit
        return jobs

    async def claim_both(self, free: int) -> list[ClaimedJob]:
        """Plain and flow-controlled jobs, up to ``free`` in all, the kind that
        last returned jobs first (taking turns while both do).  Each kind goes
        first at least once per poll interval, so neither waits behind the
        other's backlog for longer."""
        now = anyio.current_time()
        if now - self._flow_at >= self._poll:
            flow_first = True
        elif now - self._plain_at >= self._poll:
            flow_first = False
        elif self._flow_rows and self._plain_rows:
            flow_first = not self._flowed_first
        else:
            flow_first = self._flow_rows
        self._flowed_first = flow_first
        self._flow_more = False
        self._locked_last = False
        if flow_first:
            jobs = await self.claim_flow(free)
            if len(jobs) < free and not self._lease.failing:
                jobs = jobs + await self.claim(free - len(jobs))
            return jobs
        jobs = await self.claim(free)
        if len(jobs) < free and not self._lease.failing:
            jobs = jobs + await self.claim_flow(free - len(jobs))
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
                jobs = await self.claim_both(free)
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
            if len(jobs) == free or self._flow_more:
                # there may be more ready right now: let the other claim loops join
                # in; after a claim under the flow lock only those waiting for work
                # (one that is claiming would claim again at once, and wait for the
                # lock this loop takes next: the two would take turns on it)
                for sibling in state.claimers:
                    if sibling is not self and (sibling.idle or not self._locked_last):
                        sibling.wake()
                await anyio.lowlevel.checkpoint()
                continue
            self._idle = True
            try:
                with anyio.move_on_after(self._poll):
                    await self._wake.wait()
            finally:
                self._idle = False
