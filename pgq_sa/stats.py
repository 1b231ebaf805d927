"""What the dashboard, ``pgq-sa queues`` and ``pgq-sa workers`` show, as data.

:func:`snapshot` reads, in one short read-only transaction and with bounded
queries (see :mod:`pgq_sa.sql.inspection`):

- queued (ready / scheduled) and running jobs per queue and entrypoint, and the age
  of the oldest ready job, through the partial indexes of ``pgq_jobs``;
- per-second rows of ``pgq_stats`` for the last ``window`` seconds: outcome counts,
  throughput, error rate, latency and run-time percentiles, the latest error;
- the paused queues (``pgq_queues``), listed even when they hold no jobs;
- the workers table, each worker flagged ``stale`` when its heartbeat is older than
  ``stale_after`` seconds; ready jobs that no live worker runs (no worker serving
  their queue has their entrypoint registered) are flagged ``unserved``, from the
  rows above (no extra query).

Windows end at the start of the current second (``until``): only complete seconds
count, so figures do not flicker while a second fills up.

Definitions: *throughput* is jobs that finished (succeeded, failed or cancelled) per
second; *latency* is ready (``run_at``, or creation if later) to start, for the
attempt that finished the job; *run time* is start to end of an attempt; *error
rate* is the share of ended attempts that failed (``failed`` plus ``retried``).
Percentiles are exact (nearest rank) over a bounded sample: the ``sample`` most
recently finished jobs of the window (all of them unless the queue is busy), read
newest first through the partial index on ``finished_at``.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from .queries import execute, inspection
from .queries import queues as flow
from .schema import CANCELLED, FAILED, RETRIED, SUCCEEDED, tables_for
from .sql import Statements, statements_for
from .target import connection

__all__ = ["Figures", "QueueFigures", "Snapshot", "Unserved", "WorkerInfo", "flag_unserved",
           "list_workers", "reading", "snapshot"]

Target = AsyncEngine | AsyncConnection

#: Default length of the long window (seconds) and of the short one.
WINDOW = 300
SHORT_WINDOW = 10
#: Sparkline resolution: the long window is cut into this many slots.
SLOTS = 30
#: A worker whose heartbeat is older than this (seconds) is flagged stale.
STALE_AFTER = 30.0
#: Percentiles are computed over at most this many recently finished jobs.
SAMPLE = 2000


@dataclass
class Figures:
    """The figures of one (queue, entrypoint), or of a whole queue."""

    queue: str
    entrypoint: str | None = None
    ready: int = 0
    scheduled: int = 0
    running: int = 0
    #: Seconds since the oldest ready job became ready (``None``: nothing ready).
    oldest_ready_age: float | None = None
    succeeded: int = 0
    failed: int = 0
    cancelled: int = 0
    retried: int = 0
    #: Finished jobs per second over the short and the long window.
    throughput_short: float = 0.0
    throughput: float = 0.0
    latency_p50: float | None = None
    latency_p95: float | None = None
    runtime_p50: float | None = None
    runtime_p95: float | None = None
    #: Failed attempts / ended attempts over the long window (``None``: none ended).
    error_rate: float | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    #: Finished jobs behind the percentiles (the sample; ``0``: none finished).
    timed: int = 0
    #: Ready jobs that no live worker runs: none that heartbeats serves their queue
    #: with their entrypoint registered (a typo, a task not deployed, no worker).
    unserved: int = 0
    _finished_short: int = field(default=0, repr=False)

    @property
    def queued(self) -> int:
        """Ready plus scheduled."""
        return self.ready + self.scheduled

    @property
    def finished(self) -> int:
        """Succeeded, failed or cancelled in the long window."""
        return self.succeeded + self.failed + self.cancelled

    def to_dict(self) -> dict[str, Any]:
        """JSON-able figures (timestamps as ISO strings)."""
        out = {k: v for k, v in asdict(self).items() if not k.startswith("_")}
        out["queued"] = self.queued
        out["finished"] = self.finished
        if self.last_error_at is not None:
            out["last_error_at"] = self.last_error_at.isoformat()
        return out

    def _add(self, other: Figures) -> None:
        """Fold ``other`` (an entrypoint of this queue) into this queue's totals."""
        for name in ("ready", "scheduled", "running", "succeeded", "failed", "cancelled",
                     "retried", "unserved", "_finished_short"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        if other.oldest_ready_age is not None:
            self.oldest_ready_age = max(self.oldest_ready_age or 0.0, other.oldest_ready_age)
        if other.last_error_at is not None and (
            self.last_error_at is None or other.last_error_at > self.last_error_at
        ):
            self.last_error, self.last_error_at = other.last_error, other.last_error_at

    def _finish(self, window: int, short_window: int) -> None:
        """Derive rates from the raw counts."""
        self.throughput = self.finished / window
        self.throughput_short = self._finished_short / short_window
        attempts = self.finished + self.retried
        self.error_rate = (self.failed + self.retried) / attempts if attempts else None

    def _timings(self, row: Any) -> None:
        self.timed = int(row.n)
        self.latency_p50, self.latency_p95 = _pair(row.latency)
        self.runtime_p50, self.runtime_p95 = _pair(row.runtime)


def _pair(values: Any) -> tuple[float | None, float | None]:
    if not values:
        return None, None
    low, high = values
    return (None if low is None else max(0.0, float(low)),
            None if high is None else max(0.0, float(high)))


@dataclass
class QueueFigures(Figures):
    """A queue's totals, its entrypoints, and finished jobs per slot of the window."""

    entrypoints: list[Figures] = field(default_factory=list)
    #: Finished jobs per slot, oldest first (``len == SLOTS``).
    series: list[int] = field(default_factory=list)
    #: Paused by an operator (:func:`pgq_sa.pause_queue`): its jobs wait.
    paused: bool = False
    #: Since when (``None`` unless paused).
    paused_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["entrypoints"] = [e.to_dict() for e in self.entrypoints]
        if self.paused_at is not None:
            out["paused_at"] = self.paused_at.isoformat()
        return out


@dataclass
class WorkerInfo:
    """A registered worker."""

    id: str
    host: str
    pid: int
    queues: list[str]
    entrypoints: list[str]
    concurrency: int
    started_at: datetime
    heartbeat_at: datetime
    running: int
    #: Seconds since its last heartbeat.
    heartbeat_age: float
    #: True when ``heartbeat_age`` exceeds the staleness threshold.
    stale: bool

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["started_at"] = self.started_at.isoformat()
        out["heartbeat_at"] = self.heartbeat_at.isoformat()
        return out


@dataclass
class Snapshot:
    """Everything one dashboard refresh shows."""

    now: datetime
    #: End (exclusive) of the windows: the start of the current second.
    until: datetime
    window: int
    short_window: int
    queues: list[QueueFigures]
    workers: list[WorkerInfo]
    stale_after: float
    #: Seconds the snapshot took to read.
    elapsed: float = 0.0
    _total_timings: Any = field(default=None, repr=False)

    @property
    def totals(self) -> Figures:
        """All queues together."""
        total = Figures(queue="*")
        for q in self.queues:
            total._add(q)
        total._finish(self.window, self.short_window)
        if self._total_timings is not None:
            total._timings(self._total_timings)
        return total

    def unserved(self) -> list[Unserved]:
        """The (queue, entrypoint) pairs with ready jobs that no live worker runs,
        and why."""
        live = [w for w in self.workers if not w.stale]
        out = []
        for q in self.queues:
            for e in q.entrypoints:
                if not e.unserved:
                    continue
                if not live:
                    why = "no live worker"
                elif not any(q.queue in w.queues for w in live):
                    why = f"no live worker serves queue {q.queue}"
                else:
                    why = (f"the live workers of queue {q.queue} have no task named "
                           f"{e.entrypoint!r}")
                out.append(Unserved(q.queue, e.entrypoint or "", e.unserved, why))
        return out

    def to_dict(self) -> dict[str, Any]:
        """The snapshot as JSON-able data (``pgq-sa dashboard --json``)."""
        return {
            "now": self.now.isoformat(),
            "until": self.until.isoformat(),
            "window_seconds": self.window,
            "short_window_seconds": self.short_window,
            "stale_after_seconds": self.stale_after,
            "totals": self.totals.to_dict(),
            "queues": [q.to_dict() for q in self.queues],
            "workers": [w.to_dict() for w in self.workers],
            "unserved": [asdict(u) for u in self.unserved()],
        }


@dataclass(frozen=True)
class Unserved:
    """Ready jobs of one (queue, entrypoint) that no live worker runs."""

    queue: str
    entrypoint: str
    ready: int
    #: Why: no live worker at all, none on the queue, or none with that task.
    reason: str


def flag_unserved(figures: Iterable[Figures], workers: list[WorkerInfo]) -> None:
    """Set ``unserved`` on each (queue, entrypoint) figure whose ready jobs no live
    worker would claim (a worker claims its queues' jobs of its registered
    entrypoints).  Reads only what the snapshot already holds: no query."""
    live = [(frozenset(w.queues), frozenset(w.entrypoints)) for w in workers if not w.stale]
    for f in figures:
        if f.ready and not any(f.queue in qs and f.entrypoint in es for qs, es in live):
            f.unserved = f.ready


@asynccontextmanager
async def reading(target: Target, *, schema: str | None = None
                  ) -> AsyncIterator[AsyncConnection]:
    """The connection :func:`snapshot` reads on, for a few small bounded reads: an
    engine's is tuned for them (no parallel plans) and rolled back at the end; a
    caller's connection is used as it is.  A missing pgq-sa schema raises
    :class:`~pgq_sa.SchemaNotInstalled`."""
    async with connection(target, schema=schema, read_only=True, what="reading") as conn:
        if isinstance(target, AsyncEngine):
            await execute(conn, inspection.no_parallel(_stats(schema)))
        yield conn  # type: ignore[misc]


def _stats(schema: str | None) -> Statements:
    return statements_for(tables_for(schema))


def _whole(seconds: float, name: str) -> int:
    if seconds < 1 or seconds != int(seconds):
        raise ValueError(f"{name} must be a whole number of seconds >= 1, got {seconds}")
    return int(seconds)


async def _now(conn: AsyncConnection, s: Statements, now: datetime | None) -> datetime:
    [value] = await execute(conn, inspection.clock(s, now=now))
    return value


async def snapshot(target: Target, *, schema: str | None = None, now: datetime | None = None,
                   window: float = WINDOW, short_window: float = SHORT_WINDOW,
                   stale_after: float = STALE_AFTER, slots: int = SLOTS,
                   sample: int = SAMPLE) -> Snapshot:
    """Read the dashboard's figures (see the module docstring for definitions).

    ``now`` replaces the database clock (tests); ``window`` and ``short_window`` are
    whole seconds."""
    import time

    started = time.perf_counter()
    window_s = _whole(window, "window")
    short_s = _whole(short_window, "short_window")
    if short_s > window_s:
        raise ValueError("short_window must not exceed window")
    s = _stats(schema)
    async with reading(target, schema=schema) as conn:
        at = await _now(conn, s, now)
        span = inspection.Window.last(window_s, at)
        until, since = span.until, span.since
        queued = await execute(conn, inspection.queued(s, now=at))
        running = await execute(conn, inspection.running(s))
        counts = await execute(conn, inspection.window(
            s, span, since_short=until - timedelta(seconds=short_s)))
        timings = await execute(conn, inspection.timings(s, span, sample=sample))
        series = await execute(conn, inspection.series(s, span, slot_seconds=window_s / slots))
        errors = await execute(conn, inspection.last_errors(s, since=since))
        workers = await _workers(conn, s, at, stale_after)
        paused = await execute(conn, flow.paused_queues(s))

    figures: dict[tuple[str, str], Figures] = {}

    def fig(queue: str, entrypoint: str) -> Figures:
        key = (queue, entrypoint)
        if key not in figures:
            figures[key] = Figures(queue=queue, entrypoint=entrypoint)
        return figures[key]

    for q_row in queued:
        f = fig(q_row.queue, q_row.entrypoint)
        f.ready, f.scheduled = q_row.ready, q_row.scheduled
        if q_row.oldest_ready is not None:
            f.oldest_ready_age = max(0.0, (at - q_row.oldest_ready).total_seconds())
    for run_row in running:
        fig(run_row.queue, run_row.entrypoint).running = run_row.running
    for count in counts:
        f = fig(count.queue, count.entrypoint)
        n, n_short = int(count.n), int(count.n_short)
        if count.status == SUCCEEDED:
            f.succeeded += n
        elif count.status == FAILED:
            f.failed += n
        elif count.status == CANCELLED:
            f.cancelled += n
        elif count.status == RETRIED:
            f.retried += n
        if count.status != RETRIED:
            f._finished_short += n_short
    queue_timings: dict[str, Any] = {}
    total_timings = None
    for timing in timings:
        if timing.level == 0 and timing.queue is not None and timing.entrypoint is not None:
            fig(timing.queue, timing.entrypoint)._timings(timing)
        elif timing.level == 1 and timing.queue is not None:
            queue_timings[timing.queue] = timing
        else:
            total_timings = timing
    for err in errors:
        f = fig(err.queue, err.entrypoint)
        f.last_error, f.last_error_at = err.last_error, err.bucket

    flag_unserved(figures.values(), workers)
    queues: dict[str, QueueFigures] = {}
    for (queue, _), f in sorted(figures.items()):
        f._finish(window_s, short_s)
        q = queues.setdefault(queue, QueueFigures(queue=queue, series=[0] * slots))
        q.entrypoints.append(f)
        q._add(f)
    for point in series:
        q = queues.setdefault(point.queue, QueueFigures(queue=point.queue, series=[0] * slots))
        if 0 <= point.slot < slots:
            q.series[point.slot] += int(point.n)
    for pause in paused:  # listed even without jobs
        q = queues.setdefault(pause.name, QueueFigures(queue=pause.name, series=[0] * slots))
        q.paused, q.paused_at = True, pause.paused_at
    for q in queues.values():
        q._finish(window_s, short_s)
        if q.queue in queue_timings:
            q._timings(queue_timings[q.queue])
    return Snapshot(now=at, until=until, window=window_s, short_window=short_s,
                    queues=[queues[k] for k in sorted(queues)], workers=workers,
                    stale_after=stale_after, elapsed=time.perf_counter() - started,
                    _total_timings=total_timings)


async def _workers(conn: AsyncConnection, s: Statements, at: datetime,
                   stale_after: float) -> list[WorkerInfo]:
    rows = await execute(conn, inspection.workers(s, now=at))
    return [
        WorkerInfo(
            id=r.id, host=r.host, pid=r.pid, queues=list(r.queues),
            entrypoints=list(r.entrypoints), concurrency=r.concurrency,
            started_at=r.started_at, heartbeat_at=r.heartbeat_at, running=int(r.running),
            heartbeat_age=max(0.0, float(r.heartbeat_age)),
            stale=float(r.heartbeat_age) > stale_after,
        )
        for r in rows
    ]


async def list_workers(target: Target, *, schema: str | None = None,
                       now: datetime | None = None,
                       stale_after: float = STALE_AFTER) -> list[WorkerInfo]:
    """Registered workers with their running jobs and heartbeat age."""
    s = _stats(schema)
    async with reading(target, schema=schema) as conn:
        return await _workers(conn, s, await _now(conn, s, now), stale_after)


def format_seconds(value: float | None) -> str:
    """``850ms``, ``1.2s``, ``3m05s``, ``2h10m``, ``3d4h``; ``-`` for ``None``."""
    if value is None or math.isnan(value):
        return "-"
    if value < 1:
        return f"{value * 1000:.0f}ms"
    if value < 60:
        return f"{value:.1f}s" if value < 10 else f"{value:.0f}s"
    if value < 3600:
        return f"{int(value // 60)}m{int(value % 60):02d}s"
    if value < 86400:
        return f"{int(value // 3600)}h{int(value % 3600 // 60):02d}m"
    return f"{int(value // 86400)}d{int(value % 86400 // 3600)}h"
