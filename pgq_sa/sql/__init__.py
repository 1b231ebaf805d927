"""Every runtime SQL statement of pgq-sa, as SQLAlchemy Core, grouped by concern.

=====================  =========================================================
module                 statements
=====================  =========================================================
:mod:`.enqueue`        new jobs and their NOTIFY (one, many, COPY)
:mod:`.claim`          claim ready jobs, alone or with an acknowledgement
:mod:`.acknowledge`    record outcomes (the completer's batched write)
:mod:`.lifecycle`      worker rows, heartbeats, rescue of dead workers' jobs
:mod:`.operator`       cancel, retry, prune, notify
:mod:`.queues`         pause and resume queues (and the claim's filter)
:mod:`.schedules`      periodic schedules: register, read, fire (exactly once), list
:mod:`.statistics`     outcome counts in ``pgq_stats``
:mod:`.inspection`     what the dashboard, the CLI and the metrics read
:mod:`.charts`         the web dashboard's outcomes and latency per time slot
:mod:`.browse`         the web dashboard's jobs list, bulk selections, running
                       jobs per worker
:mod:`.health`         what holds back cleanup (PostgreSQL's statistics views)
:mod:`.workflow`       jobs with dependencies (a graph in one statement),
                       what a job waits on and what waits on it
:mod:`.results`        wait for a job: mark it awaited, read how it ended;
                       write the progress of running jobs
=====================  =========================================================

Each builder is a small function of :class:`~pgq_sa.schema.Tables` (one schema);
:class:`Statements` builds each statement once per schema, on first use.  The
SQL PostgreSQL receives (asyncpg dialect) of every one of them is kept in
``pgq_sa/sql/compiled/`` and checked by ``tests/test_sql_snapshots.py``:
``python -m pgq_sa.sql.snapshot`` writes it again after a change, so a change
to a query shows up in review as SQL.

Hot statements (claim, acknowledge, heartbeat) are compiled once per schema with
the asyncpg dialect (:func:`compiled`) and run on the raw asyncpg connection
(:class:`pgq_sa.driver.Lease`); the rest run through SQLAlchemy connections.
The typed calls of each statement are in :mod:`pgq_sa.queries`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from ..schema import Tables
from . import (
    acknowledge,
    browse,
    charts,
    enqueue,
    health,
    inspection,
    lifecycle,
    operator,
    queues,
    results,
    schedules,
    statistics,
    workflow,
)
from .claim import claim as build_claim
from .claim import claim_and_acknowledge, claim_flow, claim_flow_and_acknowledge, flow_lock
from .common import CompiledStatement, ParameterError, compiled, status_in, status_is

__all__ = ["CompiledStatement", "ParameterError", "Statements", "compiled", "statements_for",
           "status_in", "status_is"]


def _built(builder: Callable[[Tables], Any]) -> Any:
    """A statement of :class:`Statements`, built by ``builder`` on first use."""

    def build(self: Statements) -> Any:
        return builder(self.tables)

    build.__doc__ = builder.__doc__
    return functools.cached_property(build)


class Statements:
    """The statements of one schema (:class:`~pgq_sa.schema.Tables`), each built once."""

    def __init__(self, tables: Tables) -> None:
        self.tables = tables
        #: The LISTEN/NOTIFY channel of this schema.
        self.channel = tables.channel
        self._claims: dict[tuple[bool, str | None], Any] = {}
        self._flow_claims: dict[tuple[str | None, bool], Any] = {}
        #: ``BEGIN`` and the advisory lock every flow claim of this schema takes.
        self.flow_lock = flow_lock(tables)

    # enqueue
    insert_job_notify = _built(enqueue.insert_job_notify)
    insert_jobs_notify = _built(enqueue.insert_jobs_notify)
    reserve_ids = _built(enqueue.reserve_ids)
    notify_queues = _built(enqueue.notify_queues)
    insert_unique_job = _built(enqueue.insert_unique_job)
    repoint_unique = _built(enqueue.repoint_unique)
    copy_columns = enqueue.COPY_COLUMNS
    # acknowledge
    finish = _built(acknowledge.finish)
    finish_succeeded = _built(acknowledge.finish_succeeded)
    finish_counted = _built(acknowledge.finish_counted)
    complete = _built(acknowledge.complete)
    # lifecycle
    register_worker = _built(lifecycle.register_worker)
    heartbeat = _built(lifecycle.heartbeat)
    delete_worker = _built(lifecycle.delete_worker)
    rescue = _built(lifecycle.rescue)
    reap_workers = _built(lifecycle.reap_workers)
    take_session_lock = _built(lifecycle.take_session_lock)
    lost_sessions = _built(lifecycle.lost_sessions)
    # operator actions
    cancel_queued = _built(operator.cancel_queued)
    cancel_running = _built(operator.cancel_running)
    retry = _built(operator.retry)
    prune_jobs = _built(operator.prune_jobs)
    prune_stats = _built(operator.prune_stats)
    notify = _built(operator.notify)
    # queues (pause / resume)
    set_paused = _built(queues.set_paused)
    paused_queues = _built(queues.paused_queues)
    # periodic schedules
    register_schedules = _built(schedules.register_schedules)
    schedule_states = _built(schedules.schedule_states)
    fire_schedule = _built(schedules.fire)
    list_schedules = _built(schedules.list_schedules)
    run_schedule_now = _built(schedules.run_now)
    # statistics
    record_counts = _built(statistics.record_counts)
    # inspection
    clock = _built(inspection.clock)
    no_parallel = _built(inspection.no_parallel)
    window = _built(inspection.window)
    timings = _built(inspection.timings)
    series = _built(inspection.series)
    last_errors = _built(inspection.last_errors)
    queued = _built(inspection.queued)
    running = _built(inspection.running)
    workers = _built(inspection.workers)
    get_job = _built(inspection.get_job)
    flow_keys = _built(inspection.flow_keys)
    existing_ids = _built(inspection.existing_ids)
    pending = _built(inspection.pending)
    # results
    await_job = _built(results.await_job)
    job_end = _built(results.job_end)
    report_progress = _built(results.report_progress)
    # workflows (dependencies)
    insert_graph = _built(workflow.insert_graph)
    dependencies = _built(workflow.dependencies)
    dependency_results = _built(workflow.dependency_results)
    # charts (web dashboard)
    counts_per_second = _built(charts.counts_per_second)
    counts_per_minute = _built(charts.counts_per_minute)
    latency_all = _built(charts.latency_all)
    latency_queue = _built(charts.latency_queue)
    # browsing jobs (web dashboard)
    id_bounds = _built(browse.id_bounds)
    job_at = _built(browse.job_at)
    bulk_timeout = _built(browse.bulk_timeout)
    running_by_worker = _built(browse.running_by_worker)
    # database health (web dashboard)
    table_stats = _built(health.table_stats)
    open_transactions = _built(health.open_transactions)
    replication_slots = _built(health.replication_slots)
    prepared_transactions = _built(health.prepared_transactions)
    settings = _built(health.settings)
    database = _built(health.database)

    def claim(self, *, many_queues: bool, acknowledge: str | None = None) -> Any:
        """The claim from one queue or many, alone (``acknowledge=None``) or with the
        acknowledgement of any outcomes (``"any"``) or of successes only
        (``"succeeded"``)."""
        key = (many_queues, acknowledge)
        if key not in self._claims:
            if acknowledge is None:
                built = build_claim(self.tables, many_queues=many_queues)
            elif acknowledge in ("any", "succeeded"):
                built = claim_and_acknowledge(
                    self.tables, many_queues=many_queues,
                    succeeded_only=acknowledge == "succeeded")
            else:
                raise ValueError(f"acknowledge must be None, 'any' or 'succeeded', "
                                 f"not {acknowledge!r}")
            self._claims[key] = built
        return self._claims[key]

    def claim_flow(self, *, acknowledge: str | None = None, limited: bool = True) -> Any:
        """The flow-controlled claim (fairness keys; with ``limited``, limits too,
        run after :attr:`flow_lock`), alone or with the acknowledgement of any
        outcomes (``"any"``) or of successes only (``"succeeded"``)."""
        key = (acknowledge, limited)
        if key not in self._flow_claims:
            if acknowledge is None:
                built = claim_flow(self.tables, limited=limited)
            elif acknowledge in ("any", "succeeded"):
                built = claim_flow_and_acknowledge(
                    self.tables, succeeded_only=acknowledge == "succeeded", limited=limited)
            else:
                raise ValueError(f"acknowledge must be None, 'any' or 'succeeded', "
                                 f"not {acknowledge!r}")
            self._flow_claims[key] = built
        return self._flow_claims[key]

    def list_jobs(self, *, statuses: tuple[str, ...] = (), queue: bool = False,
                  entrypoint: bool = False) -> Any:
        """Jobs, newest first (see :func:`.inspection.list_jobs`)."""
        return _list_jobs(self.tables, statuses, queue, entrypoint)

    def jobs_in(self, *, statuses: tuple[str, ...], entrypoint: bool = False,
                queue: bool = False) -> Any:
        """Jobs in ``statuses``, oldest first (see :func:`.inspection.jobs_in`)."""
        return _jobs_in(self.tables, statuses, entrypoint, queue)

    def jobs_page(self, shape: browse.Shape, *, newer: bool, bounded: bool,
                  by_finish: bool) -> Any:
        """A page of the jobs list (see :func:`.browse.jobs_page`)."""
        return _jobs_page(self.tables, _canonical(shape), newer, bounded, by_finish)

    def jobs_scanned(self, *, newer: bool, by_finish: bool) -> Any:
        """How far a bounded page's scan went (see :func:`.browse.jobs_scanned`)."""
        return _jobs_scanned(self.tables, newer, by_finish)

    def status_ids(self, status: str, shape: browse.Shape) -> Any:
        """Ids of jobs in ``status`` for a bulk action (see :func:`.browse.status_ids`)."""
        return _status_ids(self.tables, status, _canonical(shape))

    def retryable_ids(self, shape: browse.Shape) -> Any:
        """Ids of failed or cancelled jobs for a bulk retry (see
        :func:`.browse.retryable_ids`)."""
        return _retryable_ids(self.tables, _canonical(shape))


@functools.lru_cache(maxsize=64)
def _list_jobs(tables: Tables, statuses: tuple[str, ...], queue: bool, entrypoint: bool) -> Any:
    return inspection.list_jobs(tables, statuses=statuses, queue=queue, entrypoint=entrypoint)


@functools.lru_cache(maxsize=64)
def _jobs_in(tables: Tables, statuses: tuple[str, ...], entrypoint: bool, queue: bool) -> Any:
    return inspection.jobs_in(tables, statuses=statuses, entrypoint=entrypoint, queue=queue)


def _canonical(shape: browse.Shape) -> browse.Shape:
    """One statement per set of filters, whatever the order of its states."""
    return shape._replace(statuses=tuple(sorted(set(shape.statuses))))


@functools.lru_cache(maxsize=256)
def _jobs_page(tables: Tables, shape: browse.Shape, newer: bool, bounded: bool,
               by_finish: bool) -> Any:
    return browse.jobs_page(tables, shape, newer=newer, bounded=bounded, by_finish=by_finish)


@functools.lru_cache(maxsize=16)
def _jobs_scanned(tables: Tables, newer: bool, by_finish: bool) -> Any:
    return browse.jobs_scanned(tables, newer=newer, by_finish=by_finish)


@functools.lru_cache(maxsize=128)
def _status_ids(tables: Tables, status: str, shape: browse.Shape) -> Any:
    return browse.status_ids(tables, status, shape)


@functools.lru_cache(maxsize=128)
def _retryable_ids(tables: Tables, shape: browse.Shape) -> Any:
    return browse.retryable_ids(tables, shape)


@functools.lru_cache(maxsize=32)
def statements_for(tables: Tables) -> Statements:
    """The (cached) :class:`Statements` of ``tables``."""
    return Statements(tables)
