"""The command's checks, through the installed console script: the loader takes
only a Registry, unknown job ids are named, ``jobs show`` tells the effective
max_attempts, ready jobs no live worker runs are flagged, no password is echoed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .procs import pgq, query

ONE_LINE_EXIT_2 = 2


@pytest.mark.parametrize(("target", "needle"), [
    ("tests.apps.cli_app:touch", "'tests.apps.cli_app:touch' is task 'touch', not a "
                                 "pgq_sa.Registry: did you mean tests.apps.cli_app:registry?"),
    ("tests.apps.cli_app:make_registry", "is a function, not a pgq_sa.Registry"),
    ("tests.apps.cli_app:not_a_registry", "is an int, not a pgq_sa.Registry"),
    ("tests.apps.cli_app:empty", "registry 'tests.apps.cli_app:empty' has no tasks"),
])
def test_worker_takes_only_a_registry_with_tasks_and_calls_nothing(dsn, tmp_path: Path,
                                                                   target, needle):
    marker = tmp_path / "ran"
    out = pgq("worker", target, dsn=dsn, env={"PGQ_SA_TEST_MARKER": str(marker)})
    assert out.returncode == ONE_LINE_EXIT_2, out.stderr
    assert needle in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr
    assert not marker.exists(), marker.read_text()  # the object was never called


def test_cancel_and_retry_name_ids_with_no_job(dsn):
    job_id = pgq("enqueue", "hello", "--payload", '{"name": "x"}', "--delay", "3600",
                         dsn=dsn).stdout.strip()
    out = pgq("jobs", "cancel", "999999", dsn=dsn)
    assert out.returncode == 1 and out.stderr.strip() == "999999: no such job"
    out = pgq("jobs", "cancel", job_id, "999999", dsn=dsn)
    assert out.returncode == 1  # one id was wrong: an operator must notice
    assert out.stdout.strip() == f"{job_id}: cancelled"
    assert out.stderr.strip() == "999999: no such job"
    out = pgq("jobs", "cancel", "999999", "--json", dsn=dsn)
    assert json.loads(out.stdout)["missing"] == [999999]
    out = pgq("jobs", "retry", "999999", dsn=dsn)
    assert out.returncode == 1 and out.stderr.strip() == "999999: no such job"
    out = pgq("jobs", "retry", job_id, dsn=dsn)
    assert out.returncode == 0 and out.stdout.strip() == f"{job_id}: queued again"


def _show(dsn: str, job_id: str, *args: str) -> tuple[str, dict]:
    human = pgq("jobs", "show", job_id, *args, dsn=dsn)
    assert human.returncode == 0, human.stderr
    [line] = [x.strip() for x in human.stdout.splitlines()
              if x.strip().startswith("max_attempts:")]
    data = json.loads(pgq("jobs", "show", job_id, "--json", *args, dsn=dsn).stdout)
    return line, data


def test_jobs_show_prints_the_effective_max_attempts(dsn):
    by_name = pgq("enqueue", "hello", "--payload", '{"name": "x"}', dsn=dsn).stdout
    own = pgq("enqueue", "hello", "--max-attempts", "5", dsn=dsn).stdout
    line, data = _show(dsn, own.strip())
    assert line == "max_attempts: 5 (set on the job)"
    assert (data["effective_max_attempts"], data["max_attempts_source"]) == (5, "job")
    line, data = _show(dsn, by_name.strip())
    assert line == ("max_attempts: ? (the task's default; pass --registry "
                    "module:attribute to read it)")
    assert (data["effective_max_attempts"], data["max_attempts_source"]) == (None, "unknown")
    line, data = _show(dsn, by_name.strip(), "--registry", "tests.apps.cli_app:registry")
    assert line == ("max_attempts: 3 (default of task 'hello' in "
                    "tests.apps.cli_app:registry)")
    assert (data["effective_max_attempts"], data["max_attempts_source"]) == (3, "task")
    # after a failed attempt the job's errors say what the worker applied
    query(dsn, "UPDATE pgq_jobs SET errors = '[{\"attempt\": 1, \"max_attempts\": 4}]' "
               "WHERE id = %s", (int(by_name),))
    line, data = _show(dsn, by_name.strip())
    assert line == ("max_attempts: 4 (default of task 'hello', as its worker applied it at "
                    "attempt 1)")
    assert data["max_attempts_source"] == "worker"


def test_no_password_in_dsn_errors():
    for url in ("mysql://app:hunter2-secret@db/app", "app:hunter2-secret@db/app",
                "postgresql://app:hunter2-secret@127.0.0.1:1/app"):
        out = pgq("enqueue", "x", "--dsn", url)
        assert out.returncode != 0
        assert "hunter2-secret" not in out.stderr + out.stdout, out.stderr
