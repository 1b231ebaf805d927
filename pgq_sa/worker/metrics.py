"""Prometheus metrics for one worker (``pgq-sa worker --metrics-port PORT``).

Per job (observed by the executor after every attempt, labelled queue and entrypoint):

- ``pgq_sa_jobs_completed_total{status}``: attempts that ended the job
  (``succeeded``, ``failed``, ``cancelled``),
- ``pgq_sa_job_retries_total``: failed attempts put back in the queue,
- ``pgq_sa_job_runtime_seconds``: attempt run time (histogram),
- ``pgq_sa_job_latency_seconds``: ready (``run_at``) to start (histogram).

Per queue (sampled from the database every ``metrics_interval`` seconds; the same
for every worker, so aggregate with ``max`` rather than ``sum``):

- ``pgq_sa_queue_jobs{state="ready|scheduled|running"}``,
- ``pgq_sa_queue_oldest_ready_age_seconds``.

Per worker: ``pgq_sa_worker_info``, ``pgq_sa_worker_running_jobs``,
``pgq_sa_worker_concurrency``, ``pgq_sa_worker_jobs_claimed_total``,
``pgq_sa_worker_heartbeats_total``, ``pgq_sa_worker_last_heartbeat_timestamp_seconds``.

Each worker has its own registry, so several workers can live in one process.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any, Protocol

import anyio
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.ext.asyncio import AsyncEngine

from ..outcome import Kind, Outcome
from ..queries import execute
from ..queries.claim import ClaimedJob
from ..queries.inspection import clock, queued, running
from ..sql import Statements
from .heartbeat import Heartbeat
from .state import Running, WorkerState

__all__ = ["BUCKETS", "MetricsSource", "WorkerMetrics"]

log = logging.getLogger("pgq_sa.metrics")

#: Histogram buckets (seconds) for run time and latency.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
           900.0, 3600.0)


class MetricsSource(Protocol):
    """What the metrics read of their worker (a :class:`~pgq_sa.Worker`)."""

    @property
    def id(self) -> str: ...

    @property
    def queues(self) -> Sequence[str]: ...

    @property
    def state(self) -> WorkerState: ...

    @property
    def engine(self) -> AsyncEngine: ...

    @property
    def stmts(self) -> Statements: ...

    @property
    def heartbeat(self) -> Heartbeat | None: ...


class _WorkerCollector(Collector):
    """Reads the worker's live state at scrape time."""

    def __init__(self, worker: MetricsSource) -> None:
        self._worker = worker

    def collect(self) -> Iterator[Metric]:
        w = self._worker
        info = GaugeMetricFamily("pgq_sa_worker_info", "This worker (value is always 1).",
                                 labels=["worker_id", "host", "pid", "queues"])
        info.add_metric([w.id, socket.gethostname(), str(os.getpid()), ",".join(w.queues)], 1)
        yield info
        yield GaugeMetricFamily("pgq_sa_worker_running_jobs", "Jobs running on this worker.",
                                value=len(w.state.capacity))
        yield GaugeMetricFamily("pgq_sa_worker_concurrency", "Jobs this worker runs at once.",
                                value=w.state.concurrency)
        yield CounterMetricFamily("pgq_sa_worker_jobs_claimed", "Jobs claimed by this worker.",
                                  value=w.state.counters["claimed"])
        beat = w.heartbeat
        yield CounterMetricFamily("pgq_sa_worker_heartbeats", "Heartbeats written.",
                                  value=0 if beat is None else beat.beats)
        last = None if beat is None else beat.last_beat_at
        if last is not None:
            yield GaugeMetricFamily("pgq_sa_worker_last_heartbeat_timestamp_seconds",
                                    "Unix time of the last heartbeat.", value=last)


class WorkerMetrics:
    """The metrics of one :class:`~pgq_sa.Worker`, and their HTTP endpoint."""

    def __init__(self, worker: MetricsSource, *, port: int | None, addr: str = "0.0.0.0",
                 interval: float = 5.0) -> None:
        self.worker = worker
        self.port = port
        self.addr = addr
        self.interval = interval
        self.registry = CollectorRegistry(auto_describe=True)
        labels = ["queue", "entrypoint"]
        r = self.registry
        self.completed = Counter("pgq_sa_jobs_completed", "Jobs ended, by final status.",
                                 [*labels, "status"], registry=r)
        self.retries = Counter("pgq_sa_job_retries", "Failed attempts retried later.", labels,
                               registry=r)
        self.runtime = Histogram("pgq_sa_job_runtime_seconds", "Run time of an attempt.",
                                 labels, buckets=BUCKETS, registry=r)
        self.latency = Histogram("pgq_sa_job_latency_seconds",
                                 "Time from ready (run_at) to start.", labels, buckets=BUCKETS,
                                 registry=r)
        self.queue_jobs = Gauge("pgq_sa_queue_jobs", "Jobs per queue and state (database).",
                                ["queue", "state"], registry=r)
        self.oldest = Gauge("pgq_sa_queue_oldest_ready_age_seconds",
                            "Age of the oldest ready job (database).", ["queue"], registry=r)
        r.register(_WorkerCollector(worker))
        self._server: Any = None
        self._thread: Any = None
        self.samples = 0

    # -- per job (called by the executor, in the event loop) --------------------------
    def observe(self, entry: Running, outcome: Outcome, runtime: float) -> None:
        """Record one ended attempt of the job ``entry`` holds."""
        job = entry.job
        queue, entrypoint = job.queue, job.entrypoint
        if outcome.kind in _COMPLETED:
            self.completed.labels(queue, entrypoint, outcome.kind.label).inc()
        elif outcome.kind is Kind.RETRIED:
            self.retries.labels(queue, entrypoint).inc()
        else:
            return  # snoozed, handed back or lost: not an outcome of the job
        self.runtime.labels(queue, entrypoint).observe(max(0.0, runtime))
        started, ready = job.started_at, _ready_at(job)
        if started is not None and ready is not None:
            self.latency.labels(queue, entrypoint).observe(
                max(0.0, (started - ready).total_seconds()))

    # -- per queue (sampled) -------------------------------------------------------------
    async def sample(self) -> None:
        """Read queue depths from the database into the gauges."""
        stmts = self.worker.stmts
        async with self.worker.engine.connect() as conn:
            [now] = await execute(conn, clock(stmts))
            queued_rows = await execute(conn, queued(stmts, now=now))
            running_rows = await execute(conn, running(stmts))
            await conn.rollback()
        depth: dict[tuple[str, str], int] = {}
        oldest: dict[str, datetime] = {}
        for r in queued_rows:
            for state, n in (("ready", r.ready), ("scheduled", r.scheduled)):
                depth[(r.queue, state)] = depth.get((r.queue, state), 0) + n
            if r.oldest_ready is not None and (
                r.queue not in oldest or r.oldest_ready < oldest[r.queue]
            ):
                oldest[r.queue] = r.oldest_ready
        for row in running_rows:
            depth[(row.queue, "running")] = depth.get((row.queue, "running"), 0) + row.running
        for queue in {q for q, _ in depth} | set(self.worker.queues):
            for state in ("ready", "scheduled", "running"):
                self.queue_jobs.labels(queue, state).set(depth.get((queue, state), 0))
            age = (now - oldest[queue]).total_seconds() if queue in oldest else 0.0
            self.oldest.labels(queue).set(max(0.0, age))
        self.samples += 1

    async def run(self) -> None:
        """Sample queue depths every ``interval`` seconds (errors are logged)."""
        while True:
            try:
                await self.sample()
            except Exception:
                log.exception("could not sample queue depths; trying again")
            await anyio.sleep(self.interval)

    # -- HTTP endpoint ---------------------------------------------------------------------
    def start(self) -> None:
        """Serve ``/metrics`` on ``addr:port`` from a daemon thread."""
        if self.port is None or self._server is not None:
            return
        self._server, self._thread = start_http_server(self.port, self.addr,
                                                       registry=self.registry)
        log.info("serving Prometheus metrics on %s:%d", self.addr, self.bound_port)

    @property
    def bound_port(self) -> int | None:
        """The port actually listened on (useful with port 0)."""
        return None if self._server is None else int(self._server.server_port)

    def close(self) -> None:
        """Stop the HTTP endpoint."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()


_COMPLETED = (Kind.SUCCEEDED, Kind.FAILED, Kind.CANCELLED)


def _ready_at(job: ClaimedJob) -> datetime | None:
    created, run_at = job.created_at, job.run_at
    if created is None:
        return run_at
    if run_at is None:
        return created
    return max(created, run_at)
