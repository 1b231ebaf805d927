"""procrastinate 3.10 (its default psycopg 3 connector).

* schema: ``procrastinate --app benchmarks.apps.procrastinate_app.app schema --apply``;
* enqueue: ``Task.batch_defer_async`` (batch) and ``Task.defer_async`` (single);
* transactional enqueue: ``Task.configure(connection=conn).defer_async`` on the
  psycopg connection of the business write, inside ``conn.transaction()``;
* worker: ``procrastinate --app ... worker``, default settings (concurrency 1,
  LISTEN/NOTIFY on) or ``--concurrency N``;
* done: a finished job stays in ``procrastinate_jobs`` with status
  ``succeeded`` (default ``delete_jobs=never``); its ``succeeded`` event row in
  ``procrastinate_events`` carries the finishing time.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import asyncpg

from benchmarks.adapters.base import TXN_SQL, WatermarkAdapter, console_script

if TYPE_CHECKING:
    from procrastinate import App

APP = "benchmarks.apps.procrastinate_app.app"
TASK_NAME = "noop"
QUEUE = "default"

# 1 M finished jobs: procrastinate keeps succeeded jobs in procrastinate_jobs
# (status 'succeeded', attempts 1, worker unregistered) and their history in
# procrastinate_events ('deferred', 'started', 'succeeded'), spread over the
# last 24 h.  Inserting them as 'succeeded' fires none of the insert triggers.
SEED_FINISHED_JOBS_SQL = """
INSERT INTO procrastinate_jobs (queue_name, task_name, priority, args, status, attempts)
SELECT $2, $3, 0, jsonb_build_object('k', -g), 'succeeded', 1
FROM generate_series(1, $1::bigint) AS g
"""
SEED_FINISHED_EVENTS_SQL = """
INSERT INTO procrastinate_events (job_id, type, at)
SELECT j.id, e.type,
       now() - interval '24 hours' + j.id * (86400.0 / $1) * interval '1 second'
             + e.ms * interval '1 millisecond'
FROM procrastinate_jobs AS j,
     (VALUES ('deferred'::procrastinate_job_event_type, 0),
             ('started'::procrastinate_job_event_type, 1),
             ('succeeded'::procrastinate_job_event_type, 2)) AS e(type, ms)
WHERE j.status = 'succeeded'
"""
# Future jobs: 'todo' rows with scheduled_at a day or more ahead, inserted as
# defer does, so the schema's own triggers write their 'deferred' and
# 'scheduled' events.  They get lower ids than the jobs drained afterwards.
SEED_FUTURE_SQL = """
INSERT INTO procrastinate_jobs (queue_name, task_name, priority, args, scheduled_at)
SELECT $2, $3, 0, jsonb_build_object('k', -g),
       now() + interval '1 day' + g * interval '1 second'
FROM generate_series(1, $1::bigint) AS g
"""
WATERMARK_SQL = """
SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM procrastinate_jobs_id_seq
"""
PENDING_SQL = """
SELECT count(*) FROM procrastinate_jobs
WHERE id > $1 AND status IN ('todo', 'doing')
  AND (scheduled_at IS NULL OR scheduled_at <= now())
"""
FINISHED_AT_SQL = """
SELECT extract(epoch FROM max(at))::float8 FROM procrastinate_events
WHERE job_id > $1 AND type = 'succeeded'
"""


class ProcrastinateAdapter(WatermarkAdapter):
    name = "procrastinate"
    distribution = "procrastinate"
    job_table = "procrastinate_jobs"
    txn_modes = ("async",)
    watermark_sql = WATERMARK_SQL
    pending_sql = PENDING_SQL
    finished_at_sql = FINISHED_AT_SQL

    def __init__(self, admin_dsn: str, workdir: Path) -> None:
        super().__init__(admin_dsn, workdir)
        self._app: App | None = None
        self._stack = contextlib.AsyncExitStack()
        self._txn_conn: Any = None

    def _cli(self) -> list[str]:
        return [*console_script("procrastinate", "procrastinate"), "--app", APP]

    async def install(self) -> None:
        proc = await asyncio.create_subprocess_exec(
            *self._cli(),
            "schema",
            "--apply",
            env=self.worker_env(self.workdir),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await proc.communicate()
        if proc.returncode != 0:
            raise RuntimeError(
                f"procrastinate schema --apply failed:\n{out.decode(errors='replace')}"
            )

    async def open_producer(self) -> None:
        from procrastinate import PsycopgConnector

        from benchmarks.apps.procrastinate_app import app

        connector = PsycopgConnector(conninfo=self.dsn)
        self._app = self._stack.enter_context(app.replace_connector(connector))
        await self._stack.enter_async_context(self._app.open_async())

    async def close_producer(self) -> None:
        self._app = None
        conn, self._txn_conn = self._txn_conn, None
        try:
            if conn is not None:
                await conn.close()
        finally:
            await self._stack.aclose()

    def _task(self) -> Any:
        if self._app is None:
            raise RuntimeError("open_producer() first")
        return self._app.tasks[TASK_NAME]

    async def enqueue_batch(self, keys: Sequence[int]) -> None:
        await self._task().batch_defer_async(*({"k": k} for k in keys))

    async def enqueue_single(self, key: int) -> None:
        await self._task().defer_async(k=key)

    def worker_command(self, concurrency: int | None) -> list[str]:
        cmd = [*self._cli(), "worker"]
        if concurrency is not None:
            cmd += ["--concurrency", str(concurrency)]
        return cmd


    async def seed_scale(self, conn: asyncpg.Connection, finished: int, future: int) -> None:
        async with conn.transaction():
            if finished:
                await conn.execute(SEED_FINISHED_JOBS_SQL, finished, QUEUE, TASK_NAME)
                await conn.execute(SEED_FINISHED_EVENTS_SQL, finished)
            if future:
                await conn.execute(SEED_FUTURE_SQL, future, QUEUE, TASK_NAME)

    # -- transactional enqueue ------------------------------------------------------

    async def open_txn(self, mode: str) -> None:
        import psycopg

        self._txn_conn = await psycopg.AsyncConnection.connect(self.dsn, autocommit=True)

    async def txn_block(self, mode: str, plan: Sequence[tuple[str, int]]) -> list[float]:
        conn, task = self._txn_conn, self._task()
        order, audit = TXN_SQL["order_pyformat"], TXN_SQL["audit_pyformat"]
        times = []
        for variant, key in plan:
            t0 = time.perf_counter()
            async with conn.transaction():
                await conn.execute(order, {"k": key})
                if variant == "job":
                    await task.configure(connection=conn).defer_async(k=key)
                elif variant == "insert":
                    await conn.execute(audit, {"k": key})
            times.append(time.perf_counter() - t0)
        return times
