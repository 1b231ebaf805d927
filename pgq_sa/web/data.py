"""What the web dashboard shows, as JSON-able data: one method per page (and per
JSON API endpoint) and one per action.

The current figures come from :func:`pgq_sa.stats.snapshot` (what the terminal
dashboard reads), actions go through :mod:`pgq_sa.admin`; what the browser adds
runs through the typed query layer (:mod:`pgq_sa.queries.charts`,
:mod:`~pgq_sa.queries.browse` and :mod:`~pgq_sa.queries.health`, their SQL in
:mod:`pgq_sa.sql`) on the statistics' reading connection
(:func:`pgq_sa.stats.reading`).  Nothing here needs Starlette: the data layer can be
used (and is tested) on its own.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from .. import admin
from ..queries import browse, charts, execute, health, inspection
from ..queries.browse import ERROR_PREVIEW, PAYLOAD_PREVIEW, JobFilters
from ..schema import (
    CANCELLED,
    FAILED,
    FINISHED_STATUSES,
    QUEUED,
    RETRIED,
    RUNNING,
    STATUSES,
    SUCCEEDED,
    WAITING,
    tables_for,
)
from ..sql import Statements, statements_for
from ..stats import (
    STALE_AFTER,
    Figures,
    Snapshot,
    WorkerInfo,
    format_seconds,
    list_workers,
    reading,
    snapshot,
)
from .features import Features, detect_features

__all__ = ["RANGES", "BadRequest", "DashboardData", "JobQuery", "Range"]


class BadRequest(ValueError):
    """A request the data layer cannot answer (a bad filter or parameter): the
    message says what to fix."""


@dataclass(frozen=True)
class Range:
    """A chart range: ``slots`` slots of ``slot_seconds`` read from ``pgq_stats``
    rows of width ``span``."""

    name: str
    seconds: int
    slot_seconds: int
    span: int

    @property
    def slots(self) -> int:
        return self.seconds // self.slot_seconds


#: The chart ranges: five minutes in 5-second slots (per-second statistics) and an
#: hour in minutes (per-minute statistics).
RANGES: dict[str, Range] = {
    "5m": Range("5m", 300, 5, 1),
    "1h": Range("1h", 3600, 60, 60),
}


@dataclass(frozen=True)
class JobQuery:
    """Filters and cursor of the jobs list (see :meth:`DashboardData.jobs`)."""

    statuses: tuple[str, ...] = ()
    queue: str | None = None
    entrypoint: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    #: Keyset cursors (:class:`Cursor` tokens, as the previous page gave them): the
    #: jobs after ``before`` in the list's order (older), or before ``after`` (newer).
    before: str | None = None
    after: str | None = None
    limit: int = 50

    def __post_init__(self) -> None:
        bad = [s for s in self.statuses if s not in STATUSES]
        if bad:
            raise BadRequest(f"unknown state {bad[0]!r}: use one of {', '.join(STATUSES)}")
        if self.before is not None and self.after is not None:
            raise BadRequest("give either before or after, not both")
        if not 1 <= self.limit <= 500:
            raise BadRequest("limit must be between 1 and 500")
        for name in ("before", "after"):
            value = getattr(self, name)
            if value is not None:
                Cursor.parse(value, name)
        for name in ("created_after", "created_before"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise BadRequest(f"{name} needs a time zone (e.g. 2030-01-01T12:00:00Z)")

    @property
    def by_finish(self) -> bool:
        """Finished jobs only: listed by finish time (most recent first)."""
        return bool(self.statuses) and set(self.statuses) <= set(FINISHED_STATUSES)

    @property
    def filters(self) -> JobFilters:
        return JobFilters(self.statuses, self.queue, self.entrypoint, self.created_after,
                          self.created_before)

    def to_dict(self) -> dict[str, Any]:
        return {"state": list(self.statuses), "queue": self.queue,
                "entrypoint": self.entrypoint,
                "created_after": _iso(self.created_after),
                "created_before": _iso(self.created_before),
                "before": self.before, "after": self.after, "limit": self.limit}


@dataclass(frozen=True)
class Cursor:
    """A place in the jobs list: a job's id, and its finish time when the list is in
    finish order.  As a token: ``"123"``, or ``"<finish time in µs>.123"``."""

    id: int
    at: datetime | None = None

    @property
    def token(self) -> str:
        if self.at is None:
            return str(self.id)
        delta = self.at - _EPOCH
        return f"{(delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds}.{self.id}"

    @classmethod
    def parse(cls, token: str, name: str = "cursor") -> Cursor:
        head, dot, tail = token.strip().partition(".")
        try:
            if not dot:
                return cls(int(head))
            return cls(int(tail), _EPOCH + timedelta(microseconds=int(head)))
        except (ValueError, OverflowError):
            raise BadRequest(f"{name}: not a cursor of the jobs list: {token!r} (use the "
                             "older/newer values a page gave)") from None

    def shifted(self, by: int) -> Cursor:
        return Cursor(self.id + by, self.at)


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _num(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else value


#: A string literal in SQL text: masked before another session's query is shown.
_LITERAL = re.compile(r"'(?:[^']|'')*'?|\$(\w*)\$.*?(?:\$\1\$|$)", re.S)


def mask_literals(sql: str | None) -> str | None:
    """``sql`` with string literals replaced by ``'…'`` (a password in ``ALTER ROLE``
    or a token in an ``INSERT`` is not shown on the health page)."""
    return None if sql is None else _LITERAL.sub("'…'", sql)


@dataclass
class DashboardData:
    """The web dashboard's reads and actions on one database and schema."""

    engine: AsyncEngine
    schema: str | None = None
    #: Workers silent for longer are stale.
    stale_after: float = STALE_AFTER
    #: An open transaction (or snapshot) older than this many seconds is flagged on
    #: the health page (and, ten times older, called critical).
    long_transaction: float = 60.0
    #: Dead rows in a pgq table flagged above this count (and share of live rows).
    dead_rows: int = 100_000
    #: Jobs the filters of the jobs list look through per page, at most.
    scan: int = 10_000
    #: Most jobs one bulk action changes.
    bulk_limit: int = 1000
    #: The optional parts to show (default: what :func:`detect_features` finds).
    features: Features | None = None
    #: The time the figures are read at: ``None`` (the default) is the database
    #: clock; tests pass a fixed time, as to :func:`pgq_sa.stats.snapshot`.
    clock: Callable[[], datetime | None] = field(default=lambda: None)
    #: Seconds a snapshot, chart or health reading is shared with the requests that
    #: follow it (and the ones made meanwhile wait for it rather than read again):
    #: many open pages cost the database what one does.  0: never shared.
    share_for: float = 1.0

    def __post_init__(self) -> None:
        self.tables = tables_for(self.schema)
        self.stmts: Statements = statements_for(self.tables)
        if self.features is None:
            self.features = detect_features(self.tables)
        self._shared = Shared(self.share_for)

    # ---- plumbing -----------------------------------------------------------------------
    @asynccontextmanager
    async def _read(self) -> AsyncIterator[AsyncConnection]:
        """A connection for a few small reads (no parallel plans), rolled back; a
        missing schema raises :class:`~pgq_sa.SchemaNotInstalled` (the terminal
        dashboard's reading connection)."""
        async with reading(self.engine, schema=self.schema) as conn:
            yield conn

    async def _snapshot(self) -> Snapshot:
        async def read() -> Snapshot:
            return await snapshot(self.engine, schema=self.schema,
                                  stale_after=self.stale_after, now=self.clock())

        result: Snapshot = await self._shared.get(("snapshot",), read)
        return result

    # ---- overview -----------------------------------------------------------------------
    async def overview(self, range_name: str = "5m", queue: str | None = None
                       ) -> dict[str, Any]:
        """Counts by state, throughput, latency and error rate over ``range_name``
        (``5m`` or ``1h``), with the chart series; all queues or one."""
        rng = RANGES.get(range_name)
        if rng is None:
            raise BadRequest(f"unknown range {range_name!r}: use {' or '.join(RANGES)}")
        # three connections at once: the snapshot, the charts and the health checks
        snap, chart, health = await _gather(
            self._snapshot(),
            self._shared.get(("chart", rng.name, queue), lambda: self.chart(rng, queue)),
            self._shared.get(("health", False), lambda: self.health(details=False)))
        if queue is None:
            figures: Figures = snap.totals
        else:
            figures = next((q for q in snap.queues if q.queue == queue), Figures(queue=queue))
        if rng.name == "5m":
            counts = {k: getattr(figures, k) for k in ("succeeded", "failed", "cancelled",
                                                       "retried")}
            throughput, error_rate = figures.throughput, figures.error_rate
            p50, p95 = figures.latency_p50, figures.latency_p95
        else:
            counts = dict(chart["totals"]["counts"])
            throughput = chart["totals"]["throughput"]
            error_rate = chart["totals"]["error_rate"]
            p50, p95 = chart["totals"]["latency_p50"], chart["totals"]["latency_p95"]
        live = [w for w in snap.workers if not w.stale]
        return {
            "now": snap.now.isoformat(),
            "range": rng.name,
            "queue": queue,
            "queues": [self._queue_row(q) for q in snap.queues],
            "counts": {"ready": figures.ready, "scheduled": figures.scheduled,
                       "running": figures.running, **counts},
            "throughput": throughput,
            "throughput_short": figures.throughput_short,
            "short_window": snap.short_window,
            "error_rate": error_rate,
            "latency_p50": _num(p50),
            "latency_p95": _num(p95),
            "oldest_ready_age": figures.oldest_ready_age,
            "workers": {
                "alive": len(live), "stale": len(snap.workers) - len(live),
                "capacity": sum(w.concurrency for w in live),
                "running": sum(w.running for w in snap.workers),
            },
            "chart": chart,
            "alerts": self._alerts(snap, health),
        }

    def _queue_row(self, q: Figures) -> dict[str, Any]:
        return {"queue": q.queue, "ready": q.ready, "scheduled": q.scheduled,
                "running": q.running, "oldest_ready_age": q.oldest_ready_age,
                "throughput": q.throughput, "throughput_short": q.throughput_short,
                "error_rate": q.error_rate, "latency_p50": _num(q.latency_p50),
                "latency_p95": _num(q.latency_p95), "unserved": q.unserved}

    def _alerts(self, snap: Snapshot, health: dict[str, Any]) -> list[dict[str, Any]]:
        alerts: list[dict[str, Any]] = []
        for u in snap.unserved():
            alerts.append({"level": "warning", "title": f"{_count(u.ready, 'ready job')} in "
                           f"{u.queue}/{u.entrypoint} that no live worker runs",
                           "text": u.reason, "link": f"jobs?state=queued&queue={u.queue}"
                                                     f"&entrypoint={u.entrypoint}"})
        stale = [w for w in snap.workers if w.stale]
        if stale:
            alerts.append({"level": "warning",
                           "title": f"{_count(len(stale), 'worker')} stopped heartbeating",
                           "text": ", ".join(w.id for w in stale[:5])
                           + (" …" if len(stale) > 5 else ""), "link": "workers"})
        for warning in health["warnings"]:
            alerts.append({**warning, "link": "database"})
        return alerts

    async def chart(self, rng: Range, queue: str | None = None) -> dict[str, Any]:
        """Outcomes per slot (and per queue) and latency percentiles per slot over the
        last ``rng``, complete slots only (ending at the start of the current one)."""
        async with self._read() as conn:
            [now] = await execute(conn, inspection.clock(self.stmts, now=self.clock()))
            stamp = math.floor(now.timestamp() / rng.slot_seconds) * rng.slot_seconds
            until = datetime.fromtimestamp(stamp, timezone.utc)
            since = until - timedelta(seconds=rng.seconds)
            per_slot = charts.counts_per_second if rng.span == 1 else charts.counts_per_minute
            counts = await execute(conn, per_slot(self.stmts, since=since, until=until,
                                                  slot_seconds=rng.slot_seconds))
            starts = [since + timedelta(seconds=i * rng.slot_seconds)
                      for i in range(rng.slots)]
            ends = [*starts[1:], until]
            if queue is None:
                lat = await execute(conn, charts.latency_all(
                    self.stmts, starts=starts, ends=ends, per_slot=PER_SLOT))
            else:
                lat = await execute(conn, charts.latency_queue(
                    self.stmts, starts=starts, ends=ends, per_slot=PER_SLOT, queue=queue,
                    scan=SLOT_SCAN))
            # the totals: exact counts up to the current second (the terminal
            # dashboard's window statement), not only the complete slots; an hour
            # starts at its first whole minute (per-second rows are kept an hour)
            window = inspection.Window.last(rng.seconds, now, whole_minutes=rng.span == 60)
            totals_rows = await execute(conn, inspection.window(
                self.stmts, window, since_short=window.until - timedelta(seconds=10)))

        n = rng.slots
        per_queue: dict[str, dict[str, list[float]]] = {}
        totals = dict.fromkeys((SUCCEEDED, FAILED, CANCELLED, RETRIED), 0)
        for point in counts:
            if queue is not None and point.queue != queue:
                continue
            if not 0 <= point.slot < n:
                continue
            series = per_queue.setdefault(point.queue,
                                          {"done": [0.0] * n, "failed": [0.0] * n})
            count = int(point.n)
            if point.status in FINISHED_STATUSES:
                series["done"][point.slot] += count / rng.slot_seconds
            if point.status in (FAILED, RETRIED):
                series["failed"][point.slot] += count / rng.slot_seconds
        for total in totals_rows:
            if queue is None or total.queue == queue:
                totals[total.status] = totals.get(total.status, 0) + int(total.n)
        latency: dict[str, Any] = {"p50": [None] * n, "p95": [None] * n, "n": [0] * n}
        by_queue: dict[str, dict[str, list[Any]]] = {}
        overall: tuple[float | None, float | None] = (None, None)
        for r in lat:
            low, high = (None, None) if not r.latency else (
                _clamp(r.latency[0]), _clamp(r.latency[1]))
            if r.level == 0 and r.slot is not None and r.queue is not None:  # slot, queue
                q = by_queue.setdefault(r.queue, {"p50": [None] * n, "p95": [None] * n})
                q["p50"][r.slot - 1], q["p95"][r.slot - 1] = low, high
            elif r.level == 1 and r.slot is not None:  # slot
                latency["p50"][r.slot - 1], latency["p95"][r.slot - 1] = low, high
                latency["n"][r.slot - 1] = int(r.n)
            elif r.level == 3:  # everything
                overall = (low, high)
        finished = totals[SUCCEEDED] + totals[FAILED] + totals[CANCELLED]
        attempts = finished + totals[RETRIED]
        seconds = (window.until - window.since).total_seconds()
        return {
            "range": rng.name,
            "slot_seconds": rng.slot_seconds,
            "since": since.isoformat(),
            "until": until.isoformat(),
            "times": [s.timestamp() for s in starts],
            "queues": sorted(per_queue),
            "throughput": {q: v["done"] for q, v in sorted(per_queue.items())},
            "errors": {q: v["failed"] for q, v in sorted(per_queue.items())},
            "latency": latency,
            "latency_by_queue": by_queue if queue is None else {},
            "totals": {
                "counts": totals,
                "throughput": finished / seconds,
                "seconds": seconds,
                "error_rate": (totals[FAILED] + totals[RETRIED]) / attempts if attempts
                else None,
                "latency_p50": overall[0], "latency_p95": overall[1],
            },
        }

    # ---- queues -------------------------------------------------------------------------
    async def queues(self) -> dict[str, Any]:
        """Every queue with its entrypoints: depth, running, oldest ready age,
        throughput, latency, errors, and finished jobs per 10 s over 5 minutes."""
        snap = await self._snapshot()
        rows = []
        for q in snap.queues:
            row = self._queue_row(q)
            row.update({
                "succeeded": q.succeeded, "failed": q.failed, "cancelled": q.cancelled,
                "retried": q.retried, "last_error": q.last_error,
                "last_error_at": _iso(q.last_error_at), "series": q.series,
                "paused": q.paused, "paused_at": _iso(q.paused_at),
                "entrypoints": [{**self._queue_row(e), "entrypoint": e.entrypoint,
                                 "succeeded": e.succeeded, "failed": e.failed,
                                 "cancelled": e.cancelled, "retried": e.retried,
                                 "last_error": e.last_error,
                                 "last_error_at": _iso(e.last_error_at)}
                                for e in q.entrypoints],
            })
            rows.append(row)
        return {"now": snap.now.isoformat(), "window": snap.window,
                "short_window": snap.short_window,
                "series_slot_seconds": snap.window // max(1, len(rows[0]["series"]))
                if rows else None,
                "queues": rows, "unserved": [u.__dict__ for u in snap.unserved()]}

    # ---- jobs ---------------------------------------------------------------------------
    async def jobs(self, query: JobQuery) -> dict[str, Any]:
        """One page of jobs, newest first, with cursors to the older and newer pages.

        With filters, the page holds the matching jobs among the :attr:`scan` jobs
        next to the cursor; when that scan ends before the page is full,
        ``searched`` says how far it went and ``older`` continues from there."""
        filters = query.filters
        newer = query.after is not None
        by_finish = query.by_finish
        # a filter that may match few jobs looks at a bounded range (running jobs
        # are few: their partial index serves them whole)
        bounded = not filters.empty and not (
            query.statuses and set(query.statuses) <= {RUNNING})
        before = None if query.before is None else Cursor.parse(query.before)
        after = None if query.after is None else Cursor.parse(query.after)
        async with self._read() as conn:
            if query.created_before is not None and before is None and not newer \
                    and not by_finish:
                start = await self._locate(conn, query.created_before)
                before = None if start is None else Cursor(start)
            cursor = after if newer else before
            cursor_id = None if cursor is None else cursor.id
            cursor_at = None if cursor is None else cursor.at
            rows = await execute(conn, browse.jobs_page(
                self.stmts, filters, limit=query.limit + 1, newer=newer, cursor_id=cursor_id,
                cursor_at=cursor_at, by_finish=by_finish, scan=self.scan if bounded else None))
            more = len(rows) > query.limit
            rows = rows[:query.limit]
            scan = None
            if bounded and not more:
                scan = next(iter(await execute(conn, browse.jobs_scanned(
                    self.stmts, scan=self.scan, newer=newer, cursor_id=cursor_id,
                    cursor_at=cursor_at, by_finish=by_finish))), None)
        if newer:
            rows.reverse()
        jobs = [self._job_row(r) for r in rows]

        def place(row: Any) -> str:
            return Cursor(int(row.id), row.finished_at if by_finish else None).token

        partial = scan is not None and scan.scanned >= self.scan
        edge = place(scan) if partial and scan is not None else None
        searched = {"jobs": scan.scanned, "to": int(scan.id)} \
            if partial and scan is not None else None
        older: str | None
        newer_cursor: str | None
        if not newer:
            older = place(rows[-1]) if more else edge
            newer_cursor = place(rows[0]) if query.before is not None and rows else None
        else:
            newer_cursor = place(rows[0]) if more else edge
            older = place(rows[-1]) if rows else after.shifted(1).token  # type: ignore[union-attr]
        return {"jobs": jobs, "older": older, "newer": newer_cursor, "searched": searched,
                "order": "finished" if by_finish else "created",
                "scan": self.scan if bounded else None, "filters": query.to_dict()}

    async def _locate(self, conn: AsyncConnection, created_before: datetime) -> int | None:
        """The id after the last job created before ``created_before``, found by
        bisecting the primary key (ids grow with creation time; the filter then
        applies exactly): a few index probes whatever the table's size."""
        [(low, high)] = await execute(conn, browse.id_bounds(self.stmts))
        if low is None or high is None:
            return None
        high += 1
        while low < high:
            mid = (low + high) // 2
            row = next(iter(await execute(conn, browse.job_at(self.stmts, job_id=mid))), None)
            if row is None or row.created_at >= created_before:
                high = mid
            else:
                low = int(row.id) + 1
        return int(high)

    def _job_row(self, r: browse.JobSummary) -> dict[str, Any]:
        out = _jsonable(r._asdict())
        payload = out.pop("payload")
        out["payload_preview"] = payload[:PAYLOAD_PREVIEW]
        out["payload_truncated"] = len(payload) > PAYLOAD_PREVIEW
        error = out["last_error"]
        if error is not None and len(error) > ERROR_PREVIEW:
            out["last_error"] = error[:ERROR_PREVIEW]
            out["last_error_truncated"] = True
        return out

    async def job(self, job_id: int) -> dict[str, Any] | None:
        """One job whole: payload, every attempt's error and traceback, timestamps,
        worker (``None`` if there is no such job)."""
        job = await admin.get_job(self.engine, job_id, schema=self.schema)
        if job is None:
            return None
        text = json.dumps(job["payload"], indent=2, ensure_ascii=False)
        job["payload_bytes"] = len(text.encode())
        if len(text) > MAX_PAYLOAD_TEXT:
            job["payload"] = None
            job["payload_text"] = text[:MAX_PAYLOAD_TEXT]
            job["payload_truncated"] = True
        else:
            job["payload_truncated"] = False
        job["effective_max_attempts"] = job["max_attempts"]
        if job["max_attempts"] is None:  # the task's default, as its worker last applied it
            for err in reversed(job.get("errors") or []):
                if isinstance(err, dict) and isinstance(err.get("max_attempts"), int):
                    job["effective_max_attempts"] = err["max_attempts"]
                    break
        job["actions"] = {"retry": job["status"] in (FAILED, CANCELLED),
                          "cancel": job["status"] in (WAITING, QUEUED, RUNNING)
                          and not (job["status"] == RUNNING and job["cancel_requested_at"])}
        # the page shows these sections when present (progress, result, dependencies)
        fraction = job.pop("progress", None)
        message = job.pop("progress_message", None)
        if fraction is not None:
            job["progress"] = {"fraction": fraction, "percent": round(fraction * 100, 1),
                               "message": message}
        job.pop("awaited", None)
        if job.get("deps_policy") is not None or job.get("has_dependents"):
            job["dependencies"] = await admin.get_dependencies(self.engine, job_id,
                                                               schema=self.schema)
        return job

    # ---- workers ------------------------------------------------------------------------
    async def workers(self, per_worker: int = 50) -> dict[str, Any]:
        """Registered workers (alive or stale) with their running jobs."""
        found: list[WorkerInfo] = await list_workers(self.engine, schema=self.schema,
                                                     stale_after=self.stale_after,
                                                     now=self.clock())
        running: dict[str, list[dict[str, Any]]] = {}
        if found:
            async with self._read() as conn:
                rows = await execute(conn, browse.running_by_worker(
                    self.stmts, worker_ids=[w.id for w in found], per_worker=per_worker))
            for r in rows:
                job = _jsonable(r._asdict())
                del job["worker_id"]
                running.setdefault(r.worker_id, []).append(job)
        return {
            "stale_after": self.stale_after,
            "workers": [{**w.to_dict(), "jobs": running.get(w.id, [])} for w in found],
            "alive": sum(not w.stale for w in found),
            "stale": sum(w.stale for w in found),
        }

    # ---- database health ----------------------------------------------------------------
    async def health(self, *, details: bool = True) -> dict[str, Any]:
        """pgq tables' live and dead rows and vacuum history; what holds back cleanup
        (open transactions, idle in transaction included, replication slots,
        prepared transactions); the settings that matter; plain-language warnings."""
        stmts = self.stmts
        async with self._read() as conn:
            tables = [r._asdict() for r in await execute(conn, health.table_stats(stmts))]
            sessions = [r._asdict() for r in await execute(
                conn, health.open_transactions(stmts, limit=20))]
            slots = [r._asdict() for r in await execute(
                conn, health.replication_slots(stmts))]
            prepared = [r._asdict() for r in await execute(
                conn, health.prepared_transactions(stmts))]
            settings = {r.name: r.setting for r in await execute(
                conn, health.settings(stmts, names=SETTINGS))}
            [db] = await execute(conn, health.database(stmts))
        for s in sessions:
            s["query"] = mask_literals(s["query"])
            s["holds_cleanup"] = s["xmin_age"] is not None or s["xid_age"] is not None
        warnings = self._health_warnings(tables, sessions, slots, prepared, settings)
        out: dict[str, Any] = {"warnings": warnings}
        if details:
            out.update({
                "now": db.now.isoformat(),
                "database": {"name": db.name, "server_version": db.server_version,
                             "frozen_xid_age": db.frozen_xid_age},
                "tables": [_jsonable(r) for r in tables],
                "transactions": [_jsonable(s) for s in sessions],
                "slots": slots, "prepared": [_jsonable(p) for p in prepared],
                "settings": settings,
                "thresholds": {"long_transaction": self.long_transaction,
                               "dead_rows": self.dead_rows},
            })
        return out

    def _health_warnings(self, tables: list[dict[str, Any]], sessions: list[dict[str, Any]],
                         slots: list[dict[str, Any]], prepared: list[dict[str, Any]],
                         settings: dict[str, str]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        limit = self.long_transaction
        why = ("PostgreSQL cannot remove the dead rows that finished and claimed jobs "
               "leave behind while it lasts: pgq_jobs and its indexes fill with them and "
               "claiming jobs slows down (about 10x within seconds on a busy queue).")
        holders = [s for s in sessions if s["holds_cleanup"] and s["xact_age"] is not None
                   and s["xact_age"] >= limit]
        for s in holders[:3]:
            who = ", ".join(x for x in (
                f"pid {s['pid']}", s["usename"] and f"user {s['usename']}",
                s["application_name"] and f"application {s['application_name']!r}",
                s["client_addr"] and f"from {s['client_addr']}") if x)
            state = s["state"] or "unknown state"
            out.append({
                "level": "critical" if s["xact_age"] >= 10 * limit else "warning",
                "title": f"A transaction open for {_duration(s['xact_age'])} holds back "
                         f"cleanup ({state})",
                "text": f"Session {who} is {state} with a transaction that started "
                        f"{_duration(s['xact_age'])} ago. {why} End it: COMMIT or ROLLBACK "
                        f"in that session, or SELECT pg_terminate_backend({s['pid']}); "
                        "idle_in_transaction_session_timeout stops it happening again.",
                "pid": s["pid"],
            })
        for slot in slots:
            if slot["xmin_age"] is not None and (not slot["active"]
                                                 or slot["xmin_age"] > 1_000_000):
                out.append({
                    "level": "critical" if not slot["active"] else "warning",
                    "title": f"Replication slot {slot['slot_name']!r} holds back cleanup"
                             + ("" if slot["active"] else " and nobody uses it"),
                    "text": f"Its xmin is {slot['xmin_age']:,} transactions old. {why} "
                            "Reconnect its consumer, or drop it: SELECT "
                            f"pg_drop_replication_slot('{slot['slot_name']}').",
                })
        for p in prepared:
            if p["age"] is not None and p["age"] >= limit:
                out.append({
                    "level": "critical" if p["age"] >= 10 * limit else "warning",
                    "title": f"A prepared transaction ({p['gid']!r}) has waited "
                             f"{_duration(p['age'])}",
                    "text": f"Prepared transactions hold back cleanup until they are "
                            f"committed or rolled back. {why} Finish it: COMMIT PREPARED or "
                            f"ROLLBACK PREPARED '{p['gid']}'.",
                })
        if settings.get("autovacuum") == "off":
            out.append({"level": "warning", "title": "autovacuum is off",
                        "text": "Nothing removes dead rows from pgq_jobs unless you run "
                                "VACUUM yourself; turn autovacuum on."})
        for t in tables:
            opts = dict(o.split("=", 1) for o in (t["reloptions"] or []) if "=" in o)
            if opts.get("autovacuum_enabled", "").lower() in ("false", "off", "0"):
                out.append({"level": "warning",
                            "title": f"autovacuum is disabled on {t['relname']}",
                            "text": f"ALTER TABLE {t['relname']} RESET (autovacuum_enabled)"})
            dead, live = t["n_dead_tup"] or 0, t["n_live_tup"] or 0
            if dead >= self.dead_rows and dead > live // 5:
                last = t["last_autovacuum"] or t["last_vacuum"]
                out.append({
                    "level": "warning",
                    "title": f"{t['relname']} holds {dead:,} dead rows "
                             f"({dead / max(1, dead + live):.0%} of its rows)",
                    "text": "Dead rows slow down every scan of the table until VACUUM "
                            "removes them; " + (f"it last ran {last.isoformat()}."
                                                if last else "it has never run here.")
                            + " A transaction held open elsewhere, or autovacuum falling "
                              "behind, is the usual cause.",
                })
        return out

    # ---- actions ------------------------------------------------------------------------
    async def cancel(self, ids: Iterable[int]) -> dict[str, Any]:
        """Cancel jobs (:func:`pgq_sa.admin.cancel`)."""
        return dict(await admin.cancel(self.engine, _ids(ids), schema=self.schema))

    async def retry(self, ids: Iterable[int]) -> dict[str, Any]:
        """Retry failed or cancelled jobs (:func:`pgq_sa.admin.retry`)."""
        wanted = _ids(ids)
        done = await admin.retry(self.engine, wanted, schema=self.schema)
        rest = [i for i in wanted if i not in set(done)]
        missing = await admin.missing(self.engine, rest, schema=self.schema) if rest else []
        return {"retried": done, "unchanged": [i for i in rest if i not in set(missing)],
                "missing": missing}

    async def select(self, action: str, query: JobQuery, limit: int | None = None
                     ) -> tuple[list[int], bool]:
        """The ids a bulk ``action`` (``cancel`` or ``retry``) would change: jobs
        matching ``query``'s filters in a state the action applies to, at most
        ``limit`` (:attr:`bulk_limit`); and whether more match."""
        cap = min(limit or self.bulk_limit, self.bulk_limit)
        filters = query.filters
        wanted = set(filters.statuses)
        found: list[int] = []
        if action not in ("cancel", "retry"):
            raise BadRequest(f"unknown action {action!r}: use cancel or retry")
        async with self._read() as conn:
            await execute(conn, browse.bulk_timeout(self.stmts))
            if action == "cancel":
                for status in CANCELLABLE:
                    left = cap + 1 - len(found)
                    if (not wanted or status in wanted) and left > 0:
                        found += await execute(conn, browse.status_ids(
                            self.stmts, status, filters, limit=left))
            elif not wanted or wanted & {FAILED, CANCELLED}:
                found = await execute(conn, browse.retryable_ids(self.stmts, filters,
                                                                 limit=cap + 1))
        return sorted(found[:cap]), len(found) > cap

    async def bulk(self, action: str, query: JobQuery, *, limit: int | None = None,
                   dry_run: bool = False) -> dict[str, Any]:
        """Apply ``action`` to the jobs :meth:`select` finds (``dry_run``: only count
        them, for the confirmation)."""
        ids, more = await self.select(action, query, limit)
        out: dict[str, Any] = {"action": action, "matched": len(ids), "more": more,
                               "limit": min(limit or self.bulk_limit, self.bulk_limit)}
        if dry_run or not ids:
            return out
        result = await (self.cancel(ids) if action == "cancel" else self.retry(ids))
        return {**out, "result": result}

    # ---- periodic schedules --------------------------------------------------------------
    async def schedules(self) -> dict[str, Any]:
        """The periodic schedules (:func:`pgq_sa.admin.schedules`): next and last
        firing, last job and its status, orphaned ones."""
        rows = await admin.schedules(self.engine, schema=self.schema)
        now = self.clock() or datetime.now(timezone.utc)
        return {"now": now.isoformat(), "schedules": rows,
                "orphaned": sum(r["orphaned"] for r in rows)}

    async def run_schedule(self, name: str) -> dict[str, Any] | None:
        """Enqueue schedule ``name``'s job now (:func:`pgq_sa.admin.run_schedule`);
        ``None``: no such schedule."""
        job_id = await admin.run_schedule(self.engine, name, schema=self.schema)
        return None if job_id is None else {"action": "run", "schedule": name, "id": job_id}

    # ---- pause / resume (flow control) --------------------------------------------------
    async def pause(self, queue: str, paused: bool) -> dict[str, Any]:
        """Pause or resume ``queue`` (:func:`pgq_sa.admin.pause_queue`,
        :func:`~pgq_sa.admin.resume_queue`)."""
        if not queue:
            raise BadRequest("give a queue name")
        call = admin.pause_queue if paused else admin.resume_queue
        state = await call(self.engine, queue, schema=self.schema)
        return {"action": "pause" if paused else "resume", "queue": state.name,
                "paused": state.paused, "paused_at": _iso(state.paused_at)}


class NotAvailable(BadRequest):
    """An action of a feature this pgq-sa does not have yet."""


#: States a bulk cancel selects (each through its partial index).
CANCELLABLE = (QUEUED, RUNNING)
#: Longest payload (as indented JSON) the job page shows.
MAX_PAYLOAD_TEXT = 256 * 1024
#: Settings the health page reads.
SETTINGS = ("autovacuum", "autovacuum_naptime", "idle_in_transaction_session_timeout",
            "track_counts", "hot_standby_feedback", "max_prepared_transactions")


#: Latency charts: finished jobs sampled per slot, and (one queue) jobs looked at
#: per slot to find them.
PER_SLOT = 50
SLOT_SCAN = 250


class Shared:
    """Results shared for ``max_age`` seconds between requests: the first computes
    (in a task of its own, so a caller that goes away does not cancel it for the
    others), those arriving meanwhile await the same task, those within
    ``max_age`` of its end get its result.  Failures are not kept."""

    def __init__(self, max_age: float, size: int = 64) -> None:
        self.max_age = max_age
        self.size = size
        self._tasks: dict[Any, tuple[asyncio.Future[Any], list[float]]] = {}

    async def get(self, key: Any, make: Callable[[], Awaitable[Any]]) -> Any:
        if self.max_age <= 0:
            return await make()
        now = time.monotonic()
        for old in [k for k, (task, ended) in self._tasks.items()
                    if task.done() and (task.cancelled() or task.exception() is not None
                                        or now - ended[0] >= self.max_age)]:
            del self._tasks[old]
        if key not in self._tasks:
            if len(self._tasks) >= self.size:  # many different keys: share nothing
                return await make()
            task = asyncio.ensure_future(make())
            ended = [float("inf")]
            task.add_done_callback(lambda _: ended.__setitem__(0, time.monotonic()))
            self._tasks[key] = (task, ended)
        return await asyncio.shield(self._tasks[key][0])


async def _gather(*coros: Awaitable[Any]) -> list[Any]:
    """Run ``coros`` at once (each on its own connection); the first failure is
    raised as it is, after all of them ended."""
    results = await asyncio.gather(*coros, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results


def _ids(ids: Iterable[int]) -> list[int]:
    out = []
    for i in ids:
        if isinstance(i, bool) or not isinstance(i, int):
            raise BadRequest("ids must be integers")
        out.append(i)
    return out


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def _clamp(value: float | None) -> float | None:
    return None if value is None else max(0.0, float(value))


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in row.items()}


def _duration(seconds: float) -> str:
    return format_seconds(seconds)
