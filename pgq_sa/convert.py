"""Typed payloads: handler parameters of richer types travel as JSON.

Parameters annotated ``uuid.UUID``, ``datetime``, ``date``, ``time``, ``Decimal`` or
an ``Enum`` (also inside ``Optional[...]``, ``list[...]``, ``tuple[...]``,
``set[...]`` and ``dict[str, ...]``), and, when pydantic is installed, pydantic
models, dataclasses and the other types pydantic knows, are converted to JSON when
a job is enqueued through its task (``task.enqueue``, ``task.job``,
``registry.enqueue``) and back to their type, from the handler's annotations,
before the handler runs.

Wire forms: a UUID or a Decimal is a string, a datetime, date or time an ISO 8601
string, an Enum its member's value, a set or tuple an array, a model or dataclass
what pydantic's JSON mode gives.  Enqueueing accepts a value of the annotated type
or its wire form (checked), so a producer holding JSON can use the same call.

Converters are built once per task when it is registered (:func:`converters`); a
task whose parameters are all plain JSON has none and takes the plain path.

Errors are :class:`~pgq_sa.errors.PayloadError` naming the path
(``payload.user.id``) and the expected type, never the value: a model's repr can
carry a password hash.  They are raised outside any ``except`` block, so no
exception that holds the value rides along as their context.
"""

from __future__ import annotations

import dataclasses
import enum
import inspect
import math
import types
import typing
import uuid
from collections import abc
from collections.abc import Callable
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from .errors import PayloadError

__all__ = ["Codec", "codec_for", "converters", "decode_payload", "encode_payload",
           "result_codec"]

#: ``convert(value, path)``: one direction of a :class:`Codec`.
Convert = Callable[[Any, str], Any]
_NONE = type(None)


@dataclasses.dataclass(frozen=True, slots=True)
class Codec:
    """How one annotation travels: ``encode`` gives its JSON value (from a value of
    the type or its wire form), ``decode`` gives the typed value back."""

    label: str
    encode: Convert
    decode: Convert


def _mismatch(path: str, label: str, value: Any) -> PayloadError:
    return PayloadError(f"{path}: expected {label}, got {type(value).__name__}")


def _invalid(path: str, label: str, value: Any) -> PayloadError:
    return PayloadError(f"{path}: not a valid {label} (a {type(value).__name__} that "
                        "does not parse as one)")


# -- scalars ------------------------------------------------------------------------------

def _parse_uuid(value: Any, path: str) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    if not isinstance(value, str):
        raise _mismatch(path, "UUID", value)
    try:
        return uuid.UUID(value)
    except ValueError:
        pass
    raise _invalid(path, "UUID", value)


_UUID = Codec("UUID", lambda v, p: str(_parse_uuid(v, p)), _parse_uuid)


def _iso(kind: type[Any], label: str, excluded: type[Any] | None = None) -> Codec:
    """A codec for ``date``, ``datetime`` or ``time``: ISO 8601 strings on the wire."""

    def parse(value: Any, path: str) -> Any:
        if isinstance(value, kind) and not (excluded and isinstance(value, excluded)):
            return value
        if not isinstance(value, str):
            raise _mismatch(path, label, value)
        text = value[:-1] + "+00:00" if value[-1:] in ("Z", "z") and kind is not date \
            else value
        try:
            return kind.fromisoformat(text)
        except ValueError:
            pass
        raise _invalid(path, label, value)

    return Codec(label, lambda v, p: parse(v, p).isoformat(), parse)


_DATETIME = _iso(datetime, "datetime")
_DATE = _iso(date, "date", excluded=datetime)
_TIME = _iso(time, "time")


def _parse_decimal(value: Any, path: str) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise _mismatch(path, "Decimal", value)
    if isinstance(value, float) and not math.isfinite(value):
        raise _invalid(path, "Decimal", value)
    try:
        return Decimal(value if isinstance(value, (int, str)) else repr(value))
    except InvalidOperation:
        pass
    raise _invalid(path, "Decimal", value)


_DECIMAL = Codec("Decimal", lambda v, p: str(_parse_decimal(v, p)), _parse_decimal)


def _enum(cls: type[enum.Enum]) -> Codec:
    label = cls.__name__

    def decode(value: Any, path: str) -> enum.Enum:
        if isinstance(value, cls):
            return value
        try:
            return cls(value)
        except (ValueError, TypeError):
            pass
        raise PayloadError(f"{path}: not a value of {label} (got a {type(value).__name__})")

    return Codec(label, lambda v, p: decode(v, p).value, decode)


# -- containers ---------------------------------------------------------------------------

def _identity(value: Any, path: str) -> Any:
    return value


def _optional(inner: Codec) -> Codec:
    enc, dec = inner.encode, inner.decode
    return Codec(f"{inner.label} or None",
                 lambda v, p: None if v is None else enc(v, p),
                 lambda v, p: None if v is None else dec(v, p))


_ARRAY_INPUTS = (list, tuple, set, frozenset)


def _array(item: Codec | None, make: Callable[[list[Any]], Any], label: str) -> Codec:
    """``list``/``tuple``/``set``/``frozenset`` of one item type: a JSON array."""
    enc = item.encode if item is not None else _identity
    dec = item.decode if item is not None else _identity

    def encode(value: Any, path: str) -> list[Any]:
        if not isinstance(value, _ARRAY_INPUTS):
            raise _mismatch(path, label, value)
        return [enc(x, f"{path}[{i}]") for i, x in enumerate(value)]

    def decode(value: Any, path: str) -> Any:
        if not isinstance(value, list):
            raise _mismatch(path, label, value)
        return make([dec(x, f"{path}[{i}]") for i, x in enumerate(value)])

    return Codec(label, encode, decode)


def _fixed_tuple(items: list[Codec | None], label: str) -> Codec:
    """``tuple[A, B, ...]`` of fixed length: a JSON array of that length."""
    encs = [c.encode if c is not None else _identity for c in items]
    decs = [c.decode if c is not None else _identity for c in items]
    n = len(items)

    def check(value: Any, path: str, kinds: tuple[type[Any], ...]) -> None:
        if not isinstance(value, kinds):
            raise _mismatch(path, label, value)
        if len(value) != n:
            raise PayloadError(f"{path}: expected {label}, got {len(value)} items")

    def encode(value: Any, path: str) -> list[Any]:
        check(value, path, (list, tuple))
        return [f(x, f"{path}[{i}]") for i, (f, x) in enumerate(zip(encs, value, strict=True))]

    def decode(value: Any, path: str) -> tuple[Any, ...]:
        check(value, path, (list,))
        return tuple(f(x, f"{path}[{i}]") for i, (f, x) in enumerate(zip(decs, value,
                                                                            strict=True)))

    return Codec(label, encode, decode)


def _mapping(key: Codec | None, val: Codec | None, label: str) -> Codec:
    """``dict[K, V]``: a JSON object; typed keys must encode to strings."""
    kenc = key.encode if key is not None else _identity
    kdec = key.decode if key is not None else _identity
    venc = val.encode if val is not None else _identity
    vdec = val.decode if val is not None else _identity

    def encode(value: Any, path: str) -> dict[str, Any]:
        if not isinstance(value, abc.Mapping):
            raise _mismatch(path, label, value)
        out: dict[str, Any] = {}
        for k, x in value.items():
            name = kenc(k, f"{path} (a key)")
            if not isinstance(name, str):
                raise PayloadError(f"{path}: keys must be strings in JSON, got "
                                   f"{type(name).__name__}")
            out[name] = venc(x, f"{path}.{name}")
        return out

    def decode(value: Any, path: str) -> dict[Any, Any]:
        if not isinstance(value, dict):
            raise _mismatch(path, label, value)
        return {kdec(k, f"{path} (a key)"): vdec(x, f"{path}.{k}") for k, x in value.items()}

    return Codec(label, encode, decode)


# -- pydantic ------------------------------------------------------------------------------

def _pydantic(tp: Any, label: str) -> Codec | None:
    """A codec through ``pydantic.TypeAdapter``; ``None`` without pydantic 2 or when
    pydantic has no schema for ``tp``."""
    try:
        import pydantic
    except ImportError:
        return None
    adapter_cls = getattr(pydantic, "TypeAdapter", None)
    if adapter_cls is None:  # pydantic 1
        return None
    try:
        adapter = adapter_cls(tp)
    except Exception:
        return None
    validation_error = pydantic.ValidationError

    def decode(value: Any, path: str) -> Any:
        try:
            return adapter.validate_python(value)
        except validation_error as exc:
            why = _why(exc)
        raise PayloadError(f"{path}: not a valid {label} ({why})")

    def encode(value: Any, path: str) -> Any:
        valid = decode(value, path)
        try:
            return adapter.dump_python(valid, mode="json")
        except Exception as exc:
            why = type(exc).__name__
        raise PayloadError(f"{path}: {label} cannot be written as JSON ({why})")

    return Codec(label, encode, decode)


def _why(exc: Any) -> str:
    """Where and which kind of error, from a pydantic ``ValidationError``, without
    its input values (its ``str`` quotes them)."""
    errors = exc.errors()
    parts = []
    for err in errors[:5]:
        loc = ".".join(str(x) for x in err.get("loc", ()))
        parts.append(f"{loc}: {err.get('type')}" if loc else str(err.get("type")))
    if len(errors) > 5:
        parts.append(f"{len(errors) - 5} more")
    return "; ".join(parts)


def _is_pydantic_model(tp: type[Any]) -> bool:
    return any(c.__module__.startswith("pydantic") and c.__name__ == "BaseModel"
               for c in tp.__mro__)


# -- annotations -> codecs --------------------------------------------------------------------

def _label(tp: Any) -> str:
    if isinstance(tp, type):
        return tp.__name__
    return str(tp).replace("typing.", "")


_SEQUENCES = (list, abc.Sequence, abc.MutableSequence, abc.Collection, abc.Iterable)
_SETS = (set, abc.Set, abc.MutableSet)
_MAPPINGS = (dict, abc.Mapping, abc.MutableMapping)


def codec_for(tp: Any) -> Codec | None:
    """The codec of annotation ``tp``; ``None`` when values pass as they are (plain
    JSON, or a type this module does not convert).  Raises ``TypeError`` for an
    annotation that needs pydantic when pydantic is missing."""
    if tp is Any or tp is object or tp is None or tp is _NONE:
        return None
    supertype = getattr(tp, "__supertype__", None)  # typing.NewType
    if supertype is not None:
        return codec_for(supertype)
    origin = typing.get_origin(tp)
    if origin is not None:
        return _generic(tp, origin, typing.get_args(tp))
    if isinstance(tp, type):
        return _class(tp)
    return None  # TypeVar, Literal without origin, and other typing constructs


def _generic(tp: Any, origin: Any, args: tuple[Any, ...]) -> Codec | None:
    label = _label(tp)
    if origin is typing.Annotated:
        return codec_for(args[0])
    if origin is typing.Literal or origin is type:
        return None
    if origin is typing.Union or origin is types.UnionType:
        members = [a for a in args if a is not _NONE]
        codecs = [codec_for(m) for m in members]
        if all(c is None for c in codecs):
            return None
        if len(members) == 1:
            inner = codecs[0]
            assert inner is not None
            return _optional(inner) if len(args) > 1 else inner
        union = _pydantic(tp, label)
        if union is None:
            raise TypeError(f"a union of several typed members ({label}) needs pydantic "
                            "(pip install pydantic), or annotate one type")
        return union
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return _array(codec_for(args[0]), tuple, label)
        if args == ((),) or not args:
            return _array(None, tuple, label)
        return _fixed_tuple([codec_for(a) for a in args], label)
    if origin in _SETS or origin is frozenset:
        make: Callable[[list[Any]], Any] = frozenset if origin is frozenset else set
        return _array(codec_for(args[0]) if args else None, make, label)
    if origin in _SEQUENCES:
        item = codec_for(args[0]) if args else None
        return None if item is None else _array(item, list, label)
    if origin in _MAPPINGS:
        key = codec_for(args[0]) if args else None
        val = codec_for(args[1]) if len(args) > 1 else None
        return None if key is None and val is None else _mapping(key, val, label)
    return _pydantic(tp, label)


def _class(tp: type[Any]) -> Codec | None:
    if issubclass(tp, enum.Enum):
        return _enum(tp)
    if tp in (str, int, float, bool, dict, list):
        return None
    if issubclass(tp, uuid.UUID):
        return _UUID
    if issubclass(tp, datetime):
        return _DATETIME
    if issubclass(tp, date):
        return _DATE
    if issubclass(tp, time):
        return _TIME
    if issubclass(tp, Decimal):
        return _DECIMAL
    if tp is tuple:
        return _array(None, tuple, "tuple")
    if tp in (set, frozenset):
        return _array(None, tp, tp.__name__)
    if typing.is_typeddict(tp):
        fields = typing.get_type_hints(tp)
        if all(codec_for(h) is None for h in fields.values()):
            return None
        return _needs_pydantic(tp, "a TypedDict with typed fields")
    if issubclass(tp, (str, int, float, dict, list)):
        return None
    if dataclasses.is_dataclass(tp):
        return _needs_pydantic(tp, "a dataclass")
    if _is_pydantic_model(tp):
        return _needs_pydantic(tp, "a pydantic model")
    return _pydantic(tp, tp.__name__)


def _needs_pydantic(tp: type[Any], what: str) -> Codec:
    codec = _pydantic(tp, tp.__name__)
    if codec is None:
        raise TypeError(f"{tp.__qualname__} is {what}: converting it needs pydantic 2 "
                        "(pip install pydantic) and a type pydantic can validate")
    return codec


def _annotations(fn: Callable[..., Any], localns: dict[str, Any] | None
                 ) -> tuple[dict[str, Any], dict[str, str]]:
    """``fn``'s resolved annotations, and those that do not resolve (yet): postponed
    annotations (strings) are evaluated in ``fn``'s module, then ``localns`` (the
    namespace that registered it), one by one, so that one name imported only under
    ``TYPE_CHECKING`` leaves the others typed."""
    try:
        return typing.get_type_hints(fn, localns=localns), {}
    except Exception:
        pass
    raw = getattr(fn, "__annotations__", {})
    globalns = getattr(fn, "__globals__", {})
    hints: dict[str, Any] = {}
    unresolved: dict[str, str] = {}
    for name, annotation in raw.items():
        if not isinstance(annotation, str):
            hints[name] = annotation
            continue
        try:
            hints[name] = eval(compile(annotation, "<annotation>", "eval"), globalns,
                               dict(localns or {}))
        except Exception as exc:
            unresolved[name] = f"{annotation!r} ({type(exc).__name__}: {exc})"
    return hints, unresolved


def converters(fn: Callable[..., Any], skip: str | None = None,
               localns: dict[str, Any] | None = None) -> tuple[dict[str, Codec], dict[str, str]]:
    """Codecs of ``fn``'s keyword parameters that need one (``skip``: the JobContext
    parameter), and the parameters whose annotation does not resolve (yet: a
    forward reference, or a name imported only for type checkers), with why.
    Raises ``TypeError`` for an annotation that cannot be converted."""
    hints, unresolved = _annotations(fn, localns)
    out: dict[str, Codec] = {}
    params = {}
    for param in inspect.signature(fn).parameters.values():
        if param.name == skip or param.kind in (
                inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD,
                inspect.Parameter.POSITIONAL_ONLY):
            continue
        params[param.name] = param
        if param.name not in hints:
            continue
        try:
            codec = codec_for(hints[param.name])
        except TypeError as exc:
            raise TypeError(f"parameter {param.name!r}: {exc}") from None
        if codec is not None:
            out[param.name] = codec
    return out, {name: why for name, why in unresolved.items() if name in params}


def encode_payload(codecs: dict[str, Codec], payload: dict[str, Any]) -> dict[str, Any]:
    """``payload`` (a fresh dict, changed in place) with typed values as JSON."""
    for name, codec in codecs.items():
        if name in payload:
            payload[name] = codec.encode(payload[name], f"payload.{name}")
    return payload


def decode_payload(codecs: dict[str, Codec], payload: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``payload`` with the typed parameters converted to their types."""
    out = dict(payload)
    for name, codec in codecs.items():
        if name in out:
            out[name] = codec.decode(out[name], f"payload.{name}")
    return out


def result_codec(fn: Callable[..., Any], localns: dict[str, Any] | None = None
                 ) -> Codec | None:
    """The codec of ``fn``'s return annotation (its stored result), ``None`` for
    plain JSON, no annotation or one that does not resolve.  Raises ``TypeError``
    for an annotation that cannot be converted."""
    hints, _ = _annotations(fn, localns)
    if "return" not in hints:
        return None
    try:
        return codec_for(hints["return"])
    except TypeError as exc:
        raise TypeError(f"return type: {exc}") from None
