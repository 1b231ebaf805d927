"""``pgq-sa web`` through the installed console script: serves the dashboard on
127.0.0.1 by default, stops cleanly, and fails with one line (no password) when it
cannot start."""

from __future__ import annotations

import json
import re
import signal
import socket
import time
import urllib.request
from pathlib import Path

from .procs import pgq, start


def started(proc, log: Path, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while not (found := re.search(r" on (http://\S+)/ \(", log.read_text())):
        assert proc.poll() is None, f"exited {proc.returncode}:\n{log.read_text()}"
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.05)
    return found.group(1)


def test_serves_on_loopback_and_stops_cleanly(dsn, tmp_path):
    log = tmp_path / "web.log"
    proc = start("web", "--port", "0", dsn=dsn, log=log)
    try:
        url = started(proc, log)
        assert url.startswith("http://127.0.0.1:")
        first = log.read_text().splitlines()[0]
        assert first.startswith("pgq-sa web: 127.0.0.1:5432/") and "(actions enabled)" in first
        with urllib.request.urlopen(f"{url}/api/overview", timeout=10) as r:
            data = json.loads(r.read())
            assert r.headers["content-type"] == "application/json"
        assert data["range"] == "5m" and data["counts"]["ready"] == 0
        with urllib.request.urlopen(f"{url}/", timeout=10) as r:
            html = r.read().decode()
        assert "<title>Overview · pgq-sa · 127.0.0.1:5432/" in html
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0, log.read_text()
    assert "Traceback" not in log.read_text()


def test_everywhere_with_actions_warns(dsn, tmp_path):
    log = tmp_path / "web.log"
    proc = start("web", "--host", "0.0.0.0", "--port", "0", dsn=dsn, log=log)
    try:
        started(proc, log)
        assert "warning: listening beyond this machine with actions enabled" in log.read_text()
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(30) == 0, log.read_text()
    log = tmp_path / "ro.log"
    proc = start("web", "--host", "0.0.0.0", "--port", "0", "--read-only", dsn=dsn,
                         log=log)
    try:
        started(proc, log)
        assert "(read-only)" in log.read_text() and "warning" not in log.read_text()
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(30) == 0, log.read_text()


def test_fails_with_one_line(empty_db, dsn):
    out = pgq("web", "--port", "0", dsn=empty_db)
    assert out.returncode == 1
    assert out.stderr.strip().startswith("error: pgq-sa schema not installed in ")
    assert len(out.stderr.strip().splitlines()) == 1

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        out = pgq("web", "--port", str(port), dsn=dsn)
    assert out.returncode == 2
    assert out.stderr.strip() == (f"error: cannot listen on 127.0.0.1:{port}: Address already "
                                  "in use (pick another --port or --host)")

    out = pgq("web", "--port", "0",
                      dsn="postgresql://ops:hunter2@127.0.0.1:1/nowhere")
    assert out.returncode == 1 and "hunter2" not in out.stdout + out.stderr
    assert out.stderr.startswith("error: cannot connect to PostgreSQL at 127.0.0.1:1/nowhere")


def test_help_lists_the_options():
    out = pgq("web", "--help")
    assert out.returncode == 0
    for option in ("--dsn", "--schema", "--host", "--port", "--read-only", "--refresh",
                   "--stale-after", "--long-transaction"):
        assert option in out.stdout
    assert re.search(r"\[default:\s+127\.0\.0\.1\]", out.stdout), out.stdout
    assert re.search(r"\[default:\s+8080;", out.stdout), out.stdout
    assert re.search(r"^  web\s+Serve the web dashboard", pgq("--help").stdout, re.M)
