"""What counting outcomes into ``pgq_stats`` costs the hot path.

    python benchmarks/stats_overhead.py

1. Statement level: the completer's ack (``Statements.finish``) against the same ack
   with the statistics upsert folded in as a CTE (``Statements.finish_counted``), on
   batches of 1, 10 and 100 running jobs, interleaved, on the raw asyncpg connection
   the worker uses.
2. End to end: a worker (concurrency 32) drains N no-op jobs with ``stats=True``
   and with ``stats=False``, alternating, several rounds.

Runs on a scratch database (dropped afterwards).  Prints timings; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

import anyio
import asyncpg
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pgq_sa
from benchmarks.cluster import throwaway_cluster
from pgq_sa import migrate
from pgq_sa.sql import compiled, statements_for

STMTS = statements_for(pgq_sa.tables)


async def statement_level(url: str, rounds: int) -> None:
    conn = await asyncpg.connect(url)
    plain, counted = compiled(STMTS.finish), compiled(STMTS.finish_counted)
    try:
        for batch in (1, 10, 100):
            times: dict[str, list[float]] = {"plain": [], "stats": []}
            for i in range(rounds):
                for name, stmt in (("plain", plain), ("stats", counted)) if i % 2 else (
                        ("stats", counted), ("plain", plain)):
                    ids = [r[0] for r in await conn.fetch(
                        "INSERT INTO pgq_jobs (entrypoint, status, attempts, started_at, "
                        "worker_id) SELECT 'noop', 'running', 1, now(), 'w' "
                        "FROM generate_series(1, $1) RETURNING id", batch)]
                    params = {"ids": ids, "attempts": [1] * batch,
                              "statuses": ["succeeded"] * batch, "run_ats": [None] * batch,
                              "messages": [None] * batch, "errors": [None] * batch,
                              "uncount": [False] * batch,
                              "results": [None] * batch, "now": None}
                    t0 = time.perf_counter()
                    await conn.fetch(stmt.sql, *stmt.args(params))
                    times[name].append(time.perf_counter() - t0)
            p = statistics.median(times["plain"]) * 1e3
            s = statistics.median(times["stats"]) * 1e3
            print(f"  batch {batch:>3}: finish {p:6.3f} ms, finish + stats {s:6.3f} ms "
                  f"(median of {rounds}; +{s - p:.3f} ms per flush, "
                  f"+{(s - p) / batch * 1e3:.1f} us per job)")
    finally:
        await conn.close()


async def drain(url: str, jobs: int, stats: bool) -> float:
    registry = pgq_sa.Registry()

    @registry.task()
    async def noop() -> None:
        pass

    engine = create_async_engine(pgq_sa.dsn.async_url(url), pool_size=8)
    try:
        async with engine.begin() as conn:
            await pgq_sa.enqueue_many(conn, [noop.job() for _ in range(jobs)])
        worker = pgq_sa.Worker(registry, engine, concurrency=32, stats=stats,
                               job_retention=None, stats_retention=None)
        async with anyio.create_task_group() as tg:
            tg.start_soon(worker.run)
            await worker.wait_started()
            t0 = time.perf_counter()
            while True:
                async with engine.connect() as conn:
                    left = (await conn.exec_driver_sql(
                        "SELECT count(*) FROM pgq_jobs WHERE status IN ('queued', 'running')"
                    )).scalar_one()
                if not left:
                    break
                await anyio.sleep(0.02)
            elapsed = time.perf_counter() - t0
            worker.stop()
        async with engine.begin() as conn:
            await conn.exec_driver_sql("TRUNCATE pgq_jobs, pgq_stats")
        return jobs / elapsed
    finally:
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dsn", default=os.environ.get("BENCH_PG_DSN"),
                        help="any database on the server to use (a scratch one is created); "
                        "default: $BENCH_PG_DSN, else a throwaway cluster with stock settings")
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--jobs", type=int, default=20_000)
    parser.add_argument("--drains", type=int, default=3)
    args = parser.parse_args()
    if args.dsn is None:
        with throwaway_cluster() as args.dsn:
            run(args)
    else:
        run(args)


def run(args: argparse.Namespace) -> None:
    server = make_url(args.dsn)
    name = f"pgq_bench_stats_{uuid.uuid4().hex[:8]}"
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
        print("statement level (the completer's flush):")
        asyncio.run(statement_level(url, args.rounds))
        print(f"end to end: drain {args.jobs:,} no-op jobs, concurrency 32")
        rates: dict[bool, list[float]] = {True: [], False: []}
        for i in range(args.drains):
            for stats in (True, False) if i % 2 == 0 else (False, True):
                rate = anyio.run(drain, url, args.jobs, stats)
                rates[stats].append(rate)
                print(f"  stats={'on ' if stats else 'off'} {rate:8.0f} jobs/s")
        on, off = statistics.median(rates[True]), statistics.median(rates[False])
        print(f"median: stats on {on:.0f} jobs/s, off {off:.0f} jobs/s "
              f"({(on - off) / off * 100:+.1f}%)")
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
