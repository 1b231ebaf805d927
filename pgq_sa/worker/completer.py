"""Completer: writes job outcomes in batches, one statement per flush.

Most outcomes never need a statement of their own: the producer takes them
(:meth:`Completer.take`) and records them in the same statement that claims the
next jobs.  While a claim is coming (a producer is claiming or waiting for its
jobs to end) the completer gives it ``ack_delay`` to take them; when every
producer waits for new work (or the worker stops) it writes them itself at once.
Outcomes that pile up meanwhile go out together (group commit).  Writes are
shielded from cancellation and retried across reconnects: an outcome is never
dropped while the process lives.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import anyio

from ..driver import Lease
from ..schema import SUCCEEDED
from ..sql import Statements

__all__ = ["Completer", "Outcome"]

log = logging.getLogger("pgq_sa.completer")

MAX_BATCH = 5000
#: Tries of a statement that fails for a reason other than the connection.
STATEMENT_RETRIES = 3
RETRY_DELAY = 0.5


@dataclass(slots=True)
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

    def __init__(self, lease: Lease, stmts: Statements, *, ack_delay: float = 0.005,
                 claim_coming: Callable[[], bool] | None = None) -> None:
        self._lease = lease
        self._stmts = stmts
        self.ack_delay = ack_delay
        #: True while a producer will send a claim soon (it is claiming, or waiting
        #: for its jobs to end): only then is it worth waiting for it to carry the
        #: outcomes.  When every producer waits for new work, write at once.
        self._claim_coming = claim_coming or (lambda: True)
        self._buffer: list[Outcome] = []
        self._inflight: list[Outcome] = []
        #: batches the producers took and are writing with their claims
        self._taken: list[list[Outcome]] = []
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
        return len(self._buffer) + len(self._inflight) + sum(len(b) for b in self._taken)

    def unacked(self) -> list[int]:
        """Ids of jobs whose outcome is not written yet: the worker still owns them."""
        ids = [o.job_id for o in self._inflight] + [o.job_id for o in self._buffer]
        for batch in self._taken:
            ids.extend(o.job_id for o in batch)
        return ids

    def take(self, limit: int = MAX_BATCH) -> list[Outcome]:
        """Remove up to ``limit`` outcomes for the caller to write (see :meth:`params`);
        the caller reports back with :meth:`written_elsewhere` or :meth:`restore`."""
        if self._aborted or not self._buffer:
            return []
        batch, self._buffer = self._buffer[:limit], self._buffer[limit:]
        self._taken.append(batch)
        return batch

    def _untake(self, batch: list[Outcome]) -> None:
        for i, taken in enumerate(self._taken):
            if taken is batch:
                del self._taken[i]
                return

    def restore(self, batch: list[Outcome]) -> None:
        """Put back taken outcomes whose write failed; they are written again later."""
        if batch:
            self._untake(batch)
            self._buffer[:0] = batch
            self._has_items.set()

    def written_elsewhere(self, batch: list[Outcome]) -> None:
        """Account for taken outcomes another statement recorded."""
        self._untake(batch)
        self.written += len(batch)
        if not self._buffer and not self._inflight and not self._taken:
            self._idle.set()

    @staticmethod
    def params(batch: list[Outcome]) -> tuple[bool, dict[str, Any]]:
        """``(succeeded_only, parameters)`` recording ``batch``: the array parameters
        of ``Statements.finish_succeeded`` when every outcome is a success (the
        common case), else those of ``Statements.finish``."""
        ids = [o.job_id for o in batch]
        attempts = [o.attempt for o in batch]
        if all(o.status == SUCCEEDED for o in batch):
            return True, {"ids": ids, "attempts": attempts}
        return False, {
            "ids": ids,
            "attempts": attempts,
            "statuses": [o.status for o in batch],
            "run_ats": [o.run_at for o in batch],
            "messages": [o.message for o in batch],
            "errors": [None if o.error is None else json.dumps(o.error, default=str)
                       for o in batch],
            "uncount": [o.uncount for o in batch],
        }

    async def run(self) -> None:
        """Flush loop; returns after :meth:`close` once everything is written."""
        while not self._aborted:
            if not self._buffer:
                if not self._taken:
                    self._idle.set()
                if self._closed and not self._taken:
                    return
                await self._has_items.wait()
                self._has_items = anyio.Event()
                if not self._closed and self.ack_delay > 0 and self._claim_coming():
                    await anyio.sleep(self.ack_delay)  # the producer may take them
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

    async def _write(self, batch: list[Outcome]) -> None:
        """Write ``batch``; connection errors are retried by the lease for as long as
        it takes.  A statement error is retried a few times, then the batch is split
        so one unwritable outcome cannot block the others; an outcome that still
        fails is written without its error details, and as a last resort dropped
        (the job then looks abandoned and the rescue returns it to the queue)."""
        succeeded_only, params = self.params(batch)
        params["now"] = None
        stmt = self._stmts.finish_succeeded if succeeded_only else self._stmts.finish
        for attempt in range(1, STATEMENT_RETRIES + 1):
            try:
                await self._lease.fetch(stmt, params)
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
            while self.pending and not self._aborted:
                self._has_items.set()  # taken batches restored meanwhile are flushed
                with anyio.move_on_after(0.05):
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
