"""``pgq-sa worker module:registry``."""

from __future__ import annotations

import asyncio
import contextlib
import gc

import anyio
import click

from ..dsn import behind_pgbouncer
from ..errors import ConfigurationError, SchemaNotInstalled
from ..worker import Worker, WorkerConfig
from ..worker.worker import LEASES
from .common import (
    dsn_option,
    duration_option,
    explain,
    fail,
    handle_errors,
    make_engine,
    resolve_dsn,
    schema_option,
    setup_logging,
)
from .loader import load_registry


async def preflight(worker: Worker) -> None:
    """Fail fast (one line) when the database is unreachable, or the schema missing or
    older than this pgq-sa needs (saying what to run for how it is managed)."""
    await worker.check_schema(retry=False)


@click.command()
@click.argument("registry")
@dsn_option
@schema_option
@click.option("--queue", "-q", "queues", multiple=True,
              help="Queue to serve (repeatable). Default: every queue of the registry.")
@click.option("--concurrency", "-c", default=64, show_default=True, type=click.IntRange(1),
              help="Jobs run at once.")
@click.option("--poll-interval", default=1.0, show_default=True, type=click.FloatRange(0.01),
              help="Seconds between polls when no notification arrives.")
@click.option("--shutdown-timeout", default=30.0, show_default=True,
              type=click.FloatRange(0), help="Seconds running jobs get after SIGTERM.")
@click.option("--no-listen", is_flag=True, help="Do not LISTEN; rely on polling.")
@click.option("--listen-dsn", default=None, metavar="URL",
              help="A direct PostgreSQL URL for LISTEN and the session lock, when --dsn "
                   "goes through PgBouncer (pgbouncer=true); without it such a worker "
                   "polls only.")
@click.option("--no-session-lock", is_flag=True,
              help="Hold no session lock: when this worker dies, its jobs wait for the "
                   "heartbeat timeout instead of being rescued within seconds.")
@click.option("--synchronous-commit", is_flag=True,
              help="Flush the worker's claims and outcomes to disk at each commit "
                   "(slower; by default a database crash may make the last jobs run "
                   "again).")
@click.option("--log-level", default="WARNING", show_default=True,
              type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False))
@click.option("--metrics-port", default=None, type=click.IntRange(0, 65535), metavar="PORT",
              help="Serve Prometheus metrics on this port (/metrics).")
@click.option("--metrics-addr", default="0.0.0.0", show_default=True,
              help="Address the metrics server listens on.")
@click.option("--job-retention", default="1d", show_default=True, callback=duration_option,
              metavar="DURATION", help="Delete finished jobs older than this ('never' keeps "
                                       "them).")
@click.option("--stats-retention", default="7d", show_default=True, callback=duration_option,
              metavar="DURATION", help="Delete statistics older than this ('never' keeps "
                                       "them).")
@click.option("--max-result-bytes", default=1024 * 1024, show_default=True,
              type=click.IntRange(0), metavar="BYTES",
              help="Largest handler result stored (bytes of JSON); a larger one fails its "
                   "job.")
@handle_errors
def worker(registry: str, dsn: str | None, schema: str | None, queues: tuple[str, ...],
           concurrency: int,
           poll_interval: float, shutdown_timeout: float, no_listen: bool,
           listen_dsn: str | None, no_session_lock: bool, synchronous_commit: bool, log_level: str,
           metrics_port: int | None, metrics_addr: str,
           job_retention: float | None, stats_retention: float | None,
           max_result_bytes: int) -> None:
    """Run the jobs of REGISTRY (module:attribute) until SIGTERM/SIGINT.

    REGISTRY must name a pgq_sa.Registry with tasks: anything else (a task, a
    function) exits 2 without being called.  The worker reads the registry's
    schema; --schema (or PGQ_SA_SCHEMA), when given, must be the same."""
    setup_logging(log_level)
    try:
        reg = load_registry(registry)
    except ConfigurationError as exc:
        fail(str(exc), 2)
    if schema is not None and schema != reg.schema:
        # Producers enqueue into the registry's schema: a worker reading another one
        # would leave every job waiting.
        fail(f"--schema/PGQ_SA_SCHEMA is {schema!r} but registry {registry!r} uses "
             f"{'the search path' if reg.schema is None else repr(reg.schema)}, where its "
             f"tasks enqueue: declare pgq_sa.Registry(schema={schema!r}) or drop --schema",
             2)
    url = resolve_dsn(dsn)
    # one connection per service, plus the metrics sampler's and room to spare
    engine = make_engine(url, pool_size=LEASES + 2, max_overflow=4)
    config = WorkerConfig(queues=list(queues), concurrency=concurrency,
                          poll_interval=poll_interval, shutdown_timeout=shutdown_timeout,
                          listen=not no_listen, session_lock=not no_session_lock,
                          listen_dsn=listen_dsn, pgbouncer=behind_pgbouncer(url),
                          synchronous_commit=synchronous_commit,
                          metrics_port=metrics_port,
                          metrics_addr=metrics_addr, job_retention=job_retention,
                          stats_retention=stats_retention,
                          max_result_bytes=max_result_bytes)
    w = Worker(reg, engine, config)
    gc.freeze()  # the registry's module and the compiled statements live as long (see main)

    async def main() -> None:
        try:
            try:
                await preflight(w)
            except SchemaNotInstalled:
                raise
            except Exception as exc:
                fail(explain(exc, url))
            await w.run(handle_signals=True)
        finally:
            await engine.dispose()

    with contextlib.suppress(KeyboardInterrupt, asyncio.CancelledError):
        anyio.run(main)
