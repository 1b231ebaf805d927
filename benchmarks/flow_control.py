"""What flow control costs a drain when its limits do not bind.

    python benchmarks/flow_control.py            # ~2 minutes

A worker (concurrency 32, in this process) drains N no-op jobs of one task per
variant, on the same scratch database, the variants interleaved for several
rounds:

- ``plain``: no flow control (the plain claim);
- ``concurrency``: ``concurrency_limit=100_000`` (one global key, never reached);
- ``concurrency_key``: ``concurrency_limit=100_000, concurrency_key="tenant"``
  (ten tenants);
- ``rate``: ``rate_limit="1000000/s"`` (one key);
- ``fairness``: ``fairness_key="tenant"`` (ten tenants).

Every variant but ``plain`` goes through the flow claim (serialized by its advisory
lock).  Prints jobs/s per run, the medians and each variant as a fraction of
``plain`` (the target is at least 80%).  Runs on a throwaway cluster with stock
settings unless given ``--dsn`` or ``$BENCH_PG_DSN``; the scratch database is
dropped at the end.
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
from typing import Any

import anyio
import asyncpg
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pgq_sa
from benchmarks.cluster import throwaway_cluster
from pgq_sa import migrate

VARIANTS: dict[str, dict[str, Any]] = {
    "plain": {},
    "concurrency": {"concurrency_limit": 100_000},
    "concurrency_key": {"concurrency_limit": 100_000, "concurrency_key": "tenant"},
    "rate": {"rate_limit": "1000000/s"},
    "fairness": {"fairness_key": "tenant"},
}
TENANTS = 10


async def drain(url: str, jobs: int, variant: str, concurrency: int) -> float:
    registry = pgq_sa.Registry()

    @registry.task(**VARIANTS[variant])
    async def noop(tenant: int) -> None:
        pass

    engine = create_async_engine(pgq_sa.dsn.async_url(url), pool_size=8)
    try:
        async with engine.begin() as conn:
            await pgq_sa.enqueue_many(conn, [noop.job(tenant=i % TENANTS)
                                             for i in range(jobs)])
        async with engine.begin() as conn:
            await conn.exec_driver_sql("ANALYZE pgq_jobs")
        worker = pgq_sa.Worker(registry, engine, concurrency=concurrency, stats=False,
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
    parser.add_argument("--jobs", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--variants", default=",".join(VARIANTS),
                        help=f"comma-separated, of {', '.join(VARIANTS)}")
    args = parser.parse_args()
    unknown = set(args.variants.split(",")) - set(VARIANTS)
    if unknown:
        parser.error(f"unknown variant(s) {sorted(unknown)}; known: {', '.join(VARIANTS)}")
    if args.dsn is None:
        with throwaway_cluster() as args.dsn:
            run(args)
    else:
        run(args)


def run(args: argparse.Namespace) -> None:
    server = make_url(args.dsn)
    name = f"pgq_bench_flow_{uuid.uuid4().hex[:8]}"
    admin_url = server.set(drivername="postgresql").render_as_string(hide_password=False)
    url = server.set(drivername="postgresql", database=name).render_as_string(
        hide_password=False)

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(admin_url)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    variants = args.variants.split(",")
    if "plain" not in variants:
        variants.insert(0, "plain")
    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        migrate.upgrade_database(url)
        print(f"drain {args.jobs:,} no-op jobs, concurrency {args.concurrency}, "
              f"{args.rounds} rounds, variants interleaved")
        rates: dict[str, list[float]] = {v: [] for v in variants}
        for i in range(args.rounds):
            order = variants if i % 2 == 0 else variants[::-1]
            for variant in order:
                rate = anyio.run(drain, url, args.jobs, variant, args.concurrency)
                rates[variant].append(rate)
                print(f"  round {i + 1} {variant:<16} {rate:8.0f} jobs/s", flush=True)
        plain = statistics.median(rates["plain"])
        print("median jobs/s, and as a fraction of plain (target >= 80%):")
        for variant in variants:
            median = statistics.median(rates[variant])
            print(f"  {variant:<16} {median:8.0f} jobs/s  {median / plain * 100:5.1f}%")
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
