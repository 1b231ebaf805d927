"""A throwaway PostgreSQL cluster with stock settings for one benchmark run.

``initdb`` into a temporary directory, ``pg_ctl start`` on a free loopback port,
``pg_ctl stop`` and removal at the end.  Nothing is tuned: autovacuum, shared
buffers, WAL and checkpoints are what ``initdb`` writes, as a user's fresh server
has them (the machine's shared server runs with autovacuum off, which makes
drains and bloat figures meaningless).  As root, the server runs as the
``postgres`` system user (``initdb`` refuses root).
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

#: Preloaded only when asked for (``--pg-stat-statements``): not a stock setting.
PROFILE_SETTINGS = ("shared_preload_libraries=pg_stat_statements",
                    "pg_stat_statements.track=all")


def find_bindir() -> Path:
    """Directory of ``initdb``/``pg_ctl``: ``$PG_BINDIR``, ``pg_config``, or the newest
    ``/usr/lib/postgresql/*/bin``."""
    if os.environ.get("PG_BINDIR"):
        return Path(os.environ["PG_BINDIR"])
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    if candidates:
        return Path(candidates[-1]).parent
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=True)
        return Path(out.stdout.strip())
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise RuntimeError("initdb not found: install PostgreSQL's server package or set PG_BINDIR")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_user(argv: list[str], user: str | None) -> list[str]:
    return argv if user is None else ["runuser", "-u", user, "--", *argv]


@contextlib.contextmanager
def throwaway_cluster(settings: Sequence[str] = ()) -> Iterator[str]:
    """Start a fresh cluster; yield the DSN of its ``postgres`` maintenance database."""
    bindir = find_bindir()
    user = "postgres" if os.geteuid() == 0 else None
    base = Path(tempfile.mkdtemp(prefix="pgq-bench-cluster-"))
    data, sockets, log = base / "data", base / "sock", base / "server.log"
    sockets.mkdir()
    if user is not None:
        pw = pwd.getpwnam(user)
        for path in (base, sockets):
            os.chown(path, pw.pw_uid, pw.pw_gid)
    port = free_port()
    started = False
    try:
        subprocess.run(
            _as_user([str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust",
                      "-E", "UTF8", "--no-sync"], user),
            check=True, capture_output=True)
        options = [f"-p {port}", "-c listen_addresses=127.0.0.1",
                   f"-c unix_socket_directories={sockets}",
                   *(f"-c {s}" for s in settings)]
        subprocess.run(
            _as_user([str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w",
                      "-t", "60", "-o", " ".join(options), "start"], user),
            check=True, capture_output=True)
        started = True
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    except subprocess.CalledProcessError as exc:
        detail = (exc.stderr or b"").decode(errors="replace")
        if log.exists():
            detail += log.read_text(errors="replace")[-2000:]
        raise RuntimeError(f"throwaway cluster failed: {exc}\n{detail}") from None
    finally:
        if started:
            subprocess.run(
                _as_user([str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w",
                          "stop"], user),
                capture_output=True, check=False)
        # the server may take a moment to release its files after pg_ctl returns
        for _ in range(10):
            shutil.rmtree(base, ignore_errors=True)
            if not base.exists():
                break
            time.sleep(0.2)
