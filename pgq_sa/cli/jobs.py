"""``pgq-sa enqueue`` and ``pgq-sa jobs …``: create, list, inspect, cancel, retry and
prune jobs.

Every subcommand of the ``jobs`` group is defined in this module, so the group is
complete wherever it is imported (the ``pgq-sa`` command imports it lazily).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import click
from sqlalchemy.ext.asyncio import AsyncEngine

from .. import admin, retention
from ..dashboard.text import format_table
from ..enqueue import enqueue as enqueue_job
from ..errors import ConfigurationError
from ..queries import execute
from ..queries.inspection import list_jobs as list_jobs_query
from ..schema import STATUSES, tables_for
from ..sql import statements_for
from .common import (
    dsn_option,
    duration_option,
    fail,
    handle_errors,
    json_option,
    now_option,
    print_json,
    resolve_dsn,
    run_async,
    schema_option,
)
from .dashboard import parse_now


@click.command()
@click.argument("entrypoint")
@click.option("--payload", default="{}", show_default=True, metavar="JSON",
              help="JSON object passed to the task as keyword arguments.")
@click.option("--queue", default=None, help="Queue (default: 'default').")
@click.option("--priority", default=0, show_default=True, type=int,
              help="Higher runs first.")
@click.option("--delay", default=None, type=click.FloatRange(0), metavar="SECONDS",
              help="Run no earlier than this many seconds from now.")
@click.option("--max-attempts", default=None, type=click.IntRange(1))
@dsn_option
@schema_option
@handle_errors
def enqueue(entrypoint: str, payload: str, queue: str | None, priority: int,
            delay: float | None, max_attempts: int | None, dsn: str | None,
            schema: str | None) -> None:
    """Enqueue one ENTRYPOINT job and print its id."""
    try:
        data = json.loads(payload)
    except json.JSONDecodeError as exc:
        fail(f"--payload is not valid JSON: {exc}", 2)
    if not isinstance(data, dict):
        fail(f"--payload must be a JSON object (keyword arguments), got {type(data).__name__}",
             2)
    url = resolve_dsn(dsn)

    async def go(engine: AsyncEngine) -> int:
        return await enqueue_job(engine, entrypoint, data, queue=queue, priority=priority,
                                 delay=delay, max_attempts=max_attempts, schema=schema)

    click.echo(run_async(go, url))


@click.group()
def jobs() -> None:
    """Inspect and control jobs."""


def effective_max_attempts(job: dict[str, Any], registry: str | None
                           ) -> tuple[int | None, str, str]:
    """``(value, source, explanation)`` of the max_attempts that applies to ``job``:
    its own (``job``), its task's default from ``registry`` (``task``), the one the
    worker applied at its last failed attempt (``worker``), else ``unknown``."""
    if job.get("max_attempts") is not None:
        return job["max_attempts"], "job", "set on the job"
    entrypoint = job["entrypoint"]
    if registry is not None:
        from .loader import load_registry

        try:
            task = load_registry(registry).tasks.get(entrypoint)
        except ConfigurationError as exc:
            fail(str(exc), 2)
        if task is not None:
            return task.max_attempts, "task", f"default of task {entrypoint!r} in {registry}"
    for err in reversed(job.get("errors") or []):
        if isinstance(err, dict) and isinstance(err.get("max_attempts"), int):
            return (err["max_attempts"], "worker",
                    f"default of task {entrypoint!r}, as its worker applied it at attempt "
                    f"{err.get('attempt')}")
    why = (f"task {entrypoint!r} is not in {registry}" if registry is not None
           else "pass --registry module:attribute to read it")
    return None, "unknown", f"the task's default; {why}"


@jobs.command()
@click.argument("job_id", type=int)
@dsn_option
@schema_option
@json_option
@click.option("--registry", "registry", default=None, metavar="MODULE:ATTR",
              help="The app's registry: shows the task's default max_attempts for a job "
                   "that has none of its own.")
@handle_errors
def show(job_id: int, dsn: str | None, schema: str | None, as_json: bool,
         registry: str | None) -> None:
    """Show one job: status, attempts, effective max_attempts, errors, timestamps."""
    url = resolve_dsn(dsn)

    async def go(engine: AsyncEngine) -> dict[str, Any] | None:
        found = await admin.get_job(engine, job_id, schema=schema)
        if found is not None and (found["deps_policy"] is not None
                                  or found["has_dependents"]):
            found["dependencies"] = await admin.get_dependencies(engine, job_id,
                                                                 schema=schema)
        return found

    job = run_async(go, url)
    if job is None:
        fail(f"no job with id {job_id}")
    value, source, explanation = effective_max_attempts(job, registry)
    if as_json:
        print_json({**job, "effective_max_attempts": value, "max_attempts_source": source})
        return
    for key, value_ in job.items():
        if key in ("errors", "dependencies", "has_dependents") or (
                key in FLOW_COLUMNS and value_ is None):
            continue  # flow control only when the job has it
        if key in ("payload", "result") and value_ is not None:
            value_ = json.dumps(value_)
        if key == "awaited":
            continue
        if key == "max_attempts":
            value_ = f"{'?' if value is None else value} ({explanation})"
        click.echo(f"{key:>20}: {'' if value_ is None else value_}")
    relations = job.get("dependencies") or {}
    for relation, label in (("waits_on", "waits on"), ("waited_by", "waited by")):
        related = relations.get(relation) or []
        if related:
            click.echo(f"{label:>20}: " + ", ".join(
                f"{r['id']} {r['entrypoint']} ({r['status']})" for r in related))
    for err in job.get("errors") or []:
        click.echo(f"\nattempt {err.get('attempt')} at {err.get('at')}: "
                   f"{err.get('type')}: {err.get('message')}")
        if err.get("traceback"):
            click.echo(err["traceback"].rstrip())


#: Columns of a flow-controlled job (limits, fairness key), shown only when set.
FLOW_COLUMNS = frozenset({"flow_key", "concurrency_key", "concurrency_limit", "rate_key",
                          "rate_limit", "rate_period"})


@jobs.command()
@click.argument("job_ids", type=int, nargs=-1, required=True)
@dsn_option
@schema_option
@json_option
@handle_errors
def cancel(job_ids: tuple[int, ...], dsn: str | None, schema: str | None,
           as_json: bool) -> None:
    """Cancel jobs: queued ones never run; running ones are stopped by their worker."""
    url = resolve_dsn(dsn)

    async def go(engine: AsyncEngine) -> dict[str, list[int]]:
        return await admin.cancel(engine, job_ids, schema=schema)

    result = run_async(go, url)
    if as_json:
        print_json(result)
    else:
        for i in result["cancelled"]:
            click.echo(f"{i}: cancelled")
        for i in result["requested"]:
            click.echo(f"{i}: running, cancellation requested")
        for i in result["unchanged"]:
            click.echo(f"{i}: not queued or running (unchanged)")
        for i in result["missing"]:
            click.echo(f"{i}: no such job", err=True)
    # exit 1 when an id names no job, or when nothing could be cancelled
    if result["missing"] or not (result["cancelled"] or result["requested"]):
        raise SystemExit(1)


@jobs.command()
@click.argument("job_ids", type=int, nargs=-1, required=True)
@dsn_option
@schema_option
@json_option
@handle_errors
def retry(job_ids: tuple[int, ...], dsn: str | None, schema: str | None,
          as_json: bool) -> None:
    """Put failed or cancelled jobs back in the queue."""
    url = resolve_dsn(dsn)

    async def go(engine: AsyncEngine) -> tuple[list[int], list[int]]:
        done = await admin.retry(engine, job_ids, schema=schema)
        rest = [i for i in job_ids if i not in set(done)]
        return done, (await admin.missing(engine, rest, schema=schema) if rest else [])

    done, missing = run_async(go, url)
    skipped = [i for i in job_ids if i not in set(done) and i not in set(missing)]
    if as_json:
        print_json({"retried": done, "unchanged": skipped, "missing": missing})
    else:
        for i in done:
            click.echo(f"{i}: queued again")
        for i in skipped:
            click.echo(f"{i}: not failed or cancelled (unchanged)")
        for i in missing:
            click.echo(f"{i}: no such job", err=True)
    if missing or not done:
        raise SystemExit(1)


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
    query = list_jobs_query(statements_for(tables_for(schema)), statuses=statuses,
                            queue=queue, entrypoint=entrypoint, limit=limit)

    async def go(engine: AsyncEngine) -> list[dict[str, Any]]:
        async with engine.connect() as conn:
            return [admin.job_to_dict(row) for row in await execute(conn, query)]

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

    def progress(job: dict[str, Any]) -> str:
        if job.get("progress") is None:
            return ""
        text = f"{job['progress']:.0%}"
        return f"{text} {job['progress_message']}"[:40] if job.get("progress_message") else text

    rows = [[j["id"], j["queue"], j["entrypoint"], j["status"], j["priority"],
             f"{j['attempts']}/{j['max_attempts'] or '-'}", when(j), progress(j),
             (j["last_error"] or "").replace("\n", " ")[:60]] for j in found]
    click.echo(format_table(("ID", "QUEUE", "ENTRYPOINT", "STATUS", "PRIO", "ATTEMPTS",
                             "WHEN", "PROGRESS", "LAST ERROR"), rows,
                            (True, False, False, False, True, True, False, False, False)))


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
