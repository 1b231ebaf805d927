"""Retries, error history, timeouts and snoozing."""

from __future__ import annotations

import json
import random
import time

import anyio
import pytest

import pgq_sa
from pgq_sa import Backoff

from .conftest import get_job, running_worker, wait_cancelled, wait_status
from .test_cancel import cli

pytestmark = pytest.mark.anyio
FAST = Backoff(base=0.05, factor=2.0, cap=0.2, jitter=0.2)



async def test_retry_then_succeed(engine, dsn):
    registry = pgq_sa.Registry()
    attempts: list[int] = []

    @registry.task(max_attempts=5, backoff=FAST)
    async def flaky(ctx: pgq_sa.JobContext) -> None:
        attempts.append(ctx.attempt)
        if ctx.attempt < 3:
            raise ConnectionResetError(f"flaky on attempt {ctx.attempt}")

    async with running_worker(registry, dsn, poll_interval=0.05):
        job_id = await flaky.enqueue(engine)
        await wait_status(engine, job_id, "succeeded", timeout=10)
    row = await get_job(engine, job_id)
    assert attempts == [1, 2, 3] and row["attempts"] == 3
    assert [(e["attempt"], e["type"], e["message"]) for e in row["errors"]] == [
        (1, "ConnectionResetError", "flaky on attempt 1"),
        (2, "ConnectionResetError", "flaky on attempt 2"),
    ]
    assert all("raise ConnectionResetError" in e["traceback"] and e["at"]
               for e in row["errors"])


async def test_retry_until_failed_keeps_full_history_then_operator_retry(engine, dsn):
    registry = pgq_sa.Registry()
    fixed: list[bool] = []

    @registry.task(max_attempts=3, backoff=FAST)
    async def broken(n: int) -> None:
        if not fixed:
            raise ValueError(f"cannot handle {n}")

    async with running_worker(registry, dsn, poll_interval=0.05):
        job_id = await broken.enqueue(engine, n=7)
        await wait_status(engine, job_id, "failed", timeout=10)

        out = await anyio.to_thread.run_sync(
            lambda: cli(dsn, "jobs", "show", str(job_id), "--json"))
        assert out.returncode == 0, out.stderr
        shown = json.loads(out.stdout)
        assert shown["status"] == "failed" and shown["attempts"] == 3
        assert shown["last_error"] == "ValueError: cannot handle 7"
        assert [(e["attempt"], e["type"], e["message"]) for e in shown["errors"]] == [
            (i, "ValueError", "cannot handle 7") for i in (1, 2, 3)]
        assert all("Traceback (most recent call last)" in e["traceback"]
                   for e in shown["errors"])

        fixed.append(True)
        out = await anyio.to_thread.run_sync(lambda: cli(dsn, "jobs", "retry", str(job_id)))
        assert out.returncode == 0 and f"{job_id}: queued again" in out.stdout
        await wait_status(engine, job_id, "succeeded", timeout=10)
    row = await get_job(engine, job_id)
    assert row["attempts"] == 1 and len(row["errors"]) == 3  # history kept


async def test_python_retry_api_and_unchanged_jobs(engine, dsn, app_sync_engine):
    registry = pgq_sa.Registry()

    @registry.task()
    async def work() -> None:
        pass

    a = await work.options(delay=3600).enqueue(engine)
    b = await work.options(delay=3600).enqueue(engine)
    await pgq_sa.cancel(engine, [a, b])
    assert await pgq_sa.retry(engine, [a]) == [a]
    assert pgq_sa.retry_sync(app_sync_engine, [b, 424242]) == [b]
    assert await pgq_sa.retry(engine, [a]) == []  # queued: not failed or cancelled
    async with running_worker(registry, dsn, poll_interval=0.05):
        await wait_status(engine, a, "succeeded", timeout=10)
        await wait_status(engine, b, "succeeded", timeout=10)


async def test_timeout_is_a_failed_attempt_and_is_retried(engine, dsn):
    registry = pgq_sa.Registry()
    runs: list[int] = []
    finished_sync: list[bool] = []

    @registry.task(timeout=0.3, max_attempts=2, backoff=FAST)
    async def slow_async(ctx: pgq_sa.JobContext) -> None:
        runs.append(ctx.attempt)
        await anyio.sleep(30)

    @registry.task(timeout=0.3, max_attempts=3, backoff=FAST)
    def slow_sync(ctx: pgq_sa.JobContext) -> None:
        if ctx.attempt == 3:
            return
        finished_sync.append(wait_cancelled(ctx))

    async with running_worker(registry, dsn, poll_interval=0.05):
        a = await slow_async.enqueue(engine)
        s = await slow_sync.enqueue(engine)
        t0 = time.monotonic()
        await wait_status(engine, a, "failed", timeout=10)
        assert time.monotonic() - t0 < 5
        await wait_status(engine, s, "succeeded", timeout=10)
    row = await get_job(engine, a)
    assert runs == [1, 2] and row["attempts"] == 2
    assert [(e["attempt"], e["type"]) for e in row["errors"]] == [
        (1, "JobTimeout"), (2, "JobTimeout")]
    assert row["errors"][0]["message"] == "timed out after 0.3s"
    assert row["last_error"] == "JobTimeout: timed out after 0.3s"
    sync_row = await get_job(engine, s)
    assert [e["type"] for e in sync_row["errors"]] == ["JobTimeout", "JobTimeout"]
    assert finished_sync == [True, True]  # the thread saw ctx.cancelled


async def test_snooze_reruns_later_without_counting_an_attempt(engine, dsn):
    registry = pgq_sa.Registry()
    runs: list[tuple[int, float]] = []

    @registry.task(max_attempts=1)
    async def poll_remote(ctx: pgq_sa.JobContext) -> None:
        runs.append((ctx.attempt, time.monotonic()))
        if len(runs) < 3:
            raise pgq_sa.Snooze(0.4)

    async with running_worker(registry, dsn, poll_interval=0.05):
        job_id = await poll_remote.enqueue(engine)
        await wait_status(engine, job_id, "succeeded", timeout=10)
    row = await get_job(engine, job_id)
    # max_attempts=1, yet it ran three times: snoozes are not errors
    assert [a for a, _ in runs] == [1, 1, 1]
    assert row["attempts"] == 1 and row["errors"] == [] and row["last_error"] is None
    assert runs[1][1] - runs[0][1] >= 0.35 and runs[2][1] - runs[1][1] >= 0.35


async def test_unstorable_error_text_does_not_wedge_the_worker(engine, dsn):
    """A NUL byte or a lone surrogate in an exception message cannot be stored by
    PostgreSQL as is; the outcome must still be written, and later jobs too."""
    registry = pgq_sa.Registry()

    @registry.task(max_attempts=1)
    async def nul() -> None:
        raise ValueError("bad\x00byte")

    @registry.task(max_attempts=1)
    async def surrogate() -> None:
        raise ValueError("lone \ud800 surrogate")

    @registry.task()
    async def fine() -> None:
        pass

    async with running_worker(registry, dsn, poll_interval=0.05):
        a = await nul.enqueue(engine)
        b = await surrogate.enqueue(engine)
        await wait_status(engine, a, "failed", timeout=5)
        await wait_status(engine, b, "failed", timeout=5)
        c = await fine.enqueue(engine)
        await wait_status(engine, c, "succeeded", timeout=5)
    assert (await get_job(engine, a))["errors"][0]["message"] == "bad\\x00byte"
    assert (await get_job(engine, b))["errors"][0]["message"] == "lone \\ud800 surrogate"


def test_backoff_grows_exponentially_with_jitter_and_a_cap():
    plain = Backoff(base=1.0, factor=2.0, cap=10.0, jitter=0.0)
    assert [plain.delay(n) for n in range(1, 7)] == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    jittered = Backoff(base=1.0, factor=3.0, cap=100.0, jitter=0.25)
    rng = random.Random(42)
    for n in range(1, 5):
        delays = {jittered.delay(n, rng) for _ in range(200)}
        nominal = 3.0 ** (n - 1)
        assert min(delays) >= nominal * 0.75 and max(delays) <= nominal * 1.25
        assert len(delays) > 100  # spread out
    assert max(Backoff(base=50, cap=60, jitter=0.5).delay(3, rng) for _ in range(50)) <= 60
    with pytest.raises(ValueError):
        Backoff(factor=0.5)


async def test_one_runner_goes_on_after_timeouts_with_its_deadline_cleared(engine, dsn):
    """With concurrency 1 every job runs on the same runner, which keeps one cancel
    scope from job to job: a timed-out job, and one that swallows the cancellation,
    must end as timeouts, and the jobs after them must neither inherit the deadline
    nor find the scope cancelled."""
    registry = pgq_sa.Registry()
    order: list[str] = []

    @registry.task(timeout=0.2, max_attempts=1)
    async def too_slow() -> None:
        order.append("too_slow")
        await anyio.sleep(30)

    @registry.task(timeout=0.2, max_attempts=1)
    async def swallows() -> None:
        order.append("swallows")
        try:
            await anyio.sleep(30)
        except anyio.get_cancelled_exc_class():
            return  # a handler that (wrongly) swallows the cancellation

    @registry.task(timeout=0.4)
    async def within_limit() -> None:
        order.append("within_limit")
        await anyio.sleep(0.1)

    @registry.task()
    async def no_limit() -> None:
        order.append("no_limit")
        await anyio.sleep(0.6)  # longer than every earlier deadline

    async with running_worker(registry, dsn, concurrency=1, poll_interval=0.05):
        ids = []
        for task, priority in ((within_limit, 6), (no_limit, 5), (too_slow, 4),
                               (swallows, 3), (no_limit, 2), (within_limit, 1)):
            ids.append(await task.options(priority=priority).enqueue(engine))
        await wait_status(engine, ids[-1], "succeeded", "failed", timeout=15)
    rows = [await get_job(engine, i) for i in ids]
    assert order == ["within_limit", "no_limit", "too_slow", "swallows", "no_limit",
                     "within_limit"]
    assert [r["status"] for r in rows] == [
        "succeeded", "succeeded", "failed", "failed", "succeeded", "succeeded"]
    assert [r["last_error"] for r in rows[2:4]] == ["JobTimeout: timed out after 0.2s"] * 2
