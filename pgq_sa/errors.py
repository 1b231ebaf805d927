"""Exceptions pgq-sa raises to its users."""

from __future__ import annotations

__all__ = [
    "ConfigurationError",
    "DatabaseUnavailable",
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
