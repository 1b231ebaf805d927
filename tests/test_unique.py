"""Unique jobs: one queued or running job per key, and with ``unique_for`` one per
window, whatever the number of concurrent producers (separate processes)."""

from __future__ import annotations

import multiprocessing
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import create_engine

import pgq_sa

from .procs import pgq, query, wait_until, workers

APP = "tests.apps.flow_app:registry"


def _produce(dsn: str, key: str, hold: float | None, barrier: object, out: object) -> None:
    engine = create_engine(dsn.replace("postgresql://", "postgresql+psycopg2://", 1))
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")  # connected before the start line
            conn.rollback()
            barrier.wait(30)  # type: ignore[attr-defined]
            with conn.begin():
                job_id = pgq_sa.enqueue_sync(conn, "work", {}, unique_key=key,
                                             unique_for=hold)
        out.put(job_id)  # type: ignore[attr-defined]
    finally:
        engine.dispose()


def produce_at_once(dsn: str, key: str, hold: float | None, n: int = 8) -> list[int]:
    ctx = multiprocessing.get_context("spawn")
    barrier, out = ctx.Barrier(n), ctx.Queue()
    procs = [ctx.Process(target=_produce, args=(dsn, key, hold, barrier, out))
             for _ in range(n)]
    for p in procs:
        p.start()
    ids = [out.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    return ids


def jobs_with(dsn: str, key: str) -> list[tuple[int, str]]:
    return query(dsn, "SELECT id, status FROM pgq_jobs WHERE unique_key = %s ORDER BY id",
                 (key,))


@pytest.mark.slow
@pytest.mark.parametrize("hold", [None, 3600.0])
def test_eight_processes_enqueue_one_key_at_once_one_job(dsn, hold):
    ids = produce_at_once(dsn, "invoice:42", hold)
    rows = jobs_with(dsn, "invoice:42")
    assert len(rows) == 1 and set(ids) == {rows[0][0]}, (ids, rows)


def test_unique_for_holds_after_the_job_finished_then_expires(dsn, sync_engine):
    window = timedelta(hours=1)
    first = pgq_sa.enqueue_sync(sync_engine, "work", {}, unique_key="k", unique_for=window)
    with workers(APP, dsn, 1):
        wait_until(lambda: jobs_with(dsn, "k") == [(first, "succeeded")], 30,
                   message="the job to run")
    # finished, but enqueued less than an hour ago: the key is still held
    again = pgq_sa.enqueue_sync(sync_engine, "work", {}, unique_key="k", unique_for=window)
    assert again == first and len(jobs_with(dsn, "k")) == 1
    # without a window, only active jobs hold a key: a new one
    plain = pgq_sa.enqueue_sync(sync_engine, "work", {}, unique_key="k")
    assert plain != first
    pgq_sa.cancel_sync(sync_engine, [plain])
    # after the window (the clock moved on), a new job takes the key
    later = datetime.now(timezone.utc) + window + timedelta(seconds=5)
    [fresh] = pgq_sa.enqueue_many_sync(
        sync_engine, [("work", {}, {"unique_key": "k", "unique_for": window})], now=later)
    assert fresh not in (first, plain)
    [held] = pgq_sa.enqueue_many_sync(
        sync_engine, [("work", {}, {"unique_key": "k", "unique_for": window})], now=later)
    assert held == fresh


@pytest.mark.anyio
async def test_every_way_to_enqueue_takes_a_key(engine, dsn):
    registry = pgq_sa.Registry()

    @registry.task(queue="q")
    async def send(to: str) -> None: ...

    first = await send.options(unique_key="mail:1").enqueue(engine, to="a")
    assert await send.options(unique_key="mail:1").enqueue(engine, to="b") == first
    assert await registry.enqueue(engine, "send", {"to": "c"}, unique_key="mail:1") == first
    assert await pgq_sa.enqueue(engine, "send", {"to": "d"}, unique_key="mail:1") == first
    ids = await pgq_sa.enqueue_many(engine, [
        ("send", {"to": "e"}, {"unique_key": "mail:2"}),
        send.job(to="f"),
        send.options(unique_key="mail:1").job(to="g"),
        ("send", {"to": "h"}, {"unique_key": "mail:2", "queue": "q"}),
    ])
    assert ids[2] == first and ids[0] == ids[3] and len(set(ids)) == 3
    assert query(dsn, "SELECT count(*) FROM pgq_jobs")[0][0] == 3
    # in the caller's transaction: a rolled-back enqueue holds nothing
    async with engine.connect() as conn:
        rolled = await pgq_sa.enqueue(conn, "send", {"to": "x"}, unique_key="mail:3",
                                      unique_for=60)
        await conn.rollback()
    async with engine.begin() as conn:
        kept = await pgq_sa.enqueue(conn, "send", {"to": "y"}, unique_key="mail:3",
                                    unique_for=60)
        assert await pgq_sa.enqueue(conn, "send", {"to": "z"}, unique_key="mail:3") == kept
    assert kept != rolled
    shown = pgq("jobs", "show", str(kept), dsn=dsn).stdout
    assert "unique_key: mail:3" in shown
    import httpx

    from pgq_sa.web import create_app

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(engine)),
                                 base_url="http://testserver") as c:
        job = (await c.get(f"/api/jobs/{kept}")).json()
    assert job["unique_key"] == "mail:3"  # the job page shows it


@pytest.mark.parametrize(("options", "message"), [
    ({"unique_key": ""}, "unique_key must be a non-empty string"),
    ({"unique_key": 7}, "unique_key must be a non-empty string, got a int"),
    ({"unique_for": 5}, "unique_for needs a unique_key"),
    ({"unique_key": "k", "unique_for": -1}, "unique_for must be > 0 seconds"),
    ({"unique_key": "k", "unique_for": "1h"}, "unique_for must be a timedelta or seconds"),
])
def test_bad_unique_options(sync_engine, options, message):
    with pytest.raises((ValueError, TypeError), match=message):
        pgq_sa.enqueue_many_sync(sync_engine, [("work", {}, options)])


def test_unique_key_does_not_combine_with_dependencies(sync_engine):
    first = pgq_sa.enqueue_sync(sync_engine, "work")
    for items in ([("work", {}, {"unique_key": "k", "depends_on": [first]})],
                  [("work", {}, {"unique_key": "k"}), ("work", {}, {"depends_on": [first]})]):
        with pytest.raises(ValueError, match="unique_key does not combine with dependencies"):
            pgq_sa.enqueue_many_sync(sync_engine, items)
    with sync_engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM pgq_jobs").scalar() == 1
