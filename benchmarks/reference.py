"""Plain-SQL reference: what PostgreSQL allows for pgq-sa's own statements.

The statements a pgq-sa worker sends (record the last batch's outcomes + claim the
next batch, one statement per batch; the reserve-ids/COPY/NOTIFY of
``enqueue_many``), driven straight from asyncpg with no job code, no Python per job
beyond building the arrays.  The
report shows pgq-sa's worker and enqueue figures as a fraction of these.

Only meaningful for pgq-sa: other libraries get no figures.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import asyncpg

from benchmarks.adapters.base import QueueAdapter

Metrics = dict[str, float | int | bool | None]
BATCH = 32  # a producer's share at the default concurrency of 64
INSERT_CHUNK = 1_000


async def _claim_loop(conn: asyncpg.Connection, stmts: Any, total: list[int]) -> None:
    from pgq_sa.sql import compiled

    claim = compiled(stmts.claim(many_queues=False))
    both = compiled(stmts.claim(many_queues=False, acknowledge="succeeded"))
    base = {"worker_id": "reference", "entrypoints": ["noop"], "queue": "default",
            "limit": BATCH, "now": None}
    prev: list[Any] = []
    while True:
        if prev:
            params = {**base, "ids": [r["id"] for r in prev],
                      "attempts": [r["attempts"] for r in prev],
                      "results": [None] * len(prev)}  # no-op handlers return nothing
            rows = await conn.fetch(both.sql, *both.args(params))
        else:
            rows = await conn.fetch(claim.sql, *claim.args(base))
        total[0] += len(prev)
        if not rows and not prev:
            return
        prev = rows


async def reference(adapter: QueueAdapter, sizes: Any, out_dir: Path) -> Metrics:
    if adapter.name != QueueAdapter.SUBJECT:
        return {}
    import pgq_sa
    from pgq_sa.enqueue import build_params
    from pgq_sa.sql import compiled, statements_for
    from pgq_sa.worker.worker import HOT_PATH_SETTINGS

    stmts = statements_for(pgq_sa.tables)
    conns = [await asyncpg.connect(adapter.dsn) for _ in range(2)]
    # the session settings of a worker's claim loops (see pgq_sa.worker.worker);
    # the enqueue below commits with the server's settings, as an application does
    worker_settings = {**HOT_PATH_SETTINGS, "synchronous_commit": "off"}
    try:
        # 1. what enqueue_many sends for a batch on an engine: reserve ids, COPY,
        #    NOTIFY, in one transaction per chunk; rows built beforehand
        reserve = compiled(stmts.reserve_ids)
        notify = compiled(stmts.notify_queues)
        n = sizes.drain
        chunks = []
        for i in range(0, n, INSERT_CHUNK):
            p = build_params([("noop", {"k": k}) for k in range(i, min(n, i + INSERT_CHUNK))])
            # the columns of stmts.copy_columns after the id, as enqueue_many sends them
            chunks.append(list(zip(p.queues, p.entrypoints, p.payloads, p.priorities,
                                   p.max_attempts, p.heartbeat_timeouts,
                                   *p.flow_columns().values(), [None] * len(p), strict=True)))
        conn = conns[0]
        t0 = time.perf_counter()
        for rows in chunks:
            async with conn.transaction():
                ids = list(await conn.fetchval(
                    reserve.sql, *reserve.args({"table": "pgq_jobs", "n": len(rows)})))
                await conn.copy_records_to_table(
                    "pgq_jobs", columns=stmts.copy_columns,
                    records=[(i, *r) for i, r in zip(ids, rows, strict=True)])
                await conn.execute(notify.sql, *notify.args(
                    {"channel": stmts.channel, "queues": ["default"]}))
        insert_s = time.perf_counter() - t0
        # 2. ack + claim, two connections in turn as the worker's two producers
        for c in conns:
            for name, value in worker_settings.items():
                await c.execute("SELECT set_config($1, $2, false)", name, value)
        total = [0]
        t0 = time.perf_counter()
        await asyncio.gather(*(_claim_loop(c, stmts, total) for c in conns))
        claim_s = time.perf_counter() - t0
        left = await conns[0].fetchval(
            "SELECT count(*) FROM pgq_jobs WHERE status <> 'succeeded'")
    finally:
        for c in conns:
            await c.close()
    return {
        "insert_jobs_per_s": n / insert_s,
        "claim_complete_jobs_per_s": total[0] / claim_s,
        "batch": BATCH,
        "left_unfinished": int(left),
        "payload_bytes": len(json.dumps({"k": n})),
    }
