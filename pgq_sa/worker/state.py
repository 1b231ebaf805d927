"""What the worker's services share: the capacity (who holds which running job),
wake-ups, and the counters.

The capacity has one owner per part: each producer owns a :class:`Share` (it claims
at most its free slots); a claimed job is held in the :class:`Capacity` under that
share from admission until its outcome is handed to the completer; the executor
releases it.  Nothing else counts running jobs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import anyio

from ..context import JobContext
from ..outcome import Kind, Outcome
from ..queries.claim import ClaimedJob

__all__ = ["Capacity", "Claimer", "Running", "Share", "WorkerState"]


class Share:
    """A producer's part of the worker's capacity."""

    __slots__ = ("freed", "held", "size")

    def __init__(self, size: int) -> None:
        self.size = size
        #: Jobs held in this share right now.
        self.held = 0
        #: Set when one of them is released (the producer may claim again).
        self.freed = anyio.Event()

    @property
    def free(self) -> int:
        return self.size - self.held

    def wait_event(self) -> anyio.Event:
        """A fresh event to wait on for the next release."""
        self.freed = anyio.Event()
        return self.freed


@dataclass(slots=True, eq=False)
class Running:
    """One job in flight on this worker."""

    ctx: JobContext
    job: ClaimedJob
    #: The capacity share this job occupies.
    share: Share
    scope: anyio.CancelScope | None = None
    started: bool = False
    #: Why it is being stopped: "cancel", "timeout", "shutdown", "lost" (None while
    #: running).
    stop_reason: str | None = None
    #: Its OpenTelemetry span (:mod:`pgq_sa.tracing`), when tracing is available.
    span: Any = None

    def stop(self, reason: str) -> None:
        """Ask the job to stop: cancels an async handler, flags a sync one."""
        if self.stop_reason is None:
            self.stop_reason = reason
        self.ctx._cancelled = True
        if self.scope is not None:
            self.scope.cancel()


class Capacity:
    """The worker's running jobs, each held in a producer's :class:`Share`."""

    def __init__(self, concurrency: int) -> None:
        self.concurrency = concurrency
        self._running: dict[int, Running] = {}
        #: Set whenever a job is released (shutdown waits on it).
        self.released = anyio.Event()

    def share(self, size: int) -> Share:
        """A new share of ``size`` slots (the producers' shares add up to the
        concurrency)."""
        return Share(size)

    def hold(self, ctx: JobContext, job: ClaimedJob, share: Share) -> Running:
        """Hold a claimed job in ``share`` from now until :meth:`release`."""
        entry = Running(ctx=ctx, job=job, share=share)
        self._running[ctx.id] = entry
        share.held += 1
        return entry

    def release(self, entry: Running) -> None:
        """Free ``entry``'s slot (only if it is still the one held under its id: a job
        taken from this worker may have been claimed by it again meanwhile)."""
        job_id = entry.ctx.id
        if self._running.get(job_id) is entry:
            del self._running[job_id]
            entry.share.held -= 1
            entry.share.freed.set()
        self.released.set()

    def get(self, job_id: int) -> Running | None:
        return self._running.get(job_id)

    def __len__(self) -> int:
        return len(self._running)

    def __iter__(self) -> Iterator[Running]:
        return iter(list(self._running.values()))

    def ids(self) -> dict[int, int]:
        """``{job id: attempt}`` of every job held."""
        return {job_id: entry.ctx.attempt for job_id, entry in self._running.items()}

    @property
    def free(self) -> int:
        return self.concurrency - len(self._running)

    async def wait_released(self) -> None:
        """Wait for the next release."""
        self.released = anyio.Event()
        await self.released.wait()


class Claimer(Protocol):
    """What the state needs of a claim loop to wake it."""

    @property
    def idle(self) -> bool: ...

    @property
    def share(self) -> Share: ...

    def poke(self) -> None: ...

    def wake(self) -> None: ...


#: Called as ``observer(running entry, outcome, run seconds)`` after every attempt.
Observer = Callable[[Running, Outcome, float], None]


@dataclass
class WorkerState:
    """What the producers, executor, heartbeat, notifier and rescuer share."""

    concurrency: int
    capacity: Capacity = field(init=False)
    #: Set to make the heartbeat beat now (e.g. after the listener reconnected, to
    #: pick up cancellations whose NOTIFY was lost).
    beat_now: anyio.Event = field(default_factory=anyio.Event)
    #: Set when the first claim statement has returned: start-up work that can wait
    #: (the first rescue pass) waits for it, so that it does not delay the first jobs.
    claimed: anyio.Event = field(default_factory=anyio.Event)
    stopping: bool = False
    #: The advisory-lock key this worker's session holds right now (``None``: none,
    #: or its connection is being replaced); the heartbeat records it.
    session_key: int | None = None
    #: The claim loops, to wake them.
    claimers: list[Claimer] = field(default_factory=list)
    #: ``claimed`` and one count per :class:`~pgq_sa.outcome.Kind` value.
    counters: Counter[str] = field(default_factory=lambda: Counter(
        dict.fromkeys(["claimed", *(kind.label for kind in Kind)], 0)))
    #: Called after every attempt (Prometheus metrics).
    observers: list[Observer] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.capacity = Capacity(self.concurrency)

    def poke(self) -> None:
        """Wake every claim loop (something was requeued, the listener reconnected)."""
        for claimer in self.claimers:
            claimer.poke()

    def wake(self) -> None:
        """Wake every claim loop to claim again what it claimed last (a concurrency
        slot may have freed), without taking it for news of other jobs."""
        for claimer in self.claimers:
            claimer.wake()

    def poke_one(self) -> None:
        """Wake the claim loop with the most free capacity (a notification arrived).

        One claim per notification, not one per producer; a producer whose claim
        comes back full wakes the others (see ``Producer.run``)."""
        if self.claimers:
            # an idle loop claims at once; a busy one only after its claim in flight
            max(self.claimers, key=lambda c: (c.idle, c.share.free)).poke()
