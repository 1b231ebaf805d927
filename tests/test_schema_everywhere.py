"""``Registry(schema=...)`` and ``--schema``/``PGQ_SA_SCHEMA`` are honoured everywhere.

The database has the pgq-sa tables twice, in ``public`` and in ``jobs``, with a
marker job in ``public``: a write or a read that silently went to the search path
shows up as a count, a queue name or an entrypoint from the wrong schema.
"""

from __future__ import annotations

import json
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

import pgq_sa
from pgq_sa import migrate, testing
from pgq_sa.enqueue import COPY_THRESHOLD

from .procs import pgq, query, start, wait_until

JOBS = {"PGQ_SA_SCHEMA": "jobs"}


@pytest.fixture
def both(dsn: str) -> Iterator[str]:
    """``dsn`` with the tables in ``public`` (one queued marker job, id 1, queue
    ``public_q``, entrypoint ``in_public``) and in ``jobs`` (empty)."""
    migrate.upgrade_database(dsn, schema="jobs")
    query(dsn, "INSERT INTO public.pgq_jobs (queue, entrypoint) VALUES ('public_q', 'in_public')")
    yield dsn


def counts(dsn: str) -> dict[str, int]:
    return {schema: query(dsn, f"SELECT count(*) FROM {schema}.pgq_jobs")[0][0]
            for schema in ("public", "jobs")}


def make_registry() -> tuple[pgq_sa.Registry, pgq_sa.Task]:
    registry = pgq_sa.Registry(schema="jobs")

    @registry.task(queue="jobs_q")
    async def in_jobs(n: int) -> None:
        pass

    return registry, in_jobs


@pytest.mark.anyio
async def test_tasks_of_a_schema_registry_enqueue_into_its_schema(both, engine):
    registry, task = make_registry()
    async with AsyncSession(engine) as session:
        await task.enqueue(session, n=1)
        await session.commit()
    await task.enqueue(engine, n=2)
    async with engine.begin() as conn:
        await task.options(priority=5).enqueue(conn, n=3)
        # a bare (entrypoint, payload) beside a task's job follows the task's schema
        await pgq_sa.enqueue_many(conn, [task.job(n=4),
                                         ("in_jobs", {"n": 5}, {"queue": "jobs_q"})])
    await pgq_sa.enqueue_many(engine, [task.job(n=i) for i in range(3)])
    await pgq_sa.enqueue_many(engine, [task.job(n=i) for i in range(COPY_THRESHOLD)])  # COPY
    await registry.enqueue(engine, "in_jobs", {"n": 6})
    assert counts(both) == {"public": 1, "jobs": 9 + COPY_THRESHOLD}
    job = await testing.assert_enqueued(engine, "in_jobs", {"n": 3}, schema="jobs")
    assert job["priority"] == 5 and job["queue"] == "jobs_q"

    stats = await testing.work_until_empty(registry, engine)
    assert stats["succeeded"] == 9 + COPY_THRESHOLD
    assert query(both, "SELECT status FROM public.pgq_jobs") == [("queued",)]  # untouched


def test_sync_enqueues_go_to_the_registry_schema(both, sync_engine):
    registry, task = make_registry()
    with Session(sync_engine) as session:
        task.enqueue_sync(session, n=1)
        registry.enqueue_sync(session, "in_jobs", {"n": 2})
        pgq_sa.enqueue_many_sync(session, [task.job(n=3)])
        session.commit()
    assert counts(both) == {"public": 1, "jobs": 3}


@pytest.mark.anyio
async def test_schemas_are_never_mixed_silently(both, engine):
    _, task = make_registry()
    plain = pgq_sa.Registry()

    @plain.task()
    async def other() -> None: ...

    with pytest.raises(ValueError, match=r"registries with different schemas \(the search "
                                         r"path, 'jobs'\)"):
        await pgq_sa.enqueue_many(engine, [task.job(n=1), other.job()])
    with pytest.raises(ValueError, match=r"registry with schema 'jobs' cannot go to "
                                         r"schema='public'"):
        await pgq_sa.enqueue_many(engine, [task.job(n=1)], schema="public")
    with pytest.raises(ValueError, match="different schemas"):
        await pgq_sa.enqueue_many(engine, [task.job(n=1), pgq_sa.JobSpec("x", {},
                                                                         schema="public")])
    # a registry without a schema goes where the caller says
    await pgq_sa.enqueue_many(engine, [other.job()], schema="jobs")
    missing = pgq_sa.Registry(schema="nowhere")

    @missing.task()
    async def lost() -> None: ...

    with pytest.raises(pgq_sa.SchemaNotInstalled, match="schema nowhere"):
        await lost.enqueue(engine)
    assert counts(both) == {"public": 1, "jobs": 1}


def test_registry_schema_set_later_reaches_its_tasks(both, sync_engine):
    registry = pgq_sa.Registry()

    @registry.task()
    def later(n: int) -> None: ...

    registry.schema = "jobs"
    later.enqueue_sync(sync_engine, n=1)
    assert counts(both) == {"public": 1, "jobs": 1}


def _ok(out: subprocess.CompletedProcess[str]) -> str:
    assert out.returncode == 0, out.stderr
    return out.stdout


@pytest.mark.slow
def test_every_command_honours_schema(both, tmp_path: Path):
    """Through the installed console script, with PGQ_SA_SCHEMA (and --schema)."""
    job_id = int(_ok(pgq("enqueue", "in_jobs", "--payload", '{"n": 1}', "--queue",
                                 "jobs_q", dsn=both, env=JOBS)))
    assert job_id == 1 and counts(both) == {"public": 1, "jobs": 1}
    # id 1 exists in both schemas: the entrypoint says which was read
    shown = json.loads(_ok(pgq("jobs", "show", "1", "--json", dsn=both, env=JOBS)))
    assert shown["entrypoint"] == "in_jobs"
    shown = json.loads(_ok(pgq("jobs", "show", "1", "--json", "--schema", "jobs",
                                       dsn=both)))
    assert shown["entrypoint"] == "in_jobs"
    listed = json.loads(_ok(pgq("jobs", "list", "--json", dsn=both, env=JOBS)))
    assert [j["entrypoint"] for j in listed] == ["in_jobs"]
    for args in (["queues", "--json"], ["queues", "--json", "--schema", "jobs"]):
        queues = json.loads(_ok(pgq(*args, dsn=both,
                                            env=JOBS if "--schema" not in args else None)))
        assert [q["queue"] for q in queues] == ["jobs_q"], args
    dash = json.loads(_ok(pgq("dashboard", "--json", dsn=both, env=JOBS)))
    assert [q["queue"] for q in dash["queues"]] == ["jobs_q"]
    # a second job to cancel and retry
    other = int(_ok(pgq("enqueue", "in_jobs", "--payload", '{"n": 2}', "--delay",
                                "3600", dsn=both, env=JOBS)))
    assert "cancelled" in _ok(pgq("jobs", "cancel", str(other), dsn=both, env=JOBS))
    assert "queued again" in _ok(pgq("jobs", "retry", str(other), dsn=both, env=JOBS))
    _ok(pgq("jobs", "cancel", str(other), dsn=both, env=JOBS))

    # the worker reads the registry's schema, which PGQ_SA_SCHEMA agrees with
    log = tmp_path / "worker.log"
    proc = start("worker", "tests.apps.schema_app:registry", "--poll-interval", "0.1",
                 dsn=both, env=JOBS, log=log)
    try:
        wait_until(lambda: query(both, "SELECT status FROM jobs.pgq_jobs WHERE id = 1")
                   == [("succeeded",)] or proc.poll() is not None, 30, message="the job")
        assert proc.poll() is None, log.read_text()
        workers = json.loads(_ok(pgq("workers", "--json", dsn=both, env=JOBS)))
        assert [w["pid"] for w in workers] == [proc.pid]
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0, log.read_text()
    assert query(both, "SELECT status FROM public.pgq_jobs") == [("queued",)]
    pruned = json.loads(_ok(pgq("jobs", "prune", "--older-than", "0s", "--json",
                                           dsn=both, env=JOBS)))
    assert pruned["jobs"] == 2 and counts(both) == {"public": 1, "jobs": 0}


def test_worker_refuses_a_schema_its_registry_does_not_use(both):
    out = pgq("worker", "tests.apps.schema_app:registry", "--schema", "other", dsn=both)
    assert out.returncode == 2
    assert "--schema/PGQ_SA_SCHEMA is 'other' but registry" in out.stderr
    assert "uses 'jobs'" in out.stderr and len(out.stderr.strip().splitlines()) == 1
    out = pgq("worker", "tests.apps.cli_app:registry", dsn=both, env=JOBS)
    assert out.returncode == 2 and "uses the search path" in out.stderr
    assert "pgq_sa.Registry(schema='jobs')" in out.stderr
    out = pgq("queues", "--schema", "x; drop table pgq_jobs", dsn=both)
    assert out.returncode == 2 and "invalid schema name" in out.stderr
    assert counts(both) == {"public": 1, "jobs": 0}


@pytest.mark.anyio
async def test_worker_of_a_schema_registry_leaves_public_alone(both, engine):
    registry, task = make_registry()
    await task.enqueue(engine, n=1)
    with anyio.fail_after(30):
        stats = await testing.work_until_empty(registry, engine)
    assert stats["succeeded"] == 1
    assert query(both, "SELECT status, attempts FROM public.pgq_jobs") == [("queued", 0)]
