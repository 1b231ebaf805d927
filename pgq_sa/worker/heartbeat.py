"""Heartbeat: one statement per interval refreshes the worker's row and every running
job it still owns, and picks up cancellation requests whose NOTIFY was lost.

Only jobs the worker knows it owns are refreshed (in flight, or finished with the
ack not yet written): a claim whose result was lost with its connection leaves a
``running`` row nobody runs, and since nobody refreshes it the rescue returns it to
the queue.  A job that the worker runs but the database no longer gives to it (it
was rescued while the worker could not reach the database) is stopped.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable, Iterable

import anyio

from ..driver import Lease
from ..queries import fetch
from ..queries.lifecycle import WorkerRow, delete_worker, heartbeat, register_worker
from ..sql import Statements
from .service import Passes
from .state import WorkerState

__all__ = ["Heartbeat", "heartbeat_interval"]

log = logging.getLogger("pgq_sa.heartbeat")

#: Beats per heartbeat timeout: a job is rescued only after this many missed beats.
BEATS_PER_TIMEOUT = 4


def heartbeat_interval(heartbeat_timeouts: list[float]) -> float:
    """A quarter of the shortest heartbeat timeout, between 0.25 s and 10 s.

    The rescue threshold is thus at least four missed beats, so a slow beat never
    makes a live job look dead."""
    shortest = min(heartbeat_timeouts) if heartbeat_timeouts else 30.0
    return max(0.25, min(10.0, shortest / BEATS_PER_TIMEOUT))


class Heartbeat:
    """Keeps this worker's row and its running jobs fresh."""

    def __init__(self, lease: Lease, stmts: Statements, state: WorkerState, *, worker_id: str,
                 queues: list[str], entrypoints: list[str], interval: float,
                 unacked: Callable[[], Iterable[int]] = tuple) -> None:
        self._lease = lease
        self._stmts = stmts
        self._state = state
        self._unacked = unacked
        self.interval = interval
        self._worker = WorkerRow(worker_id=worker_id, host=socket.gethostname(),
                                 pid=os.getpid(), queues=queues, entrypoints=entrypoints,
                                 concurrency=state.concurrency)
        #: Beats written (the ``pgq_sa_worker_heartbeats_total`` metric).
        self.beats = 0
        #: Test signal: a beat was tried (written or failed).
        self.passes = Passes()
        #: Unix time of the last successful beat (``None`` before the first).
        self.last_beat_at: float | None = None

    async def register(self) -> None:
        """Insert (or refresh) the worker's row."""
        await fetch(self._lease, register_worker(self._stmts, self._worker,
                                                 session_key=self._state.session_key))

    async def beat(self) -> None:
        """One heartbeat: refresh, then act on cancellations and lost jobs."""
        capacity = self._state.capacity
        running = capacity.ids()
        held = set(running).union(self._unacked())
        beats = await fetch(self._lease, heartbeat(self._stmts, self._worker, ids=sorted(held),
                                                   session_key=self._state.session_key))
        self.beats += 1
        self.last_beat_at = time.time()
        refreshed = set()
        for beat in beats:
            refreshed.add(beat.id)
            if beat.cancel_requested:
                entry = capacity.get(beat.id)
                if entry is not None:
                    entry.stop("cancel")
        for job_id, attempt in running.items():
            entry = capacity.get(job_id)
            if job_id in refreshed or entry is None or entry.ctx.attempt != attempt \
                    or entry.ctx._completed or entry.ctx._committing:
                # still ours, or it ended while the beat was in flight, or its own
                # transaction (ctx.transaction()) already recorded its success: the
                # handler may still be running code after it, the job is not lost
                continue
            log.warning("job %s is no longer held by this worker (rescued while the "
                        "database was unreachable?): stopping it", job_id)
            entry.stop("lost")

    async def run(self) -> None:
        """Beat every interval (sooner when asked, e.g. after a reconnect)."""
        while True:
            with anyio.move_on_after(self.interval):
                await self._state.beat_now.wait()
            self._state.beat_now = anyio.Event()
            try:
                await self.beat()
            except Exception:
                log.exception("heartbeat failed; trying again next interval")
            self.passes.tick()

    async def deregister(self) -> None:
        """Delete the worker's row (its jobs are all acknowledged by now)."""
        worker_id = self._worker.worker_id
        with anyio.CancelScope(shield=True), anyio.move_on_after(5):
            try:
                await fetch(self._lease, delete_worker(self._stmts, worker_id=worker_id),
                            retry=False)
            except Exception:
                log.warning("could not remove worker row %s", worker_id)
