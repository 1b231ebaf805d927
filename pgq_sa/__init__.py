"""pgq-sa: a PostgreSQL-native background job queue for SQLAlchemy applications.

Importing ``pgq_sa`` is cheap and changes nothing in the host process (no GC
setting, signal handler, logging handler or event loop policy): each name below is
imported from its module on first use.  The ``pgq-sa`` command, which owns its
process, pauses the cyclic GC while it imports (see :mod:`pgq_sa.cli.main`).
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: Public name -> the module (under ``pgq_sa``) that defines it.
_EXPORTS: dict[str, str] = {
    "cancel": "admin", "cancel_sync": "admin", "retry": "admin", "retry_sync": "admin",
    "pause_queue": "admin", "pause_queue_sync": "admin", "resume_queue": "admin",
    "resume_queue_sync": "admin", "paused_queues": "admin",
    "Backoff": "backoff",
    "JobContext": "context", "Snooze": "context",
    "enqueue": "enqueue", "enqueue_many": "enqueue", "enqueue_many_sync": "enqueue",
    "enqueue_sync": "enqueue",
    "CommitRefused": "errors", "ConfigurationError": "errors", "DatabaseUnavailable": "errors",
    "MigrationModeError": "errors", "PayloadError": "errors", "PgqError": "errors",
    "SchemaNotInstalled": "errors", "SchemaOutOfDate": "errors", "UnknownTask": "errors",
    "JobFailed": "errors",
    "JobSpec": "job", "Registry": "registry", "Task": "registry", "Schedule": "periodic",
    "wait": "results", "wait_sync": "results",
    "Step": "workflow", "Workflow": "workflow",
    "FINISHED_STATUSES": "schema", "NAMING_CONVENTION": "schema", "STATUSES": "schema",
    "Tables": "schema", "add_tables": "schema", "metadata": "schema", "tables": "schema",
    "tables_for": "schema", "validate_identifier": "schema",
    "Worker": "worker", "WorkerConfig": "worker",
}
#: Submodules offered as attributes (``pgq_sa.admin``, ``pgq_sa.testing``...);
#: ``pgq_sa.web`` loads the web extra's packages only when an app is created.
_MODULES = frozenset({"admin", "dsn", "migrate", "testing", "web"})

if TYPE_CHECKING:
    from . import admin, dsn, migrate, testing, web
    from .admin import (
        cancel,
        cancel_sync,
        pause_queue,
        pause_queue_sync,
        paused_queues,
        resume_queue,
        resume_queue_sync,
        retry,
        retry_sync,
    )
    from .backoff import Backoff
    from .context import JobContext, Snooze
    from .enqueue import enqueue, enqueue_many, enqueue_many_sync, enqueue_sync
    from .errors import (
        CommitRefused,
        ConfigurationError,
        DatabaseUnavailable,
        JobFailed,
        MigrationModeError,
        PayloadError,
        PgqError,
        SchemaNotInstalled,
        SchemaOutOfDate,
        UnknownTask,
    )
    from .job import JobSpec
    from .periodic import Schedule
    from .registry import Registry, Task
    from .results import wait, wait_sync
    from .schema import (
        FINISHED_STATUSES,
        NAMING_CONVENTION,
        STATUSES,
        Tables,
        add_tables,
        metadata,
        tables,
        tables_for,
        validate_identifier,
    )
    from .worker import Worker, WorkerConfig
    from .workflow import Step, Workflow


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is not None:
        value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    elif name in _MODULES:
        value = importlib.import_module(f"{__name__}.{name}")
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


class _Package(types.ModuleType):
    """``pgq_sa.enqueue`` is the function, as with an eager import: when the import
    system binds the submodule ``pgq_sa.enqueue`` to the package on its first
    import, the function of the same name keeps the attribute."""

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, types.ModuleType) and _EXPORTS.get(name) == name:
            value = getattr(value, name)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package

__all__ = [
    "FINISHED_STATUSES",
    "NAMING_CONVENTION",
    "STATUSES",
    "Backoff",
    "CommitRefused",
    "ConfigurationError",
    "DatabaseUnavailable",
    "JobContext",
    "JobFailed",
    "JobSpec",
    "MigrationModeError",
    "PayloadError",
    "PgqError",
    "Registry",
    "Schedule",
    "SchemaNotInstalled",
    "SchemaOutOfDate",
    "Snooze",
    "Step",
    "Tables",
    "Task",
    "UnknownTask",
    "Worker",
    "WorkerConfig",
    "Workflow",
    "__version__",
    "add_tables",
    "admin",
    "cancel",
    "cancel_sync",
    "dsn",
    "enqueue",
    "enqueue_many",
    "enqueue_many_sync",
    "enqueue_sync",
    "metadata",
    "migrate",
    "pause_queue",
    "pause_queue_sync",
    "paused_queues",
    "resume_queue",
    "resume_queue_sync",
    "retry",
    "retry_sync",
    "tables",
    "tables_for",
    "testing",
    "validate_identifier",
    "wait",
    "wait_sync",
    "web",
]
