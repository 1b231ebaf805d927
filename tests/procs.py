"""Helpers for tests that run real worker processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def pgq(*args: str, dsn: str | None = None, env: dict[str, str] | None = None,
        timeout: float = 60, input: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``pgq-sa ARGS`` (as ``python -m pgq_sa``) and capture its output."""
    full_env = {**os.environ, **(env or {})}
    full_env.pop("PGQ_SA_DSN", None)
    full_env.pop("DATABASE_URL", None)
    if dsn is not None:
        full_env["PGQ_SA_DSN"] = dsn
    if env:
        full_env.update(env)
    return subprocess.run([sys.executable, "-m", "pgq_sa", *args], cwd=REPO, env=full_env,
                          capture_output=True, text=True, timeout=timeout, input=input)


def start_worker(target: str, dsn: str, *args: str,
                 log_path: Path | None = None) -> subprocess.Popen[bytes]:
    """Start ``pgq-sa worker TARGET`` as a separate process."""
    env = {**os.environ, "PGQ_SA_DSN": dsn, "PYTHONUNBUFFERED": "1"}
    out = open(log_path, "wb") if log_path else subprocess.DEVNULL  # noqa: SIM115
    return subprocess.Popen([sys.executable, "-m", "pgq_sa", "worker", target, *args],
                            cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)


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
