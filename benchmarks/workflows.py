"""Workflows and results: what they cost.

    python benchmarks/workflows.py [--dsn URL] [--graph 1000] [--rounds 10]
                                   [--drain 20000] [--drain-rounds 3]

1. Enqueue of a ``--graph``-job fan-out graph (one root, a fan-out, one fan-in
   job: ``pgq_sa.Workflow``, one statement: counted) next to a plain batch of as
   many jobs: ``enqueue_many`` inside a connection's transaction (one
   ``INSERT … unnest``), and on the engine (``COPY``).  Median of ``--rounds``.
2. A drain of ``--drain`` jobs by an in-process worker (concurrency 64) whose
   task returns ``None`` (nothing stored) against one that returns a small dict
   (stored in ``pgq_jobs.result``), in turns, ``--drain-rounds`` each; best and
   median jobs/s and the ratio of the medians.

By default on a throwaway cluster with stock settings (``benchmarks/cluster.py``).
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
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pgq_sa
from benchmarks.cluster import throwaway_cluster
from pgq_sa import migrate

registry = pgq_sa.Registry()


@registry.task()
async def bare(n: int) -> None:
    """Returns nothing: no result stored."""


@registry.task()
async def with_result(n: int) -> dict[str, object]:
    """Returns a small dict: stored as the job's result."""
    return {"n": n, "ok": True, "label": "thumbnail-640"}


def graph(n: int) -> pgq_sa.Workflow:
    flow = pgq_sa.Workflow()
    root = flow.add(bare.job(n=0))
    fan = flow.group(*(bare.job(n=i) for i in range(1, n - 1)), after=[root])
    flow.add(bare.job(n=n - 1), after=fan)
    return flow


async def enqueue_rates(url: str, n: int, rounds: int) -> None:
    engine = create_async_engine(url.replace("postgresql://", "postgresql+asyncpg://"))
    statements: list[str] = []
    event.listen(engine.sync_engine, "before_cursor_execute",
                 lambda *args: statements.append(args[2]))
    timings: dict[str, list[float]] = {"workflow graph (one statement)": [],
                                       "enqueue_many in a transaction (INSERT)": [],
                                       "enqueue_many on the engine (COPY)": []}
    try:
        for _ in range(rounds):
            flow = graph(n)
            statements.clear()
            t0 = time.perf_counter()
            await flow.enqueue(engine)
            timings["workflow graph (one statement)"].append(time.perf_counter() - t0)
            assert len(statements) == 1, statements
            jobs = [bare.job(n=i) for i in range(n)]
            t0 = time.perf_counter()
            async with engine.begin() as conn:
                await pgq_sa.enqueue_many(conn, jobs)
            timings["enqueue_many in a transaction (INSERT)"].append(time.perf_counter() - t0)
            jobs = [bare.job(n=i) for i in range(n)]
            t0 = time.perf_counter()
            await pgq_sa.enqueue_many(engine, jobs)
            timings["enqueue_many on the engine (COPY)"].append(time.perf_counter() - t0)
            async with engine.begin() as conn:
                await conn.execute(text("TRUNCATE pgq_jobs, pgq_job_deps"))
    finally:
        await engine.dispose()
    print(f"enqueue of {n:,} jobs, median of {rounds} (statements per graph: 1)")
    for name, values in timings.items():
        median = statistics.median(values)
        print(f"  {name:<42} {median * 1000:8.1f} ms  {n / median:10,.0f} jobs/s")


async def drain(url: str, task: pgq_sa.Task, n: int) -> float:
    engine = create_async_engine(url.replace("postgresql://", "postgresql+asyncpg://"),
                                 pool_size=16)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("TRUNCATE pgq_jobs, pgq_job_deps"))
        for i in range(0, n, 5000):
            await pgq_sa.enqueue_many(engine, [task.job(n=k) for k in range(i, min(n, i + 5000))])
        async with engine.begin() as conn:
            await conn.execute(text("ANALYZE pgq_jobs"))
        worker = pgq_sa.Worker(registry, engine, pgq_sa.WorkerConfig(concurrency=64,
                                                                     stats=False))
        async with anyio.create_task_group() as tg:
            t0 = time.perf_counter()
            tg.start_soon(worker.run)
            while True:
                await anyio.sleep(0.05)
                async with engine.connect() as conn:
                    left = (await conn.execute(text(
                        "SELECT count(*) FROM pgq_jobs WHERE status <> 'succeeded'"))).scalar()
                if left == 0:
                    break
            elapsed = time.perf_counter() - t0
            worker.stop()
        async with engine.connect() as conn:
            stored = (await conn.execute(text(
                "SELECT count(*) FROM pgq_jobs WHERE result IS NOT NULL"))).scalar()
        assert stored == (n if task is with_result else 0), stored
        return n / elapsed
    finally:
        await engine.dispose()


async def drains(url: str, n: int, rounds: int) -> None:
    rates: dict[str, list[float]] = {"no result": [], "result stored": []}
    for _ in range(rounds):
        rates["no result"].append(await drain(url, bare, n))
        rates["result stored"].append(await drain(url, with_result, n))
    print(f"drain of {n:,} jobs, in-process worker (concurrency 64), {rounds} rounds each")
    for name, values in rates.items():
        print(f"  {name:<15} best {max(values):8,.0f} jobs/s  median "
              f"{statistics.median(values):8,.0f} jobs/s")
    ratio = statistics.median(rates["result stored"]) / statistics.median(rates["no result"])
    print(f"  results stored / none (medians): {ratio:.0%} (target >= 90%)")


def run(args: argparse.Namespace) -> None:
    server = make_url(args.dsn)
    name = f"pgq_bench_wf_{uuid.uuid4().hex[:8]}"
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
        asyncio.run(enqueue_rates(url, args.graph, args.rounds))
        asyncio.run(drains(url, args.drain, args.drain_rounds))
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dsn", default=os.environ.get("BENCH_PG_DSN"),
                        help="any database on the server to use (a scratch one is created); "
                        "default: $BENCH_PG_DSN, else a throwaway cluster with stock settings")
    parser.add_argument("--graph", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--drain", type=int, default=20000)
    parser.add_argument("--drain-rounds", type=int, default=3)
    args = parser.parse_args()
    if args.dsn is None:
        with throwaway_cluster() as args.dsn:
            print("throwaway cluster (stock settings)")
            run(args)
    else:
        run(args)


if __name__ == "__main__":
    main()
