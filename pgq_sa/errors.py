"""Exceptions pgq-sa raises to its users."""

from __future__ import annotations

__all__ = [
    "CommitRefused",
    "ConfigurationError",
    "DatabaseUnavailable",
    "JobFailed",
    "MigrationModeError",
    "PayloadError",
    "PgqError",
    "SchemaNotInstalled",
    "SchemaOutOfDate",
    "UnknownTask",
]


class PgqError(Exception):
    """Base class for pgq-sa errors whose message is meant for a human, in one line."""


class ConfigurationError(PgqError, ValueError):
    """Bad configuration: a malformed DSN, an unloadable registry, an invalid option."""


class SchemaNotInstalled(PgqError):
    """The pgq-sa tables are missing from the database.

    ``advice`` is the whole message when the caller knows how the schema is managed
    (:meth:`pgq_sa.schema_state.SchemaState.advice`); otherwise the message sends the
    reader to ``pgq-sa db current``, which does know."""

    def __init__(self, where: str = "", *, advice: str | None = None) -> None:
        suffix = f" in {where}" if where else ""
        #: The message, when it was written knowing how the schema is managed.
        self.advice = advice
        super().__init__(advice or (
            f"pgq-sa schema not installed{suffix}, or older than this pgq-sa: "
            "pgq-sa db current says how it is managed and what to run"))


class SchemaOutOfDate(SchemaNotInstalled):
    """The pgq-sa schema is installed at an older version than this pgq-sa needs."""


class MigrationModeError(PgqError):
    """A migration command that does not fit how the schema is managed (for example
    ``pgq-sa db upgrade`` on tables installed by the application's own Alembic
    history)."""


class DatabaseUnavailable(PgqError):
    """The database cannot be reached."""


class UnknownTask(PgqError, LookupError):
    """An entrypoint that no task in the registry has."""


class PayloadError(PgqError, TypeError, ValueError):
    """A payload value that does not convert to (or from) its parameter's type.

    The message names where (``payload.user.id``) and which type, never the value:
    a model's repr can carry a password hash.  It is both a ``TypeError`` and a
    ``ValueError``, like the errors of plain JSON validation."""


class JobFailed(PgqError):
    """A job waited for (:func:`pgq_sa.wait`) ended without succeeding.

    ``status`` is its final status (``failed`` or ``cancelled``) and ``error`` its
    last error (``None`` if it has none)."""

    def __init__(self, job_id: int, status: str, error: str | None) -> None:
        self.job_id = job_id
        self.status = status
        self.error = error
        super().__init__(f"job {job_id} {status}" + (f": {error}" if error else ""))


class CommitRefused(PgqError):
    """``ctx.transaction()`` could not mark the job succeeded: it was rescued (its
    worker looked dead), cancelled or ended meanwhile.  The transaction was rolled
    back: none of its writes were applied."""
