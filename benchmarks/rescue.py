"""Rescue after a crash, and drains through PgBouncer: one command.

1. ``pgq-sa worker`` A (50 slots) runs 50 jobs of 6 s; worker B (100 slots, room
   for all of them) starts and 2-3 s later A is SIGKILLed; measured from the kill:
   until none of its jobs is ``running`` under its id any more (rescued), and until
   the last of them has succeeded on B.  ``--kills`` times (median), then once with A started with
   ``--no-session-lock``: the heartbeat-timeout figure (30 s timeout) beside it.
2. A drain of ``--jobs`` no-op jobs by one worker (``-c 32``), straight to
   PostgreSQL and through PgBouncer (transaction pooling, ``pgbouncer=true``, poll
   only): jobs/s, and the PgBouncer rate as a fraction of the direct one.

Runs on a throwaway cluster with stock settings (``benchmarks/cluster.py``) unless
``--dsn`` (or ``$BENCH_PG_DSN``) names a server, where it uses a scratch database.
PgBouncer (Debian's ``pgbouncer``) is started on a free port (``tests/pgbouncer.py``).

    python benchmarks/rescue.py                  # about two minutes
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg2
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import pgq_sa  # noqa: E402
from benchmarks.cluster import throwaway_cluster  # noqa: E402
from pgq_sa import migrate  # noqa: E402
from tests.pgbouncer import PgBouncer  # noqa: E402

APP = "benchmarks.apps.rescue_app:registry"
PGQ_SA = str(Path(sys.executable).with_name("pgq-sa"))


def q(dsn: str, sql: str, params: object = None) -> list[tuple]:
    url = make_url(dsn)
    conn = psycopg2.connect(host=url.host, port=url.port or 5432, user=url.username,
                            dbname=url.database)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall() if cur.description else []
    finally:
        conn.close()


def worker(dsn: str, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([PGQ_SA, "worker", APP, "--dsn", dsn, *args], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait(predicate, timeout: float, what: str, interval: float = 0.02) -> float:  # type: ignore[no-untyped-def]
    """Poll until ``predicate()``; returns the monotonic time it became true."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)
    return time.monotonic()


def stop(*procs: subprocess.Popen[bytes]) -> None:
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def registered(dsn: str, proc: subprocess.Popen[bytes]) -> str:
    rows: list[tuple] = []

    def seen() -> bool:
        rows[:] = q(dsn, "SELECT id FROM pgq_workers WHERE pid = %s", (proc.pid,))
        return bool(rows)

    wait(seen, 30, "worker registration")
    return str(rows[0][0])


def one_kill(dsn: str, *, session_lock: bool, seconds: float = 6.0) -> tuple[float, float]:
    """(seconds to rescue, seconds to the last in-flight job finished elsewhere)."""
    q(dsn, "TRUNCATE pgq_jobs, pgq_workers")
    a = worker(dsn, "-c", "50", *(() if session_lock else ("--no-session-lock",)))
    b: subprocess.Popen[bytes] | None = None
    try:
        a_id = registered(dsn, a)
        engine = create_engine(make_url(dsn).set(drivername="postgresql+psycopg2"))
        pgq_sa.enqueue_many_sync(engine, [("hold", {"seconds": seconds})] * 50)
        engine.dispose()
        wait(lambda: q(dsn, "SELECT count(*) FROM pgq_jobs WHERE status = 'running' "
                            "AND worker_id = %s", (a_id,))[0][0] == 50, 30, "50 in flight")
        in_flight = [r[0] for r in q(dsn, "SELECT id FROM pgq_jobs WHERE worker_id = %s",
                                     (a_id,))]
        b = worker(dsn, "-c", "100")  # the survivor, with room for all of them
        registered(dsn, b)
        if session_lock:
            wait(lambda: q(dsn, "SELECT session_key IS NOT NULL FROM pgq_workers "
                                "WHERE id = %s", (a_id,)) == [(True,)], 20, "the lock")
        # B's start-up rescue pass is over by then: the kill meets its steady rhythm
        # (a probe every 0.5-1.5 s), at a random phase
        time.sleep(random.uniform(2.0, 3.0))
        killed = time.monotonic()
        a.send_signal(signal.SIGKILL)
        a.wait()
        rescued = wait(lambda: q(dsn, "SELECT count(*) FROM pgq_jobs WHERE worker_id = %s",
                                 (a_id,))[0][0] == 0, 120, "the rescue")
        done = wait(lambda: q(dsn, "SELECT count(*) FROM pgq_jobs WHERE id = ANY(%s) AND "
                                   "status = 'succeeded'", (in_flight,))[0][0] == 50,
                    120, "the rescued jobs to finish")
        return rescued - killed, done - killed
    finally:
        stop(a, *([b] if b is not None else []))


def drain(dsn: str, via: str, n: int) -> float:
    """Jobs/s of one worker draining ``n`` no-op jobs through ``via``."""
    q(dsn, "TRUNCATE pgq_jobs, pgq_workers")
    engine = create_engine(make_url(dsn).set(drivername="postgresql+psycopg2"))
    pgq_sa.enqueue_many_sync(engine, [("quick", {"n": i}) for i in range(n)])
    engine.dispose()
    w = worker(via, "-c", "32", "--poll-interval", "0.1")
    try:
        t0 = wait(lambda: q(dsn, "SELECT count(*) FROM pgq_jobs WHERE status <> 'queued'")
                  [0][0] > 0, 60, "the first claim", interval=0.005)
        t1 = wait(lambda: q(dsn, "SELECT count(*) FROM pgq_jobs WHERE status = "
                                 "'succeeded'")[0][0] == n, 600, "the drain", interval=0.05)
        return n / (t1 - t0)
    finally:
        stop(w)


@contextmanager
def database(server: str | None) -> Iterator[str]:
    if server is None:
        with throwaway_cluster() as dsn:
            migrate.upgrade_database(dsn)
            yield dsn
        return
    name = f"pgq_bench_rescue_{uuid.uuid4().hex[:8]}"
    q(server, f"CREATE DATABASE {name}")
    dsn = make_url(server).set(database=name).render_as_string(hide_password=False)
    try:
        migrate.upgrade_database(dsn)
        yield dsn
    finally:
        q(server, f"DROP DATABASE {name} WITH (FORCE)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dsn", default=os.environ.get("BENCH_PG_DSN"),
                        help="a running server (a scratch database is made); default: "
                             "$BENCH_PG_DSN, else a throwaway cluster with stock settings")
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=2, help="drains per path")
    parser.add_argument("--skip-timeout", action="store_true",
                        help="do not measure the heartbeat-timeout kill (30 s and more)")
    args = parser.parse_args()
    with database(args.dsn) as dsn:
        runs = [one_kill(dsn, session_lock=True) for _ in range(args.kills)]
        for i, (rescue, done) in enumerate(runs, 1):
            print(f"kill {i}: rescued after {rescue:.2f} s, last in-flight job finished "
                  f"elsewhere after {done:.2f} s (jobs of 6 s, rerun from the start)")
        print(f"session lock: median rescue {statistics.median(r for r, _ in runs):.2f} s, "
              f"median last finished {statistics.median(d for _, d in runs):.2f} s "
              f"over {len(runs)} kills")
        if not args.skip_timeout:
            rescue, done = one_kill(dsn, session_lock=False)
            print(f"heartbeat timeout (30 s, --no-session-lock): rescued after {rescue:.2f} s, "
                  f"last finished after {done:.2f} s")
        bouncer = PgBouncer(dsn)
        try:
            via = bouncer.url(dsn)
            direct = [drain(dsn, dsn, args.jobs) for _ in range(args.rounds)]
            bounced = [drain(dsn, via, args.jobs) for _ in range(args.rounds)]
        finally:
            bouncer.close()
        d, b = statistics.median(direct), statistics.median(bounced)
        print(f"drain of {args.jobs} no-op jobs, one worker -c 32: direct "
              f"{', '.join(f'{r:.0f}' for r in direct)} jobs/s, through PgBouncer "
              f"{', '.join(f'{r:.0f}' for r in bounced)} jobs/s: {b / d:.2f} of direct "
              f"(medians {d:.0f} and {b:.0f})")


if __name__ == "__main__":
    main()
