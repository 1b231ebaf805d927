"""Outcome counts (:mod:`pgq_sa.sql.statistics`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from ..sql import Statements
from . import Query, first_column

__all__ = ["Count", "record_counts"]


class Count(NamedTuple):
    """Outcomes of one (queue, entrypoint, stats status) counted in memory."""

    queue: str
    entrypoint: str
    status: str
    n: int
    #: The latest error message (failed, retried).
    message: str | None


def record_counts(stmts: Statements, counts: Sequence[Count], *, shard: int,
                  now: datetime | None = None) -> Query[Any]:
    """Add ``counts`` to the current buckets of ``pgq_stats``, into ``shard``."""
    return Query(stmts.record_counts, {
        "queues": [count.queue for count in counts],
        "entrypoints": [count.entrypoint for count in counts],
        "statuses": [count.status for count in counts],
        "counts": [count.n for count in counts],
        "messages": [count.message for count in counts],
        "stats_shard": shard,
        "now": now,
    }, first_column)
