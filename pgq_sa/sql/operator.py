"""Operator actions: cancel, retry and prune jobs; notify workers."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    Integer,
    Text,
    bindparam,
    cast,
    delete,
    func,
    null,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import ARRAY

from ..schema import CANCELLED, FAILED, FINISHED_STATUSES, QUEUED, RUNNING, WAITING, Tables
from .common import TS, literal, now, status_in, status_is
from .statistics import record

__all__ = ["cancel_queued", "cancel_running", "notify", "prune_jobs", "prune_stats", "retry"]


def _ids() -> Any:
    return bindparam("ids", type_=ARRAY(postgresql.BIGINT))


def cancel_queued(tables: Tables) -> Any:
    """Cancel the queued (or waiting) jobs of ``ids`` outright (and count them in ``pgq_stats``);
    returns their ids."""
    jobs = tables.jobs
    cancelled = (
        update(jobs)
        .where(jobs.c.id == func.any(_ids()), status_in(jobs.c.status, (QUEUED, WAITING)))
        .values(status=literal(f"'{CANCELLED}'"), finished_at=now(),
                cancel_requested_at=now())
        .returning(jobs.c.id, jobs.c.queue, jobs.c.entrypoint)
        .cte("can")
    )
    observed = select(cancelled.c.queue, cancelled.c.entrypoint,
                      literal(f"'{CANCELLED}'").label("status"),
                      cast(null(), Text).label("message")).cte("obs")
    return select(cancelled.c.id).add_cte(record(tables, observed))


def cancel_running(tables: Tables) -> Any:
    """Flag the running jobs of ``ids``: their worker cancels them and records
    ``cancelled``.  Returns ``(id, worker_id)``."""
    jobs = tables.jobs
    return (
        update(jobs)
        .where(jobs.c.id == func.any(_ids()), status_is(jobs.c.status, RUNNING))
        .values(cancel_requested_at=func.coalesce(jobs.c.cancel_requested_at, now()))
        .returning(jobs.c.id, jobs.c.worker_id)
    )


def retry(tables: Tables) -> Any:
    """Put the failed or cancelled jobs of ``ids`` back in the queue with fresh
    attempts.  Returns ``(id, queue)``."""
    jobs = tables.jobs
    return (
        update(jobs)
        .where(jobs.c.id == func.any(_ids()), status_in(jobs.c.status, (FAILED, CANCELLED)))
        .values(
            status=literal(f"'{QUEUED}'"),
            run_at=now(),
            attempts=0,
            finished_at=None,
            started_at=None,
            worker_id=None,
            heartbeat_at=None,
            cancel_requested_at=None,
        )
        .returning(jobs.c.id, jobs.c.queue)
    )


def prune_jobs(tables: Tables) -> Any:
    """Delete up to ``limit`` jobs that finished before ``before``, and their
    dependency edges."""
    jobs = tables.jobs
    old = (
        select(jobs.c.id)
        .where(
            status_in(jobs.c.status, FINISHED_STATUSES),
            jobs.c.finished_at < bindparam("before", type_=TS),
        )
        .limit(bindparam("limit", type_=Integer))
        .with_for_update(skip_locked=True)
        .cte("old")
    )
    pruned = (
        delete(jobs).where(jobs.c.id == old.c.id)
        .returning(jobs.c.id, jobs.c.has_dependents, jobs.c.deps_policy).cte("pruned")
    )
    # their edges (only jobs of a workflow have any): pgq_job_deps has no foreign keys
    deps = tables.deps
    edges = delete(deps).where(or_(
        deps.c.depends_on.in_(select(pruned.c.id).where(pruned.c.has_dependents)),
        deps.c.job_id.in_(select(pruned.c.id).where(pruned.c.deps_policy.is_not(None))),
    )).cte("pruned_edges")
    return select(pruned.c.id).add_cte(edges)


def prune_stats(tables: Tables) -> Any:
    """Delete up to ``limit`` statistics rows of width ``span`` older than ``before``."""
    stats = tables.stats
    old = (
        select(stats.c.span, stats.c.bucket, stats.c.queue, stats.c.entrypoint, stats.c.status)
        .where(stats.c.span == bindparam("span", type_=Integer),
               stats.c.bucket < bindparam("before", type_=TS))
        .limit(bindparam("limit", type_=Integer))
        .with_for_update(skip_locked=True)
        .cte("old_stats")
    )
    return (
        delete(stats)
        .where(tuple_(stats.c.span, stats.c.bucket, stats.c.queue, stats.c.entrypoint,
                      stats.c.status)
               == tuple_(old.c.span, old.c.bucket, old.c.queue, old.c.entrypoint,
                         old.c.status))
        .returning(stats.c.span)
    )


def notify(tables: Tables) -> Any:
    """``pg_notify(channel, payload)``: wake workers (a queue name on the jobs
    channel) or stop a job (its id on the cancel channel)."""
    return select(func.pg_notify(bindparam("channel", type_=Text),
                                 bindparam("payload", type_=Text)))
