"""Rescuer: returns jobs whose worker died or stopped heartbeating to the queue.

Every live worker runs it, at a jittered interval; no leader is needed because the
rescue statement locks candidate rows with SKIP LOCKED and rechecks staleness under
the lock, so a job is rescued once, and never while its worker still heartbeats.

About every second (:data:`SESSION_PROBE_INTERVAL`) it also asks PostgreSQL
whether a worker's database session is gone (the session-level advisory lock the
worker holds is not in ``pg_locks`` any more: the process was killed, its
container stopped); when one is, the rescue runs at once, so a crashed worker's
jobs are back within about a second or two instead of after the heartbeat timeout.
The heartbeat timeout stays for what the database cannot see (a host cut off the
network keeps its sessions open until TCP gives up).
"""

from __future__ import annotations

import logging
import random
import time

import anyio

from ..driver import Lease
from ..job import CANCELLED, DEFAULT_HEARTBEAT_TIMEOUT, FAILED, QUEUED
from ..outcome import Kind
from ..queries import fetch
from ..queries.lifecycle import RescuedJob, RescuePolicy, lost_sessions, reap_workers, rescue
from ..registry import Registry
from ..sql import Statements
from .service import Passes
from .state import WorkerState

__all__ = ["Rescuer"]

log = logging.getLogger("pgq_sa.rescuer")

WORKER_ROW_TTL = 3600.0  # forget workers silent for an hour
#: Rescued jobs logged one by one per pass (the summary line counts them all).
LOGGED_PER_PASS = 100
#: Seconds between probes for workers whose database session is gone (jittered).
SESSION_PROBE_INTERVAL = 1.0


class WorkerLost(Exception):
    """The worker running a job stopped heartbeating or vanished."""


class Rescuer:
    """Runs the rescue statement every ``interval`` seconds (jittered)."""

    def __init__(self, lease: Lease, stmts: Statements, state: WorkerState, registry: Registry,
                 *, interval: float, probe_interval: float = SESSION_PROBE_INTERVAL) -> None:
        self._lease = lease
        self._stmts = stmts
        self._state = state
        self.interval = interval
        self.probe_interval = min(probe_interval, interval)
        tasks = list(registry)
        self._policy = RescuePolicy(
            entrypoints=[t.name for t in tasks],
            timeouts=[t.heartbeat_timeout for t in tasks],
            max_attempts=[t.max_attempts for t in tasks],
            default_timeout=DEFAULT_HEARTBEAT_TIMEOUT,
        )
        self.rescued = 0
        #: Test signal: a rescue pass is done.
        self.passes = Passes()
        #: Test signal: a probe for lost sessions is done.
        self.probes = Passes()

    async def rescue_once(self) -> list[RescuedJob]:
        """One rescue pass (and forget long-silent worker rows); returns the jobs
        rescued."""
        rescued = await fetch(self._lease, rescue(self._stmts, self._policy, limit=1000))
        if rescued:
            self.rescued += len(rescued)
            self._state.counters[Kind.RESCUED.label] += len(rescued)
            for job in rescued[:LOGGED_PER_PASS]:
                self._log(job)
            if len(rescued) > LOGGED_PER_PASS:
                log.warning("rescued %d more job(s) from dead workers",
                            len(rescued) - LOGGED_PER_PASS)
            self._state.poke()
        await fetch(self._lease, reap_workers(self._stmts, older_than=WORKER_ROW_TTL))
        return rescued

    @staticmethod
    def _log(job: RescuedJob) -> None:
        """One record per rescued job: WARNING when it goes back to the queue, ERROR
        when that was its last attempt (it fails for good)."""
        job_id, status, queue, entrypoint, attempts, last_error = job
        level = logging.ERROR if status == FAILED else logging.WARNING
        if not log.isEnabledFor(level):
            return
        what = {FAILED: "failed: it was the last attempt", QUEUED: "queued again",
                CANCELLED: "cancelled, as asked"}.get(status, status)
        log.log(level, "job %s %s attempt %s rescued (%s): %s", job_id, entrypoint, attempts,
                what, last_error, exc_info=(WorkerLost, WorkerLost(last_error), None),
                extra={"job_id": job_id, "entrypoint": entrypoint, "queue": queue,
                       "attempt": attempts, "status": status, "error_type": "WorkerLost",
                       "error": last_error})

    async def sessions_lost(self) -> list[str]:
        """Workers whose database session is gone while they hold running jobs."""
        return await fetch(self._lease, lost_sessions(self._stmts))

    async def run(self) -> None:
        """Rescue at start (jobs of a predecessor that deregistered or died long ago),
        then every interval, jittered so that workers do not run it in lockstep; in
        between, probe for lost sessions about every second and rescue at once when
        one is found.  The first pass waits for the first claim to return (at most a
        second): its statement takes a while to compile and should not delay the
        first jobs."""
        with anyio.move_on_after(1):
            await self._state.claimed.wait()
        next_pass = 0.0
        while True:
            due = time.monotonic() >= next_pass
            if not due:
                try:
                    lost = await self.sessions_lost()
                except Exception:
                    log.exception("probe for lost worker sessions failed; trying again")
                    lost = []
                self.probes.tick()
                if lost:
                    log.info("the database session of worker(s) %s is gone: rescuing "
                             "their jobs now", ", ".join(sorted(lost)))
                    due = True
            if due:
                try:
                    await self.rescue_once()
                except Exception:
                    log.exception("rescue failed; trying again next interval")
                self.passes.tick()
                next_pass = time.monotonic() + self.interval * random.uniform(0.5, 1.5)
            await anyio.sleep(self.probe_interval * random.uniform(0.5, 1.5))
