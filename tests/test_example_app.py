"""The FastAPI example (examples/shop) in each migration mode, run as its users run it.

For each mode a copy of the app gets a fresh database and its start-up command, then:
one Alembic head (two in branch mode, as documented), ``alembic check`` finds no
operation, sign-ups through HTTP (uvicorn in a subprocess) enqueue in the request's
transaction (a refused sign-up rolls its job back), a real ``pgq-sa worker`` process
runs the job, and downgrades behave as docs/migrations.rst says.  The app-owned run
also serves the app with its in-process worker and stops it with SIGTERM.

Modes, from the shipped app (app-owned: its revisions 0002 and 0004 were written by
``pgq-sa db revision``):

- standalone: without revisions 0002 and 0004; start-up ``pgq-sa db upgrade && alembic
  upgrade head``;
- branch: without revisions 0002 and 0004, pgq-sa's revisions in ``version_locations`` by
  package-resource notation (``pgq_sa:_migrations/versions``), with pgq-sa installed
  from its wheel as users get it; start-up ``alembic upgrade heads``.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from pgq_sa.schema_versions import LATEST

from .procs import PGQ_SA, REPO, query, wait_until

#: The full suite only: the example application installed and served in each mode.
pytestmark = pytest.mark.slow

EXAMPLE = REPO / "examples" / "shop"
ALEMBIC = str(Path(sys.executable).with_name("alembic"))
PGQ_TABLES = {"pgq_jobs", "pgq_workers", "pgq_stats", "pgq_queues", "pgq_unique",
              "pgq_schedules", "pgq_job_deps", "pgq_rates"}
#: The app's revisions that ``pgq-sa db revision`` wrote (app-owned mode), one per
#: pgq-sa upgrade: schema 0 -> 2, then 2 -> 3.
PGQ_REVISIONS = ("0002_pgq_sa_schema_version_2.py", "0004_pgq_sa_schema_version_3.py")


@pytest.fixture(scope="session")
def wheel_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """pgq-sa built into a wheel and installed in a directory of its own (put first on
    PYTHONPATH), as users install it: ``pgq_sa/_migrations`` exists only there."""
    target = tmp_path_factory.mktemp("wheel-site")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--no-build-isolation", "--target", str(target), str(REPO)],
                   check=True, capture_output=True, timeout=300)
    assert (target / "pgq_sa" / "_migrations" / "versions").is_dir()
    return target


class Shop:
    """A copy of examples/shop set up in ``mode``, with its database."""

    def __init__(self, root: Path, dsn: str, mode: str, wheel_site: Path | None) -> None:
        self.root, self.dsn, self.mode = root, dsn, mode
        shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("__pycache__"))
        self.env = {**os.environ, "DATABASE_URL": dsn, "PYTHONUNBUFFERED": "1"}
        self.env.pop("PGQ_SA_DSN", None)
        if mode == "app-owned":
            return
        versions = root / "migrations" / "versions"
        for name in PGQ_REVISIONS:
            (versions / name).unlink()
        emails = versions / "0003_welcome_emails.py"
        emails.write_text(emails.read_text().replace('"0002"', '"0001"')
                          .replace("Revises: 0002", "Revises: 0001"))
        if mode == "branch":
            assert wheel_site is not None
            self.env["PYTHONPATH"] = str(wheel_site)
            ini = root / "alembic.ini"
            ini.write_text(ini.read_text().replace(
                "path_separator = os",
                "path_separator = space\nversion_locations = %(here)s/migrations/versions "
                "pgq_sa:_migrations/versions"))

    def run(self, *cmd: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        out = subprocess.run(list(cmd), cwd=self.root, env=self.env, capture_output=True,
                             text=True, timeout=120)
        if ok:
            assert out.returncode == 0, f"{cmd}: {out.stdout}{out.stderr}"
        return out

    def alembic(self, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run(ALEMBIC, *args, ok=ok)

    def pgq(self, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run(PGQ_SA, *args, ok=ok)

    def tables(self) -> set[str]:
        return {r[0] for r in query(self.dsn, "SELECT tablename FROM pg_tables "
                                              "WHERE schemaname = 'public'")}

    def start_up(self) -> None:
        """The start-up script docs/migrations.rst gives for the mode."""
        if self.mode == "standalone":
            self.pgq("db", "upgrade")
            self.alembic("upgrade", "head")
        elif self.mode == "branch":
            self.alembic("upgrade", "heads")
        else:
            self.alembic("upgrade", "head")

    @contextmanager
    def serve(self, **env: str) -> Iterator[httpx.Client]:
        """``uvicorn shop.app:app`` in a subprocess; stopped with SIGTERM (clean shutdown
        of the app's lifespan, no traceback)."""
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        log = self.root / f"uvicorn-{port}.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "shop.app:app", "--port", str(port)],
                cwd=self.root, env={**self.env, **env}, stdout=out, stderr=subprocess.STDOUT)
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:

                def up() -> bool:
                    assert proc.poll() is None, log.read_text()
                    try:
                        return client.get("/health").status_code == 200
                    except httpx.TransportError:
                        return False

                wait_until(up, 30, message="the app to serve")
                yield client
            proc.send_signal(signal.SIGTERM)
            # uvicorn shuts down, then re-raises the signal for its exit status
            assert proc.wait(30) in (0, -signal.SIGTERM), log.read_text()
            text = log.read_text()
            assert "Application shutdown complete" in text and "Traceback" not in text, text
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def sign_up_and_work(shop: Shop, http: httpx.Client) -> None:
    """Commit and rollback through the app's own code path; a worker process runs
    the job."""
    ada = http.post("/users", json={"email": "ada@example.com"})
    assert ada.status_code == 201, ada.text
    ada_id = ada.json()["id"]
    refused = http.post("/users", json={"email": "bob@example.com", "fail": True})
    assert refused.status_code == 422
    jobs = query(shop.dsn, "SELECT entrypoint, queue, payload FROM pgq_jobs")
    assert jobs == [("send_welcome_email", "emails", {"user_id": ada_id})]  # not bob's
    assert query(shop.dsn, "SELECT email FROM users") == [("ada@example.com",)]
    assert http.get(f"/users/{ada_id}").json()["welcome_email_sent"] is False
    worker = subprocess.Popen([PGQ_SA, "worker", "shop.jobs:registry", "--poll-interval",
                               "0.2"], cwd=shop.root, env=shop.env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: http.get(f"/users/{ada_id}").json()["welcome_email_sent"], 30,
                   message="the worker to send the welcome email")
    finally:
        worker.send_signal(signal.SIGTERM)
        _, err = worker.communicate(timeout=30)
    assert worker.returncode == 0, err
    assert query(shop.dsn, "SELECT status FROM pgq_jobs") == [("succeeded",)]


def test_shipped_revision_is_what_pgq_sa_db_revision_writes(tmp_path):
    """The example's newest pgq-sa revision (the step to the newest schema, on top of
    the app's own 0003) comes from the command, in the app's template."""
    shop = Shop(tmp_path / "shop", "postgresql://unused@127.0.0.1/none", "app-owned", None)
    versions = shop.root / "migrations" / "versions"
    for name in (*PGQ_REVISIONS, "0003_welcome_emails.py"):
        (versions / name).unlink()

    def normal(text: str) -> str:
        return re.sub(r"Create Date: .*", "", text).replace("'", '"')

    # the first: pgq-sa's schema 0 -> 2 (the version of that day)
    out = shop.pgq("db", "revision", "--rev-id", "0002", "--version", "2")
    assert "pgq-sa schema 0 -> 2, on top of 0001" in out.stdout
    for name in ("0002_pgq_sa_schema_version_2.py",):
        assert normal((versions / name).read_text()) == normal(
            (EXAMPLE / "migrations" / "versions" / name).read_text())
    # the app's own revision, then the next pgq-sa: 2 -> 3
    shutil.copy(EXAMPLE / "migrations" / "versions" / "0003_welcome_emails.py", versions)
    out = shop.pgq("db", "revision", "--rev-id", "0004")
    assert "pgq-sa schema 2 -> 3, on top of 0003" in out.stdout
    name = "0004_pgq_sa_schema_version_3.py"
    assert normal((versions / name).read_text()) == normal(
        (EXAMPLE / "migrations" / "versions" / name).read_text())
    again = shop.pgq("db", "revision", "--alembic-dir", "migrations")
    assert again.stdout.startswith("nothing to write"), again.stdout


@pytest.mark.parametrize("mode", ["app-owned", "standalone", "branch"])
def test_example_app_in_each_mode(mode, empty_db, tmp_path, request):
    wheel = request.getfixturevalue("wheel_site") if mode == "branch" else None
    shop = Shop(tmp_path / "shop", empty_db, mode, wheel)
    shop.start_up()
    assert {"users", "welcome_emails", "alembic_version"} | PGQ_TABLES <= shop.tables()
    heads = shop.alembic("heads").stdout.split("\n")
    heads = [h for h in heads if h.strip()]
    if mode == "branch":  # the documented cost of this mode: two heads
        assert len(heads) == 2, heads
        out = shop.alembic("upgrade", "head", ok=False)
        assert out.returncode != 0 and "Multiple head revisions" in out.stderr
    else:
        assert len(heads) == 1, heads
    check = shop.alembic("check")
    assert "No new upgrade operations detected" in check.stdout + check.stderr
    current = shop.pgq("db", "current").stdout
    label = {"app-owned": "app-owned", "standalone": "standalone",
             "branch": "app history branch"}[mode]
    assert current.startswith(f"version {LATEST}, {label}"), current

    with shop.serve() as http:
        sign_up_and_work(shop, http)

    if mode == "app-owned":
        # the worker inside the app's lifespan: starts and stops with it
        with shop.serve(SHOP_WORKER="inprocess") as http:
            carol = http.post("/users", json={"email": "carol@example.com"}).json()["id"]
            wait_until(lambda: http.get(f"/users/{carol}").json()["welcome_email_sent"], 30,
                       message="the in-process worker to send the email")
            assert query(shop.dsn, "SELECT count(*) FROM pgq_workers") == [(1,)]
        assert query(shop.dsn, "SELECT count(*) FROM pgq_workers") == [(0,)]

    # downgrades, as documented
    if mode == "app-owned":
        shop.alembic("downgrade", "-1")  # the app's revision that took pgq-sa 2 -> 3
        assert "pgq_queues" not in shop.tables() and "pgq_job_deps" not in shop.tables()
        assert "welcome_emails" in shop.tables() and "pgq_stats" in shop.tables()
        shop.alembic("downgrade", "-1")  # the app's own revision
        assert "welcome_emails" not in shop.tables() and "pgq_jobs" in shop.tables()
        shop.alembic("downgrade", "-1")  # the app's revision that installed pgq-sa
        assert PGQ_TABLES & shop.tables() == set() and "users" in shop.tables()
    elif mode == "standalone":
        shop.alembic("downgrade", "-1")  # never touches pgq-sa
        assert "welcome_emails" not in shop.tables() and shop.tables() >= PGQ_TABLES
        shop.pgq("db", "downgrade", "base")
        assert PGQ_TABLES & shop.tables() == set() and "users" in shop.tables()
    else:
        shop.alembic("downgrade", "shop@-1")  # name the app's branch: never plain -1
        assert "welcome_emails" not in shop.tables() and shop.tables() >= PGQ_TABLES
        shop.alembic("downgrade", "pgq_sa@base")
        assert PGQ_TABLES & shop.tables() == set() and "users" in shop.tables()
