"""Every SQL statement of the web dashboard, in one place, as SQLAlchemy Core.

What the terminal dashboard already reads (queues, workers, percentiles: see
:func:`pgq_sa.stats.snapshot`) and the operator actions (:mod:`pgq_sa.admin`) are
reused, not repeated here.  This module holds only what the browser adds:

- chart series: outcome counts per queue, status and time slot from ``pgq_stats``
  (per-second rows for the last minutes, per-minute rows for the last hour), and
  latency percentiles per slot from a bounded sample of recently finished jobs;
- the jobs list, paginated by id (keyset, never ``OFFSET``), with filters applied
  to a bounded scan so a rare filter cannot walk the whole table;
- bounded selections of jobs for bulk cancel and retry;
- the running jobs of each worker;
- database health: pgq tables' statistics, sessions, replication slots and prepared
  transactions that hold back cleanup, and the settings that matter for them.

Conventions as in :mod:`pgq_sa.sql`: values are bound, schema names validated
(:func:`pgq_sa.schema.validate_identifier`, through :func:`pgq_sa.tables_for`),
statuses that select a partial index are literals.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ColumnElement,
    Double,
    Integer,
    Select,
    Text,
    bindparam,
    cast,
    column,
    extract,
    func,
    literal_column,
    select,
    table,
    text,
    true,
    tuple_,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import ARRAY, TIMESTAMP

from ..schema import CANCELLED, FAILED, FINISHED_STATUSES, QUEUED, RUNNING, Tables
from ..sql import status_in, status_is

__all__ = ["JobFilter", "WebStatements", "web_statements"]

TS = TIMESTAMP(timezone=True)
#: Largest bigint: the cursor of the first page (``id < this``).
MAX_ID = 2**63 - 1
#: Characters of the payload (as JSON text) and of the last error sent per row of
#: the jobs list; the job's own page shows them whole.
PAYLOAD_PREVIEW = 160
ERROR_PREVIEW = 240
#: Characters of another session's query text shown on the health page.
QUERY_PREVIEW = 160


def _seconds(interval: Any) -> ColumnElement[float]:
    return cast(extract("epoch", interval), Double)


def _infinity(sign: str = "") -> ColumnElement[Any]:
    return cast(literal_column(f"'{sign}infinity'"), TS)


def _latency(jobs: Any) -> ColumnElement[float]:
    """Ready (``run_at``, or creation if later) to start, in seconds."""
    return _seconds(jobs.c.started_at - func.greatest(jobs.c.created_at, jobs.c.run_at))


class JobFilter(tuple[tuple[str, ...], bool, bool, bool, bool]):
    """Which filters a jobs query has (the shape, not the values, which are bound):
    ``(statuses, queue, entrypoint, created_after, created_before)``."""

    __slots__ = ()

    def __new__(cls, statuses: Sequence[str] = (), queue: bool = False,
                entrypoint: bool = False, created_after: bool = False,
                created_before: bool = False) -> JobFilter:
        return super().__new__(cls, (tuple(sorted(statuses)), queue, entrypoint,
                                     created_after, created_before))

    @property
    def statuses(self) -> tuple[str, ...]:
        return self[0]

    def where(self, cols: Any, *, statuses: bool = True) -> list[ColumnElement[bool]]:
        """The predicates on ``cols`` (a table's or a subquery's columns)."""
        out: list[ColumnElement[bool]] = []
        if statuses and self.statuses:
            out.append(status_is(cols.status, self.statuses[0]) if len(self.statuses) == 1
                       else status_in(cols.status, self.statuses))
        if self[1]:
            out.append(cols.queue == bindparam("queue", type_=Text))
        if self[2]:
            out.append(cols.entrypoint == bindparam("entrypoint", type_=Text))
        if self[3]:
            out.append(cols.created_at >= bindparam("created_after", type_=TS))
        if self[4]:
            out.append(cols.created_at < bindparam("created_before", type_=TS))
        return out

    @property
    def empty(self) -> bool:
        return not any(self[1:]) and not self.statuses


# ---- PostgreSQL's statistics and activity views (read-only, cluster catalogs) ----------
_stat_tables = table(
    "pg_stat_all_tables",
    column("relid", Integer), column("relname", Text), column("schemaname", Text),
    column("n_live_tup", BigInteger), column("n_dead_tup", BigInteger),
    column("n_mod_since_analyze", BigInteger), column("n_ins_since_vacuum", BigInteger),
    column("last_vacuum", TS), column("last_autovacuum", TS),
    column("last_analyze", TS), column("last_autoanalyze", TS),
    column("vacuum_count", BigInteger), column("autovacuum_count", BigInteger),
    column("analyze_count", BigInteger), column("autoanalyze_count", BigInteger),
    schema="pg_catalog",
)
_class = table("pg_class", column("oid", Integer), column("reloptions", ARRAY(Text)),
               schema="pg_catalog")
_activity = table(
    "pg_stat_activity",
    column("pid", Integer), column("datid", Integer), column("datname", Text),
    column("usename", Text), column("application_name", Text),
    column("client_addr", postgresql.INET), column("backend_type", Text),
    column("state", Text), column("xact_start", TS), column("query_start", TS),
    column("state_change", TS), column("wait_event_type", Text), column("wait_event", Text),
    column("backend_xid", Text), column("backend_xmin", Text), column("query", Text),
    schema="pg_catalog",
)
_slots = table(
    "pg_replication_slots",
    column("slot_name", Text), column("slot_type", Text), column("database", Text),
    column("active", Boolean), column("active_pid", Integer),
    column("xmin", Text), column("catalog_xmin", Text), schema="pg_catalog",
)
_prepared = table(
    "pg_prepared_xacts",
    column("gid", Text), column("prepared", TS), column("owner", Text),
    column("database", Text), column("transaction", Text), schema="pg_catalog",
)
_settings = table("pg_settings", column("name", Text), column("setting", Text),
                  column("unit", Text), schema="pg_catalog")
_database = table("pg_database", column("oid", Integer), column("datname", Text),
                  column("datfrozenxid", Text), schema="pg_catalog")


def _age(xid_column: Any) -> ColumnElement[int]:
    """``age(xid)``: transactions started since ``xid`` (the columns declared
    ``Text`` above are PostgreSQL's ``xid``; they are only ever passed to ``age``)."""
    return func.age(xid_column, type_=Integer)


class WebStatements:
    """The web dashboard's statements for one set of :class:`~pgq_sa.Tables`."""

    def __init__(self, tables: Tables) -> None:
        self.tables = tables
        self._jobs_cache: dict[tuple[Any, ...], Select[Any]] = {}
        jobs, stats = tables.jobs, tables.stats

        # ---- chart series ---------------------------------------------------------
        since = bindparam("since", type_=TS)
        until = bindparam("until", type_=TS)
        slot_seconds = bindparam("slot_seconds", type_=Double)
        slot = cast(func.floor(_seconds(stats.c.bucket - since) / slot_seconds), Integer)

        def history(span: int) -> Select[Any]:
            return (
                select(stats.c.queue, stats.c.status, slot.label("slot"),
                       func.sum(stats.c["count"]).label("n"))
                .where(stats.c.span == literal_column(str(span)), stats.c.bucket >= since,
                       stats.c.bucket < until)
                .group_by(stats.c.queue, stats.c.status, slot)
            )

        #: Outcomes (``pgq_stats`` statuses) per queue and slot of ``[since, until)``
        #: from the per-second rows (primary-key range: the last minutes) …
        self.history_seconds = history(1)
        #: … and from the per-minute rows (the last hour).
        self.history_minutes = history(60)

        slots = func.unnest(
            cast(bindparam("starts", type_=ARRAY(TS)), ARRAY(TS)),
            cast(bindparam("ends", type_=ARRAY(TS)), ARRAY(TS)),
        ).table_valued("lo", "hi", with_ordinality="slot").render_derived(name="slots")
        in_slot = (status_in(jobs.c.status, FINISHED_STATUSES),
                   jobs.c.finished_at >= slots.c.lo, jobs.c.finished_at < slots.c.hi,
                   jobs.c.started_at.is_not(None))
        per_slot = bindparam("per_slot", type_=Integer)
        # The ``per_slot`` most recently finished jobs of each slot, read backwards
        # through the partial index on finished_at: bounded whatever the traffic.
        sample_all = (
            select(jobs.c.queue, _latency(jobs).label("latency"))
            .where(*in_slot)
            .order_by(jobs.c.finished_at.desc())
            .limit(per_slot)
            .lateral("sample")
        )
        # One queue: its jobs among the ``scan`` most recent of each slot.
        scanned = (
            select(jobs.c.queue, _latency(jobs).label("latency"))
            .where(*in_slot)
            .order_by(jobs.c.finished_at.desc())
            .limit(bindparam("scan", type_=Integer))
            .correlate(slots)  # the slot of the enclosing lateral subquery
            .lateral("scanned")
        )
        sample_queue = (
            select(scanned.c.queue, scanned.c.latency)
            .where(scanned.c.queue == bindparam("queue", type_=Text))
            .limit(per_slot)
            .lateral("sample")
        )
        quantiles: Any = literal_column("ARRAY[0.5, 0.95]")

        def latency(sample: Any) -> Select[Any]:
            return (
                select(
                    slots.c.slot, sample.c.queue,
                    func.grouping(slots.c.slot, sample.c.queue).label("level"),
                    func.count().label("n"),
                    func.percentile_disc(quantiles).within_group(sample.c.latency)
                    .label("latency"),
                )
                .select_from(slots.join(sample, true()))
                .group_by(func.grouping_sets(
                    tuple_(slots.c.slot, sample.c.queue), tuple_(slots.c.slot),
                    tuple_(sample.c.queue), tuple_()))
            )

        #: Latency p50/p95 per slot (``starts``/``ends``, slot numbers from 1) and
        #: queue, per slot, per queue and overall (``level`` from ``grouping``: 0, 1,
        #: 2, 3), over a sample of ``per_slot`` jobs per slot.
        self.latency_all = latency(sample_all)
        #: :attr:`latency_all` for the ``queue`` alone.
        self.latency_queue = latency(sample_queue)

        # ---- jobs: keyset pagination and lookups ---------------------------------------
        #: ``(min(id), max(id))``: the bounds for locating a creation time.
        self.id_bounds = select(func.min(jobs.c.id), func.max(jobs.c.id))
        #: The first job at or after ``id`` (its id and creation time).
        self.job_at = (select(jobs.c.id, jobs.c.created_at)
                       .where(jobs.c.id >= bindparam("id", type_=BigInteger))
                       .order_by(jobs.c.id).limit(1))

        # ---- bulk actions -------------------------------------------------------------
        self._limit = bindparam("limit", type_=Integer)
        #: A bulk action's selection gives up after this long (narrow the filters).
        self.bulk_timeout = text("SET LOCAL statement_timeout = '10s'")

        # ---- workers ----------------------------------------------------------------------
        wk = func.unnest(cast(bindparam("worker_ids", type_=ARRAY(Text)), ARRAY(Text))
                         ).table_valued("id").render_derived(name="wk")
        theirs = (
            select(jobs.c.id, jobs.c.queue, jobs.c.entrypoint, jobs.c.attempts,
                   jobs.c.started_at, jobs.c.heartbeat_at, jobs.c.cancel_requested_at)
            .where(status_is(jobs.c.status, RUNNING), jobs.c.worker_id == wk.c.id)
            .order_by(jobs.c.started_at, jobs.c.id)
            .limit(bindparam("per_worker", type_=Integer))
            .lateral("theirs")
        )
        #: Up to ``per_worker`` running jobs of each of ``worker_ids``, oldest first
        #: (the partial index on running jobs, by worker).
        self.running_by_worker = (
            select(wk.c.id.label("worker_id"), theirs)
            .select_from(wk.join(theirs, true()))
        )

        # ---- database health ------------------------------------------------------------
        names = bindparam("tables", type_=ARRAY(Text))
        relid = func.to_regclass(func.unnest(cast(names, ARRAY(Text))))
        #: Statistics of pgq-sa's tables (``tables``: their qualified names).
        self.table_stats = (
            select(
                _stat_tables.c.relname, _stat_tables.c.schemaname,
                _stat_tables.c.n_live_tup, _stat_tables.c.n_dead_tup,
                _stat_tables.c.n_mod_since_analyze, _stat_tables.c.n_ins_since_vacuum,
                _stat_tables.c.last_vacuum, _stat_tables.c.last_autovacuum,
                _stat_tables.c.last_analyze, _stat_tables.c.last_autoanalyze,
                _stat_tables.c.vacuum_count, _stat_tables.c.autovacuum_count,
                _stat_tables.c.analyze_count, _stat_tables.c.autoanalyze_count,
                func.pg_total_relation_size(_stat_tables.c.relid, type_=BigInteger)
                .label("total_bytes"),
                _class.c.reloptions,
            )
            .select_from(_stat_tables.join(_class, _class.c.oid == _stat_tables.c.relid))
            .where(_stat_tables.c.relid.in_(select(relid).scalar_subquery()))
            .order_by(_stat_tables.c.relname)
        )
        a = _activity.c
        xmin_age, xid_age = _age(a.backend_xmin), _age(a.backend_xid)
        this_db = select(_database.c.oid).where(
            _database.c.datname == func.current_database()).scalar_subquery()
        #: Sessions of this database (and of none: WAL senders) with an open
        #: transaction, oldest first: their snapshot (``backend_xmin``) or
        #: transaction id (``backend_xid``) is what keeps VACUUM from removing dead
        #: rows.  Our own session is left out.
        self.open_transactions = (
            select(
                a.pid, a.datname, a.usename, a.application_name,
                func.host(a.client_addr, type_=Text).label("client_addr"), a.backend_type,
                a.state,
                _seconds(func.clock_timestamp() - a.xact_start).label("xact_age"),
                _seconds(func.clock_timestamp() - a.state_change).label("state_age"),
                a.wait_event_type, a.wait_event,
                xmin_age.label("xmin_age"), xid_age.label("xid_age"),
                func.left(a.query, QUERY_PREVIEW).label("query"),
            )
            .where(a.pid != func.pg_backend_pid(),
                   (a.datid == this_db) | a.datid.is_(None),
                   a.xact_start.is_not(None) | a.backend_xmin.is_not(None)
                   | a.backend_xid.is_not(None))
            .order_by(func.greatest(xmin_age, xid_age).desc().nulls_last(),
                      a.xact_start.asc().nulls_last())
            .limit(bindparam("limit", type_=Integer))
        )
        s = _slots.c
        #: Replication slots that hold back cleanup (``xmin``) or catalog cleanup
        #: (``catalog_xmin``), for every database.
        self.slots = (
            select(s.slot_name, s.slot_type, s.database, s.active, s.active_pid,
                   _age(s.xmin).label("xmin_age"),
                   _age(s.catalog_xmin).label("catalog_xmin_age"))
            .where(s.xmin.is_not(None) | s.catalog_xmin.is_not(None))
            .order_by(func.greatest(_age(s.xmin), _age(s.catalog_xmin)).desc())
        )
        p = _prepared.c
        #: Prepared (two-phase) transactions of this database, oldest first.
        self.prepared = (
            select(p.gid, p.owner, p.prepared,
                   _seconds(func.clock_timestamp() - p.prepared).label("age"),
                   _age(p.transaction).label("xid_age"))
            .where(p.database == func.current_database())
            .order_by(p.prepared)
        )
        #: The settings the health page reads (``names``).
        self.settings = (select(_settings.c.name, _settings.c.setting, _settings.c.unit)
                         .where(_settings.c.name == func.any(
                             cast(bindparam("names", type_=ARRAY(Text)), ARRAY(Text)))))
        #: This database's transaction-id age (wraparound headroom) and the clock.
        self.database = select(
            func.current_database().label("name"),
            _age(_database.c.datfrozenxid).label("frozen_xid_age"),
            func.now().label("now"),
            func.current_setting("server_version").label("server_version"),
        ).where(_database.c.datname == func.current_database())

    # ---- jobs list ----------------------------------------------------------------------
    def _page_columns(self) -> list[Any]:
        jobs = self.tables.jobs
        return [
            jobs.c.id, jobs.c.queue, jobs.c.entrypoint, jobs.c.status, jobs.c.priority,
            jobs.c.attempts, jobs.c.max_attempts, jobs.c.created_at, jobs.c.run_at,
            jobs.c.started_at, jobs.c.finished_at, jobs.c.worker_id,
            func.left(jobs.c.last_error, ERROR_PREVIEW + 1).label("last_error"),
            func.left(cast(jobs.c.payload, Text), PAYLOAD_PREVIEW + 1).label("payload"),
            jobs.c.cancel_requested_at,
        ]

    def jobs_page(self, shape: JobFilter, *, newer: bool, bounded: bool,
                  by_finish: bool = False) -> Select[Any]:
        """One page of jobs matching ``shape``: older than the cursor ``before``
        (newest first), or with ``newer`` newer than ``after`` (oldest first).  Takes
        ``limit`` (and ``scan`` when ``bounded``).

        The order is the id (creation), or with ``by_finish`` (finished jobs only)
        the finish time then the id, read backwards through the partial index on
        ``finished_at``: a cursor is ``before_id`` (and ``before_at``), or
        ``after_id`` (and ``after_at``).

        ``bounded``: the filters apply to the ``scan`` jobs next to the cursor only
        (an index range), so a filter that matches few jobs costs at most a scan of
        ``scan`` rows; :meth:`jobs_scanned` tells how far the scan went."""
        key = (shape, newer, bounded, by_finish)
        if key not in self._jobs_cache:
            jobs = self.tables.jobs
            where, order = self._cursor(jobs.c, newer, by_finish)
            if bounded:
                scan = (
                    select(jobs.c.id, jobs.c.status, jobs.c.queue, jobs.c.entrypoint,
                           jobs.c.created_at, jobs.c.finished_at)
                    .where(*where)
                    .order_by(*order)
                    .limit(bindparam("scan", type_=Integer))
                    .subquery("scan")
                )
                hits = (select(scan.c.id).where(*shape.where(scan.c))
                        .order_by(*self._cursor(scan.c, newer, by_finish)[1])
                        .limit(self._limit))
                stmt = select(*self._page_columns()).where(jobs.c.id.in_(hits))
            else:
                stmt = (select(*self._page_columns())
                        .where(*where, *shape.where(jobs.c)).limit(self._limit))
            self._jobs_cache[key] = stmt.order_by(*order)
        return self._jobs_cache[key]

    def jobs_scanned(self, *, newer: bool, by_finish: bool = False) -> Select[Any]:
        """``(count, id, finished_at)`` of the bounded scan of :meth:`jobs_page`: how
        many jobs it looked at, and the last one it reached (its cursor)."""
        key = ("scanned", newer, by_finish)
        if key not in self._jobs_cache:
            jobs = self.tables.jobs
            where, order = self._cursor(jobs.c, newer, by_finish)
            scan = (select(jobs.c.id, jobs.c.finished_at).where(*where).order_by(*order)
                    .limit(bindparam("scan", type_=Integer)).subquery("scan"))
            _, reverse = self._cursor(scan.c, not newer, by_finish)
            self._jobs_cache[key] = (
                select(func.count().over().label("scanned"), scan.c.id, scan.c.finished_at)
                .order_by(*reverse).limit(1))
        return self._jobs_cache[key]

    def _cursor(self, cols: Any, newer: bool, by_finish: bool
                ) -> tuple[list[ColumnElement[bool]], list[Any]]:
        """The predicates after the cursor and the order, on ``cols``."""
        if not by_finish:
            if newer:
                return ([cols.id > func.coalesce(bindparam("after_id", type_=BigInteger), 0)],
                        [cols.id.asc()])
            return ([cols.id < func.coalesce(bindparam("before_id", type_=BigInteger),
                                             literal_column(str(MAX_ID)))],
                    [cols.id.desc()])
        finished = [status_in(cols.status, FINISHED_STATUSES)] if hasattr(cols, "status") \
            else []
        if newer:
            at = bindparam("after_at", type_=TS)
            after = bindparam("after_id", type_=BigInteger)
            return ([*finished,
                     cols.finished_at >= func.coalesce(at, _infinity("-")),
                     (cols.finished_at > at) | (cols.id > func.coalesce(after, 0))],
                    [cols.finished_at.asc(), cols.id.asc()])
        at = bindparam("before_at", type_=TS)
        before = bindparam("before_id", type_=BigInteger)
        # (finished_at, id) < (at, before): the first term bounds the index scan
        return ([*finished,
                 cols.finished_at <= func.coalesce(at, _infinity()),
                 (cols.finished_at < at) | (cols.id < func.coalesce(
                     before, literal_column(str(MAX_ID))))],
                [cols.finished_at.desc(), cols.id.desc()])

    # ---- bulk actions ---------------------------------------------------------------------
    def select_ids(self, status: str, shape: JobFilter) -> Select[Any]:
        """Up to ``limit`` ids of jobs in ``status`` matching ``shape``'s other
        filters (``status`` a literal: queued and running jobs through their partial
        indexes)."""
        key = ("ids", status, shape)
        if key not in self._jobs_cache:
            jobs = self.tables.jobs
            self._jobs_cache[key] = (
                select(jobs.c.id)
                .where(status_is(jobs.c.status, status), *shape.where(jobs.c, statuses=False))
                .limit(self._limit)
            )
        return self._jobs_cache[key]

    def select_retryable(self, shape: JobFilter) -> Select[Any]:
        """Up to ``limit`` ids of failed or cancelled jobs matching ``shape``'s other
        filters, most recently finished first (the partial index on finished_at)."""
        key = ("retryable", shape)
        if key not in self._jobs_cache:
            jobs = self.tables.jobs
            wanted = tuple(s for s in shape.statuses if s in (FAILED, CANCELLED)) \
                or (FAILED, CANCELLED)
            self._jobs_cache[key] = (
                select(jobs.c.id)
                .where(status_in(jobs.c.status, wanted), *shape.where(jobs.c, statuses=False))
                .order_by(jobs.c.finished_at.desc())
                .limit(self._limit)
            )
        return self._jobs_cache[key]


#: Statuses whose jobs a bulk cancel selects (each through its partial index).
CANCELLABLE: tuple[str, ...] = (QUEUED, RUNNING)

@functools.lru_cache(maxsize=32)
def web_statements(tables: Tables) -> WebStatements:
    """The (cached) :class:`WebStatements` for ``tables``."""
    return WebStatements(tables)
