"""Which pgq-sa schema a database holds, who manages it, and what to run next.

The one place that answers it: ``pgq-sa db current``, ``pgq-sa db upgrade`` (which
refuses to touch a schema the application's history manages), the worker's
start-up check and the CLI's errors all call :func:`detect`.

Three ways of installing the schema (``docs/migrations.rst``) leave different traces:

- **standalone** (``pgq-sa db upgrade``): pgq-sa's own version table,
  ``pgq_sa_alembic_version``, next to the tables;
- **branch** (pgq-sa's revisions carried in the app's history through
  ``version_locations``): a ``pgq_sa_000N`` row in the app's Alembic version table;
- **app-owned** (the app's own revisions call :func:`pgq_sa.migrate.upgrade`):
  neither; the version is the comment on ``pgq_jobs``
  (:func:`~pgq_sa.schema_versions.version_comment`), written by every mode.

Only catalog queries with bound values: identifiers read from the catalog are quoted
by the dialect, the schema name is validated.  No Alembic import (a worker does not
need it).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any, Literal

from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from .dsn import describe
from .errors import MigrationModeError, SchemaNotInstalled, SchemaOutOfDate
from .schema import validate_identifier
from .schema_versions import LATEST, parse_comment

__all__ = ["MODES", "Mode", "SchemaState", "check", "detect", "detect_sync", "is_missing_table",
           "missing_schema"]

Mode = Literal["standalone", "branch", "app-owned"]

#: How ``pgq-sa db current`` names each mode.
MODES: dict[str, str] = {
    "standalone": "standalone",
    "branch": "app history branch",
    "app-owned": "app-owned",
}

VERSION_TABLE = "pgq_sa_alembic_version"
_BRANCH_REVISION = re.compile(r"^pgq_sa_(\d{4})$")

_PROBE = text("""
SELECT to_regclass(:jobs) IS NOT NULL AS has_jobs,
       obj_description(to_regclass(:jobs), 'pg_class') AS comment,
       to_regclass(:stats) IS NOT NULL AS has_stats,
       to_regclass(:version_table) IS NOT NULL AS has_version_table
""")

#: Alembic version tables of this database (other than pgq-sa's own): every table
#: with a ``version_num`` column, ``alembic_version`` first.
_VERSION_TABLES = text("""
SELECT n.nspname, c.relname
  FROM pg_attribute a
  JOIN pg_class c ON c.oid = a.attrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE a.attname = 'version_num' AND NOT a.attisdropped
   AND c.relkind IN ('r', 'p') AND c.relname <> :ours
   AND n.nspname NOT IN ('pg_catalog', 'information_schema')
   AND has_table_privilege(c.oid, 'SELECT')
 ORDER BY c.relname <> 'alembic_version', n.nspname, c.relname
""")


@dataclass(frozen=True)
class SchemaState:
    """What :func:`detect` found."""

    #: The PostgreSQL schema looked at (``None``: the search path).
    schema: str | None
    #: ``host:port/dbname`` (never a password), for messages.
    database: str
    #: The installed schema version; ``None`` when pgq-sa is not installed.
    version: int | None
    #: ``"standalone"``, ``"branch"`` or ``"app-owned"``; ``None`` when not installed.
    mode: Mode | None
    #: pgq-sa's Alembic revision (standalone and branch mode).
    revision: str | None = None
    #: The table that records :attr:`revision`.
    version_table: str | None = None
    #: The application's Alembic version table, if the database has one.
    app_version_table: str | None = None
    #: The version this pgq-sa declares and needs.
    latest: int = LATEST

    @property
    def installed(self) -> bool:
        return self.version is not None

    @property
    def up_to_date(self) -> bool:
        """Installed at :attr:`latest` or newer."""
        return self.version is not None and self.version >= self.latest

    @property
    def app_managed(self) -> bool:
        """Installed by the application's own Alembic history (branch or app-owned)."""
        return self.mode in ("branch", "app-owned")

    @property
    def where(self) -> str:
        """``host:port/dbname``, or ``schema NAME of host:port/dbname``."""
        if self.schema is None:
            return self.database
        return f"schema {self.schema} of {self.database}"

    def describe(self) -> str:
        """One line: ``version 2, standalone (pgq_sa_0002 in pgq_sa_alembic_version)``."""
        if self.version is None or self.mode is None:
            return "not installed"
        label = MODES[self.mode]
        if self.mode == "app-owned":
            detail = "the app's own revisions call pgq_sa.migrate"
        else:
            detail = f"{self.revision} in {self.version_table}"
        return f"version {self.version}, {label} ({detail})"

    def advice(self) -> str | None:
        """What to run to get this pgq-sa's schema, in one line; ``None`` if nothing."""
        if self.version is None:
            if self.app_version_table is None:
                return f"pgq-sa schema not installed in {self.where}: run pgq-sa db upgrade"
            return (f"pgq-sa schema not installed in {self.where}, whose schema an Alembic "
                    f"history manages ({self.app_version_table}): add pgq-sa to it "
                    "(pgq-sa db revision, then alembic upgrade head) or install it apart "
                    "(pgq-sa db upgrade); see docs/migrations.rst")
        if self.version >= self.latest:
            return None
        what = (f"pgq-sa schema in {self.where} is at version {self.version}, this pgq-sa "
                f"needs {self.latest}")
        if self.mode == "standalone":
            return f"{what}: run pgq-sa db upgrade"
        if self.mode == "branch":
            return (f"{what}: run your app's alembic upgrade heads (pgq-sa's revisions are "
                    "a branch of its history)")
        return (f"{what}: add a migration with pgq-sa db revision, then run your app's "
                "alembic upgrade head")

    def newer_warning(self) -> str | None:
        """A line for the log when the schema is newer than this pgq-sa knows."""
        if self.version is None or self.version <= self.latest:
            return None
        return (f"pgq-sa schema in {self.where} is at version {self.version}, newer than "
                f"this pgq-sa knows ({self.latest}): upgrade pgq-sa")

    def error(self) -> SchemaNotInstalled:
        """The exception for a schema that is missing or out of date."""
        advice = self.advice()
        if self.version is None:
            return SchemaNotInstalled(advice=advice)
        return SchemaOutOfDate(advice=advice)

    def refuse_standalone(self, command: str) -> None:
        """Raise :class:`MigrationModeError` if ``pgq-sa db COMMAND`` must not touch this
        schema (the application's history manages it)."""
        if self.mode == "branch":
            raise MigrationModeError(
                f"pgq-sa schema in {self.where} is a branch of your app's Alembic history "
                f"({self.revision} in {self.version_table}): run alembic {command} there "
                f"(e.g. alembic {command} {'heads' if command == 'upgrade' else 'pgq_sa@-1'})"
                f", not pgq-sa db {command}")
        if self.mode == "app-owned":
            hint = ("add a migration with pgq-sa db revision, then run alembic upgrade head"
                    if command == "upgrade" else "downgrade your app's revision that calls "
                    "pgq_sa.migrate")
            raise MigrationModeError(
                f"pgq-sa schema in {self.where} is managed by your app's Alembic history "
                f"(version {self.version}, app-owned): {hint}; pgq-sa db {command} "
                "would fight it")

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(installed=self.installed, up_to_date=self.up_to_date)
        return data


def _qualified(schema: str | None, name: str) -> str:
    return name if schema is None else f"{validate_identifier(schema)}.{name}"


def _quote(conn: Connection, *parts: str) -> str:
    preparer = conn.dialect.identifier_preparer
    return ".".join(preparer.quote(p) for p in parts)


def detect_sync(conn: Connection, schema: str | None = None) -> SchemaState:
    """Detect the pgq-sa schema in ``schema`` (``None``: the search path) on ``conn``.

    Read-only; three to five small catalog queries."""
    probe = conn.execute(_PROBE, {
        "jobs": _qualified(schema, "pgq_jobs"), "stats": _qualified(schema, "pgq_stats"),
        "version_table": _qualified(schema, VERSION_TABLE),
    }).one()
    database = describe(conn.engine.url)
    found: dict[str, Any] = {"schema": schema, "database": database}
    app_tables = conn.execute(_VERSION_TABLES, {"ours": VERSION_TABLE}).all()
    app_version_table: str | None = None
    branch: tuple[str, str] | None = None
    for nspname, relname in app_tables:
        if app_version_table is None:
            app_version_table = relname if nspname == "public" else f"{nspname}.{relname}"
        if probe.has_jobs and branch is None:
            rows = conn.execute(text(
                f"SELECT version_num FROM {_quote(conn, nspname, relname)}")).scalars()
            for revision in rows:
                if _BRANCH_REVISION.match(revision or ""):
                    shown = relname if nspname == "public" else f"{nspname}.{relname}"
                    branch = (revision, shown)
    found["app_version_table"] = app_version_table
    if not probe.has_jobs:
        return SchemaState(**found, version=None, mode=None)
    if probe.has_version_table:
        table = _quote(conn, VERSION_TABLE) if schema is None else _quote(
            conn, schema, VERSION_TABLE)
        revision = conn.execute(text(f"SELECT max(version_num) FROM {table}")).scalar()
        match = _BRANCH_REVISION.match(revision or "")
        if match:
            return SchemaState(**found, version=int(match.group(1)), mode="standalone",
                               revision=revision, version_table=VERSION_TABLE)
    if branch is not None:
        revision, shown = branch
        return SchemaState(**found, version=int(revision[-4:]), mode="branch",
                           revision=revision, version_table=shown)
    version = parse_comment(probe.comment)
    if version is None:  # tables made before versions were recorded: their shape says
        version = 2 if probe.has_stats else 1
    return SchemaState(**found, version=version, mode="app-owned")


async def detect(target: AsyncConnection | AsyncEngine,
                 schema: str | None = None) -> SchemaState:
    """:func:`detect_sync` on an async connection (or a fresh one of an engine)."""
    if isinstance(target, AsyncEngine):
        async with target.connect() as conn:
            return await conn.run_sync(detect_sync, schema)
    return await target.run_sync(detect_sync, schema)


async def check(target: AsyncConnection | AsyncEngine,
                schema: str | None = None) -> SchemaState | None:
    """Raise :class:`~pgq_sa.SchemaNotInstalled` (or :class:`~pgq_sa.SchemaOutOfDate`)
    with advice for the situation unless the schema is at least at this pgq-sa's
    version; returns the state when it had to look beyond the version comment.

    The common case (the comment records this version) costs one query."""
    if isinstance(target, AsyncEngine):
        async with target.connect() as conn:
            return await check(conn, schema)
    probe = (await target.execute(_PROBE, {
        "jobs": _qualified(schema, "pgq_jobs"), "stats": _qualified(schema, "pgq_stats"),
        "version_table": _qualified(schema, VERSION_TABLE),
    })).one()
    if (parse_comment(probe.comment) or 0) == LATEST:
        return None
    state = await detect(target, schema)
    if not state.up_to_date:
        raise state.error()
    return state


#: SQLSTATE ``undefined_table``.
UNDEFINED_TABLE = "42P01"


def is_missing_table(exc: BaseException) -> bool:
    """True when ``exc`` (or what it wraps: a SQLAlchemy error's driver error, that
    error's cause) is PostgreSQL's ``undefined_table``, by its SQLSTATE (asyncpg,
    psycopg 3 and psycopg2 alike), never by its message text."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        error = pending.pop()
        if error is None or id(error) in seen:
            continue
        seen.add(id(error))
        code = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
        if code == UNDEFINED_TABLE:
            return True
        pending.extend((getattr(error, "orig", None), error.__cause__))
    return False


def missing_schema(exc: BaseException, schema: str | None = None) -> SchemaNotInstalled | None:
    """The :class:`~pgq_sa.SchemaNotInstalled` to raise for ``exc`` when it says that
    pgq-sa's tables are missing, else ``None``.  The one place that tells: every
    enqueue, operator action, worker statement and the CLI ask it."""
    if not is_missing_table(exc):
        return None
    return SchemaNotInstalled(f"schema {schema}" if schema is not None else "")
