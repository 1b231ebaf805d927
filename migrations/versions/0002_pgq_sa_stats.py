"""pgq-sa statistics: pgq_stats (per-second and per-minute outcome counts).

Revision ID: pgq_sa_0002
Revises: pgq_sa_0001
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from pgq_sa.migration_support import target_schema

revision: str = "pgq_sa_0002"
down_revision: str | None = "pgq_sa_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = postgresql.TIMESTAMP(timezone=True)


def upgrade() -> None:
    schema = target_schema()
    preparer = op.get_bind().dialect.identifier_preparer
    op.create_table(
        "pgq_stats",
        sa.Column("span", sa.Integer(), nullable=False),
        sa.Column("bucket", TS, nullable=False),
        sa.Column("queue", sa.Text(), nullable=False),
        sa.Column("entrypoint", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("shard", sa.SmallInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("count", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.CheckConstraint("status IN ('succeeded', 'failed', 'cancelled', 'retried')",
                           name="ck_pgq_stats_status"),
        sa.CheckConstraint("span > 0", name="ck_pgq_stats_span"),
        sa.PrimaryKeyConstraint("span", "bucket", "queue", "entrypoint", "status", "shard",
                                name="pk_pgq_stats"),
        schema=schema,
    )
    # The current bucket's rows are updated on every flush: leave room on each page
    # for HOT updates, and vacuum after a fixed number of dead rows.
    stats = preparer.format_table(sa.table("pgq_stats", schema=schema))
    op.execute(
        f"ALTER TABLE {stats} SET (fillfactor = 70, autovacuum_vacuum_scale_factor = 0, "
        "autovacuum_vacuum_threshold = 2000, autovacuum_analyze_scale_factor = 0.05)"
    )


def downgrade() -> None:
    op.drop_table("pgq_stats", schema=target_schema())
