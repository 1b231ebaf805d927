"""The test helpers pgq-sa ships for its users."""

from __future__ import annotations

import pytest

import pgq_sa
from pgq_sa import testing

pytestmark = pytest.mark.anyio


async def test_assert_enqueued_and_run_inline(engine):
    registry = pgq_sa.Registry()
    sent: list[str] = []

    @registry.task(queue="emails")
    async def send_email(to: str, ctx: pgq_sa.JobContext) -> None:
        sent.append(f"{to}:{ctx.attempt}")

    await send_email.enqueue(engine, to="ada@example.com")
    job = await testing.assert_enqueued(engine, "send_email", {"to": "ada@example.com"},
                                        queue="emails")
    await testing.run_inline(registry, job)
    assert sent == ["ada@example.com:1"]
    with pytest.raises(AssertionError, match=r"queued: send_email\(\{'to': 'ada@example.com'\}"):
        await testing.assert_enqueued(engine, "send_email", {"to": "bob@example.com"})
    with pytest.raises(AssertionError):
        await testing.assert_enqueued(engine, "other_task")


async def test_work_until_empty(engine):
    registry = pgq_sa.Registry()
    seen: list[int] = []

    @registry.task()
    def add(n: int) -> None:
        seen.append(n)

    await pgq_sa.enqueue_many(engine, [add.job(n=i) for i in range(25)])
    stats = await testing.work_until_empty(registry, engine)
    assert sorted(seen) == list(range(25)) and stats["succeeded"] == 25
    assert await testing.enqueued_jobs(engine) == []
    done = await testing.enqueued_jobs(engine, "add", statuses=("succeeded",))
    assert len(done) == 25
