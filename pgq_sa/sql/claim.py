"""Claim: lock up to ``limit`` ready jobs for a worker and mark them running.

``SELECT … FOR UPDATE SKIP LOCKED`` inside ``UPDATE … RETURNING``: a row is handed
to exactly one claimer.  With one queue the predicate is an equality so the
ordered partial index scan stops after ``limit`` rows; with several, a ``LATERAL``
scan per queue reads ``limit`` rows each (``queue = ANY(…)`` would sort every ready
row of those queues: 75 ms at 133k rows).  The locked ids are then updated through
``id = ANY(ARRAY(…))``: a primary-key probe whatever the planner guesses for
``limit``, so even a generic plan (which assumes a tenth of the table) never turns
it into a hash join over the whole table.

A claim may carry the acknowledgement of the previous jobs as a data-modifying CTE
(:func:`claim_and_acknowledge`): the outcomes are recorded by the same statement
(and commit) that claims the next jobs.  The two touch disjoint rows (running vs
queued).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Integer, Text, bindparam, func, literal_column, select, true, update
from sqlalchemy.dialects.postgresql import ARRAY

from ..schema import QUEUED, RUNNING, Tables
from .acknowledge import finish, finish_succeeded
from .common import now, status_is

__all__ = ["claim", "claim_and_acknowledge"]

#: The columns of a claimed job, in the order of :class:`pgq_sa.queries.ClaimedJob`.
CLAIMED_COLUMNS = ("id", "queue", "entrypoint", "payload", "priority", "attempts",
                   "max_attempts", "created_at", "run_at", "started_at", "trace_context")


def claim(tables: Tables, *, many_queues: bool) -> Any:
    """Claim up to ``limit`` ready jobs of ``entrypoints`` for ``worker_id``, highest
    priority first, from ``queue`` (or, ``many_queues``, from each of ``queues``)."""
    jobs = tables.jobs
    at = now()
    limit = bindparam("limit", type_=Integer)
    entrypoints = jobs.c.entrypoint == func.any(bindparam("entrypoints", type_=ARRAY(Text)))

    def candidates(queue: Any) -> Any:
        # The ordered scan of the partial index for one queue stops at `limit`.
        return (
            select(jobs.c.id, jobs.c.priority, jobs.c.run_at)
            .where(status_is(jobs.c.status, QUEUED), jobs.c.queue == queue, entrypoints,
                   jobs.c.run_at <= at)
            .order_by(jobs.c.queue, jobs.c.priority.desc(), jobs.c.run_at, jobs.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )

    if many_queues:
        queues = func.unnest(bindparam("queues", type_=ARRAY(Text))).table_valued(
            "name").render_derived(name="q")
        per_queue = candidates(queues.c.name).lateral("cand")
        locked = (
            select(per_queue.c.id)
            .select_from(queues.join(per_queue, true()))
            .order_by(per_queue.c.priority.desc(), per_queue.c.run_at, per_queue.c.id)
            .limit(limit)
            .cte("locked")
        )
    else:
        locked = candidates(bindparam("queue", type_=Text)).cte("locked")
    return (
        update(jobs)
        .where(jobs.c.id == func.any(func.array(select(locked.c.id).scalar_subquery())))
        .values(
            status=literal_column(f"'{RUNNING}'"),
            attempts=jobs.c.attempts + 1,
            started_at=at,
            heartbeat_at=at,
            worker_id=bindparam("worker_id", type_=Text),
        )
        .returning(*(jobs.c[name] for name in CLAIMED_COLUMNS))
    )


def claim_and_acknowledge(tables: Tables, *, many_queues: bool, succeeded_only: bool) -> Any:
    """:func:`claim` plus the acknowledgement of earlier jobs (:func:`finish`, or with
    ``succeeded_only`` :func:`finish_succeeded`) in one statement."""
    acknowledge = finish_succeeded(tables) if succeeded_only else finish(tables)
    return claim(tables, many_queues=many_queues).add_cte(acknowledge.cte("acked"))
