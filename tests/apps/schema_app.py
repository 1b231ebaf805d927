"""A registry whose tables live in the ``jobs`` PostgreSQL schema."""

import pgq_sa

registry = pgq_sa.Registry(schema="jobs")


@registry.task(queue="jobs_q")
async def in_jobs(n: int) -> None:
    pass
