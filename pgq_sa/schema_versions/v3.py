"""Schema version 3: results, progress and per-job timeouts on ``pgq_jobs``
(revision ``pgq_sa_0003``).

- ``result`` (JSONB): a handler's return value, kept as long as the job.
- ``awaited`` (boolean): someone waits for the job (:func:`pgq_sa.wait`): its
  acknowledgement sends a NOTIFY on the completion channel (others send none).
- ``progress`` (real) and ``progress_message`` (text): the last progress a
  running handler reported (:meth:`pgq_sa.JobContext.progress`).
- ``heartbeat_timeout`` (double precision): the task's heartbeat timeout, stored
  at enqueue, so the rescue applies the job's own value (NULL: older jobs, the
  rescuing worker's registry or the default).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from .comment import version_comment


def upgrade(op: Any, schema: str | None) -> None:
    """Add the columns (all nullable or with a constant default: no table rewrite)."""
    op.add_column("pgq_jobs", sa.Column("result", postgresql.JSONB(), nullable=True),
                  schema=schema)
    op.add_column("pgq_jobs", sa.Column("awaited", sa.Boolean(),
                                        server_default=sa.text("false"), nullable=False),
                  schema=schema)
    op.add_column("pgq_jobs", sa.Column("progress", sa.REAL(), nullable=True), schema=schema)
    op.add_column("pgq_jobs", sa.Column("progress_message", sa.Text(), nullable=True),
                  schema=schema)
    op.add_column("pgq_jobs", sa.Column("heartbeat_timeout", postgresql.DOUBLE_PRECISION(),
                                        nullable=True), schema=schema)
    op.create_table_comment("pgq_jobs", version_comment(3),
                            existing_comment=version_comment(2), schema=schema)


def downgrade(op: Any, schema: str | None) -> None:
    """Drop the columns (stored results and progress go with them)."""
    for column in ("heartbeat_timeout", "progress_message", "progress", "awaited", "result"):
        op.drop_column("pgq_jobs", column, schema=schema)
    op.create_table_comment("pgq_jobs", version_comment(2),
                            existing_comment=version_comment(3), schema=schema)
