"""``pgq-sa dev``: a local PostgreSQL (embedded), the schema and a worker, in one command."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

import click

from .common import fail, handle_errors, resolve_dsn

if TYPE_CHECKING:
    from ..devserver import DevServer


def say(message: str) -> None:
    """Progress goes to stderr: stdout carries only the ``export`` line (for ``eval``)."""
    click.echo(f"pgq-sa dev: {message}", err=True)


def _server(directory: Path | None) -> DevServer:
    from ..devserver import DevServer

    return DevServer(directory)


def _run_worker(registry: str, dsn: str, args: list[str], announce: str) -> int:
    """``pgq-sa worker`` as a child in its own session (a Ctrl-C on the terminal
    reaches only this process, which passes exactly one signal on: a second one
    would stop the worker's jobs at once) until it exits; its exit code.
    ``announce`` is said once the signals are forwarded."""
    worker = subprocess.Popen([sys.executable, "-m", "pgq_sa", "worker", registry,
                               "--dsn", dsn, *args], start_new_session=True)

    def forward(signum: int, frame: FrameType | None) -> None:
        if worker.poll() is None:
            worker.send_signal(signum)

    previous = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        say(announce)
        return worker.wait()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        if worker.poll() is None:
            worker.kill()
            worker.wait()


def _wait_for_signal(announce: str) -> None:
    """Say ``announce`` (once a signal would be caught), then wait for SIGINT/SIGTERM."""
    stop = threading.Event()

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        say(announce)
        while not stop.wait(0.5):
            pass
    finally:
        for s, old in previous.items():
            signal.signal(s, old)


@click.command()
@click.argument("registry", required=False)
@click.option("--dir", "directory", default=None, metavar="PATH",
              type=click.Path(file_okay=False, path_type=Path),
              help="Data directory of the embedded server. Default: $PGQ_SA_DEV_DIR, "
                   "else ./.pgq-sa/dev.")
@click.option("--dsn", default=None, metavar="URL",
              help="Use this running PostgreSQL instead of the embedded one "
                   "($PGQ_SA_DSN is not read: it usually names the embedded server).")
@click.option("--start", "action", flag_value="start",
              help="Start the server and install the schema, print the DSN and return "
                   "(the server keeps running: --stop stops it).")
@click.option("--stop", "action", flag_value="stop", help="Stop the embedded server.")
@click.option("--status", "action", flag_value="status",
              help="Say whether the embedded server runs (exit 0) or not (exit 3).")
@click.option("--reset", "action", flag_value="reset",
              help="Stop the embedded server and delete its data.")
@click.option("--queue", "-q", "queues", multiple=True, help="Queue to serve (repeatable).")
@click.option("--concurrency", "-c", default=None, type=click.IntRange(1),
              help="Jobs run at once (worker default: 64).")
@click.option("--log-level", default="INFO", show_default=True,
              type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False))
@handle_errors
def dev(registry: str | None, directory: Path | None, dsn: str | None, action: str | None,
        queues: tuple[str, ...], concurrency: int | None, log_level: str) -> None:
    """Start (or reuse) a local PostgreSQL, install the schema, print the DSN, and run
    a worker for REGISTRY (module:attribute) until Ctrl-C; then stop the server if
    this command started it.  Without REGISTRY the database alone is served.

    With no PostgreSQL installed, the server is the one of ``pip install
    "pgq-sa[embedded]"``, its data in ./.pgq-sa/dev (one per project).
    """
    from .. import migrate

    if action in ("stop", "status", "reset"):
        if dsn or registry:
            raise click.UsageError(f"--{action} takes no REGISTRY and no --dsn")
        existing = _server(directory)
        if action == "status":
            st = existing.status()
            if not st.initialized:
                say(f"no embedded PostgreSQL in {st.directory} (pgq-sa dev starts one)")
                sys.exit(3)
            if not st.running:
                say(f"embedded PostgreSQL {st.version} in {st.directory}: stopped")
                sys.exit(3)
            say(f"embedded PostgreSQL {st.version} in {st.directory}: running "
                f"(pid {st.pid}, 127.0.0.1:{st.port})")
            click.echo(f"export PGQ_SA_DSN={st.dsn}")
            return
        if action == "stop":
            say("embedded PostgreSQL stopped" if existing.stop()
                else f"no embedded PostgreSQL running in {existing.directory}")
            return
        say(f"deleted {existing.directory}" if existing.reset()
            else f"nothing to delete in {existing.directory}")
        return

    server: DevServer | None = None
    started = False
    if dsn:
        url = resolve_dsn(dsn)
        say("using the PostgreSQL server given by --dsn")
    else:
        server = _server(directory)
        started = server.start()
        st = server.status()
        url = server.dsn
        say(f"embedded PostgreSQL {st.version} {'started' if started else 'already running'}"
            f" in {st.directory} (127.0.0.1:{st.port})")
    click.get_current_context().meta["pgq_sa.dsn"] = url
    try:
        migrate.upgrade_database(url)
        say(f"schema at {migrate.status(url).describe()}")
        click.echo(f"export PGQ_SA_DSN={url}")
        sys.stdout.flush()
        if action == "start":
            if server is not None:
                say("the server keeps running: pgq-sa dev --stop stops it")
            started = False
            return
        if registry is None:
            _wait_for_signal("no REGISTRY given: serving the database only; Ctrl-C stops it")
            return
        args = ["--log-level", log_level]
        for q in queues:
            args += ["--queue", q]
        if concurrency is not None:
            args += ["--concurrency", str(concurrency)]
        code = _run_worker(registry, url, args, f"worker {registry} running; Ctrl-C stops it"
                           + (" and the server" if started else ""))
        if code != 0:
            fail(f"the worker exited with code {code}", code)
    finally:
        if started and server is not None:
            server.stop()
            say("embedded PostgreSQL stopped")
