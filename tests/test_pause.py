"""Pausing a queue: persisted, effective on every worker process at its next claim
(running jobs finish), shown by ``pgq-sa queues``; resuming drains it."""

from __future__ import annotations

import json

import pytest

import pgq_sa

from .procs import pgq, query, wait_until, workers

#: The full suite only: worker processes across paused and open queues.
pytestmark = pytest.mark.slow

APP = "tests.apps.flow_app:registry"
QUEUES = ("-q", "held", "-q", "open", "-q", "probe")


def counts(dsn: str, queue: str) -> dict[str, int]:
    return dict(query(dsn, "SELECT status, count(*) FROM pgq_jobs WHERE queue = %s "
                           "GROUP BY status", (queue,)))


def started(dsn: str, queue: str) -> int:
    return int(query(dsn, "SELECT count(*) FROM pgq_jobs WHERE queue = %s "
                          "AND started_at IS NOT NULL", (queue,))[0][0])


def enqueue(sync_engine, queue: str, n: int, entrypoint: str = "work") -> list[int]:
    return pgq_sa.enqueue_many_sync(
        sync_engine, [(entrypoint, {"n": i} if entrypoint == "work" else {}, {"queue": queue})
                      for i in range(n)])


def wait_probe(dsn: str, sync_engine) -> None:
    """A marker job in another queue, enqueued now, has run: every worker has
    claimed since now (each claim reads the paused queues)."""
    [probe] = enqueue(sync_engine, "probe", 1, "marker")
    wait_until(lambda: query(dsn, "SELECT status FROM pgq_jobs WHERE id = %s",
                             (probe,))[0][0] == "succeeded", 30, message="the probe job")


def test_a_paused_queue_starts_nothing_on_any_worker_and_resume_drains_it(dsn, sync_engine):
    out = pgq("queues", "pause", "held", dsn=dsn)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("held: paused")
    enqueue(sync_engine, "held", 30)
    enqueue(sync_engine, "open", 30)
    with workers(APP, dsn, 2, *QUEUES, "-c", "4"):
        wait_until(lambda: counts(dsn, "open").get("succeeded") == 30, 60,
                   message="the open queue to drain")
        wait_probe(dsn, sync_engine)
        assert counts(dsn, "held") == {"queued": 30} and started(dsn, "held") == 0

        def states() -> dict[str, bool] | None:
            listed = json.loads(pgq("queues", "--json", dsn=dsn).stdout)
            found = {q["queue"]: q["paused"] for q in listed}
            return found if "open" in found else None

        # a queue with only finished jobs is listed once the worker's statistics
        # (written a moment after the outcomes) name it
        state = wait_until(states, 15,
                           message="the open queue in pgq-sa queues")
        assert state["held"] is True and state["open"] is False
        assert "held (paused)" in pgq("queues", dsn=dsn).stdout

        # pausing a queue that is being worked on: the workers stop taking its jobs
        out = pgq("queues", "pause", "open", dsn=dsn)
        assert out.returncode == 0, out.stderr
        wait_probe(dsn, sync_engine)
        enqueue(sync_engine, "open", 10)
        wait_probe(dsn, sync_engine)
        assert counts(dsn, "open") == {"succeeded": 30, "queued": 10}

        # resume: a NOTIFY wakes the workers, the backlog drains
        for queue in ("held", "open"):
            out = pgq("queues", "resume", queue, dsn=dsn)
            assert out.returncode == 0 and out.stdout.strip() == f"{queue}: active", out
        wait_until(lambda: counts(dsn, "held") == {"succeeded": 30}
                   and counts(dsn, "open") == {"succeeded": 40}, 30,
                   message="the resumed queues to drain")
    assert query(dsn, "SELECT count(*) FROM pgq_queues WHERE paused")[0][0] == 0


def test_pause_api_and_bad_names(dsn, sync_engine):
    state = pgq_sa.pause_queue_sync(sync_engine, "q1")
    assert state.paused and state.paused_at is not None
    again = pgq_sa.pause_queue_sync(sync_engine, "q1")
    assert again.paused_at == state.paused_at  # a second pause keeps the first time
    # inside the caller's transaction: nothing until it commits
    with sync_engine.connect() as conn:
        pgq_sa.pause_queue_sync(conn, "q2")
        conn.rollback()
    assert query(dsn, "SELECT name FROM pgq_queues WHERE paused") == [("q1",)]
    assert not pgq_sa.resume_queue_sync(sync_engine, "q1").paused
    with pytest.raises(ValueError, match="non-empty string"):
        pgq_sa.pause_queue_sync(sync_engine, "")
    out = pgq("queues", "resume", "", dsn=dsn)
    assert out.returncode == 2 and out.stderr.strip() == \
        "error: QUEUE must be a non-empty queue name"
