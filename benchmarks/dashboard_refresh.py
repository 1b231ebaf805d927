"""How long one dashboard refresh takes on a big database.

    python benchmarks/dashboard_refresh.py            # 1,000,000 finished + 100,000 queued
    python benchmarks/dashboard_refresh.py --finished 50000 --queued 5000   # quick

Creates a scratch database on the server of ``--dsn`` (default: the local server),
installs the schema, fills it with INSERT … SELECT generate_series: finished jobs
spread over the last 23 hours, queued jobs (80% ready, 20% scheduled), running jobs
on eight workers (one stale), and the statistics a busy week leaves behind
(per-second rows for the last hour, per-minute rows for seven days).  Then it times
``pgq_sa.stats.snapshot`` (everything one refresh reads) and prints the figures,
plus ``EXPLAIN ANALYZE`` timings of each query with ``--explain``.  The scratch
database is dropped afterwards unless ``--keep``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pgq_sa
from benchmarks.cluster import throwaway_cluster
from pgq_sa import migrate
from pgq_sa.sql import statements_for
from pgq_sa.stats import snapshot

QUEUES = ["default", "emails", "reports"]
ENTRYPOINTS = ["send", "render", "sync", "cleanup"]

POPULATE = [
    # finished jobs over the last 23 h: 90% succeeded, 8% failed, 2% cancelled
    """
    INSERT INTO pgq_jobs (queue, entrypoint, status, created_at, run_at, started_at,
                          finished_at, attempts, last_error, worker_id)
    SELECT q.queue, e.entrypoint, s.status, f - interval '2 s', f - interval '2 s',
           f - interval '1 s', f, 1,
           CASE WHEN s.status = 'failed' THEN 'ValueError: bad row ' || i END, 'w-1'
    FROM generate_series(1, {finished}) AS i,
         LATERAL (SELECT now() - (i::float / {finished}) * interval '23 hours' AS f) AS t,
         LATERAL (SELECT (ARRAY{queues})[1 + i % {nq}] AS queue) AS q,
         LATERAL (SELECT (ARRAY{entrypoints})[1 + (i / 7) % {ne}] AS entrypoint) AS e,
         LATERAL (SELECT CASE WHEN i % 50 = 0 THEN 'cancelled'
                              WHEN i % 12 = 0 THEN 'failed' ELSE 'succeeded' END AS status) s
    """,
    # queued: 80% ready (since up to 10 min), 20% scheduled (up to 1 h ahead)
    """
    INSERT INTO pgq_jobs (queue, entrypoint, status, priority, created_at, run_at)
    SELECT (ARRAY{queues})[1 + i % {nq}], (ARRAY{entrypoints})[1 + (i / 3) % {ne}], 'queued',
           i % 3, now() - interval '10 minutes',
           CASE WHEN i % 5 = 0 THEN now() + (i % 3600) * interval '1 s'
                ELSE now() - (i % 600) * interval '1 s' END
    FROM generate_series(1, {queued}) AS i
    """,
    # running: 25 per worker on workers w-1 .. w-8
    """
    INSERT INTO pgq_jobs (queue, entrypoint, status, created_at, run_at, started_at,
                          heartbeat_at, attempts, worker_id)
    SELECT (ARRAY{queues})[1 + i % {nq}], (ARRAY{entrypoints})[1 + i % {ne}], 'running',
           now() - interval '5 s', now() - interval '5 s', now() - interval '1 s', now(), 1,
           'w-' || (1 + i % 8)
    FROM generate_series(1, 200) AS i
    """,
    """
    INSERT INTO pgq_workers (id, host, pid, queues, entrypoints, concurrency, started_at,
                             heartbeat_at)
    SELECT 'w-' || i, 'host-' || i, 1000 + i, ARRAY{queues}, ARRAY{entrypoints}, 32,
           now() - interval '1 hour',
           now() - CASE WHEN i = 8 THEN interval '5 minutes' ELSE interval '1 s' END
    FROM generate_series(1, 8) AS i
    """,
    # statistics: per-second rows for the last hour, per-minute rows for seven days,
    # for every (queue, entrypoint), succeeded and failed
    """
    INSERT INTO pgq_stats (span, bucket, queue, entrypoint, status, count, last_error)
    SELECT sp.span, to_timestamp(floor(extract(epoch FROM now()) / sp.span) * sp.span)
                    - n * sp.span * interval '1 s',
           q, e, st, c, CASE WHEN st = 'failed' THEN 'ValueError: bad row' END
    FROM (VALUES (1, 3600), (60, 10080)) AS sp(span, buckets),
         LATERAL generate_series(0, sp.buckets - 1) AS n,
         unnest(ARRAY{queues}) AS q, unnest(ARRAY{entrypoints}) AS e,
         LATERAL (VALUES ('succeeded', 8 * sp.span), ('failed', sp.span / 2 + 1)) AS s(st, c)
    """,
]


def sql_array(items: list[str]) -> str:
    return "[" + ", ".join(f"'{x}'" for x in items) + "]"


async def populate(url: str, finished: int, queued: int) -> None:
    conn = await asyncpg.connect(url)
    try:
        for stmt in POPULATE:
            t0 = time.perf_counter()
            sql = stmt.format(finished=finished, queued=queued, queues=sql_array(QUEUES),
                              entrypoints=sql_array(ENTRYPOINTS), nq=len(QUEUES),
                              ne=len(ENTRYPOINTS))
            status = await conn.execute(sql)
            print(f"  {status:<20} {time.perf_counter() - t0:6.1f} s", flush=True)
        t0 = time.perf_counter()
        await conn.execute("VACUUM ANALYZE pgq_jobs")
        await conn.execute("VACUUM ANALYZE pgq_stats")
        await conn.execute("VACUUM ANALYZE pgq_workers")
        print(f"  VACUUM ANALYZE       {time.perf_counter() - t0:6.1f} s")
        counts = await conn.fetch(
            "SELECT status, count(*) FROM pgq_jobs GROUP BY status ORDER BY status")
        stats_rows = await conn.fetchval("SELECT count(*) FROM pgq_stats")
        print("  jobs: " + ", ".join(f"{r[0]} {r[1]:,}" for r in counts)
              + f"; pgq_stats rows {stats_rows:,}")
    finally:
        await conn.close()


async def explain(url: str) -> None:
    """EXPLAIN ANALYZE each query of a refresh (execution time only)."""
    from datetime import datetime, timedelta, timezone

    from sqlalchemy.dialects import postgresql

    s = statements_for(pgq_sa.tables)
    now = datetime.now(timezone.utc)
    until = now.replace(microsecond=0)
    since = until - timedelta(seconds=300)
    params = {"now": now, "since": since, "until": until,
              "since_short": until - timedelta(seconds=10), "slot_seconds": 10.0,
              "minutes_from": since + timedelta(seconds=-since.timestamp() % 60),
              "minutes_to": until - timedelta(seconds=until.timestamp() % 60),
              "sample": 2000}
    conn = await asyncpg.connect(url)
    await conn.execute("SET max_parallel_workers_per_gather = 0")  # as snapshot() does
    try:
        for name in ("queued", "running", "window", "timings", "series", "last_errors",
                     "workers"):
            stmt = getattr(s, name)
            compiled = stmt.compile(dialect=postgresql.dialect())
            sql = str(compiled)
            # pyformat -> $n
            names = list(compiled.params)
            for i, key in enumerate(names, 1):
                sql = sql.replace(f"%({key})s", f"${i}")
            args = [params.get(k, compiled.params.get(k)) for k in names]
            plan = await conn.fetch("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, *args)
            data = json.loads(plan[0][0])[0]
            print(f"  {name:<12} {data['Execution Time']:8.2f} ms  "
                  f"({data['Plan']['Node Type']})")
    finally:
        await conn.close()


async def measure(url: str, rounds: int) -> list[float]:
    engine = create_async_engine(pgq_sa.dsn.async_url(url), pool_size=1)
    try:
        await snapshot(engine)  # warm the connection and the caches
        times = []
        for _ in range(rounds):
            t0 = time.perf_counter()
            snap = await snapshot(engine)
            times.append(time.perf_counter() - t0)
        t = snap.totals
        print(f"  last snapshot: ready {t.ready:,} scheduled {t.scheduled:,} running "
              f"{t.running} done/s (5m) {t.throughput:.1f}, {len(snap.queues)} queues, "
              f"{len(snap.workers)} workers ({sum(w.stale for w in snap.workers)} stale)")
        return times
    finally:
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dsn", default=os.environ.get("BENCH_PG_DSN"),
                        help="any database on the server to use (a scratch one is created); "
                        "default: $BENCH_PG_DSN, else a throwaway cluster with stock settings")
    parser.add_argument("--finished", type=int, default=1_000_000)
    parser.add_argument("--queued", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = parser.parse_args()
    if args.dsn is None:
        with throwaway_cluster() as args.dsn:
            run(args)
    else:
        run(args)


def run(args: argparse.Namespace) -> None:

    server = make_url(args.dsn)
    name = f"pgq_bench_dash_{uuid.uuid4().hex[:8]}"
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
        print(f"timing {args.rounds} dashboard refreshes (pgq_sa.stats.snapshot)")
        times = asyncio.run(measure(url, args.rounds))
        ms = sorted(t * 1000 for t in times)
        print(f"dashboard refresh: median {statistics.median(ms):.1f} ms, "
              f"p95 {ms[int(0.95 * (len(ms) - 1))]:.1f} ms, min {ms[0]:.1f} ms, "
              f"max {ms[-1]:.1f} ms  ({args.finished:,} finished, {args.queued:,} queued)")
        if args.explain:
            print("EXPLAIN ANALYZE of each query:")
            asyncio.run(explain(url))
    finally:
        if args.keep:
            print(f"kept database {name}")
        else:
            asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
