"""pgq-sa statistics: pgq_stats (per-second and per-minute outcome counts).

Revision ID: pgq_sa_0002
Revises: pgq_sa_0001
Create Date: 2026-11-24

The DDL is schema version 2 in :mod:`pgq_sa.schema_versions.v2`.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from pgq_sa.migration_support import target_schema
from pgq_sa.schema_versions import v2

revision: str = "pgq_sa_0002"
down_revision: str | None = "pgq_sa_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    v2.upgrade(op, target_schema())


def downgrade() -> None:
    v2.downgrade(op, target_schema())
