"""Completer: writes job outcomes in batches, one statement per flush.

Outcomes queue up while a flush is in flight and go out together in the next one
(group commit): no timer, no added latency when idle, one round trip for many jobs
under load.  Writes are shielded from cancellation and retried across reconnects:
an outcome is never dropped while the process lives.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import anyio

from ..driver import Lease
from ..sql import Statements

__all__ = ["Completer", "Outcome"]

log = logging.getLogger("pgq_sa.completer")

MAX_BATCH = 5000
#: Tries of a statement that fails for a reason other than the connection.
STATEMENT_RETRIES = 3
RETRY_DELAY = 0.5


@dataclass(frozen=True)
class Outcome:
    """The end of one attempt."""

    job_id: int
    attempt: int
    status: str  # succeeded | failed | cancelled | queued (retry, snooze, returned)
    run_at: datetime | None = None
    message: str | None = None
    error: dict[str, Any] | None = None
    #: True when the attempt should not count (snooze, shutdown).
    uncount: bool = False


class Completer:
    """Buffers :class:`Outcome` objects and flushes them with ``Statements.finish``."""

    def __init__(self, lease: Lease, stmts: Statements) -> None:
        self._lease = lease
        self._stmts = stmts
        self._buffer: list[Outcome] = []
        self._inflight: list[Outcome] = []
        self._has_items = anyio.Event()
        self._idle = anyio.Event()
        self._idle.set()
        self._closed = False
        self._aborted = False
        self._write_scope = anyio.CancelScope()
        self.flushes = 0
        self.written = 0

    def submit(self, outcome: Outcome) -> None:
        """Queue an outcome (never blocks)."""
        self._buffer.append(outcome)
        self._idle = anyio.Event() if self._idle.is_set() else self._idle
        self._has_items.set()

    @property
    def pending(self) -> int:
        """Outcomes not yet written (queued or being written)."""
        return len(self._buffer) + len(self._inflight)

    def unacked(self) -> list[int]:
        """Ids of jobs whose outcome is not written yet: the worker still owns them."""
        return [o.job_id for o in self._inflight] + [o.job_id for o in self._buffer]

    async def run(self) -> None:
        """Flush loop; returns after :meth:`close` once everything is written."""
        while not self._aborted:
            if not self._buffer:
                self._idle.set()
                if self._closed:
                    return
                await self._has_items.wait()
                self._has_items = anyio.Event()
                continue
            batch, self._buffer = self._buffer[:MAX_BATCH], self._buffer[MAX_BATCH:]
            self._inflight = batch
            self._write_scope = anyio.CancelScope()
            try:
                # Shielded: a cancelled worker still records what its jobs did.  Only
                # abort() (a forced stop) interrupts a write.
                with anyio.CancelScope(shield=True), self._write_scope:
                    await self._write(batch)
            finally:
                self._inflight = []
            if self._aborted:
                return

    @staticmethod
    def _params(batch: list[Outcome]) -> dict[str, Any]:
        return {
            "ids": [o.job_id for o in batch],
            "attempts": [o.attempt for o in batch],
            "statuses": [o.status for o in batch],
            "run_ats": [o.run_at for o in batch],
            "messages": [o.message for o in batch],
            "errors": [None if o.error is None else json.dumps(o.error, default=str)
                       for o in batch],
            "uncount": [o.uncount for o in batch],
            "now": None,
        }

    async def _write(self, batch: list[Outcome]) -> None:
        """Write ``batch``; connection errors are retried by the lease for as long as
        it takes.  A statement error is retried a few times, then the batch is split
        so one unwritable outcome cannot block the others; an outcome that still
        fails is written without its error details, and as a last resort dropped
        (the job then looks abandoned and the rescue returns it to the queue)."""
        for attempt in range(1, STATEMENT_RETRIES + 1):
            try:
                await self._lease.fetch(self._stmts.finish, self._params(batch))
            except Exception:
                log.exception("could not record %d job outcome(s) (try %d of %d)",
                              len(batch), attempt, STATEMENT_RETRIES)
                if attempt < STATEMENT_RETRIES:
                    await anyio.sleep(RETRY_DELAY)
                continue
            self.flushes += 1
            self.written += len(batch)
            return
        if len(batch) > 1:
            for outcome in batch:
                await self._write([outcome])
            return
        outcome = batch[0]
        if outcome.error is not None or outcome.message is not None:
            bare = replace(outcome, error=None,
                           message="the outcome's error details could not be stored")
            log.error("job %s: storing its outcome without error details", outcome.job_id)
            await self._write([bare])
            return
        log.error("job %s: dropping its outcome (%s); the rescue will requeue it",
                  outcome.job_id, outcome.status)

    async def drain(self, timeout: float | None = None) -> bool:
        """Wait until every submitted outcome is written; False on timeout."""
        with anyio.move_on_after(timeout):
            while (self._buffer or not self._idle.is_set()) and not self._aborted:
                await self._idle.wait()
            return self.pending == 0
        return False

    def abort(self) -> None:
        """Stop at once, even in the middle of a write (forced stop); outcomes not
        written are lost and their jobs are rescued once their heartbeat is stale."""
        self._closed = self._aborted = True
        self._write_scope.cancel()
        self._has_items.set()
        self._idle.set()

    def close(self) -> None:
        """Let :meth:`run` return once the buffer is empty."""
        self._closed = True
        self._has_items.set()
