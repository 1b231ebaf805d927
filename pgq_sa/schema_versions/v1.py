"""Schema version 1: ``pgq_jobs`` and ``pgq_workers`` (revision ``pgq_sa_0001``)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from .comment import version_comment

TS = postgresql.TIMESTAMP(timezone=True)


def upgrade(op: Any, schema: str | None) -> None:
    """Create ``pgq_jobs`` (with its indexes) and ``pgq_workers``."""
    preparer = op.get_context().dialect.identifier_preparer
    if schema is not None:
        op.execute(f"CREATE SCHEMA IF NOT EXISTS {preparer.quote_schema(schema)}")
    op.create_table(
        "pgq_jobs",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("queue", sa.Text(), server_default=sa.text("'default'"), nullable=False),
        sa.Column("entrypoint", sa.Text(), nullable=False),
        sa.Column("payload", postgresql.JSONB(), server_default=sa.text("'{}'::jsonb"),
                  nullable=False),
        sa.Column("status", sa.Text(), server_default=sa.text("'queued'"), nullable=False),
        sa.Column("priority", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("run_at", TS, server_default=sa.text("now()"), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=True),
        sa.Column("created_at", TS, server_default=sa.text("now()"), nullable=False),
        sa.Column("started_at", TS, nullable=True),
        sa.Column("finished_at", TS, nullable=True),
        sa.Column("heartbeat_at", TS, nullable=True),
        sa.Column("worker_id", sa.Text(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("errors", postgresql.JSONB(), server_default=sa.text("'[]'::jsonb"),
                  nullable=False),
        sa.Column("cancel_requested_at", TS, nullable=True),
        sa.CheckConstraint(
            "status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')",
            name=op.f("ck_pgq_jobs_status"),
        ),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_pgq_jobs_attempts")),
        sa.CheckConstraint("max_attempts IS NULL OR max_attempts >= 1",
                           name=op.f("ck_pgq_jobs_max_attempts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pgq_jobs")),
        schema=schema,
        comment=version_comment(1),
    )
    op.create_index(
        op.f("pgq_jobs_dequeue_idx"), "pgq_jobs",
        ["queue", sa.text("priority DESC"), "run_at", "id"],
        postgresql_where=sa.text("status = 'queued'"), schema=schema,
    )
    op.create_index(
        op.f("pgq_jobs_running_idx"), "pgq_jobs", ["worker_id", "heartbeat_at"],
        postgresql_where=sa.text("status = 'running'"), schema=schema,
    )
    op.create_index(
        op.f("pgq_jobs_finished_idx"), "pgq_jobs", ["finished_at"],
        postgresql_where=sa.text("status IN ('succeeded', 'failed', 'cancelled')"),
        schema=schema,
    )
    # The jobs table churns: every job writes two or three row versions.  Vacuum it
    # after a fixed number of dead rows rather than a fraction of a growing table.
    jobs = preparer.format_table(sa.table("pgq_jobs", schema=schema))
    op.execute(
        f"ALTER TABLE {jobs} SET (autovacuum_vacuum_scale_factor = 0, "
        "autovacuum_vacuum_threshold = 5000, autovacuum_vacuum_insert_scale_factor = 0, "
        "autovacuum_vacuum_insert_threshold = 50000, autovacuum_analyze_scale_factor = 0.02)"
    )
    op.create_table(
        "pgq_workers",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("host", sa.Text(), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("queues", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("entrypoints", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("concurrency", sa.Integer(), nullable=False),
        sa.Column("started_at", TS, server_default=sa.text("now()"), nullable=False),
        sa.Column("heartbeat_at", TS, server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pgq_workers")),
        schema=schema,
    )


def downgrade(op: Any, schema: str | None) -> None:
    """Drop both tables (queued jobs with them)."""
    op.drop_table("pgq_workers", schema=schema)
    op.drop_index("pgq_jobs_finished_idx", table_name="pgq_jobs", schema=schema)
    op.drop_index("pgq_jobs_running_idx", table_name="pgq_jobs", schema=schema)
    op.drop_index("pgq_jobs_dequeue_idx", table_name="pgq_jobs", schema=schema)
    op.drop_table("pgq_jobs", schema=schema)
