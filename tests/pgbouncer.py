"""PgBouncer in transaction pooling mode, started by a test on a free port of its own.

Debian's ``pgbouncer`` package (``.ci/run`` installs it).  PgBouncer refuses to
run as root: as root it runs as the ``postgres`` user (``runuser``).
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from sqlalchemy.engine import make_url

PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PgBouncer:
    """``pgbouncer`` as a child process in front of the test server."""

    def __init__(self, server_dsn: str, *, pool_size: int = 20) -> None:
        server = make_url(server_dsn)
        self.user = server.username or "postgres"
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="pgq-pgbouncer-"))
        (self.dir / "userlist.txt").write_text(f'"{self.user}" ""\n')
        self.ini = self.dir / "pgbouncer.ini"
        self.ini.write_text(f"""\
[databases]
* = host={server.host or '127.0.0.1'} port={server.port or 5432}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {self.port}
unix_socket_dir =
auth_type = trust
auth_file = {self.dir / 'userlist.txt'}
pool_mode = transaction
default_pool_size = {pool_size}
max_client_conn = 500
ignore_startup_parameters = extra_float_digits,options
logfile = {self.dir / 'pgbouncer.log'}
server_reset_query =
""")
        command = [PGBOUNCER, str(self.ini)]
        if os.geteuid() == 0:  # it refuses to run as root
            uid = pwd.getpwnam("postgres").pw_uid
            for path in (self.dir, *self.dir.iterdir()):
                os.chown(path, uid, -1)
            command = ["runuser", "-u", "postgres", "--", *command]
        self.proc = subprocess.Popen(command, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.STDOUT)
        self._wait_ready()

    def _wait_ready(self, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"pgbouncer exited with {self.proc.returncode}:\n"
                                   f"{self.log()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"pgbouncer did not listen in {timeout}s:\n"
                                       f"{self.log()}") from None
                time.sleep(0.05)

    def url(self, dsn: str) -> str:
        """``dsn`` through this PgBouncer, with ``pgbouncer=true``."""
        url = make_url(dsn).set(host="127.0.0.1", port=self.port)
        return url.update_query_dict({"pgbouncer": "true"}).render_as_string(
            hide_password=False)

    def log(self) -> str:
        path = self.dir / "pgbouncer.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)
