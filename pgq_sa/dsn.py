"""Database URLs: accept what users have, hand SQLAlchemy what it needs.

``postgresql://…``, ``postgres://…`` (libpq style, as in ``DATABASE_URL``) and any
SQLAlchemy PostgreSQL URL (``postgresql+psycopg2://…``) are accepted; workers and
the CLI always talk through asyncpg.

Behind PgBouncer in transaction pooling mode, add ``pgbouncer=true`` to the URL's
query (``postgresql://app@bouncer:6432/app?pgbouncer=true``): pgq-sa then turns off
asyncpg's and SQLAlchemy's prepared-statement caches and names each prepared
statement uniquely (:func:`engine_options`), keeps no session settings, and a
worker LISTENs only through a direct connection (``--listen-dsn``).  See
``docs/topologies.rst``.
"""

from __future__ import annotations

import os
import re
import uuid
from typing import Any

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from .errors import ConfigurationError

__all__ = ["async_url", "behind_pgbouncer", "describe", "dsn_from_env", "engine_options",
           "masked"]

#: The URL query option that says the URL points at PgBouncer (transaction pooling).
PGBOUNCER_OPTION = "pgbouncer"
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


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


def behind_pgbouncer(url: str | URL) -> bool:
    """True if ``url`` says ``pgbouncer=true`` (transaction pooling: no session state,
    no LISTEN, no named prepared statements kept across transactions)."""
    value = _parse(url).query.get(PGBOUNCER_OPTION)
    if value is None:
        return False
    text = (value if isinstance(value, str) else value[-1]).strip().lower()
    if text not in _TRUE + _FALSE:
        raise ConfigurationError(
            f"bad database URL option {PGBOUNCER_OPTION}={text!r}: use "
            f"{PGBOUNCER_OPTION}=true (behind PgBouncer in transaction pooling mode) or "
            "leave it out")
    return text in _TRUE


def _unique_statement_name() -> str:
    return f"__pgq_sa_{uuid.uuid4().hex}__"


def engine_options(url: str | URL, **connect_args: Any) -> dict[str, Any]:
    """Keyword arguments for ``create_async_engine`` that ``url`` needs (with
    ``connect_args`` of the caller's): behind PgBouncer, no asyncpg statement cache
    and a unique name per prepared statement (a name never meets another client's
    statement on a shared server connection)."""
    if behind_pgbouncer(url):
        connect_args = {"statement_cache_size": 0,
                        "prepared_statement_name_func": _unique_statement_name,
                        **connect_args}
    return {"connect_args": connect_args} if connect_args else {}


def async_url(url: str | URL) -> URL:
    """``url`` with the asyncpg driver (libpq-only query options dropped; behind
    PgBouncer, SQLAlchemy's prepared-statement cache off)."""
    bouncer = behind_pgbouncer(url)
    parsed = _parse(url).set(drivername="postgresql+asyncpg")
    # asyncpg does not understand libpq's sslmode spelling; map the common case.
    query = dict(parsed.query)
    query.pop(PGBOUNCER_OPTION, None)
    if bouncer:
        query["prepared_statement_cache_size"] = "0"
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
