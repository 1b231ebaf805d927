"""welcome emails

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 05:25:26.632753
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "welcome_emails",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("job_id", sa.BigInteger(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"],
                                name=op.f("fk_welcome_emails_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_welcome_emails")),
        sa.UniqueConstraint("user_id", name=op.f("uq_welcome_emails_user_id")),
    )


def downgrade() -> None:
    op.drop_table("welcome_emails")
