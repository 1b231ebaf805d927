"""Enqueue: new jobs, and the NOTIFY that wakes the workers of their queues.

Each insert sends one NOTIFY per distinct queue from the same statement, so a
worker hears of a job only when the enqueueing transaction commits.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Integer, Text, bindparam, cast, func, insert, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import JSONB

from ..schema import Tables
from .common import TS, array, now

__all__ = ["COPY_COLUMNS", "insert_job_notify", "insert_jobs_notify", "notify_queues",
           "reserve_ids"]

#: Columns a COPY of new jobs writes (the rest take their defaults).
COPY_COLUMNS = ("id", "queue", "entrypoint", "payload", "priority", "max_attempts",
                "trace_context")


def _channel() -> Any:
    return cast(bindparam("channel", type_=Text), Text)


def insert_jobs_notify(tables: Tables) -> Any:
    """Any number of jobs from parallel arrays (``INSERT … SELECT FROM unnest``) and
    one NOTIFY per distinct queue: one statement, one round trip."""
    jobs = tables.jobs
    source = func.unnest(
        array("queues", Text),
        array("entrypoints", Text),
        array("payloads", Text),
        array("priorities", Integer),
        array("run_ats", TS),
        array("max_attempts", Integer),
        array("trace_contexts", Text),
    ).table_valued(
        "queue", "entrypoint", "payload", "priority", "run_at", "max_attempts",
        "trace_context"
    ).render_derived(name="src")
    rows = select(
        source.c.queue,
        source.c.entrypoint,
        cast(source.c.payload, JSONB),
        source.c.priority,
        func.coalesce(source.c.run_at, now()),
        source.c.max_attempts,
        now(),
        source.c.trace_context,
    )
    inserted = (
        insert(jobs)
        .from_select(
            ["queue", "entrypoint", "payload", "priority", "run_at", "max_attempts",
             "created_at", "trace_context"],
            rows,
        )
        .returning(jobs.c.id, jobs.c.queue)
        .cte("ins")
    )
    queues = select(inserted.c.queue).distinct().subquery("q")
    notified = (
        select(func.count(func.pg_notify(_channel(), queues.c.queue)))
        .scalar_subquery()
    )
    return select(inserted.c.id, notified.label("notified"))


def insert_job_notify(tables: Tables) -> Any:
    """One job (the common case) and its NOTIFY: a plain ``INSERT … VALUES``, cheaper
    for the server to plan and run than the array form."""
    jobs = tables.jobs
    one = (
        insert(jobs)
        .values(
            queue=bindparam("queue", type_=Text),
            entrypoint=bindparam("entrypoint", type_=Text),
            payload=cast(bindparam("payload", type_=Text), JSONB),
            priority=bindparam("priority", type_=Integer),
            run_at=func.coalesce(bindparam("run_at", type_=TS), now()),
            max_attempts=bindparam("max_attempts", type_=Integer),
            trace_context=bindparam("trace_context", type_=Text),
            created_at=now(),
        )
        .returning(jobs.c.id, jobs.c.queue)
        .cte("one")
    )
    return select(one.c.id, func.pg_notify(_channel(), one.c.queue))


def reserve_ids(tables: Tables) -> Any:
    """``n`` new job ids, in order, for a COPY of ``n`` jobs (large batches), as one
    array (one row to send and decode, not ``n``).  The sequence is looked up once,
    in an init plan: per row it cost five times as much."""
    sequence = select(
        func.pg_get_serial_sequence(bindparam("table", type_=Text), "id")
    ).scalar_subquery()
    return select(func.array(
        select(func.nextval(cast(sequence, postgresql.REGCLASS))).select_from(
            func.generate_series(1, bindparam("n", type_=Integer))).scalar_subquery()))


def notify_queues(tables: Tables) -> Any:
    """One NOTIFY per queue of ``queues`` (after a COPY)."""
    queues = func.unnest(array("queues", Text)).table_valued("queue").render_derived(name="q")
    return select(func.pg_notify(_channel(), queues.c.queue))
