"""Insert jobs (:mod:`pgq_sa.sql.enqueue`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..sql import Statements
from . import Query, first_column

__all__ = ["NewJobs", "insert_job", "insert_jobs", "notify_queues", "reserve_ids"]


@dataclass(frozen=True, slots=True)
class NewJobs:
    """Jobs to insert, as parallel lists (one element per job), validated."""

    queues: list[str]
    entrypoints: list[str]
    #: JSON text.
    payloads: list[str]
    priorities: list[int]
    run_ats: list[datetime | None]
    max_attempts: list[int | None]
    #: W3C ``traceparent`` per job (OpenTelemetry); empty: none at all.
    trace_contexts: list[str | None] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.entrypoints)


def insert_jobs(stmts: Statements, jobs: NewJobs, *,
                now: datetime | None = None) -> Query[int]:
    """Insert ``jobs`` and notify their queues; returns the new ids, in order.  One
    job takes the plain ``INSERT … VALUES`` form, more the array form."""
    if len(jobs) == 1:
        return Query(stmts.insert_job_notify, {
            "channel": stmts.channel, "now": now, "queue": jobs.queues[0],
            "entrypoint": jobs.entrypoints[0], "payload": jobs.payloads[0],
            "priority": jobs.priorities[0], "run_at": jobs.run_ats[0],
            "max_attempts": jobs.max_attempts[0],
            "trace_context": jobs.trace_contexts[0] if jobs.trace_contexts else None,
        }, first_column)
    return Query(stmts.insert_jobs_notify, {
        "channel": stmts.channel, "now": now, "queues": jobs.queues,
        "entrypoints": jobs.entrypoints, "payloads": jobs.payloads,
        "priorities": jobs.priorities, "run_ats": jobs.run_ats,
        "max_attempts": jobs.max_attempts,
        "trace_contexts": jobs.trace_contexts or [None] * len(jobs),
    }, first_column)


def insert_job(stmts: Statements, *, entrypoint: str, payload: str, queue: str,
               priority: int = 0, run_at: datetime | None = None,
               max_attempts: int | None = None, now: datetime | None = None) -> Query[int]:
    """Insert one job and notify its queue; returns its id."""
    return insert_jobs(stmts, NewJobs([queue], [entrypoint], [payload], [priority], [run_at],
                                      [max_attempts]), now=now)


def reserve_ids(stmts: Statements, *, table: str, n: int) -> Query[list[int]]:
    """``n`` new job ids of ``table`` (the qualified ``pgq_jobs``), for a COPY."""
    return Query(stmts.reserve_ids, {"table": table, "n": n}, first_column)


def notify_queues(stmts: Statements, *, queues: Sequence[str]) -> Query[Any]:
    """One NOTIFY per queue of ``queues`` (after a COPY)."""
    return Query(stmts.notify_queues, {"channel": stmts.channel, "queues": list(queues)},
                 first_column)
