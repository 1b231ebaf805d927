"""pgq-sa production topologies: pgq_workers.session_key (rescue within seconds),
pgq_jobs.trace_context (tracing).

Revision ID: pgq_sa_0003
Revises: pgq_sa_0002
Create Date: 2026-11-30

The DDL is schema version 3 in :mod:`pgq_sa.schema_versions.v3`.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from pgq_sa.migration_support import target_schema
from pgq_sa.schema_versions import v3

revision: str = "pgq_sa_0003"
down_revision: str | None = "pgq_sa_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    v3.upgrade(op, target_schema())


def downgrade() -> None:
    v3.downgrade(op, target_schema())
