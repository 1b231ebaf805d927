"""Workflows: a graph of jobs enqueued in one transaction and one statement.

::

    flow = pgq_sa.Workflow()
    fetch = flow.add(fetch_album.job(album_id=7))
    resized = flow.group(*(resize.job(photo=p) for p in photos), after=[fetch])  # fan-out
    flow.add(publish.job(album_id=7), after=resized)                             # fan-in
    ids = await flow.enqueue(session)

:meth:`Workflow.add` returns a :class:`Step`; ``after`` names what a job waits
for: steps of this workflow (a :class:`Step`, or the ``name`` given to
:meth:`~Workflow.add`, which may come later) or existing jobs (their ids).  A job
runs once everything it waits for succeeded; when one of them fails or is
cancelled it is cancelled (``on_failure="cancel"``, the default, with a
``last_error`` naming that dependency; its own dependents follow) or runs anyway
once they all ended (``on_failure="run"``).  :meth:`~Workflow.chain` adds jobs
that run one after the other, :meth:`~Workflow.group` jobs that run side by side.

Cycles, unknown names and bad options are rejected before anything is written.
Enqueueing is one ``INSERT`` of every job and one of every edge, in one statement
(:func:`pgq_sa.sql.workflow.insert_graph`): in the caller's transaction (a
connection or session), or its own (an engine).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession
from sqlalchemy.orm import Session

from .enqueue import (
    JobLike,
    build_params,
    dependency_ids,
    dependency_policy,
    enqueue_graph,
    enqueue_graph_sync,
    resolve_schema,
)
from .queries.workflow import Graph

__all__ = ["Step", "Workflow"]

After = Iterable["Step | str | int"]


class Step:
    """One job of a :class:`Workflow` (what :meth:`Workflow.add` returns)."""

    __slots__ = ("index", "name", "workflow")

    def __init__(self, workflow: Workflow, index: int, name: str | None) -> None:
        self.workflow = workflow
        self.index = index
        self.name = name

    def __repr__(self) -> str:
        return f"Step({self.name or self.index})"


class Workflow:
    """A graph of jobs to enqueue together (see the module documentation)."""

    def __init__(self, *, on_failure: str = "cancel", schema: str | None = None) -> None:
        self.on_failure = dependency_policy(on_failure)
        self.schema = schema
        self._jobs: list[JobLike] = []
        self._after: list[list[Step | str | int]] = []
        self._policies: list[str] = []
        self._names: dict[str, int] = {}
        #: The ids of the enqueued jobs, in the order they were added (after
        #: :meth:`enqueue`).
        self.ids: list[int] = []

    def __len__(self) -> int:
        return len(self._jobs)

    def add(self, job: JobLike, *, after: After = (), name: str | None = None,
            on_failure: str | None = None) -> Step:
        """Add ``job`` (``task.job(...)``, ``(entrypoint, payload)``…) to run after
        ``after`` (steps, step names, existing job ids)."""
        if name is not None:
            if not isinstance(name, str) or not name:
                raise ValueError("a step name must be a non-empty string")
            if name in self._names:
                raise ValueError(f"two steps named {name!r}: names must be unique")
            self._names[name] = len(self._jobs)
        waits: list[Step | str | int] = (
            [after] if isinstance(after, (Step, str, int)) else list(after))
        for item in waits:
            if isinstance(item, Step):
                if item.workflow is not self:
                    raise ValueError(f"{item!r} belongs to another workflow")
            elif isinstance(item, bool) or not isinstance(item, (str, int)):
                raise TypeError(f"after takes steps, step names or job ids, got a "
                                f"{type(item).__name__}")
        self._jobs.append(job)
        self._after.append(waits)
        self._policies.append(self.on_failure if on_failure is None
                              else dependency_policy(on_failure))
        return Step(self, len(self._jobs) - 1, name)

    def chain(self, *jobs: JobLike, after: After = ()) -> list[Step]:
        """Jobs that run one after the other (the first after ``after``)."""
        steps: list[Step] = []
        previous: After = after
        for job in jobs:
            step = self.add(job, after=previous)
            steps.append(step)
            previous = [step]
        return steps

    def group(self, *jobs: JobLike, after: After = ()) -> list[Step]:
        """Jobs that run side by side, each after ``after`` (a fan-out; pass the
        list as ``after`` of the next job for the fan-in)."""
        return [self.add(job, after=after) for job in jobs]

    def graph(self) -> Graph:
        """The validated graph: unknown names and cycles raise ``ValueError``."""
        if not self._jobs:
            raise ValueError("the workflow has no jobs")
        inner_jobs: list[int] = []
        inner_deps: list[int] = []
        outer_jobs: list[int] = []
        outer_deps: list[int] = []
        waits_on: list[set[int]] = []
        for position, waits in enumerate(self._after):
            inner: set[int] = set()
            outer: list[int] = []
            for item in waits:
                if isinstance(item, Step):
                    inner.add(item.index)
                elif isinstance(item, str):
                    if item not in self._names:
                        raise ValueError(f"step {self._label(position)} waits on {item!r}, "
                                         "which no step of the workflow is named")
                    inner.add(self._names[item])
                else:
                    outer.extend(dependency_ids([item]))
            if position in inner:
                raise ValueError(f"step {self._label(position)} waits on itself")
            waits_on.append(inner)
            for dep in sorted(inner):
                inner_jobs.append(position)
                inner_deps.append(dep)
            for dep in dict.fromkeys(outer):
                outer_jobs.append(position)
                outer_deps.append(dep)
        cycle = _cycle(waits_on)
        if cycle:
            path = " waits on ".join(self._label(i) for i in cycle)
            raise ValueError(f"the workflow has a cycle: {path}; nothing was enqueued")
        policies: list[str | None] = [
            policy if waits else None for policy, waits in zip(self._policies, self._after,
                                                               strict=True)]
        return Graph(build_params(self._jobs), policies, inner_jobs, inner_deps,
                     outer_jobs, outer_deps)

    def _label(self, position: int) -> str:
        for name, index in self._names.items():
            if index == position:
                return repr(name)
        return f"#{position}"

    async def enqueue(self, target: AsyncConnection | AsyncSession | AsyncEngine, *,
                      now: datetime | None = None) -> list[int]:
        """Enqueue every job and edge with one statement in ``target``'s
        transaction; returns (and keeps in :attr:`ids`) the ids in the order the
        jobs were added."""
        graph = self.graph()
        schema = resolve_schema(self._jobs, self.schema)
        self.ids = await enqueue_graph(target, graph, schema=schema, now=now)
        return self.ids

    def enqueue_sync(self, target: Connection | Session | Engine, *,
                     now: datetime | None = None) -> list[int]:
        """Sync twin of :meth:`enqueue`."""
        graph = self.graph()
        schema = resolve_schema(self._jobs, self.schema)
        self.ids = enqueue_graph_sync(target, graph, schema=schema, now=now)
        return self.ids

    def id_of(self, step: Step) -> int:
        """The job id of ``step`` once enqueued."""
        if not self.ids:
            raise RuntimeError("the workflow is not enqueued yet")
        return self.ids[step.index]


def _cycle(waits_on: Sequence[set[int]]) -> list[int]:
    """A cycle of the graph (positions, first repeated at the end), or ``[]``."""
    state = [0] * len(waits_on)  # 0 new, 1 on the path, 2 done
    for start in range(len(waits_on)):
        if state[start]:
            continue
        path: list[int] = []
        stack: list[tuple[int, Any]] = [(start, iter(sorted(waits_on[start])))]
        state[start] = 1
        path.append(start)
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                stack.pop()
                path.pop()
                state[node] = 2
            elif state[child] == 1:
                return [*path[path.index(child):], child]
            elif state[child] == 0:
                state[child] = 1
                path.append(child)
                stack.append((child, iter(sorted(waits_on[child]))))
    return []
