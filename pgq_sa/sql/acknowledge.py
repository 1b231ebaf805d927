"""Acknowledge: record the outcomes of many attempts in one statement.

Only rows still ``running`` with the same attempt number are touched, so a late
acknowledgement from a worker whose job was rescued and claimed again cannot
overwrite the new attempt.  The outcome arrives as parallel arrays (one element per
job, see :class:`pgq_sa.queries.acknowledge.Acknowledgements`); ``status`` is the
new status (``queued`` puts the job back: a retry, a snooze or a hand-back), and
``uncount`` gives the attempt back (snooze, hand-back at shutdown), ``result``
is a success's return value (JSON text, ``NULL``: none).

A job someone waits for (``awaited``, set by :func:`pgq_sa.wait`) sends its id on
the completion channel (:attr:`~pgq_sa.schema.Tables.done_channel`) from the same
statement, when it ends for good; other jobs send nothing (a NOTIFY costs a
cluster-wide lock at commit).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    Boolean,
    Integer,
    Text,
    and_,
    bindparam,
    case,
    cast,
    func,
    select,
    true,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from ..schema import CANCELLED, QUEUED, RUNNING, SUCCEEDED, Tables
from .common import TS, literal, now
from .statistics import record, stats_message, stats_status

__all__ = ["complete", "finish", "finish_counted", "finish_succeeded"]


def _outcomes() -> Any:
    return func.unnest(
        bindparam("ids", type_=ARRAY(postgresql.BIGINT)),
        bindparam("attempts", type_=ARRAY(Integer)),
        bindparam("statuses", type_=ARRAY(Text)),
        bindparam("run_ats", type_=ARRAY(TS)),
        bindparam("messages", type_=ARRAY(Text)),
        bindparam("errors", type_=ARRAY(Text)),
        bindparam("uncount", type_=ARRAY(Boolean)),
        bindparam("results", type_=ARRAY(Text)),
    ).table_valued(
        "id", "attempt", "status", "run_at", "message", "error", "uncount", "result"
    ).render_derived(name="done")


def _same_attempt_still_running(tables: Tables, done: Any) -> tuple[Any, ...]:
    jobs = tables.jobs
    return (
        jobs.c.id == done.c.id,
        jobs.c.attempts == done.c.attempt,
        # `(SELECT 'running')`, not a literal: the planner must look rows up by
        # primary key, never scan the running index and filter each row against
        # the whole batch (which it picks when stats show few running rows).
        jobs.c.status == select(literal(f"'{RUNNING}'")).scalar_subquery(),
    )


def _finish(tables: Tables, done: Any) -> Any:
    jobs = tables.jobs
    cancel_asked = jobs.c.cancel_requested_at.is_not(None)
    back_to_queue = done.c.status == literal(f"'{QUEUED}'")
    # A job an operator asked to cancel is never put back in the queue (retry,
    # snooze or shutdown): it ends ``cancelled``.
    requeue = and_(back_to_queue, jobs.c.cancel_requested_at.is_(None))
    return (
        update(jobs)
        .where(*_same_attempt_still_running(tables, done))
        .values(
            status=case((and_(back_to_queue, cancel_asked), literal(f"'{CANCELLED}'")),
                        else_=done.c.status),
            finished_at=case((requeue, None), else_=now()),
            # a retry or snooze names its time; a job handed back (shutdown) keeps
            # its place in the queue: its run_at, the time it was due
            run_at=case((requeue, func.coalesce(done.c.run_at, jobs.c.run_at)),
                        else_=jobs.c.run_at),
            attempts=case((done.c.uncount, jobs.c.attempts - 1), else_=jobs.c.attempts),
            last_error=func.coalesce(done.c.message, jobs.c.last_error),
            errors=case(
                (done.c.error.is_(None), jobs.c.errors),
                else_=jobs.c.errors.op("||")(func.jsonb_build_array(cast(done.c.error, JSONB))),
            ),
            worker_id=case((requeue, None), else_=jobs.c.worker_id),
            heartbeat_at=case((requeue, None), else_=jobs.c.heartbeat_at),
            result=cast(done.c.result, JSONB),
        )
        .returning(jobs.c.id, _notify_awaited(tables, ended=~requeue))
    )


def _notify_awaited(tables: Tables, ended: Any) -> Any:
    """``pg_notify(done channel, id)`` for a job someone waits for that ``ended``
    (``NULL`` otherwise): evaluated per returned row, also in an unread CTE."""
    jobs = tables.jobs
    return case((and_(jobs.c.awaited, ended),
                 func.pg_notify(literal(f"'{tables.done_channel}'"), cast(jobs.c.id, Text))),
                else_=None).label("notified")


def finish(tables: Tables) -> Any:
    """Record any mix of outcomes; returns the ids written."""
    return _finish(tables, _outcomes())


def finish_succeeded(tables: Tables) -> Any:
    """:func:`finish` for a batch of successes only (the common case): the same rows,
    fewer columns and expressions, cheaper to plan and to run."""
    jobs = tables.jobs
    done = func.unnest(
        bindparam("ids", type_=ARRAY(postgresql.BIGINT)),
        bindparam("attempts", type_=ARRAY(Integer)),
        bindparam("results", type_=ARRAY(Text)),
    ).table_valued("id", "attempt", "result").render_derived(name="done")
    return (
        update(jobs)
        .where(*_same_attempt_still_running(tables, done))
        .values(status=literal(f"'{SUCCEEDED}'"), finished_at=now(),
                result=cast(done.c.result, JSONB))
        .returning(jobs.c.id, _notify_awaited(tables, ended=true()))
    )


def complete(tables: Tables) -> Any:
    """Mark job ``job_id`` succeeded (with ``result``) inside the handler's own
    transaction (``ctx.transaction()``), fenced: only while it is still ``running``
    at ``attempt`` and nobody asked to cancel it.  No row: the job was rescued,
    cancelled or ended meanwhile, and the caller rolls back.  Its row stays locked
    until that transaction ends, so the rescue (SKIP LOCKED) cannot take it
    meanwhile."""
    jobs = tables.jobs
    return (
        update(jobs)
        .where(jobs.c.id == bindparam("job_id", type_=postgresql.BIGINT),
               jobs.c.attempts == bindparam("attempt", type_=Integer),
               jobs.c.status == literal(f"'{RUNNING}'"),
               jobs.c.cancel_requested_at.is_(None))
        .values(status=literal(f"'{SUCCEEDED}'"), finished_at=now(),
                result=cast(bindparam("result", type_=Text), JSONB))
        .returning(jobs.c.id, _notify_awaited(tables, ended=true()))
    )


def finish_counted(tables: Tables) -> Any:
    """:func:`finish` plus the statistics upsert in one statement; returns the same
    rows.  Workers count in memory instead (:mod:`pgq_sa.worker.stats_writer`):
    this one serves tests that write outcomes at an injected ``now``, and the
    benchmark that measures what counting in the ack would cost."""
    jobs = tables.jobs
    done = _outcomes()
    finished = _finish(tables, done).returning(
        jobs.c.queue, jobs.c.entrypoint, jobs.c.status, jobs.c.last_error, done.c.uncount,
    ).cte("fin")
    observed = (
        select(finished.c.queue, finished.c.entrypoint,
               stats_status(finished.c.status).label("status"),
               stats_message(finished.c.status, finished.c.last_error).label("message"))
        # snoozed jobs and jobs handed back at shutdown are not outcomes
        .where(finished.c.uncount.is_not(True))
        .cte("obs")
    )
    return select(finished.c.id).add_cte(record(tables, observed))
