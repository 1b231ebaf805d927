"""Results: a handler's return value is stored with its job (typed), with a size
limit; pgq_sa.wait / wait_sync return it or raise, woken by a NOTIFY (real worker
process)."""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime, timezone
from decimal import Decimal

import anyio
import pytest

import pgq_sa

from .apps import results_app
from .conftest import get_job, wait_status
from .procs import WorkerProcess, pgq

pytestmark = pytest.mark.anyio

APP = "tests.apps.results_app:registry"


@pytest.fixture
def worker(dsn):
    with WorkerProcess(dsn, "--concurrency", "4", "--max-result-bytes", "1000",
                       app=APP) as proc:
        proc.wait_registered()
        yield proc


async def test_typed_round_trip_and_wait(engine, sync_engine, dsn, worker):
    user, at = uuid.uuid4(), datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    job_id = await results_app.typed.enqueue(engine, user=user, at=at)
    value = await results_app.typed.wait(engine, job_id, timeout=20)
    assert value == (user, at, Decimal("1.25"))
    # the stored JSON, and the untyped wait
    assert (await get_job(engine, job_id))["result"] == [str(user), at.isoformat(), "1.25"]
    assert await pgq_sa.wait(engine, job_id, timeout=1) == [str(user), at.isoformat(), "1.25"]
    # a sync handler's plain JSON, through the sync twin
    other = results_app.plain.enqueue_sync(sync_engine, n=3)
    assert results_app.plain.wait_sync(sync_engine, other, timeout=20,
                                       poll_interval=60) == {"n": 3, "squares": [0, 1, 4]}
    shown = pgq("jobs", "show", str(job_id), dsn=dsn)
    assert shown.returncode == 0, shown.stderr
    assert f'result: ["{user}"' in shown.stdout
    as_json = json.loads(pgq("jobs", "show", str(job_id), "--json", dsn=dsn).stdout)
    assert as_json["result"][2] == "1.25"


async def test_wait_wakes_on_notify_not_poll(engine, worker):
    """With a poll interval far beyond the test's bound, only the NOTIFY of the
    awaited job's acknowledgement can end the wait in time."""
    # due in 2 s: still queued when wait marks it awaited (a job that ended before
    # that is read at once, and needs no notification)
    job_id = await results_app.plain.options(delay=2).enqueue(engine, n=2)
    started = time.monotonic()
    value = await pgq_sa.wait(engine, job_id, timeout=20, poll_interval=60)
    assert value == {"n": 2, "squares": [0, 1]}
    assert time.monotonic() - started < 10
    # the job was marked awaited, others are not (they send no NOTIFY)
    assert (await get_job(engine, job_id))["awaited"] is True
    unawaited = await results_app.plain.enqueue(engine, n=1)
    await wait_status(engine, unawaited, "succeeded", timeout=20)
    assert (await get_job(engine, unawaited))["awaited"] is False


async def test_result_over_the_limit_fails_the_job(engine, worker):
    small = await results_app.big.enqueue(engine, size=10)
    large = await results_app.big.enqueue(engine, size=5000)
    assert await pgq_sa.wait(engine, small, timeout=20) == "x" * 10
    with pytest.raises(pgq_sa.JobFailed) as failed:
        await pgq_sa.wait(engine, large, timeout=20)
    assert failed.value.status == "failed"
    assert "over the worker's limit of 1000" in (failed.value.error or "")
    job = await get_job(engine, large)
    assert job["attempts"] == 1 and job["result"] is None  # not retried


async def test_wait_on_failure_cancel_and_timeout(engine, worker):
    failing = await results_app.boom.enqueue(engine)
    with pytest.raises(pgq_sa.JobFailed) as failed:
        await pgq_sa.wait(engine, failing, timeout=20)
    assert failed.value.status == "failed" and "ValueError: boom" in str(failed.value)

    later = await results_app.plain.options(delay=3600).enqueue(engine, n=1)
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        await pgq_sa.wait(engine, later, timeout=0.5)
    assert time.monotonic() - started < 5

    async def cancel_soon() -> None:
        await anyio.sleep(0.2)
        await pgq_sa.cancel(engine, [later])

    async with anyio.create_task_group() as tg:
        tg.start_soon(cancel_soon)
        with pytest.raises(pgq_sa.JobFailed) as cancelled:
            await pgq_sa.wait(engine, later, timeout=20, poll_interval=0.1)
    assert cancelled.value.status == "cancelled"

    with pytest.raises(LookupError):
        await pgq_sa.wait(engine, 10**12, timeout=1)


def test_wait_sync_listens_with_psycopg3(dsn):
    """The sync twin on psycopg 3 (the other LISTEN path): woken by the NOTIFY, not
    by a poll an hour away."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    engine = create_engine(make_url(dsn).set(drivername="postgresql+psycopg"))
    try:
        with WorkerProcess(dsn, "--concurrency", "2", app=APP) as proc:
            proc.wait_registered()
            job_id = results_app.plain.enqueue_sync(engine, n=4)
            started = time.monotonic()
            assert pgq_sa.wait_sync(engine, job_id, timeout=20, poll_interval=3600) == {
                "n": 4, "squares": [0, 1, 4, 9]}
            assert time.monotonic() - started < 15
    finally:
        engine.dispose()
