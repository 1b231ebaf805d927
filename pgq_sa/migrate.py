"""Run pgq-sa's Alembic migrations programmatically (``pgq-sa db …`` wraps this).

Applications with their own Alembic environment can instead carry pgq-sa's
revisions in their history: add :func:`versions_dir` to ``version_locations`` and
run ``alembic upgrade pgq_sa@head``.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable
from contextlib import redirect_stdout
from pathlib import Path
from typing import TypeVar

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, MetaData, Table, inspect, pool
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import create_async_engine

from .dsn import async_url
from .migration_support import BRANCH_LABEL, VERSION_TABLE
from .schema import validate_identifier

__all__ = ["config", "current", "downgrade", "migrations_dir", "offline_sql", "upgrade",
           "versions_dir"]


def migrations_dir() -> Path:
    """The directory with ``env.py`` and ``versions/`` (installed wheel or source tree)."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "_migrations", here.parent / "migrations"):
        if (candidate / "env.py").is_file():
            return candidate
    raise RuntimeError("pgq-sa migrations not found: reinstall pgq-sa")


def versions_dir() -> Path:
    """The directory holding pgq-sa's revision files, for ``version_locations``."""
    return migrations_dir() / "versions"


def config(url: str | URL | None, schema: str | None = None) -> Config:
    """An Alembic :class:`~alembic.config.Config` for pgq-sa's own environment."""
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir()))
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("version_locations", str(versions_dir()))
    if url is not None:
        cfg.set_main_option(
            "sqlalchemy.url",
            async_url(url).render_as_string(hide_password=False).replace("%", "%%"),
        )
    if schema is not None:
        cfg.attributes["pgq_sa_schema"] = validate_identifier(schema)
    return cfg


def _target(revision: str) -> str:
    return f"{BRANCH_LABEL}@{revision}" if revision in ("head", "heads") else revision


def upgrade(url: str | URL, revision: str = "head", *, schema: str | None = None) -> None:
    """Upgrade the pgq-sa schema to ``revision`` (default: the newest)."""
    command.upgrade(config(url, schema), _target(revision))


def downgrade(url: str | URL, revision: str, *, schema: str | None = None) -> None:
    """Downgrade to ``revision``; ``base`` removes every pgq-sa table (and its version table)."""
    command.downgrade(config(url, schema), revision)
    if revision == "base":

        def drop_version_table(conn: Connection) -> None:
            if inspect(conn).has_table(VERSION_TABLE, schema=schema):
                Table(VERSION_TABLE, MetaData(), schema=schema).drop(conn)

        _run_sync(url, drop_version_table)


def current(url: str | URL, *, schema: str | None = None) -> str | None:
    """The pgq-sa revision the database is at, or ``None`` if not installed."""

    def get(conn: Connection) -> str | None:
        ctx = MigrationContext.configure(
            conn, opts={"version_table": VERSION_TABLE, "version_table_schema": schema}
        )
        return ctx.get_current_revision()

    return _run_sync(url, get)


T = TypeVar("T")


def _run_sync(url: str | URL, fn: Callable[[Connection], T]) -> T:
    async def run() -> T:
        engine = create_async_engine(async_url(url), poolclass=pool.NullPool)
        try:
            async with engine.begin() as conn:
                return await conn.run_sync(fn)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def offline_sql(revision: str = "head", *, schema: str | None = None,
                from_revision: str | None = None) -> str:
    """The SQL an upgrade to ``revision`` would run, as text (Alembic offline mode)."""
    cfg = config("postgresql+asyncpg://localhost/offline", schema)
    buf = io.StringIO()
    cfg.output_buffer = buf
    target = _target(revision)
    if from_revision:
        target = f"{from_revision}:{target}"
    with redirect_stdout(buf):
        command.upgrade(cfg, target, sql=True)
    return buf.getvalue()
