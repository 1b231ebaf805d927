"""Insert jobs (:mod:`pgq_sa.sql.enqueue`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..job import Flow
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
    #: Flow control per job (``None``: a plain job); empty: all plain.
    flows: list[Flow | None] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.entrypoints)

    def flow_columns(self) -> dict[str, list[Any]]:
        """The flow-control columns as parallel lists (``None`` for plain jobs)."""
        flows = self.flows
        if not any(flows):
            nothing: list[Any] = [None] * len(self)
            return dict.fromkeys(_FLOW_NAMES, nothing)
        return {name: [None if f is None else getattr(f, name) for f in flows]
                for name in _FLOW_NAMES}


_FLOW_NAMES = ("flow_key", "concurrency_key", "concurrency_limit", "rate_key", "rate_limit",
               "rate_period")


def insert_jobs(stmts: Statements, jobs: NewJobs, *,
                now: datetime | None = None) -> Query[int]:
    """Insert ``jobs`` and notify their queues; returns the new ids, in order.  One
    job takes the plain ``INSERT … VALUES`` form, more the array form."""
    if len(jobs) == 1:
        flow = jobs.flows[0] if jobs.flows else None
        return Query(stmts.insert_job_notify, {
            "channel": stmts.channel, "now": now, "queue": jobs.queues[0],
            "entrypoint": jobs.entrypoints[0], "payload": jobs.payloads[0],
            "priority": jobs.priorities[0], "run_at": jobs.run_ats[0],
            "max_attempts": jobs.max_attempts[0],
            **(_NO_FLOW if flow is None else {name: getattr(flow, name) for name in _FLOW_NAMES}),
        }, first_column)
    return Query(stmts.insert_jobs_notify, {
        "channel": stmts.channel, "now": now, "queues": jobs.queues,
        "entrypoints": jobs.entrypoints, "payloads": jobs.payloads,
        "priorities": jobs.priorities, "run_ats": jobs.run_ats,
        "max_attempts": jobs.max_attempts,
        **{f"{name}s": values for name, values in jobs.flow_columns().items()},
    }, first_column)


_NO_FLOW: dict[str, Any] = dict.fromkeys(_FLOW_NAMES)


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
