"""Statistics and inspection SQL, as SQLAlchemy Core (a sibling of :mod:`pgq_sa.sql`).

Writing: a worker counts its outcomes in memory and adds them once a second with
``record_counts`` (:mod:`pgq_sa.worker.stats_writer`); the rarer writers (``rescue``
and an operator's ``cancel_queued``) are wrapped so the same statement upserts
``pgq_stats``; ``finish`` has a wrapped variant too (one statement that records
outcomes and counts them), which cost 10-25 % of the claim rate in the hot path.
Each upsert adds to the current per-second and per-minute rows, with the latest
error message, in key order so concurrent writers cannot deadlock, into the
writer's own shard.  Only counts are kept (``benchmarks/stats_overhead.py``).

Reading: bounded queries for the dashboard, ``pgq-sa queues`` and ``pgq-sa
workers``: ``pgq_stats`` rows of a five-minute window (primary-key ranges), an exact
percentile sample of the most recently finished jobs (a ``LIMIT`` on the partial
index over ``finished_at``), queued and running jobs through their partial
indexes, and the workers table.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Double,
    Integer,
    Select,
    SmallInteger,
    Text,
    and_,
    bindparam,
    case,
    cast,
    column,
    delete,
    extract,
    func,
    literal_column,
    null,
    or_,
    select,
    text,
    true,
    tuple_,
    values,
)
from sqlalchemy.dialects.postgresql import ARRAY, TIMESTAMP
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.sql import Executable

from .schema import CANCELLED, FAILED, FINISHED_STATUSES, QUEUED, RETRIED, RUNNING, Tables

if TYPE_CHECKING:
    from .sql import Statements


def _distinct_on(stmt: Select[Any], *columns: Any) -> Select[Any]:
    """``SELECT DISTINCT ON (columns)``: SQLAlchemy 2.1's ``distinct_on`` extension,
    or 2.0's ``Select.distinct(*columns)`` (deprecated in 2.1)."""
    try:
        from sqlalchemy.dialects.postgresql import distinct_on
    except ImportError:  # SQLAlchemy 2.0
        return stmt.distinct(*columns)
    return stmt.ext(distinct_on(*columns))

__all__ = ["SPANS", "StatsStatements"]

TS = TIMESTAMP(timezone=True)
#: Bucket widths written for every outcome: seconds (live figures, kept briefly)
#: and minutes (history).
SPANS: tuple[int, ...] = (1, 60)
#: Longest error message copied into ``pgq_stats.last_error``.
MAX_ERROR_CHARS = 500


def _lit(sql: str, type_: Any = None) -> Any:
    return literal_column(sql, type_)


def _status_is(col: Any, status: str) -> ColumnElement[bool]:
    return col == _lit(f"'{status}'")  # type: ignore[no-any-return]


def _status_in(col: Any, statuses: Sequence[str]) -> ColumnElement[bool]:
    return col.in_([_lit(f"'{s}'") for s in statuses])  # type: ignore[no-any-return]


def _now() -> ColumnElement[Any]:
    return func.coalesce(bindparam("now", type_=TS), func.now())


def _seconds(interval: Any) -> ColumnElement[float]:
    return cast(extract("epoch", interval), Double)


def _max_error() -> Any:
    return _lit(str(MAX_ERROR_CHARS), Integer)


class StatsStatements:
    """Statistics statements for one :class:`~pgq_sa.sql.Statements` (one schema)."""

    def __init__(self, stmts: Statements) -> None:
        self.tables: Tables = stmts.tables
        j = self.tables.jobs

        def as_stats_status(status: Any) -> Any:
            return case((_status_is(status, QUEUED), _lit(f"'{RETRIED}'")), else_=status)

        def message(status: Any, last_error: Any) -> Any:
            return case((_status_in(status, (FAILED, QUEUED)),
                         func.left(last_error, _max_error())), else_=null())

        # ---- finish: the completer's batched ack -----------------------------------
        done = stmts.finish_source
        fin = stmts.finish.returning(
            j.c.queue, j.c.entrypoint, j.c.status, j.c.last_error, done.c.uncount,
        ).cte("fin")
        obs = (
            select(fin.c.queue, fin.c.entrypoint, as_stats_status(fin.c.status).label("status"),
                   message(fin.c.status, fin.c.last_error).label("message"))
            # snoozed jobs and jobs handed back at shutdown are not outcomes
            .where(fin.c.uncount.is_not(True))
            .cte("obs")
        )
        #: ``Statements.finish`` plus the statistics upsert, one statement; returns the
        #: same rows.  (Workers count in memory instead: see ``record_counts``.)
        self.finish: Executable = select(fin.c.id).add_cte(self._record(obs))

        # ---- rescue: jobs of dead workers -------------------------------------------
        res = stmts.rescue.returning(
            j.c.queue, j.c.entrypoint, message(j.c.status, j.c.last_error).label("message"),
            j.c.attempts, j.c.last_error,
        ).cte("res")
        obs_r = select(res.c.queue, res.c.entrypoint,
                       as_stats_status(res.c.status).label("status"), res.c.message).cte("obs")
        #: ``Statements.rescue`` plus the statistics upsert (lost attempts count as
        #: ``retried``, or ``failed`` when out of attempts); returns ``(id, new
        #: status, queue, entrypoint, attempts, last_error)`` for the logs.
        self.rescue: Executable = select(
            res.c.id, res.c.status, res.c.queue, res.c.entrypoint, res.c.attempts,
            res.c.last_error,
        ).add_cte(self._record(obs_r))

        # ---- cancel queued jobs (operator) --------------------------------------------
        can = stmts.cancel_queued.returning(j.c.queue, j.c.entrypoint).cte("can")
        obs_c = select(can.c.queue, can.c.entrypoint, _lit(f"'{CANCELLED}'").label("status"),
                       cast(null(), Text).label("message")).cte("obs")
        #: ``Statements.cancel_queued`` plus the statistics upsert.
        self.cancel_queued: Executable = select(can.c.id).add_cte(self._record(obs_c))

        # ---- counts a worker aggregated in memory (its outcomes of the last second) ----
        agg = func.unnest(
            cast(bindparam("queues", type_=ARRAY(Text)), ARRAY(Text)),
            cast(bindparam("entrypoints", type_=ARRAY(Text)), ARRAY(Text)),
            cast(bindparam("statuses", type_=ARRAY(Text)), ARRAY(Text)),
            cast(bindparam("counts", type_=ARRAY(BigInteger)), ARRAY(BigInteger)),
            cast(bindparam("messages", type_=ARRAY(Text)), ARRAY(Text)),
        ).table_valued("queue", "entrypoint", "status", "n", "message").render_derived(
            name="agg")
        obs_a = select(agg.c.queue, agg.c.entrypoint, agg.c.status, agg.c.n,
                       agg.c.message).cte("obs")
        #: Add pre-aggregated counts (a worker's per-second flush) to ``pgq_stats``.
        self.record_counts: Executable = select(_lit("1")).add_cte(
            self._record(obs_a, counted=True))

        self._build_readers()

    # ---- the upsert ---------------------------------------------------------------------
    def _record(self, obs: Any, *, counted: bool = False) -> Any:
        """``INSERT … ON CONFLICT DO UPDATE`` of ``obs`` (queue, entrypoint, status,
        message, and ``n`` when ``counted``) counted into the current bucket of every
        span, as a CTE."""
        st = self.tables.stats
        key = [obs.c.queue, obs.c.entrypoint, obs.c.status]
        # the writer's shard; statements that do not pass one count into shard 0
        shard = bindparam("stats_shard", value=0, type_=SmallInteger)
        spans = values(column("span", Integer), name="spans", literal_binds=True).data(
            [(s,) for s in SPANS])
        now_s = _seconds(_now())
        span_s = cast(spans.c.span, Double)
        bucket = func.to_timestamp(func.floor(now_s / span_s, type_=Double) * span_s)
        rows = (
            select(spans.c.span, bucket, *key, shard,
                   func.sum(obs.c.n) if counted else func.count(), func.max(obs.c.message))
            .select_from(obs.join(spans, true()))
            .group_by(spans.c.span, *key)
            # one lock order for every writer: no deadlock between workers
            .order_by(spans.c.span, *key)
        )
        ins = pg_insert(st).from_select(
            ["span", "bucket", "queue", "entrypoint", "status", "shard", "count", "last_error"],
            rows)
        return ins.on_conflict_do_update(
            index_elements=[st.c.span, st.c.bucket, st.c.queue, st.c.entrypoint, st.c.status,
                            st.c.shard],
            set_={
                "count": st.c["count"] + ins.excluded["count"],
                "last_error": func.coalesce(ins.excluded.last_error, st.c.last_error),
            },
        ).cte("recorded")

    # ---- readers -----------------------------------------------------------------------
    def _build_readers(self) -> None:
        j, w, st = self.tables.jobs, self.tables.workers, self.tables.stats
        since = bindparam("since", type_=TS)
        until = bindparam("until", type_=TS)
        fine = st.c.span == _lit("1")
        in_window = and_(fine, st.c.bucket >= since, st.c.bucket < until)
        # The window [since, until) read from as few rows as possible: whole minutes
        # [minutes_from, minutes_to) from per-minute rows, the ragged ends from
        # per-second rows.  The pieces do not overlap, so sums are exact.
        m_from = bindparam("minutes_from", type_=TS)
        m_to = bindparam("minutes_to", type_=TS)
        mixed = or_(
            and_(st.c.span == _lit("60"), st.c.bucket >= m_from, st.c.bucket < m_to),
            and_(fine, or_(and_(st.c.bucket >= since, st.c.bucket < m_from),
                           and_(st.c.bucket >= m_to, st.c.bucket < until))),
        )
        since_short = bindparam("since_short", type_=TS)
        in_short = and_(fine, st.c.bucket >= since_short, st.c.bucket < until)

        #: Current time (``:now`` or the database clock).
        self.now = select(_now())
        #: For the dashboard's read transaction: its queries touch a few thousand rows
        #: at most, but ``jsonb_each`` is estimated at 100 rows per call, which tempts
        #: the planner into parallel plans whose start-up costs more than the work.
        self.no_parallel = text("SET LOCAL max_parallel_workers_per_gather = 0")
        #: Per (queue, entrypoint, status): counts over the window and its short tail.
        self.window = (
            select(
                st.c.queue, st.c.entrypoint, st.c.status,
                func.coalesce(func.sum(st.c["count"]).filter(mixed), 0).label("n"),
                func.coalesce(func.sum(st.c["count"]).filter(in_short), 0).label("n_short"),
            )
            .where(or_(mixed, in_short))
            .group_by(st.c.queue, st.c.entrypoint, st.c.status)
        )

        # Timings of the most recently finished jobs of the window (at most ``sample``,
        # newest first, through the partial index on finished_at): exact percentiles
        # of a bounded sample, per (queue, entrypoint), per queue and overall.
        recent = (
            select(
                j.c.queue, j.c.entrypoint,
                _seconds(j.c.started_at - func.greatest(j.c.created_at, j.c.run_at))
                .label("latency"),
                _seconds(j.c.finished_at - j.c.started_at).label("runtime"),
            )
            .where(_status_in(j.c.status, FINISHED_STATUSES), j.c.finished_at >= since,
                   j.c.finished_at < until, j.c.started_at.is_not(None))
            .order_by(j.c.finished_at.desc())
            .limit(bindparam("sample", type_=Integer))
            .cte("recent")
        )
        quantiles = _lit("ARRAY[0.5, 0.95]")

        def pct(col: Any) -> Any:
            return func.percentile_disc(quantiles).within_group(col)

        #: p50/p95 of latency and run time over the sample, with GROUPING SETS rows
        #: for each (queue, entrypoint), each queue (entrypoint NULL) and all (both NULL).
        self.timings = (
            select(
                recent.c.queue, recent.c.entrypoint,
                func.grouping(recent.c.queue, recent.c.entrypoint).label("level"),
                func.count().label("n"),
                pct(recent.c.latency).label("latency"),
                pct(recent.c.runtime).label("runtime"),
            )
            .group_by(func.grouping_sets(
                tuple_(recent.c.queue, recent.c.entrypoint), tuple_(recent.c.queue),
                tuple_()))
        )
        slot_seconds = bindparam("slot_seconds", type_=Double)
        slot = cast(func.floor(_seconds(st.c.bucket - since) / slot_seconds), Integer)
        #: Finished jobs per queue per slot of the window (sparklines).
        self.series = (
            select(st.c.queue, slot.label("slot"), func.sum(st.c["count"]).label("n"))
            .where(in_window, _status_in(st.c.status, FINISHED_STATUSES))
            .group_by(st.c.queue, slot)
        )
        #: The latest error message per (queue, entrypoint) since ``since``.
        self.last_errors = _distinct_on(
            select(st.c.queue, st.c.entrypoint, st.c.last_error, st.c.bucket)
            .where(fine, st.c.bucket >= since, st.c.last_error.is_not(None)),
            st.c.queue, st.c.entrypoint,
        ).order_by(st.c.queue, st.c.entrypoint, st.c.bucket.desc())
        now = _now()
        ready = j.c.run_at <= now
        #: Queued jobs per (queue, entrypoint): ready, scheduled, oldest ready run_at
        #: (through the partial dequeue index).
        self.queued = (
            select(
                j.c.queue, j.c.entrypoint,
                func.count().filter(ready).label("ready"),
                func.count().filter(j.c.run_at > now).label("scheduled"),
                func.min(j.c.run_at).filter(ready).label("oldest_ready"),
            )
            .where(_status_is(j.c.status, QUEUED))
            .group_by(j.c.queue, j.c.entrypoint)
        )
        #: Running jobs per (queue, entrypoint) (through the partial running index).
        self.running = (
            select(j.c.queue, j.c.entrypoint, func.count().label("running"))
            .where(_status_is(j.c.status, RUNNING))
            .group_by(j.c.queue, j.c.entrypoint)
        )
        running_of = (
            select(func.count()).where(_status_is(j.c.status, RUNNING), j.c.worker_id == w.c.id)
            .scalar_subquery()
        )
        #: Every registered worker with its running jobs and heartbeat age (seconds).
        self.workers = (
            select(w.c.id, w.c.host, w.c.pid, w.c.queues, w.c.entrypoints, w.c.concurrency,
                   w.c.started_at, w.c.heartbeat_at,
                   running_of.label("running"),
                   _seconds(now - w.c.heartbeat_at).label("heartbeat_age"))
            .order_by(w.c.started_at, w.c.id)
        )
        old = (
            select(st.c.span, st.c.bucket, st.c.queue, st.c.entrypoint, st.c.status)
            .where(st.c.span == bindparam("span", type_=Integer),
                   st.c.bucket < bindparam("before", type_=TS))
            .limit(bindparam("limit", type_=Integer))
            .with_for_update(skip_locked=True)
            .cte("old_stats")
        )
        #: Delete up to ``limit`` statistics rows of width ``span`` older than ``before``.
        self.prune = (
            delete(st)
            .where(tuple_(st.c.span, st.c.bucket, st.c.queue, st.c.entrypoint, st.c.status)
                   == tuple_(old.c.span, old.c.bucket, old.c.queue, old.c.entrypoint,
                             old.c.status))
            .returning(st.c.span)
        )

    def list_jobs(self, *, statuses: Sequence[str] = (), queue: str | None = None,
                  entrypoint: str | None = None) -> Select[Any]:
        """Jobs, newest first, filtered; takes ``limit`` (and ``queue``/``entrypoint``
        when given).  Statuses are literals so partial indexes stay usable."""
        j = self.tables.jobs
        stmt = select(
            j.c.id, j.c.queue, j.c.entrypoint, j.c.status, j.c.priority, j.c.attempts,
            j.c.max_attempts, j.c.created_at, j.c.run_at, j.c.started_at, j.c.finished_at,
            j.c.worker_id, j.c.last_error,
        )
        if statuses:
            stmt = stmt.where(_status_in(j.c.status, statuses))
        if queue is not None:
            stmt = stmt.where(j.c.queue == bindparam("queue", type_=Text))
        if entrypoint is not None:
            stmt = stmt.where(j.c.entrypoint == bindparam("entrypoint", type_=Text))
        return stmt.order_by(j.c.id.desc()).limit(bindparam("limit", type_=Integer))
