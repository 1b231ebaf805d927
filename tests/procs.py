"""Real ``pgq-sa`` processes for CLI, crash and signal tests: the installed console
script, as users run it (not ``python -m``, not click's in-process runner)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg2
from sqlalchemy.engine import make_url

ROOT = REPO = Path(__file__).resolve().parent.parent
APP = "tests.apps.faults:registry"
#: The installed ``pgq-sa`` console script (the venv's bin), as users run it: every
#: CLI test goes through it, never ``python -m`` or click's in-process runner.
PGQ_SA = str(Path(sys.executable).with_name("pgq-sa"))
assert os.access(PGQ_SA, os.X_OK), f"console script {PGQ_SA} missing: pip install -e ."


def connect(dsn: str) -> Any:
    """An autocommit psycopg2 connection to ``dsn``."""
    url = make_url(dsn)
    conn = psycopg2.connect(host=url.host, port=url.port or 5432, user=url.username,
                            password=url.password, dbname=url.database)
    conn.autocommit = True
    return conn


def query(dsn_or_conn: Any, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
    """Rows of ``sql`` (a fresh connection when given a DSN)."""
    conn = connect(dsn_or_conn) if isinstance(dsn_or_conn, str) else dsn_or_conn
    try:
        with conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall() if cur.description else []
    finally:
        if isinstance(dsn_or_conn, str):
            conn.close()


def wait_until(predicate: Any, timeout: float, interval: float = 0.05,
               message: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)


class WorkerProcess:
    """``pgq-sa worker`` in a child process, output captured to a file."""

    def __init__(self, dsn: str, *args: str, app: str = APP, log_level: str = "INFO",
                 env: dict[str, str] | None = None) -> None:
        self.dsn = dsn
        self._log = tempfile.NamedTemporaryFile(  # noqa: SIM115 (closed in __exit__)
            prefix="pgq-worker-", suffix=".log", delete=False)
        self.proc = subprocess.Popen(
            [PGQ_SA, "worker", app, "--dsn", dsn,
             "--log-level", log_level, *args],
            cwd=ROOT, env={**os.environ, "PGQ_SA_DSN": dsn, **(env or {})},
            stdout=self._log, stderr=subprocess.STDOUT,
        )
        self.pid = self.proc.pid

    def wait_registered(self, timeout: float = 20.0) -> str:
        """The worker's id, once its row exists (it is then listening and claiming)."""
        def registered() -> str | None:
            if self.proc.poll() is not None:
                raise AssertionError(f"worker exited with {self.proc.returncode}:\n"
                                     f"{self.output()}")
            rows = query(self.dsn, "SELECT id FROM pgq_workers WHERE pid = %s", (self.pid,))
            return rows[0][0] if rows else None
        return str(wait_until(registered, timeout, message="worker registration"))

    def signal(self, signum: int) -> None:
        self.proc.send_signal(signum)

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def wait(self, timeout: float) -> int:
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"worker still running after {timeout}s:\n"
                                 f"{self.output()}") from None

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def output(self) -> str:
        return Path(self._log.name).read_text(errors="replace")

    def __enter__(self) -> WorkerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.alive:
            self.kill()
        self._log.close()
        os.unlink(self._log.name)




def environment(dsn: str | None, env: dict[str, str] | None = None) -> dict[str, str]:
    """This process's environment without its database settings, then ``dsn`` as
    ``PGQ_SA_DSN`` and ``env``."""
    full = {k: v for k, v in os.environ.items()
            if k not in ("PGQ_SA_DSN", "DATABASE_URL", "PGQ_SA_SCHEMA")}
    if dsn is not None:
        full["PGQ_SA_DSN"] = dsn
    full.update(env or {})
    return full


def pgq(*args: str, dsn: str | None = None, env: dict[str, str] | None = None,
        timeout: float = 60, input: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``pgq-sa ARGS`` (the installed console script) and capture its output."""
    return subprocess.run([PGQ_SA, *args], cwd=ROOT, env=environment(dsn, env),
                          capture_output=True, text=True, timeout=timeout, input=input)


def start(*args: str, dsn: str, env: dict[str, str] | None = None,
          log: Path | None = None) -> subprocess.Popen[bytes]:
    """``pgq-sa ARGS`` as a background process (a worker), output to ``log``."""
    out = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115 (the child owns it)
    return subprocess.Popen([PGQ_SA, *args], cwd=ROOT,
                            env={**environment(dsn, env), "PYTHONUNBUFFERED": "1"},
                            stdout=out, stderr=subprocess.STDOUT)


def start_worker(target: str, dsn: str, *args: str,
                 log_path: Path | None = None) -> subprocess.Popen[bytes]:
    """Start ``pgq-sa worker TARGET`` as a separate process."""
    return start("worker", target, *args, dsn=dsn, log=log_path)


@contextmanager
def workers(target: str, dsn: str, n: int, *args: str,
            log_dir: Path | None = None) -> Iterator[list[subprocess.Popen[bytes]]]:
    procs = [start_worker(target, dsn, *args,
                          log_path=(log_dir / f"worker{i}.log") if log_dir else None)
             for i in range(n)]
    try:
        yield procs
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
