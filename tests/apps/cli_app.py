"""A registry for CLI tests."""

import os

import pgq_sa

registry = pgq_sa.Registry()


@registry.task()
async def hello(name: str) -> None:
    print(f"hello {name}", flush=True)


@registry.task(max_attempts=1)
async def crash() -> None:
    raise RuntimeError("kaput")


@registry.task()
def touch() -> None:
    """A task without arguments: ``pgq-sa worker tests.apps.cli_app:touch`` must
    refuse it, never call it."""
    _mark("touch")


def make_registry() -> pgq_sa.Registry:
    """A function returning a registry: not accepted either (it is never called)."""
    _mark("make_registry")
    return registry


def _mark(what: str) -> None:
    path = os.environ.get("PGQ_SA_TEST_MARKER")
    if path:
        with open(path, "a") as f:
            f.write(f"{what} ran\n")


empty = pgq_sa.Registry()
not_a_registry = 42
