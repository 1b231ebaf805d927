"""pgqueuer 1.6 (asyncpg driver).

* schema: ``pgq --pg-dsn DSN install``;
* enqueue: ``Queries.enqueue`` with lists (batch) or scalars (single);
* transactional enqueue: ``Queries`` over the asyncpg connection of the business
  write (``Queries.from_asyncpg_connection``), inside ``conn.transaction()``;
* worker: ``pgq run benchmarks.apps.pgqueuer_app:create_pgqueuer``, default
  settings (batch size 10, no cap on jobs in flight) or ``--max-concurrent-tasks N``;
* done: a finished job is deleted from the ``pgqueuer`` table and logged as
  ``successful`` in ``pgqueuer_log``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import asyncpg

from benchmarks.adapters.base import TXN_SQL, WatermarkAdapter, console_script

if TYPE_CHECKING:
    from pgqueuer import Queries

ENTRYPOINT = "noop"
FACTORY = "benchmarks.apps.pgqueuer_app:create_pgqueuer"

# 1 M finished jobs: pgqueuer deletes a finished job from its queue table and
# keeps its history in pgqueuer_log, one 'queued' row (written by enqueue) and
# one 'successful' row per job, spread here over the last 24 h.  The worker
# folds the log into pgqueuer_statistics periodically; the seed is already
# folded (aggregated = true) with its per-second counts in the statistics table.
SEED_FINISHED_SQL = """
INSERT INTO pgqueuer_log (created, job_id, status, priority, entrypoint, aggregated)
SELECT now() - interval '24 hours' + g * (86400.0 / $1) * interval '1 second',
       g, st, 0, $2, true
FROM generate_series(1, $1::bigint) AS g,
     unnest(ARRAY['queued', 'successful']::pgqueuer_status[]) AS st
"""
SEED_STATISTICS_SQL = """
INSERT INTO pgqueuer_statistics (created, count, priority, status, entrypoint)
SELECT date_trunc('sec', created), count(*), priority, status, entrypoint
FROM pgqueuer_log
GROUP BY date_trunc('sec', created), priority, status, entrypoint
"""
SEED_SEQUENCE_SQL = "SELECT setval(pg_get_serial_sequence('pgqueuer', 'id'), $1::bigint)"
# Future jobs: ordinary 'queued' rows whose execute_after lies 1 day or more
# ahead, with the 'queued' log row enqueue writes.  They get lower ids than the
# jobs drained afterwards, as jobs scheduled earlier for later would.
SEED_FUTURE_SQL = """
WITH ins AS (
    INSERT INTO pgqueuer (priority, entrypoint, payload, status, execute_after)
    SELECT 0, $2, convert_to((-g)::text, 'UTF8'), 'queued',
           now() + interval '1 day' + g * interval '1 second'
    FROM generate_series(1, $1::bigint) AS g
    RETURNING id, entrypoint, priority
)
INSERT INTO pgqueuer_log (job_id, status, entrypoint, priority, aggregated)
SELECT id, 'queued', entrypoint, priority, true FROM ins
"""
WATERMARK_SQL = """
SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM pgqueuer_id_seq
"""
PENDING_SQL = """
SELECT count(*) FROM pgqueuer
WHERE id > $1 AND status IN ('queued', 'picked') AND execute_after <= now()
"""
FINISHED_AT_SQL = """
SELECT extract(epoch FROM max(created))::float8 FROM pgqueuer_log
WHERE job_id > $1 AND status = 'successful'
"""


class PgqueuerAdapter(WatermarkAdapter):
    name = "pgqueuer"
    distribution = "pgqueuer"
    job_table = "pgqueuer"
    txn_modes = ("async",)
    watermark_sql = WATERMARK_SQL
    pending_sql = PENDING_SQL
    finished_at_sql = FINISHED_AT_SQL

    def __init__(self, admin_dsn: str, workdir: Path) -> None:
        super().__init__(admin_dsn, workdir)
        self._conn: asyncpg.Connection | None = None
        self._queries: Queries | None = None
        self._txn: tuple[asyncpg.Connection, Queries] | None = None

    def _cli(self) -> list[str]:
        return [*console_script("pgq", "pgqueuer"), "--pg-dsn", self.dsn]

    async def install(self) -> None:
        proc = await asyncio.create_subprocess_exec(
            *self._cli(),
            "install",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await proc.communicate()
        if proc.returncode != 0:
            raise RuntimeError(f"pgq install failed:\n{out.decode(errors='replace')}")

    async def open_producer(self) -> None:
        from pgqueuer import Queries

        self._conn = await asyncpg.connect(self.dsn)
        self._queries = Queries.from_asyncpg_connection(self._conn)

    async def close_producer(self) -> None:
        conn, self._conn, self._queries = self._conn, None, None
        txn, self._txn = self._txn, None
        try:
            if txn is not None:
                await txn[0].close()
        finally:
            if conn is not None:
                await conn.close()

    def _producer(self) -> Queries:
        if self._queries is None:
            raise RuntimeError("open_producer() first")
        return self._queries

    async def enqueue_batch(self, keys: Sequence[int]) -> None:
        n = len(keys)
        await self._producer().enqueue([ENTRYPOINT] * n, [str(k).encode() for k in keys], [0] * n)

    async def enqueue_single(self, key: int) -> None:
        await self._producer().enqueue(ENTRYPOINT, str(key).encode())

    def worker_command(self, concurrency: int | None) -> list[str]:
        cmd = [*self._cli(), "run", FACTORY]
        if concurrency is not None:
            cmd += ["--max-concurrent-tasks", str(concurrency)]
        return cmd


    async def seed_scale(self, conn: asyncpg.Connection, finished: int, future: int) -> None:
        async with conn.transaction():
            if finished:
                await conn.execute(SEED_FINISHED_SQL, finished, ENTRYPOINT)
                await conn.execute(SEED_STATISTICS_SQL)
                await conn.execute(SEED_SEQUENCE_SQL, finished)
            if future:
                await conn.execute(SEED_FUTURE_SQL, future, ENTRYPOINT)

    # -- transactional enqueue ------------------------------------------------------

    async def open_txn(self, mode: str) -> None:
        from pgqueuer import Queries

        conn = await asyncpg.connect(self.dsn)
        self._txn = (conn, Queries.from_asyncpg_connection(conn))

    async def txn_block(self, mode: str, plan: Sequence[tuple[str, int]]) -> list[float]:
        assert self._txn is not None
        conn, queries = self._txn
        order, audit = TXN_SQL["order_numeric"], TXN_SQL["audit_numeric"]
        times = []
        for variant, key in plan:
            t0 = time.perf_counter()
            async with conn.transaction():
                await conn.execute(order, key)
                if variant == "job":
                    await queries.enqueue(ENTRYPOINT, str(key).encode())
                elif variant == "insert":
                    await conn.execute(audit, key)
            times.append(time.perf_counter() - t0)
        return times
