"""Progress: ctx.progress / progress_sync from a handler in a worker process is
visible from another process (the CLI, the web data) while the job runs, and the
last value is kept when it ends."""

from __future__ import annotations

import json

import pytest

import pgq_sa

from .apps import results_app
from .conftest import get_job, wait_for
from .procs import WorkerProcess, pgq

pytestmark = pytest.mark.anyio

APP = "tests.apps.results_app:registry"


@pytest.fixture
def worker(dsn):
    with WorkerProcess(dsn, "--concurrency", "4", app=APP) as proc:
        proc.wait_registered()
        yield proc


async def test_progress_visible_while_running_and_kept(engine, dsn, worker, tmp_path):
    marker = tmp_path / "finish"
    job_id = await results_app.progress_steps.enqueue(engine, marker=str(marker), steps=10)
    sync_marker = tmp_path / "finish-sync"
    sync_id = await results_app.progress_sync.enqueue(engine, marker=str(sync_marker))

    async def reported(job: int, fraction: float) -> dict | None:
        found = await get_job(engine, job)
        return found if found["progress"] == pytest.approx(fraction) else None

    running = await wait_for(lambda: reported(job_id, 1.0), timeout=20)
    assert running["status"] == "running" and running["progress_message"] == "step 10/10"
    half = await wait_for(lambda: reported(sync_id, 0.5), timeout=20)
    assert half["status"] == "running" and half["progress_message"] == "half way"

    # another process: the CLI
    shown = pgq("jobs", "show", str(job_id), dsn=dsn)
    assert "progress: 1.0" in shown.stdout and "step 10/10" in shown.stdout
    listed = pgq("jobs", "list", "--status", "running", dsn=dsn)
    assert listed.returncode == 0, listed.stderr
    assert "PROGRESS" in listed.stdout and "100% step 10/10" in listed.stdout
    assert "50% half way" in listed.stdout
    listed_json = pgq("jobs", "list", "--json", dsn=dsn)
    assert listed_json.returncode == 0, listed_json.stderr
    as_json = json.loads(listed_json.stdout)
    assert {j["id"]: j["progress"] for j in as_json}[sync_id] == pytest.approx(0.5)

    # the web job page's data
    from pgq_sa.web.data import DashboardData

    data = DashboardData(engine)
    page = await data.job(job_id)
    assert page is not None and page["progress"]["percent"] == 100.0
    assert page["progress"]["message"] == "step 10/10"

    marker.touch()
    sync_marker.touch()
    assert await pgq_sa.wait(engine, job_id, timeout=20) == "done"
    assert await pgq_sa.wait(engine, sync_id, timeout=20) == "done"
    done = await get_job(engine, job_id)
    assert done["progress"] == pytest.approx(1.0)  # kept when the job ends


def test_progress_rejects_bad_values():
    ctx = pgq_sa.JobContext(id=1, entrypoint="x", queue="q", attempt=1, max_attempts=1,
                            priority=0, payload={})
    for bad in (-0.1, 1.5, float("nan"), True, "0.5"):
        with pytest.raises(ValueError, match="between 0 and 1"):
            ctx.progress_sync(bad)  # type: ignore[arg-type]
    ctx.progress_sync(0.25, "a quarter")  # outside a worker: recorded, not written
    assert ctx._progress == (0.25, "a quarter")


def test_progress_is_throttled_to_the_latest_value_per_job():
    """Many reports between two writes become one row per job: its latest value."""
    from pgq_sa.worker.progress import ProgressWriter

    writer = ProgressWriter(lease=None, stmts=None)  # type: ignore[arg-type]
    ctxs = [pgq_sa.JobContext(id=i, entrypoint="x", queue="q", attempt=2, max_attempts=3,
                              priority=0, payload={}, _report=writer.report)
            for i in (7, 3)]
    for step in range(1, 101):
        for ctx in ctxs:
            ctx.progress_sync(step / 100, f"{step}/100")
    taken = writer.take()
    assert sorted(taken) == [(3, 2, 1.0, "100/100"), (7, 2, 1.0, "100/100")]
    assert writer.take() == []  # nothing new: nothing to write
