"""chancy 0.26 (psycopg 3).

* schema: ``chancy --app benchmarks.apps.chancy_app.chancy misc migrate``; the queue
  is declared with ``Chancy.declare`` (its CLI's ``queue declare`` cannot set
  ``eager_polling``);
* queue: ``Queue("default", executor=AsyncExecutor, eager_polling=True)``.  The job
  is a coroutine, so it runs on chancy's ``AsyncExecutor`` (the default
  ``ProcessExecutor`` is for sync functions), whose default concurrency is 100; 32
  at once sets ``concurrency=32``.  ``eager_polling`` is the one setting changed
  from the defaults: without it a worker facing a backlog fetches once per
  ``polling_interval`` (5 s) after its first batch, unless a push notifies it, so
  a 100,000-job drain would take over an hour;
* enqueue: ``Chancy.push_many`` (batch: one INSERT per job, a transaction per
  1,000) and ``Chancy.push`` (single);
* transactional enqueue: ``Chancy.push_ex(cursor, job)`` on a cursor of the
  psycopg connection of the business write;
* worker: ``chancy --app benchmarks.apps.chancy_app.chancy worker start``, with
  chancy's default plugins (leadership, pruner, recovery, metrics, workflow);
* done: a finished job keeps its row in ``chancy_jobs`` (state ``succeeded``,
  pruned after a day by default).  Job ids are UUIDs, so progress is tracked by
  time rather than by an id watermark.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import asyncpg

from benchmarks.adapters.base import TXN_SQL, QueueAdapter, console_script

APP = "benchmarks.apps.chancy_app.chancy"
FUNC = "benchmarks.apps.chancy_app.noop"
ASYNC_EXECUTOR = "chancy.executors.asyncex.AsyncExecutor"

SEED_FINISHED_SQL = """
INSERT INTO chancy_jobs (id, queue, func, kwargs, state, attempts, created_at, started_at,
                         completed_at, scheduled_at, taken_by)
SELECT gen_random_uuid(), 'default', $2, json_build_object('k', -g), 'succeeded', 1,
       t, t, t, t, 'seed'
FROM generate_series(1, $1::bigint) AS g,
     LATERAL (SELECT now() - interval '23 hours' + g * (82800.0 / $1) * interval '1 second') s(t)
"""
SEED_FUTURE_SQL = """
INSERT INTO chancy_jobs (id, queue, func, kwargs, scheduled_at)
SELECT gen_random_uuid(), 'default', $2, json_build_object('k', -g),
       now() + interval '1 day' + g * interval '1 second'
FROM generate_series(1, $1::bigint) AS g
"""
PENDING_SQL = """
SELECT count(*) FROM chancy_jobs
WHERE state IN ('pending', 'running', 'retrying') AND scheduled_at <= now()
"""
FINISHED_AT_SQL = """
SELECT extract(epoch FROM max(completed_at))::float8 FROM chancy_jobs
WHERE state = 'succeeded' AND created_at >= $1
"""


class ChancyAdapter(QueueAdapter):
    name = "chancy"
    distribution = "chancy"
    job_table = "chancy_jobs"
    txn_modes = ("async",)

    def __init__(self, admin_dsn: str, workdir: Path) -> None:
        super().__init__(admin_dsn, workdir)
        self._chancy: Any = None
        self._txn_conn: Any = None
        self._since: Any = None
        self._concurrency: int | None = None

    def _cli(self) -> list[str]:
        return [*console_script("chancy", "chancy"), "--app", APP]

    async def install(self) -> None:
        await self.run_cli([*self._cli(), "misc", "migrate"], "chancy misc migrate")

    async def _declare(self, concurrency: int | None) -> None:
        from chancy import Queue

        await self._chancy.declare(
            Queue("default", concurrency=concurrency, executor=ASYNC_EXECUTOR,
                  eager_polling=True), upsert=True)
        self._concurrency = concurrency

    async def open_producer(self) -> None:
        from chancy import Chancy

        self._chancy = Chancy(self.dsn)
        await self._chancy.__aenter__()
        await self._declare(None)

    async def close_producer(self) -> None:
        chancy, self._chancy = self._chancy, None
        conn, self._txn_conn = self._txn_conn, None
        try:
            if conn is not None:
                await conn.close()
        finally:
            if chancy is not None:
                await chancy.__aexit__(None, None, None)

    def _job(self, key: int) -> Any:
        from benchmarks.apps.chancy_app import noop

        return noop.job.with_kwargs(k=key)

    async def enqueue_batch(self, keys: Sequence[int]) -> None:
        async for _ in self._chancy.push_many([self._job(k) for k in keys]):
            pass

    async def enqueue_single(self, key: int) -> None:
        await self._chancy.push(self._job(key))

    async def prepare_worker(self, concurrency: int | None) -> None:
        if concurrency != self._concurrency:
            await self._declare(concurrency)

    def worker_command(self, concurrency: int | None) -> list[str]:
        return [*self._cli(), "worker", "start"]

    async def snapshot(self, conn: asyncpg.Connection) -> None:
        self._since = await conn.fetchval("SELECT now()")

    async def count_pending(self, conn: asyncpg.Connection) -> int:
        return int(await conn.fetchval(PENDING_SQL))

    async def last_finished_at(self, conn: asyncpg.Connection) -> float | None:
        if self._since is None:
            return None
        value = await conn.fetchval(FINISHED_AT_SQL, self._since)
        return None if value is None else float(value)

    async def seed_scale(self, conn: asyncpg.Connection, finished: int, future: int) -> None:
        async with conn.transaction():
            if finished:
                await conn.execute(SEED_FINISHED_SQL, finished, FUNC)
            if future:
                await conn.execute(SEED_FUTURE_SQL, future, FUNC)

    # -- transactional enqueue ------------------------------------------------------

    async def open_txn(self, mode: str) -> None:
        import psycopg

        self._txn_conn = await psycopg.AsyncConnection.connect(self.dsn, autocommit=True)

    async def txn_block(self, mode: str, plan: Sequence[tuple[str, int]]) -> list[float]:
        from psycopg.rows import dict_row

        conn, chancy = self._txn_conn, self._chancy
        times = []
        for variant, key in plan:
            t0 = time.perf_counter()
            async with conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
                await cur.execute(TXN_SQL["order_pyformat"], {"k": key})
                if variant == "job":
                    await chancy.push_ex(cur, self._job(key))
                elif variant == "insert":
                    await cur.execute(TXN_SQL["audit_pyformat"], {"k": key})
            times.append(time.perf_counter() - t0)
        return times
