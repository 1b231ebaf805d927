"""Least privilege: ``pgq-sa db grants --role worker|producer|observer ROLE`` prints
(or ``--apply`` runs) the GRANTs; a worker, a producer and the dashboards run under
their roles, and what a role must not do is refused by PostgreSQL."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import psycopg2
import pytest
from sqlalchemy.engine import make_url

import pgq_sa

from .procs import WorkerProcess, connect, pgq, query, wait_until

#: The full suite only: roles, grants and real processes under each.
pytestmark = pytest.mark.slow

APP = "tests.apps.topologies:registry"
KINDS = ("worker", "producer", "observer")


def as_role(dsn: str, role: str) -> str:
    return make_url(dsn).set(username=role).render_as_string(hide_password=False)


@pytest.fixture
def roles(dsn: str) -> Iterator[dict[str, str]]:
    """One fresh LOGIN role per kind (cluster-wide names: unique per test run)."""
    suffix = uuid.uuid4().hex[:8]
    names = {kind: f"pgq_{kind}_{suffix}" for kind in KINDS}
    for name in names.values():
        query(dsn, f"CREATE ROLE {name} LOGIN")
    try:
        yield names
    finally:
        for name in names.values():
            query(dsn, f"DROP OWNED BY {name}")
            query(dsn, f"DROP ROLE {name}")


def test_grants_are_printed_with_quoted_identifiers_and_bad_names_refused():
    out = pgq("db", "grants", "--role", "producer", 'odd "name"', "--schema", "Jobs",
              dsn=None)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        'GRANT USAGE ON SCHEMA "Jobs" TO "odd ""name""";',
        'GRANT INSERT, SELECT (id, queue, entrypoint, status, unique_key, result, last_error), '
        'UPDATE (has_dependents, awaited) ON TABLE "Jobs".pgq_jobs TO "odd ""name""";',
        'GRANT INSERT, SELECT, UPDATE ON TABLE "Jobs".pgq_unique TO "odd ""name""";',
        'GRANT INSERT, SELECT ON TABLE "Jobs".pgq_job_deps TO "odd ""name""";',
        'GRANT USAGE ON SEQUENCE "Jobs".pgq_jobs_id_seq TO "odd ""name""";',
        'GRANT SELECT ON TABLE "Jobs".pgq_sa_alembic_version TO "odd ""name""";',
    ]
    for bad in ("", "pg_monitor", "public", "x" * 64):
        refused = pgq("db", "grants", "--role", "observer", bad, dsn=None)
        assert refused.returncode == 2 and refused.stdout == ""
        assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr
        assert "invalid role name" in refused.stderr
    unknown = pgq("db", "grants", "--role", "admin", "someone", dsn=None)
    assert unknown.returncode == 2 and "'admin' is not one of" in unknown.stderr


def test_apply_refuses_a_missing_role_and_a_missing_schema(dsn, empty_db):
    missing = pgq("db", "grants", "--role", "worker", "no_such_role_pgq", "--apply", dsn=dsn)
    assert missing.returncode == 1
    assert 'role "no_such_role_pgq" does not exist' in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1, missing.stderr
    empty = pgq("db", "grants", "--role", "worker", "someone", "--apply", dsn=empty_db)
    assert empty.returncode == 1 and "pgq-sa db upgrade" in empty.stderr


def test_worker_producer_and_observer_under_their_roles(dsn, roles):
    for kind, role in roles.items():
        applied = pgq("db", "grants", "--role", kind, role, "--apply", dsn=dsn)
        assert applied.returncode == 0, applied.stderr
        assert "GRANT" in applied.stdout and f"for {kind} role {role}" in applied.stderr
    worker_dsn, producer_dsn, observer_dsn = (as_role(dsn, roles[k]) for k in KINDS)

    with WorkerProcess(worker_dsn, "-c", "8", app=APP) as worker:
        worker.wait_registered()
        # the producer enqueues: one job through the CLI, 250 through COPY
        one = pgq("enqueue", "quick", dsn=producer_dsn)
        assert one.returncode == 0, one.stderr
        job_id = int(one.stdout.strip())
        engine = pgq_sa_engine(producer_dsn)
        try:
            ids = pgq_sa.enqueue_many_sync(engine, [("quick", {"n": i}) for i in range(250)])
            # a unique key held for a window, twice (one job), and a job that waits
            # on another (a graph marks the job it waits on)
            held = [pgq_sa.enqueue_sync(engine, "quick", unique_key="k", unique_for=600)
                    for _ in range(2)]
            assert held[0] == held[1]
            pgq_sa.enqueue_sync(engine, "quick", depends_on=[job_id])
        finally:
            engine.dispose()
        assert len(ids) == 250
        wait_until(lambda: query(observer_dsn, "SELECT count(*) FROM pgq_jobs "
                                               "WHERE status = 'succeeded'")[0][0] == 253,
                   30, message="the worker role to run every job")
        assert worker.alive
        log = worker.output()
    assert "permission denied" not in log, log

    # the observer reads: jobs list, job show, the dashboard snapshot
    listed = pgq("jobs", "list", "--json", dsn=observer_dsn)
    assert listed.returncode == 0, listed.stderr
    assert len(json.loads(listed.stdout)) > 0
    shown = pgq("jobs", "show", str(job_id), dsn=observer_dsn)
    assert shown.returncode == 0 and "succeeded" in shown.stdout, shown.stderr
    board = pgq("dashboard", "--json", dsn=observer_dsn)
    assert board.returncode == 0, board.stderr
    json.loads(board.stdout)

    # ... and cannot write
    retried = pgq("jobs", "retry", str(job_id), dsn=observer_dsn)
    assert retried.returncode == 1 and "permission denied" in retried.stderr, retried.stderr
    refused_enqueue = pgq("enqueue", "quick", dsn=observer_dsn)
    assert refused_enqueue.returncode == 1
    assert "permission denied" in refused_enqueue.stderr
    for sql in ("INSERT INTO pgq_jobs (entrypoint) VALUES ('x')",
                "UPDATE pgq_jobs SET status = 'queued'", "DELETE FROM pgq_jobs",
                "DELETE FROM pgq_workers", "UPDATE pgq_stats SET count = 0"):
        assert _refused(observer_dsn, sql), sql

    # the producer cannot change a job's status, nor read payloads
    cancelled = pgq("jobs", "cancel", str(job_id), dsn=producer_dsn)
    assert cancelled.returncode == 1 and "permission denied" in cancelled.stderr
    for sql in (f"UPDATE pgq_jobs SET status = 'cancelled' WHERE id = {job_id}",
                f"DELETE FROM pgq_jobs WHERE id = {job_id}",
                "SELECT payload FROM pgq_jobs", "SELECT * FROM pgq_workers"):
        assert _refused(producer_dsn, sql), sql
    assert query(dsn, "SELECT status FROM pgq_jobs WHERE id = %s", (job_id,)) == [("succeeded",)]


def _refused(dsn: str, sql: str) -> bool:
    conn = connect(dsn)
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
    except psycopg2.errors.InsufficientPrivilege:
        return True
    finally:
        conn.close()
    return False


def pgq_sa_engine(dsn: str):
    from sqlalchemy import create_engine

    return create_engine(make_url(dsn).set(drivername="postgresql+psycopg2"))
