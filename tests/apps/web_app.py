"""A registry for the web dashboard's browser tests (``pgq-sa worker
tests.apps.web_app:registry``)."""

from __future__ import annotations

import os

import anyio

import pgq_sa

registry = pgq_sa.Registry()


@registry.task(queue="reports", max_attempts=1)
async def flaky(marker: str) -> None:
    """Fails the first time it runs (``marker.failed`` records that); when run again
    (an operator's retry) it waits for ``marker.release`` to exist, so a test sees it
    running, then succeeds."""
    if not os.path.exists(f"{marker}.failed"):
        with open(f"{marker}.failed", "w") as f:
            f.write("failed once\n")
        raise RuntimeError(f"first attempt of {os.path.basename(marker)} fails on purpose")
    with anyio.fail_after(60):
        while not os.path.exists(f"{marker}.release"):
            await anyio.sleep(0.02)


@registry.task(queue="emails")
async def send(to: str) -> None:
    """Quick work for the charts."""
