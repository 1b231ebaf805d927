"""Install and upgrade pgq-sa's schema, in whichever of three ways fits the app.

``docs/migrations.rst`` has the long form; in short:

- **app-owned** (recommended with an Alembic history of your own): one of *your*
  revisions calls :func:`upgrade` / :func:`downgrade`; ``pgq-sa db revision``
  writes that revision on top of your head, and a later pgq-sa version is taken by
  generating one more.  Your history keeps one head.
- **standalone**: ``pgq-sa db upgrade`` (:func:`upgrade_database`) runs pgq-sa's own
  Alembic history with its own version table, ``pgq_sa_alembic_version``.
- **branch**: your ``alembic.ini`` lists pgq-sa's revisions in ``version_locations``
  (``pgq_sa:_migrations/versions``); they become a second branch (label
  ``pgq_sa``) of your history, upgraded with ``alembic upgrade heads``.

Every mode runs the same schema steps (:mod:`pgq_sa.schema_versions`) and records
the version in the comment of ``pgq_jobs``; :func:`status` reads version and mode.
For autogenerate, pass :func:`include_object` to ``context.configure``.
"""

from __future__ import annotations

import ast
import asyncio
import io
import logging
from collections.abc import Callable
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any, Protocol, TypeVar

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import Script, ScriptDirectory
from alembic.util import CommandError, rev_id
from sqlalchemy import Connection, MetaData, Table, inspect, pool
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import create_async_engine

from .dsn import async_url, engine_options
from .errors import MigrationModeError
from .migration_support import BRANCH_LABEL, VERSION_TABLE
from .schema import metadata as _metadata
from .schema import validate_identifier
from .schema_state import SchemaState, detect_sync
from .schema_versions import LATEST, REVISIONS, steps

__all__ = [
    "LATEST",
    "config",
    "downgrade",
    "downgrade_database",
    "include_object",
    "migrations_dir",
    "offline_sql",
    "status",
    "upgrade",
    "upgrade_database",
    "versions_dir",
    "write_revision",
]

log = logging.getLogger("pgq_sa.migrate")


class Op(Protocol):
    """What :func:`upgrade` needs of ``op``: ``alembic.op`` inside a revision, or an
    :class:`alembic.operations.Operations`."""

    def get_context(self) -> MigrationContext: ...

    def get_bind(self) -> Connection: ...


# -- app-owned: called from the application's own revisions ---------------------------


def _check_version(version: int, lowest: int) -> None:
    if isinstance(version, bool) or not isinstance(version, int) or not (
            lowest <= version <= LATEST):
        raise ValueError(f"pgq-sa schema version must be an int from {lowest} to {LATEST} "
                         f"(this pgq-sa's newest), got {version!r}")


def _installed(op: Op, schema: str | None, from_version: int | None,
               call: str) -> tuple[int, SchemaState | None]:
    """The installed version: read from the database, or ``from_version`` offline."""
    if isinstance(op, (str, URL)):
        raise TypeError(f"pgq_sa.migrate.{call}(op, version=N) runs inside an Alembic "
                        f"revision; for a database URL use pgq_sa.migrate.{call}_database")
    if op.get_context().as_sql:
        if from_version is None:
            raise MigrationModeError(
                f"Alembic offline mode (--sql) cannot read the installed pgq-sa version: "
                f"pass from_version= to pgq_sa.migrate.{call} (pgq-sa db revision writes it)")
        return from_version, None
    state = detect_sync(op.get_bind(), schema)
    if state.mode == "branch":
        raise MigrationModeError(
            f"pgq-sa's own revisions are a branch of this history ({state.revision} in "
            f"{state.version_table}): take them out of version_locations and run alembic "
            "stamp --purge on your own head before calling pgq_sa.migrate (see "
            "docs/migrations.rst)")
    return state.version or 0, state


def upgrade(op: Op, *, version: int, schema: str | None = None,
            from_version: int | None = None) -> None:
    """Bring pgq-sa's schema up to ``version`` from one of your Alembic revisions::

        import pgq_sa.migrate

        def upgrade() -> None:
            pgq_sa.migrate.upgrade(op, version=2, from_version=1)

    Online, the installed version is read from the database and only the missing
    steps run (nothing, if it is already at ``version`` or newer): a database whose
    tables came from ``pgq-sa db upgrade`` is taken over as it is (its
    ``pgq_sa_alembic_version`` table is dropped).  In Alembic's offline mode
    (``alembic upgrade --sql``) the database cannot be read: the steps run from
    ``from_version`` (the version your history had before this revision).
    ``schema``: a PostgreSQL schema for the tables (created if missing).
    """
    _check_version(version, 1)
    schema = None if schema is None else validate_identifier(schema)
    installed, state = _installed(op, schema, from_version, "upgrade")
    for step in range(installed + 1, version + 1):
        steps(step)[0](op, schema)
    if state is not None and inspect(op.get_bind()).has_table(VERSION_TABLE, schema=schema):
        # standalone mode's version table (in use, or left over): the app's history
        # owns the schema from now on
        log.info("pgq-sa schema taken over from pgq-sa db upgrade: dropping %s",
                 VERSION_TABLE)
        Table(VERSION_TABLE, MetaData(), schema=schema).drop(op.get_bind())


def downgrade(op: Op, *, version: int, schema: str | None = None,
              from_version: int | None = None) -> None:
    """Take pgq-sa's schema down to ``version`` (``0`` removes every pgq-sa table,
    queued jobs included) from the ``downgrade()`` of your revision::

        def downgrade() -> None:
            pgq_sa.migrate.downgrade(op, version=1, from_version=2)

    Online, the installed version is read from the database; offline (``--sql``) the
    steps run from ``from_version``.
    """
    _check_version(version, 0)
    schema = None if schema is None else validate_identifier(schema)
    installed, _ = _installed(op, schema, from_version, "downgrade")
    if installed > LATEST:
        raise MigrationModeError(
            f"pgq-sa schema is at version {installed}, newer than this pgq-sa knows "
            f"({LATEST}): downgrade with the pgq-sa release that installed it")
    for step in range(installed, version, -1):
        steps(step)[1](op, schema)


def _pgq_versions_in(path: Path) -> list[int]:
    """Versions passed to ``pgq_sa.migrate.upgrade(op, version=N)`` in the
    ``upgrade()`` of the revision file at ``path``."""
    try:
        tree = ast.parse(path.read_text())
    except (OSError, SyntaxError, ValueError):
        return []
    found = []
    for fn in tree.body:
        if not (isinstance(fn, ast.FunctionDef) and fn.name == "upgrade"):
            continue
        for node in ast.walk(fn):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "upgrade"):
                continue
            owner = node.func.value
            if not ((isinstance(owner, ast.Name) and owner.id == "migrate")
                    or (isinstance(owner, ast.Attribute) and owner.attr == "migrate")):
                continue
            for kw in node.keywords:
                if (kw.arg == "version" and isinstance(kw.value, ast.Constant)
                        and isinstance(kw.value.value, int)):
                    found.append(kw.value.value)
    return found


def write_revision(cfg: Config, *, version: int = LATEST, schema: str | None = None,
                   message: str | None = None, head: str | None = None,
                   revision_id: str | None = None) -> tuple[Script, int] | None:
    """Write a revision calling :func:`upgrade` / :func:`downgrade` into the app's
    Alembic history ``cfg`` on top of its head (``pgq-sa db revision``).

    It renders the app's own ``script.py.mako`` with its ``file_template`` and
    post-write hooks, like ``alembic revision``.  The version the history installs
    before it is the highest ``pgq_sa.migrate.upgrade(op, version=N)`` among the
    head's ancestors.  Returns the new script and that earlier version, or ``None``
    when the history already installs ``version``."""
    _check_version(version, 1)
    schema = None if schema is None else validate_identifier(schema)
    script = ScriptDirectory.from_config(cfg)
    try:
        if {s.revision for s in script.walk_revisions()} & set(REVISIONS.values()):
            raise MigrationModeError(
                "this Alembic history carries pgq-sa's own revisions as a branch "
                "(version_locations): it does not need pgq-sa db revision")
        heads = script.get_heads()
        if head is None and len(heads) > 1:
            raise MigrationModeError(
                f"the Alembic history has {len(heads)} heads ({', '.join(sorted(heads))}): "
                "pass --head REV (or merge them first)")
        start = head or (heads[0] if heads else None)
        before = 0
        if start is not None:
            for rev in script.iterate_revisions(start, "base"):
                if rev.path:
                    before = max([before, *_pgq_versions_in(Path(rev.path))])
    except CommandError as exc:
        raise MigrationModeError(f"cannot read the Alembic history: {exc}") from None
    if before >= version:
        return None
    template = Path(script.dir, "script.py.mako").read_text()
    top_import = "${imports" in template
    call = "pgq_sa.migrate" if top_import else "migrate"
    local = "" if top_import else "from pgq_sa import migrate\n\n    "
    extra = "" if schema is None else f", schema={schema!r}"
    upgrades = (f"# pgq-sa's schema {before} -> {version} (generated by pgq-sa db revision)\n"
                f"    {local}{call}.upgrade(op, version={version}, from_version={before}"
                f"{extra})")
    downgrades = (f"# pgq-sa's schema {version} -> {before}"
                  f"{' (drops its tables and jobs)' if before == 0 else ''}\n"
                  f"    {local}{call}.downgrade(op, version={before}, from_version={version}"
                  f"{extra})")
    try:
        new = script.generate_revision(
            revision_id or rev_id(), message or f"pgq-sa schema version {version}",
            head=start or "base", imports="import pgq_sa.migrate" if top_import else None,
            upgrades=upgrades, downgrades=downgrades)
    except CommandError as exc:
        raise MigrationModeError(str(exc)) from None
    assert new is not None
    return new, before


# -- autogenerate ---------------------------------------------------------------------

#: Tables pgq-sa owns (in whichever PostgreSQL schema): its metadata's and the
#: standalone version table.
OWN_TABLES = frozenset({*(t.name for t in _metadata.tables.values()), VERSION_TABLE})


def include_object(object: Any, name: str | None, type_: str, reflected: bool,
                   compare_to: Any) -> bool:
    """``include_object`` hook for your env.py: autogenerate leaves pgq-sa alone.

    False for pgq-sa's tables (``pgq_jobs``, ``pgq_workers``, ``pgq_stats``,
    ``pgq_sa_alembic_version``, in any schema), their columns, indexes and
    constraints, whether they are in your ``MetaData``, the database or both; True
    for everything else (a foreign key of yours to ``pgq_jobs`` included)::

        context.configure(..., target_metadata=app_metadata,
                          include_object=pgq_sa.migrate.include_object)

    pgq-sa's migrations own those objects: ``pgq-sa db current`` reports a schema
    older than your pgq-sa needs.
    """
    if type_ == "table":
        return name not in OWN_TABLES
    table = getattr(object, "table", None)
    return getattr(table, "name", None) not in OWN_TABLES


# -- standalone: pgq-sa's own Alembic history -----------------------------------------


def migrations_dir() -> Path:
    """The directory with ``env.py`` and ``versions/`` (installed wheel or source tree)."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "_migrations", here.parent / "migrations"):
        if (candidate / "env.py").is_file():
            return candidate
    raise RuntimeError("pgq-sa migrations not found: reinstall pgq-sa")


def versions_dir() -> Path:
    """The directory holding pgq-sa's revision files (branch mode: with pgq-sa
    installed from a wheel, ``pgq_sa:_migrations/versions`` names it in
    ``version_locations``)."""
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


def status(url: str | URL, *, schema: str | None = None) -> SchemaState:
    """The installed schema version and how it is managed (``pgq-sa db current``)."""
    if schema is not None:
        validate_identifier(schema)
    return _run_sync(url, lambda conn: detect_sync(conn, schema))


def upgrade_database(url: str | URL, revision: str = "head", *,
                     schema: str | None = None) -> SchemaState:
    """Standalone mode (``pgq-sa db upgrade``): upgrade to ``revision`` (default: the
    newest) with pgq-sa's own history and version table.

    Raises :class:`~pgq_sa.MigrationModeError` when the schema belongs to the app's
    Alembic history (branch or app-owned mode) instead of touching it."""
    status(url, schema=schema).refuse_standalone("upgrade")
    command.upgrade(config(url, schema), _target(revision))
    return status(url, schema=schema)


def downgrade_database(url: str | URL, revision: str, *,
                       schema: str | None = None) -> SchemaState:
    """Standalone mode (``pgq-sa db downgrade``): downgrade to ``revision``; ``base``
    removes every pgq-sa table (queued jobs included) and the version table."""
    status(url, schema=schema).refuse_standalone("downgrade")
    command.downgrade(config(url, schema), revision)
    if revision == "base":

        def drop_version_table(conn: Connection) -> None:
            if inspect(conn).has_table(VERSION_TABLE, schema=schema):
                Table(VERSION_TABLE, MetaData(), schema=schema).drop(conn)

        _run_sync(url, drop_version_table)
    return status(url, schema=schema)


T = TypeVar("T")


def _run_sync(url: str | URL, fn: Callable[[Connection], T]) -> T:
    async def run() -> T:
        engine = create_async_engine(async_url(url), poolclass=pool.NullPool,
                                     **engine_options(url))
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
