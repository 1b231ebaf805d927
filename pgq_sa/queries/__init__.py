"""The typed query layer: one typed call per runtime statement, one module per concern.

==========================  ==================================================
module                      calls
==========================  ==================================================
:mod:`.enqueue`             insert jobs (one, many), reserve ids, notify queues
:mod:`.claim`               claim ready jobs (:class:`~.claim.ClaimedJob` rows)
:mod:`.acknowledge`         record outcomes (:class:`~.acknowledge.Acknowledgements`)
:mod:`.lifecycle`           register, heartbeat, deregister, rescue, reap workers
:mod:`.operator`            cancel, retry, prune, notify
:mod:`.queues`              pause and resume queues
:mod:`.schedules`           periodic schedules: register, read, fire, list
:mod:`.statistics`          add outcome counts to ``pgq_stats``
:mod:`.inspection`          what the dashboard, the CLI and the metrics read
:mod:`.charts`              outcomes and latency per time slot (web dashboard)
:mod:`.browse`              the jobs list by keyset, bulk selections, running
                            jobs per worker (web dashboard)
:mod:`.health`              what holds back cleanup (web dashboard)
:mod:`.results`             wait for a job (mark awaited, read its end)
:mod:`.workflow`            jobs with dependencies, what a job waits on
==========================  ==================================================

Each call takes keyword arguments and returns a :class:`Query`: the statement of
:mod:`pgq_sa.sql`, its parameters (built here, never by the caller) and the type
of its rows.  A :class:`Query` runs on a worker's :class:`~pgq_sa.driver.Lease`
(:func:`fetch`: the pre-compiled statement on the raw asyncpg connection) or on a
SQLAlchemy connection or session (:func:`execute`, :func:`execute_sync`).
Parameters are checked against the statement on every path: an unknown or
missing name raises :class:`~pgq_sa.sql.ParameterError`, it never binds ``NULL``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from ..sql import compiled

if TYPE_CHECKING:
    from ..driver import Lease

__all__ = ["Query", "execute", "execute_sync", "fetch", "first_column"]

RowT = TypeVar("RowT")


def first_column(row: Sequence[Any]) -> Any:
    """The row's first value (an id, a count)."""
    return row[0]


@dataclass(frozen=True, slots=True)
class Query(Generic[RowT]):
    """One statement with its parameters, and how to read its rows."""

    statement: Any
    params: dict[str, Any]
    row: Callable[[Any], RowT]


async def fetch(lease: Lease, query: Query[RowT], *, retry: bool = True,
                timeout: float | None = None) -> list[RowT]:
    """Run ``query`` on a worker's lease (see :meth:`~pgq_sa.driver.Lease.fetch`)."""
    row = query.row
    return [row(record) for record in await lease.fetch(query.statement, query.params,
                                                         retry=retry, timeout=timeout)]


async def execute(conn: Any, query: Query[RowT]) -> list[RowT]:
    """Run ``query`` on an ``AsyncConnection`` or ``AsyncSession`` (its transaction)."""
    compiled(query.statement).args(query.params)  # an unknown or missing name raises
    result = await conn.execute(query.statement, query.params)
    row = query.row
    return [row(record) for record in result] if result.returns_rows else []


def execute_sync(conn: Any, query: Query[RowT]) -> list[RowT]:
    """Run ``query`` on a sync ``Connection`` or ``Session`` (its transaction)."""
    compiled(query.statement).args(query.params)
    result = conn.execute(query.statement, query.params)
    row = query.row
    return [row(record) for record in result] if result.returns_rows else []
