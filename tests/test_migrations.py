"""The Alembic migrations produce exactly ``pgq_sa.metadata``, and remove it again."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import MetaData, create_engine, inspect
from sqlalchemy.engine import make_url

import pgq_sa
from pgq_sa import migrate


def sync(url: str):
    return create_engine(make_url(url).set(drivername="postgresql+psycopg2"))


def diff(url: str, metadata: MetaData, schema: str | None = None) -> list:
    eng = sync(url)
    try:
        with eng.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={
                "include_schemas": schema is not None,
                "include_name": lambda name, type_, parent: (
                    type_ != "schema" or name == schema),
                "compare_type": True,
                "compare_server_default": True,
                "include_object": lambda obj, name, type_, reflected, compare_to: not (
                    type_ == "table" and name == "pgq_sa_alembic_version"),
            })
            return compare_metadata(ctx, metadata)
    finally:
        eng.dispose()


ALL = {"pgq_jobs", "pgq_workers", "pgq_stats"}


def tables_in(url: str, schema: str | None = None) -> set[str]:
    eng = sync(url)
    try:
        with eng.connect() as conn:
            return set(inspect(conn).get_table_names(schema=schema))
    finally:
        eng.dispose()


def test_upgrade_yields_exactly_the_metadata(empty_db):
    migrate.upgrade(empty_db)
    assert migrate.current(empty_db) is not None
    assert tables_in(empty_db) == ALL | {"pgq_sa_alembic_version"}
    assert diff(empty_db, pgq_sa.metadata) == []


def test_diff_detects_drift(empty_db):
    """The equivalence check can fail: a column missing from the database shows up."""
    migrate.upgrade(empty_db)
    eng = sync(empty_db)
    with eng.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE pgq_jobs DROP COLUMN last_error")
        conn.exec_driver_sql("DROP INDEX pgq_jobs_dequeue_idx")
    eng.dispose()
    kinds = {d[0] if isinstance(d, tuple) else d[0][0] for d in diff(empty_db, pgq_sa.metadata)}
    assert {"add_column", "add_index"} <= kinds


def test_downgrade_to_base_leaves_nothing(empty_db):
    migrate.upgrade(empty_db)
    migrate.downgrade(empty_db, "base")
    assert tables_in(empty_db) == set()
    assert migrate.current(empty_db) is None
    migrate.upgrade(empty_db)  # and it can come back
    assert "pgq_jobs" in tables_in(empty_db)


def test_custom_schema(empty_db):
    migrate.upgrade(empty_db, schema="jobs")
    md = MetaData(naming_convention=pgq_sa.NAMING_CONVENTION)
    pgq_sa.add_tables(md, schema="jobs")
    assert tables_in(empty_db, "jobs") == ALL | {"pgq_sa_alembic_version"}
    assert tables_in(empty_db) == set()
    assert diff(empty_db, md, schema="jobs") == []
    migrate.downgrade(empty_db, "base", schema="jobs")
    assert tables_in(empty_db, "jobs") == set()


def test_invalid_schema_name_rejected():
    with pytest.raises(ValueError, match="invalid schema name"):
        pgq_sa.add_tables(MetaData(), schema='x"; DROP TABLE users; --')
    with pytest.raises(ValueError, match="invalid schema name"):
        migrate.config("postgresql://localhost/x", schema="bad-name")


def test_offline_sql_mentions_every_table():
    sql = migrate.offline_sql()
    for needle in ("CREATE TABLE pgq_jobs", "CREATE TABLE pgq_workers", "pgq_jobs_dequeue_idx",
                   "WHERE status = 'queued'", "pgq_sa_alembic_version"):
        assert needle in sql


def test_app_carries_pgq_revisions_in_its_own_history(empty_db, tmp_path):
    """An application's own Alembic env lists pgq-sa's versions in version_locations."""
    (tmp_path / "versions").mkdir()
    (tmp_path / "env.py").write_text(textwrap.dedent("""
        from alembic import context
        from sqlalchemy import create_engine
        url = context.config.get_main_option("sqlalchemy.url")
        with create_engine(url).connect() as conn:
            context.configure(connection=conn)
            with context.begin_transaction():
                context.run_migrations()
            conn.commit()
    """))
    (tmp_path / "versions" / "app_0001.py").write_text(textwrap.dedent("""
        import sqlalchemy as sa
        from alembic import op
        revision = "app_0001"
        down_revision = None
        branch_labels = ("app",)
        depends_on = "pgq_sa_0001"  # our orders table references jobs
        def upgrade():
            op.create_table("orders", sa.Column("id", sa.Integer, primary_key=True),
                            sa.Column("job_id", sa.BigInteger, sa.ForeignKey("pgq_jobs.id")))
        def downgrade():
            op.drop_table("orders")
    """))
    url = make_url(empty_db).set(drivername="postgresql+psycopg2").render_as_string(False)
    ini = tmp_path / "alembic.ini"
    ini.write_text(textwrap.dedent(f"""
        [alembic]
        script_location = {tmp_path}
        version_locations = {tmp_path / "versions"} {migrate.versions_dir()}
        path_separator = space
        sqlalchemy.url = {url}
    """))
    run = subprocess.run([sys.executable, "-m", "alembic", "-c", str(ini), "upgrade", "heads"],
                         capture_output=True, text=True, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert ALL | {"orders", "alembic_version"} <= tables_in(empty_db)
    assert "pgq_sa_alembic_version" not in tables_in(empty_db)  # the app's history is used
