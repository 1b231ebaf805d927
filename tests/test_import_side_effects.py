"""A library is a guest in its user's process: importing pgq_sa (and using its
public names) changes no interpreter-global state."""

from __future__ import annotations

import json
import subprocess
import sys

from .procs import ROOT

PROBE = r"""
import asyncio, gc, json, logging, signal, sys, threading, warnings

def state():
    return {
        "gc_enabled": gc.isenabled(),
        "gc_frozen": gc.get_freeze_count(),
        "gc_threshold": gc.get_threshold(),
        "signals": {s.name: repr(signal.getsignal(s)) for s in signal.valid_signals()
                    if isinstance(s, signal.Signals)},
        "root_handlers": [repr(h) for h in logging.getLogger().handlers],
        # (a NullHandler on a library's own logger, as alembic adds, emits nothing)
        "logger_handlers": sorted(
            (name, repr(hs)) for name, lg in logging.Logger.manager.loggerDict.items()
            if isinstance(lg, logging.Logger)
            and (hs := [h for h in lg.handlers if not isinstance(h, logging.NullHandler)])),
        "root_level": logging.getLogger().level,
        "pgq_logger": [repr(logging.getLogger("pgq_sa").handlers),
                       logging.getLogger("pgq_sa").level,
                       logging.getLogger("pgq_sa").propagate],
        "policy": repr(asyncio.events._event_loop_policy),
        "excepthook": repr(sys.excepthook),
        "thread_excepthook": repr(threading.excepthook),
        "warnings": repr(warnings.filters),
    }

# spies: a call that changes global state and undoes it leaves no trace in state()
calls = []

def spy(module, name):
    real = getattr(module, name)

    def wrapper(*args, **kwargs):
        calls.append(f"{module.__name__}.{name}")
        return real(*args, **kwargs)

    setattr(module, name, wrapper)

for name in ("disable", "enable", "freeze", "unfreeze", "set_threshold", "collect"):
    spy(gc, name)
spy(signal, "signal")
spy(asyncio, "set_event_loop_policy")
spy(logging, "basicConfig")

if sys.version_info < (3, 11):
    # anyio's backport of ExceptionGroup (exceptiongroup) replaces sys.excepthook
    # when it is imported: a dependency's doing, not pgq-sa's; take it as given
    import exceptiongroup  # noqa: F401
before = state()
import pgq_sa
only_import = state()
heavy = "sqlalchemy" in sys.modules
for name in pgq_sa.__all__:  # every public name, and what they import
    getattr(pgq_sa, name)
registry = pgq_sa.Registry()

@registry.task()
async def job(x: int) -> None: ...

worker = pgq_sa.Worker(registry, "postgresql://nobody@127.0.0.1:1/none")
used = state()
print(json.dumps({"before": before, "import": only_import, "used": used, "heavy": heavy,
                  "calls": calls,
                  "enqueue_is_function": callable(pgq_sa.enqueue)}))
"""


def test_import_pgq_sa_changes_no_global_state():
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    before = data["before"]
    # (some interpreters start with objects frozen already: 3.12 here; what counts is
    # that importing and using pgq_sa changes nothing)
    assert before["gc_enabled"] is True
    assert before["policy"] == "None"  # no event loop policy was set (or created)
    assert data["import"] == before
    assert data["used"] == before, {k: (before[k], data["used"][k]) for k in before
                                    if before[k] != data["used"][k]}
    assert data["calls"] == []  # not even changed and restored
    assert data["heavy"] is False  # import pgq_sa alone loads no SQLAlchemy
    assert data["enqueue_is_function"] is True  # not shadowed by the module of that name
