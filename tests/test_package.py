"""The release artefacts: ``python -m build`` makes a wheel and an sdist that install
into a fresh virtual environment and run against a real database."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tarfile
import time
import urllib.request
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
    # the web dashboard's pages and assets (no build step, no CDN)
    web_files = {f"pgq_sa/web/{f}" for f in (
        "static/pgq.js", "static/pgq.css", "static/favicon.svg", "templates/base.html",
        "templates/overview.html", "templates/queues.html", "templates/jobs.html",
        "templates/job.html", "templates/workers.html", "templates/database.html")}
    assert web_files <= files, web_files - files
    assert not any(f.startswith("tests/") for f in files)
    assert f"Version: {version}\n" in metadata
    assert "Provides-Extra: embedded" in metadata
    assert "Provides-Extra: web" in metadata
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

    # the web dashboard from the installed wheel (its extra): pages and assets served
    run(bin_dir / "python", "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
        f"{wheel}[web]", cwd=tmp_path, env=env)
    log = tmp_path / "web.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([bin_dir / "pgq-sa", "web", "--port", "0", "--dsn", empty_db],
                                cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while not (found := re.search(r" on (http://\S+)/ \(", log.read_text())):
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        url = found.group(1)
        with urllib.request.urlopen(f"{url}/jobs/{job_id}", timeout=10) as r:
            page = r.read().decode()
        assert f'"id":{job_id}' in page and "/static/pgq.js?v=" in page
        with urllib.request.urlopen(f"{url}/static/pgq.js", timeout=10) as r:
            assert b"pgq-sa web dashboard" in r.read()
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(30) == 0, log.read_text()
