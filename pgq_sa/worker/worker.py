"""The worker: a group of small services sharing one :class:`WorkerState`.

- producer: claims jobs up to free capacity and starts them,
- executor: runs each job (timeouts, cancellation, retries),
- completer: writes outcomes in batches,
- notifier: LISTEN for new jobs and cancellations; holds the session lock by
  which other workers see at once that this one died,
- heartbeat: keeps running jobs alive and polls for cancellations,
- rescuer: returns jobs of dead workers to the queue,
- pruner: deletes old finished jobs and statistics (retention),
- metrics: Prometheus endpoint and queue-depth sampler (with ``metrics_port``).
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
import zlib
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from functools import partial
from types import TracebackType
from typing import TYPE_CHECKING, Any

import anyio
from anyio.abc import TaskStatus
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from .. import schema_state
from ..driver import Lease, is_connection_error
from ..dsn import async_url, behind_pgbouncer, engine_options
from ..errors import ConfigurationError
from ..queries.lifecycle import session_key_for
from ..registry import Registry
from ..schema import tables_for
from ..sql import statements_for
from .completer import Completer
from .config import WorkerConfig
from .dispatch import Dispatcher
from .effects import Effects
from .executor import Executor
from .heartbeat import Heartbeat, heartbeat_interval
from .notifier import Notifier
from .producer import Producer
from .progress import ProgressWriter
from .pruner import Pruner
from .rescuer import Rescuer
from .scheduler import Scheduler
from .service import supervise
from .state import Running, WorkerState
from .stats_writer import StatsWriter

if TYPE_CHECKING:
    from .metrics import WorkerMetrics

if sys.version_info < (3, 11):  # pragma: no cover
    from exceptiongroup import BaseExceptionGroup

__all__ = ["Worker"]

log = logging.getLogger("pgq_sa.worker")

#: Seconds a forced stop still gives the completer to write outcomes.
FORCED_DRAIN_TIMEOUT = 3.0

#: Dedicated connections a worker holds: one per claim loop, the completer's, the
#: listener's, and one the heartbeat, rescuer and pruner take turns on (a lease runs
#: one statement at a time; theirs are short and bounded by ``db_timeout``).
LEASE_NAMES = ("producer0", "producer1", "completer", "listener", "maintenance")
LEASES = len(LEASE_NAMES)
#: The leases that send the per-batch statements (claim, claim + ack, ack) ...
HOT_PATH_LEASES = ("producer0", "producer1", "completer")
#: ... plan them once (generic plans): PostgreSQL otherwise keeps re-planning them
#: for their parameter values, ~0.2 ms per statement, a fifth of a 16-job claim.
#: Their generic plans are as good (tests/test_sql.py checks them): the dequeue
#: index in order, primary-key probes for the claimed and acknowledged rows.
HOT_PATH_SETTINGS = {"plan_cache_mode": "force_generic_plan"}
#: Shards of the pgq_stats counters (see ``pgq_stats.shard``): each worker its own.
STATS_SHARDS = 64


def _check_pool(engine: AsyncEngine) -> None:
    pool = engine.sync_engine.pool
    size = getattr(pool, "size", None)
    overflow = getattr(pool, "_max_overflow", 0)
    if callable(size) and overflow >= 0 and size() + overflow < LEASES:
        raise ConfigurationError(
            f"the engine's pool allows {size() + overflow} connections but a worker holds "
            f"{LEASES}: create_async_engine(..., pool_size={LEASES + 2})")


class Worker:
    """Runs the jobs of ``registry`` from the database at ``dsn`` (URL or AsyncEngine).

    ::

        worker = pgq_sa.Worker(registry, "postgresql://localhost/app", concurrency=32)
        await worker.run()          # until worker.stop() (or SIGTERM/SIGINT with
                                    # handle_signals=True)

    Or as an async context manager, inside another program's lifetime (an ASGI app's
    lifespan): the worker runs in the background from ``__aenter__`` (which returns
    once it is registered and listening, or raises if it cannot start, e.g. on a
    missing schema) until the block ends; then it stops gracefully, like on SIGTERM,
    giving running jobs ``shutdown_timeout`` seconds::

        @contextlib.asynccontextmanager
        async def lifespan(app):
            async with pgq_sa.Worker(registry, engine, concurrency=8, shutdown_timeout=10):
                yield

    It installs no signal handlers there: the host program owns them.  A worker runs
    once; make a new one to run again.
    """

    def __init__(self, registry: Registry, dsn: str | URL | AsyncEngine,
                 config: WorkerConfig | None = None, **options: Any) -> None:
        if config is None:
            config = WorkerConfig(**options)
        elif options:
            raise TypeError("pass either config or keyword options, not both")
        if not len(registry):
            raise ConfigurationError("the registry has no tasks: register some with "
                                     "@registry.task")
        self.registry = registry
        self.config = config
        self.queues = list(config.queues) or registry.queues()
        self.entrypoints = sorted(registry.tasks)
        if isinstance(dsn, AsyncEngine):
            _check_pool(dsn)
            self.engine, self._own_engine = dsn, False
        else:
            self.engine = create_async_engine(
                async_url(dsn), pool_size=LEASES + 2, max_overflow=4, **engine_options(dsn))
            self._own_engine = True
        #: The URL goes through PgBouncer (transaction pooling).
        self.pgbouncer = config.pgbouncer if config.pgbouncer is not None else (
            not isinstance(dsn, AsyncEngine) and behind_pgbouncer(dsn))
        #: A direct connection's engine for the listener (``listen_dsn``), if any.
        self.listen_engine: AsyncEngine | None = None
        if config.listen_dsn is not None:
            if behind_pgbouncer(config.listen_dsn):
                raise ConfigurationError(
                    "listen_dsn must be a direct connection to PostgreSQL, not through "
                    "PgBouncer: drop pgbouncer=true from it")
            self.listen_engine = create_async_engine(
                async_url(config.listen_dsn), pool_size=1, max_overflow=1)
        # behind PgBouncer, LISTEN and the session lock need the direct connection
        direct = not self.pgbouncer or self.listen_engine is not None
        #: LISTEN for jobs (else poll only).
        self.listening = config.listen and direct
        #: Hold the session lock (else a crash waits for the heartbeat timeout).
        self.session_lock = config.session_lock and direct
        self.stmts = statements_for(tables_for(registry.schema))
        self.state = WorkerState(concurrency=config.concurrency)
        self.id = config.worker_id
        self._started = anyio.Event()
        self._stop_requested = False
        self._force = anyio.Event()
        self._stop_event: anyio.Event | None = None
        self._schema_checked = False
        self._ran = False
        self._serving: AbstractAsyncContextManager[Worker] | None = None
        hb_timeouts = [t.heartbeat_timeout for t in registry]
        self.heartbeat_interval = heartbeat_interval(hb_timeouts)
        # services (built in run(), they need an event loop)
        self.completer: Completer | None = None
        self.producers: list[Producer] = []
        self.notifier: Notifier | None = None
        self.heartbeat: Heartbeat | None = None
        self.rescuer: Rescuer | None = None
        self.pruner: Pruner | None = None
        #: Fires the registry's periodic schedules (``None``: it has none).
        self.scheduler: Scheduler | None = None
        self.stats: StatsWriter | None = None
        self.metrics: WorkerMetrics | None = None
        if config.metrics_port is not None:
            from .metrics import WorkerMetrics

            self.metrics = WorkerMetrics(self, port=config.metrics_port,
                                         addr=config.metrics_addr,
                                         interval=config.metrics_interval)
            self.state.observers.append(self.metrics.observe)

    # -- control ---------------------------------------------------------------------------
    async def wait_started(self) -> None:
        """Wait until the worker is registered (and listening, if enabled)."""
        await self._started.wait()

    def stop(self, *, force: bool = False) -> None:
        """Ask the worker to stop gracefully (``force``: cancel running jobs now)."""
        self._stop_requested = True
        if self._stop_event is not None:
            self._stop_event.set()
        if force:
            self._force.set()

    async def check_schema(self, *, retry: bool = True) -> None:
        """Make sure the database holds the schema version this pgq-sa needs.

        Raises :class:`~pgq_sa.SchemaNotInstalled` (or its subclass
        :class:`~pgq_sa.SchemaOutOfDate`) with what to run for how the schema is
        managed; logs a warning when the schema is newer than this pgq-sa.  One query
        when the schema is current.  With ``retry``, connection errors are retried
        with backoff (a worker may start before its database); without, they raise.
        :meth:`run` calls it first unless it already succeeded."""
        delay = 0.5
        while True:
            try:
                state = await schema_state.check(self.engine, self.registry.schema)
                break
            except Exception as exc:
                if not (retry and is_connection_error(exc)):
                    raise
                log.warning("cannot check the pgq-sa schema yet (%s): retrying in %.1fs",
                            exc, delay)
            await anyio.sleep(delay)
            delay = min(delay * 2, 10.0)
        warning = state.newer_warning() if state is not None else None
        if warning:
            log.warning("%s", warning)
        self._schema_checked = True

    # -- in another program's lifetime ---------------------------------------------------
    async def __aenter__(self) -> Worker:
        if self._serving is not None:
            raise RuntimeError("this worker is already running")
        serving = self._serve()
        worker = await serving.__aenter__()
        self._serving = serving
        return worker

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> bool | None:
        serving, self._serving = self._serving, None
        assert serving is not None
        return await serving.__aexit__(exc_type, exc, tb)

    @asynccontextmanager
    async def _serve(self) -> AsyncIterator[Worker]:
        try:
            async with anyio.create_task_group() as tg:
                await tg.start(self._run_until_started)
                try:
                    yield self
                finally:
                    self.stop()  # graceful: the task group waits for run() to end
        except BaseExceptionGroup as group:
            # the block's own exception (or the worker's), not nested groups of one
            error: BaseException = group
            while isinstance(error, BaseExceptionGroup) and len(error.exceptions) == 1:
                error = error.exceptions[0]
            if error is group:
                raise
            try:
                raise error
            finally:
                del error

    async def _run_until_started(
            self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        async with anyio.create_task_group() as tg:

            async def report_started() -> None:
                await self._started.wait()
                task_status.started()

            tg.start_soon(report_started)
            try:
                await self.run()
            finally:
                tg.cancel_scope.cancel()

    # -- main ---------------------------------------------------------------------------
    async def run(self, *, handle_signals: bool = False) -> None:
        """Run until :meth:`stop` (or SIGTERM/SIGINT when ``handle_signals``).

        The first signal stops gracefully: no more claims, running jobs get
        ``shutdown_timeout`` seconds, the rest go back to the queue without counting
        an attempt.  A second signal stops at once (jobs still go back)."""
        if self._ran:
            raise RuntimeError("a Worker runs once: make a new one")
        self._ran = True
        if not (handle_signals and threading.current_thread() is threading.main_thread()):
            await self._run()
            return
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._signals)
            try:
                await self._run()
            finally:
                tg.cancel_scope.cancel()

    async def _run(self) -> None:
        cfg = self.config
        self._stop_event = anyio.Event()
        if self._stop_requested:
            self._stop_event.set()
        if not self._schema_checked:
            await self.check_schema()
        settings = {} if cfg.synchronous_commit else {"synchronous_commit": "off"}
        # behind PgBouncer a session setting would stay on a server connection that
        # other clients get next: none at all
        hot = {} if self.pgbouncer else {**settings, **HOT_PATH_SETTINGS}
        if self.pgbouncer:
            settings = {}
        leases = {name: Lease(self.listen_engine if name == "listener" and
                              self.listen_engine is not None else self.engine,
                              name, timeout=cfg.db_timeout,
                              settings=hot if name in HOT_PATH_LEASES else settings)
                  for name in LEASE_NAMES}
        self._log_topology()
        # each writer of pgq_stats counts into its own shard (no row-lock waits)
        shard = zlib.crc32(self.id.encode()) % STATS_SHARDS
        # outcomes are counted in memory and written once a second (see StatsWriter)
        # with limited tasks, written outcomes may free a slot: wake the claim loops
        limited = any(task.flow_controlled for task in self.registry)
        self.completer = Completer(
            leases["completer"], self.stmts,
            claim_coming=lambda: any(not p.idle for p in self.producers),
            written=self.state.wake if limited else None)
        outcomes = self.completer.buffer
        if cfg.stats:
            self.stats = StatsWriter(leases["maintenance"], self.stmts, shard=shard)
        executor = self._executor = Executor(self.registry, self.state, outcomes, self.id,
                                             stats=self.stats,
                                             max_result_bytes=cfg.max_result_bytes)
        # Two claim loops, each owning half of the capacity (see Producer).
        sizes = [cfg.concurrency] if cfg.concurrency < 4 else [
            cfg.concurrency - cfg.concurrency // 2, cfg.concurrency // 2]
        self.producers = [
            Producer(leases[f"producer{i}"], self.stmts, self.state, executor, outcomes,
                     share=self.state.capacity.share(size), worker_id=self.id,
                     queues=self.queues, entrypoints=self.entrypoints,
                     poll_interval=cfg.poll_interval, limited=limited)
            for i, size in enumerate(sizes)
        ]
        self.heartbeat = Heartbeat(
            leases["maintenance"], self.stmts, self.state, worker_id=self.id,
            queues=self.queues, entrypoints=self.entrypoints, interval=self.heartbeat_interval,
            unacked=outcomes.unacked)
        # The rescuer runs as often as the heartbeat, so a dead worker's job waits at
        # most about 1.4 heartbeat timeouts.
        self.rescuer = Rescuer(leases["maintenance"], self.stmts, self.state, self.registry,
                               interval=max(0.5, self.heartbeat_interval))
        self.progress = ProgressWriter(leases["maintenance"], self.stmts)
        executor.report_progress = self.progress.report
        self.effects = executor.effects = Effects(
            self.engine, self.stmts, self.registry, max_result_bytes=cfg.max_result_bytes)
        self.pruner = Pruner(leases["maintenance"], self.stmts, jobs=cfg.job_retention,
                             stats=cfg.stats_retention, interval=cfg.prune_interval)
        if self.registry.schedules:
            schema = self.registry.schema
            tasks = self.registry.tasks
            per_schedule = {name: (tasks[s.entrypoint].heartbeat_timeout,
                                   tasks[s.entrypoint].flow(dict(s.payload)))
                            for name, s in self.registry.schedules.items()
                            if s.entrypoint in tasks}
            self.scheduler = Scheduler(
                leases["maintenance"], self.stmts, self.registry.schedules,
                table="pgq_jobs" if schema is None else f"{schema}.pgq_jobs",
                settings=per_schedule)
        self.notifier = Notifier(leases["listener"], self.state, channel=self.stmts.channel,
                                 queues=self.queues,
                                 health_interval=cfg.listener_health_interval,
                                 listen=self.listening, stmts=self.stmts,
                                 session_key=session_key_for(self.id)
                                 if self.session_lock else None)
        try:
            async with anyio.create_task_group() as opening:
                # every connection at once: their round trips overlap the registration
                for lease in leases.values():
                    opening.start_soon(lease.open)
                await self.heartbeat.register()
            async with anyio.create_task_group() as services:
                services.start_soon(supervise, "completer", self.completer.run)
                if self.listening or self.session_lock:
                    services.start_soon(supervise, "listener", self.notifier.run)
                services.start_soon(supervise, "heartbeat", self.heartbeat.run)
                services.start_soon(supervise, "progress", self.progress.run)
                if cfg.rescue:
                    services.start_soon(supervise, "rescuer", self.rescuer.run)
                if self.pruner.enabled:
                    services.start_soon(supervise, "pruner", self.pruner.run)
                if self.scheduler is not None:
                    services.start_soon(supervise, "scheduler", self.scheduler.run)
                if self.stats is not None:
                    services.start_soon(supervise, "stats", self.stats.run)
                if self.metrics is not None:
                    self.metrics.start()
                    services.start_soon(supervise, "metrics", self.metrics.run)
                # Claim at once; the notifier pokes the producers when it is listening,
                # so nothing sent before then is missed.
                services.start_soon(self._announce_started)
                await self._run_jobs()
                # graceful end: every outcome written, then stop; when forced, the
                # outcomes get a few seconds (they return the jobs to the queue)
                self.completer.close()
                async with self._unless_forced():
                    await self.completer.drain(timeout=None)
                if self.completer.pending:
                    await self.completer.drain(timeout=FORCED_DRAIN_TIMEOUT)
                if self.completer.pending:
                    self.completer.abort()
                    log.warning("stopped with %d job outcome(s) unwritten: those jobs will "
                                "be rescued", self.completer.pending)
                services.cancel_scope.cancel()
        finally:
            with anyio.CancelScope(shield=True):
                if self.stats is not None:
                    await self.stats.close()
                if self.heartbeat is not None:
                    await self.heartbeat.deregister()
                await self.notifier.close()
                if self.metrics is not None:
                    self.metrics.close()
                for lease in leases.values():
                    await lease.close()
                self.effects.dispose()
                if self._own_engine:
                    with anyio.move_on_after(5):  # a close can hang on a dead network
                        await self.engine.dispose()
                if self.listen_engine is not None:
                    with anyio.move_on_after(5):
                        await self.listen_engine.dispose()
            log.info("worker %s stopped: %s", self.id, dict(self.state.counters))

    def _log_topology(self) -> None:
        """Say at start-up how this worker hears of jobs and of crashed peers, when it
        is not the default (LISTEN and the session lock on the worker's own URL)."""
        cfg = self.config
        if self.pgbouncer and self.listen_engine is None:
            log.warning(
                "connected through PgBouncer (transaction pooling) without a direct "
                "connection (--listen-dsn): no LISTEN, polling for jobs every %ss; "
                "no session lock, so a crashed worker's jobs wait for the heartbeat "
                "timeout", cfg.poll_interval)
        elif self.pgbouncer:
            log.info("connected through PgBouncer (transaction pooling); LISTEN and the "
                     "session lock on the direct connection (--listen-dsn)")
        elif not self.listening:
            log.info("LISTEN is off: polling for jobs every %ss", cfg.poll_interval)

    async def _announce_started(self) -> None:
        if self.listening and self.notifier is not None:
            with anyio.move_on_after(5):
                await self.notifier.listening.wait()
        log.info("worker %s started: queues=%s concurrency=%d", self.id,
                 ",".join(self.queues), self.config.concurrency)
        self._started.set()

    async def _run_jobs(self) -> None:
        assert self._stop_event is not None
        jobs: Dispatcher[Running] = Dispatcher()
        producers_done = anyio.Event()

        async def produce() -> None:
            try:
                async with anyio.create_task_group() as tg:
                    for i, producer in enumerate(self.producers):
                        tg.start_soon(supervise, f"producer{i}",
                                      partial(producer.run, jobs))
            finally:
                producers_done.set()

        async with anyio.create_task_group() as jobs_tg:
            for _ in range(self.config.concurrency):
                jobs_tg.start_soon(self._executor.runner, jobs)
            async with anyio.create_task_group() as prod_tg:
                prod_tg.start_soon(produce)
                await self._stop_event.wait()
                self.state.stopping = True
                for producer in self.producers:
                    producer.released_all()
                # a claim in flight may finish; a producer stuck reconnecting may not
                async with self._unless_forced():
                    with anyio.move_on_after(5):
                        await producers_done.wait()
                prod_tg.cancel_scope.cancel()
            jobs.close()  # runners hand back what is still waiting, then end
            # no more claims; let running jobs finish, up to the timeout
            capacity = self.state.capacity
            if len(capacity):
                log.warning("shutting down: waiting up to %ss for %d running job(s)",
                            self.config.shutdown_timeout, len(capacity))
            async with self._unless_forced():
                with anyio.move_on_after(self.config.shutdown_timeout):
                    while len(capacity):
                        await capacity.wait_released()
            if len(capacity):
                log.warning("returning %d running job(s) to the queue", len(capacity))
            for entry in capacity:
                entry.stop("shutdown")

    @asynccontextmanager
    async def _unless_forced(self) -> AsyncIterator[None]:
        """Run the block, cancelling it when a forced stop is requested."""
        async with anyio.create_task_group() as tg:

            async def watch() -> None:
                await self._force.wait()
                tg.cancel_scope.cancel()

            tg.start_soon(watch)
            try:
                yield
            finally:
                tg.cancel_scope.cancel()

    async def _signals(self) -> None:
        with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
            async for signum in signals:
                if not self._stop_requested:
                    log.warning("received %s: stopping gracefully (again to stop at once)",
                                signal.Signals(signum).name)
                    self.stop()
                else:
                    log.warning("received %s again: stopping now", signal.Signals(signum).name)
                    self.stop(force=True)
