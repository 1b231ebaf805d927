"""Where the time of a drain goes: the worker under py-spy, the database side with
``EXPLAIN (ANALYZE, BUFFERS, WAL)`` of the statement a worker sends per batch, and
the CPU split between the worker process and PostgreSQL.

    pip install py-spy psutil
    python benchmarks/profile_drain.py [--jobs 40000] [--concurrency 64]

Runs on ``$BENCH_PG_DSN`` if set, else on a throwaway cluster with stock settings.

Prints the worker's hottest functions (self and inclusive time), the plan of one
claim+ack+stats statement for 32 jobs, and CPU per job on each side.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
import psutil
from sqlalchemy.ext.asyncio import create_async_engine

import pgq_sa
from pgq_sa.sql import compiled, statements_for

if __package__ in (None, ""):
    sys.path.append(str(Path(__file__).resolve().parents[1]))

from benchmarks.cluster import throwaway_cluster

#: ``$BENCH_PG_DSN`` if set, else a throwaway cluster with stock settings (see main).
SERVER = os.environ.get("BENCH_PG_DSN", "")
APP = '''
import pgq_sa
registry = pgq_sa.Registry()

@registry.task()
async def noop(k: int) -> None:
    pass
'''


def postgres_cpu() -> float:
    total = 0.0
    for proc in psutil.process_iter(["name"]):
        try:
            if proc.info["name"] and "postgres" in proc.info["name"]:
                t = proc.cpu_times()
                total += t.user + t.system
        except psutil.Error:
            pass
    return total


def summarise(raw: Path, top: int) -> None:
    self_t: collections.Counter[str] = collections.Counter()
    incl: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        frames = stack.split(";")
        if any("_bootstrap" in f for f in frames):  # interpreter start-up
            continue
        count = int(n)
        total += count
        self_t[frames[-1]] += count
        for frame in set(frames):
            incl[frame] += count
    print(f"\n== worker, py-spy: {total} samples after start-up; self time")
    for frame, n in self_t.most_common(top):
        print(f"{100 * n / total:5.1f}%  {frame[:110]}")
    print("\n== inclusive time of pgq_sa functions")
    shown = 0
    for frame, n in incl.most_common():
        if "pgq_sa" in frame and "cli" not in frame and "<module>" not in frame:
            print(f"{100 * n / total:5.1f}%  {frame[:110]}")
            shown += 1
            if shown == top:
                break


async def explain_batch(dsn: str) -> None:
    s = statements_for(pgq_sa.tables)
    claim = compiled(s.claim(many_queues=False))
    both = compiled(s.claim(many_queues=False, acknowledge="succeeded"))
    conn = await asyncpg.connect(dsn)
    try:
        base = {"worker_id": "profile", "entrypoints": ["noop"], "queue": "default",
                "limit": 32, "now": None}
        rows = await conn.fetch(claim.sql, *claim.args(base))
        params = {**base, "ids": [r["id"] for r in rows],
                  "attempts": [r["attempts"] for r in rows]}
        plan = await conn.fetchval("EXPLAIN (ANALYZE, BUFFERS, WAL, FORMAT JSON) " + both.sql,
                                   *both.args(params))
        text = await conn.fetch("EXPLAIN (ANALYZE, BUFFERS, WAL, COSTS OFF) " + both.sql,
                                *both.args({**params, "ids": [], "attempts": []}))
    finally:
        await conn.close()
    top = json.loads(plan)[0]
    print("\n== one worker statement: ack 32 successes + claim 32")
    print(f"execution {top['Execution Time']:.2f} ms, planning {top['Planning Time']:.2f} ms "
          "(a custom plan here; the worker's connections reuse a generic one), "
          f"WAL {top['Plan'].get('WAL Bytes', 0)} bytes in the top node")
    print("(plan of a claim with an empty ack, for its shape:)")
    for r in text:
        print("  " + r[0])


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=40_000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()
    if shutil.which("py-spy") is None:
        sys.exit("py-spy is not installed: pip install py-spy")
    name = f"profile_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(SERVER)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    dsn = f"{SERVER.rsplit('/', 1)[0]}/{name}"
    work = Path(tempfile.mkdtemp(prefix="pgq-profile-"))
    try:
        await asyncio.to_thread(pgq_sa.migrate.upgrade_database, dsn)
        engine = create_async_engine(pgq_sa.dsn.async_url(dsn))
        await pgq_sa.enqueue_many(engine, [("noop", {"k": i}) for i in range(args.jobs)])
        await engine.dispose()
        (work / "profile_app.py").write_text(APP)
        conn = await asyncpg.connect(dsn)
        raw = work / "worker.txt"
        proc = subprocess.Popen(  # noqa: ASYNC220 - started once, not awaited
            ["py-spy", "record", "-r", "1000", "-f", "raw", "-o", str(raw), "--",
             sys.executable, "-m", "pgq_sa", "worker", "profile_app:registry", "--dsn", dsn,
             "--concurrency", str(args.concurrency)],
            cwd=work, env={**os.environ, "PYTHONPATH": str(work)},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        succeeded = "SELECT count(*) FROM pgq_jobs WHERE status = 'succeeded'"
        while not await conn.fetchval(succeeded):  # noqa: ASYNC110 - polling another process
            await asyncio.sleep(0.01)
        worker = next(p for p in psutil.Process(proc.pid).children(recursive=True))
        w0, g0, t0 = sum(worker.cpu_times()[:2]), postgres_cpu(), time.perf_counter()
        done0 = await conn.fetchval(succeeded)
        pending = "SELECT count(*) FROM pgq_jobs WHERE status IN ('queued', 'running')"
        while await conn.fetchval(pending):  # noqa: ASYNC110 - polling another process
            await asyncio.sleep(0.05)
        w1, g1, t1 = sum(worker.cpu_times()[:2]), postgres_cpu(), time.perf_counter()
        n = args.jobs - done0
        worker.terminate()
        proc.wait(timeout=60)
        print(f"drain of {n} jobs under py-spy: {n / (t1 - t0):,.0f} jobs/s; CPU per job: "
              f"worker {1e6 * (w1 - w0) / n:.1f} us, PostgreSQL {1e6 * (g1 - g0) / n:.1f} us "
              f"(2 cores)")
        summarise(raw, args.top)
        await pgq_sa.enqueue_many(create_async_engine(pgq_sa.dsn.async_url(dsn)),
                                  [("noop", {"k": i}) for i in range(64)])
        await conn.close()
        await explain_batch(dsn)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        admin = await asyncpg.connect(SERVER)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    if SERVER:
        asyncio.run(main())
    else:
        with throwaway_cluster() as SERVER:
            asyncio.run(main())
