"""What the dashboard, the CLI and the metrics read (:mod:`pgq_sa.sql.inspection`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from ..sql import Statements
from . import Query, first_column

__all__ = [
    "Counts",
    "ErrorRow",
    "QueuedRow",
    "RunningRow",
    "SeriesRow",
    "TimingRow",
    "Window",
    "WorkerRow",
    "clock",
    "existing_ids",
    "get_job",
    "last_errors",
    "list_jobs",
    "no_parallel",
    "queued",
    "running",
    "series",
    "timings",
    "window",
    "workers",
]


class Window(NamedTuple):
    """A window [since, until) of statistics, and its whole minutes."""

    since: datetime
    until: datetime
    minutes_from: datetime
    minutes_to: datetime

    def params(self) -> dict[str, Any]:
        return self._asdict()

    @classmethod
    def last(cls, seconds: int, now: datetime, *, whole_minutes: bool = False) -> Window:
        """The last ``seconds`` before the start of ``now``'s second (complete
        seconds only), read from per-minute rows for its whole minutes and from
        per-second rows for its ragged ends.  ``whole_minutes``: it starts at its
        first whole minute (per-second rows are kept for an hour only, so an hour's
        older edge could be gone)."""
        until = now.replace(microsecond=0)
        since = until - timedelta(seconds=seconds)
        minutes_from = since + timedelta(seconds=-since.timestamp() % 60)
        minutes_to = until - timedelta(seconds=until.timestamp() % 60)
        if whole_minutes:
            since = minutes_from
        if minutes_from >= minutes_to:  # no whole minute inside: seconds only
            minutes_from = minutes_to = until
        return cls(since=since, until=until, minutes_from=minutes_from, minutes_to=minutes_to)


class QueuedRow(NamedTuple):
    queue: str
    entrypoint: str
    ready: int
    scheduled: int
    oldest_ready: datetime | None


class RunningRow(NamedTuple):
    queue: str
    entrypoint: str
    running: int


class Counts(NamedTuple):
    queue: str
    entrypoint: str
    status: str
    n: int
    n_short: int


class TimingRow(NamedTuple):
    queue: str | None
    entrypoint: str | None
    #: 0: a (queue, entrypoint); 1: a queue; 3: everything.
    level: int
    n: int
    latency: list[float] | None
    runtime: list[float] | None


class SeriesRow(NamedTuple):
    queue: str
    slot: int
    n: int


class ErrorRow(NamedTuple):
    queue: str
    entrypoint: str
    last_error: str
    bucket: datetime


class WorkerRow(NamedTuple):
    id: str
    host: str
    pid: int
    queues: list[str]
    entrypoints: list[str]
    concurrency: int
    started_at: datetime
    heartbeat_at: datetime
    running: int
    heartbeat_age: float


def _mapping(row: Any) -> dict[str, Any]:
    mapping = getattr(row, "_mapping", row)
    return dict(mapping.items() if isinstance(mapping, Mapping) else mapping)


def clock(stmts: Statements, *, now: datetime | None = None) -> Query[datetime]:
    """``now``, or the database clock."""
    return Query(stmts.clock, {"now": now}, first_column)


def no_parallel(stmts: Statements) -> Query[Any]:
    """``SET LOCAL max_parallel_workers_per_gather = 0`` for a read transaction."""
    return Query(stmts.no_parallel, {}, first_column)


def queued(stmts: Statements, *, now: datetime) -> Query[QueuedRow]:
    return Query(stmts.queued, {"now": now}, QueuedRow._make)


def running(stmts: Statements) -> Query[RunningRow]:
    return Query(stmts.running, {}, RunningRow._make)


def window(stmts: Statements, span: Window, *, since_short: datetime) -> Query[Counts]:
    return Query(stmts.window, {**span.params(), "since_short": since_short}, Counts._make)


def timings(stmts: Statements, span: Window, *, sample: int) -> Query[TimingRow]:
    return Query(stmts.timings, {"since": span.since, "until": span.until, "sample": sample},
                 TimingRow._make)


def series(stmts: Statements, span: Window, *, slot_seconds: float) -> Query[SeriesRow]:
    return Query(stmts.series, {"since": span.since, "until": span.until,
                                "slot_seconds": slot_seconds}, SeriesRow._make)


def last_errors(stmts: Statements, *, since: datetime) -> Query[ErrorRow]:
    return Query(stmts.last_errors, {"since": since}, ErrorRow._make)


def workers(stmts: Statements, *, now: datetime) -> Query[WorkerRow]:
    return Query(stmts.workers, {"now": now}, WorkerRow._make)


def get_job(stmts: Statements, *, job_id: int) -> Query[dict[str, Any]]:
    """Every column of one job, by name."""
    return Query(stmts.get_job, {"id": job_id}, _mapping)


def existing_ids(stmts: Statements, *, ids: Sequence[int]) -> Query[int]:
    """Which of ``ids`` name a job."""
    return Query(stmts.existing_ids, {"ids": list(ids)}, first_column)


def list_jobs(stmts: Statements, *, statuses: Sequence[str] = (), queue: str | None = None,
              entrypoint: str | None = None, limit: int) -> Query[dict[str, Any]]:
    """Jobs, newest first, filtered."""
    params: dict[str, Any] = {"limit": limit}
    if queue is not None:
        params["queue"] = queue
    if entrypoint is not None:
        params["entrypoint"] = entrypoint
    return Query(stmts.list_jobs(statuses=tuple(statuses), queue=queue is not None,
                                 entrypoint=entrypoint is not None), params, _mapping)


def jobs_in(stmts: Statements, *, statuses: Sequence[str], entrypoint: str | None = None,
            queue: str | None = None) -> Query[dict[str, Any]]:
    """Jobs in ``statuses``, oldest first, of ``entrypoint`` and ``queue`` if given."""
    params: dict[str, Any] = {}
    if entrypoint is not None:
        params["entrypoint"] = entrypoint
    if queue is not None:
        params["queue"] = queue
    return Query(stmts.jobs_in(statuses=tuple(statuses), entrypoint=entrypoint is not None,
                               queue=queue is not None), params, _mapping)


def pending(stmts: Statements, *, queues: Sequence[str], entrypoints: Sequence[str],
            now: datetime | None = None) -> Query[int]:
    """How many jobs of ``entrypoints`` in ``queues`` are running or ready."""
    return Query(stmts.pending, {"queues": list(queues), "entrypoints": list(entrypoints),
                                 "now": now}, first_column)


class FlowKeyRow(NamedTuple):
    """Flow-controlled jobs of one (queue, flow key) and their limits."""

    queue: str
    flow_key: str
    ready: int
    running: int
    concurrency_limit: int | None
    rate_limit: int | None
    #: Seconds.
    rate_period: int | None


def flow_keys(stmts: Statements, *, limit: int,
              now: datetime | None = None) -> Query[FlowKeyRow]:
    """The flow keys with the most ready jobs first, at most ``limit``."""
    return Query(stmts.flow_keys, {"limit": limit, "now": now}, FlowKeyRow._make)
