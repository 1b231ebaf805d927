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
    concurrency: int = 16
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
    #: Run the rescuer (returns jobs of dead workers to the queue).
    rescue: bool = True
    worker_id: str = field(default_factory=_default_worker_id)

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
