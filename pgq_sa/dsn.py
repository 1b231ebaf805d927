"""Database URLs: accept what users have, hand SQLAlchemy what it needs.

``postgresql://…``, ``postgres://…`` (libpq style, as in ``DATABASE_URL``) and any
SQLAlchemy PostgreSQL URL (``postgresql+psycopg2://…``) are accepted; workers and
the CLI always talk through asyncpg.
"""

from __future__ import annotations

import os
import re

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from .errors import ConfigurationError

__all__ = ["async_url", "describe", "dsn_from_env", "masked"]


#: ``scheme://user:password@`` or ``user:password@``: the password of a URL that
#: may not parse
_PASSWORD = re.compile(r"(?P<head>^[^:/?#@]*://[^:/?#@]*):.*@")
_PASSWORD_NO_SCHEME = re.compile(r"(?P<head>^[^:/?#@]*):.*@")


def masked(url: str) -> str:
    """``url`` with any password replaced by ``***``, for messages."""
    pattern = _PASSWORD if "://" in url else _PASSWORD_NO_SCHEME
    return pattern.sub(r"\g<head>:***@", url)


def _parse(url: str | URL) -> URL:
    if isinstance(url, URL):
        return url
    text = url.strip()
    if text.startswith("postgres://"):
        text = "postgresql://" + text[len("postgres://"):]
    try:
        parsed = make_url(text)
    except ArgumentError:
        raise ConfigurationError(
            f"bad database URL {masked(text)!r}: expected postgresql://user@host:port/dbname"
        ) from None
    if parsed.get_backend_name() != "postgresql":
        raise ConfigurationError(
            f"bad database URL {parsed.render_as_string(hide_password=True)!r}: pgq-sa "
            "needs PostgreSQL (postgresql://user@host:port/dbname)"
        )
    return parsed


def async_url(url: str | URL) -> URL:
    """``url`` with the asyncpg driver (libpq-only query options dropped)."""
    parsed = _parse(url).set(drivername="postgresql+asyncpg")
    # asyncpg does not understand libpq's sslmode spelling; map the common case.
    query = dict(parsed.query)
    sslmode = query.pop("sslmode", None)
    if sslmode is not None and "ssl" not in query:
        query["ssl"] = sslmode
    return parsed.set(query=query)


def describe(url: str | URL) -> str:
    """``host:port/dbname`` for messages (never the password)."""
    parsed = _parse(url)
    return f"{parsed.host or 'localhost'}:{parsed.port or 5432}/{parsed.database or ''}"


def dsn_from_env() -> str | None:
    """``PGQ_SA_DSN``, else ``DATABASE_URL``, else ``None``."""
    return os.environ.get("PGQ_SA_DSN") or os.environ.get("DATABASE_URL") or None
