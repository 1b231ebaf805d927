"""Developer tasks: ``nox -s tests``, ``nox -s lint``, ``nox -s demo``, ``nox -s bench``."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess

import nox

nox.options.sessions = ["lint", "tests"]
nox.options.reuse_existing_virtualenvs = True

DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"


def _python312() -> str:
    """Python 3.12 for the bench session (oban needs >= 3.12): on PATH, else pyenv's."""
    if shutil.which("python3.12") and subprocess.run(
        ["python3.12", "-c", ""], capture_output=True, check=False
    ).returncode == 0:
        return "3.12"
    found = sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.12*/bin/python3.12")))
    return found[-1] if found else "3.12"


@nox.session
def tests(session: nox.Session) -> None:
    """Run the test suite against the local PostgreSQL (real server, real processes)."""
    session.install("-e", ".[test]")
    session.run("pytest", *(session.posargs or ["-q"]),
                env={"PGQ_SA_TEST_DSN": os.environ.get("PGQ_SA_TEST_DSN", DEFAULT_DSN)})


@nox.session
def lint(session: nox.Session) -> None:
    """ruff (lint) and mypy (types) on the package."""
    session.install("-e", ".[lint]")
    session.run("ruff", "check", "pgq_sa", "migrations", "tests", "noxfile.py", "examples",
                "benchmarks")
    session.run("mypy")


@nox.session
def demo(session: nox.Session) -> None:
    """Fresh database, migrations, sample jobs, a worker until they are done, a report."""
    session.install("-e", ".")
    session.run("python", "examples/demo.py", *session.posargs)


@nox.session(python=_python312())
def bench(session: nox.Session) -> None:
    """Benchmarks against pgqueuer, procrastinate, oban and chancy (pinned, from PyPI).

    Python 3.12: oban needs it.  ``benchmarks/run.py`` starts a throwaway PostgreSQL
    cluster with stock settings unless given ``--dsn``."""
    # pgq-sa installed as users get it, like the peers (a wheel, its bytecode compiled
    # at install), not as an editable checkout: where PYTHONDONTWRITEBYTECODE is set
    # an editable install compiles every module again in each worker process
    # (~20 ms of start-up here).  Forced, so a reused environment gets this tree.
    session.install(".", "-r", "benchmarks/requirements-peers.txt")
    session.install("--force-reinstall", "--no-deps", ".")
    session.run("python", "benchmarks/run.py", *session.posargs)
