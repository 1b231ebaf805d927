"""Schema version 2: ``pgq_stats``, per-second and per-minute outcome counts
(revision ``pgq_sa_0002``)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from .comment import version_comment

TS = postgresql.TIMESTAMP(timezone=True)


def upgrade(op: Any, schema: str | None) -> None:
    """Create ``pgq_stats``."""
    preparer = op.get_context().dialect.identifier_preparer
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
                           name=op.f("ck_pgq_stats_status")),
        sa.CheckConstraint("span > 0", name=op.f("ck_pgq_stats_span")),
        sa.PrimaryKeyConstraint("span", "bucket", "queue", "entrypoint", "status", "shard",
                                name=op.f("pk_pgq_stats")),
        schema=schema,
    )
    # The current bucket's rows are updated on every flush: leave room on each page
    # for HOT updates, and vacuum after a fixed number of dead rows.
    stats = preparer.format_table(sa.table("pgq_stats", schema=schema))
    op.execute(
        f"ALTER TABLE {stats} SET (fillfactor = 70, autovacuum_vacuum_scale_factor = 0, "
        "autovacuum_vacuum_threshold = 2000, autovacuum_analyze_scale_factor = 0.05)"
    )
    op.create_table_comment("pgq_jobs", version_comment(2),
                            existing_comment=version_comment(1), schema=schema)


def downgrade(op: Any, schema: str | None) -> None:
    """Drop ``pgq_stats`` (the dashboard's history goes with it)."""
    op.drop_table("pgq_stats", schema=schema)
    op.create_table_comment("pgq_jobs", version_comment(1),
                            existing_comment=version_comment(2), schema=schema)
