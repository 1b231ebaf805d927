"""``registry.enqueue``: enqueue by name, checked, with the task's defaults."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import pgq_sa

pytestmark = pytest.mark.anyio
jobs = pgq_sa.tables.jobs


def make_registry() -> pgq_sa.Registry:
    registry = pgq_sa.Registry()

    @registry.task(queue="emails", priority=3, max_attempts=5)
    async def send_email(to: str, user_id: uuid.UUID, subject: str = "hi") -> None: ...

    @registry.task()
    async def resize(path: str) -> None: ...

    return registry


async def rows(engine) -> dict[int, dict]:
    async with engine.connect() as conn:
        return {r.id: r._asdict() for r in await conn.execute(select(jobs))}


async def test_unknown_names_are_refused_with_the_close_matches(engine):
    registry = make_registry()
    with pytest.raises(pgq_sa.UnknownTask) as info:
        await registry.enqueue(engine, "send_emial", {"to": "a"})
    assert str(info.value) == ("unknown task 'send_emial'; did you mean 'send_email'? "
                               "(registered: resize, send_email)")
    assert isinstance(info.value, LookupError)
    with pytest.raises(pgq_sa.UnknownTask, match=r"^unknown task 'zzz' \(registered: "):
        registry.job("zzz")
    async with engine.connect() as conn:
        assert (await conn.execute(select(func.count()).select_from(jobs))).scalar() == 0


async def test_payload_is_checked_against_the_signature_and_converted(engine):
    registry = make_registry()
    uid = uuid.uuid4()
    with pytest.raises(TypeError, match=r"payload does not fit send_email.*user_id"):
        await registry.enqueue(engine, "send_email", {"to": "a"})
    with pytest.raises(TypeError, match="unexpected keyword argument 'cc'"):
        await registry.enqueue(engine, "send_email", {"to": "a", "user_id": uid, "cc": "b"})
    with pytest.raises(TypeError, match="must be a mapping"):
        await registry.enqueue(engine, "resize", ["x"])  # type: ignore[arg-type]
    with pytest.raises(pgq_sa.PayloadError, match=r"payload\.user_id: not a valid UUID"):
        await registry.enqueue(engine, "send_email", {"to": "a", "user_id": "nope"})
    job_id = await registry.enqueue(engine, "send_email", {"to": "a", "user_id": uid})
    assert (await rows(engine))[job_id]["payload"] == {"to": "a", "user_id": str(uid)}


async def test_task_defaults_apply_and_options_override_them(engine):
    registry = make_registry()
    uid = str(uuid.uuid4())
    plain = await registry.enqueue(engine, "send_email", {"to": "a", "user_id": uid})
    bare = await pgq_sa.enqueue(engine, "send_email", {"to": "a", "user_id": uid})
    tuned = await registry.enqueue(engine, "send_email", {"to": "b", "user_id": uid},
                                   queue="bulk", priority=9, delay=60, max_attempts=2)
    at = datetime(2031, 1, 1, tzinfo=timezone.utc)
    [batched, _] = await pgq_sa.enqueue_many(engine, [
        registry.job("send_email", {"to": "c", "user_id": uid}, run_at=at),
        registry.job("resize", {"path": "/x"}),
    ])
    got = await rows(engine)
    assert (got[plain]["queue"], got[plain]["priority"], got[plain]["max_attempts"]) == (
        "emails", 3, None)  # None: the worker applies the task's max_attempts (5)
    assert (got[bare]["queue"], got[bare]["priority"]) == ("default", 0)  # no task defaults
    assert (got[tuned]["queue"], got[tuned]["priority"], got[tuned]["max_attempts"]) == (
        "bulk", 9, 2)
    assert got[tuned]["run_at"] > datetime.now(timezone.utc) + timedelta(seconds=50)
    assert got[batched]["run_at"] == at and got[batched]["queue"] == "emails"


def test_sync_twin(sync_engine):
    registry = make_registry()
    with Session(sync_engine) as session:
        job_id = registry.enqueue_sync(session, "resize", {"path": "/a"}, priority=4)
        session.rollback()  # inside the caller's transaction
        with pytest.raises(pgq_sa.UnknownTask):
            registry.enqueue_sync(session, "resise", {"path": "/a"})
        job_id = registry.enqueue_sync(session, "resize", {"path": "/a"}, priority=4)
        session.commit()
        row = session.execute(select(jobs).where(jobs.c.id == job_id)).one()
    assert (row.entrypoint, row.queue, row.priority, row.payload) == (
        "resize", "default", 4, {"path": "/a"})
