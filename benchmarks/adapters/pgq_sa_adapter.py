"""pgq-sa (this repository).

* schema: ``pgq-sa db upgrade`` (Alembic migrations);
* enqueue: ``pgq_sa.enqueue_many`` (batch: one ``INSERT … SELECT FROM unnest``) and
  ``pgq_sa.enqueue`` (single) given an ``AsyncEngine``: each call is its own
  transaction;
* transactional enqueue: ``pgq_sa.enqueue(session, ...)`` in an SQLAlchemy
  ``AsyncSession`` (workload ``txn``) and ``pgq_sa.enqueue_sync(session, ...)`` in a
  sync ``Session`` on psycopg 3 (``txn_sync``), next to a Core insert of the order;
* worker: ``pgq-sa worker benchmarks.apps.pgq_sa_app:registry``, default settings
  or ``--concurrency N``;
* done: a finished job keeps its row in ``pgq_jobs`` with status ``succeeded``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import asyncpg
from sqlalchemy import BigInteger, Column, MetaData, Table

from benchmarks.adapters.base import WatermarkAdapter, console_script

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

ENTRYPOINT = "noop"
REGISTRY = "benchmarks.apps.pgq_sa_app:registry"

# 1 M finished jobs spread over the last 24 h (kept in pgq_jobs until pruned), then
# 100 k jobs scheduled a day or more ahead, with lower ids than the drained ones.
SEED_FINISHED_SQL = """
INSERT INTO pgq_jobs (queue, entrypoint, payload, status, attempts, created_at, run_at,
                      started_at, finished_at, worker_id)
SELECT 'default', $2, jsonb_build_object('k', -g), 'succeeded', 1, t, t, t, t, 'seed'
FROM generate_series(1, $1::bigint) AS g,
     LATERAL (SELECT now() - interval '24 hours' + g * (86400.0 / $1) * interval '1 second') s(t)
"""
SEED_FUTURE_SQL = """
INSERT INTO pgq_jobs (queue, entrypoint, payload, run_at)
SELECT 'default', $2, jsonb_build_object('k', -g),
       now() + interval '1 day' + g * interval '1 second'
FROM generate_series(1, $1::bigint) AS g
"""
WATERMARK_SQL = "SELECT coalesce(max(id), 0) FROM pgq_jobs"

# The application's tables of the transactional workload (created by the harness),
# as the application's SQLAlchemy Core metadata.
_APP_METADATA = MetaData()
ORDERS = Table("bench_orders", _APP_METADATA,
               Column("id", BigInteger, primary_key=True), Column("k", BigInteger))
AUDIT = Table("bench_audit", _APP_METADATA,
              Column("id", BigInteger, primary_key=True), Column("order_k", BigInteger))
PENDING_SQL = """
SELECT count(*) FROM pgq_jobs
WHERE id > $1 AND status IN ('queued', 'running') AND run_at <= now()
"""
FINISHED_AT_SQL = """
SELECT extract(epoch FROM max(finished_at))::float8 FROM pgq_jobs
WHERE id > $1 AND status = 'succeeded'
"""


class PgqSaAdapter(WatermarkAdapter):
    name = "pgq_sa"
    distribution = "pgq-sa"
    job_table = "pgq_jobs"
    txn_modes = ("async", "sync")
    watermark_sql = WATERMARK_SQL
    pending_sql = PENDING_SQL
    finished_at_sql = FINISHED_AT_SQL

    def __init__(self, admin_dsn: str, workdir: Path) -> None:
        super().__init__(admin_dsn, workdir)
        self._engine: AsyncEngine | None = None
        self._sync_engine: Any = None
        self._sessions: Any = None

    def _cli(self) -> list[str]:
        return console_script("pgq-sa", "pgq_sa")

    async def install(self) -> None:
        proc = await asyncio.create_subprocess_exec(
            *self._cli(), "db", "upgrade", "--dsn", self.dsn,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await proc.communicate()
        if proc.returncode != 0:
            raise RuntimeError(f"pgq-sa db upgrade failed:\n{out.decode(errors='replace')}")

    async def open_producer(self) -> None:
        from sqlalchemy.ext.asyncio import create_async_engine

        import pgq_sa

        self._engine = create_async_engine(pgq_sa.dsn.async_url(self.dsn))

    async def close_producer(self) -> None:
        engine, self._engine = self._engine, None
        sync_engine, self._sync_engine = self._sync_engine, None
        if sync_engine is not None:
            sync_engine.dispose()
        if engine is not None:
            await engine.dispose()

    def _producer(self) -> AsyncEngine:
        if self._engine is None:
            raise RuntimeError("open_producer() first")
        return self._engine

    async def enqueue_batch(self, keys: Sequence[int]) -> None:
        import pgq_sa

        await pgq_sa.enqueue_many(self._producer(), [(ENTRYPOINT, {"k": k}) for k in keys])

    async def enqueue_single(self, key: int) -> None:
        import pgq_sa

        await pgq_sa.enqueue(self._producer(), ENTRYPOINT, {"k": key})

    def worker_command(self, concurrency: int | None) -> list[str]:
        cmd = [*self._cli(), "worker", REGISTRY, "--dsn", self.dsn]
        if concurrency is not None:
            cmd += ["--concurrency", str(concurrency)]
        return cmd


    async def seed_scale(self, conn: asyncpg.Connection, finished: int, future: int) -> None:
        async with conn.transaction():
            if finished:
                await conn.execute(SEED_FINISHED_SQL, finished, ENTRYPOINT)
            if future:
                await conn.execute(SEED_FUTURE_SQL, future, ENTRYPOINT)

    # -- transactional enqueue ------------------------------------------------------

    async def open_txn(self, mode: str) -> None:
        from sqlalchemy import create_engine
        from sqlalchemy.ext.asyncio import async_sessionmaker
        from sqlalchemy.orm import sessionmaker

        if mode == "async":
            self._sessions = async_sessionmaker(self._producer(), expire_on_commit=False)
        else:
            url = self._producer().url.set(drivername="postgresql+psycopg")
            self._sync_engine = create_engine(url)
            self._sessions = sessionmaker(self._sync_engine, expire_on_commit=False)

    async def txn_block(self, mode: str, plan: Sequence[tuple[str, int]]) -> list[float]:
        if mode == "sync":
            return await asyncio.to_thread(self._sync_block, plan)
        from sqlalchemy import insert

        import pgq_sa

        sessions, orders, audit = self._sessions, ORDERS, AUDIT
        times = []
        for variant, key in plan:
            t0 = time.perf_counter()
            async with sessions() as session, session.begin():
                await session.execute(insert(orders).values(k=key))
                if variant == "job":
                    await pgq_sa.enqueue(session, ENTRYPOINT, {"k": key})
                elif variant == "insert":
                    await session.execute(insert(audit).values(order_k=key))
            times.append(time.perf_counter() - t0)
        return times

    def _sync_block(self, plan: Sequence[tuple[str, int]]) -> list[float]:
        from sqlalchemy import insert

        import pgq_sa

        sessions, orders, audit = self._sessions, ORDERS, AUDIT
        times = []
        for variant, key in plan:
            t0 = time.perf_counter()
            with sessions() as session, session.begin():
                session.execute(insert(orders).values(k=key))
                if variant == "job":
                    pgq_sa.enqueue_sync(session, ENTRYPOINT, {"k": key})
                elif variant == "insert":
                    session.execute(insert(audit).values(order_k=key))
            times.append(time.perf_counter() - t0)
        return times
