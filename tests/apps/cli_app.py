"""A registry for CLI tests."""

import pgq_sa

registry = pgq_sa.Registry()


@registry.task()
async def hello(name: str) -> None:
    print(f"hello {name}", flush=True)


not_a_registry = 42
