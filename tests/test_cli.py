"""The ``pgq-sa`` command: happy paths and one-line errors with non-zero exits."""

from __future__ import annotations

import json
import signal
import subprocess

import pytest

from pgq_sa.dsn import describe
from pgq_sa.schema_versions import LATEST, REVISIONS

from .procs import pgq, start_worker, wait_until


def test_enqueue_then_show_json(dsn):
    out = pgq("enqueue", "hello", "--payload", '{"name": "cli"}', "--priority", "4",
              "--queue", "q1", dsn=dsn)
    assert out.returncode == 0, out.stderr
    job_id = int(out.stdout.strip())
    show = pgq("jobs", "show", str(job_id), "--json", dsn=dsn)
    assert show.returncode == 0, show.stderr
    job = json.loads(show.stdout)
    assert job["id"] == job_id and job["status"] == "queued"
    assert job["payload"] == {"name": "cli"} and job["priority"] == 4 and job["queue"] == "q1"
    assert job["attempts"] == 0 and job["errors"] == [] and job["created_at"]
    human = pgq("jobs", "show", str(job_id), dsn=dsn)
    assert "status: queued" in human.stdout


def test_dsn_flag_and_database_url_and_sqlalchemy_urls(dsn):
    sa_url = dsn.replace("postgresql://", "postgresql+psycopg2://")
    assert pgq("enqueue", "hello", "--dsn", sa_url).returncode == 0
    assert pgq("enqueue", "hello", env={"DATABASE_URL": dsn}).returncode == 0
    pg_url = dsn.replace("postgresql://", "postgres://")
    out = pgq("enqueue", "hello", "--payload", '{"name": "x"}', dsn=pg_url)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout) == 3


def test_worker_runs_enqueued_job(dsn):
    out = pgq("enqueue", "hello", "--payload", '{"name": "w"}', dsn=dsn)
    job_id = out.stdout.strip()
    proc = start_worker("tests.apps.cli_app:registry", dsn, "--poll-interval", "0.1")
    try:
        def succeeded() -> bool:
            job = json.loads(pgq("jobs", "show", job_id, "--json", dsn=dsn).stdout)
            return job["status"] == "succeeded"

        wait_until(succeeded, 20, interval=0.1, message="the job to succeed")
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0


@pytest.mark.parametrize(
    ("target", "needle"),
    [
        ("tests.apps.nope:registry", "no module named 'tests.apps.nope'"),
        ("tests.apps.cli_app:missing", "has no attribute 'missing'"),
        ("tests.apps.cli_app:not_a_registry", "not a pgq_sa.Registry"),
        ("no_colon_here", "expected module:attribute"),
    ],
)
def test_bad_registry_exits_2_with_one_line(dsn, target, needle):
    out = pgq("worker", target, dsn=dsn, timeout=30)
    assert out.returncode == 2
    assert needle in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr


def test_schema_missing(empty_db):
    for args in (["enqueue", "hello"], ["jobs", "show", "1"],
                 ["worker", "tests.apps.cli_app:registry"]):
        out = pgq(*args, dsn=empty_db, timeout=30)
        assert out.returncode != 0
        assert "schema not installed" in out.stderr and "run pgq-sa db upgrade" in out.stderr
        assert "Traceback" not in out.stderr


def test_unreachable_database_names_host_and_port():
    bad = "postgresql://postgres@127.0.0.1:1/nowhere"
    for args in (["enqueue", "hello"], ["jobs", "show", "1"],
                 ["worker", "tests.apps.cli_app:registry"], ["db", "upgrade"]):
        out = pgq(*args, dsn=bad, timeout=30)
        assert out.returncode != 0, args
        assert "127.0.0.1:1" in out.stderr, out.stderr
        assert len(out.stderr.strip().splitlines()) == 1, out.stderr


def test_bad_dsn_and_bad_payload(dsn):
    out = pgq("enqueue", "hello", "--dsn", "mysql://x@y/z")
    assert out.returncode == 2 and "needs PostgreSQL" in out.stderr
    out = pgq("enqueue", "hello", "--dsn", "::not a url::")
    assert out.returncode == 2 and "bad database URL" in out.stderr
    out = pgq("enqueue", "hello")
    assert out.returncode == 2 and "PGQ_SA_DSN" in out.stderr
    out = pgq("enqueue", "hello", "--payload", "{nope", dsn=dsn)
    assert out.returncode == 2 and "not valid JSON" in out.stderr
    out = pgq("enqueue", "hello", "--payload", "[1]", dsn=dsn)
    assert out.returncode == 2 and "JSON object" in out.stderr
    out = pgq("jobs", "show", "999", dsn=dsn)
    assert out.returncode == 1 and "no job with id 999" in out.stderr


def test_missing_database(dsn):
    out = pgq("jobs", "show", "1", dsn=dsn + "_does_not_exist")
    assert out.returncode == 1
    assert "does not exist" in out.stderr and "Traceback" not in out.stderr


def test_db_commands(empty_db):
    assert pgq("db", "current", dsn=empty_db).stdout.strip() == "not installed"
    up = pgq("db", "upgrade", dsn=empty_db)
    assert up.returncode == 0, up.stderr
    assert f"version {LATEST}, standalone" in up.stdout
    current = pgq("db", "current", dsn=empty_db).stdout.strip()
    assert current == (f"version {LATEST}, standalone "
                       f"({REVISIONS[LATEST]} in pgq_sa_alembic_version)")
    down1 = pgq("db", "downgrade", "pgq_sa_0001", dsn=empty_db)
    assert down1.returncode == 0, down1.stderr
    lines = pgq("db", "current", dsn=empty_db).stdout.splitlines()
    assert lines == ["version 1, standalone (pgq_sa_0001 in pgq_sa_alembic_version)",
                     f"pgq-sa schema in {describe(empty_db)} is at version 1, this pgq-sa "
                     f"needs {LATEST}: run pgq-sa db upgrade"]
    state = json.loads(pgq("db", "current", "--json", dsn=empty_db).stdout)
    assert state["version"] == 1 and state["mode"] == "standalone"
    assert state["revision"] == "pgq_sa_0001" and state["up_to_date"] is False
    sql = pgq("db", "sql")
    assert sql.returncode == 0 and "CREATE TABLE pgq_jobs" in sql.stdout
    down = pgq("db", "downgrade", "base", dsn=empty_db)
    assert down.returncode == 0, down.stderr
    assert pgq("db", "current", dsn=empty_db).stdout.strip() == "not installed"


def test_worker_help_lists_options():
    out = subprocess.run(["pgq-sa", "worker", "--help"], capture_output=True, text=True)
    for opt in ("--dsn", "--queue", "--concurrency", "--poll-interval"):
        assert opt in out.stdout
