"""Lifecycle of workers and of the jobs they hold: registration, heartbeats, rescue.

A worker registers a row, refreshes it and its running jobs with one heartbeat
statement per interval, and deletes it when it stops.  Any live worker runs the
rescue, which returns the jobs of dead workers to the queue (or ends them).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Integer,
    Text,
    and_,
    bindparam,
    case,
    cast,
    column,
    delete,
    exists,
    func,
    null,
    or_,
    select,
    table,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert

from ..schema import CANCELLED, FAILED, QUEUED, RUNNING, Tables
from .common import literal, now, status_is
from .statistics import record, stats_message, stats_status

__all__ = ["delete_worker", "heartbeat", "lost_sessions", "reap_workers", "register_worker",
           "rescue", "take_session_lock"]

#: ``pg_catalog.pg_locks``, readable by every role (no superuser needed).
_PG_LOCKS = table("pg_locks", column("locktype"), column("database"), column("classid"),
                  column("objid"), column("objsubid"), column("granted"),
                  schema="pg_catalog")
_PG_DATABASE = table("pg_database", column("oid"), column("datname"), schema="pg_catalog")


def _worker_id() -> Any:
    return bindparam("worker_id", type_=Text)


def register_worker(tables: Tables) -> Any:
    """Insert the worker's row, or refresh it."""
    workers = tables.workers
    row = pg_insert(workers).values(
        id=_worker_id(),
        host=bindparam("host", type_=Text),
        pid=bindparam("pid", type_=Integer),
        queues=bindparam("queues", type_=ARRAY(Text)),
        entrypoints=bindparam("entrypoints", type_=ARRAY(Text)),
        concurrency=bindparam("concurrency", type_=Integer),
        started_at=now(),
        heartbeat_at=now(),
        session_key=bindparam("session_key", type_=BigInteger),
    )
    return row.on_conflict_do_update(
        index_elements=[workers.c.id], set_={"heartbeat_at": row.excluded.heartbeat_at,
                                             "session_key": row.excluded.session_key}
    )


def take_session_lock(tables: Tables) -> Any:
    """Take the session-level advisory lock ``session_key`` (true if taken).

    A worker takes it on a connection it keeps for its lifetime and records the key
    in its row: when its process dies PostgreSQL closes the session and the lock is
    gone, which any live worker sees in ``pg_locks`` (:func:`lost_sessions`)."""
    del tables  # the same for every schema
    return select(func.pg_try_advisory_lock(bindparam("session_key", type_=BigInteger)))


def _session_gone(workers: Any) -> Any:
    """The worker recorded a session key and no session holds that lock any more
    (``pg_advisory_lock(bigint)`` shows as classid = high, objid = low 32 bits,
    objsubid = 1 in ``pg_locks``)."""
    key = workers.c.session_key
    this_database = select(_PG_DATABASE.c.oid).where(
        _PG_DATABASE.c.datname == func.current_database()).scalar_subquery()
    held = exists().where(
        _PG_LOCKS.c.locktype == literal("'advisory'"),
        _PG_LOCKS.c.database == this_database,
        cast(_PG_LOCKS.c.classid, BigInteger) == key.op(">>")(literal("32")),
        cast(_PG_LOCKS.c.objid, BigInteger) == key.op("&")(literal("4294967295")),
        _PG_LOCKS.c.objsubid == literal("1"),
        _PG_LOCKS.c.granted,
    )
    return and_(key.is_not(None), ~held)


def _lost_session_workers(tables: Tables) -> Any:
    workers = tables.workers
    return select(workers.c.id).where(_session_gone(workers))


def lost_sessions(tables: Tables) -> Any:
    """Workers whose database session is gone (their advisory lock is not held) and
    that still hold running jobs: the rescue's cheap probe, run about every second."""
    jobs, workers = tables.jobs, tables.workers
    holds_jobs = exists().where(status_is(jobs.c.status, RUNNING),
                                jobs.c.worker_id == workers.c.id)
    return select(workers.c.id).where(_session_gone(workers), holds_jobs)


def heartbeat(tables: Tables) -> Any:
    """One statement per worker per interval: refresh the worker's row and the running
    jobs it still holds (``ids``: in flight or awaiting their acknowledgement), and
    report which of them an operator asked to cancel.  A job the worker does not
    know about (a claim whose result was lost with its connection) is not
    refreshed, so the rescue returns it to the queue."""
    jobs, workers = tables.jobs, tables.workers
    worker_id = _worker_id()
    registered = register_worker(tables).returning(workers.c.id).cte("registered")
    return (
        update(jobs)
        .where(status_is(jobs.c.status, RUNNING), jobs.c.worker_id == worker_id,
               jobs.c.id == func.any(bindparam("ids", type_=ARRAY(postgresql.BIGINT))))
        .values(heartbeat_at=now())
        .returning(jobs.c.id, jobs.c.attempts, jobs.c.cancel_requested_at.is_not(None))
        .add_cte(registered)
    )


def delete_worker(tables: Tables) -> Any:
    """Delete the worker's row (it stops)."""
    workers = tables.workers
    return delete(workers).where(workers.c.id == _worker_id())


def _rescue(tables: Tables) -> Any:
    jobs, workers = tables.jobs, tables.workers
    policy = func.unnest(
        bindparam("entrypoints", type_=ARRAY(Text)),
        bindparam("timeouts", type_=ARRAY(postgresql.DOUBLE_PRECISION)),
        bindparam("max_attempts", type_=ARRAY(Integer)),
    ).table_valued("entrypoint", "timeout", "max_attempts").render_derived(name="policy")
    # the job's own (stored at enqueue), else the rescuer's registry's, else the default
    timeout = func.coalesce(
        jobs.c.heartbeat_timeout,
        select(policy.c.timeout).where(policy.c.entrypoint == jobs.c.entrypoint)
        .scalar_subquery(),
        bindparam("default_timeout", type_=postgresql.DOUBLE_PRECISION),
    )
    attempts_policy = func.unnest(
        bindparam("entrypoints", type_=ARRAY(Text)),
        bindparam("max_attempts", type_=ARRAY(Integer)),
    ).table_valued("entrypoint", "max_attempts").render_derived(name="policy2")
    max_attempts = func.coalesce(
        jobs.c.max_attempts,
        select(attempts_policy.c.max_attempts)
        .where(attempts_policy.c.entrypoint == jobs.c.entrypoint)
        .scalar_subquery(),
    )
    worker_gone = ~select(workers.c.id).where(workers.c.id == jobs.c.worker_id).exists()
    # a hashed subplan: pg_locks is read once per statement, not per running job
    session_gone = jobs.c.worker_id.in_(_lost_session_workers(tables))
    last_sign = func.coalesce(jobs.c.heartbeat_at, jobs.c.started_at, jobs.c.created_at)
    stale = (
        select(jobs.c.id)
        .where(
            status_is(jobs.c.status, RUNNING),
            or_(last_sign < now() - func.make_interval(0, 0, 0, 0, 0, 0, timeout),
                worker_gone, session_gone),
        )
        .with_for_update(skip_locked=True)
        .limit(bindparam("limit", type_=Integer))
        .cte("stale")
    )
    out_of_attempts = and_(max_attempts.is_not(None), jobs.c.attempts >= max_attempts)
    why = case(
        (worker_gone, func.concat("worker ", jobs.c.worker_id, " is gone")),
        (session_gone, func.concat("the database session of worker ", jobs.c.worker_id,
                                   " is gone")),
        else_=func.concat("no heartbeat from worker ", jobs.c.worker_id, " since ",
                          jobs.c.heartbeat_at),
    )
    lost = func.jsonb_build_object(
        "attempt", jobs.c.attempts,
        "at", now(),
        "type", "WorkerLost",
        "message", why,
        "traceback", None,
    )
    cancel_asked = jobs.c.cancel_requested_at.is_not(None)
    ends = or_(cancel_asked, out_of_attempts)
    return (
        update(jobs)
        .where(jobs.c.id == stale.c.id)
        .values(
            status=case((cancel_asked, literal(f"'{CANCELLED}'")),
                        (out_of_attempts, literal(f"'{FAILED}'")),
                        else_=literal(f"'{QUEUED}'")),
            finished_at=case((ends, now()), else_=None),
            run_at=now(),
            last_error=func.concat("worker lost: ", why),
            errors=jobs.c.errors.op("||")(func.jsonb_build_array(lost)),
            worker_id=null(),
            heartbeat_at=null(),
        )
        .returning(jobs.c.id, jobs.c.status)
    )


def rescue(tables: Tables) -> Any:
    """Put jobs whose worker stopped heartbeating (or vanished: its row is gone, or
    its database session is gone: its advisory lock is not held any more) back
    in the queue, or end them: ``cancelled`` if an operator asked, ``failed`` when
    out of attempts; and count them in ``pgq_stats`` (a lost attempt counts as
    ``retried``, or ``failed`` when it was the last).  Returns ``(id, new status,
    queue, entrypoint, attempts, last_error)``.

    Any worker may run it: rows are locked with SKIP LOCKED and, when a heartbeat
    committed meanwhile, PostgreSQL rechecks the staleness predicate on the new row
    version before locking."""
    jobs = tables.jobs
    rescued = _rescue(tables).returning(
        jobs.c.queue, jobs.c.entrypoint,
        stats_message(jobs.c.status, jobs.c.last_error).label("message"),
        jobs.c.attempts, jobs.c.last_error,
    ).cte("res")
    observed = select(rescued.c.queue, rescued.c.entrypoint,
                      stats_status(rescued.c.status).label("status"),
                      rescued.c.message).cte("obs")
    return select(
        rescued.c.id, rescued.c.status, rescued.c.queue, rescued.c.entrypoint,
        rescued.c.attempts, rescued.c.last_error,
    ).add_cte(record(tables, observed))


def reap_workers(tables: Tables) -> Any:
    """Forget workers that stopped heartbeating ``older_than`` seconds ago."""
    workers = tables.workers
    return delete(workers).where(
        workers.c.heartbeat_at < now() - func.make_interval(
            0, 0, 0, 0, 0, 0, bindparam("older_than", type_=postgresql.DOUBLE_PRECISION))
    )
