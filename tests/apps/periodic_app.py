"""A registry with one periodic schedule for the scheduling tests: ``tick`` every
``$PGQ_SA_TEST_EVERY`` seconds (default 1), missed-firing policy
``$PGQ_SA_TEST_MISSED`` (default ``latest``), on time for ``$PGQ_SA_TEST_GRACE``
seconds (default 3)."""

import os
from datetime import timedelta

import pgq_sa

registry = pgq_sa.Registry()


@registry.task(queue="periodic")
def tick() -> None:
    """Runs at each fire time."""


registry.schedule(
    tick,
    every=timedelta(seconds=float(os.environ.get("PGQ_SA_TEST_EVERY", "1"))),
    missed=os.environ.get("PGQ_SA_TEST_MISSED", "latest"),
    grace=float(os.environ.get("PGQ_SA_TEST_GRACE", "3")),
)
