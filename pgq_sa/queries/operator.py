"""Operator actions (:mod:`pgq_sa.sql.operator`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from ..sql import Statements
from . import Query, first_column

__all__ = ["CancelRequested", "Retried", "cancel_queued", "cancel_running", "notify",
           "prune_jobs", "prune_stats", "retry"]


class CancelRequested(NamedTuple):
    """A running job asked to stop, and the worker running it."""

    id: int
    worker_id: str | None


class Retried(NamedTuple):
    """A job put back in the queue."""

    id: int
    queue: str


def cancel_queued(stmts: Statements, *, ids: Sequence[int],
                  now: datetime | None = None) -> Query[int]:
    """Cancel the queued jobs of ``ids``; returns their ids."""
    return Query(stmts.cancel_queued, {"ids": list(ids), "now": now}, first_column)


def cancel_running(stmts: Statements, *, ids: Sequence[int],
                   now: datetime | None = None) -> Query[CancelRequested]:
    """Ask the running jobs of ``ids`` to stop."""
    return Query(stmts.cancel_running, {"ids": list(ids), "now": now}, CancelRequested._make)


def retry(stmts: Statements, *, ids: Sequence[int],
          now: datetime | None = None) -> Query[Retried]:
    """Put the failed or cancelled jobs of ``ids`` back in the queue."""
    return Query(stmts.retry, {"ids": list(ids), "now": now}, Retried._make)


def prune_jobs(stmts: Statements, *, before: datetime, limit: int) -> Query[int]:
    """Delete up to ``limit`` jobs finished before ``before``; returns their ids."""
    return Query(stmts.prune_jobs, {"before": before, "limit": limit}, first_column)


def prune_stats(stmts: Statements, *, span: int, before: datetime, limit: int) -> Query[int]:
    """Delete up to ``limit`` statistics rows of width ``span`` older than ``before``."""
    return Query(stmts.prune_stats, {"span": span, "before": before, "limit": limit},
                 first_column)


def notify(stmts: Statements, *, channel: str, payload: str) -> Query[Any]:
    """``pg_notify(channel, payload)``."""
    return Query(stmts.notify, {"channel": channel, "payload": payload}, first_column)
