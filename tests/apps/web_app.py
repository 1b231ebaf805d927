"""A registry for the web dashboard's browser tests (``pgq-sa worker
tests.apps.web_app:registry``)."""

from __future__ import annotations

import os
import time

import pgq_sa

registry = pgq_sa.Registry()


@registry.task(queue="reports", max_attempts=1)
def flaky(marker: str) -> None:
    """Fails the first time it runs (``marker.failed`` records that); when run again
    (an operator's retry) it waits for ``marker.release`` to exist, so a test sees it
    running, then succeeds.  (A plain function: the worker runs it in a thread.)"""
    if not os.path.exists(f"{marker}.failed"):
        with open(f"{marker}.failed", "w") as f:
            f.write("failed once\n")
        raise RuntimeError(f"first attempt of {os.path.basename(marker)} fails on purpose")
    deadline = time.monotonic() + 60
    while not os.path.exists(f"{marker}.release"):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{marker}.release never appeared")
        time.sleep(0.02)


@registry.task(queue="emails")
async def send(to: str) -> None:
    """Quick work."""
