"""``pgq-sa queues`` (and ``queues pause`` / ``queues resume``) and ``pgq-sa workers``.

Human output is aligned plain-text tables; ``--json`` prints the same data for
machines.
"""

from __future__ import annotations

from typing import Any

import click
from sqlalchemy.ext.asyncio import AsyncEngine

from .. import admin
from ..dashboard.text import format_table, render_queues, render_unserved, render_workers
from ..stats import STALE_AFTER, Snapshot, WorkerInfo, format_seconds, list_workers, snapshot
from .common import (
    dsn_option,
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


@click.group(invoke_without_command=True)
@dsn_option
@schema_option
@json_option
@now_option
@click.pass_context
@handle_errors
def queues(ctx: click.Context, dsn: str | None, schema: str | None, as_json: bool,
           now_text: str | None) -> None:
    """Per queue: ready and scheduled jobs, running jobs, age of the oldest ready job;
    paused queues are marked ``(paused)``.

    Ready jobs that no live worker runs (no worker serving their queue has their
    entrypoint) are listed under the table, with the reason.  ``pgq-sa queues pause
    QUEUE`` and ``pgq-sa queues resume QUEUE`` stop and restart a queue on every
    worker."""
    if ctx.invoked_subcommand is not None:
        return
    url = resolve_dsn(dsn)
    now = parse_now(now_text)

    async def go(engine: AsyncEngine) -> tuple[Snapshot, list[dict[str, Any]]]:
        return (await snapshot(engine, schema=schema, now=now),
                await admin.flow_keys(engine, schema=schema, limit=FLOW_KEYS, now=now))

    snap, flows = run_async(go, url)
    if as_json:
        print_json([
            {"queue": q.queue, "ready": q.ready, "scheduled": q.scheduled,
             "running": q.running, "oldest_ready_age": q.oldest_ready_age,
             "throughput": q.throughput, "error_rate": q.error_rate, "unserved": q.unserved,
             "paused": q.paused,
             "paused_at": q.paused_at.isoformat() if q.paused_at is not None else None,
             "entrypoints": {e.entrypoint: {"ready": e.ready, "scheduled": e.scheduled,
                                            "running": e.running, "unserved": e.unserved}
                             for e in q.entrypoints},
             "flow_keys": [{k: v for k, v in f.items() if k != "queue"}
                           for f in flows if f["queue"] == q.queue]}
            for q in snap.queues
        ])
        return
    if not snap.queues:
        click.echo("no queues: no queued, running or recently finished jobs")
        return
    rows = [[f"{q.queue} (paused)" if q.paused else q.queue, q.ready, q.scheduled, q.running,
             format_seconds(q.oldest_ready_age), f"{q.throughput:.2f}"] for q in snap.queues]
    click.echo(format_table(("QUEUE", "READY", "SCHEDULED", "RUNNING", "OLDEST READY",
                             f"DONE/S {snap.window // 60}M"), rows,
                            (False, True, True, True, True, True)))
    if flows:
        click.echo(f"\nflow control (the {FLOW_KEYS} keys with the most ready jobs at most):")
        click.echo(render_flow_keys(flows))
    unserved = render_unserved(snap)
    if unserved is not None:
        click.echo(f"\n{unserved}")


def _set_paused(queue: str, paused: bool, dsn: str | None, schema: str | None,
                as_json: bool) -> None:
    from .. import admin

    if not queue:
        fail("QUEUE must be a non-empty queue name", 2)
    url = resolve_dsn(dsn)

    async def go(engine: AsyncEngine) -> admin.QueueState:
        call = admin.pause_queue if paused else admin.resume_queue
        return await call(engine, queue, schema=schema)

    state = run_async(go, url)
    if as_json:
        print_json({"queue": state.name, "paused": state.paused,
                    "paused_at": state.paused_at.isoformat() if state.paused_at else None})
    elif state.paused:
        click.echo(f"{state.name}: paused (running jobs finish; queued jobs wait until "
                   f"pgq-sa queues resume {state.name})")
    else:
        click.echo(f"{state.name}: active")


@queues.command()
@click.argument("queue")
@dsn_option
@schema_option
@json_option
@handle_errors
def pause(queue: str, dsn: str | None, schema: str | None, as_json: bool) -> None:
    """Pause QUEUE on every worker: no job of it starts until it is resumed (running
    ones finish).  Persisted in the database."""
    _set_paused(queue, True, dsn, schema, as_json)


@queues.command()
@click.argument("queue")
@dsn_option
@schema_option
@json_option
@handle_errors
def resume(queue: str, dsn: str | None, schema: str | None, as_json: bool) -> None:
    """Resume QUEUE: its workers claim its jobs again at once."""
    _set_paused(queue, False, dsn, schema, as_json)


#: Flow keys listed by ``pgq-sa queues``.
FLOW_KEYS = 20


def render_flow_keys(flows: list[dict[str, Any]]) -> str:
    """Ready and running jobs per (queue, flow key), with the limits."""
    rows = [[f["queue"], f["flow_key"], f["ready"], f["running"],
             "" if f["concurrency_limit"] is None else f["concurrency_limit"],
             "" if f["rate_limit"] is None else f"{f['rate_limit']}/{f['rate_period']}s"]
            for f in flows]
    return format_table(("QUEUE", "FLOW KEY", "READY", "RUNNING", "CONCURRENCY", "RATE"),
                        rows, (False, False, True, True, True, True))


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


__all__ = ["queues", "render_flow_keys", "render_queues", "workers"]
