"""The Prometheus endpoint, scraped while a worker processes jobs."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import anyio
import pytest
from prometheus_client.parser import text_string_to_metric_families

import pgq_sa

from .conftest import wait_for
from .procs import PGQ_SA, wait_until

pytestmark = pytest.mark.anyio


def scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def value(samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def make_registry() -> pgq_sa.Registry:
    registry = pgq_sa.Registry()

    @registry.task(heartbeat_timeout=1)
    async def ok() -> None:
        await anyio.sleep(0.01)

    @registry.task(max_attempts=2, backoff=pgq_sa.Backoff(base=0.05, jitter=0),
                   heartbeat_timeout=1)
    async def boom() -> None:
        raise ValueError("boom")

    return registry


async def test_metrics_move_while_jobs_run(dsn, engine):
    registry = make_registry()
    worker = pgq_sa.Worker(registry, dsn, metrics_port=0, metrics_addr="127.0.0.1",
                           metrics_interval=0.1, poll_interval=0.1)
    async with anyio.create_task_group() as tg:
        tg.start_soon(worker.run)
        with anyio.fail_after(10):
            await worker.wait_started()
        assert worker.metrics is not None
        port = worker.metrics.bound_port
        assert port
        before = scrape(port)
        assert value(before, "pgq_sa_jobs_completed_total", queue="default", entrypoint="ok",
                     status="succeeded") == 0
        assert value(before, "pgq_sa_worker_concurrency") == 64  # the default

        for _ in range(5):
            await registry.tasks["ok"].enqueue(engine)
        await registry.tasks["boom"].enqueue(engine)
        await registry.tasks["ok"].options(delay=3600).enqueue(engine)  # stays scheduled

        async def settled():
            s = scrape(port)
            done = value(s, "pgq_sa_jobs_completed_total", queue="default",
                         entrypoint="boom", status="failed")
            return s if done == 1 and value(
                s, "pgq_sa_jobs_completed_total", queue="default", entrypoint="ok",
                status="succeeded") == 5 and value(s, "pgq_sa_queue_jobs", queue="default",
                                                   state="ready") == 0 else None

        s = await wait_for(settled, timeout=20, interval=0.1)
        assert value(s, "pgq_sa_job_retries_total", queue="default", entrypoint="boom") == 1
        assert value(s, "pgq_sa_job_runtime_seconds_count", queue="default",
                     entrypoint="ok") == 5
        assert value(s, "pgq_sa_job_runtime_seconds_count", queue="default",
                     entrypoint="boom") == 2  # the retried attempt and the last one
        assert value(s, "pgq_sa_job_runtime_seconds_sum", queue="default",
                     entrypoint="ok") >= 5 * 0.01
        assert value(s, "pgq_sa_job_latency_seconds_count", queue="default",
                     entrypoint="ok") == 5
        assert value(s, "pgq_sa_queue_jobs", queue="default", state="scheduled") == 1
        assert value(s, "pgq_sa_worker_jobs_claimed_total") == 7
        assert value(s, "pgq_sa_worker_running_jobs") == 0
        info = [k for k in s if k[0] == "pgq_sa_worker_info"]
        assert dict(info[0][1])["worker_id"] == worker.id

        async def beating():
            s = scrape(port)
            return value(s, "pgq_sa_worker_heartbeats_total") >= 2 and s

        s = await wait_for(beating, timeout=10, interval=0.1)
        assert abs(value(s, "pgq_sa_worker_last_heartbeat_timestamp_seconds") - time.time()) < 5
        worker.stop()
    with pytest.raises(OSError):
        scrape(port)  # the endpoint closed with the worker


APP = '''
import pgq_sa

registry = pgq_sa.Registry()


@registry.task(heartbeat_timeout=1)
async def ok() -> None:
    pass
'''


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_worker_command_serves_metrics(dsn, tmp_path: Path):
    (tmp_path / "metrics_app.py").write_text(APP)
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "PGQ_SA_DSN": dsn}
    proc = subprocess.Popen(
        [PGQ_SA, "worker", "metrics_app:registry", "--metrics-port",
         str(port), "--metrics-addr", "127.0.0.1", "--log-level", "INFO"],
        cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True)
    try:
        def scraped() -> dict | None:
            try:
                return scrape(port)
            except OSError:
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                return None

        before = wait_until(scraped, 20, message="the metrics endpoint")
        assert value(before, "pgq_sa_jobs_completed_total", queue="default", entrypoint="ok",
                     status="succeeded") == 0
        subprocess.run([PGQ_SA, "enqueue", "ok"], env=env, check=True,
                       capture_output=True)
        wait_until(lambda: value(scrape(port), "pgq_sa_jobs_completed_total",
                                 queue="default", entrypoint="ok", status="succeeded") == 1,
                   20, message="the counter to move")
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    # structured, one line per event, job id included
    [line] = [ln for ln in err.splitlines() if " pgq_sa.executor job " in ln]
    assert re.search(r"job_id=\d+ entrypoint=ok attempt=1 status=succeeded", line), line
