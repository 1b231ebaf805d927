"""Completer: writes job outcomes in batches, one statement per flush.

Outcomes wait in an :class:`OutcomeBuffer` (the executor submits them).  Most never
need a statement of their own: a producer takes a batch (:meth:`OutcomeBuffer.take`)
and records it in the same statement that claims the next jobs.  While a claim is
coming (a producer is claiming or waiting for its jobs to end) the completer gives
it ``ack_delay`` to take them; when every producer waits for new work (or the
worker stops) it writes them itself at once.  Outcomes that pile up meanwhile go
out together (group commit).  Writes are shielded from cancellation and retried
across reconnects: an outcome is never dropped while the process lives.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace

import anyio

from ..driver import Lease
from ..outcome import Outcome
from ..queries import fetch
from ..queries.acknowledge import Acknowledgements, acknowledge
from ..sql import Statements

__all__ = ["Completer", "OutcomeBuffer", "TakenBatch"]

log = logging.getLogger("pgq_sa.completer")

MAX_BATCH = 5000
#: Tries of a statement that fails for a reason other than the connection.
STATEMENT_RETRIES = 3
RETRY_DELAY = 0.5


class TakenBatch:
    """Outcomes a producer took to record with its claim."""

    __slots__ = ("acknowledgements", "outcomes")

    def __init__(self, outcomes: list[Outcome]) -> None:
        self.outcomes = outcomes
        self.acknowledgements = Acknowledgements.of(outcomes)


class OutcomeBuffer:
    """Outcomes not yet written: submitted by the executor, written by the completer
    or taken by a producer (which reports back with :meth:`written` or
    :meth:`restore`).  Until then the worker still holds their jobs
    (:meth:`unacked`: the heartbeat keeps them alive)."""

    def __init__(self) -> None:
        self._waiting: list[Outcome] = []
        self._writing: list[Outcome] = []
        self._taken: list[TakenBatch] = []
        #: Set when outcomes arrive (or come back).
        self.arrived = anyio.Event()
        #: Set when nothing is left unwritten.
        self.empty = anyio.Event()
        self.empty.set()
        #: No more outcomes will come (the worker stops).
        self.closed = False
        #: Forced stop: nothing more is written or taken.
        self.aborted = False

    def submit(self, outcome: Outcome) -> None:
        """Queue an outcome (never blocks)."""
        self._waiting.append(outcome)
        if self.empty.is_set():
            self.empty = anyio.Event()
        self.arrived.set()

    @property
    def pending(self) -> int:
        """Outcomes not yet written (waiting, being written or taken)."""
        return (len(self._waiting) + len(self._writing)
                + sum(len(batch.outcomes) for batch in self._taken))

    @property
    def waiting(self) -> bool:
        return bool(self._waiting)

    def unacked(self) -> list[int]:
        """Ids of jobs whose outcome is not written yet: the worker still holds them."""
        ids = [o.job_id for o in self._writing] + [o.job_id for o in self._waiting]
        for batch in self._taken:
            ids.extend(o.job_id for o in batch.outcomes)
        return ids

    def take(self, limit: int = MAX_BATCH) -> TakenBatch | None:
        """Up to ``limit`` waiting outcomes for a producer to record with its claim."""
        if self.aborted or not self._waiting:
            return None
        batch = TakenBatch(self._waiting[:limit])
        self._waiting = self._waiting[limit:]
        self._taken.append(batch)
        return batch

    def restore(self, batch: TakenBatch) -> None:
        """Put back a taken batch whose write failed; it is written again later."""
        self._untake(batch)
        self._waiting[:0] = batch.outcomes
        self.arrived.set()

    def written(self, batch: TakenBatch) -> None:
        """A taken batch was recorded by the producer's statement."""
        self._untake(batch)
        self._settle()

    def _untake(self, batch: TakenBatch) -> None:
        for i, taken in enumerate(self._taken):
            if taken is batch:
                del self._taken[i]
                return

    def _settle(self) -> None:
        if not self._waiting and not self._writing and not self._taken:
            self.empty.set()

    # -- the completer's side ----------------------------------------------------------
    def start_writing(self) -> list[Outcome]:
        batch, self._waiting = self._waiting[:MAX_BATCH], self._waiting[MAX_BATCH:]
        self._writing = batch
        return batch

    def done_writing(self) -> None:
        self._writing = []

    @property
    def taken(self) -> bool:
        return bool(self._taken)


class Completer:
    """Writes what the :class:`OutcomeBuffer` holds with the acknowledgement query."""

    def __init__(self, lease: Lease, stmts: Statements, buffer: OutcomeBuffer | None = None,
                 *, ack_delay: float = 0.005,
                 claim_coming: Callable[[], bool] | None = None,
                 written: Callable[[], None] | None = None) -> None:
        self._lease = lease
        self._stmts = stmts
        self.buffer = buffer if buffer is not None else OutcomeBuffer()
        self.ack_delay = ack_delay
        #: True while a producer will send a claim soon (it is claiming, or waiting
        #: for its jobs to end): only then is it worth waiting for it to carry the
        #: outcomes.  When every producer waits for new work, write at once.
        self._claim_coming = claim_coming or (lambda: True)
        #: Called after each batch this completer wrote (the worker wakes its claim
        #: loops: a freed concurrency slot may let a queued job start).
        self._written = written
        self._aborted = False
        self._write_scope = anyio.CancelScope()

    @property
    def pending(self) -> int:
        return self.buffer.pending

    async def run(self) -> None:
        """Flush loop; returns after :meth:`close` once everything is written."""
        buffer = self.buffer
        while not self._aborted:
            if not buffer.waiting:
                if not buffer.taken:
                    buffer.empty.set()
                if buffer.closed and not buffer.taken:
                    return
                await buffer.arrived.wait()
                buffer.arrived = anyio.Event()
                if not buffer.closed and self.ack_delay > 0 and self._claim_coming():
                    await anyio.sleep(self.ack_delay)  # the producer may take them
                continue
            batch = buffer.start_writing()
            self._write_scope = anyio.CancelScope()
            try:
                # Shielded: a cancelled worker still records what its jobs did.  Only
                # abort() (a forced stop) interrupts a write.
                with anyio.CancelScope(shield=True), self._write_scope:
                    await self._write(batch)
            finally:
                buffer.done_writing()

    async def _write(self, batch: list[Outcome]) -> None:
        """Write ``batch``; connection errors are retried by the lease for as long as
        it takes.  A statement error is retried a few times, then the batch is split
        so one unwritable outcome cannot block the others; an outcome that still
        fails is written without its error details, and as a last resort dropped
        (the job then looks abandoned and the rescue returns it to the queue)."""
        query = acknowledge(self._stmts, Acknowledgements.of(batch))
        for attempt in range(1, STATEMENT_RETRIES + 1):
            try:
                await fetch(self._lease, query)
                if self._written is not None:
                    self._written()
            except Exception:
                log.exception("could not record %d job outcome(s) (try %d of %d)",
                              len(batch), attempt, STATEMENT_RETRIES)
                if attempt < STATEMENT_RETRIES:
                    await anyio.sleep(RETRY_DELAY)
                continue
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
                  outcome.job_id, outcome.kind.label)

    async def drain(self, timeout: float | None = None) -> bool:
        """Wait until every submitted outcome is written; False on timeout."""
        buffer = self.buffer
        with anyio.move_on_after(timeout):
            while buffer.pending and not self._aborted:
                buffer.arrived.set()  # taken batches restored meanwhile are flushed
                with anyio.move_on_after(0.05):
                    await buffer.empty.wait()
            return buffer.pending == 0
        return False

    def abort(self) -> None:
        """Stop at once, even in the middle of a write (forced stop); outcomes not
        written are lost and their jobs are rescued once their heartbeat is stale."""
        self.buffer.closed = self.buffer.aborted = self._aborted = True
        self._write_scope.cancel()
        self.buffer.arrived.set()
        self.buffer.empty.set()

    def close(self) -> None:
        """Let :meth:`run` return once the buffer is empty."""
        self.buffer.closed = True
        self.buffer.arrived.set()
