"""Statistics: outcome counts added to ``pgq_stats``.

A worker counts its outcomes in memory and adds them once a second with
:func:`record_counts` (:mod:`pgq_sa.worker.stats_writer`); the rarer writers (the
rescue and an operator's cancel) count in the same statement through
:func:`record`.  Each upsert adds to the current per-second and per-minute rows,
with the latest error message, in key order so concurrent writers cannot
deadlock, into the writer's own shard.  Only counts are kept
(``benchmarks/stats_overhead.py`` measured the alternatives).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Double,
    Integer,
    SmallInteger,
    Text,
    bindparam,
    case,
    cast,
    column,
    func,
    null,
    select,
    true,
    values,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert

from ..schema import FAILED, QUEUED, RETRIED, Tables
from .common import literal, now, seconds, status_in, status_is

__all__ = ["MAX_ERROR_CHARS", "SPANS", "record", "record_counts", "stats_message",
           "stats_status"]

#: Bucket widths written for every outcome: seconds (live figures, kept briefly)
#: and minutes (history).
SPANS: tuple[int, ...] = (1, 60)
#: Longest error message copied into ``pgq_stats.last_error``.
MAX_ERROR_CHARS = 500


def stats_status(status: Any) -> Any:
    """The ``pgq_stats`` status of a job's new status: ``retried`` for ``queued``."""
    return case((status_is(status, QUEUED), literal(f"'{RETRIED}'")), else_=status)


def stats_message(status: Any, last_error: Any) -> Any:
    """The error message counted with a failed or retried attempt."""
    return case((status_in(status, (FAILED, QUEUED)),
                 func.left(last_error, literal(str(MAX_ERROR_CHARS), Integer))), else_=null())


def record(tables: Tables, observed: Any, *, counted: bool = False) -> Any:
    """``INSERT … ON CONFLICT DO UPDATE`` of ``observed`` (queue, entrypoint, status,
    message, and ``n`` when ``counted``: one row per outcome otherwise) into the
    current bucket of every span, as a CTE."""
    stats = tables.stats
    key = [observed.c.queue, observed.c.entrypoint, observed.c.status]
    # the writer's shard; statements that do not pass one count into shard 0
    shard = bindparam("stats_shard", value=0, type_=SmallInteger)
    spans = values(column("span", Integer), name="spans", literal_binds=True).data(
        [(span,) for span in SPANS])
    now_seconds = seconds(now())
    span_seconds = cast(spans.c.span, Double)
    bucket = func.to_timestamp(func.floor(now_seconds / span_seconds, type_=Double)
                               * span_seconds)
    rows = (
        select(spans.c.span, bucket, *key, shard,
               func.sum(observed.c.n) if counted else func.count(),
               func.max(observed.c.message))
        .select_from(observed.join(spans, true()))
        .group_by(spans.c.span, *key)
        # one lock order for every writer: no deadlock between workers
        .order_by(spans.c.span, *key)
    )
    upsert = pg_insert(stats).from_select(
        ["span", "bucket", "queue", "entrypoint", "status", "shard", "count", "last_error"],
        rows)
    return upsert.on_conflict_do_update(
        index_elements=[stats.c.span, stats.c.bucket, stats.c.queue, stats.c.entrypoint,
                        stats.c.status, stats.c.shard],
        set_={
            "count": stats.c["count"] + upsert.excluded["count"],
            "last_error": func.coalesce(upsert.excluded.last_error, stats.c.last_error),
        },
    ).cte("recorded")


def record_counts(tables: Tables) -> Any:
    """Add pre-aggregated counts (a worker's per-second flush) to ``pgq_stats``."""
    counts = func.unnest(
        cast(bindparam("queues", type_=ARRAY(Text)), ARRAY(Text)),
        cast(bindparam("entrypoints", type_=ARRAY(Text)), ARRAY(Text)),
        cast(bindparam("statuses", type_=ARRAY(Text)), ARRAY(Text)),
        cast(bindparam("counts", type_=ARRAY(BigInteger)), ARRAY(BigInteger)),
        cast(bindparam("messages", type_=ARRAY(Text)), ARRAY(Text)),
    ).table_valued("queue", "entrypoint", "status", "n", "message").render_derived(
        name="agg")
    observed = select(counts.c.queue, counts.c.entrypoint, counts.c.status, counts.c.n,
                      counts.c.message).cte("obs")
    return select(literal("1")).add_cte(record(tables, observed, counted=True))
