"""Progress writer: the latest progress of running jobs, throttled and batched.

A handler's ``ctx.progress(...)`` (any thread) only records the value and marks
the job; this loop writes the marked jobs' latest values in one statement at most
every ``interval`` seconds, fenced on the attempt (see
:func:`pgq_sa.sql.results.report_progress`).  Nothing is sent while no job reports.
"""

from __future__ import annotations

import logging
import threading

import anyio

from ..context import JobContext
from ..driver import Lease
from ..queries import fetch
from ..queries.results import Progress, report_progress
from ..sql import Statements

__all__ = ["ProgressWriter"]

log = logging.getLogger("pgq_sa.progress")


class ProgressWriter:
    """Collects reported progress and writes it every ``interval`` seconds."""

    def __init__(self, lease: Lease, stmts: Statements, *, interval: float = 0.5) -> None:
        self._lease = lease
        self._stmts = stmts
        self.interval = interval
        self._lock = threading.Lock()
        self._marked: dict[int, JobContext] = {}

    def report(self, ctx: JobContext) -> None:
        """Mark ``ctx``'s job (called by ``ctx.progress``, from any thread)."""
        with self._lock:
            self._marked[ctx.id] = ctx

    def take(self) -> list[Progress]:
        """The latest value of every marked job; unmarks them."""
        with self._lock:
            marked, self._marked = self._marked, {}
        out = []
        for ctx in marked.values():
            if ctx._progress is not None:
                fraction, message = ctx._progress
                out.append(Progress(ctx.id, ctx.attempt, fraction, message))
        return out

    async def flush(self) -> None:
        """Write what is marked now."""
        reports = self.take()
        if reports:
            await fetch(self._lease, report_progress(self._stmts, reports))

    async def run(self) -> None:
        """Write every interval, while the worker runs."""
        while True:
            await anyio.sleep(self.interval)
            try:
                await self.flush()
            except Exception:
                log.exception("could not write job progress; the next report will")
