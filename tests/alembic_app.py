"""A throwaway application Alembic environment, for the migration-mode tests.

It is what ``alembic init`` makes (the generic ``script.py.mako``, an env.py like
the generated one) with one app revision creating ``orders``, set up in one of
pgq-sa's three modes:

- ``standalone``: the app's history knows nothing of pgq-sa (``pgq-sa db upgrade``
  installs it apart);
- ``branch``: ``version_locations`` lists pgq-sa's versions folder;
- ``app-owned``: the app's history gets revisions written by
  :func:`pgq_sa.migrate.write_revision` (``pgq-sa db revision``).

The env.py reads two ``config.attributes``: ``autogen`` (``"filter"``: the app's
MetaData with ``pgq_sa.migrate.include_object``; ``"metadata"``: ``[app_metadata,
pgq-sa's tables]``, no filter; ``"shared"``: ``pgq_sa.add_tables(app_metadata)``, no
filter; ``"none"``: neither) and ``pgq_schema``.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import alembic
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import make_url

from pgq_sa import migrate

ENV_PY = '''
from alembic import context
from sqlalchemy import Column, Integer, MetaData, Table, Text, create_engine, pool

import pgq_sa
import pgq_sa.migrate

config = context.config
# a naming convention of the app's own, unlike pgq-sa's: its revisions must not rename
# pgq-sa's constraints (alembic applies the target metadata's convention to op.*)
app_metadata = MetaData(naming_convention={
    "ix": "idx_%(table_name)s_%(column_0_N_name)s", "uq": "uniq_%(table_name)s_%(column_0_name)s",
    "ck": "chk_%(table_name)s_%(constraint_name)s", "pk": "pkey_%(table_name)s",
    "fk": "fkey_%(table_name)s_%(column_0_name)s"})
Table("orders", app_metadata, Column("id", Integer, primary_key=True),
      Column("note", Text, nullable=False))
pgq_schema = config.attributes.get("pgq_schema")
autogen = config.attributes.get("autogen", "filter")
if autogen == "filter":
    target_metadata, include_object = app_metadata, pgq_sa.migrate.include_object
elif autogen == "metadata":
    target_metadata = [app_metadata, pgq_sa.tables_for(pgq_schema).metadata]
    include_object = None
elif autogen == "shared":  # pgq-sa's tables inside the app's own MetaData
    pgq_sa.add_tables(app_metadata, schema=pgq_schema)
    target_metadata, include_object = app_metadata, None
else:  # "none": what an app gets without either
    target_metadata, include_object = app_metadata, None
options = dict(
    target_metadata=target_metadata, include_object=include_object,
    include_schemas=pgq_schema is not None,
    include_name=lambda name, type_, parents: type_ != "schema" or name in (
        None, "public", pgq_schema),
)

if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), literal_binds=True,
                      **options)
    with context.begin_transaction():
        context.run_migrations()
else:
    engine = create_engine(config.get_main_option("sqlalchemy.url"),
                           poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, **options)
        with context.begin_transaction():
            context.run_migrations()
'''

ORDERS = '''
"""orders

Revision ID: app_0001
Revises:
Create Date: 2026-11-25
"""
from alembic import op
import sqlalchemy as sa

revision = "app_0001"
down_revision = None
branch_labels = ("app",)
depends_on = None


def upgrade() -> None:
    op.create_table("orders", sa.Column("id", sa.Integer(), nullable=False),
                    sa.Column("note", sa.Text(), nullable=False),
                    sa.PrimaryKeyConstraint("id", name="pk_orders"))


def downgrade() -> None:
    op.drop_table("orders")
'''

MODES = ("standalone", "branch", "app-owned")


class AlembicApp:
    """An app's Alembic environment under ``root``, talking to ``url``."""

    def __init__(self, root: Path, url: str, mode: str, *, pgq_schema: str | None = None,
                 autogen: str = "filter") -> None:
        assert mode in MODES
        self.root, self.mode, self.pgq_schema, self.autogen = root, mode, pgq_schema, autogen
        self.url = url
        versions = root / "versions"
        versions.mkdir(parents=True)
        (root / "env.py").write_text(ENV_PY)
        template = Path(alembic.__file__).parent / "templates" / "generic" / "script.py.mako"
        (root / "script.py.mako").write_text(template.read_text())
        (versions / "app_0001_orders.py").write_text(ORDERS)
        locations = str(versions)
        if mode == "branch":
            locations += f" {migrate.versions_dir()}"
        sync_url = make_url(url).set(drivername="postgresql+psycopg2")
        extra = f"pgq_sa_schema = {pgq_schema}\n" if pgq_schema and mode == "branch" else ""
        (root / "alembic.ini").write_text(textwrap.dedent(f"""\
            [alembic]
            script_location = {root}
            version_locations = {locations}
            path_separator = space
            file_template = %%(rev)s_%%(slug)s
            """) + extra + "sqlalchemy.url = " + sync_url.render_as_string(
                hide_password=False).replace("%", "%%") + "\n")

    def config(self, **attributes: Any) -> Config:
        cfg = Config(str(self.root / "alembic.ini"))
        cfg.attributes.update(autogen=self.autogen, pgq_schema=self.pgq_schema, **attributes)
        return cfg

    def add_pgq_revision(self, version: int = migrate.LATEST) -> Path:
        """``pgq-sa db revision`` (app-owned mode)."""
        written = migrate.write_revision(self.config(), version=version,
                                         schema=self.pgq_schema)
        assert written is not None
        return Path(written[0].path)

    def upgrade(self, target: str | None = None) -> None:
        """What the app's start-up runs (``heads`` in branch mode)."""
        if self.mode == "standalone" and target is None:
            migrate.upgrade_database(self.url, schema=self.pgq_schema)
        command.upgrade(self.config(), target or ("heads" if self.mode == "branch"
                                                  else "head"))

    def downgrade(self, target: str) -> None:
        command.downgrade(self.config(), target)

    def check(self) -> None:
        """``alembic check``: raises if autogenerate would emit any operation."""
        command.check(self.config())

    def heads(self) -> list[str]:
        from alembic.script import ScriptDirectory

        return list(ScriptDirectory.from_config(self.config()).get_heads())
