"""``pgq-sa queues``, ``pgq-sa workers``, ``pgq-sa jobs list`` and ``pgq-sa jobs prune``.

Human output is aligned plain-text tables; ``--json`` prints the same data for
machines.  ``jobs list`` and ``jobs prune`` join the ``jobs`` group of
:mod:`pgq_sa.cli.jobs`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import click
from sqlalchemy.ext.asyncio import AsyncEngine

from .. import admin, retention
from ..dashboard.text import format_table, render_queues, render_unserved, render_workers
from ..enqueue import tables_for
from ..schema import STATUSES
from ..sql import statements_for
from ..stats import STALE_AFTER, Snapshot, WorkerInfo, format_seconds, list_workers, snapshot
from .common import (
    dsn_option,
    duration_option,
    fail,
    handle_errors,
    json_option,
    print_json,
    resolve_dsn,
    run_async,
    schema_option,
)
from .dashboard import parse_now
from .jobs import jobs

now_option = click.option("--now", "now_text", default=None, hidden=True,
                          help="Use this time (ISO 8601) instead of the clock.")


@click.command()
@dsn_option
@schema_option
@json_option
@now_option
@handle_errors
def queues(dsn: str | None, schema: str | None, as_json: bool, now_text: str | None) -> None:
    """Per queue: ready and scheduled jobs, running jobs, age of the oldest ready job.

    Ready jobs that no live worker runs (no worker serving their queue has their
    entrypoint) are listed under the table, with the reason."""
    url = resolve_dsn(dsn)
    now = parse_now(now_text)

    async def go(engine: AsyncEngine) -> Snapshot:
        return await snapshot(engine, schema=schema, now=now)

    snap = run_async(go, url)
    if as_json:
        print_json([
            {"queue": q.queue, "ready": q.ready, "scheduled": q.scheduled,
             "running": q.running, "oldest_ready_age": q.oldest_ready_age,
             "throughput": q.throughput, "error_rate": q.error_rate, "unserved": q.unserved,
             "entrypoints": {e.entrypoint: {"ready": e.ready, "scheduled": e.scheduled,
                                            "running": e.running, "unserved": e.unserved}
                             for e in q.entrypoints}}
            for q in snap.queues
        ])
        return
    if not snap.queues:
        click.echo("no queues: no queued, running or recently finished jobs")
        return
    rows = [[q.queue, q.ready, q.scheduled, q.running, format_seconds(q.oldest_ready_age),
             f"{q.throughput:.2f}"] for q in snap.queues]
    click.echo(format_table(("QUEUE", "READY", "SCHEDULED", "RUNNING", "OLDEST READY",
                             f"DONE/S {snap.window // 60}M"), rows,
                            (False, True, True, True, True, True)))
    unserved = render_unserved(snap)
    if unserved is not None:
        click.echo(f"\n{unserved}")


@click.command()
@dsn_option
@schema_option
@json_option
@click.option("--stale-after", default=STALE_AFTER, show_default=True,
              type=click.FloatRange(1), help="Flag workers silent for this many seconds.")
@now_option
@handle_errors
def workers(dsn: str | None, schema: str | None, as_json: bool, stale_after: float,
            now_text: str | None) -> None:
    """Registered workers: host, pid, queues, running jobs, heartbeat age (STALE if old)."""
    url = resolve_dsn(dsn)
    now = parse_now(now_text)

    async def go(engine: AsyncEngine) -> list[WorkerInfo]:
        return await list_workers(engine, schema=schema, now=now, stale_after=stale_after)

    found = run_async(go, url)
    if as_json:
        print_json([w.to_dict() for w in found])
    else:
        click.echo(render_workers(found))


@jobs.command("list")
@click.option("--status", "statuses", multiple=True, type=click.Choice(STATUSES),
              help="Only jobs with this status (repeatable).")
@click.option("--queue", default=None, help="Only jobs of this queue.")
@click.option("--entrypoint", default=None, help="Only jobs of this entrypoint.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 100_000))
@dsn_option
@schema_option
@json_option
@handle_errors
def list_jobs(statuses: tuple[str, ...], queue: str | None, entrypoint: str | None,
              limit: int, dsn: str | None, schema: str | None, as_json: bool) -> None:
    """List jobs, newest first."""
    url = resolve_dsn(dsn)
    stmt = statements_for(tables_for(schema)).stats.list_jobs(
        statuses=statuses, queue=queue, entrypoint=entrypoint)

    async def go(engine: AsyncEngine) -> list[dict[str, Any]]:
        async with engine.connect() as conn:
            rows = await conn.execute(stmt, {"queue": queue, "entrypoint": entrypoint,
                                             "limit": limit})
            return [admin.job_to_dict(r) for r in rows]

    found = run_async(go, url)
    if as_json:
        print_json(found)
        return
    if not found:
        click.echo("no jobs")
        return

    def when(job: dict[str, Any]) -> str:
        key = {"queued": "run_at", "running": "started_at"}.get(job["status"], "finished_at")
        if not job.get(key):
            return ""
        label = {"run_at": "runs", "started_at": "started", "finished_at": "finished"}[key]
        return f"{label} {datetime.fromisoformat(job[key]):%Y-%m-%d %H:%M:%S}"

    rows = [[j["id"], j["queue"], j["entrypoint"], j["status"], j["priority"],
             f"{j['attempts']}/{j['max_attempts'] or '-'}", when(j),
             (j["last_error"] or "").replace("\n", " ")[:60]] for j in found]
    click.echo(format_table(("ID", "QUEUE", "ENTRYPOINT", "STATUS", "PRIO", "ATTEMPTS",
                             "WHEN", "LAST ERROR"), rows,
                            (True, False, False, False, True, True, False, False)))


@jobs.command("prune")
@click.option("--older-than", default="1d", show_default=True, callback=duration_option,
              metavar="DURATION",
              help="Delete finished jobs that finished longer ago (90s, 15m, 12h, 7d; "
                   "'never' keeps them).")
@click.option("--stats-older-than", default="7d", show_default=True, callback=duration_option,
              metavar="DURATION", help="Delete statistics older than this ('never' keeps "
                                       "them).")
@click.option("--batch", default=1000, show_default=True, type=click.IntRange(1, 100_000),
              help="Rows per delete statement.")
@dsn_option
@schema_option
@json_option
@now_option
@handle_errors
def prune(older_than: float | None, stats_older_than: float | None, batch: int,
          dsn: str | None, schema: str | None, as_json: bool, now_text: str | None) -> None:
    """Delete old finished jobs and statistics now (workers also do it on their own).

    Queued and running jobs are never deleted."""
    url = resolve_dsn(dsn)
    now = parse_now(now_text)
    if older_than is None and stats_older_than is None:
        fail("nothing to prune: both --older-than and --stats-older-than are 'never'", 2)

    async def go(engine: AsyncEngine) -> retention.PruneResult:
        return await retention.prune(engine, jobs=older_than, stats=stats_older_than,
                                     schema=schema, batch=batch, now=now)

    result = run_async(go, url)
    if as_json:
        print_json({"jobs": result.jobs, "stats": result.stats})
    else:
        click.echo(f"deleted {result.jobs} finished job(s) and {result.stats} "
                   "statistics row(s)")


__all__ = ["list_jobs", "prune", "queues", "render_queues", "workers"]
