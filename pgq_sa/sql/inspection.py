"""Inspection: what the dashboard, ``pgq-sa queues``/``workers``/``jobs`` and the
Prometheus sampler read.

Bounded queries: ``pgq_stats`` rows of a window (primary-key ranges), an exact
percentile sample of the most recently finished jobs (a ``LIMIT`` on the partial
index over ``finished_at``), queued and running jobs through their partial
indexes, the workers table, and single jobs by id.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    Double,
    Integer,
    Select,
    Text,
    and_,
    bindparam,
    cast,
    func,
    or_,
    select,
    text,
    tuple_,
    union_all,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import ARRAY

from ..schema import FINISHED_STATUSES, QUEUED, RUNNING, Tables
from .common import TS, distinct_on, latency, literal, now, seconds, status_in, status_is

__all__ = ["clock", "existing_ids", "flow_keys", "get_job", "jobs_in", "last_errors", "list_jobs",
           "no_parallel", "pending", "queued", "running", "series", "timings", "window",
           "workers"]


def clock(tables: Tables) -> Any:
    """The current time (``now``, or the database clock)."""
    return select(now())


def no_parallel(tables: Tables) -> Any:
    """For the dashboard's read transaction: its queries touch a few thousand rows at
    most, but ``jsonb_each`` is estimated at 100 rows per call, which tempts the
    planner into parallel plans whose start-up costs more than the work."""
    return text("SET LOCAL max_parallel_workers_per_gather = 0")


def _per_second(tables: Tables) -> Any:
    return tables.stats.c.span == literal("1")


def window(tables: Tables) -> Any:
    """Per (queue, entrypoint, status): counts over the window [since, until) and over
    its short tail [since_short, until).

    The window is read from as few rows as possible: whole minutes [minutes_from,
    minutes_to) from per-minute rows, the ragged ends from per-second rows.  The
    pieces do not overlap, so sums are exact."""
    stats = tables.stats
    since = bindparam("since", type_=TS)
    until = bindparam("until", type_=TS)
    per_second = _per_second(tables)
    minutes_from = bindparam("minutes_from", type_=TS)
    minutes_to = bindparam("minutes_to", type_=TS)
    mixed = or_(
        and_(stats.c.span == literal("60"), stats.c.bucket >= minutes_from,
             stats.c.bucket < minutes_to),
        and_(per_second, or_(and_(stats.c.bucket >= since, stats.c.bucket < minutes_from),
                             and_(stats.c.bucket >= minutes_to, stats.c.bucket < until))),
    )
    since_short = bindparam("since_short", type_=TS)
    in_short = and_(per_second, stats.c.bucket >= since_short, stats.c.bucket < until)
    return (
        select(
            stats.c.queue, stats.c.entrypoint, stats.c.status,
            func.coalesce(func.sum(stats.c["count"]).filter(mixed), 0).label("n"),
            func.coalesce(func.sum(stats.c["count"]).filter(in_short), 0).label("n_short"),
        )
        .where(or_(mixed, in_short))
        .group_by(stats.c.queue, stats.c.entrypoint, stats.c.status)
    )


def timings(tables: Tables) -> Any:
    """p50/p95 of latency and run time over the ``sample`` most recently finished jobs
    of [since, until) (newest first, through the partial index on ``finished_at``):
    exact percentiles of a bounded sample, with GROUPING SETS rows for each (queue,
    entrypoint) (``level`` 0), each queue (1) and all (3)."""
    jobs = tables.jobs
    since = bindparam("since", type_=TS)
    until = bindparam("until", type_=TS)
    recent = (
        select(
            jobs.c.queue, jobs.c.entrypoint,
            latency(jobs).label("latency"),
            seconds(jobs.c.finished_at - jobs.c.started_at).label("runtime"),
        )
        .where(status_in(jobs.c.status, FINISHED_STATUSES), jobs.c.finished_at >= since,
               jobs.c.finished_at < until, jobs.c.started_at.is_not(None))
        .order_by(jobs.c.finished_at.desc())
        .limit(bindparam("sample", type_=Integer))
        .cte("recent")
    )
    quantiles = literal("ARRAY[0.5, 0.95]")

    def percentiles(column: Any) -> Any:
        return func.percentile_disc(quantiles).within_group(column)

    return (
        select(
            recent.c.queue, recent.c.entrypoint,
            func.grouping(recent.c.queue, recent.c.entrypoint).label("level"),
            func.count().label("n"),
            percentiles(recent.c.latency).label("latency"),
            percentiles(recent.c.runtime).label("runtime"),
        )
        .group_by(func.grouping_sets(
            tuple_(recent.c.queue, recent.c.entrypoint), tuple_(recent.c.queue),
            tuple_()))
    )


def series(tables: Tables) -> Any:
    """Finished jobs per queue per slot (``slot_seconds`` wide) of [since, until), for
    sparklines."""
    stats = tables.stats
    since = bindparam("since", type_=TS)
    until = bindparam("until", type_=TS)
    slot_seconds = bindparam("slot_seconds", type_=Double)
    slot = cast(func.floor(seconds(stats.c.bucket - since) / slot_seconds), Integer)
    return (
        select(stats.c.queue, slot.label("slot"), func.sum(stats.c["count"]).label("n"))
        .where(and_(_per_second(tables), stats.c.bucket >= since, stats.c.bucket < until),
               status_in(stats.c.status, FINISHED_STATUSES))
        .group_by(stats.c.queue, slot)
    )


def last_errors(tables: Tables) -> Any:
    """The latest error message per (queue, entrypoint) since ``since``."""
    stats = tables.stats
    return distinct_on(
        select(stats.c.queue, stats.c.entrypoint, stats.c.last_error, stats.c.bucket)
        .where(_per_second(tables), stats.c.bucket >= bindparam("since", type_=TS),
               stats.c.last_error.is_not(None)),
        stats.c.queue, stats.c.entrypoint,
    ).order_by(stats.c.queue, stats.c.entrypoint, stats.c.bucket.desc())


def queued(tables: Tables) -> Any:
    """Queued jobs per (queue, entrypoint): ready, scheduled, the oldest ready
    ``run_at`` (plain jobs through the partial dequeue index, flow-controlled ones
    through the flow index: each part repeats its index's predicate)."""
    jobs = tables.jobs
    at = now()
    parts = [
        select(jobs.c.queue, jobs.c.entrypoint, jobs.c.run_at)
        .where(status_is(jobs.c.status, QUEUED), flow)
        for flow in (jobs.c.flow_key.is_(None), jobs.c.flow_key.isnot(None))
    ]
    rows = union_all(*parts).subquery("q")
    ready = rows.c.run_at <= at
    return (
        select(
            rows.c.queue, rows.c.entrypoint,
            func.count().filter(ready).label("ready"),
            func.count().filter(rows.c.run_at > at).label("scheduled"),
            func.min(rows.c.run_at).filter(ready).label("oldest_ready"),
        )
        .group_by(rows.c.queue, rows.c.entrypoint)
    )


def running(tables: Tables) -> Any:
    """Running jobs per (queue, entrypoint) (through the partial running index)."""
    jobs = tables.jobs
    return (
        select(jobs.c.queue, jobs.c.entrypoint, func.count().label("running"))
        .where(status_is(jobs.c.status, RUNNING))
        .group_by(jobs.c.queue, jobs.c.entrypoint)
    )


def workers(tables: Tables) -> Any:
    """Every registered worker with its running jobs and heartbeat age (seconds)."""
    jobs, worker_rows = tables.jobs, tables.workers
    running_jobs = (
        select(func.count())
        .where(status_is(jobs.c.status, RUNNING), jobs.c.worker_id == worker_rows.c.id)
        .scalar_subquery()
    )
    return (
        select(worker_rows.c.id, worker_rows.c.host, worker_rows.c.pid, worker_rows.c.queues,
               worker_rows.c.entrypoints, worker_rows.c.concurrency, worker_rows.c.started_at,
               worker_rows.c.heartbeat_at,
               running_jobs.label("running"),
               seconds(now() - worker_rows.c.heartbeat_at).label("heartbeat_age"))
        .order_by(worker_rows.c.started_at, worker_rows.c.id)
    )


def get_job(tables: Tables) -> Any:
    """Every column of job ``id``."""
    jobs = tables.jobs
    return select(jobs).where(jobs.c.id == bindparam("id", type_=postgresql.BIGINT))


def existing_ids(tables: Tables) -> Any:
    """Which of ``ids`` are jobs (to tell "finished" from "no such job")."""
    jobs = tables.jobs
    return select(jobs.c.id).where(
        jobs.c.id == func.any(bindparam("ids", type_=ARRAY(postgresql.BIGINT))))


def list_jobs(tables: Tables, *, statuses: Sequence[str] = (), queue: bool = False,
              entrypoint: bool = False) -> Select[Any]:
    """Jobs, newest first, at most ``limit``; in ``statuses`` (literals, so partial
    indexes stay usable), and of ``queue`` / ``entrypoint`` when those are true."""
    jobs = tables.jobs
    stmt = select(
        jobs.c.id, jobs.c.queue, jobs.c.entrypoint, jobs.c.status, jobs.c.priority,
        jobs.c.attempts, jobs.c.max_attempts, jobs.c.created_at, jobs.c.run_at,
        jobs.c.started_at, jobs.c.finished_at, jobs.c.worker_id, jobs.c.last_error,
        jobs.c.progress, jobs.c.progress_message,
    )
    if statuses:
        stmt = stmt.where(status_in(jobs.c.status, statuses))
    if queue:
        stmt = stmt.where(jobs.c.queue == bindparam("queue", type_=Text))
    if entrypoint:
        stmt = stmt.where(jobs.c.entrypoint == bindparam("entrypoint", type_=Text))
    return stmt.order_by(jobs.c.id.desc()).limit(bindparam("limit", type_=Integer))


def jobs_in(tables: Tables, *, statuses: Sequence[str], entrypoint: bool = False,
            queue: bool = False) -> Select[Any]:
    """Every column of the jobs in ``statuses``, oldest first; of ``entrypoint`` and
    ``queue`` when those are true (:mod:`pgq_sa.testing`)."""
    jobs = tables.jobs
    stmt = select(jobs).where(status_in(jobs.c.status, statuses)).order_by(jobs.c.id)
    if entrypoint:
        stmt = stmt.where(jobs.c.entrypoint == bindparam("entrypoint", type_=Text))
    if queue:
        stmt = stmt.where(jobs.c.queue == bindparam("queue", type_=Text))
    return stmt


def pending(tables: Tables) -> Any:
    """How many jobs of ``entrypoints`` in ``queues`` are running or ready to run
    (:func:`pgq_sa.testing.work_until_empty` waits for none)."""
    jobs = tables.jobs
    return select(func.count()).where(
        jobs.c.queue == func.any(bindparam("queues", type_=ARRAY(Text))),
        jobs.c.entrypoint == func.any(bindparam("entrypoints", type_=ARRAY(Text))),
        or_(status_is(jobs.c.status, RUNNING),
            and_(status_is(jobs.c.status, QUEUED), jobs.c.run_at <= now())),
    )


def flow_keys(tables: Tables) -> Any:
    """Flow-controlled jobs per (queue, flow key): ready and running, with their
    limits (``pgq-sa queues``); the keys with the most ready jobs first, at most
    ``limit``."""
    jobs = tables.jobs
    at = now()
    ready = and_(status_is(jobs.c.status, QUEUED), jobs.c.run_at <= at)
    return (
        select(
            jobs.c.queue, jobs.c.flow_key,
            func.count().filter(ready).label("ready"),
            func.count().filter(status_is(jobs.c.status, RUNNING)).label("running"),
            func.max(jobs.c.concurrency_limit).label("concurrency_limit"),
            func.max(jobs.c.rate_limit).label("rate_limit"),
            func.max(jobs.c.rate_period).label("rate_period"),
        )
        .where(status_in(jobs.c.status, (QUEUED, RUNNING)), jobs.c.flow_key.isnot(None))
        .group_by(jobs.c.queue, jobs.c.flow_key)
        .order_by(literal("ready").desc(), jobs.c.queue, jobs.c.flow_key)
        .limit(bindparam("limit", type_=Integer))
    )
