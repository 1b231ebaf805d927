"""Shared CLI plumbing: DSN resolution, one-line errors, async helpers."""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import sys
from collections.abc import Awaitable, Callable
from typing import Any, NoReturn, TypeVar

import asyncpg
import click
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from .. import retention
from ..driver import is_connection_error
from ..dsn import async_url, describe, dsn_from_env, engine_options
from ..errors import PgqError, SchemaNotInstalled
from ..schema import validate_identifier
from ..schema_state import missing_schema

T = TypeVar("T")

dsn_option = click.option(
    "--dsn", envvar=None, default=None, metavar="URL",
    help="PostgreSQL URL (postgresql://… or a SQLAlchemy URL). "
         "Default: $PGQ_SA_DSN, else $DATABASE_URL.",
)
def _schema(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if not value:
        return None
    try:
        return validate_identifier(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


schema_option = click.option(
    "--schema", default=None, metavar="NAME", envvar="PGQ_SA_SCHEMA", callback=_schema,
    help="PostgreSQL schema holding the pgq-sa tables. Default: $PGQ_SA_SCHEMA, else "
         "the search path.",
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")
now_option = click.option("--now", "now_text", default=None, hidden=True,
                          help="Use this time (ISO 8601) instead of the clock.")


def fail(message: str, code: int = 1) -> NoReturn:
    """Print ``error: message`` on stderr and exit with ``code``."""
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def resolve_dsn(dsn: str | None) -> str:
    value = dsn or dsn_from_env()
    if not value:
        fail("no database given: pass --dsn or set PGQ_SA_DSN (or DATABASE_URL)", 2)
    try:
        async_url(value)
    except PgqError as exc:
        fail(str(exc), 2)
    return value


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def explain(exc: BaseException, dsn: str | None) -> str:
    """A one-line message for a database failure."""
    where = describe(dsn) if dsn else "the database"
    orig = exc.orig if isinstance(exc, sa_exc.DBAPIError) and exc.orig is not None else exc
    cause = getattr(orig, "__cause__", None)
    for candidate in (orig, cause):
        if isinstance(candidate, asyncpg.InvalidCatalogNameError):
            return f"database does not exist at {where}: {_first_line(candidate)}"
        if isinstance(candidate, (asyncpg.InvalidAuthorizationSpecificationError,
                                  asyncpg.InvalidPasswordError)):
            return f"cannot log in to PostgreSQL at {where}: {_first_line(candidate)}"
    if missing_schema(exc) is not None:
        return schema_advice(SchemaNotInstalled(where), dsn)
    if is_connection_error(exc) or isinstance(exc, (OSError, asyncio.TimeoutError)):
        return (f"cannot connect to PostgreSQL at {where}: {_first_line(orig)} "
                "(is the server running and the DSN right?)")
    return f"{type(orig).__name__}: {_first_line(orig)}"


def schema_advice(exc: SchemaNotInstalled, dsn: str | None) -> str:
    """What to run about a missing or old schema, for how this database manages it
    (:mod:`pgq_sa.schema_state` looks; a generic line if it cannot)."""
    if exc.advice or not dsn:
        return str(exc)
    try:
        asyncio.get_running_loop()
        return str(exc)  # called from async code: that code looks itself
    except RuntimeError:
        pass
    from ..schema_state import detect

    ctx = click.get_current_context(silent=True)
    schema = ctx.params.get("schema") if ctx is not None else None

    async def look() -> str | None:
        engine = create_async_engine(async_url(dsn), poolclass=NullPool,
                                     **engine_options(dsn, timeout=10))
        try:
            state = await detect(engine, schema if isinstance(schema, str) else None)
        finally:
            await engine.dispose()
        return state.advice()

    try:
        return asyncio.run(look()) or str(exc)
    except Exception:
        return str(exc)


def handle_errors(fn: Callable[..., T]) -> Callable[..., T]:
    """Turn expected failures into one-line messages and a non-zero exit."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        try:
            return fn(*args, **kwargs)
        except (click.exceptions.Exit, click.ClickException, SystemExit):
            raise
        except SchemaNotInstalled as exc:
            fail(schema_advice(exc, click.get_current_context().meta.get("pgq_sa.dsn")))
        except PgqError as exc:
            fail(str(exc))
        except KeyboardInterrupt:
            fail("interrupted", 130)
        except Exception as exc:
            dsn = click.get_current_context().meta.get("pgq_sa.dsn")
            if isinstance(exc, (sa_exc.DBAPIError, asyncpg.PostgresError, OSError,
                                asyncio.TimeoutError)) or is_connection_error(exc):
                fail(explain(exc, dsn))
            raise

    return wrapper


def make_engine(dsn: str, *, pool_size: int = 2, max_overflow: int = 2) -> AsyncEngine:
    click.get_current_context().meta["pgq_sa.dsn"] = dsn
    return create_async_engine(async_url(dsn), pool_size=pool_size, max_overflow=max_overflow,
                               **engine_options(dsn, timeout=10))


def run_async(fn: Callable[[AsyncEngine], Awaitable[T]], dsn: str) -> T:
    """Run ``fn(engine)`` on a fresh engine, disposing it afterwards."""
    engine = make_engine(dsn)

    async def main() -> T:
        try:
            return await fn(engine)
        finally:
            await engine.dispose()

    return asyncio.run(main())


def print_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


def setup_logging(level: str) -> None:
    from ..logs import configure

    configure(level)




def duration_option(ctx: click.Context, param: click.Parameter,
                    value: str | None) -> float | None:
    """click callback: a duration (``90s``, ``15m``, ``12h``, ``7d``) in seconds, or
    ``None`` for ``never``."""
    if value is None or value.lower() in ("never", "none"):
        return None
    try:
        return retention.parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


__all__ = ["dsn_option", "duration_option", "explain", "fail", "handle_errors",
           "json_option", "logging", "make_engine", "now_option", "print_json", "resolve_dsn",
           "run_async", "schema_advice", "schema_option", "setup_logging"]
