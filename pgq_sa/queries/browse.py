"""Browsing jobs: the web dashboard's jobs list, bulk selections and running jobs
per worker (:mod:`pgq_sa.sql.browse`).

The filters of a list are a :class:`JobFilters` (values); the statement is chosen
by which of them are set, and their values are bound.  A place in the list (the
cursor) is a job's id, and its finish time when the list is in finish order.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from ..sql import Statements
from ..sql.browse import ERROR_PREVIEW, PAYLOAD_PREVIEW, Shape
from . import Query, first_column

__all__ = ["ERROR_PREVIEW", "PAYLOAD_PREVIEW", "IdBounds", "JobAt", "JobFilters", "JobSummary",
           "RunningJob", "Scanned", "bulk_timeout", "id_bounds", "job_at", "jobs_page",
           "jobs_scanned", "retryable_ids", "running_by_worker", "status_ids"]


class JobFilters(NamedTuple):
    """Filters of the jobs list: ``None`` (or no states) filters nothing."""

    statuses: tuple[str, ...] = ()
    queue: str | None = None
    entrypoint: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None

    @property
    def shape(self) -> Shape:
        """Which filters are set (what the statement depends on)."""
        return Shape(tuple(self.statuses), self.queue is not None, self.entrypoint is not None,
                     self.created_after is not None, self.created_before is not None)

    @property
    def empty(self) -> bool:
        """No filter set."""
        return self.shape == Shape()

    def params(self) -> dict[str, Any]:
        """The values of the filters set (states are literals of the statement)."""
        return {name: value for name, value in self._asdict().items()
                if name != "statuses" and value is not None}


class JobSummary(NamedTuple):
    """A row of the jobs list: ``last_error`` and ``payload`` (JSON text) cut to one
    character more than :data:`ERROR_PREVIEW` / :data:`PAYLOAD_PREVIEW`, so that a
    cut shows."""

    id: int
    queue: str
    entrypoint: str
    status: str
    priority: int
    attempts: int
    max_attempts: int | None
    created_at: datetime
    run_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    worker_id: str | None
    last_error: str | None
    payload: str
    cancel_requested_at: datetime | None


class Scanned(NamedTuple):
    """How many jobs a bounded page looked at, and the last one it reached."""

    scanned: int
    id: int
    finished_at: datetime | None


class IdBounds(NamedTuple):
    low: int | None
    high: int | None


class JobAt(NamedTuple):
    id: int
    created_at: datetime


class RunningJob(NamedTuple):
    """A running job of a worker."""

    worker_id: str
    id: int
    queue: str
    entrypoint: str
    attempts: int
    started_at: datetime | None
    heartbeat_at: datetime | None
    cancel_requested_at: datetime | None


def _cursor(newer: bool, by_finish: bool, cursor_id: int | None,
            cursor_at: datetime | None) -> dict[str, Any]:
    side = "after" if newer else "before"
    params: dict[str, Any] = {f"{side}_id": cursor_id}
    if by_finish:
        params[f"{side}_at"] = cursor_at
    return params


def jobs_page(stmts: Statements, filters: JobFilters, *, limit: int, newer: bool = False,
              cursor_id: int | None = None, cursor_at: datetime | None = None,
              by_finish: bool = False, scan: int | None = None) -> Query[JobSummary]:
    """Up to ``limit`` jobs matching ``filters`` past the cursor: older (newest
    first), or with ``newer`` newer (oldest first); by id, or with ``by_finish``
    (finished states only) by finish time (``cursor_at``) then id.  ``scan``: the
    filters apply to the ``scan`` jobs next to the cursor only (a bounded scan; see
    :func:`jobs_scanned`)."""
    params = {**filters.params(), "limit": limit,
              **_cursor(newer, by_finish, cursor_id, cursor_at)}
    if scan is not None:
        params["scan"] = scan
    stmt = stmts.jobs_page(filters.shape, newer=newer, bounded=scan is not None,
                           by_finish=by_finish)
    return Query(stmt, params, JobSummary._make)


def jobs_scanned(stmts: Statements, *, scan: int, newer: bool = False,
                 cursor_id: int | None = None, cursor_at: datetime | None = None,
                 by_finish: bool = False) -> Query[Scanned]:
    """How far the bounded scan of :func:`jobs_page` from this cursor went."""
    return Query(stmts.jobs_scanned(newer=newer, by_finish=by_finish),
                 {"scan": scan, **_cursor(newer, by_finish, cursor_id, cursor_at)},
                 Scanned._make)


def id_bounds(stmts: Statements) -> Query[IdBounds]:
    """The smallest and largest job id (``None`` without jobs)."""
    return Query(stmts.id_bounds, {}, IdBounds._make)


def job_at(stmts: Statements, *, job_id: int) -> Query[JobAt]:
    """The first job at or after ``job_id``."""
    return Query(stmts.job_at, {"id": job_id}, JobAt._make)


def bulk_timeout(stmts: Statements) -> Query[Any]:
    """``SET LOCAL statement_timeout`` for a bulk action's selection."""
    return Query(stmts.bulk_timeout, {}, first_column)


def status_ids(stmts: Statements, status: str, filters: JobFilters, *,
               limit: int) -> Query[int]:
    """Up to ``limit`` ids of jobs in ``status`` matching the other ``filters``."""
    shape = filters.shape._replace(statuses=())  # the status is the statement's own
    return Query(stmts.status_ids(status, shape),
                 {**filters.params(), "limit": limit}, first_column)


def retryable_ids(stmts: Statements, filters: JobFilters, *, limit: int) -> Query[int]:
    """Up to ``limit`` ids of failed or cancelled jobs matching ``filters``, most
    recently finished first."""
    return Query(stmts.retryable_ids(filters.shape), {**filters.params(), "limit": limit},
                 first_column)


def running_by_worker(stmts: Statements, *, worker_ids: Sequence[str],
                      per_worker: int) -> Query[RunningJob]:
    """Up to ``per_worker`` running jobs of each of ``worker_ids``, oldest first."""
    return Query(stmts.running_by_worker, {"worker_ids": list(worker_ids),
                                           "per_worker": per_worker}, RunningJob._make)
