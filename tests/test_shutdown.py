"""Graceful shutdown of a worker process on SIGTERM/SIGINT."""

from __future__ import annotations

import signal
import time

import pytest

import pgq_sa

from .procs import WorkerProcess, query, wait_until

pytestmark = pytest.mark.slow  # real processes, kills and outages: the full suite only


def _jobs(dsn: str) -> dict[int, tuple]:
    rows = query(dsn, "SELECT id, status, attempts, worker_id, errors, last_error "
                      "FROM pgq_jobs")
    return {r[0]: r[1:] for r in rows}


def _running(dsn: str, ids: list[int]) -> bool:
    jobs = _jobs(dsn)
    return all(jobs[i][0] == "running" for i in ids)


def test_sigterm_drains_then_returns_overrunning_jobs(dsn, sync_engine):
    """SIGTERM: no more claims; a job that ends within --shutdown-timeout succeeds;
    one that overruns is cancelled and returned to the queue without counting an
    attempt; the process exits 0."""
    with WorkerProcess(dsn, "-c", "2", "--shutdown-timeout", "1.5") as w:
        w.wait_registered()
        long_id, short_id = pgq_sa.enqueue_many_sync(
            sync_engine, [("nap", {"seconds": 60}), ("nap", {"seconds": 0.8})])
        wait_until(lambda: _running(dsn, [long_id, short_id]), 20, message="jobs to start")
        [waiting_id] = pgq_sa.enqueue_many_sync(sync_engine, [("nap", {"seconds": 0})])
        t0 = time.monotonic()
        w.signal(signal.SIGTERM)
        assert w.wait(15) == 0, w.output()
        elapsed = time.monotonic() - t0
        log = w.output()
    assert 1.4 <= elapsed < 10, elapsed
    jobs = _jobs(dsn)
    assert jobs[short_id][:2] == ("succeeded", 1)
    status, attempts, worker_id, errors, last_error = jobs[long_id]
    assert (status, attempts, worker_id, errors) == ("queued", 0, None, [])
    assert "shut down" in last_error
    assert jobs[waiting_id][:2] == ("queued", 0)  # never claimed after the signal
    assert query(dsn, "SELECT count(*) FROM pgq_workers")[0][0] == 0
    assert "received SIGTERM" in log and "Traceback" not in log


def test_second_signal_stops_at_once(dsn, sync_engine):
    """A second signal does not wait for the shutdown timeout (60 s here), not even
    for a sync job that ignores cancellation; both jobs go back to the queue."""
    with WorkerProcess(dsn, "-c", "2", "--shutdown-timeout", "60") as w:
        w.wait_registered()
        ids = pgq_sa.enqueue_many_sync(
            sync_engine, [("stubborn", {"seconds": 60}), ("nap", {"seconds": 60})])
        wait_until(lambda: _running(dsn, ids), 20, message="jobs to start")
        w.signal(signal.SIGTERM)
        wait_until(lambda: "shutting down: waiting up to" in w.output(), 20,
                   message="the worker to wait for its running jobs")
        assert w.alive, "the first signal must wait for running jobs"
        t0 = time.monotonic()
        w.signal(signal.SIGINT)
        assert w.wait(10) == 0, w.output()
        assert time.monotonic() - t0 < 5
        log = w.output()
    jobs = _jobs(dsn)
    assert [jobs[i][:3] for i in ids] == [("queued", 0, None)] * 2
    assert "received SIGINT again: stopping now" in log


def test_sigint_stops_an_idle_worker(dsn):
    with WorkerProcess(dsn) as w:
        w.wait_registered()
        w.signal(signal.SIGINT)
        assert w.wait(10) == 0, w.output()
    assert query(dsn, "SELECT count(*) FROM pgq_workers")[0][0] == 0
