"""Browsing jobs: the web dashboard's jobs list, its bulk selections and the
running jobs of each worker.

- Pages of the jobs list by keyset (never ``OFFSET``): newest first by id, or,
  for finished jobs, by finish time through the partial index on
  ``finished_at``.  With ``bounded``, the filters apply to the ``scan`` jobs next
  to the cursor only (an index range), so a filter that matches few jobs costs a
  scan of ``scan`` rows at most, and :func:`jobs_scanned` tells how far it went.
- Locating a creation time: ids grow with creation, so a few primary-key probes
  (:func:`id_bounds`, :func:`job_at`) find where a time starts.
- Bulk selections: up to ``limit`` ids of jobs a cancel or retry applies to,
  queued and running jobs through their partial indexes, failed and cancelled
  ones through the one on ``finished_at``.

Which filters a statement has is its :class:`Shape` (the values are bound); each
shape is one statement, built once (:meth:`pgq_sa.sql.Statements.jobs_page`).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    Select,
    Text,
    bindparam,
    cast,
    func,
    select,
    text,
    true,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY

from ..schema import CANCELLED, FAILED, FINISHED_STATUSES, QUEUED, RUNNING, Tables
from .common import TS, literal, status_in, status_is

__all__ = ["ERROR_PREVIEW", "MAX_ID", "PAYLOAD_PREVIEW", "Shape", "bulk_timeout", "id_bounds",
           "job_at", "jobs_page", "jobs_scanned", "retryable_ids", "running_by_worker",
           "status_ids"]

#: Largest bigint: the cursor of the first page (``id < this``).
MAX_ID = 2**63 - 1
#: Characters of the payload (as JSON text) and of the last error sent per row of
#: the jobs list (one more, to tell a cut); the job's own page shows them whole.
PAYLOAD_PREVIEW = 160
ERROR_PREVIEW = 240


class Shape(NamedTuple):
    """Which filters a jobs statement has (the values are bound parameters of the
    same names): states (literals, so partial indexes stay usable), and whether it
    filters on ``queue``, ``entrypoint``, ``created_after`` and ``created_before``."""

    statuses: tuple[str, ...] = ()
    queue: bool = False
    entrypoint: bool = False
    created_after: bool = False
    created_before: bool = False

    def where(self, cols: Any, *, statuses: bool = True) -> list[ColumnElement[bool]]:
        """The predicates on ``cols`` (a table's or a subquery's columns)."""
        out: list[ColumnElement[bool]] = []
        if statuses and self.statuses:
            out.append(status_is(cols.status, self.statuses[0]) if len(self.statuses) == 1
                       else status_in(cols.status, self.statuses))
        if self.queue:
            out.append(cols.queue == bindparam("queue", type_=Text))
        if self.entrypoint:
            out.append(cols.entrypoint == bindparam("entrypoint", type_=Text))
        if self.created_after:
            out.append(cols.created_at >= bindparam("created_after", type_=TS))
        if self.created_before:
            out.append(cols.created_at < bindparam("created_before", type_=TS))
        return out


def _infinity(sign: str = "") -> ColumnElement[Any]:
    return cast(literal(f"'{sign}infinity'"), TS)


def _cursor(cols: Any, newer: bool, by_finish: bool
            ) -> tuple[list[ColumnElement[bool]], list[Any]]:
    """The predicates past the cursor and the order, on ``cols``: by id, older than
    ``before_id`` (newest first) or newer than ``after_id`` (oldest first); by finish
    time, past (``before_at``, ``before_id``) or (``after_at``, ``after_id``)."""
    if not by_finish:
        if newer:
            return ([cols.id > func.coalesce(bindparam("after_id", type_=BigInteger), 0)],
                    [cols.id.asc()])
        return ([cols.id < func.coalesce(bindparam("before_id", type_=BigInteger),
                                         literal(str(MAX_ID)))],
                [cols.id.desc()])
    finished = [status_in(cols.status, FINISHED_STATUSES)] if hasattr(cols, "status") else []
    if newer:
        at = bindparam("after_at", type_=TS)
        after = bindparam("after_id", type_=BigInteger)
        return ([*finished,
                 cols.finished_at >= func.coalesce(at, _infinity("-")),
                 (cols.finished_at > at) | (cols.id > func.coalesce(after, 0))],
                [cols.finished_at.asc(), cols.id.asc()])
    at = bindparam("before_at", type_=TS)
    before = bindparam("before_id", type_=BigInteger)
    # (finished_at, id) < (at, before): the first term bounds the index scan
    return ([*finished,
             cols.finished_at <= func.coalesce(at, _infinity()),
             (cols.finished_at < at) | (cols.id < func.coalesce(before, literal(str(MAX_ID))))],
            [cols.finished_at.desc(), cols.id.desc()])


def _page_columns(tables: Tables) -> list[Any]:
    jobs = tables.jobs
    return [
        jobs.c.id, jobs.c.queue, jobs.c.entrypoint, jobs.c.status, jobs.c.priority,
        jobs.c.attempts, jobs.c.max_attempts, jobs.c.created_at, jobs.c.run_at,
        jobs.c.started_at, jobs.c.finished_at, jobs.c.worker_id,
        func.left(jobs.c.last_error, ERROR_PREVIEW + 1).label("last_error"),
        func.left(cast(jobs.c.payload, Text), PAYLOAD_PREVIEW + 1).label("payload"),
        jobs.c.cancel_requested_at,
    ]


def _limit() -> Any:
    return bindparam("limit", type_=Integer)


def jobs_page(tables: Tables, shape: Shape, *, newer: bool, bounded: bool,
              by_finish: bool) -> Select[Any]:
    """Up to ``limit`` jobs of ``shape`` past the cursor (see :func:`_cursor`), with
    a preview of their payload and last error.  ``bounded``: the filters apply to
    the ``scan`` jobs next to the cursor only."""
    jobs = tables.jobs
    where, order = _cursor(jobs.c, newer, by_finish)
    if bounded:
        scan = (
            select(jobs.c.id, jobs.c.status, jobs.c.queue, jobs.c.entrypoint,
                   jobs.c.created_at, jobs.c.finished_at)
            .where(*where)
            .order_by(*order)
            .limit(bindparam("scan", type_=Integer))
            .subquery("scan")
        )
        hits = (select(scan.c.id).where(*shape.where(scan.c))
                .order_by(*_cursor(scan.c, newer, by_finish)[1])
                .limit(_limit()))
        stmt = select(*_page_columns(tables)).where(jobs.c.id.in_(hits))
    else:
        stmt = select(*_page_columns(tables)).where(*where, *shape.where(jobs.c)).limit(_limit())
    return stmt.order_by(*order)


def jobs_scanned(tables: Tables, *, newer: bool, by_finish: bool) -> Select[Any]:
    """``(scanned, id, finished_at)`` of the bounded scan of :func:`jobs_page`: how
    many jobs it looked at, and the last one it reached (its cursor)."""
    jobs = tables.jobs
    where, order = _cursor(jobs.c, newer, by_finish)
    scan = (select(jobs.c.id, jobs.c.finished_at).where(*where).order_by(*order)
            .limit(bindparam("scan", type_=Integer)).subquery("scan"))
    _, reverse = _cursor(scan.c, not newer, by_finish)
    return (select(func.count().over().label("scanned"), scan.c.id, scan.c.finished_at)
            .order_by(*reverse).limit(1))


def id_bounds(tables: Tables) -> Select[Any]:
    """``(low, high)``: the smallest and largest job id."""
    jobs = tables.jobs
    return select(func.min(jobs.c.id).label("low"), func.max(jobs.c.id).label("high"))


def job_at(tables: Tables) -> Select[Any]:
    """The first job at or after ``id``: its id and creation time."""
    jobs = tables.jobs
    return (select(jobs.c.id, jobs.c.created_at)
            .where(jobs.c.id >= bindparam("id", type_=BigInteger))
            .order_by(jobs.c.id).limit(1))


def bulk_timeout(tables: Tables) -> Any:
    """For a bulk action's selection: it gives up after 10 s (narrow the filters)."""
    return text("SET LOCAL statement_timeout = '10s'")


def status_ids(tables: Tables, status: str, shape: Shape) -> Select[Any]:
    """Up to ``limit`` ids of jobs in ``status`` (a literal: queued and running jobs
    through their partial indexes) matching ``shape``'s other filters."""
    jobs = tables.jobs
    if status != QUEUED:
        return (select(jobs.c.id)
                .where(status_is(jobs.c.status, status), *shape.where(jobs.c, statuses=False))
                .limit(_limit()))
    # queued: plain jobs (the dequeue index) and flow-controlled ones (the flow index)
    parts = [select(jobs.c.id)
             .where(status_is(jobs.c.status, status), flow, *shape.where(jobs.c, statuses=False))
             .limit(_limit())
             for flow in (jobs.c.flow_key.is_(None), jobs.c.flow_key.isnot(None))]
    found = union_all(*parts).subquery("found")
    return select(found.c.id).limit(_limit())


def retryable_ids(tables: Tables, shape: Shape) -> Select[Any]:
    """Up to ``limit`` ids of failed or cancelled jobs (those of ``shape``'s states
    among them, if it names any) matching its other filters, most recently finished
    first (the partial index on ``finished_at``)."""
    jobs = tables.jobs
    wanted = tuple(s for s in shape.statuses if s in (FAILED, CANCELLED)) or (FAILED, CANCELLED)
    return (select(jobs.c.id)
            .where(status_in(jobs.c.status, wanted), *shape.where(jobs.c, statuses=False))
            .order_by(jobs.c.finished_at.desc())
            .limit(_limit()))


def running_by_worker(tables: Tables) -> Select[Any]:
    """Up to ``per_worker`` running jobs of each of ``worker_ids``, oldest first
    (the partial index on running jobs)."""
    jobs = tables.jobs
    worker = (func.unnest(cast(bindparam("worker_ids", type_=ARRAY(Text)), ARRAY(Text)))
              .table_valued("id").render_derived(name="wk"))
    theirs = (
        select(jobs.c.id, jobs.c.queue, jobs.c.entrypoint, jobs.c.attempts,
               jobs.c.started_at, jobs.c.heartbeat_at, jobs.c.cancel_requested_at)
        .where(status_is(jobs.c.status, RUNNING), jobs.c.worker_id == worker.c.id)
        .order_by(jobs.c.started_at, jobs.c.id)
        .limit(bindparam("per_worker", type_=Integer))
        .lateral("theirs")
    )
    return select(worker.c.id.label("worker_id"), theirs).select_from(worker.join(theirs, true()))
