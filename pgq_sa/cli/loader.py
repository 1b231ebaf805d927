"""Load ``module:attribute`` registries given on the command line."""

from __future__ import annotations

import importlib
import os
import sys

from ..errors import ConfigurationError
from ..registry import Registry, Task


def load_registry(target: str) -> Registry:
    """Import ``module:attr`` (the current directory is importable) and return the
    :class:`~pgq_sa.Registry` it names.

    Only a Registry is accepted, never called: a task, a function or anything else
    raises :class:`ConfigurationError` (the CLI exits 2), and so does a registry
    without tasks.  The object is never called, so naming a task by mistake cannot
    run it."""
    module_name, sep, attr = target.partition(":")
    if not sep or not module_name or not attr:
        raise ConfigurationError(
            f"bad registry {target!r}: expected module:attribute, e.g. myapp.jobs:registry")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            raise ConfigurationError(
                f"cannot import {module_name!r} from {target!r}: no module named {exc.name!r} "
                "(check the name and that it is on PYTHONPATH)") from None
        raise ConfigurationError(f"importing {module_name!r} failed: {exc}") from None
    except Exception as exc:
        raise ConfigurationError(
            f"importing {module_name!r} failed: {type(exc).__name__}: {exc}") from None
    obj: object = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ConfigurationError(
                f"module {module_name!r} has no attribute {attr!r}{_hint(module)}") from None
    if not isinstance(obj, Registry):
        what = (f"task {obj.name!r}" if isinstance(obj, Task)
                else f"{_article(type(obj).__name__)} {type(obj).__name__}")
        raise ConfigurationError(f"{target!r} is {what}, not a pgq_sa.Registry{_hint(module)}")
    if not len(obj):
        raise ConfigurationError(
            f"registry {target!r} has no tasks: register some with @registry.task (and "
            "import the modules that define them from that module)")
    return obj


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def _hint(module: object) -> str:
    """``: did you mean myapp.jobs:registry?`` when the module holds registries with
    tasks."""
    found = sorted(name for name, value in vars(module).items()
                   if isinstance(value, Registry) and len(value))
    if not found:
        return ""
    name = getattr(module, "__name__", "module")
    return f": did you mean {' or '.join(f'{name}:{n}' for n in found[:3])}?"
