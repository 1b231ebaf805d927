"""The interface every benchmarked queue library implements, and what they share.

A harness run makes one adapter per (library, workload, repetition):

1. :meth:`QueueAdapter.create_db` makes a fresh database, and
   :meth:`QueueAdapter.install` installs the library's schema into it by the
   library's own means;
2. :meth:`QueueAdapter.open_producer` opens whatever the library needs to
   enqueue from the harness process (:meth:`enqueue_batch`, :meth:`enqueue_single`);
3. workers are separate processes started from the library's own CLI
   (:meth:`worker_command`, run by :meth:`start_worker`, ended by :meth:`stop_worker`);
4. progress is read from the library's tables over a harness-owned asyncpg
   connection (:meth:`snapshot`, :meth:`count_pending`, :meth:`last_finished_at`);
5. :meth:`close` stops leftover workers, closes the producer and drops the database.

Every job is an async no-op that calls :func:`benchmarks.apps.recorder.record`
with its integer key; the harness reads the start times from ``BENCH_OUT``.
"""

from __future__ import annotations

import abc
import asyncio
import atexit
import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import IO, ClassVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg

BENCHMARKS_DIR = Path(__file__).resolve().parents[1]

#: The application's own tables for the transactional workload: an order (the
#: business row) and an audit row (the yardstick: one more plain insert).
BUSINESS_DDL = """
CREATE TABLE bench_orders (id bigserial PRIMARY KEY, k bigint NOT NULL,
                           placed_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE bench_audit (id bigserial PRIMARY KEY, order_k bigint NOT NULL,
                          at timestamptz NOT NULL DEFAULT now());
"""
#: The same inserts in each driver's parameter style.
TXN_SQL = {
    "order_numeric": "INSERT INTO bench_orders (k) VALUES ($1)",
    "audit_numeric": "INSERT INTO bench_audit (order_k) VALUES ($1)",
    "order_pyformat": "INSERT INTO bench_orders (k) VALUES (%(k)s)",
    "audit_pyformat": "INSERT INTO bench_audit (order_k) VALUES (%(k)s)",
}
#: Variants of the transactional workload: the business row alone, with one job,
#: with one more plain insert instead of the job.
TXN_VARIANTS = ("row", "job", "insert")
DEFAULT_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
_import_root: Path | None = None


def import_root() -> Path:
    """A directory in which only the ``benchmarks`` package is importable.

    Worker processes get it on ``PYTHONPATH`` (and run in a scratch cwd) rather
    than the repository root, so a source-tree ``pgq_sa`` never shadows the
    installed one.
    """
    global _import_root
    if _import_root is None:
        root = Path(tempfile.mkdtemp(prefix="pgq-bench-path-"))
        (root / "benchmarks").symlink_to(BENCHMARKS_DIR, target_is_directory=True)
        atexit.register(shutil.rmtree, root, ignore_errors=True)
        _import_root = root
    return _import_root


def dsn_for_database(admin_dsn: str, database: str) -> str:
    """Return *admin_dsn* pointed at *database* instead."""
    parts = urlsplit(admin_dsn)
    return urlunsplit((parts.scheme, parts.netloc, "/" + database, parts.query, parts.fragment))


def console_script(name: str, module: str) -> list[str]:
    """The command that runs a library's CLI from the harness's own environment.

    Prefers the console script installed next to the running interpreter (what
    a user types), falling back to ``python -m module``.
    """
    script = Path(sys.executable).parent / name
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", module]


@dataclass
class Worker:
    """A worker process started by :meth:`QueueAdapter.start_worker`."""

    process: subprocess.Popen[bytes]
    log_path: Path
    started_at: float
    _log: IO[bytes] = field(repr=False)

    def log_tail(self, chars: int = 3000) -> str:
        """The end of the worker's combined stdout/stderr, for error messages."""
        with contextlib.suppress(OSError):
            return self.log_path.read_text(errors="replace")[-chars:]
        return ""


class QueueAdapter(abc.ABC):
    """Drive one queue library for the benchmark workloads.

    Subclasses set :attr:`name` (the ``--libs`` key) and :attr:`distribution`
    (the installed package to report the version of) and implement the
    abstract methods.  Library imports belong inside the subclass's module or
    methods, never at the top of a module shared with other libraries.
    """

    #: ``--libs`` key and results key, e.g. ``"pgqueuer"``.
    name: ClassVar[str]
    #: Distribution name whose version is reported, e.g. ``"pgqueuer"``.
    distribution: ClassVar[str]
    #: ``--libs`` key of pgq-sa itself: ratio columns compare it with each peer.
    SUBJECT: ClassVar[str] = "pgq_sa"
    #: The table holding the library's jobs (dead tuples are read from it).
    job_table: ClassVar[str]
    #: Transactional enqueue paths this adapter measures: ``"async"`` (workload
    #: ``txn``), ``"sync"`` (workload ``txn_sync``).
    txn_modes: ClassVar[tuple[str, ...]] = ()

    def __init__(self, admin_dsn: str, workdir: Path) -> None:
        self.admin_dsn = admin_dsn
        self.workdir = workdir
        self.database: str | None = None
        self.dsn = ""
        self.workers: list[Worker] = []

    # -- database lifecycle (shared) ------------------------------------------------

    async def create_db(self) -> str:
        """Create a fresh, uniquely named database and point :attr:`dsn` at it."""
        name = f"bench_{self.name}_{secrets.token_hex(4)}"
        admin = await asyncpg.connect(self.admin_dsn)
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
        finally:
            await admin.close()
        self.database = name
        self.dsn = dsn_for_database(self.admin_dsn, name)
        return name

    async def drop_db(self) -> None:
        """Drop the database made by :meth:`create_db`, ending its sessions."""
        if self.database is None:
            return
        admin = await asyncpg.connect(self.admin_dsn)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
        finally:
            await admin.close()
        self.database = None

    async def connect(self) -> asyncpg.Connection:
        """A plain asyncpg connection to the benchmark database (harness use)."""
        return await asyncpg.connect(self.dsn)

    async def close(self) -> None:
        """Kill leftover workers, close the producer, drop the database.

        Each step runs even when an earlier one fails.
        """
        try:
            for worker in list(self.workers):
                self.stop_worker(worker, timeout=5.0)
        finally:
            try:
                await self.close_producer()
            finally:
                await self.drop_db()

    def version(self) -> str:
        """Version of the library under test."""
        try:
            return metadata.version(self.distribution)
        except metadata.PackageNotFoundError:
            return "unknown"

    async def run_cli(self, argv: list[str], what: str) -> None:
        """Run a library's CLI command (schema install and such); raise on failure."""
        proc = await asyncio.create_subprocess_exec(
            *argv, cwd=self.workdir, env=self.worker_env(self.workdir),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await proc.communicate()
        if proc.returncode != 0:
            raise RuntimeError(f"{what} failed:\n{out.decode(errors='replace')}")

    # -- library specific ----------------------------------------------------------

    @abc.abstractmethod
    async def install(self) -> None:
        """Install the library's schema into :attr:`dsn` by the library's own means."""

    async def open_producer(self) -> None:  # noqa: B027 - optional hook
        """Open the harness-side client used by the enqueue methods."""

    async def close_producer(self) -> None:  # noqa: B027 - optional hook
        """Close what :meth:`open_producer` opened; must be safe to call twice."""

    @abc.abstractmethod
    async def enqueue_batch(self, keys: Sequence[int]) -> None:
        """Enqueue one no-op job per key with the library's batch API, then commit."""

    @abc.abstractmethod
    async def enqueue_single(self, key: int) -> None:
        """Enqueue one no-op job in its own transaction; return once committed."""

    @abc.abstractmethod
    def worker_command(self, concurrency: int | None) -> list[str]:
        """argv starting one worker through the library's CLI.

        ``concurrency=None`` means the library's default settings; an int asks
        for that many jobs in flight at once.
        """

    async def prepare_worker(self, concurrency: int | None) -> None:  # noqa: B027
        """Called before :meth:`start_worker`: settings a library keeps in its
        database (e.g. a queue's concurrency) are written here."""

    def worker_env(self, out_dir: Path) -> dict[str, str]:
        """Environment of a worker process: ``BENCH_DSN``, ``BENCH_OUT``, import path."""
        env = dict(os.environ)
        pythonpath = [str(import_root())]
        if env.get("PYTHONPATH"):
            pythonpath.append(env["PYTHONPATH"])
        env.update(
            BENCH_DSN=self.dsn,
            BENCH_OUT=str(out_dir),
            PYTHONPATH=os.pathsep.join(pythonpath),
            PYTHONUNBUFFERED="1",
        )
        return env

    async def snapshot(self, conn: asyncpg.Connection) -> None:  # noqa: B027 - optional hook
        """Called before a measured phase enqueues anything.

        An adapter may remember a watermark here (e.g. the highest job id) so
        that :meth:`count_pending` and :meth:`last_finished_at` only look at
        jobs enqueued afterwards.
        """

    @abc.abstractmethod
    async def count_pending(self, conn: asyncpg.Connection) -> int:
        """Jobs enqueued since :meth:`snapshot` that are due and not yet finished.

        Jobs scheduled for the future (the scale workload's seed) must not be
        counted.  Polled while workers run, so keep it cheap (index-backed).
        """

    async def last_finished_at(self, conn: asyncpg.Connection) -> float | None:
        """Epoch seconds at which the last job since :meth:`snapshot` finished.

        From the library's own bookkeeping, if it keeps such a time; ``None``
        makes the harness use the moment it saw :meth:`count_pending` reach 0.
        """
        return None

    @abc.abstractmethod
    async def seed_scale(self, conn: asyncpg.Connection, finished: int, future: int) -> None:
        """Make the database look like one that has run *finished* jobs and holds
        *future* jobs scheduled a day or more ahead, in the shape the library's
        own schema keeps them (plain SQL is fine).  Called before :meth:`snapshot`.
        """

    async def open_txn(self, mode: str) -> None:
        """Open what :meth:`txn_block` needs for *mode* (one of :attr:`txn_modes`);
        closed by :meth:`close_producer`."""
        raise NotImplementedError

    async def txn_block(self, mode: str, plan: Sequence[tuple[str, int]]) -> list[float]:
        """One committed transaction per ``(variant, key)`` of *plan*: insert a
        ``bench_orders`` row, then (variant ``"job"``) enqueue one job through the
        library's documented transactional path on the same connection, or
        (``"insert"``) insert one ``bench_audit`` row.  Returns the seconds each
        transaction took, in order."""
        raise NotImplementedError

    # -- worker processes (shared) ---------------------------------------------------

    def start_worker(self, out_dir: Path, concurrency: int | None = None) -> Worker:
        """Start :meth:`worker_command` as a separate process in its own session."""
        out_dir.mkdir(parents=True, exist_ok=True)
        log_path = out_dir / f"worker-{len(self.workers)}.log"
        log = log_path.open("wb")
        started_at = time.time()
        process = subprocess.Popen(
            self.worker_command(concurrency),
            cwd=out_dir,
            env=self.worker_env(out_dir),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        worker = Worker(process=process, log_path=log_path, started_at=started_at, _log=log)
        self.workers.append(worker)
        return worker

    def stop_worker(self, worker: Worker, timeout: float = 15.0) -> int | None:
        """SIGTERM the worker's process group, SIGKILL it after *timeout* seconds.

        Returns the exit code (negative for a signal).  A graceful stop lets the
        worker flush its start records at exit.
        """
        process = worker.process
        try:
            if process.poll() is None:
                _signal_group(process, signal.SIGTERM)
                try:
                    process.wait(timeout)
                except subprocess.TimeoutExpired:
                    _signal_group(process, signal.SIGKILL)
                    process.wait(10)
        finally:
            worker._log.close()
            if worker in self.workers:
                self.workers.remove(worker)
        return process.returncode


class WatermarkAdapter(QueueAdapter):
    """An adapter whose progress queries take the highest job id before a phase.

    Subclasses set :attr:`watermark_sql` (no parameter: the current highest id),
    :attr:`pending_sql` and :attr:`finished_at_sql` (``$1``: that id).
    """

    watermark_sql: ClassVar[str]
    pending_sql: ClassVar[str]
    finished_at_sql: ClassVar[str]

    def __init__(self, admin_dsn: str, workdir: Path) -> None:
        super().__init__(admin_dsn, workdir)
        self._watermark = 0

    async def snapshot(self, conn: asyncpg.Connection) -> None:
        self._watermark = int(await conn.fetchval(self.watermark_sql))

    async def count_pending(self, conn: asyncpg.Connection) -> int:
        return int(await conn.fetchval(self.pending_sql, self._watermark))

    async def last_finished_at(self, conn: asyncpg.Connection) -> float | None:
        value = await conn.fetchval(self.finished_at_sql, self._watermark)
        return None if value is None else float(value)


def _signal_group(process: subprocess.Popen[bytes], signum: signal.Signals) -> None:
    # Only called before the process is reaped, so its pid (= its group id,
    # thanks to start_new_session) cannot have been reused.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signum)
