"""``pgq-sa schedules``: the periodic schedules, their next and last firing."""

from __future__ import annotations

from typing import Any

import click
from sqlalchemy.ext.asyncio import AsyncEngine

from .. import admin
from ..dashboard.text import format_table
from ..errors import ConfigurationError
from .common import (
    dsn_option,
    fail,
    handle_errors,
    json_option,
    print_json,
    resolve_dsn,
    run_async,
    schema_option,
)

__all__ = ["schedules"]


@click.group(invoke_without_command=True)
@dsn_option
@schema_option
@json_option
@click.option("--registry", default=None, metavar="MODULE:ATTR",
              help="The registry the workers run: a schedule not in it is orphaned.")
@click.pass_context
@handle_errors
def schedules(ctx: click.Context, dsn: str | None, schema: str | None, as_json: bool,
              registry: str | None) -> None:
    """Periodic schedules: expression, missed-firing policy, next and last fire time,
    last job and its status.

    A schedule no running worker registers any more (removed from the code) is
    marked orphaned: it never fires again.  Without --registry, that is a row
    that no worker refreshed for three minutes while others did.  ``pgq-sa
    schedules run NAME`` enqueues a schedule's job now."""
    if ctx.invoked_subcommand is not None:
        return
    known: set[str] | None = None
    if registry is not None:
        from .loader import load_registry

        try:
            known = set(load_registry(registry).schedules)
        except ConfigurationError as exc:
            fail(str(exc), 2)
    url = resolve_dsn(dsn)

    async def go(engine: AsyncEngine) -> list[dict[str, Any]]:
        return await admin.schedules(engine, schema=schema, known=known)

    out = run_async(go, url)
    if as_json:
        print_json(out)
        return
    if not out:
        click.echo("no schedules: none registered by a worker yet")
        return
    table = [[o["name"] + (" (orphaned)" if o["orphaned"] else ""), o["entrypoint"],
              o["expression"] + (f" ({o['timezone']})" if o["timezone"] else ""), o["missed"],
              o["next_fire_at"] or "-", o["last_fire_at"] or "-",
              o["last_job_id"] if o["last_job_id"] is not None else "-",
              o["last_status"] or "-"] for o in out]
    click.echo(format_table(("SCHEDULE", "TASK", "EXPRESSION", "MISSED", "NEXT FIRE",
                             "LAST FIRE", "LAST JOB", "STATUS"), table))


@schedules.command()
@click.argument("name")
@dsn_option
@schema_option
@handle_errors
def run(name: str, dsn: str | None, schema: str | None) -> None:
    """Enqueue schedule NAME's job now (its fire times do not change); print its id."""
    url = resolve_dsn(dsn)

    async def go(engine: AsyncEngine) -> int | None:
        return await admin.run_schedule(engine, name, schema=schema)

    job_id = run_async(go, url)
    if job_id is None:
        fail(f"no schedule named {name!r} (pgq-sa schedules lists them)")
    click.echo(job_id)
