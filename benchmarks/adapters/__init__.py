"""Queue adapters, looked up by ``--libs`` name and imported only when used."""

from __future__ import annotations

import importlib

from benchmarks.adapters.base import QueueAdapter

#: ``--libs`` name -> ``module:class`` of its adapter.
ADAPTERS: dict[str, str] = {
    "pgq_sa": "benchmarks.adapters.pgq_sa_adapter:PgqSaAdapter",
    "pgqueuer": "benchmarks.adapters.pgqueuer_adapter:PgqueuerAdapter",
    "procrastinate": "benchmarks.adapters.procrastinate_adapter:ProcrastinateAdapter",
    "oban": "benchmarks.adapters.oban_adapter:ObanAdapter",
    "chancy": "benchmarks.adapters.chancy_adapter:ChancyAdapter",
}


def load_adapter(name: str) -> type[QueueAdapter]:
    """Import and return the adapter class registered as *name*."""
    try:
        target = ADAPTERS[name]
    except KeyError:
        raise ValueError(f"unknown library {name!r}; choose from {', '.join(ADAPTERS)}") from None
    module_name, _, class_name = target.partition(":")
    cls: type[QueueAdapter] = getattr(importlib.import_module(module_name), class_name)
    return cls


__all__ = ["ADAPTERS", "QueueAdapter", "load_adapter"]
