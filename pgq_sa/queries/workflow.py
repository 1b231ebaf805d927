"""Jobs with dependencies (:mod:`pgq_sa.sql.workflow`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from ..sql import Statements
from . import Query
from .enqueue import NewJobs

__all__ = ["Dependency", "DependencyResult", "Graph", "GraphRow", "dependencies",
           "dependency_results", "insert_graph"]


@dataclass(frozen=True, slots=True)
class Graph:
    """Jobs to insert (validated, by position) and the edges between them."""

    jobs: NewJobs
    #: Per job: ``cancel`` or ``run`` when it has dependencies, else ``None``.
    policies: list[str | None]
    #: Internal edges: ``inner_jobs[i]`` waits on ``inner_deps[i]`` (positions).
    inner_jobs: list[int]
    inner_deps: list[int]
    #: Edges to existing jobs: position ``outer_jobs[i]`` waits on id ``outer_deps[i]``.
    outer_jobs: list[int]
    outer_deps: list[int]


class GraphRow(NamedTuple):
    """One inserted job: its id, and per statement the NOTIFYs sent, the edges and
    the jobs written."""

    id: int
    notified: int
    edges: int
    written: int


class Dependency(NamedTuple):
    """A job related to another: ``relation`` is ``waits_on`` or ``waited_by``."""

    relation: str
    id: int
    entrypoint: str
    status: str
    done: bool


class DependencyResult(NamedTuple):
    """A dependency's id, entrypoint, status and result."""

    id: int
    entrypoint: str
    status: str
    result: Any


def insert_graph(stmts: Statements, graph: Graph, *, table: str,
                 now: datetime | None = None) -> Query[GraphRow]:
    """Insert the jobs and edges of ``graph`` in one statement; rows in position
    order.  ``table`` is the qualified ``pgq_jobs`` (its id sequence)."""
    jobs = graph.jobs
    if jobs.unique_keys is not None and any(k is not None for k in jobs.unique_keys):
        raise ValueError("unique_key does not combine with dependencies: enqueue the jobs "
                         "with a unique key in a call of their own")
    return Query(stmts.insert_graph, {
        "channel": stmts.channel, "now": now, "table": table,
        "ords": list(range(len(jobs))), "queues": jobs.queues,
        "entrypoints": jobs.entrypoints, "payloads": jobs.payloads,
        "priorities": jobs.priorities, "run_ats": jobs.run_ats,
        "attempt_limits": jobs.max_attempts, "heartbeat_timeouts": jobs.heartbeat_timeouts,
        "trace_contexts": jobs.trace_contexts or [None] * len(jobs),
        **{f"{name}s": values for name, values in jobs.flow_columns().items()},
        "policies": graph.policies, "inner_jobs": graph.inner_jobs,
        "inner_deps": graph.inner_deps, "outer_jobs": graph.outer_jobs,
        "outer_deps": graph.outer_deps,
    }, GraphRow._make)


def dependencies(stmts: Statements, *, job_id: int) -> Query[Dependency]:
    """What the job waits on, then what waits on it."""
    return Query(stmts.dependencies, {"job_id": job_id}, Dependency._make)


def dependency_results(stmts: Statements, *, job_id: int) -> Query[DependencyResult]:
    """The job's dependencies with their results."""
    return Query(stmts.dependency_results, {"job_id": job_id}, DependencyResult._make)


