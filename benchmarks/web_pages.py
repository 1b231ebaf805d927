"""Server time of every web dashboard page and JSON API endpoint on a big database.

    python benchmarks/web_pages.py                 # 1,000,000 finished + 100,000 queued
    python benchmarks/web_pages.py --finished 50000 --queued 5000   # quick
    python benchmarks/web_pages.py --dsn postgresql://postgres@127.0.0.1:5432/postgres

By default it runs on a throwaway PostgreSQL cluster with stock settings
(``benchmarks/cluster.py``: ``initdb`` and ``pg_ctl``), removed afterwards, as users
run it: a shared server tuned for tests (autovacuum off) would mislead.  ``--dsn``
(or ``$BENCH_PG_DSN``) uses a running server instead (a scratch database is created
and dropped).

The database is filled as ``benchmarks/dashboard_refresh.py`` fills it: finished
jobs over the last 23 hours, queued jobs (80% ready, 20% scheduled), 200 running on
eight workers (one stale), and a week of statistics.  Then each page and endpoint is
requested ``--rounds`` times through the ASGI app in process (httpx), after one
warm-up round; the figure is the app's own ``Server-Timing`` (request in, response
built: every database round trip included, no network).  Readings are not shared
between requests here (``share_for=0``): each request reads the database, as the
first open page does.  Pages embed their first
data, so a page costs about its API endpoint plus the template.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import statistics
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote

import asyncpg
import httpx
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pgq_sa
from benchmarks.cluster import throwaway_cluster
from benchmarks.dashboard_refresh import populate
from pgq_sa import migrate
from pgq_sa.web.app import build_app
from pgq_sa.web.data import DashboardData

#: What a page must stay under (the issue's bar), in milliseconds.
BUDGET_MS = 100.0


async def ids(url: str) -> dict[str, Any]:
    """Ids and times the requests below point at."""
    conn = await asyncpg.connect(url)
    try:
        low, high = await conn.fetchrow("SELECT min(id), max(id) FROM pgq_jobs")
        failed = await conn.fetchval(
            "SELECT id FROM pgq_jobs WHERE status = 'failed' ORDER BY id DESC LIMIT 1")
        return {"low": low, "high": high, "middle": (low + high) // 2, "failed": failed}
    finally:
        await conn.close()


def requests(marks: dict[str, Any]) -> list[tuple[str, str]]:
    """``(label, path)``: each page, then each API endpoint."""
    twelve_hours_ago = quote((datetime.now(timezone.utc) - timedelta(hours=12)).isoformat())
    pages = [
        ("overview", "/"),
        ("overview, 1 h", "/?range=1h"),
        ("overview, one queue", "/?queue=emails"),
        ("overview, one queue, 1 h", "/?queue=emails&range=1h"),
        ("queues", "/queues"),
        ("jobs", "/jobs"),
        ("jobs, failed", "/jobs?state=failed"),
        ("jobs, queued", "/jobs?state=queued"),
        ("jobs, running", "/jobs?state=running"),
        ("jobs, cancelled in one queue and entrypoint",
         "/jobs?state=cancelled&queue=reports&entrypoint=cleanup"),
        ("jobs, no match (bounded scan)", "/jobs?entrypoint=nothing-is-called-this"),
        ("jobs, a page in the middle", f"/jobs?before={marks['middle']}"),
        ("jobs, created before 12 h ago", f"/jobs?created_before={twelve_hours_ago}"),
        ("jobs, newer page", f"/jobs?after={marks['middle']}"),
        ("one job", f"/jobs/{marks['failed']}"),
        ("workers", "/workers"),
        ("database", "/database"),
    ]
    return [*[(f"page {label}", path) for label, path in pages],
            *[(f"api  {label}", "/api/overview" + path[1:] if path.startswith("/?")
               else "/api/overview" if path == "/" else
               "/api/health" if path == "/database" else f"/api{path}")
              for label, path in pages],
            ("api  config", "/api/config")]


async def measure(url: str, rounds: int) -> list[tuple[str, str, list[float], int]]:
    engine = create_async_engine(pgq_sa.dsn.async_url(url), pool_size=5)
    # every request reads the database: no reading shared between requests
    app = build_app(DashboardData(engine, share_for=0))
    marks = await ids(url)
    out = []
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://bench") as client:
            for label, path in requests(marks):
                times = []
                size = 0
                for k in range(rounds + 1):
                    response = await client.get(path)
                    assert response.status_code == 200, (path, response.status_code,
                                                         response.text[:300])
                    ms = float(response.headers["server-timing"].split("dur=")[1])
                    size = len(response.content)
                    if k:  # the first round warms caches and prepared statements
                        times.append(ms)
                out.append((label, path, times, size))
                print(f"  {label:<52} median {statistics.median(times):6.1f} ms", flush=True)
    finally:
        await engine.dispose()
    return out


def report(results: list[tuple[str, str, list[float], int]], finished: int,
           queued: int) -> None:
    print(f"\nserver time per request ({finished:,} finished, {queued:,} queued; "
          f"{len(results[0][2])} rounds each)")
    print(f"{'request':<54}{'median':>8}{'p95':>8}{'max':>8}{'bytes':>9}")
    worst = 0.0
    for label, _, times, size in results:
        ms = sorted(times)
        p95 = ms[max(0, math.ceil(0.95 * len(ms)) - 1)]  # nearest rank
        worst = max(worst, p95)
        flag = "" if p95 < BUDGET_MS else "  OVER BUDGET"
        print(f"{label:<54}{statistics.median(ms):8.1f}{p95:8.1f}{ms[-1]:8.1f}{size:9,}{flag}")
    print(f"slowest p95: {worst:.1f} ms (budget {BUDGET_MS:.0f} ms)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dsn", default=os.environ.get("BENCH_PG_DSN"),
                        help="any database on the server to use (a scratch one is created); "
                        "default: $BENCH_PG_DSN, else a throwaway cluster with stock settings")
    parser.add_argument("--finished", type=int, default=1_000_000)
    parser.add_argument("--queued", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--keep", action="store_true",
                        help="keep the scratch database (with --dsn) and print its DSN")
    args = parser.parse_args()
    if args.dsn is None:
        with throwaway_cluster() as args.dsn:
            print("throwaway cluster (stock settings)")
            run(args)
    else:
        run(args)


def run(args: argparse.Namespace) -> None:
    server = make_url(args.dsn)
    name = f"pgq_bench_web_{uuid.uuid4().hex[:8]}"
    admin_url = server.set(drivername="postgresql").render_as_string(hide_password=False)
    url = server.set(drivername="postgresql", database=name).render_as_string(
        hide_password=False)

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(admin_url)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        migrate.upgrade_database(url)
        print(f"populating {name}: {args.finished:,} finished, {args.queued:,} queued")
        t0 = time.perf_counter()
        asyncio.run(populate(url, args.finished, args.queued))
        print(f"  populated in {time.perf_counter() - t0:.0f} s")
        print(f"timing each page and endpoint ({args.rounds} rounds)")
        results = asyncio.run(measure(url, args.rounds))
        report(results, args.finished, args.queued)
    finally:
        if args.keep:
            print(f"kept: {url}")
        else:
            asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
