"""pgq-sa: a PostgreSQL-native background job queue for SQLAlchemy applications."""

import gc as _gc

# Importing SQLAlchemy creates a few hundred thousand objects that live as long as
# the process, and the cyclic GC would walk them again and again while they are
# made.  The import runs with the collector paused; what it made then goes
# straight to the oldest generation (freeze + unfreeze moves every tracked object
# there, and walks none), so the next young collection does not walk it either.
# A worker starts about 60 ms (a fifth) sooner.
_gc_was_enabled = _gc.isenabled()
_gc.disable()
try:
    from . import admin, dsn
    from .admin import cancel, cancel_sync, retry, retry_sync
    from .backoff import Backoff
    from .context import JobContext, Snooze
    from .enqueue import enqueue, enqueue_many, enqueue_many_sync, enqueue_sync, tables_for
    from .errors import (
        ConfigurationError,
        DatabaseUnavailable,
        MigrationModeError,
        PgqError,
        SchemaNotInstalled,
        SchemaOutOfDate,
        UnknownTask,
    )
    from .registry import JobSpec, Registry, Task
    from .schema import (
        FINISHED_STATUSES,
        NAMING_CONVENTION,
        STATUSES,
        Tables,
        add_tables,
        metadata,
        tables,
        validate_identifier,
    )
    from .worker import Worker, WorkerConfig
finally:
    if _gc_was_enabled:
        _gc.freeze()
        _gc.unfreeze()
        _gc.enable()

__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    # Alembic is only needed to migrate: keep it out of the worker's start-up.
    if name in ("migrate", "testing"):
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "FINISHED_STATUSES",
    "NAMING_CONVENTION",
    "STATUSES",
    "Backoff",
    "ConfigurationError",
    "DatabaseUnavailable",
    "JobContext",
    "JobSpec",
    "MigrationModeError",
    "PgqError",
    "Registry",
    "SchemaNotInstalled",
    "SchemaOutOfDate",
    "Snooze",
    "Tables",
    "Task",
    "UnknownTask",
    "Worker",
    "WorkerConfig",
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
    "retry",
    "retry_sync",
    "tables",
    "tables_for",
    "testing",
    "validate_identifier",
]
