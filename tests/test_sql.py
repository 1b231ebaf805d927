"""The hot statements use the partial indexes, even as generic plans.

Statuses are SQL literals so that a generic plan (which PostgreSQL may switch to
after five executions of a prepared statement) still matches the partial index.
"""

from __future__ import annotations

import asyncpg
import pytest

from pgq_sa import tables
from pgq_sa.sql import statements_for

from .plans import explain

pytestmark = pytest.mark.anyio
S = statements_for(tables)


@pytest.fixture
async def big(dsn):
    conn = await asyncpg.connect(dsn)
    await conn.execute("""
        INSERT INTO pgq_jobs (queue, entrypoint, payload)
          SELECT (ARRAY['a','b','c'])[1 + i % 3], 'noop', '{}' FROM generate_series(1, 30000) i;
        INSERT INTO pgq_jobs (queue, entrypoint, status, finished_at)
          SELECT 'a', 'noop', 'succeeded', now() FROM generate_series(1, 60000) i;
        INSERT INTO pgq_jobs (queue, entrypoint, run_at)
          SELECT 'a', 'noop', now() + interval '1 day' FROM generate_series(1, 10000) i;
        ANALYZE pgq_jobs;
    """)
    try:
        yield conn
    finally:
        await conn.close()


ACK = {"none": None, "any": "any", "succeeded": "succeeded"}
CLAIM = {"worker_id": "w", "entrypoints": ["noop"], "limit": 32, "now": None}
#: The acknowledgement arrays of each claim variant (empty: nothing to acknowledge).
ACK_PARAMS = {
    "none": {},
    "succeeded": {"ids": [], "attempts": [], "results": []},
    "any": {"ids": [], "attempts": [], "statuses": [], "run_ats": [], "messages": [],
            "errors": [], "uncount": [], "results": []},
}


@pytest.mark.parametrize("finish", ["none", "any", "succeeded"])
async def test_claim_one_queue_scans_dequeue_index_in_order(big, finish):
    stmt = S.claim(many_queues=False, acknowledge=ACK[finish])
    params = {**CLAIM, "queue": "a", **ACK_PARAMS[finish]}
    plan = await explain(big, stmt, params)
    scans = [n for n in plan if n.get("Relation Name") == "pgq_jobs"]
    assert any(n.get("Index Name") == "pgq_jobs_dequeue_idx" for n in scans), plan
    assert not any(n["Node Type"] == "Seq Scan" for n in scans)
    assert not any(n["Node Type"] == "Sort" for n in plan)  # the index order serves


@pytest.mark.parametrize("finish", ["none", "any", "succeeded"])
async def test_claim_updates_by_primary_key_in_a_generic_plan(dsn, finish):
    """A generic plan guesses a tenth of the table for ``LIMIT $n``: with one long
    queue (a drain), joining the locked rows back to the table then looked cheaper
    as a hash join over the whole table, which halved the drain rate.  The claimed
    ids must be updated through primary-key probes whatever the estimate."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("""
            INSERT INTO pgq_jobs (queue, entrypoint, payload)
              SELECT 'default', 'noop', '{}' FROM generate_series(1, 40000);
            ANALYZE pgq_jobs;
        """)
        stmt = S.claim(many_queues=False, acknowledge=ACK[finish])
        params = {**CLAIM, "queue": "default", **ACK_PARAMS[finish]}
        plan = await explain(conn, stmt, params)
    finally:
        await conn.close()
    # (pgq_queues, a few rows of paused queues, is read whole once per claim)
    assert not any(n["Node Type"] == "Hash Join" or (
        n["Node Type"] == "Seq Scan" and n.get("Relation Name") != "pgq_queues")
        for n in plan), plan
    probes = [n for n in plan if n.get("Relation Name") == "pgq_jobs"
              and n.get("Index Name") == "pk_pgq_jobs"]
    assert probes, plan


async def test_claim_many_queues_uses_the_index_per_queue(big):
    plan = await explain(big, S.claim(many_queues=True), {**CLAIM, "queues": ["a", "b"]})
    scans = [n for n in plan if n.get("Relation Name") == "pgq_jobs"]
    assert any(n.get("Index Name") == "pgq_jobs_dequeue_idx" for n in scans)
    assert not any(n["Node Type"] in ("Seq Scan", "Bitmap Heap Scan") for n in scans), plan


async def test_prune_and_heartbeat_use_indexes(big):
    from datetime import datetime, timezone

    plan = await explain(big, S.prune_jobs, {"before": datetime.now(timezone.utc), "limit": 100})
    assert any(n.get("Index Name") == "pgq_jobs_finished_idx" for n in plan), plan
    # the heartbeat names the jobs the worker holds: an index probe, never a table scan
    plan = await explain(big, S.heartbeat, {"worker_id": "w", "ids": [1, 2, 3], "now": None,
                                            "host": "h", "pid": 1, "queues": ["a"],
                                            "entrypoints": ["noop"], "concurrency": 1,
                                            "session_key": None})
    scans = [n for n in plan
             if n.get("Relation Name") == "pgq_jobs" and "Scan" in n["Node Type"]]
    assert scans and all(n.get("Index Name") in ("pk_pgq_jobs", "pgq_jobs_running_idx")
                         for n in scans), plan


@pytest.mark.parametrize("stmt", [S.finish, S.finish_succeeded], ids=["any", "succeeded"])
async def test_finish_looks_jobs_up_by_primary_key(big, stmt):
    """Even when statistics say nothing is running, acks probe the primary key."""
    await big.execute("UPDATE pgq_jobs SET status = 'running', attempts = 1 "
                      "WHERE id IN (SELECT id FROM pgq_jobs WHERE status = 'queued' LIMIT 64)")
    ids = [r[0] for r in await big.fetch("SELECT id FROM pgq_jobs WHERE status = 'running'")]
    n = len(ids)
    params = {"ids": ids, "attempts": [1] * n, "results": [None] * n, "now": None}
    if stmt is S.finish:
        params.update(statuses=["succeeded"] * n, run_ats=[None] * n, messages=[None] * n,
                      errors=[None] * n, uncount=[False] * n)
    plan = await explain(big, stmt, params)
    scans = [n for n in plan
             if n.get("Relation Name") == "pgq_jobs" and "Scan" in n["Node Type"]]
    assert [n.get("Index Name") for n in scans] == ["pk_pgq_jobs"], plan
