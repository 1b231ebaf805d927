"""Payload validation: a job's payload is a JSON object whose keys become keyword arguments."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

__all__ = ["dump_payload"]


def _check(value: Any, path: str) -> None:
    # Messages name the path and the type, never the value (it may be a secret).
    if value is None or isinstance(value, (bool, str, int)):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"payload value at {path} is not valid JSON (NaN/Infinity)")
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(
                    f"payload key in {path} must be a string, not {type(key).__name__}"
                )
            _check(item, f"{path}.{key}")
        return
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _check(item, f"{path}[{i}]")
        return
    raise TypeError(
        f"payload value at {path} is not JSON-serializable ({type(value).__name__}): "
        "enqueue through the task (task.enqueue, registry.enqueue) to convert "
        "UUID, datetime, Decimal, Enum or model parameters, or pass str, int, float, "
        "bool, None, list or dict"
    )


_SCALARS = frozenset({str, int, bool, type(None)})
_dumps = json.JSONEncoder(separators=(",", ":"), allow_nan=False).encode
# ``JSONEncoder.encode`` builds a C encoder on every call (two thirds of the cost
# of a small payload); flat payloads reuse one.  It keeps no cycle markers, which
# a flat object of scalars cannot need.  CPython only, else the plain encoder.
_c_make_encoder = getattr(json.encoder, "c_make_encoder", None)
_flat_chunks = None if _c_make_encoder is None else _c_make_encoder(
    None, None, json.encoder.encode_basestring_ascii, None, ":", ",", False, False, False)


def _dumps_flat(payload: dict[str, Any]) -> str:
    if _flat_chunks is None:
        return _dumps(payload)
    return "".join(_flat_chunks(payload, 0))


def dump_payload(payload: Any, entrypoint: str = "job") -> str:
    """Validate ``payload`` (a JSON object) and return its JSON text.

    Raises ``TypeError``/``ValueError`` naming where the offending value is and its
    type (never the value); nothing touches the database before this passes.
    """
    if payload is None:
        return "{}"
    if not isinstance(payload, Mapping):
        raise TypeError(
            f"payload for {entrypoint!r} must be a JSON object (dict of keyword arguments), "
            f"not {type(payload).__name__}"
        )
    # fast path: a flat dict of strings, ints, bools and nulls needs no walk
    if type(payload) is dict:
        for key, value in payload.items():
            if type(key) is not str or type(value) not in _SCALARS:
                break
        else:
            return _dumps_flat(payload)
    _check(payload, "payload")
    return _dumps(payload)


def load_payload(value: Any) -> dict[str, Any]:
    """Decode a payload as returned by the driver (text or already decoded)."""
    decoded = json.loads(value) if isinstance(value, (str, bytes)) else value
    if not isinstance(decoded, dict):
        raise TypeError(f"payload must be a JSON object, got {type(decoded).__name__}")
    return decoded
