"""``pgq-sa db …``: install, upgrade, inspect the schema; write the app's revision.

``upgrade``, ``downgrade`` and ``sql`` run pgq-sa's own Alembic history
(standalone mode) and refuse a schema that the application's history manages;
``revision`` writes a revision into the application's history (app-owned mode);
``current`` recognises every mode.  See ``docs/migrations.rst``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from .common import (
    dsn_option,
    fail,
    handle_errors,
    json_option,
    print_json,
    resolve_dsn,
    schema_option,
)


@click.group()
def db() -> None:
    """Manage the pgq-sa schema (standalone mode, or a revision for your own history)."""


def _remember(dsn: str | None) -> str:
    url = resolve_dsn(dsn)
    click.get_current_context().meta["pgq_sa.dsn"] = url
    return url


@db.command()
@click.argument("revision", default="head")
@dsn_option
@schema_option
@handle_errors
def upgrade(revision: str, dsn: str | None, schema: str | None) -> None:
    """Upgrade the schema to REVISION (default: head) with pgq-sa's own Alembic
    history (standalone mode); installs it on an empty database.

    Refuses a schema your app's Alembic history manages."""
    from .. import migrate

    state = migrate.upgrade_database(_remember(dsn), revision, schema=schema)
    click.echo(f"pgq-sa schema at {state.describe()}")


@db.command()
@click.argument("revision")
@dsn_option
@schema_option
@handle_errors
def downgrade(revision: str, dsn: str | None, schema: str | None) -> None:
    """Downgrade the schema to REVISION (standalone mode); ``base`` removes every
    pgq-sa table, queued jobs included."""
    from .. import migrate

    state = migrate.downgrade_database(_remember(dsn), revision, schema=schema)
    click.echo(f"pgq-sa schema at {state.describe()}")


@db.command()
@dsn_option
@schema_option
@json_option
@handle_errors
def current(dsn: str | None, schema: str | None, as_json: bool) -> None:
    """Print the installed version and how it is managed: standalone (pgq-sa db
    upgrade), app history branch (version_locations) or app-owned (your revisions
    call pgq_sa.migrate); "not installed" otherwise.  A second line says what to
    run when this pgq-sa needs a newer version."""
    from .. import migrate

    state = migrate.status(_remember(dsn), schema=schema)
    if as_json:
        print_json(state.to_dict())
        return
    click.echo(state.describe())
    advice = state.advice() if state.installed else None
    if advice or state.newer_warning():
        click.echo(advice or state.newer_warning())


@db.command()
@click.argument("revision", default="head")
@click.option("--from", "from_revision", default=None, help="Start revision (default: base).")
@schema_option
@handle_errors
def sql(revision: str, from_revision: str | None, schema: str | None) -> None:
    """Print the SQL of a standalone upgrade to REVISION without a database (offline)."""
    from .. import migrate

    click.echo(migrate.offline_sql(revision, schema=schema, from_revision=from_revision))


@db.command()
@click.option("--config", "-c", "config_file", default=None, metavar="FILE",
              type=click.Path(dir_okay=False),
              help="Your Alembic config (alembic.ini, or pyproject.toml with "
                   "[tool.alembic]). Default: ./alembic.ini.")
@click.option("--alembic-dir", default=None, metavar="DIR",
              type=click.Path(file_okay=False),
              help="Your Alembic directory (env.py, script.py.mako, versions/), for a "
                   "history without a config file.")
@click.option("--version", "version", default=None, type=click.IntRange(1),
              help="pgq-sa schema version to install (default: the newest).")
@click.option("--head", default=None, metavar="REV",
              help="Revision to write on top of (default: the history's only head).")
@click.option("--message", "-m", default=None, help="Revision message.")
@click.option("--rev-id", default=None, help="Revision id (default: a random one).")
@schema_option
@handle_errors
def revision(config_file: str | None, alembic_dir: str | None, version: int | None,
             head: str | None, message: str | None, rev_id: str | None,
             schema: str | None) -> None:
    """Write a revision into YOUR Alembic history that installs pgq-sa's schema
    (app-owned mode): it calls pgq_sa.migrate.upgrade(op, version=N) on top of your
    head, with your script.py.mako and file template.  Run it again after upgrading
    pgq-sa to take a newer schema version; then alembic upgrade head."""
    from alembic.config import Config

    from .. import migrate

    if config_file and alembic_dir:
        fail("pass --config or --alembic-dir, not both", 2)
    if alembic_dir:
        if not (Path(alembic_dir) / "script.py.mako").is_file():
            fail(f"--alembic-dir {alembic_dir}: no script.py.mako there (the directory "
                 "alembic init made, holding env.py and versions/)", 2)
        cfg = Config()
        cfg.set_main_option("script_location", str(Path(alembic_dir).resolve()))
    else:
        path = Path(config_file or "alembic.ini")
        if not path.is_file():
            fail(f"no Alembic config at {path}: pass --config FILE or --alembic-dir DIR", 2)
        try:
            cfg = Config(toml_file=str(path)) if path.suffix == ".toml" else Config(str(path))
        except TypeError:
            fail("reading pyproject.toml needs alembic >= 1.16: pass --alembic-dir DIR", 2)
        option = getattr(cfg, "get_alembic_option", cfg.get_main_option)
        if option("script_location") is None:
            fail(f"{path} has no script_location: is it your Alembic config?", 2)
    written = migrate.write_revision(cfg, version=version or migrate.LATEST, schema=schema,
                                     message=message, head=head, revision_id=rev_id)
    if written is None:
        click.echo(f"nothing to write: your history already installs pgq-sa schema "
                   f"version {version or migrate.LATEST}")
        return
    script, before = written
    click.echo(f"wrote {script.path} (revision {script.revision}: pgq-sa schema {before} -> "
               f"{version or migrate.LATEST}, on top of {script.down_revision or 'base'}); "
               "now run alembic upgrade head")


@db.command()
@click.option("--role", "kind", required=True, type=click.Choice(["worker", "producer",
                                                                  "observer"]),
              help="What ROLE does: run jobs, enqueue them, or only look.")
@click.argument("role")
@click.option("--apply", "apply_", is_flag=True,
              help="Run the statements (as the tables' owner) instead of only printing them.")
@dsn_option
@schema_option
@handle_errors
def grants(kind: str, role: str, apply_: bool, dsn: str | None, schema: str | None) -> None:
    """Print (or with --apply run) the GRANT statements that let the existing
    PostgreSQL role ROLE do what a worker, a producer or an observer needs, and no
    more.  See docs/topologies.rst (least privilege)."""
    from .. import migrate
    from ..dsn import dsn_from_env
    from ..schema import tables_for
    from ..sql.grants import grants as build_grants
    from ..sql.grants import quote_role
    from .common import run_async

    try:
        quote_role(role)
    except ValueError as exc:
        fail(str(exc), 2)
    version_table = True  # standalone mode, the default, unless the database says
    if apply_ or dsn is not None or dsn_from_env() is not None:
        url = _remember(dsn)
        state = migrate.status(url, schema=schema)
        if not state.installed:
            fail(f"the pgq-sa schema is not installed in {state.database}: run pgq-sa db "
                 "upgrade (or your Alembic history) first, then grant")
        version_table = state.mode == "standalone"
    statements = build_grants(tables_for(schema), kind, role, version_table=version_table)
    for statement in statements:
        click.echo(f"{statement};")
    if not apply_:
        return

    async def run(engine: Any) -> None:
        async with engine.begin() as conn:
            for statement in statements:
                await conn.exec_driver_sql(statement)

    run_async(run, url)
    click.echo(f"-- applied {len(statements)} statement(s) for {kind} role {role}", err=True)
