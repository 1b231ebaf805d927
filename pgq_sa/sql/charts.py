"""Charts: outcomes and latency per time slot, for the web dashboard's overview.

Both read bounded ranges: outcome counts from ``pgq_stats`` (primary-key ranges
of per-second rows for the last minutes, of per-minute rows for the last hour),
latency percentiles from a sample of the most recently finished jobs of each slot
(read backwards through the partial index on ``finished_at``, ``per_slot`` jobs
at most), whatever the traffic.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Double, Integer, Select, Text, bindparam, cast, func, select, true, tuple_
from sqlalchemy.dialects.postgresql import ARRAY

from ..schema import FINISHED_STATUSES, Tables
from .common import TS, latency, literal, seconds, status_in

__all__ = ["counts_per_minute", "counts_per_second", "latency_all", "latency_queue"]


def _counts(tables: Tables, span: int) -> Select[Any]:
    stats = tables.stats
    since = bindparam("since", type_=TS)
    slot = cast(func.floor(seconds(stats.c.bucket - since)
                           / bindparam("slot_seconds", type_=Double)), Integer)
    return (
        select(stats.c.queue, stats.c.status, slot.label("slot"),
               func.sum(stats.c["count"]).label("n"))
        .where(stats.c.span == literal(str(span)), stats.c.bucket >= since,
               stats.c.bucket < bindparam("until", type_=TS))
        .group_by(stats.c.queue, stats.c.status, slot)
    )


def counts_per_second(tables: Tables) -> Select[Any]:
    """Outcomes (``pgq_stats`` statuses) per queue and slot (``slot_seconds`` wide,
    numbered from 0) of [since, until), from the per-second rows: the last minutes."""
    return _counts(tables, 1)


def counts_per_minute(tables: Tables) -> Select[Any]:
    """:func:`counts_per_second` from the per-minute rows: the last hour."""
    return _counts(tables, 60)


def _slots() -> Any:
    """The slots [starts[i], ends[i]) as rows ``(lo, hi, slot)``, slot numbers from 1."""
    return func.unnest(
        cast(bindparam("starts", type_=ARRAY(TS)), ARRAY(TS)),
        cast(bindparam("ends", type_=ARRAY(TS)), ARRAY(TS)),
    ).table_valued("lo", "hi", with_ordinality="slot").render_derived(name="slots")


def _recent(tables: Tables, slots: Any) -> Select[Any]:
    """A slot's finished jobs (queue, latency), most recently finished first."""
    jobs = tables.jobs
    return (
        select(jobs.c.queue, latency(jobs).label("latency"))
        .where(status_in(jobs.c.status, FINISHED_STATUSES),
               jobs.c.finished_at >= slots.c.lo, jobs.c.finished_at < slots.c.hi,
               jobs.c.started_at.is_not(None))
        .order_by(jobs.c.finished_at.desc())
    )


def _percentiles(slots: Any, sample: Any) -> Select[Any]:
    return (
        select(
            slots.c.slot, sample.c.queue,
            func.grouping(slots.c.slot, sample.c.queue).label("level"),
            func.count().label("n"),
            func.percentile_disc(literal("ARRAY[0.5, 0.95]")).within_group(sample.c.latency)
            .label("latency"),
        )
        .select_from(slots.join(sample, true()))
        .group_by(func.grouping_sets(
            tuple_(slots.c.slot, sample.c.queue), tuple_(slots.c.slot),
            tuple_(sample.c.queue), tuple_()))
    )


def latency_all(tables: Tables) -> Select[Any]:
    """Latency p50/p95 of the ``per_slot`` most recently finished jobs of each slot
    (``starts``/``ends``), per slot and queue, per slot, per queue and overall
    (``level`` from ``grouping``: 0, 1, 2, 3)."""
    slots = _slots()
    sample = (_recent(tables, slots).limit(bindparam("per_slot", type_=Integer))
              .lateral("sample"))
    return _percentiles(slots, sample)


def latency_queue(tables: Tables) -> Select[Any]:
    """:func:`latency_all` of ``queue`` alone: its jobs among the ``scan`` most
    recently finished of each slot, ``per_slot`` at most."""
    slots = _slots()
    scanned = (
        _recent(tables, slots)
        .limit(bindparam("scan", type_=Integer))
        .correlate(slots)  # the slot of the enclosing lateral subquery
        .lateral("scanned")
    )
    sample = (
        select(scanned.c.queue, scanned.c.latency)
        .where(scanned.c.queue == bindparam("queue", type_=Text))
        .limit(bindparam("per_slot", type_=Integer))
        .lateral("sample")
    )
    return _percentiles(slots, sample)
