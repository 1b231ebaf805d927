"""Test fixtures: every test gets its own fresh PostgreSQL database.

The server comes from ``PGQ_SA_TEST_DSN`` (default: the local server at
127.0.0.1:5432 as ``postgres``).  A template database with the pgq-sa schema is
built once per session; each test clones it (``CREATE DATABASE … TEMPLATE``) and
drops its clone afterwards.  No test skips when PostgreSQL is missing: it fails.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import psycopg2
import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

import pgq_sa
from pgq_sa import migrate

SERVER = os.environ.get("PGQ_SA_TEST_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")


def server_url(database: str) -> URL:
    return make_url(SERVER).set(database=database)


def admin_exec(sql: str) -> None:
    """Run ``sql`` on the maintenance database in autocommit mode."""
    url = make_url(SERVER)
    conn = psycopg2.connect(host=url.host, port=url.port or 5432, user=url.username,
                            password=url.password, dbname=url.database or "postgres")
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
    finally:
        conn.close()


def create_database(template: str | None = None) -> str:
    name = f"pgq_test_{uuid.uuid4().hex[:12]}"
    suffix = f' TEMPLATE "{template}"' if template else ""
    admin_exec(f'CREATE DATABASE "{name}"{suffix}')
    return name


def drop_database(name: str) -> None:
    admin_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def template_db() -> Iterator[str]:
    """A database with the pgq-sa schema installed by the Alembic migrations."""
    name = create_database()
    try:
        migrate.upgrade_database(str(server_url(name).render_as_string(hide_password=False)))
        yield name
    finally:
        drop_database(name)


@pytest.fixture
def empty_db() -> Iterator[str]:
    """URL of a fresh database without the pgq-sa schema."""
    name = create_database()
    try:
        yield server_url(name).render_as_string(hide_password=False)
    finally:
        drop_database(name)


@pytest.fixture
def dsn(template_db: str) -> Iterator[str]:
    """URL (``postgresql://``) of a fresh database with the pgq-sa schema installed."""
    name = create_database(template_db)
    try:
        yield server_url(name).render_as_string(hide_password=False)
    finally:
        drop_database(name)


@pytest.fixture
async def engine(dsn: str) -> AsyncIterator[AsyncEngine]:
    eng = create_async_engine(pgq_sa.dsn.async_url(dsn))
    try:
        yield eng
    finally:
        await eng.dispose()


@pytest.fixture
def sync_engine(dsn: str) -> Iterator[Engine]:
    eng = create_engine(make_url(dsn).set(drivername="postgresql+psycopg2"))
    try:
        yield eng
    finally:
        eng.dispose()


#: The DBAPI drivers of the sync API (``enqueue_sync``, ``cancel_sync``, …): what
#: applications on SQLAlchemy's sync engine use.
SYNC_DRIVERS = ["psycopg2", "psycopg"]


@pytest.fixture(params=SYNC_DRIVERS)
def app_sync_engine(request: pytest.FixtureRequest, dsn: str) -> Iterator[Engine]:
    """A sync engine like an application's, once per driver (psycopg2, psycopg 3)."""
    eng = create_engine(make_url(dsn).set(drivername=f"postgresql+{request.param}"))
    try:
        yield eng
    finally:
        eng.dispose()


@pytest.fixture
def dev_dir() -> Iterator[Path]:
    """A directory for an embedded PostgreSQL (``pgq-sa dev``), not created yet.

    Outside pytest's ``tmp_path`` on purpose: as root the server runs as another
    user, and every pytest run started meanwhile (other worktrees run theirs) makes
    ``/tmp/pytest-of-root`` private again (mode 0700), cutting the server off from
    its data.  A server left running by a failed test is stopped."""
    from pgq_sa.devserver import DevServer

    base = Path(tempfile.mkdtemp(prefix="pgq-dev-"))
    data = base / ".pgq-sa" / "dev"  # laid out like the default ./.pgq-sa/dev
    try:
        yield data
    finally:
        if (data / "PG_VERSION").exists():
            DevServer(data).stop()
        shutil.rmtree(base, ignore_errors=True)


@asynccontextmanager
async def running_worker(registry: pgq_sa.Registry, dsn: str | AsyncEngine,
                         **options: Any) -> AsyncIterator[pgq_sa.Worker]:
    """Run an in-process worker for the duration of the block."""
    import anyio

    worker = pgq_sa.Worker(registry, dsn, **options)
    async with anyio.create_task_group() as tg:
        tg.start_soon(worker.run)
        with anyio.fail_after(10):
            await worker.wait_started()
        try:
            yield worker
        finally:
            worker.stop()


async def claim_passes(worker: pgq_sa.Worker, n: int = 2, timeout: float = 10.0) -> None:
    """Wait until every claim loop of ``worker`` has sent ``n`` more claims: whatever
    it could claim meanwhile, it has claimed (the way to show that a job is *not*
    run, without sleeping).  An idle loop claims every ``poll_interval`` (poke the
    worker, ``worker.state.poke()``, to make it claim at once)."""
    import anyio

    targets = [(producer.passes, producer.passes.count + n) for producer in worker.producers]
    with anyio.fail_after(timeout):
        for passes, total in targets:
            await passes.wait_for(total)


def wait_cancelled(ctx: pgq_sa.JobContext, timeout: float = 30.0) -> bool:
    """In a plain ``def`` handler (a thread): poll ``ctx.cancelled`` until it turns
    true or ``timeout`` seconds pass; returns what it saw last."""
    import time

    deadline = time.monotonic() + timeout
    while not ctx.cancelled and time.monotonic() < deadline:
        time.sleep(0.01)
    return ctx.cancelled


async def wait_for(predicate: Any, timeout: float = 10.0, interval: float = 0.02) -> Any:
    """Poll the async ``predicate`` until it returns something truthy."""
    import anyio

    with anyio.fail_after(timeout):
        while True:
            value = await predicate()
            if value:
                return value
            await anyio.sleep(interval)


async def get_job(engine: AsyncEngine, job_id: int) -> dict[str, Any]:
    """The job (it must exist), as :func:`pgq_sa.admin.get_job` reads it."""
    job = await pgq_sa.admin.get_job(engine, job_id)
    assert job is not None, f"no job {job_id}"
    return job


async def job_status(engine: AsyncEngine, job_id: int) -> str | None:
    """The job's status (``None``: no such job): the one status helper of the tests."""
    job = await pgq_sa.admin.get_job(engine, job_id)
    return None if job is None else str(job["status"])


async def wait_status(engine: AsyncEngine, job_id: int, *statuses: str,
                      timeout: float = 10.0) -> dict[str, Any]:
    """Poll until the job's status is one of ``statuses``; return the job."""

    async def reached() -> dict[str, Any] | None:
        job = await pgq_sa.admin.get_job(engine, job_id)
        return job if job is not None and job["status"] in statuses else None

    found: dict[str, Any] = await wait_for(reached, timeout=timeout)
    return found


#: Modules that test the console script, the documentation's samples and the
#: browser pages: what they check does not depend on the interpreter beyond what
#: the rest of the suite imports and runs.  The full suite runs them; the matrix
#: sessions (``nox -s fast``) deselect them with ``-m "not slow and not console"``.
CONSOLE_MODULES = frozenset({
    "test_cli", "test_cli_checks", "test_dashboard_cli", "test_dashboard_live", "test_docs",
    "test_documented_commands", "test_readme", "test_web_cli", "test_web_browser",
    "test_migrations", "test_stats_migration", "test_schema_everywhere",
})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        module = getattr(item, "module", None)
        if module is not None and module.__name__.rsplit(".", 1)[-1] in CONSOLE_MODULES:
            item.add_marker(pytest.mark.console)
