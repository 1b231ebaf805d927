"""State shared by the worker's services: running jobs, free capacity, wake-ups."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import anyio

from ..context import JobContext

__all__ = ["Running", "WorkerState"]


@dataclass(slots=True)
class Running:
    """One job in flight on this worker."""

    ctx: JobContext
    row: Any = None
    #: the producer whose capacity share this job occupies
    owner: Any = None
    scope: anyio.CancelScope | None = None
    started: bool = False
    #: Why it is being stopped: "cancel", "timeout", "shutdown", "lost" (None while
    #: running).
    stop_reason: str | None = None

    def stop(self, reason: str) -> None:
        """Ask the job to stop: cancels an async handler, flags a sync one."""
        if self.stop_reason is None:
            self.stop_reason = reason
        self.ctx._cancelled = True
        if self.scope is not None:
            self.scope.cancel()


@dataclass
class WorkerState:
    """What the producer, executor, completer, heartbeat and notifier share."""

    concurrency: int
    running: dict[int, Running] = field(default_factory=dict)
    wake: anyio.Event = field(default_factory=anyio.Event)
    #: Set to make the heartbeat beat now (e.g. after the listener reconnected, to
    #: pick up cancellations whose NOTIFY was lost).
    beat_now: anyio.Event = field(default_factory=anyio.Event)
    slot_freed: anyio.Event = field(default_factory=anyio.Event)
    #: Set when the first claim statement has returned: start-up work that can wait
    #: (the first rescue pass) waits for it, so that it does not delay the first jobs.
    claimed: anyio.Event = field(default_factory=anyio.Event)
    stopping: bool = False
    #: the claim loops (each owns a share of the capacity)
    producers: list[Any] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=lambda: {
        "claimed": 0, "succeeded": 0, "failed": 0, "retried": 0, "cancelled": 0,
        "snoozed": 0, "returned": 0, "rescued": 0, "lost": 0,
    })
    #: Called as ``observer(claimed_row, outcome, run_seconds)`` after every attempt
    #: (Prometheus metrics).
    observers: list[Callable[[Any, Any, float], None]] = field(default_factory=list)

    @property
    def free(self) -> int:
        return self.concurrency - len(self.running)

    def poke(self) -> None:
        """Wake the producers (a notification arrived, or something was requeued)."""
        self.wake.set()
        for producer in self.producers:
            producer.poke()

    def poke_one(self) -> None:
        """Wake the producer with the most free capacity (a notification arrived).

        One claim per notification, not one per producer; a producer whose claim
        comes back full wakes the others (see ``Producer.run``)."""
        self.wake.set()
        if self.producers:
            # an idle loop claims at once; a busy one only after its claim in flight
            max(self.producers, key=lambda p: (p.idle, p.share - p.owned)).poke()

    def release(self, job_id: int, entry: Running | None = None) -> None:
        """Free the slot of ``job_id`` (only if it still holds ``entry``: a job taken
        from this worker may have been claimed by it again meanwhile)."""
        current = self.running.get(job_id)
        if current is not None and (entry is None or current is entry):
            del self.running[job_id]
            if current.owner is not None:
                current.owner.released()
        self.slot_freed.set()
