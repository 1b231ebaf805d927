"""Claim ready jobs (:mod:`pgq_sa.sql.claim`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from ..sql import Statements
from . import Query
from .acknowledge import Acknowledgements

__all__ = ["ClaimedJob", "FlowClaim", "claim", "claim_flow"]


class ClaimedJob(NamedTuple):
    """A job this worker now holds (``running``, ``attempts`` counted)."""

    id: int
    queue: str
    entrypoint: str
    #: The JSON payload as text (decoded when the job starts).
    payload: Any
    priority: int
    attempts: int
    max_attempts: int | None
    created_at: datetime
    run_at: datetime
    started_at: datetime
    #: W3C ``traceparent`` recorded at enqueue (OpenTelemetry), if any.
    trace_context: str | None = None


def claim(stmts: Statements, *, worker_id: str, queues: Sequence[str],
          entrypoints: Sequence[str], limit: int,
          acknowledgements: Acknowledgements | None = None,
          now: datetime | None = None) -> Query[ClaimedJob]:
    """Claim up to ``limit`` ready jobs of ``entrypoints`` from ``queues`` for
    ``worker_id``; with ``acknowledgements``, record those outcomes in the same
    statement."""
    many = len(queues) > 1
    params: dict[str, Any] = {"worker_id": worker_id, "entrypoints": entrypoints,
                              "limit": limit, "now": now}
    if many:
        params["queues"] = queues
    else:
        params["queue"] = queues[0]
    if acknowledgements is None:
        return Query(stmts.claim(many_queues=many), params, ClaimedJob._make)
    params.update(acknowledgements.params)
    return Query(stmts.claim(many_queues=many, acknowledge=acknowledgements.form), params,
                 ClaimedJob._make)


class FlowClaim(NamedTuple):
    """The flow-controlled claim: :attr:`lock` (``BEGIN`` and the advisory lock, run
    first; ``None``: no lock, the query alone) and :attr:`query`, run in the same
    transaction."""

    lock: str | None
    query: Query[ClaimedJob]


def claim_flow(stmts: Statements, *, worker_id: str, queues: Sequence[str],
               entrypoints: Sequence[str], limit: int,
               acknowledgements: Acknowledgements | None = None, limited: bool = True,
               now: datetime | None = None) -> FlowClaim:
    """Claim up to ``limit`` ready flow-controlled jobs (concurrency and rate
    limits, fairness keys) of ``entrypoints`` from ``queues`` for ``worker_id``,
    within their limits (:func:`pgq_sa.sql.claim.claim_flow`); with
    ``acknowledgements``, record those outcomes in the same statement.  Without
    ``limited``: jobs with a fairness key and no limit only, without the lock."""
    lock = stmts.flow_lock if limited else None
    params: dict[str, Any] = {"worker_id": worker_id, "entrypoints": list(entrypoints),
                              "queues": list(queues), "limit": limit, "now": now}
    if acknowledgements is None:
        return FlowClaim(lock, Query(stmts.claim_flow(limited=limited), params,
                                     ClaimedJob._make))
    params.update(acknowledgements.params)
    return FlowClaim(lock, Query(stmts.claim_flow(acknowledge=acknowledgements.form,
                                                  limited=limited), params, ClaimedJob._make))
