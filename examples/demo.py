"""End-to-end demo: fresh database → migrations → jobs in a business transaction →
a real ``pgq-sa worker`` process until the queue is empty → a report.

Run it with ``nox -s demo`` (or ``python examples/demo.py``).  It talks to the
PostgreSQL server at ``$PGQ_SA_DEMO_SERVER`` (default
``postgresql://postgres@127.0.0.1:5432/postgres``), creates a database of its own
and drops it at the end (``--keep`` keeps it).

When nothing answers there (no PostgreSQL on this machine), it starts the
embedded PostgreSQL of ``pgq-sa[embedded]`` (the one ``pgq-sa dev`` runs, data in
``./.pgq-sa/dev`` or ``$PGQ_SA_DEV_DIR``), says so, and stops it at the end if it
started it.  ``--embedded`` uses the embedded server in any case.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import asyncpg
from rich.console import Console
from rich.table import Table
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

import pgq_sa
from pgq_sa.devserver import DevServer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from demo_tasks import call_flaky_api, resize_image, send_receipt

REPO = Path(__file__).resolve().parent.parent
SERVER = os.environ.get("PGQ_SA_DEMO_SERVER", "postgresql://postgres@127.0.0.1:5432/postgres")
console = Console(width=None if sys.stdout.isatty() else 130)


async def answers(server: str) -> str | None:
    """``None`` when a PostgreSQL server answers at ``server``, else why not."""
    try:
        conn = await asyncpg.connect(server, timeout=5)
    except ConnectionRefusedError:
        return "connection refused"
    except (OSError, asyncio.TimeoutError) as exc:
        return str(exc).split(";")[0] or type(exc).__name__
    await conn.close()
    return None


def choose_server(force_embedded: bool) -> tuple[str, DevServer | None]:
    """The server at ``SERVER`` when one answers there, else the embedded one (and
    whether this run started it: then it stops it at the end)."""
    where = pgq_sa.dsn.describe(SERVER).rsplit("/", 1)[0]
    why = "--embedded" if force_embedded else asyncio.run(answers(SERVER))
    if why is None:
        console.print(f"0. using the PostgreSQL server at [bold]{where}[/]")
        return SERVER, None
    try:
        embedded = DevServer()
    except pgq_sa.ConfigurationError as exc:
        raise SystemExit(f"no PostgreSQL answers at {where} ({why}), and {exc}") from None
    started = embedded.start()
    status = embedded.status()
    console.print(f"0. no PostgreSQL at {where} ({why}): using the [bold]embedded "
                  f"PostgreSQL {status.version}[/] (pgq-sa\\[embedded]) on "
                  f"127.0.0.1:{status.port}, data in {status.directory}"
                  + ("" if started else " (already running)"))
    return embedded.dsn, embedded if started else None


async def admin(server: str, sql: str) -> None:
    conn = await asyncpg.connect(server)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def enqueue_sample_jobs(dsn: str) -> None:
    engine = create_async_engine(pgq_sa.dsn.async_url(dsn))
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE orders (id serial PRIMARY KEY, email text)"))
        # 1. The job is part of the business transaction: it exists only if the order does.
        async with AsyncSession(engine) as session:
            for email in ("ada@example.com", "alan@example.com", "grace@example.com"):
                order_id = (await session.execute(
                    text("INSERT INTO orders (email) VALUES (:e) RETURNING id"), {"e": email}
                )).scalar_one()
                await send_receipt.enqueue(session, order_id=order_id, email=email)
            await session.commit()
        async with AsyncSession(engine) as session:
            await session.execute(text("INSERT INTO orders (email) VALUES ('nobody@x.y')"))
            await send_receipt.enqueue(session, order_id=999, email="nobody@x.y")
            await session.rollback()  # …so this receipt job never existed
        # 2. A batch in one statement, with priorities and a delay.
        await pgq_sa.enqueue_many(engine, [
            resize_image.job(path=f"img/{i}.png", width=256) for i in range(20)
        ] + [resize_image.options(priority=10).job(path="img/hero.png", width=1024)])
        await call_flaky_api.enqueue(engine, succeed_on=3)
        await pgq_sa.enqueue(engine, "always_broken", {})
        await resize_image.options(delay=2).enqueue(engine, path="img/later.png", width=64)
    finally:
        await engine.dispose()


async def remaining(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return int(await conn.fetchval(
            "SELECT count(*) FROM pgq_jobs WHERE status IN ('queued', 'running')"))
    finally:
        await conn.close()


async def report(dsn: str) -> dict[str, int]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT id, queue, entrypoint, status, priority, attempts, last_error, "
            "extract(epoch FROM started_at - run_at) * 1000 AS wait_ms, "
            "extract(epoch FROM finished_at - started_at) * 1000 AS run_ms "
            "FROM pgq_jobs ORDER BY finished_at, id")
    finally:
        await conn.close()
    table = Table(title="pgq-sa demo: every job, in the order it finished")
    for col in ("id", "queue", "entrypoint", "status", "prio", "attempts", "wait ms",
                "run ms", "last error"):
        table.add_column(col, justify="right" if col in ("id", "prio", "attempts", "wait ms",
                                                        "run ms") else "left")
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
        style = {"succeeded": "green", "failed": "red"}.get(r["status"], "yellow")
        table.add_row(str(r["id"]), r["queue"], r["entrypoint"],
                      f"[{style}]{r['status']}[/]", str(r["priority"]), str(r["attempts"]),
                      f"{r['wait_ms'] or 0:.1f}", f"{r['run_ms'] or 0:.1f}",
                      (r["last_error"] or "")[:48])
    console.print(table)
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="keep the demo database")
    parser.add_argument("--embedded", action="store_true",
                        help="use the embedded PostgreSQL even when a server answers")
    args = parser.parse_args()
    console.rule("[bold]pgq-sa demo")
    server, started = choose_server(args.embedded)
    try:
        return run_demo(server, keep=args.keep)
    finally:
        if started is not None:
            started.stop()
            console.print("stopped the embedded PostgreSQL this demo started")


def run_demo(server: str, keep: bool) -> int:
    name = f"pgq_demo_{uuid.uuid4().hex[:8]}"
    dsn = make_url(server).set(database=name).render_as_string(hide_password=False)
    console.print(f"1. creating database [bold]{name}[/]")
    asyncio.run(admin(server, f'CREATE DATABASE "{name}"'))
    worker: subprocess.Popen[bytes] | None = None
    try:
        console.print("2. installing the schema: pgq-sa db upgrade")
        subprocess.run([sys.executable, "-m", "pgq_sa", "db", "upgrade", "--dsn", dsn],
                       check=True)
        console.print("3. enqueueing sample jobs (one inside a rolled-back transaction)")
        asyncio.run(enqueue_sample_jobs(dsn))
        console.print("4. starting: pgq-sa worker demo_tasks:registry --concurrency 8")
        env = {**os.environ, "PYTHONPATH": str(REPO / "examples")}
        worker = subprocess.Popen(
            [sys.executable, "-m", "pgq_sa", "worker", "demo_tasks:registry", "--dsn", dsn,
             "--concurrency", "8", "--log-level", "INFO"], env=env, cwd=REPO / "examples")
        t0 = time.monotonic()
        while asyncio.run(remaining(dsn)):
            if worker.poll() is not None:
                console.print("[red]the worker exited early")
                return 1
            if time.monotonic() - t0 > 60:
                console.print("[red]jobs still pending after 60 s")
                return 1
            time.sleep(0.2)
        console.print(f"5. queue empty after {time.monotonic() - t0:.1f} s; stopping the "
                      "worker with SIGTERM")
        worker.send_signal(signal.SIGTERM)
        code = worker.wait(timeout=30)
        worker = None
        counts = asyncio.run(report(dsn))
        console.print(f"worker exit code {code}; jobs by status: {counts}")
        ok = code == 0 and counts.get("succeeded") == 26 and counts.get("failed") == 1
        console.print("[bold green]demo OK" if ok else "[bold red]demo FAILED")
        return 0 if ok else 1
    finally:
        if worker is not None and worker.poll() is None:
            worker.kill()
        if not keep:
            asyncio.run(admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        else:
            console.print(f"kept database: {dsn}")


if __name__ == "__main__":
    sys.exit(main())
