"""Run the installed ``pgq-sa`` console script, as users do (not ``python -m``, not
click's in-process runner)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def script() -> str:
    """The ``pgq-sa`` script installed beside this interpreter (else on ``PATH``)."""
    beside = Path(sys.executable).parent / "pgq-sa"
    found = str(beside) if beside.exists() else shutil.which("pgq-sa")
    assert found, "the pgq-sa console script is not installed"
    return found


def environment(dsn: str | None, env: dict[str, str] | None) -> dict[str, str]:
    full = {k: v for k, v in os.environ.items()
            if k not in ("PGQ_SA_DSN", "DATABASE_URL", "PGQ_SA_SCHEMA")}
    if dsn is not None:
        full["PGQ_SA_DSN"] = dsn
    full.update(env or {})
    return full


def run(*args: str, dsn: str | None = None, env: dict[str, str] | None = None,
        timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """``pgq-sa ARGS`` with ``PGQ_SA_DSN=dsn`` (and ``env``), output captured."""
    return subprocess.run([script(), *args], cwd=ROOT, env=environment(dsn, env),
                          capture_output=True, text=True, timeout=timeout)


def start(*args: str, dsn: str, env: dict[str, str] | None = None,
          log: Path | None = None) -> subprocess.Popen[bytes]:
    """``pgq-sa ARGS`` as a background process (a worker), output to ``log``."""
    out = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115 (the child owns it)
    return subprocess.Popen([script(), *args], cwd=ROOT,
                            env={**environment(dsn, env), "PYTHONUNBUFFERED": "1"},
                            stdout=out, stderr=subprocess.STDOUT)
