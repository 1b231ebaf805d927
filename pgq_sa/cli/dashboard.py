"""``pgq-sa dashboard``: live terminal dashboard, or one snapshot (text or JSON)."""

from __future__ import annotations

import asyncio
from datetime import datetime

import click
from sqlalchemy.ext.asyncio import AsyncEngine

from ..dsn import describe
from ..stats import SHORT_WINDOW, STALE_AFTER, WINDOW, Snapshot, snapshot
from .common import (
    dsn_option,
    fail,
    handle_errors,
    make_engine,
    print_json,
    resolve_dsn,
    run_async,
    schema_option,
)


def parse_now(value: str | None) -> datetime | None:
    """``--now``: an ISO 8601 timestamp with a time zone (tests, reproducible output)."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        fail(f"--now: not an ISO 8601 timestamp: {value!r}", 2)
    if parsed.tzinfo is None:
        fail("--now needs a time zone, e.g. 2030-01-01T12:00:00+00:00", 2)
    return parsed


@click.command()
@dsn_option
@schema_option
@click.option("--interval", default=1.0, show_default=True, type=click.FloatRange(0.1),
              help="Seconds between refreshes of the live dashboard.")
@click.option("--once", is_flag=True, help="Print one plain-text snapshot and exit.")
@click.option("--json", "as_json", is_flag=True, help="Print one snapshot as JSON and exit.")
@click.option("--window", default=WINDOW, show_default=True, type=click.IntRange(10),
              help="Seconds of history for rates, counts and percentiles.")
@click.option("--stale-after", default=STALE_AFTER, show_default=True,
              type=click.FloatRange(1), help="Flag workers silent for this many seconds.")
@click.option("--now", "now_text", default=None, hidden=True,
              help="Read the figures as of this time (ISO 8601) instead of the clock.")
@handle_errors
def dashboard(dsn: str | None, schema: str | None, interval: float, once: bool, as_json: bool,
              window: int, stale_after: float, now_text: str | None) -> None:
    """Show queues and workers live: depth, throughput, latency, errors, heartbeats.

    Press q (or Ctrl-C) to quit.  --once and --json print a single snapshot."""
    url = resolve_dsn(dsn)
    now = parse_now(now_text)
    short = min(SHORT_WINDOW, window)

    async def read(engine: AsyncEngine) -> Snapshot:
        return await snapshot(engine, schema=schema, now=now, window=window,
                              short_window=short, stale_after=stale_after)

    if once or as_json:
        snap = run_async(read, url)
        if as_json:
            print_json(snap.to_dict())
        else:
            from ..dashboard.text import render_snapshot

            click.echo(render_snapshot(snap), nl=False)
        return

    import sys

    from rich.console import Console

    console = Console()
    if not (sys.stdin.isatty() and console.is_terminal):
        fail("the live dashboard needs a terminal: use --once or --json in scripts", 2)
    from ..dashboard.live import run_live

    engine = make_engine(url)
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(snapshot(engine, schema=schema, now=now))  # fail fast
        run_live(lambda: loop.run_until_complete(asyncio.wait_for(read(engine), 30)),
                 interval=interval, title=describe(url), console=console)
    finally:
        loop.run_until_complete(engine.dispose())
        loop.close()
