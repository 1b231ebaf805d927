"""Helpers the Alembic revisions in ``migrations/versions`` call at run time.

The target PostgreSQL schema comes from, in order: ``config.attributes["pgq_sa_schema"]``,
the ``pgq_sa_schema`` option of the Alembic config (``alembic.ini``), the
``PGQ_SA_SCHEMA`` environment variable; otherwise the default search path.
"""

from __future__ import annotations

import os

from alembic import context

from .schema import validate_identifier

VERSION_TABLE = "pgq_sa_alembic_version"
BRANCH_LABEL = "pgq_sa"


def target_schema() -> str | None:
    """The validated schema the pgq-sa revisions should create their tables in."""
    config = context.config
    schema = config.attributes.get("pgq_sa_schema")
    if schema is None:
        schema = config.get_main_option("pgq_sa_schema") or os.environ.get("PGQ_SA_SCHEMA")
    if not schema:
        return None
    return validate_identifier(schema)
