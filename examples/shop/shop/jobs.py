"""The shop's background jobs: ``pgq-sa worker shop.jobs:registry``."""

from __future__ import annotations

import uuid

import pgq_sa
from sqlalchemy.dialects.postgresql import insert

from .db import sessions
from .models import WelcomeEmail

registry = pgq_sa.Registry()


@registry.task(queue="emails", max_attempts=5)
def send_welcome_email(user_id: uuid.UUID, ctx: pgq_sa.JobContext) -> None:
    """Send the welcome email (here: record it), once per user even if retried."""
    with sessions()() as session:
        session.execute(insert(WelcomeEmail).values(
            id=uuid.uuid4(), user_id=user_id, job_id=ctx.id,
        ).on_conflict_do_nothing(index_elements=["user_id"]))
        session.commit()
