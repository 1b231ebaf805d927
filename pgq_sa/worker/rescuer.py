"""Rescuer: returns jobs whose worker stopped heartbeating to the queue.

Every live worker runs it, at a jittered interval; no leader is needed because the
rescue statement locks candidate rows with SKIP LOCKED and rechecks staleness under
the lock, so a job is rescued once, and never while its worker still heartbeats.
"""

from __future__ import annotations

import logging
import random
from typing import Any

import anyio

from ..driver import Lease
from ..registry import DEFAULT_HEARTBEAT_TIMEOUT, Registry
from ..schema import CANCELLED, FAILED, QUEUED
from ..sql import Statements
from .state import WorkerState

__all__ = ["Rescuer"]

log = logging.getLogger("pgq_sa.rescuer")

WORKER_ROW_TTL = 3600.0  # forget workers silent for an hour
#: Rescued jobs logged one by one per pass (the summary line counts them all).
LOGGED_PER_PASS = 100


class WorkerLost(Exception):
    """The worker running a job stopped heartbeating or vanished."""


class Rescuer:
    """Runs the rescue statement every ``interval`` seconds (jittered)."""

    def __init__(self, lease: Lease, stmts: Statements, state: WorkerState, registry: Registry,
                 *, interval: float) -> None:
        self._lease = lease
        self._stmts = stmts
        self._state = state
        self.interval = interval
        tasks = list(registry)
        self._params: dict[str, Any] = {
            "entrypoints": [t.name for t in tasks],
            "timeouts": [t.heartbeat_timeout for t in tasks],
            "max_attempts": [t.max_attempts for t in tasks],
            "default_timeout": DEFAULT_HEARTBEAT_TIMEOUT,
            "limit": 1000,
            "now": None,
        }
        self.rescued = 0

    async def rescue_once(self) -> list[Any]:
        """One rescue pass (and forget long-silent worker rows); returns the rescued
        ``(id, new status)`` rows."""
        rows = await self._lease.fetch(self._stmts.rescue, self._params)
        if rows:
            self.rescued += len(rows)
            self._state.stats["rescued"] += len(rows)
            for row in rows[:LOGGED_PER_PASS]:
                self._log(row)
            if len(rows) > LOGGED_PER_PASS:
                log.warning("rescued %d more job(s) from dead workers",
                            len(rows) - LOGGED_PER_PASS)
            self._state.poke()
        await self._lease.fetch(self._stmts.reap_workers,
                                {"older_than": WORKER_ROW_TTL, "now": None})
        return rows

    @staticmethod
    def _log(row: Any) -> None:
        """One record per rescued job: WARNING when it goes back to the queue, ERROR
        when that was its last attempt (it fails for good)."""
        job_id, status, queue, entrypoint, attempts, last_error = row[:6]
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

    async def run(self) -> None:
        """Rescue at start (jobs of a predecessor that deregistered or died long ago),
        then every interval, jittered so that workers do not run it in lockstep.
        The first pass waits for the first claim to return (at most a second): its
        statement takes a while to compile and should not delay the first jobs."""
        with anyio.move_on_after(1):
            await self._state.claimed.wait()
        while True:
            try:
                await self.rescue_once()
            except Exception:
                log.exception("rescue failed; trying again next interval")
            await anyio.sleep(self.interval * random.uniform(0.5, 1.5))
