"""Schema version 3: flow control and scheduling (revision ``pgq_sa_0003``).

- ``pgq_queues``: one row per queue an operator paused (or resumed); the claim
  skips the queues whose row says ``paused``.
- ``pgq_jobs.unique_key`` and the partial unique index over it for queued and
  running jobs: an enqueue with a key that an active job holds returns that job.
- ``pgq_unique``: keys held for a window (``unique_for``) beyond the job's run.
- ``pgq_schedules``: one row per periodic schedule, its last firing (the
  compare-and-set that makes each firing one job across all workers).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from .comment import version_comment

TS = postgresql.TIMESTAMP(timezone=True)


def upgrade(op: Any, schema: str | None) -> None:
    """Create ``pgq_queues``, ``pgq_unique``, ``pgq_schedules`` and
    ``pgq_jobs.unique_key`` with its index."""
    op.create_table(
        "pgq_queues",
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("paused", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("paused_at", TS, nullable=True),
        sa.Column("updated_at", TS, server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_pgq_queues")),
        schema=schema,
    )
    op.add_column("pgq_jobs", sa.Column("unique_key", sa.Text(), nullable=True), schema=schema)
    op.create_index(
        op.f("pgq_jobs_unique_key_idx"), "pgq_jobs", ["unique_key"], unique=True,
        postgresql_where=sa.text(
            "unique_key IS NOT NULL AND status IN ('queued', 'running')"),
        schema=schema,
    )
    op.create_table(
        "pgq_unique",
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("job_id", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_pgq_unique")),
        schema=schema,
    )
    op.create_table(
        "pgq_schedules",
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("entrypoint", sa.Text(), nullable=False),
        sa.Column("expression", sa.Text(), nullable=False),
        sa.Column("timezone", sa.Text(), nullable=True),
        sa.Column("missed", sa.Text(), nullable=False),
        sa.Column("queue", sa.Text(), nullable=False),
        sa.Column("priority", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("payload", postgresql.JSONB(), server_default=sa.text("'{}'::jsonb"),
                  nullable=False),
        sa.Column("created_at", TS, server_default=sa.text("now()"), nullable=False),
        sa.Column("seen_at", TS, server_default=sa.text("now()"), nullable=False),
        sa.Column("last_fire_at", TS, nullable=True),
        sa.Column("last_job_id", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_pgq_schedules")),
        schema=schema,
    )
    op.create_table_comment("pgq_jobs", version_comment(3),
                            existing_comment=version_comment(2), schema=schema)


def downgrade(op: Any, schema: str | None) -> None:
    """Drop them (pauses, held keys and schedule state go with them)."""
    op.drop_table("pgq_schedules", schema=schema)
    op.drop_table("pgq_unique", schema=schema)
    op.drop_index("pgq_jobs_unique_key_idx", table_name="pgq_jobs", schema=schema)
    op.drop_column("pgq_jobs", "unique_key", schema=schema)
    op.drop_table("pgq_queues", schema=schema)
    op.create_table_comment("pgq_jobs", version_comment(2),
                            existing_comment=version_comment(3), schema=schema)
