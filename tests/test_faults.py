"""Reconnects: killed connections, a database restart and a silently dropped network
path; the worker carries on without a process restart."""

from __future__ import annotations

import logging
import random
import signal
import time

import anyio
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

import pgq_sa
from pgq_sa import migrate

from .cluster import Cluster
from .conftest import running_worker, wait_for, wait_status
from .procs import WorkerProcess, connect, query, wait_until
from .proxy import BlackholeProxy

pytestmark = pytest.mark.slow  # real processes, kills and outages: the full suite only


def _count(conn, status: str) -> int:
    return int(query(conn, "SELECT count(*) FROM pgq_jobs WHERE status = %s", (status,))[0][0])


def test_terminate_backend_loop_during_drain(dsn, sync_engine):
    """pg_terminate_backend against every worker connection (listener included),
    again and again while 5,000 jobs drain: every job completes, the process lives."""
    n = 5000
    with WorkerProcess(dsn, "-c", "20", "--poll-interval", "0.5") as w:
        w.wait_registered()
        pgq_sa.enqueue_many_sync(sync_engine, [("nap", {"seconds": 0.01})] * n)
        sync_engine.dispose()
        killer = connect(dsn)
        rounds = killed = 0
        deadline = time.monotonic() + 150
        try:
            while _count(killer, "succeeded") < n:
                if time.monotonic() > deadline:
                    by_status = query(killer, "SELECT status, count(*) FROM pgq_jobs "
                                              "GROUP BY status ORDER BY status")
                    raise AssertionError(f"stuck after {rounds} rounds: {by_status}\n"
                                         f"{w.output()[-4000:]}")
                assert w.alive, w.output()
                pids = [r[0] for r in query(
                    killer, "SELECT pid FROM pg_stat_activity WHERE datname = "
                    "current_database() AND pid <> pg_backend_pid() "
                    "AND backend_type = 'client backend'")]
                # usually some connections, every third round all of them
                victims = pids if rounds % 3 == 0 else random.sample(pids, len(pids) // 2)
                for pid in victims:
                    killed += bool(query(killer, "SELECT pg_terminate_backend(%s)",
                                         (pid,))[0][0])
                rounds += 1
                # a fixed sleep, on purpose: the chaos rhythm (kill rounds every
                # 0.1-0.3 s while the worker drains), not a synchronisation
                time.sleep(random.uniform(0.1, 0.3))
            assert w.alive
            assert query(killer, "SELECT count(*) FROM pgq_jobs")[0][0] == n
        finally:
            killer.close()
        assert rounds >= 5 and killed >= 10, (rounds, killed)
        w.signal(signal.SIGTERM)
        assert w.wait(30) == 0, w.output()
        log = w.output()
    assert "database connection lost" in log
    assert "Traceback" not in log, log


def test_database_restart_in_the_middle_of_a_drain():
    """Stop and start a (throwaway) PostgreSQL while a worker drains: it reconnects,
    re-LISTENs and finishes; outcomes that could not be written are written later."""
    cluster = Cluster()
    try:
        cluster.start()
        dsn = cluster.dsn
        migrate.upgrade_database(dsn)
        # poll interval 30 s: after the restart only the re-LISTEN can wake it quickly
        with WorkerProcess(dsn, "-c", "20", "--poll-interval", "30") as w:
            w.wait_registered()
            n = 2000
            engine = pgq_sa_engine(dsn)
            pgq_sa.enqueue_many_sync(engine, [("nap", {"seconds": 0.02})] * n)
            engine.dispose()  # its pooled connection would not survive the restart
            wait_until(lambda: _count(dsn, "succeeded") >= 300, 60, message="drain to start")
            cluster.stop("fast")
            wait_until(lambda: "database connection lost" in w.output(), 30,
                       message="the worker to notice the outage")
            assert w.alive
            cluster.start()
            done_at_restart = _count(dsn, "succeeded")
            assert done_at_restart < n, "the drain ended before the restart"
            wait_until(lambda: _count(dsn, "succeeded") == n, 90, interval=0.2,
                       message="every job to succeed after the restart")
            assert w.alive
            # it LISTENs again: a new job wakes it at once
            pgq_sa.enqueue_many_sync(engine, [("nap", {"seconds": 0})])
            engine.dispose()
            wait_until(lambda: _count(dsn, "succeeded") == n + 1, 5,
                       message="a job enqueued after the restart")
            w.signal(signal.SIGTERM)
            assert w.wait(30) == 0, w.output()
            log = w.output()
        lost = [line for line in log.splitlines() if "database connection lost" in line]
        assert 1 <= len(lost) <= 2, log  # one line per outage (not one per connection)
        assert "Traceback" not in log, log
    finally:
        cluster.destroy()


def test_database_crash_with_asynchronous_commits_loses_no_job():
    """The worker commits claims and outcomes asynchronously (the default): a crash
    of PostgreSQL (``pg_ctl stop -m immediate``: no shutdown checkpoint, unflushed
    WAL lost) may undo the last of them.  Nothing may be lost or stuck for it: every
    job ends ``succeeded`` and ran at least once; an outcome undone by the crash
    only makes its job run again (its ``running`` row is rescued once its
    heartbeat is stale)."""
    cluster = Cluster()
    try:
        # commits durable (as on a real server) unless a session says otherwise, as
        # the worker does; a long WAL writer delay keeps those unflushed for longer
        durable = "-c synchronous_commit=on -c wal_writer_delay=2000ms"
        cluster.start(extra=durable)
        dsn = cluster.dsn
        migrate.upgrade_database(dsn)
        query(dsn, "CREATE TABLE runs (job_id bigint, attempt int, pid int)")
        n = 3000
        with WorkerProcess(dsn, "-c", "32", "--poll-interval", "0.5") as w:
            w.wait_registered()
            engine = pgq_sa_engine(dsn)
            pgq_sa.enqueue_many_sync(engine, [("record", {"seconds": 0.002})] * n)
            engine.dispose()
            wait_until(lambda: _count(dsn, "succeeded") >= 500, 60, message="drain to start")
            before = _count(dsn, "succeeded")
            cluster.stop("immediate")
            wait_until(lambda: "database connection lost" in w.output(), 30,
                       message="the worker to notice the crash")
            cluster.start(extra=durable)
            after = _count(dsn, "succeeded")
            assert after < n, "the drain ended before the crash"
            wait_until(lambda: _count(dsn, "succeeded") == n, 120, interval=0.2,
                       message="every job to succeed after the crash")
            assert w.alive
            stuck = query(dsn, "SELECT count(*) FROM pgq_jobs WHERE status <> 'succeeded'")
            ran = query(dsn, "SELECT count(DISTINCT job_id), count(*) FROM runs")[0]
            w.signal(signal.SIGTERM)
            assert w.wait(30) == 0, w.output()
        assert stuck[0][0] == 0
        assert ran[0] == n, ran  # every job ran; some maybe twice (ran[1] > n)
        # what the crash undid (if anything) ran again: the counts tell the story
        print(f"succeeded before the crash {before}, after recovery {after}, runs {ran[1]}")
    finally:
        cluster.destroy()


def pgq_sa_engine(dsn: str):
    from sqlalchemy import create_engine

    return create_engine(make_url(dsn).set(drivername="postgresql+psycopg2"))


@pytest.mark.anyio
async def test_listener_killed_still_gets_notifications(engine, dsn):
    """Only the LISTEN connection is terminated: the worker re-LISTENs at once and a
    new job is picked up by notification (the poll interval is 30 s)."""
    registry = pgq_sa.Registry()

    @registry.task()
    async def work() -> None:
        pass

    async with running_worker(registry, dsn, poll_interval=30,
                              listener_health_interval=60) as worker:
        async with engine.connect() as conn:
            pids = (await conn.execute(text(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND query LIKE 'LISTEN%'"))).scalars().all()
            assert len(pids) == 1
            await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pids[0]})

        async def listening_again() -> bool:
            notifier = worker.notifier
            assert notifier is not None
            return notifier._lease.reconnects >= 1 and notifier.listening.is_set()

        await wait_for(listening_again, timeout=10)
        job_id = await work.enqueue(engine)
        await wait_status(engine, job_id, "succeeded", timeout=5)
        assert worker.notifier is not None and worker.notifier._lease.reconnects >= 1


@pytest.mark.anyio
async def test_silently_dropped_network_path(engine, dsn):
    """Every connection of the worker goes silent (no FIN, no RST): the listener's
    health check and the statement timeout notice, the worker reconnects and runs the
    jobs enqueued meanwhile (the poll interval is 30 s: the reconnect polls at once)."""
    url = make_url(dsn)
    proxy = BlackholeProxy(url.host or "127.0.0.1", url.port or 5432)
    try:
        via_proxy = url.set(port=proxy.port).render_as_string(hide_password=False)
        registry = pgq_sa.Registry()

        @registry.task(heartbeat_timeout=2)
        async def work() -> None:
            pass

        async with running_worker(registry, via_proxy, poll_interval=30,
                                  listener_health_interval=0.5, db_timeout=2) as worker:
            first = await work.enqueue(engine)
            await wait_status(engine, first, "succeeded", timeout=5)
            assert proxy.blackhole() >= 4
            ids = await pgq_sa.enqueue_many(engine, [work.job()] * 10)
            t0 = time.monotonic()
            for job_id in ids:
                await wait_status(engine, job_id, "succeeded", timeout=20)
            assert time.monotonic() - t0 < 20
            assert worker.notifier is not None and worker.notifier._lease.reconnects >= 1
    finally:
        proxy.close()


@pytest.mark.anyio
async def test_service_loops_survive_their_own_errors(engine, dsn, caplog):
    """The heartbeat and the rescuer fail while their table is away; they log it,
    keep going, and recover when it is back."""
    registry = pgq_sa.Registry()

    @registry.task(heartbeat_timeout=1)  # beats every 0.25 s
    async def work() -> None:
        pass

    caplog.set_level(logging.WARNING, logger="pgq_sa")
    async with running_worker(registry, dsn, poll_interval=0.1) as worker:
        async with engine.begin() as conn:
            await conn.execute(text("ALTER TABLE pgq_workers RENAME TO pgq_workers_away"))
        assert worker.heartbeat is not None and worker.rescuer is not None
        with anyio.fail_after(10):  # a pass of each fails meanwhile
            await worker.heartbeat.passes.wait(2)  # the first may have begun before
            await worker.rescuer.passes.wait(2)
        async with engine.begin() as conn:
            await conn.execute(text("ALTER TABLE pgq_workers_away RENAME TO pgq_workers"))
        assert "heartbeat failed" in caplog.text
        assert "rescue failed" in caplog.text
        beats = worker.heartbeat.beats
        with anyio.fail_after(10):
            await worker.heartbeat.passes.wait(2)
        assert worker.heartbeat.beats > beats
        job_id = await work.enqueue(engine)
        await wait_status(engine, job_id, "succeeded", timeout=5)
        async with engine.connect() as conn:
            age = (await conn.execute(text(
                "SELECT extract(epoch FROM now() - heartbeat_at) FROM pgq_workers "
                "WHERE id = :id"), {"id": worker.id})).scalar_one()
        assert age < 1.0



