"""The release artefacts: ``python -m build`` makes a wheel and an sdist that install
into a fresh virtual environment and run against a real database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import venv
import zipfile
from pathlib import Path

import pytest

import pgq_sa

from .procs import REPO

pytestmark = pytest.mark.slow


def run(*cmd: object, cwd: Path, env: dict[str, str] | None = None,
        timeout: float = 300) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=env)
    assert done.returncode == 0, f"{cmd}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done


def test_build_install_and_run_in_a_fresh_venv(tmp_path, empty_db):
    dist = tmp_path / "dist"
    # sdist first, then the wheel built *from the sdist*: a file missing from the
    # sdist breaks the wheel
    run(sys.executable, "-m", "build", "--outdir", dist, REPO, cwd=tmp_path)
    version = pgq_sa.__version__
    wheel = dist / f"pgq_sa-{version}-py3-none-any.whl"
    sdist = dist / f"pgq_sa-{version}.tar.gz"
    assert sorted(p.name for p in dist.iterdir()) == sorted([wheel.name, sdist.name])

    with tarfile.open(sdist) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    for needed in ("pyproject.toml", "README.rst", "CHANGELOG.rst", "LICENSE", "noxfile.py",
                   "pgq_sa/py.typed", "migrations/env.py", "tests/conftest.py",
                   "docs/conf.py", "docs/index.rst", "examples/demo.py"):
        assert needed in names, needed
    assert not any(n.startswith(("docs/_build", ".nox", "benchmarks")) for n in names)

    with zipfile.ZipFile(wheel) as whl:
        files = set(whl.namelist())
        metadata = whl.read(f"pgq_sa-{version}.dist-info/METADATA").decode()
    assert {"pgq_sa/py.typed", "pgq_sa/_migrations/env.py",
            "pgq_sa/_migrations/versions/0001_pgq_sa_initial.py"} <= files
    assert not any(f.startswith("tests/") for f in files)
    assert f"Version: {version}\n" in metadata
    assert "Provides-Extra: embedded" in metadata
    assert "Programming Language :: Python :: 3.13" in metadata

    # a fresh environment, nothing but the wheel and its dependencies (pip's cache
    # makes this quick); run from a directory where the source tree is not importable
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    bin_dir = env_dir / "bin"
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PGQ_SA_DSN", "DATABASE_URL")}
    run(bin_dir / "python", "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
        wheel, cwd=tmp_path, env=env)
    out = run(bin_dir / "pgq-sa", "--version", cwd=tmp_path, env=env)
    assert out.stdout.strip() == f"pgq-sa, version {version}"
    where = run(bin_dir / "python", "-c", "import pgq_sa; print(pgq_sa.__file__)",
                cwd=tmp_path, env=env).stdout
    assert where.startswith(str(env_dir)), where

    # real commands against a real database: the migrations ship in the wheel
    out = run(bin_dir / "pgq-sa", "db", "upgrade", "--dsn", empty_db, cwd=tmp_path, env=env)
    assert out.stdout.strip().startswith("pgq-sa schema at version ")
    out = run(bin_dir / "pgq-sa", "enqueue", "hello", "--payload", '{"who": "wheel"}',
              "--dsn", empty_db, cwd=tmp_path, env=env)
    job_id = out.stdout.strip()
    out = run(bin_dir / "pgq-sa", "jobs", "show", job_id, "--json", "--dsn", empty_db,
              cwd=tmp_path, env=env)
    job = json.loads(out.stdout)
    assert (job["id"], job["payload"], job["status"]) == (int(job_id), {"who": "wheel"}, "queued")
