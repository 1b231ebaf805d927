"""``pgq-sa db …``: install, upgrade, downgrade and inspect the schema (Alembic)."""

from __future__ import annotations

import click

from .common import dsn_option, handle_errors, resolve_dsn, schema_option


@click.group()
def db() -> None:
    """Manage the pgq-sa schema with its Alembic migrations."""


@db.command()
@click.argument("revision", default="head")
@dsn_option
@schema_option
@handle_errors
def upgrade(revision: str, dsn: str | None, schema: str | None) -> None:
    """Upgrade the schema to REVISION (default: head); installs it on an empty database."""
    from .. import migrate

    url = resolve_dsn(dsn)
    click.get_current_context().meta["pgq_sa.dsn"] = url
    migrate.upgrade(url, revision, schema=schema)
    click.echo(f"pgq-sa schema at {migrate.current(url, schema=schema)}")


@db.command()
@click.argument("revision")
@dsn_option
@schema_option
@handle_errors
def downgrade(revision: str, dsn: str | None, schema: str | None) -> None:
    """Downgrade the schema to REVISION; ``base`` removes every pgq-sa table."""
    from .. import migrate

    url = resolve_dsn(dsn)
    click.get_current_context().meta["pgq_sa.dsn"] = url
    migrate.downgrade(url, revision, schema=schema)
    click.echo(f"pgq-sa schema at {migrate.current(url, schema=schema) or 'base (removed)'}")


@db.command()
@dsn_option
@schema_option
@handle_errors
def current(dsn: str | None, schema: str | None) -> None:
    """Print the installed revision (or "not installed")."""
    from .. import migrate

    url = resolve_dsn(dsn)
    click.get_current_context().meta["pgq_sa.dsn"] = url
    click.echo(migrate.current(url, schema=schema) or "not installed")


@db.command()
@click.argument("revision", default="head")
@click.option("--from", "from_revision", default=None, help="Start revision (default: base).")
@schema_option
@handle_errors
def sql(revision: str, from_revision: str | None, schema: str | None) -> None:
    """Print the SQL of an upgrade to REVISION without a database (offline mode)."""
    from .. import migrate

    click.echo(migrate.offline_sql(revision, schema=schema, from_revision=from_revision))
