"""Workflows: jobs with dependencies, a whole graph in one statement.

:func:`insert_graph` inserts any number of jobs and the edges between them (by
position in the batch) and to existing jobs (by id), in one statement: new ids
come from the table's sequence in a materialized CTE, so edges can name them
before the rows exist.  A job with dependencies that have not all ended is
inserted ``waiting``; the ``pgq_sa_dependents`` trigger (schema version 3) queues
it when the last one succeeds, or cancels it when one fails (its policy
``cancel``).  Existing dependencies are flagged ``has_dependents`` by the same
statement (their row lock orders it against their own end); one that already
ended counts as done.  A dependency id that names no job fails the statement
(``pgq_sa_refuse_missing``), so nothing is written.

:func:`dependencies` reads what a job waits on and what waits on it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    Integer,
    Text,
    and_,
    bindparam,
    case,
    cast,
    func,
    insert,
    select,
    union_all,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import JSONB

from ..schema import CANCELLED, FAILED, FINISHED_STATUSES, QUEUED, WAITING, Tables
from .common import TS, array, literal, now, status_in
from .enqueue import FLOW_COLUMNS

__all__ = ["dependencies", "dependency_results", "insert_graph"]

_BIGINT = postgresql.BIGINT


def insert_graph(tables: Tables) -> Any:
    """Jobs (parallel arrays by position ``ords``) with internal edges
    (``inner_jobs`` wait on ``inner_deps``, positions) and external ones
    (``outer_jobs`` positions wait on ``outer_deps`` ids); returns ``(id, notified,
    edges)`` per job in position order."""
    jobs, deps = tables.jobs, tables.deps
    src = func.unnest(
        array("ords", Integer), array("queues", Text), array("entrypoints", Text),
        array("payloads", Text), array("priorities", Integer), array("run_ats", TS),
        # not "max_attempts": a parameter named like a column of the table the
        # UPDATE below writes would become one more SET of that UPDATE
        array("attempt_limits", Integer),
        array("heartbeat_timeouts", postgresql.DOUBLE_PRECISION), array("policies", Text),
        array("trace_contexts", Text),
        *(array(f"{name}s", kind) for name, kind in FLOW_COLUMNS),
    ).table_valued(
        "ord", "queue", "entrypoint", "payload", "priority", "run_at", "max_attempts",
        "heartbeat_timeout", "policy", "trace_context", *(name for name, _ in FLOW_COLUMNS),
    ).render_derived(name="src")
    source = select(src).cte("source")
    sequence = select(
        func.pg_get_serial_sequence(bindparam("table", type_=Text), "id")
    ).scalar_subquery()
    ids = select(source.c.ord,
                 func.nextval(cast(sequence, postgresql.REGCLASS)).label("id")
                 ).cte("ids")
    inner = func.unnest(array("inner_jobs", Integer), array("inner_deps", Integer)
                        ).table_valued("job_ord", "dep_ord").render_derived(name="ie")
    inner_edges = select(inner).cte("inner_edges")
    outer = func.unnest(array("outer_jobs", Integer), array("outer_deps", _BIGINT)
                        ).table_valued("job_ord", "dep_id").render_derived(name="oe")
    outer_edges = select(outer).cte("outer_edges")
    existing = (
        update(jobs)
        .where(jobs.c.id.in_(select(outer_edges.c.dep_id)))
        .values(has_dependents=literal("true"))
        .returning(jobs.c.id, jobs.c.status, jobs.c.entrypoint)
        .cte("existing")
    )
    ended = status_in(existing.c.status, FINISHED_STATUSES)
    # per job, aggregated once (a subquery per job would scan the edges per job)
    inner_counts = (
        select(inner_edges.c.job_ord, func.count().label("n"))
        .group_by(inner_edges.c.job_ord).cte("inner_counts")
    )
    parents = select(inner_edges.c.dep_ord).distinct().cte("parents")
    outer_counts = (
        select(
            outer_edges.c.job_ord,
            func.count().filter(~ended).label("n"),
            func.min(func.concat("dependency ", existing.c.id, " (", existing.c.entrypoint,
                                 ") ", existing.c.status))
            .filter(status_in(existing.c.status, (FAILED, CANCELLED))).label("failed_dep"),
        )
        .select_from(outer_edges.join(existing, existing.c.id == outer_edges.c.dep_id))
        .group_by(outer_edges.c.job_ord).cte("outer_counts")
    )
    planned = (
        select(source, ids.c.id,
               (func.coalesce(inner_counts.c.n, 0) + func.coalesce(outer_counts.c.n, 0))
               .label("deps_left"),
               outer_counts.c.failed_dep,
               parents.c.dep_ord.is_not(None).label("parent"))
        .join_from(source, ids, ids.c.ord == source.c.ord)
        .outerjoin(inner_counts, inner_counts.c.job_ord == source.c.ord)
        .outerjoin(outer_counts, outer_counts.c.job_ord == source.c.ord)
        .outerjoin(parents, parents.c.dep_ord == source.c.ord)
        .cte("planned")
    )
    cancel = and_(planned.c.failed_dep.is_not(None), planned.c.policy == literal("'cancel'"))
    status = case((cancel, literal(f"'{CANCELLED}'")),
                  (planned.c.deps_left > 0, literal(f"'{WAITING}'")),
                  else_=literal(f"'{QUEUED}'"))
    rows = select(
        planned.c.id, planned.c.queue, planned.c.entrypoint, cast(planned.c.payload, JSONB),
        planned.c.priority, func.coalesce(planned.c.run_at, now()), planned.c.max_attempts,
        planned.c.heartbeat_timeout, now(), status,
        case((planned.c.policy.is_(None), None), else_=planned.c.deps_left),
        planned.c.policy, planned.c.parent,
        case((cancel, now()), else_=None),
        case((cancel, planned.c.failed_dep), else_=None),
        planned.c.trace_context,
        *(planned.c[name] for name, _ in FLOW_COLUMNS),
    )
    inserted = (
        insert(jobs)
        .from_select(["id", "queue", "entrypoint", "payload", "priority", "run_at",
                      "max_attempts", "heartbeat_timeout", "created_at", "status",
                      "deps_left", "deps_policy", "has_dependents", "finished_at",
                      "last_error", "trace_context", *(name for name, _ in FLOW_COLUMNS)],
                     rows)
        .returning(jobs.c.id, jobs.c.queue, jobs.c.status)
        .cte("inserted")
    )
    waiter, waited = ids.alias("waiter"), ids.alias("waited")
    edge_rows = union_all(
        select(waiter.c.id, waited.c.id, literal("false"))
        .select_from(inner_edges.join(waiter, waiter.c.ord == inner_edges.c.job_ord)
                     .join(waited, waited.c.ord == inner_edges.c.dep_ord)),
        select(waiter.c.id,
               # an id that names no job aborts the statement (nothing is written)
               case((existing.c.id.is_(None), _refuse_missing(tables, outer_edges.c.dep_id)),
                    else_=outer_edges.c.dep_id),
               func.coalesce(status_in(existing.c.status, FINISHED_STATUSES), literal("false")))
        .select_from(outer_edges.join(waiter, waiter.c.ord == outer_edges.c.job_ord)
                     .outerjoin(existing, existing.c.id == outer_edges.c.dep_id)),
    )
    edges = (
        insert(deps).from_select(["job_id", "depends_on", "done"], edge_rows)
        .returning(deps.c.job_id).cte("edges")
    )
    queues = select(inserted.c.queue).where(
        inserted.c.status == literal(f"'{QUEUED}'")).distinct().subquery("q")
    notified = select(func.count(func.pg_notify(
        cast(bindparam("channel", type_=Text), Text), queues.c.queue))).scalar_subquery()
    edge_count = select(func.count()).select_from(edges).scalar_subquery()
    written = select(func.count()).select_from(inserted).scalar_subquery()
    return (
        select(ids.c.id, notified.label("notified"), edge_count.label("edges"),
               written.label("written"))
        .order_by(ids.c.ord)
    )


def _refuse_missing(tables: Tables, job_id: Any) -> Any:
    """``pgq_sa_refuse_missing(job_id)`` (schema version 3), in the tables' schema:
    raises a foreign key violation naming ``job_id``."""
    functions = func if tables.schema is None else getattr(func, tables.schema)
    return functions.pgq_sa_refuse_missing(job_id, type_=_BIGINT)


def dependencies(tables: Tables) -> Any:
    """What job ``job_id`` waits on (``waits_on``) and what waits on it
    (``waited_by``): ``(relation, id, entrypoint, status, done)``."""
    jobs, deps = tables.jobs, tables.deps
    job_id = bindparam("job_id", type_=_BIGINT)
    waits_on = (
        select(literal("'waits_on'").label("relation"), jobs.c.id, jobs.c.entrypoint,
               jobs.c.status, deps.c.done)
        .select_from(deps.join(jobs, jobs.c.id == deps.c.depends_on))
        .where(deps.c.job_id == job_id)
    )
    waited_by = (
        select(literal("'waited_by'"), jobs.c.id, jobs.c.entrypoint, jobs.c.status,
               deps.c.done)
        .select_from(deps.join(jobs, jobs.c.id == deps.c.job_id))
        .where(deps.c.depends_on == job_id)
    )
    both = union_all(waits_on, waited_by).subquery("rel")
    return select(both).order_by(both.c.relation.desc(), both.c.id)


def dependency_results(tables: Tables) -> Any:
    """The dependencies of job ``job_id`` with their status and result, by id."""
    jobs, deps = tables.jobs, tables.deps
    return (
        select(jobs.c.id, jobs.c.entrypoint, jobs.c.status, jobs.c.result)
        .select_from(deps.join(jobs, jobs.c.id == deps.c.depends_on))
        .where(deps.c.job_id == bindparam("job_id", type_=_BIGINT))
        .order_by(jobs.c.id)
    )


