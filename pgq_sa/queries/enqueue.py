"""Insert jobs (:mod:`pgq_sa.sql.enqueue`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from ..job import Flow
from ..sql import Statements
from . import Query, first_column

__all__ = ["NewJobs", "UniqueInsert", "insert_job", "insert_jobs", "insert_unique_job",
           "notify_queues", "repoint_unique", "reserve_ids"]


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
    #: Per job, the heartbeat timeout its rescue applies (``None``: the rescuer's).
    heartbeat_timeouts: list[float | None]
    #: Unique keys and their windows (``None`` when no job of the batch has a key).
    unique_keys: list[str | None] | None = None
    unique_fors: list[timedelta | None] | None = None
    #: Flow control per job (``None``: a plain job); empty: all plain.
    flows: list[Flow | None] = field(default_factory=list)
    #: W3C ``traceparent`` per job (OpenTelemetry); empty: none at all.
    trace_contexts: list[str | None] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.entrypoints)

    def select(self, indexes: Sequence[int]) -> NewJobs:
        """The jobs at ``indexes`` (without unique keys)."""
        return NewJobs([self.queues[i] for i in indexes],
                       [self.entrypoints[i] for i in indexes],
                       [self.payloads[i] for i in indexes],
                       [self.priorities[i] for i in indexes],
                       [self.run_ats[i] for i in indexes],
                       [self.max_attempts[i] for i in indexes],
                       [self.heartbeat_timeouts[i] for i in indexes],
                       flows=[self.flows[i] for i in indexes] if self.flows else [],
                       trace_contexts=[self.trace_contexts[i] for i in indexes]
                       if self.trace_contexts else [])

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


def flow_params(flow: Flow | None) -> dict[str, Any]:
    """One job's flow-control columns as parameters."""
    return _NO_FLOW if flow is None else {name: getattr(flow, name) for name in _FLOW_NAMES}


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
            "heartbeat_timeout": jobs.heartbeat_timeouts[0],
            **(_NO_FLOW if flow is None else {name: getattr(flow, name) for name in _FLOW_NAMES}),
            "trace_context": jobs.trace_contexts[0] if jobs.trace_contexts else None,
        }, first_column)
    return Query(stmts.insert_jobs_notify, {
        "channel": stmts.channel, "now": now, "queues": jobs.queues,
        "entrypoints": jobs.entrypoints, "payloads": jobs.payloads,
        "priorities": jobs.priorities, "run_ats": jobs.run_ats,
        "max_attempts": jobs.max_attempts, "heartbeat_timeouts": jobs.heartbeat_timeouts,
        "trace_contexts": jobs.trace_contexts or [None] * len(jobs),
        **{f"{name}s": values for name, values in jobs.flow_columns().items()},
    }, first_column)


_NO_FLOW: dict[str, Any] = dict.fromkeys(_FLOW_NAMES)


def insert_job(stmts: Statements, *, entrypoint: str, payload: str, queue: str,
               priority: int = 0, run_at: datetime | None = None,
               max_attempts: int | None = None, now: datetime | None = None) -> Query[int]:
    """Insert one job and notify its queue; returns its id."""
    return insert_jobs(stmts, NewJobs([queue], [entrypoint], [payload], [priority], [run_at],
                                      [max_attempts], [None]), now=now)


def reserve_ids(stmts: Statements, *, table: str, n: int) -> Query[list[int]]:
    """``n`` new job ids of ``table`` (the qualified ``pgq_jobs``), for a COPY."""
    return Query(stmts.reserve_ids, {"table": table, "n": n}, first_column)


def notify_queues(stmts: Statements, *, queues: Sequence[str]) -> Query[Any]:
    """One NOTIFY per queue of ``queues`` (after a COPY)."""
    return Query(stmts.notify_queues, {"channel": stmts.channel, "queues": list(queues)},
                 first_column)


class UniqueInsert(NamedTuple):
    """What :func:`insert_unique_job` did."""

    #: The new job's id, else the id of the job that holds the key; ``None``: the
    #: holder committed after the statement's snapshot (run it again).
    id: int | None
    created: bool
    #: The statement took the key's ``pgq_unique`` row (for ``fresh_id``).
    owned: bool
    fresh_id: int
    notified: int


def insert_unique_job(stmts: Statements, jobs: NewJobs, index: int, *, table: str,
                      now: datetime | None = None) -> Query[UniqueInsert]:
    """Insert job ``index`` of ``jobs`` (which has a unique key) unless its key is
    held (see :func:`pgq_sa.sql.enqueue.insert_unique_job`)."""
    assert jobs.unique_keys is not None and jobs.unique_fors is not None
    return Query(stmts.insert_unique_job, {
        "channel": stmts.channel, "now": now, "table": table, "queue": jobs.queues[index],
        "entrypoint": jobs.entrypoints[index], "payload": jobs.payloads[index],
        "priority": jobs.priorities[index], "run_at": jobs.run_ats[index],
        "max_attempts": jobs.max_attempts[index], "unique_key": jobs.unique_keys[index],
        "unique_for": jobs.unique_fors[index],
        "heartbeat_timeout": jobs.heartbeat_timeouts[index],
        **flow_params(jobs.flows[index] if jobs.flows else None),
        "trace_context": jobs.trace_contexts[index] if jobs.trace_contexts else None,
    }, UniqueInsert._make)


def repoint_unique(stmts: Statements, *, unique_key: str, fresh_id: int,
                   job_id: int | None) -> Query[Any]:
    """Point the key's ``pgq_unique`` row taken for ``fresh_id`` at ``job_id`` (or
    give it up: ``job_id=None``)."""
    return Query(stmts.repoint_unique, {"unique_key": unique_key, "fresh_id": fresh_id,
                                        "job_id": job_id}, tuple)
