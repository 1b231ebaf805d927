"""A registry for the flow-control tests (pause, unique jobs): one short task, run in
whichever queue a job names."""

import time

import pgq_sa

registry = pgq_sa.Registry()


@registry.task()
def work(n: int = 0) -> None:
    time.sleep(0.01)


@registry.task()
def marker() -> None:
    """Enqueued last: when it has run, the workers have claimed since."""
