"""Failures are visible in the logs at the default level: a WARNING per retry, an
ERROR per final failure, with the job's facts as fields and ``exc_info`` (what
Sentry-style handlers read)."""

from __future__ import annotations

import logging
import re
import signal
from collections.abc import Iterator

import anyio
import pytest
from sqlalchemy import func, update

import pgq_sa
from pgq_sa.logs import KeyValueFormatter
from pgq_sa.worker.executor import JobTimeout
from pgq_sa.worker.rescuer import WorkerLost

from .conftest import running_worker, wait_status
from .procs import pgq, query, start, wait_until

pytestmark = pytest.mark.anyio


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def of(self, job_id: int) -> list[logging.LogRecord]:
        return [r for r in self.records if getattr(r, "job_id", None) == job_id]


@pytest.fixture
def logs() -> Iterator[Records]:
    """Records of the ``pgq_sa`` loggers at the default level (WARNING)."""
    handler = Records()
    logger = logging.getLogger("pgq_sa")
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.WARNING)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)



async def test_each_retry_is_a_warning_and_the_final_failure_an_error(engine, dsn, logs):
    registry = pgq_sa.Registry()

    @registry.task(queue="mail", max_attempts=2, backoff=pgq_sa.Backoff(base=0.05, jitter=0))
    async def send(to: str) -> None:
        raise ValueError(f"smtp refused {to}")

    job_id = await send.enqueue(engine, to="ada")
    async with running_worker(registry, dsn, poll_interval=0.05):
        await wait_status(engine, job_id, "failed")
    retry, final = logs.of(job_id)
    for record, attempt in ((retry, 1), (final, 2)):
        assert record.name == "pgq_sa.executor"
        assert (record.job_id, record.entrypoint, record.queue, record.attempt,
                record.max_attempts, record.error_type, record.error) == (
            job_id, "send", "mail", attempt, 2, "ValueError", "smtp refused ada")
        exc_type, exc, tb = record.exc_info
        assert exc_type is ValueError and str(exc) == "smtp refused ada"
        assert tb is not None  # the handler's traceback, for error trackers
    assert retry.levelno == logging.WARNING and final.levelno == logging.ERROR
    assert retry.retry_in == pytest.approx(0.05)
    assert retry.getMessage() == (f"job {job_id} send attempt 1/2 failed, retrying in 0.1s: "
                                  "ValueError: smtp refused ada")
    assert final.getMessage() == (f"job {job_id} send attempt 2/2 failed: "
                                  "ValueError: smtp refused ada")
    line = KeyValueFormatter().format(final)
    assert f"job_id={job_id} entrypoint=send queue=mail attempt=2 max_attempts=2" in line
    assert 'error_type=ValueError error="smtp refused ada"' in line
    assert "Traceback (most recent call last)" in line and "in send" in line


async def test_timeouts_and_lost_workers_are_logged(engine, dsn, logs):
    registry = pgq_sa.Registry()

    @registry.task(timeout=0.2, max_attempts=1)
    async def slow() -> None:
        await anyio.sleep(30)

    @registry.task(max_attempts=1)
    async def orphan() -> None:
        pass

    slow_id = await slow.enqueue(engine)
    orphan_id = await orphan.options(delay=3600).enqueue(engine)
    async with engine.begin() as conn:  # held by a worker that is gone, on its last attempt
        jobs = pgq_sa.tables.jobs
        await conn.execute(update(jobs).where(jobs.c.id == orphan_id).values(
            status="running", attempts=1, worker_id="ghost", started_at=func.now(),
            heartbeat_at=func.now(), run_at=func.now()))
    async with running_worker(registry, dsn, poll_interval=0.05):
        await wait_status(engine, slow_id, "failed")
        await wait_status(engine, orphan_id, "failed")
    [timeout] = logs.of(slow_id)
    assert timeout.levelno == logging.ERROR and timeout.error_type == "JobTimeout"
    assert timeout.exc_info[0] is JobTimeout and timeout.exc_info[2] is None
    assert "timed out after 0.2s" in timeout.getMessage()
    [lost] = logs.of(orphan_id)
    assert lost.levelno == logging.ERROR and lost.name == "pgq_sa.rescuer"
    assert lost.exc_info[0] is WorkerLost and lost.entrypoint == "orphan"
    assert "worker ghost is gone" in lost.getMessage() and "last attempt" in lost.getMessage()


async def test_successes_log_nothing_at_the_default_level(engine, dsn, logs):
    registry = pgq_sa.Registry()

    @registry.task()
    async def fine() -> None:
        pass

    job_id = await fine.enqueue(engine)
    async with running_worker(registry, dsn, poll_interval=0.05):
        await wait_status(engine, job_id, "succeeded")
    assert logs.of(job_id) == []


def test_the_worker_command_prints_failures_at_its_default_level(dsn, tmp_path):
    job_id = int(pgq("enqueue", "crash", dsn=dsn).stdout)
    log = tmp_path / "worker.log"
    proc = start("worker", "tests.apps.cli_app:registry", "--poll-interval", "0.1",
                 dsn=dsn, log=log)
    try:
        wait_until(lambda: query(dsn, "SELECT status FROM pgq_jobs WHERE id = %s", (job_id,))
                   == [("failed",)] or proc.poll() is not None, 30, message="the failure")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
    out = log.read_text()
    [line] = [x for x in out.splitlines() if " ERROR pgq_sa.executor " in x]
    assert re.search(rf"job {job_id} crash attempt 1/1 failed: RuntimeError: kaput "
                     rf"job_id={job_id} entrypoint=crash queue=default attempt=1 "
                     r"max_attempts=1 error_type=RuntimeError error=kaput", line), out
    assert "Traceback (most recent call last)" in out and 'raise RuntimeError("kaput")' in out
