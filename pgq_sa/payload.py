"""Payload validation: a job's payload is a JSON object whose keys become keyword arguments."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

__all__ = ["dump_payload"]


def _check(value: Any, path: str) -> None:
    if value is None or isinstance(value, (bool, str, int)):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"payload value {value!r} at {path} is not valid JSON (NaN/Infinity)")
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(
                    f"payload key {key!r} at {path} must be a string, not {type(key).__name__}"
                )
            _check(item, f"{path}.{key}")
        return
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _check(item, f"{path}[{i}]")
        return
    raise TypeError(
        f"payload value {value!r} at {path} is not JSON-serializable "
        f"({type(value).__name__}); convert it to str, int, float, bool, None, list or dict"
    )


_SCALARS = frozenset({str, int, bool, type(None)})
_dumps = json.JSONEncoder(separators=(",", ":"), allow_nan=False).encode


def dump_payload(payload: Any, entrypoint: str = "job") -> str:
    """Validate ``payload`` (a JSON object) and return its JSON text.

    Raises ``TypeError``/``ValueError`` naming the offending value; nothing touches
    the database before this passes.
    """
    if payload is None:
        return "{}"
    if not isinstance(payload, Mapping):
        raise TypeError(
            f"payload for {entrypoint!r} must be a JSON object (dict of keyword arguments), "
            f"not {type(payload).__name__}"
        )
    # fast path: a flat object of strings, ints, bools and nulls needs no walk
    if not all(type(k) is str for k in payload) or not all(
        type(v) in _SCALARS for v in payload.values()
    ):
        _check(payload, "payload")
    return _dumps(payload)


def load_payload(value: Any) -> dict[str, Any]:
    """Decode a payload as returned by the driver (text or already decoded)."""
    decoded = json.loads(value) if isinstance(value, (str, bytes)) else value
    if not isinstance(decoded, dict):
        raise TypeError(f"payload must be a JSON object, got {type(decoded).__name__}")
    return decoded
