"""Periodic schedules (``pgq_schedules``): register them, read their last firing,
fire one (compare-and-set plus the job, one statement), list them.

:func:`fire` is what makes a firing one job across every worker: the ``UPDATE``
moves ``last_fire_at`` from the value the scheduler read (``prev``) to the fire
time only if no other worker moved it meanwhile (a worker that lost the race
waits on the row lock, re-reads the new row, and updates nothing), and the job is
inserted from the updated row, in the same statement: both or neither.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Integer, Text, bindparam, cast, func, select, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import JSONB

from ..schema import Tables
from .common import TS, array, now
from .enqueue import FLOW_COLUMNS

__all__ = ["fire", "list_schedules", "register_schedules", "run_now", "schedule_states"]


def register_schedules(tables: Tables) -> Any:
    """Insert or refresh the schedules of ``names`` (parallel arrays; payloads as JSON
    text); their last firing is kept.  Returns the names."""
    schedules = tables.schedules
    source = func.unnest(
        array("names", Text), array("entrypoints", Text), array("expressions", Text),
        array("timezones", Text), array("misseds", Text), array("queues", Text),
        array("priorities", Integer), array("payloads", Text),
    ).table_valued("name", "entrypoint", "expression", "timezone", "missed", "queue",
                   "priority", "payload").render_derived(name="src")
    at = now()
    new = postgresql.insert(schedules).from_select(
        ["name", "entrypoint", "expression", "timezone", "missed", "queue", "priority",
         "payload", "created_at", "seen_at"],
        select(source.c.name, source.c.entrypoint, source.c.expression, source.c.timezone,
               source.c.missed, source.c.queue, source.c.priority,
               cast(source.c.payload, JSONB), at, at))
    return new.on_conflict_do_update(
        index_elements=[schedules.c.name],
        set_={name: new.excluded[name]
              for name in ("entrypoint", "expression", "timezone", "missed", "queue",
                           "priority", "payload", "seen_at")},
    ).returning(schedules.c.name)


def run_now(tables: Tables) -> Any:
    """Enqueue schedule ``name``'s job now, outside its fire times (its last firing
    does not change).  Returns the job id; no row: no such schedule."""
    jobs, schedules = tables.jobs, tables.schedules
    inserted = (
        postgresql.insert(jobs)
        .from_select(["queue", "entrypoint", "payload", "priority", "run_at", "created_at"],
                     select(schedules.c.queue, schedules.c.entrypoint, schedules.c.payload,
                            schedules.c.priority, now(), now())
                     .where(schedules.c.name == bindparam("name", type_=Text)))
        .returning(jobs.c.id, jobs.c.queue)
        .cte("ins")
    )
    return select(inserted.c.id,
                  func.pg_notify(cast(bindparam("channel", type_=Text), Text), inserted.c.queue))


def schedule_states(tables: Tables) -> Any:
    """``(name, last_fire_at, created_at, now)`` of the schedules of ``names``."""
    schedules = tables.schedules
    return (select(schedules.c.name, schedules.c.last_fire_at, schedules.c.created_at,
                   now().label("now"))
            .where(schedules.c.name == func.any(array("names", Text))))


def fire(tables: Tables) -> Any:
    """If schedule ``name`` last fired at ``prev`` (``NULL``: never), record
    ``fire_at`` as its last firing and insert its job (``run_at`` the fire time,
    ``created_at`` the scheduler's ``now``; its task's heartbeat timeout and flow
    control) and NOTIFY its queue.  Returns the job
    id, or no row when another worker fired it first."""
    jobs, schedules = tables.jobs, tables.schedules
    fire_at = bindparam("fire_at", type_=TS)
    sequence = cast(func.pg_get_serial_sequence(bindparam("table", type_=Text), "id"),
                    postgresql.REGCLASS)
    fresh = select(func.nextval(sequence).label("id")).cte("fresh")
    fired = (
        update(schedules)
        .where(schedules.c.name == bindparam("name", type_=Text),
               schedules.c.last_fire_at.is_not_distinct_from(bindparam("prev", type_=TS)))
        .values(last_fire_at=fire_at, last_job_id=fresh.c.id)
        .returning(schedules.c.last_job_id)
        .cte("fired")
    )
    inserted = (
        postgresql.insert(jobs)
        .from_select(
            ["id", "queue", "entrypoint", "payload", "priority", "run_at", "created_at",
             "heartbeat_timeout", *(name for name, _ in FLOW_COLUMNS)],
            select(fired.c.last_job_id, bindparam("queue", type_=Text),
                   bindparam("entrypoint", type_=Text),
                   cast(bindparam("payload", type_=Text), JSONB),
                   bindparam("priority", type_=Integer), fire_at, now(),
                   bindparam("heartbeat_timeout", type_=postgresql.DOUBLE_PRECISION),
                   *(bindparam(name, type_=kind) for name, kind in FLOW_COLUMNS)))
        .returning(jobs.c.id, jobs.c.queue)
        .cte("ins")
    )
    return select(inserted.c.id,
                  func.pg_notify(cast(bindparam("channel", type_=Text), Text), inserted.c.queue))


def list_schedules(tables: Tables) -> Any:
    """Every schedule row with the status of its last job, by name."""
    schedules, jobs = tables.schedules, tables.jobs
    return (
        select(schedules.c.name, schedules.c.entrypoint, schedules.c.expression,
               schedules.c.timezone, schedules.c.missed, schedules.c.created_at,
               schedules.c.seen_at, schedules.c.last_fire_at, schedules.c.last_job_id,
               jobs.c.status.label("last_status"), now().label("now"))
        .select_from(schedules.outerjoin(jobs, jobs.c.id == schedules.c.last_job_id))
        .order_by(schedules.c.name)
    )
