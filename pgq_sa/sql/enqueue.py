"""Enqueue: new jobs, and the NOTIFY that wakes the workers of their queues.

Each insert sends one NOTIFY per distinct queue from the same statement, so a
worker hears of a job only when the enqueueing transaction commits.  A job with a
unique key goes through :func:`insert_unique_job`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Integer,
    Interval,
    Text,
    and_,
    bindparam,
    cast,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import JSONB

from ..schema import ACTIVE_STATUSES, Tables
from .common import TS, array, now, status_in

__all__ = ["COPY_COLUMNS", "insert_job_notify", "insert_jobs_notify", "insert_unique_job",
           "notify_queues", "repoint_unique", "reserve_ids"]

#: Columns a COPY of new jobs writes (the rest take their defaults).
COPY_COLUMNS = ("id", "queue", "entrypoint", "payload", "priority", "max_attempts",
                "heartbeat_timeout", "flow_key", "concurrency_key", "concurrency_limit",
                "rate_key", "rate_limit", "rate_period", "trace_context")
#: The flow-control columns (:class:`pgq_sa.job.Flow`), text or integer.
FLOW_COLUMNS = (("flow_key", Text), ("concurrency_key", Text), ("concurrency_limit", Integer),
                ("rate_key", Text), ("rate_limit", Integer), ("rate_period", Integer))


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
        array("heartbeat_timeouts", postgresql.DOUBLE_PRECISION),
        array("trace_contexts", Text),
        *(array(f"{name}s", kind) for name, kind in FLOW_COLUMNS),
    ).table_valued(
        "queue", "entrypoint", "payload", "priority", "run_at", "max_attempts",
        "heartbeat_timeout", "trace_context", *(name for name, _ in FLOW_COLUMNS),
    ).render_derived(name="src")
    rows = select(
        source.c.queue,
        source.c.entrypoint,
        cast(source.c.payload, JSONB),
        source.c.priority,
        func.coalesce(source.c.run_at, now()),
        source.c.max_attempts,
        source.c.heartbeat_timeout,
        now(),
        source.c.trace_context,
        *(source.c[name] for name, _ in FLOW_COLUMNS),
    )
    inserted = (
        insert(jobs)
        .from_select(
            ["queue", "entrypoint", "payload", "priority", "run_at", "max_attempts",
             "heartbeat_timeout", "created_at", "trace_context",
             *(name for name, _ in FLOW_COLUMNS)],
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
            heartbeat_timeout=bindparam("heartbeat_timeout", type_=postgresql.DOUBLE_PRECISION),
            trace_context=bindparam("trace_context", type_=Text),
            created_at=now(),
            **{name: bindparam(name, type_=kind) for name, kind in FLOW_COLUMNS},
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


# -- unique jobs ----------------------------------------------------------------------


def insert_unique_job(tables: Tables) -> Any:
    """One job with a ``unique_key``, unless the key is held; returns ``(id, created,
    owned, fresh_id, notified)``.

    The key is held by a queued or running job (the partial unique index
    ``pgq_jobs_unique_key_idx``: ``INSERT … ON CONFLICT DO NOTHING``, never a check
    before the insert) and, with ``unique_for`` (an interval), by the job that took
    it in ``pgq_unique`` until ``expires_at``: that row is taken over only once
    expired (``ON CONFLICT DO UPDATE … WHERE expires_at <= now``), so two producers
    of one key serialise on it.  ``id`` is the new job's, else the holder's;
    ``NULL`` when the holder committed after this statement's snapshot was taken:
    run the statement again (a new snapshot in READ COMMITTED sees it).  ``owned``
    and not ``created``: this statement took the ``pgq_unique`` row for
    ``fresh_id`` but an active job held the key; point the row at ``id``
    (:func:`repoint_unique`).
    """
    jobs, unique = tables.jobs, tables.unique
    at = now()
    key = bindparam("unique_key", type_=Text)
    hold = bindparam("unique_for", type_=Interval)
    sequence = cast(func.pg_get_serial_sequence(bindparam("table", type_=Text), "id"),
                    postgresql.REGCLASS)
    fresh = select(func.nextval(sequence).label("id")).cte("fresh")
    take = postgresql.insert(unique).from_select(
        ["key", "job_id", "expires_at"],
        select(key, fresh.c.id, at + hold).where(hold.is_not(None)))
    held = take.on_conflict_do_update(
        index_elements=[unique.c.key],
        set_={"job_id": take.excluded.job_id, "expires_at": take.excluded.expires_at},
        where=unique.c.expires_at <= at,
    ).returning(unique.c.job_id).cte("held")
    owned = exists(select(held.c.job_id))
    rows = select(
        fresh.c.id,
        bindparam("queue", type_=Text),
        bindparam("entrypoint", type_=Text),
        cast(bindparam("payload", type_=Text), JSONB),
        bindparam("priority", type_=Integer),
        func.coalesce(bindparam("run_at", type_=TS), at),
        bindparam("max_attempts", type_=Integer),
        bindparam("heartbeat_timeout", type_=postgresql.DOUBLE_PRECISION),
        at,
        key,
        bindparam("trace_context", type_=Text),
        *(bindparam(name, type_=kind) for name, kind in FLOW_COLUMNS),
    ).where(or_(hold.is_(None), owned))
    put = postgresql.insert(jobs).from_select(
        ["id", "queue", "entrypoint", "payload", "priority", "run_at", "max_attempts",
         "heartbeat_timeout", "created_at", "unique_key", "trace_context",
         *(name for name, _ in FLOW_COLUMNS)],
        rows)
    inserted = put.on_conflict_do_nothing(
        index_elements=[jobs.c.unique_key],
        index_where=text(f"unique_key IS NOT NULL AND status IN "
                         f"({', '.join(repr(s) for s in ACTIVE_STATUSES)})"),
    ).returning(jobs.c.id, jobs.c.queue).cte("ins")
    active = (select(jobs.c.id)
              .where(jobs.c.unique_key == key, status_in(jobs.c.status, ACTIVE_STATUSES))
              .limit(1).scalar_subquery())
    holder = (select(unique.c.job_id)
              .where(unique.c.key == key, hold.is_not(None), ~owned).scalar_subquery())
    new_id = select(inserted.c.id).scalar_subquery()
    notified = select(func.count(func.pg_notify(_channel(), inserted.c.queue))).scalar_subquery()
    return select(
        func.coalesce(new_id, active, holder).label("id"),
        new_id.is_not(None).label("created"),
        owned.label("owned"),
        fresh.c.id.label("fresh_id"),
        notified.label("notified"),
    ).select_from(fresh)


def repoint_unique(tables: Tables) -> Any:
    """Point the ``pgq_unique`` row of ``unique_key`` that :func:`insert_unique_job`
    took for ``fresh_id`` at ``job_id`` (the active job that held the key), or with
    ``job_id`` ``NULL`` give it up."""
    unique = tables.unique
    mine = and_(unique.c.key == bindparam("unique_key", type_=Text),
                unique.c.job_id == bindparam("fresh_id", type_=BigInteger))
    target = bindparam("job_id", type_=BigInteger)
    moved = (update(unique).where(mine, target.is_not(None)).values(job_id=target)
             .returning(unique.c.key).cte("moved"))
    dropped = (delete(unique).where(mine, target.is_(None))
               .returning(unique.c.key).cte("dropped"))
    return select(
        select(func.count()).select_from(moved).scalar_subquery().label("moved"),
        select(func.count()).select_from(dropped).scalar_subquery().label("dropped"))
