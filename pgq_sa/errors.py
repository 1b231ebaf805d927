"""Exceptions pgq-sa raises to its users."""

from __future__ import annotations

__all__ = [
    "ConfigurationError",
    "DatabaseUnavailable",
    "PayloadError",
    "PgqError",
    "SchemaNotInstalled",
    "UnknownTask",
]


class PgqError(Exception):
    """Base class for pgq-sa errors whose message is meant for a human, in one line."""


class ConfigurationError(PgqError, ValueError):
    """Bad configuration: a malformed DSN, an unloadable registry, an invalid option."""


class SchemaNotInstalled(PgqError):
    """The pgq-sa tables are missing from the database."""

    def __init__(self, where: str = "") -> None:
        suffix = f" in {where}" if where else ""
        super().__init__(f"schema not installed{suffix}: run pgq-sa db upgrade")


class DatabaseUnavailable(PgqError):
    """The database cannot be reached."""


class UnknownTask(PgqError, LookupError):
    """An entrypoint that no task in the registry has."""


class PayloadError(PgqError, TypeError, ValueError):
    """A payload value that does not convert to (or from) its parameter's type.

    The message names where (``payload.user.id``) and which type, never the value:
    a model's repr can carry a password hash.  It is both a ``TypeError`` and a
    ``ValueError``, like the errors of plain JSON validation."""
