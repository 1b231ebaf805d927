"""Revision pgq_sa_0002 creates exactly the ``pgq_stats`` table of the metadata."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect

import pgq_sa
from pgq_sa import migrate
from pgq_sa.schema_versions import LATEST, REVISIONS

from .test_migrations import diff as _diff
from .test_migrations import sync as _sync


def test_upgrade_yields_the_metadata_and_downgrade_removes_stats(empty_db):
    migrate.upgrade_database(empty_db)
    assert migrate.status(empty_db).revision == REVISIONS[LATEST]
    assert _diff(empty_db, pgq_sa.metadata) == []
    migrate.downgrade_database(empty_db, "pgq_sa_0001")
    eng = _sync(empty_db)
    try:
        names = set(inspect(eng).get_table_names())
    finally:
        eng.dispose()
    assert "pgq_stats" not in names and "pgq_jobs" in names


@pytest.mark.parametrize("schema", ["jobs"])
def test_upgrade_in_a_schema(empty_db, schema):
    eng = _sync(empty_db)
    try:
        with eng.begin() as conn:  # the version table needs the schema first
            conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    finally:
        eng.dispose()
    migrate.upgrade_database(empty_db, schema=schema)
    tables = pgq_sa.tables_for(schema)
    assert _diff(empty_db, tables.metadata, schema) == []
