"""Completer: writes job outcomes in batches, one statement per flush.

Most outcomes never need a statement of their own: the producer takes them
(:meth:`Completer.take`) and records them in the same statement that claims the
next jobs.  Whatever the producer has not taken within ``ack_delay`` (it is idle,
or stopping) the completer writes itself; outcomes that pile up meanwhile go out
together (group commit).  Writes are shielded from cancellation and retried across
reconnects: an outcome is never dropped while the process lives.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import anyio

from ..driver import Lease
from ..sql import Statements

__all__ = ["Completer", "Outcome"]

log = logging.getLogger("pgq_sa.completer")

MAX_BATCH = 5000


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
                 stats: bool = True, stats_shard: int = 0) -> None:
        self._stats_shard = stats_shard
        self._lease = lease
        self.ack_delay = ack_delay
        self._stmts = stmts
        #: With ``stats``, the same statement also counts outcomes into ``pgq_stats``.
        self._finish = stmts.stats.finish if stats else stmts.finish
        self._buffer: list[Outcome] = []
        self._has_items = anyio.Event()
        self._idle = anyio.Event()
        self._idle.set()
        self._closed = False
        self.flushes = 0
        self.written = 0

    def submit(self, outcome: Outcome) -> None:
        """Queue an outcome (never blocks)."""
        self._buffer.append(outcome)
        self._idle = anyio.Event() if self._idle.is_set() else self._idle
        self._has_items.set()

    @property
    def pending(self) -> int:
        return len(self._buffer)

    def take(self, limit: int = MAX_BATCH) -> list[Outcome]:
        """Remove up to ``limit`` outcomes for the caller to write (see :meth:`params`)."""
        batch, self._buffer = self._buffer[:limit], self._buffer[limit:]
        return batch

    def restore(self, batch: list[Outcome]) -> None:
        """Put back outcomes whose write failed; they are written again later."""
        if batch:
            self._buffer[:0] = batch
            self._has_items.set()

    def written_elsewhere(self, batch: list[Outcome]) -> None:
        """Account for outcomes another statement recorded."""
        self.written += len(batch)
        if not self._buffer:
            self._idle.set()

    @staticmethod
    def params(batch: list[Outcome]) -> dict[str, Any]:
        """The array parameters of ``Statements.finish`` for ``batch``."""
        return {
            "ids": [o.job_id for o in batch],
            "attempts": [o.attempt for o in batch],
            "statuses": [o.status for o in batch],
            "run_ats": [o.run_at for o in batch],
            "messages": [o.message for o in batch],
            "errors": [None if o.error is None else json.dumps(o.error, default=str)
                       for o in batch],
            "uncount": [o.uncount for o in batch],
        }

    async def run(self) -> None:
        """Flush loop; returns after :meth:`close` once everything is written."""
        while True:
            if not self._buffer:
                self._idle.set()
                if self._closed:
                    return
                await self._has_items.wait()
                self._has_items = anyio.Event()
                if not self._closed and self.ack_delay > 0:
                    await anyio.sleep(self.ack_delay)  # the producer may take them
                continue
            batch = self.take()
            with anyio.CancelScope(shield=True):
                await self._write(batch)

    async def _write(self, batch: list[Outcome]) -> None:
        params = {**self.params(batch), "now": None, "stats_shard": self._stats_shard}
        while True:
            try:
                await self._lease.fetch(self._finish, params)
                break
            except Exception:  # not a connection error: log, wait, try again
                log.exception("could not record %d job outcomes; retrying", len(batch))
                await anyio.sleep(1.0)
        self.flushes += 1
        self.written += len(batch)

    async def drain(self, timeout: float | None = None) -> bool:
        """Wait until every submitted outcome is written; False on timeout."""
        with anyio.move_on_after(timeout):
            while self._buffer or not self._idle.is_set():
                await self._idle.wait()
            return True
        return False

    def close(self) -> None:
        """Let :meth:`run` return once the buffer is empty."""
        self._closed = True
        self._has_items.set()
