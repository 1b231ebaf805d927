"""oban 0.7 (the Python Oban; psycopg 3).

* schema: ``oban install --dsn DSN``;
* enqueue: ``Oban.enqueue_many`` (batch; the open-source edition inserts one row
  per job, bulk inserts are an Oban Pro feature) and ``Worker.enqueue`` (single),
  on a client-mode ``Oban`` (no queues) over a psycopg pool;
* transactional enqueue: ``Oban.enqueue(job, conn=conn)`` on the psycopg
  connection of the business write;
* worker: ``oban start --dsn DSN --queues default:N``.  oban has no default queue
  limit (a queue runs only when named); "default settings" here is ``default:10``,
  the limit of its README's example, and ``default:32`` for 32 at once;
* done: a finished job keeps its row in ``oban_jobs`` (state ``completed``, pruned
  after a day by default).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import asyncpg

from benchmarks.adapters.base import TXN_SQL, WatermarkAdapter, console_script

DEFAULT_LIMIT = 10

# 1 M completed jobs over the last 24 h (oban keeps them until its pruner's
# max_age, one day by default), then 100 k jobs scheduled a day or more ahead
# (state 'scheduled'; the stager makes them available when due).
SEED_FINISHED_SQL = """
INSERT INTO oban_jobs (state, queue, worker, args, attempt, max_attempts, inserted_at,
                       scheduled_at, attempted_at, completed_at, attempted_by)
SELECT 'completed', 'default', $2, jsonb_build_object('k', -g), 1, 20, t, t, t, t,
       ARRAY['seed']
FROM generate_series(1, $1::bigint) AS g,
     LATERAL (SELECT timezone('UTC', now()) - interval '23 hours'
                     + g * (82800.0 / $1) * interval '1 second') s(t)
"""
SEED_FUTURE_SQL = """
INSERT INTO oban_jobs (state, queue, worker, args, scheduled_at)
SELECT 'scheduled', 'default', $2, jsonb_build_object('k', -g),
       timezone('UTC', now()) + interval '1 day' + g * interval '1 second'
FROM generate_series(1, $1::bigint) AS g
"""
WATERMARK_SQL = "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM oban_jobs_id_seq"
PENDING_SQL = """
SELECT count(*) FROM oban_jobs
WHERE id > $1 AND state IN ('available', 'executing', 'scheduled', 'retryable')
  AND scheduled_at <= timezone('UTC', now())
"""
FINISHED_AT_SQL = """
SELECT extract(epoch FROM max(completed_at))::float8 FROM oban_jobs
WHERE id > $1 AND state = 'completed'
"""
WORKER = "benchmarks.apps.oban_app.Noop"


class ObanAdapter(WatermarkAdapter):
    name = "oban"
    distribution = "oban"
    job_table = "oban_jobs"
    watermark_sql = WATERMARK_SQL
    pending_sql = PENDING_SQL
    finished_at_sql = FINISHED_AT_SQL
    txn_modes = ("async",)

    def __init__(self, admin_dsn: str, workdir: Path) -> None:
        super().__init__(admin_dsn, workdir)
        self._pool: Any = None
        self._oban: Any = None
        self._txn_conn: Any = None

    def _cli(self) -> list[str]:
        return console_script("oban", "oban")

    async def install(self) -> None:
        await self.run_cli([*self._cli(), "install", "--dsn", self.dsn], "oban install")

    async def open_producer(self) -> None:
        from oban import Oban

        self._pool = await Oban.create_pool(self.dsn)
        self._oban = await Oban(pool=self._pool).start()  # client mode: no queues

    async def close_producer(self) -> None:
        oban, self._oban = self._oban, None
        pool, self._pool = self._pool, None
        conn, self._txn_conn = self._txn_conn, None
        try:
            if oban is not None:
                await oban.stop()
        finally:
            if conn is not None:
                await conn.close()
            if pool is not None:
                await pool.close()

    def _noop(self) -> Any:
        from benchmarks.apps.oban_app import Noop

        return Noop

    async def enqueue_batch(self, keys: Sequence[int]) -> None:
        noop = self._noop()
        await self._oban.enqueue_many([noop.new({"k": k}) for k in keys])

    async def enqueue_single(self, key: int) -> None:
        await self._noop().enqueue({"k": key})

    def worker_command(self, concurrency: int | None) -> list[str]:
        limit = DEFAULT_LIMIT if concurrency is None else concurrency
        return [*self._cli(), "start", "--dsn", self.dsn, "--queues", f"default:{limit}",
                "--log-level", "INFO"]

    async def seed_scale(self, conn: asyncpg.Connection, finished: int, future: int) -> None:
        async with conn.transaction():
            if finished:
                await conn.execute(SEED_FINISHED_SQL, finished, WORKER)
            if future:
                await conn.execute(SEED_FUTURE_SQL, future, WORKER)

    # -- transactional enqueue ------------------------------------------------------

    async def open_txn(self, mode: str) -> None:
        import psycopg

        self._txn_conn = await psycopg.AsyncConnection.connect(self.dsn, autocommit=True)

    async def txn_block(self, mode: str, plan: Sequence[tuple[str, int]]) -> list[float]:
        conn, oban, noop = self._txn_conn, self._oban, self._noop()
        times = []
        for variant, key in plan:
            t0 = time.perf_counter()
            async with conn.transaction():
                await conn.execute(TXN_SQL["order_pyformat"], {"k": key})
                if variant == "job":
                    await oban.enqueue(noop.new({"k": key}), conn=conn)
                elif variant == "insert":
                    await conn.execute(TXN_SQL["audit_pyformat"], {"k": key})
            times.append(time.perf_counter() - t0)
        return times
