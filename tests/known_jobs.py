"""A database with known jobs in every state, built through the real write path.

Finished jobs are inserted ``running`` with explicit timestamps, then ended by the
worker's own statement (``Statements.finish_counted``) with an injected ``now``, so
``pgq_stats`` holds exactly what a worker would have written at those times.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

import pgq_sa
from pgq_sa.sql import statements_for

T = datetime(2030, 1, 1, 12, 0, 0, tzinfo=timezone.utc)
#: The snapshot's clock: 0.4 s into the second that starts at T.
NOW = T + timedelta(seconds=0.4)

jobs = pgq_sa.tables.jobs
workers = pgq_sa.tables.workers


def at(seconds: float) -> datetime:
    return T + timedelta(seconds=seconds)


@dataclass
class Expected:
    """What the dashboard must show for the known database."""

    running_ids: list[int]
    queued_ids: list[int]
    finished_ids: list[int]


async def _running(conn: Any, queue: str, entrypoint: str, *, created: datetime,
                   started: datetime, worker: str = "w-gone") -> int:
    row = await conn.execute(insert(jobs).values(
        queue=queue, entrypoint=entrypoint, status="running", attempts=1, created_at=created,
        run_at=created, started_at=started, heartbeat_at=started, worker_id=worker,
    ).returning(jobs.c.id))
    return int(row.scalar_one())


async def _end(conn: Any, ids: list[int], status: str, when: datetime, *,
               message: str | None = None, uncount: bool = False) -> None:
    s = statements_for(pgq_sa.tables)
    error = None if message is None else json.dumps({"message": message})
    await conn.execute(s.finish_counted, {
        "ids": ids, "attempts": [1] * len(ids), "statuses": [status] * len(ids),
        "run_ats": [None] * len(ids), "messages": [message] * len(ids),
        "errors": [error] * len(ids), "uncount": [uncount] * len(ids), "now": when,
        "results": [None] * len(ids),
    })


async def build(engine: AsyncEngine) -> Expected:
    """Fill the database; see the module docstring and the expectations in the tests."""
    finished: list[int] = []
    queued: list[int] = []
    running: list[int] = []
    async with engine.begin() as conn:
        # emails/send, short window [T-10, T): 10 jobs end at T-5 and 10 at T-8.
        # latency 0.3 s for 50 jobs, 4.0 s for 10; run time 0.05 s for all.
        for end_at, latency, n in ((-5, 0.3, 10), (-8, 0.3, 10), (-100, 0.3, 30),
                                   (-100, 4.0, 10)):
            ids = []
            for _ in range(n):
                start = at(end_at - 0.05)
                ids.append(await _running(conn, "emails", "send",
                                          created=start - timedelta(seconds=latency),
                                          started=start))
            await _end(conn, ids, "succeeded", at(end_at))
            finished += ids
        # two failures at T-30, one failed attempt retried at T-20 (the latest error)
        ids = [await _running(conn, "emails", "send", created=at(-32), started=at(-31))
               for _ in range(2)]
        await _end(conn, ids, "failed", at(-30), message="ValueError: boom")
        finished += ids
        retried = await _running(conn, "emails", "send", created=at(-22), started=at(-21))
        await _end(conn, [retried], "queued", at(-20), message="TimeoutError: slow")
        # a snoozed job is not an outcome; it is queued again (ready at T-20)
        snoozed = await _running(conn, "emails", "send", created=at(-25), started=at(-24))
        await _end(conn, [snoozed], "queued", at(-20), uncount=True)
        # outside the window: not counted
        old = [await _running(conn, "emails", "send", created=at(-402), started=at(-401))
               for _ in range(5)]
        await _end(conn, old, "succeeded", at(-400))
        finished += old

        # queued emails: ready since T-60, T-10 (and the two above), two scheduled at T+60
        for run_at in (at(-60), at(-10), at(60), at(60)):
            row = await conn.execute(insert(jobs).values(
                queue="emails", entrypoint="send", created_at=at(-61), run_at=run_at,
            ).returning(jobs.c.id))
            queued.append(int(row.scalar_one()))
        queued += [retried, snoozed]  # retried at T-20 (run_at = its end), snoozed too
        # an operator cancels a queued job at T-50
        row = await conn.execute(insert(jobs).values(
            queue="emails", entrypoint="send", created_at=at(-70), run_at=at(-70),
        ).returning(jobs.c.id))
        cancelled = int(row.scalar_one())
    await pgq_sa.admin.cancel(engine, [cancelled], now=at(-50))
    finished.append(cancelled)

    async with engine.begin() as conn:
        # running emails on the live worker
        running += [await _running(conn, "emails", "send", created=at(-3), started=at(-2),
                                   worker="w-live") for _ in range(2)]
        # reports/build: one success at T-2 (latency 1.5 s, run time 0.7 s), one ready
        rid = await _running(conn, "reports", "build", created=at(-4.2), started=at(-2.7))
        await _end(conn, [rid], "succeeded", at(-2))
        finished.append(rid)
        row = await conn.execute(insert(jobs).values(
            queue="reports", entrypoint="build", created_at=at(-5), run_at=at(-5),
        ).returning(jobs.c.id))
        queued.append(int(row.scalar_one()))
        # workers: one alive (beat 1 s ago), one silent for 2 minutes
        await conn.execute(insert(workers), [
            {"id": "w-live", "host": "alpha", "pid": 101, "queues": ["emails", "reports"],
             "entrypoints": ["send", "build"], "concurrency": 8, "started_at": at(-3600),
             "heartbeat_at": at(-1)},
            {"id": "w-dead", "host": "beta", "pid": 202, "queues": ["emails"],
             "entrypoints": ["send"], "concurrency": 4, "started_at": at(-7200),
             "heartbeat_at": at(-120)},
        ])
    return Expected(running_ids=running, queued_ids=queued, finished_ids=finished)
