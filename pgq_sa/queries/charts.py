"""The web dashboard's charts (:mod:`pgq_sa.sql.charts`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

from ..sql import Statements
from . import Query

__all__ = ["SlotCount", "SlotLatency", "counts_per_minute", "counts_per_second",
           "latency_all", "latency_queue"]


class SlotCount(NamedTuple):
    """Outcomes of one status in one queue and time slot."""

    queue: str
    status: str
    #: From 0, the slot starting at ``since``.
    slot: int
    n: int


class SlotLatency(NamedTuple):
    """Latency percentiles of a slot's sample."""

    #: From 1 (``None``: every slot).
    slot: int | None
    #: ``None``: every queue.
    queue: str | None
    #: 0: a slot and queue; 1: a slot; 2: a queue; 3: everything.
    level: int
    n: int
    #: ``[p50, p95]`` in seconds.
    latency: list[float] | None


def _counts(statement: object, since: datetime, until: datetime,
            slot_seconds: float) -> Query[SlotCount]:
    return Query(statement, {"since": since, "until": until,
                             "slot_seconds": float(slot_seconds)}, SlotCount._make)


def counts_per_second(stmts: Statements, *, since: datetime, until: datetime,
                      slot_seconds: float) -> Query[SlotCount]:
    """Outcomes per queue and slot of [since, until) from per-second statistics."""
    return _counts(stmts.counts_per_second, since, until, slot_seconds)


def counts_per_minute(stmts: Statements, *, since: datetime, until: datetime,
                      slot_seconds: float) -> Query[SlotCount]:
    """Outcomes per queue and slot of [since, until) from per-minute statistics."""
    return _counts(stmts.counts_per_minute, since, until, slot_seconds)


def latency_all(stmts: Statements, *, starts: Sequence[datetime], ends: Sequence[datetime],
                per_slot: int) -> Query[SlotLatency]:
    """Latency p50/p95 of up to ``per_slot`` jobs finished in each slot
    [starts[i], ends[i])."""
    return Query(stmts.latency_all, {"starts": list(starts), "ends": list(ends),
                                     "per_slot": per_slot}, SlotLatency._make)


def latency_queue(stmts: Statements, *, starts: Sequence[datetime], ends: Sequence[datetime],
                  per_slot: int, queue: str, scan: int) -> Query[SlotLatency]:
    """:func:`latency_all` of ``queue``: its jobs among the ``scan`` most recently
    finished of each slot."""
    return Query(stmts.latency_queue, {"starts": list(starts), "ends": list(ends),
                                       "per_slot": per_slot, "queue": queue, "scan": scan},
                 SlotLatency._make)
