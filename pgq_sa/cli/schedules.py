"""``pgq-sa schedules``: the periodic schedules, their next and last firing."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import click
from sqlalchemy.ext.asyncio import AsyncEngine

from ..dashboard.text import format_table
from ..errors import ConfigurationError
from ..periodic import next_fire, parse_expression
from ..queries import execute
from ..queries.schedules import ScheduleRow, list_schedules
from ..schema import tables_for
from ..sql import statements_for
from ..stats import reading
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

#: A row registered this much longer ago than the newest registration is no longer
#: in the code of any running worker (workers refresh their rows every minute).
ORPHANED_AFTER = timedelta(minutes=3)


def _next(row: ScheduleRow) -> datetime | None:
    try:
        cron, every = parse_expression(row.expression, row.timezone)
    except ValueError:
        return None
    return next_fire(cron, every, row.timezone, row.now)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


@click.command()
@dsn_option
@schema_option
@json_option
@click.option("--registry", default=None, metavar="MODULE:ATTR",
              help="The registry the workers run: a schedule not in it is orphaned.")
@handle_errors
def schedules(dsn: str | None, schema: str | None, as_json: bool,
              registry: str | None) -> None:
    """Periodic schedules: expression, missed-firing policy, next and last fire time,
    last job and its status.

    A schedule no running worker registers any more (removed from the code) is
    marked orphaned: it never fires again.  Without --registry, that is a row
    that no worker refreshed for three minutes while others did."""
    known: set[str] | None = None
    if registry is not None:
        from .loader import load_registry

        try:
            known = set(load_registry(registry).schedules)
        except ConfigurationError as exc:
            fail(str(exc), 2)
    url = resolve_dsn(dsn)

    async def go(engine: AsyncEngine) -> list[ScheduleRow]:
        async with reading(engine, schema=schema) as conn:
            return await execute(conn, list_schedules(statements_for(tables_for(schema))))

    rows = run_async(go, url)
    newest = max((r.seen_at for r in rows), default=None)
    out: list[dict[str, Any]] = []
    for r in rows:
        orphaned = (r.name not in known) if known is not None else (
            newest is not None and r.seen_at < newest - ORPHANED_AFTER)
        out.append({
            "name": r.name, "entrypoint": r.entrypoint, "expression": r.expression,
            "timezone": r.timezone, "missed": r.missed,
            "next_fire_at": None if orphaned else _iso(_next(r)),
            "last_fire_at": _iso(r.last_fire_at), "last_job_id": r.last_job_id,
            "last_status": r.last_status, "orphaned": orphaned, "seen_at": _iso(r.seen_at),
        })
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
