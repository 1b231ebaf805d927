"""Load ``module:attribute`` registries given on the command line."""

from __future__ import annotations

import importlib
import os
import sys

from ..errors import ConfigurationError
from ..registry import Registry


def load_registry(target: str) -> Registry:
    """Import ``module:attr`` (the current directory is importable) and return the
    :class:`~pgq_sa.Registry` it names; raise :class:`ConfigurationError` otherwise."""
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
                f"module {module_name!r} has no attribute {attr!r}") from None
    if callable(obj) and not isinstance(obj, Registry):
        obj = obj()
    if not isinstance(obj, Registry):
        raise ConfigurationError(
            f"{target!r} is a {type(obj).__name__}, not a pgq_sa.Registry")
    return obj
