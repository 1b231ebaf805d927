"""Worker settings."""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass, field

__all__ = ["WorkerConfig"]


def _default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass
class WorkerConfig:
    """How a worker runs.  Every duration is in seconds."""

    #: Queues to serve; empty means every queue the registry's tasks use.
    queues: list[str] = field(default_factory=list)
    #: Jobs run at once (async tasks, and threads for plain ``def`` handlers).
    concurrency: int = 64
    #: Look for work at least this often, in case a notification was lost.
    poll_interval: float = 1.0
    #: Seconds running jobs get to finish after SIGTERM/SIGINT before being cancelled.
    shutdown_timeout: float = 30.0
    #: LISTEN for new jobs and cancellations (polling alone when False).
    listen: bool = True
    #: Listener health check period (a ``SELECT 1`` under a timeout).
    listener_health_interval: float = 5.0
    #: A worker statement taking longer than this is presumed stuck on a dead network
    #: path: its connection is dropped and replaced.  Keep it well above the slowest
    #: normal claim or acknowledgement.
    db_timeout: float = 10.0
    #: Wait for the worker's own writes (claims, outcomes, heartbeats) to be flushed
    #: to disk at each commit.  Off by default (``synchronous_commit = off`` on the
    #: worker's connections only; enqueues and everything else keep the server's
    #: setting): a claim or an outcome then returns without waiting for its WAL
    #: flush, which cut a job's pickup latency by 0.3-0.5 ms and raised drains by a
    #: few percent here.  A database crash can lose the last fraction of a second of
    #: those writes (never corrupt anything): the jobs concerned run again, as they
    #: would after a worker crash (at-least-once).  Turn it on if re-running a job
    #: after a database crash is worse for you than the latency.
    synchronous_commit: bool = False
    #: Run the rescuer (returns jobs of dead workers to the queue).
    rescue: bool = True
    #: Hold a session-level advisory lock on the listener's connection for the
    #: worker's lifetime, so that when this process dies (SIGKILL, OOM kill) the
    #: other workers see its session gone and rescue its jobs within about a second,
    #: not after the heartbeat timeout.  Off: only the heartbeat timeout applies.
    session_lock: bool = True
    #: A direct database URL (not through PgBouncer) for the listener's connection:
    #: LISTEN and the session lock.  Behind PgBouncer in transaction pooling mode
    #: without it, the worker polls only and its jobs wait for the heartbeat timeout
    #: after a crash.
    listen_dsn: str | None = None
    #: The worker's URL goes through PgBouncer in transaction pooling mode (no
    #: session settings, no LISTEN on it).  ``None``: ``pgbouncer=true`` in the URL
    #: says so (pass ``True`` with an ``AsyncEngine`` of your own).
    pgbouncer: bool | None = None
    worker_id: str = field(default_factory=_default_worker_id)
    #: Count outcomes into ``pgq_stats`` (the dashboard's figures): aggregated in
    #: memory, written once a second.
    stats: bool = True
    #: Delete finished jobs older than this (seconds; ``None`` keeps them forever).
    job_retention: float | None = 86400.0
    #: Delete statistics older than this (seconds; ``None`` keeps them forever).
    stats_retention: float | None = 7 * 86400.0
    #: Seconds between pruning passes (jittered across workers).
    prune_interval: float = 60.0
    #: Serve Prometheus metrics on this port (``None``: no metrics server).
    metrics_port: int | None = None
    #: Address the metrics server binds to.
    metrics_addr: str = "0.0.0.0"
    #: Seconds between queue-depth samples for the metrics.
    metrics_interval: float = 5.0
    #: Largest handler result stored (bytes of JSON); a larger one fails its job
    #: (not retried) with an error that says so.
    max_result_bytes: int = 1024 * 1024

    def __post_init__(self) -> None:
        if self.concurrency < 1:
            raise ValueError("concurrency must be >= 1")
        if self.poll_interval <= 0:
            raise ValueError("poll_interval must be > 0")
        if self.db_timeout <= 0:
            raise ValueError("db_timeout must be > 0")
        if self.listener_health_interval <= 0:
            raise ValueError("listener_health_interval must be > 0")
        if self.shutdown_timeout < 0:
            raise ValueError("shutdown_timeout must be >= 0")
        for name in ("job_retention", "stats_retention"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"{name} must be >= 0 or None")
        if self.max_result_bytes < 0:
            raise ValueError("max_result_bytes must be >= 0")
        if self.prune_interval <= 0 or self.metrics_interval <= 0:
            raise ValueError("prune_interval and metrics_interval must be > 0")
