"""Pause and resume queues (:mod:`pgq_sa.sql.queues`)."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from ..sql import Statements
from . import Query

__all__ = ["PausedQueue", "QueueState", "paused_queues", "set_paused"]


class QueueState(NamedTuple):
    """A queue's state after a pause or a resume."""

    name: str
    paused: bool
    paused_at: datetime | None
    notified: object = None


class PausedQueue(NamedTuple):
    """A paused queue and since when."""

    name: str
    paused_at: datetime | None


def set_paused(stmts: Statements, *, queue: str, paused: bool,
               now: datetime | None = None) -> Query[QueueState]:
    """Pause (``paused=True``) or resume ``queue`` and wake its workers."""
    return Query(stmts.set_paused, {"queue": queue, "paused": paused, "now": now,
                                    "channel": stmts.channel}, QueueState._make)


def paused_queues(stmts: Statements) -> Query[PausedQueue]:
    """The paused queues, by name."""
    return Query(stmts.paused_queues, {}, PausedQueue._make)
