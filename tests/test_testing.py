"""The test helpers pgq-sa ships for its users."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session

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


async def test_run_inline_converts_typed_parameters(engine):
    registry = pgq_sa.Registry()
    got: list[object] = []

    @registry.task()
    async def charge(user_id: uuid.UUID, amount: Decimal) -> str:
        got.extend([user_id, amount])
        return "ok"

    uid = uuid.uuid4()
    await charge.enqueue(engine, user_id=uid, amount=Decimal("9.90"))
    job = await testing.assert_enqueued(engine, "charge", {"user_id": uid})  # typed lookup
    assert await testing.run_inline(registry, job) == "ok"
    assert await testing.run_inline(registry, "charge", {"user_id": uid, "amount": 1}) == "ok"
    assert got == [uid, Decimal("9.90"), uid, Decimal(1)]
    assert [type(x) for x in got] == [uuid.UUID, Decimal] * 2
    with pytest.raises(pgq_sa.PayloadError, match=r"payload\.user_id"):
        await testing.run_inline(registry, "charge", {"user_id": "nope", "amount": 1})


def test_sync_helpers(sync_engine):
    """A sync app's tests: no event loop of their own."""
    registry = pgq_sa.Registry()
    ran: list[str] = []

    @registry.task(queue="emails")
    def send_email(to: str, ctx: pgq_sa.JobContext) -> None:
        ran.append(f"{to}:{ctx.attempt}")

    @registry.task()
    async def send_async(to: str, when: date) -> date:
        ran.append(f"async {to}")
        return when

    with Session(sync_engine) as session:
        send_email.enqueue_sync(session, to="ada@example.com")
        # the session sees the job its own transaction enqueued, before the commit
        job = testing.assert_enqueued_sync(session, "send_email", {"to": "ada@example.com"},
                                           queue="emails")
        session.commit()
    assert testing.run_inline_sync(registry, job) is None
    assert testing.run_inline_sync(registry, "send_async",
                                   {"to": "bob", "when": date(2030, 1, 2)}) == date(2030, 1, 2)
    assert ran == ["ada@example.com:1", "async bob"]
    with pytest.raises(AssertionError, match=r"queued: send_email\(\{'to': 'ada@example.com'\}"):
        testing.assert_enqueued_sync(sync_engine, "send_email", {"to": "bob@example.com"})
    assert [j["id"] for j in testing.enqueued_jobs_sync(sync_engine)] == [job["id"]]

    pgq_sa.enqueue_many_sync(sync_engine, [send_email.job(to=f"u{i}") for i in range(5)])
    stats = testing.work_until_empty_sync(registry, sync_engine)
    assert stats["succeeded"] == 6
    assert testing.enqueued_jobs_sync(sync_engine) == []
    assert len(testing.enqueued_jobs_sync(sync_engine, "send_email",
                                          statuses=("succeeded",))) == 6


async def test_sync_helpers_work_from_async_code_too(engine, sync_engine):
    """Called where an event loop runs (sync code called from async code), they run
    their own loop in a thread of their own; a handler's error reaches the caller."""
    registry = pgq_sa.Registry()
    seen: list[int] = []

    @registry.task()
    async def add(n: int) -> int:
        if n < 0:
            raise ValueError("negative")
        seen.append(n)
        return n * 2

    assert testing.run_inline_sync(registry, "add", {"n": 2}) == 4
    with pytest.raises(ValueError, match="negative"):
        testing.run_inline_sync(registry, "add", {"n": -1})
    add.enqueue_sync(sync_engine, n=3)
    assert testing.work_until_empty_sync(registry, sync_engine)["succeeded"] == 1
    assert seen == [2, 3]
