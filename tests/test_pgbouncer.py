"""PgBouncer in transaction pooling mode (a real ``pgbouncer`` on a port of its own):
enqueue, claims and acknowledgements of a worker, and the CLI go through it with
``pgbouncer=true`` in the URL; LISTEN and the session lock through ``--listen-dsn``
(a direct connection), else the worker polls only and says so."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

import pgq_sa
from pgq_sa.dsn import async_url, engine_options

from .pgbouncer import PgBouncer
from .procs import WorkerProcess, pgq, query, wait_until

#: The full suite only: a PgBouncer of its own per test.
pytestmark = pytest.mark.slow

APP = "tests.apps.topologies:registry"


@pytest.fixture
def bouncer(dsn: str) -> Iterator[PgBouncer]:
    proxy = PgBouncer(dsn)
    try:
        yield proxy
    finally:
        proxy.close()


def _succeeded(dsn: str) -> int:
    return int(query(dsn, "SELECT count(*) FROM pgq_jobs WHERE status = 'succeeded'")[0][0])


def _through_bouncer(bouncer: PgBouncer) -> int:
    """Server connections PgBouncer opened so far (its log names each login)."""
    return bouncer.log().count("new connection to server")


@pytest.mark.anyio
async def test_enqueue_and_a_poll_only_drain_through_pgbouncer(dsn, bouncer):
    """No direct connection: the worker polls (its start-up log says so), claims and
    acknowledges through PgBouncer; jobs enqueued through PgBouncer (one statement,
    and COPY for many) all succeed."""
    via = bouncer.url(dsn)
    engine = create_async_engine(async_url(via), **engine_options(via))
    try:
        ids = await pgq_sa.enqueue_many(engine, [("quick", {"n": i}) for i in range(600)])
        async with engine.begin() as conn:
            one = await pgq_sa.enqueue(conn, "quick", {"n": -1})
    finally:
        await engine.dispose()
    assert len(ids) == 600 and one not in ids
    with WorkerProcess(via, "-c", "16", "--poll-interval", "0.2", app=APP) as w:
        w.wait_registered()
        wait_until(lambda: _succeeded(dsn) == 601, 60, message="the drain through pgbouncer")
        assert query(dsn, "SELECT session_key FROM pgq_workers") == [(None,)]
        w.signal(signal.SIGTERM)
        assert w.wait(30) == 0, w.output()
        log = w.output()
    assert "connected through PgBouncer (transaction pooling) without a direct " \
           "connection (--listen-dsn): no LISTEN, polling for jobs every 0.2s" in log
    assert "crashed worker's jobs wait for the heartbeat timeout" in log
    assert "Traceback" not in log and "prepared statement" not in log, log
    assert _through_bouncer(bouncer) >= 1


def test_listen_dsn_wakes_the_worker_and_holds_the_session_lock(dsn, bouncer):
    """With --listen-dsn (direct) a worker polling every 30 s still picks a job up at
    once (the NOTIFY of an enqueue through PgBouncer reaches the direct LISTEN), and
    records its session lock."""
    via = bouncer.url(dsn)
    with WorkerProcess(via, "-c", "4", "--poll-interval", "30", "--listen-dsn", dsn,
                       app=APP) as w:
        w.wait_registered()
        wait_until(lambda: query(dsn, "SELECT session_key IS NOT NULL FROM pgq_workers")
                   == [(True,)], 20, message="the session lock on the direct connection")
        # the first poll is done (it claims at start): only a notification wakes it now
        wait_until(lambda: "started" in w.output(), 20, message="start-up")
        out = pgq("enqueue", "quick", dsn=via)
        assert out.returncode == 0, out.stderr
        t0 = time.monotonic()
        wait_until(lambda: _succeeded(dsn) == 1, 10, message="the notified job")
        assert time.monotonic() - t0 < 5
        w.signal(signal.SIGTERM)
        assert w.wait(30) == 0, w.output()
        log = w.output()
    assert "LISTEN and the session lock on the direct connection (--listen-dsn)" in log
    assert "Traceback" not in log, log


def test_a_listen_dsn_through_pgbouncer_is_refused(dsn, bouncer):
    via = bouncer.url(dsn)
    out = pgq("worker", APP, "--listen-dsn", via, dsn=via, timeout=30)
    assert out.returncode == 1
    assert out.stderr.strip().splitlines() == [
        "error: listen_dsn must be a direct connection to PostgreSQL, not through "
        "PgBouncer: drop pgbouncer=true from it"]


def test_cli_commands_through_pgbouncer(dsn, bouncer):
    via = bouncer.url(dsn)
    ids = []
    for payload in ('{"n": 1}', '{"n": 2}', '{"n": 3}'):
        out = pgq("enqueue", "quick", "--payload", payload, "--queue", "bounced", dsn=via)
        assert out.returncode == 0, out.stderr
        ids.append(int(out.stdout))
    queues = pgq("queues", dsn=via)
    assert queues.returncode == 0 and "bounced" in queues.stdout, queues.stderr
    listed = pgq("jobs", "list", "--json", dsn=via)
    assert listed.returncode == 0, listed.stderr
    assert {job["id"] for job in json.loads(listed.stdout)} == set(ids)
    shown = pgq("jobs", "show", str(ids[0]), "--json", dsn=via)
    assert shown.returncode == 0 and json.loads(shown.stdout)["status"] == "queued"
    cancelled = pgq("jobs", "cancel", str(ids[0]), str(ids[1]), dsn=via)
    assert cancelled.returncode == 0, cancelled.stderr
    assert query(dsn, "SELECT status FROM pgq_jobs WHERE id = ANY(%s) ORDER BY id",
                 (ids[:2],)) == [("cancelled",), ("cancelled",)]
    retried = pgq("jobs", "retry", str(ids[0]), dsn=via)
    assert retried.returncode == 0, retried.stderr
    assert query(dsn, "SELECT status FROM pgq_jobs WHERE id = %s", (ids[0],)) == [("queued",)]
    for command in (("db", "current"), ("workers",), ("dashboard", "--json"),
                    ("jobs", "prune", "--older-than", "1d")):
        out = pgq(*command, dsn=via)
        assert out.returncode == 0, (command, out.stderr)
    # many clients, one statement cache each, unique statement names: run them again
    for _ in range(3):
        assert pgq("jobs", "list", dsn=via).returncode == 0
    bad = pgq("jobs", "list", dsn=via.replace("pgbouncer=true", "pgbouncer=maybe"))
    assert bad.returncode != 0 and "pgbouncer=true" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1, bad.stderr
