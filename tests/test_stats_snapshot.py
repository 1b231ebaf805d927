"""The dashboard's figures from a database with known jobs in every state."""

from __future__ import annotations

import anyio
import pytest
from sqlalchemy import select

import pgq_sa
from pgq_sa.stats import snapshot

from .known_jobs import NOW, T, at, build

pytestmark = pytest.mark.anyio


async def test_snapshot_figures(engine):
    await build(engine)
    snap = await snapshot(engine, now=NOW)
    assert snap.now == NOW and snap.until == T
    assert [q.queue for q in snap.queues] == ["emails", "reports"]
    emails, reports = snap.queues
    [send] = emails.entrypoints
    assert send.entrypoint == "send"
    # queued now: two ready from the start, the retried and the snoozed job; two later
    assert (send.ready, send.scheduled, send.running) == (4, 2, 2)
    assert send.oldest_ready_age == pytest.approx(60.4)
    # outcomes of the last five minutes (the five at T-400 are outside)
    assert (send.succeeded, send.failed, send.cancelled, send.retried) == (60, 2, 1, 1)
    assert send.throughput_short == pytest.approx(20 / 10)
    assert send.throughput == pytest.approx(63 / 300)
    assert send.error_rate == pytest.approx(3 / 64)
    # latency of the 62 finished jobs that ran: 50 x 0.3 s, 2 x 1.0 s (failures),
    # 10 x 4.0 s; the operator-cancelled job never started
    assert send.timed == 62
    assert send.latency_p50 == pytest.approx(0.3)
    assert send.latency_p95 == pytest.approx(4.0)
    # run time: 60 x 0.05 s, 2 x 1.0 s (failures)
    assert send.runtime_p50 == pytest.approx(0.05)
    assert send.runtime_p95 == pytest.approx(0.05)
    assert send.last_error == "TimeoutError: slow"
    assert send.last_error_at == at(-20)

    [build_] = reports.entrypoints
    assert (build_.ready, build_.scheduled, build_.running, build_.succeeded) == (1, 0, 0, 1)
    assert build_.oldest_ready_age == pytest.approx(5.4)
    assert build_.throughput_short == pytest.approx(0.1)
    assert build_.latency_p50 == pytest.approx(1.5)
    assert build_.runtime_p50 == build_.runtime_p95 == pytest.approx(0.7)
    assert build_.error_rate == 0.0 and build_.last_error is None

    # queue totals and the sparkline: 30 slots of 10 s, oldest first
    assert emails.queued == 6 and emails.finished == 63
    assert sum(emails.series) == 63
    assert emails.series[-1] == 20  # T-10 .. T: the 20 quick successes
    assert emails.series[20] == 40  # T-100 falls in slot (300-100)/10 = 20
    totals = snap.totals
    assert (totals.ready, totals.running, totals.finished) == (5, 2, 64)
    assert totals.throughput_short == pytest.approx(2.1)
    # overall percentiles: 63 jobs, the 1.5 s latency of reports/build among them
    assert totals.timed == 63 and emails.timed == 62
    assert totals.latency_p50 == pytest.approx(0.3) and totals.latency_p95 == pytest.approx(4.0)
    assert emails.latency_p95 == pytest.approx(4.0)

    by_id = {w.id: w for w in snap.workers}
    live, dead = by_id["w-live"], by_id["w-dead"]
    assert (live.id, live.running, live.stale) == ("w-live", 2, False)
    assert live.heartbeat_age == pytest.approx(1.4)
    assert (dead.id, dead.running, dead.stale) == ("w-dead", 0, True)
    assert dead.heartbeat_age == pytest.approx(120.4)


async def test_stats_rows_per_second_and_minute(engine):
    await build(engine)
    st = pgq_sa.tables.stats
    async with engine.connect() as conn:
        rows = (await conn.execute(
            select(st.c.span, st.c.status, st.c["count"]).where(st.c.queue == "emails")
        )).all()
    per_span: dict[int, dict[str, int]] = {}
    for span, status, n in rows:
        per_span.setdefault(span, {}).setdefault(status, 0)
        per_span[span][status] += n
    assert per_span[1] == per_span[60] == {"succeeded": 65, "failed": 2, "retried": 1,
                                           "cancelled": 1}


async def test_percentiles_use_a_bounded_sample_of_the_newest_jobs(engine):
    await build(engine)
    snap = await snapshot(engine, now=NOW, sample=21)
    [send] = snap.queues[0].entrypoints
    # the 21 newest finished jobs: reports/build at T-2 and the 20 quick ones at T-5, T-8
    assert send.timed == 20
    assert send.latency_p50 == send.latency_p95 == pytest.approx(0.3)


async def test_snapshot_of_an_empty_database(engine):
    snap = await snapshot(engine)
    assert snap.queues == [] and snap.workers == []
    assert snap.to_dict()["totals"]["throughput"] == 0.0


@pytest.mark.parametrize(("offset", "succeeded"), [
    (30, 60),   # window 11:55:30-12:00:30: whole minutes 11:56-12:00 plus second rows
    (200, 60),  # window starts 11:58:20, on the 40 jobs of T-100: second rows count them
    (201, 20),  # window starts 11:58:21: the 11:58 minute row must not be used
])
async def test_window_edges_use_second_rows(engine, offset, succeeded):
    """Whole minutes come from per-minute rows, the ragged ends from per-second rows."""
    from datetime import timedelta

    await build(engine)
    snap = await snapshot(engine, now=NOW + timedelta(seconds=offset))
    [send] = snap.queues[0].entrypoints
    assert (send.succeeded, send.failed, send.retried, send.cancelled) == (succeeded, 2, 1, 1)
    assert send.throughput_short == 0.0
    assert send.throughput == pytest.approx((succeeded + 3) / 300)


async def test_stats_in_a_schema(empty_db):
    """The counting upsert and the snapshot work with schema-qualified tables."""
    from sqlalchemy import insert, text
    from sqlalchemy.ext.asyncio import create_async_engine

    from pgq_sa import migrate
    from pgq_sa.sql import statements_for

    eng = create_async_engine(pgq_sa.dsn.async_url(empty_db))
    try:
        async with eng.begin() as conn:
            await conn.execute(text("CREATE SCHEMA jobs"))
        await anyio.to_thread.run_sync(lambda: migrate.upgrade_database(empty_db, schema="jobs"))
        tables = pgq_sa.tables_for("jobs")
        s = statements_for(tables)
        async with eng.begin() as conn:
            ids = [(await conn.execute(insert(tables.jobs).values(
                entrypoint="e", status="running", attempts=1, started_at=at(-2),
                created_at=at(-3), run_at=at(-3), worker_id="w",
            ).returning(tables.jobs.c.id))).scalar_one() for _ in range(3)]
            # two flushes into the same stats rows: the second one takes the conflict path
            for batch, statuses in (([ids[0]], ["succeeded"]), (ids[1:], ["succeeded", "failed"])):
                await conn.execute(s.finish_counted, {
                    "ids": batch, "attempts": [1] * len(batch), "statuses": statuses,
                    "run_ats": [None] * len(batch), "messages": [None, "E: x"][:len(batch)],
                    "errors": [None] * len(batch), "uncount": [False] * len(batch),
                    "results": [None] * len(batch), "now": at(-1)})
        snap = await snapshot(eng, schema="jobs", now=NOW)
        [q] = snap.queues
        assert (q.succeeded, q.failed, q.last_error) == (2, 1, "E: x")
        assert q.latency_p50 == pytest.approx(1.0)
    finally:
        await eng.dispose()


async def test_a_worker_counts_its_outcomes_into_pgq_stats(engine, dsn):
    """A real worker's counts reach pgq_stats (written in memory-aggregated batches)."""
    from sqlalchemy import text

    from .conftest import running_worker, wait_for

    registry = pgq_sa.Registry()

    @registry.task(max_attempts=2, backoff=pgq_sa.Backoff(base=0.01, jitter=0))
    async def flaky(fail: bool) -> None:
        if fail:
            raise ValueError("broken on purpose")

    await pgq_sa.enqueue_many(engine, [flaky.job(fail=False)] * 5 + [flaky.job(fail=True)] * 2)

    async def counts() -> dict[tuple[str, str], int]:
        async with engine.connect() as conn:
            rows = await conn.execute(text(
                "SELECT status, sum(count) FROM pgq_stats WHERE span = 1 GROUP BY status"))
            return {r[0]: int(r[1]) for r in rows}

    async with running_worker(registry, dsn, poll_interval=0.05):
        async def all_counted() -> bool:
            c = await counts()
            return c.get("succeeded") == 5 and c.get("failed") == 2
        await wait_for(all_counted, timeout=15)
    final = await counts()
    assert final == {"succeeded": 5, "failed": 2, "retried": 2}
    async with engine.connect() as conn:
        last = (await conn.execute(text(
            "SELECT last_error FROM pgq_stats WHERE status = 'failed' LIMIT 1"))).scalar()
    assert "broken on purpose" in last
