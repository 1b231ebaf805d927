"""Enqueue joins the caller's transaction: rollback means no job, commit means a job."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import anyio
import pytest
from sqlalchemy import create_engine, event, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

import pgq_sa
from pgq_sa import tables

from .conftest import claim_passes, running_worker, wait_for

pytestmark = pytest.mark.anyio
jobs = tables.jobs


async def count(engine) -> int:
    async with engine.connect() as conn:
        return (await conn.execute(select(func.count()).select_from(jobs))).scalar_one()


async def test_async_connection_rollback_leaves_no_job(engine):
    async with engine.connect() as conn:
        await conn.execute(text("CREATE TABLE orders (id int)"))
        await conn.commit()
        await conn.execute(text("INSERT INTO orders VALUES (1)"))
        job_id = await pgq_sa.enqueue(conn, "ship", {"order": 1})
        assert isinstance(job_id, int)
        await conn.rollback()
    assert await count(engine) == 0


async def test_async_session_commit_makes_job_that_runs(engine, dsn):
    registry = pgq_sa.Registry()
    ran: list[int] = []

    @registry.task()
    async def ship(order: int) -> None:
        ran.append(order)

    async with running_worker(registry, dsn, poll_interval=30) as worker:
        async with AsyncSession(engine) as session:
            await ship.enqueue(session, order=7)
            worker.state.poke()
            await claim_passes(worker, 1)
            assert ran == []  # not committed yet: invisible to the worker
            await session.commit()
        await wait_for(lambda: _true(ran))
    assert ran == [7]


async def _true(xs: list[int]) -> bool:
    return bool(xs)


async def test_async_session_rollback(engine):
    async with AsyncSession(engine) as session:
        await pgq_sa.enqueue(session, "ship", {"order": 1})
        await session.rollback()
    assert await count(engine) == 0


def test_sync_session_and_connection(app_sync_engine):
    sync_engine = app_sync_engine
    with Session(sync_engine) as session:
        pgq_sa.enqueue_sync(session, "ship", {"order": 1})
        session.rollback()
    with sync_engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(jobs)).scalar_one() == 0
        ids = pgq_sa.enqueue_many_sync(conn, [("ship", {"order": i}) for i in range(3)])
        conn.commit()
        assert len(ids) == 3
    with Session(sync_engine) as session:
        jid = pgq_sa.enqueue_sync(session, "ship", {"order": 9}, priority=3, delay=60)
        session.commit()
        row = session.execute(select(jobs).where(jobs.c.id == jid)).one()
    assert row.priority == 3
    assert row.run_at > datetime.now(timezone.utc) + timedelta(seconds=50)
    assert row.payload == {"order": 9}
    # an engine runs in its own transaction
    assert pgq_sa.enqueue_sync(sync_engine, "ship", {"order": 10}) > jid


def test_sync_task_enqueue_and_batches_keep_every_field(app_sync_engine):
    registry = pgq_sa.Registry()

    @registry.task(queue="mail")
    def send(to: str, tags: list[str]) -> None: ...

    with Session(app_sync_engine) as session:
        one = send.enqueue_sync(session, to="a@b.c", tags=["x"])
        many = pgq_sa.enqueue_many_sync(session, [
            send.options(priority=i % 3).job(to=f"{i}@b.c", tags=[str(i), "ü"])
            for i in range(300)])
        session.commit()
    with app_sync_engine.connect() as conn:
        rows = conn.execute(select(jobs).where(jobs.c.id.in_([one, *many]))
                            .order_by(jobs.c.id)).all()
    assert [r.id for r in rows] == [one, *many] and many == sorted(many)
    assert {(r.queue, r.entrypoint, r.status) for r in rows} == {("mail", "send", "queued")}
    assert rows[0].payload == {"to": "a@b.c", "tags": ["x"]}
    assert [(r.payload, r.priority) for r in rows[1:]] == [
        ({"to": f"{i}@b.c", "tags": [str(i), "ü"]}, i % 3) for i in range(300)]
# One job after the caller's first statement goes straight to the driver's connection
# (the transaction is open there); these check it still lives and dies with the
# caller's transaction, stays visible to event listeners, and reports errors as before.


async def test_enqueue_after_a_business_write_joins_its_transaction(engine):
    async with AsyncSession(engine) as session:
        await session.execute(text("SELECT 1"))  # the business write
        await pgq_sa.enqueue(session, "ship", {"order": 1})
        await session.rollback()
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
        await pgq_sa.enqueue(conn, "ship", {"order": 2})
        await conn.rollback()
    assert await count(engine) == 0
    async with AsyncSession(engine) as session, session.begin():
        await session.execute(text("SELECT 1"))
        jid = await pgq_sa.enqueue(session, "ship", {"order": 3})
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
        jid2 = await pgq_sa.enqueue(conn, "ship", {"order": 4})
        await conn.commit()
        rows = (await conn.execute(select(jobs.c.id, jobs.c.payload, jobs.c.status)
                                   .order_by(jobs.c.id))).all()
    assert [tuple(r) for r in rows] == [(jid, {"order": 3}, "queued"),
                                        (jid2, {"order": 4}, "queued")]


def test_sync_enqueue_after_a_business_write_joins_its_transaction(sync_engine):
    with Session(sync_engine) as session:
        session.execute(text("SELECT 1"))
        pgq_sa.enqueue_sync(session, "ship", {"order": 1})
        session.rollback()
    with Session(sync_engine) as session, session.begin():
        session.execute(text("SELECT 1"))
        jid = pgq_sa.enqueue_sync(session, "ship", {"order": 2})
    with sync_engine.connect() as conn:
        conn.execute(text("SELECT 1"))
        jid2 = pgq_sa.enqueue_sync(conn, "ship", {"order": 3})
        conn.commit()
        rows = conn.execute(select(jobs.c.id, jobs.c.payload).order_by(jobs.c.id)).all()
    assert [tuple(r) for r in rows] == [(jid, {"order": 2}), (jid2, {"order": 3})]


async def test_enqueue_in_a_session_is_seen_by_event_listeners(engine, sync_engine):
    seen: list[str] = []

    def spy(conn, cursor, statement, *args):
        seen.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", spy)
    async with AsyncSession(engine) as session, session.begin():
        await session.execute(text("SELECT 1"))
        await pgq_sa.enqueue(session, "ship", {"order": 1})
    event.listen(sync_engine, "before_cursor_execute", spy)
    with Session(sync_engine) as session, session.begin():
        session.execute(text("SELECT 1"))
        pgq_sa.enqueue_sync(session, "ship", {"order": 2})
    assert sum("INSERT INTO pgq_jobs" in s for s in seen) == 2, seen


async def test_missing_schema_in_an_open_transaction(empty_db):
    from sqlalchemy.ext.asyncio import create_async_engine

    eng = create_async_engine(pgq_sa.dsn.async_url(empty_db))
    try:
        async with AsyncSession(eng) as session:
            await session.execute(text("SELECT 1"))
            with pytest.raises(pgq_sa.SchemaNotInstalled):
                await pgq_sa.enqueue(session, "x", {})
    finally:
        await eng.dispose()
    sync = create_engine(make_url(empty_db).set(drivername="postgresql+psycopg2"))
    try:
        with Session(sync) as session:
            session.execute(text("SELECT 1"))
            with pytest.raises(pgq_sa.SchemaNotInstalled):
                pgq_sa.enqueue_sync(session, "x", {})
    finally:
        sync.dispose()


async def test_engine_enqueue_many_is_one_statement(engine):
    specs = [("noop", {"i": i}) for i in range(10_000)]
    statements: list[str] = []
    from sqlalchemy import event

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def log(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    async with engine.connect() as conn:
        ids = await pgq_sa.enqueue_many(conn, specs)
        await conn.commit()
    assert len(ids) == 10_000 and ids == sorted(ids)
    assert len(statements) == 1  # one round trip for 10,000 jobs
    # an engine runs the same statement in autocommit mode on the raw connection
    more = await pgq_sa.enqueue_many(engine, specs[:5])
    assert more == list(range(ids[-1] + 1, ids[-1] + 6))
    assert await count(engine) == 10_005
    async with engine.connect() as conn:
        row = (await conn.execute(select(jobs.c.payload).where(jobs.c.id == ids[123]))).one()
    assert row.payload == {"i": 123}


async def test_options_and_task_options(engine):
    registry = pgq_sa.Registry()

    @registry.task(queue="emails", priority=2)
    async def send(priority: int, queue: str) -> None:  # payload keys named like options
        pass

    jid = await send.options(priority=9, delay=30).enqueue(engine, priority=1, queue="q")
    jid2 = await pgq_sa.enqueue(engine, "send", {"priority": 1, "queue": "x"},
                                queue="other", run_at=datetime(2030, 1, 1, tzinfo=timezone.utc))
    async with engine.connect() as conn:
        rows = {r.id: r for r in await conn.execute(select(jobs))}
    assert rows[jid].priority == 9 and rows[jid].queue == "emails"
    assert rows[jid].payload == {"priority": 1, "queue": "q"}
    assert rows[jid].run_at > datetime.now(timezone.utc) + timedelta(seconds=20)
    assert rows[jid2].queue == "other" and rows[jid2].run_at.year == 2030


@pytest.mark.parametrize(
    ("payload", "exc", "needle"),
    [
        ({"when": datetime(2020, 1, 1)}, TypeError, "payload.when"),
        ({"x": float("nan")}, ValueError, "NaN"),
        ([1, 2], TypeError, "JSON object"),
        ({"s": {1, 2}}, TypeError, "set"),
        ({1: "a"}, TypeError, "must be a string"),
    ],
)
async def test_bad_payload_raises_before_touching_db(engine, payload, exc, needle):
    with pytest.raises(exc, match=needle):
        await pgq_sa.enqueue(engine, "x", payload)
    assert await count(engine) == 0


async def test_task_signature_checked_at_enqueue(engine):
    registry = pgq_sa.Registry()

    @registry.task()
    async def greet(name: str) -> None: ...

    with pytest.raises(TypeError, match="payload does not fit greet"):
        await greet.enqueue(engine, nom="x")  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="either delay or run_at"):
        await pgq_sa.enqueue(engine, "greet", {}, delay=1,
                             run_at=datetime.now(timezone.utc))
    with pytest.raises(ValueError, match="timezone-aware"):
        await pgq_sa.enqueue(engine, "greet", {}, run_at=datetime(2030, 1, 1))
    assert await count(engine) == 0


async def test_missing_schema_is_a_clear_error(empty_db):
    from sqlalchemy.ext.asyncio import create_async_engine

    eng = create_async_engine(pgq_sa.dsn.async_url(empty_db))
    try:
        with pytest.raises(pgq_sa.SchemaNotInstalled, match="pgq-sa db current says"):
            await pgq_sa.enqueue(eng, "x", {})
    finally:
        await eng.dispose()


async def test_notify_is_sent_on_commit_only(engine, dsn):
    import asyncpg

    got: list[str] = []
    listener = await asyncpg.connect(dsn)
    try:
        await listener.add_listener("pgq_sa", lambda *a: got.append(a[3]))
        async with engine.connect() as conn:
            await pgq_sa.enqueue_many(conn, [("a", {}), ("b", {}, {"queue": "other"})])
            # a notification sent after the enqueue statement, committed at once: it
            # arrives, and nothing of the enqueue's came before it
            async with engine.begin() as other:
                await other.execute(text("SELECT pg_notify('pgq_sa', 'marker')"))
            await wait_for(lambda: _true(got))
            assert got == ["marker"]
            await conn.commit()

        async def both() -> bool:
            return len(got) == 3

        await wait_for(both)
        assert sorted(got[1:]) == ["default", "other"]
    finally:
        await listener.close()


def test_payload_json_roundtrip():
    from pgq_sa.payload import dump_payload

    assert json.loads(dump_payload({"a": [1, 2.5, None, True, {"b": "c"}]})) == {
        "a": [1, 2.5, None, True, {"b": "c"}]
    }


@pytest.mark.parametrize("payload", [
    {},
    {"k": 1, "s": "plain", "b": True, "n": None, "big": 10**30, "neg": -7},
    {"unicode": "é ü 漢 🙂", "quote": 'say "hi"', "ctl": "a\nb\tc\x00d", "bs": "\\"},
])
def test_flat_payloads_encode_like_json_dumps(payload):
    """Flat payloads take a faster encoder: the text must be what json.dumps gives."""
    from pgq_sa.payload import dump_payload

    text = dump_payload(payload)
    assert text == json.dumps(payload, separators=(",", ":"))
    assert json.loads(text) == payload


async def test_flat_payload_text_survives_both_insert_paths(engine):
    from pgq_sa.enqueue import COPY_THRESHOLD

    payload = {"unicode": "é 漢 🙂", "quote": 'say "hi"', "nl": "a\nb", "big": 10**18}
    one = await pgq_sa.enqueue(engine, "e", payload)
    many = await pgq_sa.enqueue_many(engine, [("e", payload)] * COPY_THRESHOLD)  # COPY
    for job_id in (one, many[0], many[-1]):
        job = await pgq_sa.admin.get_job(engine, job_id)
        assert job is not None and job["payload"] == payload


async def test_large_batches_use_copy_and_keep_every_field(engine, dsn):
    import asyncpg

    from pgq_sa.enqueue import COPY_THRESHOLD

    got: list[str] = []
    listener = await asyncpg.connect(dsn)
    await listener.add_listener("pgq_sa", lambda *a: got.append(a[3]))
    try:
        n = COPY_THRESHOLD + 50
        specs = [("e", {"i": i, "nested": {"l": [i, None]}},
                  {"queue": f"q{i % 3}", "priority": i % 5,
                   "max_attempts": (i % 4) or None}) for i in range(n)]
        ids = await pgq_sa.enqueue_many(engine, specs)
        assert ids == sorted(ids) and len(set(ids)) == n
        async with engine.connect() as conn:
            rows = {r.id: r for r in await conn.execute(select(jobs).where(jobs.c.id.in_(ids)))}
        for i, job_id in enumerate(ids):
            row = rows[job_id]
            assert row.payload == {"i": i, "nested": {"l": [i, None]}}
            assert (row.queue, row.priority, row.max_attempts) == (
                f"q{i % 3}", i % 5, (i % 4) or None)
            assert row.status == "queued" and row.attempts == 0 and row.run_at is not None
        await wait_for(lambda: _len_ge(got, 3))
        assert sorted(got) == ["q0", "q1", "q2"]  # one notification per queue
        # with a run_at somewhere the INSERT path is used, with the same result shape
        later = datetime.now(timezone.utc) + timedelta(hours=1)
        more = await pgq_sa.enqueue_many(
            engine, [("e", {}, {"run_at": later})] + [("e", {})] * COPY_THRESHOLD)
        assert len(more) == COPY_THRESHOLD + 1 and more[0] > ids[-1]
    finally:
        await listener.close()


async def _len_ge(xs: list, n: int) -> bool:
    return len(xs) >= n


async def test_copy_into_a_custom_schema(empty_db):
    from sqlalchemy.ext.asyncio import create_async_engine

    from pgq_sa import migrate
    from pgq_sa.enqueue import COPY_THRESHOLD

    await anyio.to_thread.run_sync(lambda: migrate.upgrade_database(empty_db, schema="jobs"))
    eng = create_async_engine(pgq_sa.dsn.async_url(empty_db))
    try:
        ids = await pgq_sa.enqueue_many(eng, [("e", {"i": 1})] * COPY_THRESHOLD, schema="jobs")
        assert len(ids) == COPY_THRESHOLD
        async with eng.connect() as conn:
            n = (await conn.execute(text("SELECT count(*) FROM jobs.pgq_jobs"))).scalar()
        assert n == COPY_THRESHOLD
        with pytest.raises(pgq_sa.SchemaNotInstalled):
            await pgq_sa.enqueue_many(eng, [("e", {})] * COPY_THRESHOLD)  # default schema
    finally:
        await eng.dispose()


async def test_task_of_a_schema_registry_enqueues_into_its_schema(dsn, engine, app_sync_engine):
    import anyio
    from sqlalchemy import text

    from pgq_sa import migrate

    await anyio.to_thread.run_sync(lambda: migrate.upgrade_database(dsn, schema="billing"))
    billing = pgq_sa.Registry(schema="billing")

    @billing.task()
    async def charge(invoice: int) -> None: ...

    ids = [await charge.enqueue(engine, invoice=1),
           await charge.options(priority=3).enqueue(engine, invoice=2),
           charge.enqueue_sync(app_sync_engine, invoice=3)]
    async with engine.connect() as conn:
        in_schema = (await conn.execute(text("SELECT id FROM billing.pgq_jobs ORDER BY id")))
        assert in_schema.scalars().all() == ids
        assert (await conn.execute(text("SELECT count(*) FROM public.pgq_jobs"))).scalar() == 0
