"""pgq-sa initial schema: pgq_jobs and pgq_workers.

Revision ID: pgq_sa_0001
Revises:
Create Date: 2026-11-23

The DDL is schema version 1 in :mod:`pgq_sa.schema_versions.v1`, shared with the
applications that install pgq-sa from their own revisions (``pgq_sa.migrate``).
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from pgq_sa.migration_support import target_schema
from pgq_sa.schema_versions import v1

revision: str = "pgq_sa_0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = ("pgq_sa",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    v1.upgrade(op, target_schema())


def downgrade() -> None:
    v1.downgrade(op, target_schema())
