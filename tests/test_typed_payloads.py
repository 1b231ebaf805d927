"""Typed payloads: UUID, datetime, Decimal, Enum, models... go in as their type,
travel as JSON and arrive in the handler as their type; errors never echo values."""

from __future__ import annotations

import enum
import json
import logging
import sys
import traceback
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any, Optional

import pydantic
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

import pgq_sa
from pgq_sa.logs import KeyValueFormatter
from pgq_sa.payload import dump_payload

from .apps import typed_app
from .conftest import running_worker, wait_for, wait_status

SECRET = "s3cr3t-$argon2id$v=19$hash"
U1, U2 = uuid.UUID(int=1), uuid.UUID(int=2)
T0 = datetime(2030, 1, 2, 3, 4, 5, 678901, tzinfo=timezone.utc)


class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Size(enum.IntEnum):
    S = 1
    L = 3


class Account(pydantic.BaseModel):
    id: uuid.UUID
    email: str
    password_hash: str
    created: datetime


@dataclass
class Box:
    size: Size
    at: date


ACCOUNT = Account(id=U1, email="ada@example.com", password_hash=SECRET, created=T0)


def _task(annotation: Any, registry: pgq_sa.Registry | None = None) -> pgq_sa.Task[Any, Any]:
    registry = registry or pgq_sa.Registry()

    def handler(x):  # type: ignore[no-untyped-def]
        return x

    handler.__annotations__ = {"x": annotation, "return": None}
    return registry.task(name=f"t{len(registry)}")(handler)


def _wire(task: pgq_sa.Task[Any, Any], value: Any) -> Any:
    """The JSON value ``value`` becomes, as stored."""
    return json.loads(dump_payload(task.job(x=value).payload))["x"]


@pytest.mark.parametrize(("annotation", "value"), [
    (uuid.UUID, U1),
    (datetime, T0),
    (datetime, datetime(2030, 1, 2, 3, 4, 5)),  # naive stays naive
    (datetime, datetime(2030, 1, 2, tzinfo=timezone(timedelta(hours=-5)))),
    (date, date(2030, 1, 2)),
    (time, time(12, 30, 15, 5)),
    (Decimal, Decimal("12345678901234567890.123456789")),
    (Decimal, Decimal("-0.00")),
    (Colour, Colour.BLUE),
    (Size, Size.L),
    (Optional[uuid.UUID], None),  # noqa: UP045 (the typing spelling must work too)
    (uuid.UUID | None, U2),
    (list[uuid.UUID], [U1, U2]),
    (list[Optional[date]], [date(2030, 1, 1), None]),  # noqa: UP045
    (set[str], {"a", "b"}),
    (frozenset[uuid.UUID], frozenset({U1, U2})),
    (tuple[int, ...], (1, 2, 3)),
    (tuple[int, date], (7, date(2030, 1, 2))),
    (dict[str, Decimal], {"a": Decimal("1.50"), "b": Decimal("2")}),
    (dict[uuid.UUID, Colour], {U1: Colour.RED}),
    (Account, ACCOUNT),
    (list[Account], [ACCOUNT, ACCOUNT.model_copy(update={"id": U2})]),
    (Box, Box(size=Size.S, at=date(2030, 1, 2))),
    (Optional[Box], None),  # noqa: UP045
    (timedelta, timedelta(days=1, seconds=5)),  # through pydantic
])
def test_round_trip_per_type(annotation, value):
    task = _task(annotation)
    wire = _wire(task, value)
    json.dumps(wire)  # plain JSON
    back = task.decode_payload({"x": wire})["x"]
    assert back == value and type(back) is type(value)
    if isinstance(value, (list, set, frozenset, tuple)):
        assert sorted(map(type, back), key=str) == sorted(map(type, value), key=str)
    if isinstance(value, dict):
        assert [type(k) for k in back] == [type(k) for k in value]
        assert [type(v) for v in back.values()] == [type(v) for v in value.values()]
    # the wire form is accepted too (producers holding JSON), and checked
    assert _wire(task, wire) == wire


def test_wire_forms_used_by_other_producers():
    assert _wire(_task(datetime), "2030-01-02T03:04:05Z") == "2030-01-02T03:04:05+00:00"
    assert _wire(_task(uuid.UUID), str(U1).upper()) == str(U1)
    assert _wire(_task(Decimal), 3) == "3"
    assert _wire(_task(Decimal), 0.1) == "0.1"
    assert _wire(_task(Colour), "red") == "red"
    assert _task(Decimal).decode_payload({"x": 2.5})["x"] == Decimal("2.5")


def test_plain_json_tasks_keep_the_fast_path():
    registry = pgq_sa.Registry()

    @registry.task()
    async def plain(a: str, b: int, c: float, d: bool, e: list[int], f: dict[str, Any],
                    g: Any, h: Optional[str] = None, ctx: pgq_sa.JobContext = None,  # noqa: UP045
                    ) -> None: ...

    assert plain._convert is False  # no converter is called for it
    assert plain.context_param == "ctx"  # also on 3.10, where the hint reads Optional[...]
    payload = {"a": "x", "b": 1, "c": 1.5, "d": True, "e": [1], "f": {"k": None}, "g": 3}
    assert plain.job(**payload).payload == payload


@pytest.mark.anyio
async def test_typed_payloads_through_a_real_worker(engine, dsn):
    """Enqueued three ways (typed values in a session, JSON through the registry, JSON
    by bare name): the handler gets the annotated types each time."""
    typed_app.received.clear()
    args: dict[str, Any] = dict(
        user_id=U1, at=T0, day=date(2030, 1, 2), clock=time(8, 30), amount=Decimal("9.99"),
        plan=typed_app.Plan.PRO, level=typed_app.Level.HIGH, maybe=None, ids=[U1, U2],
        tags={"x", "y"}, pair=(1, date(2030, 1, 3)), prices={"eur": Decimal("1.10")},
        point=typed_app.Point(x=4, when=T0),
        user=typed_app.User(id=U2, email="a@b.c", password_hash=SECRET, joined=T0),
    )
    task = typed_app.everything
    async with AsyncSession(engine) as session:
        first = await task.enqueue(session, **args)
        await session.commit()
    stored = (await pgq_sa.admin.get_job(engine, first))["payload"]
    assert stored["user_id"] == str(U1) and stored["amount"] == "9.99"
    assert stored["plan"] == "pro" and stored["level"] == 2 and stored["pair"] == [1, "2030-01-03"]
    await typed_app.registry.enqueue(engine, "everything", stored)
    await pgq_sa.enqueue(engine, "everything", stored)  # bare by-name: strict JSON
    async with running_worker(typed_app.registry, dsn, poll_interval=0.1):
        await wait_for(lambda: _at_least(typed_app.received, 3))
    for got in typed_app.received:
        for name, value in args.items():
            assert got[name] == value, name
            assert type(got[name]) is type(value), name
        assert type(got["user"].id) is uuid.UUID and type(got["point"].when) is datetime


async def _at_least(xs: list[Any], n: int) -> bool:
    return len(xs) >= n


@pytest.mark.anyio
async def test_bare_enqueue_by_name_stays_strict_json(engine):
    with pytest.raises(TypeError, match=r"payload\.user_id .*\(UUID\)"):
        await pgq_sa.enqueue(engine, "everything", {"user_id": U1})


def _text_of(exc: BaseException) -> str:
    """Everything an exception shows: message, repr, traceback with its chain."""
    return str(exc) + repr(exc) + "".join(traceback.format_exception(exc))


class Leaky:
    def __repr__(self) -> str:
        return f"Leaky(password={SECRET!r})"

    __str__ = __repr__


@pytest.mark.parametrize("make", [
    lambda reg: _task(uuid.UUID, reg).job(x=ACCOUNT),                  # wrong type
    lambda reg: _task(Account, reg).job(x={"id": "nope", "email": "e",  # invalid model
                                           "password_hash": SECRET, "created": "x"}),
    lambda reg: _task(Account, reg).job(x=Leaky()),
    lambda reg: _task(list[uuid.UUID], reg).job(x=[U1, SECRET]),
    lambda reg: _task(dict[str, Decimal], reg).job(x={"k": SECRET}),
    lambda reg: _task(Colour, reg).job(x=SECRET),
    lambda reg: _task(datetime, reg).job(x=SECRET),
    lambda reg: pgq_sa.enqueue_many_sync(None, [_task(int, reg).job(x=Leaky())]),  # JSON check
    lambda reg: pgq_sa.enqueue_many_sync(None, [("t", {"k": [Leaky()]})]),  # type: ignore[arg-type]
    lambda reg: pgq_sa.enqueue_many_sync(None, [Leaky()]),  # type: ignore[arg-type,list-item]
])
def test_errors_name_path_and_type_never_the_value(make):
    with pytest.raises((TypeError, ValueError)) as info:
        make(pgq_sa.Registry())
    text = _text_of(info.value)
    assert SECRET not in text
    assert "payload" in str(info.value) or "cannot enqueue a Leaky" in str(info.value)


def test_typed_error_message_shape():
    with pytest.raises(pgq_sa.PayloadError) as info:
        _task(uuid.UUID).job(x=ACCOUNT)
    assert str(info.value) == "payload.x: expected UUID, got Account"
    assert isinstance(info.value, TypeError) and isinstance(info.value, ValueError)
    with pytest.raises(pgq_sa.PayloadError, match=r"^payload\.x: not a valid Account "
                                                  r"\(id: uuid_parsing; created: "):
        _task(Account).job(x={"id": "nope", "email": "e", "password_hash": "p",
                              "created": "x"})
    with pytest.raises(pgq_sa.PayloadError, match=r"payload\.x\[1\]: not a valid UUID"):
        _task(list[uuid.UUID]).job(x=[str(U1), "nope"])


@pytest.mark.anyio
async def test_payload_the_worker_cannot_convert_fails_once_and_leaks_nothing(engine, dsn):
    records: list[logging.LogRecord] = []
    handler = _ListHandler(records)
    logger = logging.getLogger("pgq_sa")
    logger.addHandler(handler)
    try:
        bad = {"user": {"id": "not-a-uuid", "email": "e", "password_hash": SECRET,
                        "joined": "2030-01-01T00:00:00"}}
        good = {k: v for k, v in (await _valid_payload()).items() if k != "user"}
        job_id = await pgq_sa.enqueue(engine, "everything", {**good, **bad})
        async with running_worker(typed_app.registry, dsn, poll_interval=0.1):
            await wait_status(engine, job_id, "failed")
    finally:
        logger.removeHandler(handler)
    job = await pgq_sa.admin.get_job(engine, job_id)
    assert job["attempts"] == 1  # not retried: another attempt cannot fix it
    assert job["last_error"].startswith("bad payload: payload.user: not a valid User")
    assert SECRET not in json.dumps(job["errors"]) + job["last_error"]
    [record] = [r for r in records if getattr(r, "job_id", None) == job_id]
    assert record.levelno == logging.ERROR and record.error_type == "PayloadError"
    assert SECRET not in KeyValueFormatter().format(record)


async def _valid_payload() -> dict[str, Any]:
    spec = typed_app.everything.job(
        user_id=U1, at=T0, day=date(2030, 1, 2), clock=time(8), amount=Decimal(1),
        plan=typed_app.Plan.FREE, level=typed_app.Level.LOW, maybe=U2, ids=[], tags=set(),
        pair=(1, date(2030, 1, 2)), prices={}, point=typed_app.Point(x=1, when=T0),
        user=typed_app.User(id=U1, email="e", password_hash="p", joined=T0))
    return dict(spec.payload)



class _ListHandler(logging.Handler):
    def __init__(self, records: list[logging.LogRecord]) -> None:
        super().__init__(logging.DEBUG)
        self.records = records

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_postponed_annotations_resolve_from_the_registering_namespace(caplog):
    """This module uses ``from __future__ import annotations``: annotations are
    strings, resolved in the module, then in the namespace that registered the task
    (a class local to a function), on first use if not yet defined."""
    registry = pgq_sa.Registry()

    class Local(pydantic.BaseModel):
        when: datetime

    @registry.task()
    def local(x: Local, y: uuid.UUID) -> None: ...

    payload = local.job(x=Local(when=T0), y=U1).payload
    assert payload == {"x": {"when": "2030-01-02T03:04:05.678901Z"}, "y": str(U1)}
    assert local.decode_payload(payload) == {"x": Local(when=T0), "y": U1}
    # typed_app.everything names User, defined after it in its module
    assert typed_app.everything.job(**{
        "user_id": U1, "at": T0, "day": date(2030, 1, 1), "clock": time(1), "amount": 1,
        "plan": "free", "level": 1, "maybe": None, "ids": [], "tags": [], "pair": [1, "2030-01-01"],
        "prices": {}, "point": {"x": 1, "when": "2030-01-01T00:00:00"},
        "user": {"id": str(U1), "email": "e", "password_hash": "p", "joined": T0},
    }).payload["user"]["id"] == str(U1)

    # a name that never resolves (e.g. imported only under TYPE_CHECKING): that
    # parameter travels as plain JSON, the others stay typed, and a warning says so
    @registry.task()
    def partly(x: NeverDefined, y: uuid.UUID) -> None: ...  # type: ignore[name-defined]  # noqa: F821

    with caplog.at_level(logging.WARNING, logger="pgq_sa.registry"):
        assert partly.job(x=[1], y=U1).payload == {"x": [1], "y": str(U1)}
        partly.job(x=2, y=U1)
    [warning] = [r for r in caplog.records if r.name == "pgq_sa.registry"]
    assert "parameter 'x' does not resolve, 'NeverDefined' (NameError" in warning.getMessage()
    assert partly.decode_payload({"x": 1, "y": str(U1)}) == {"x": 1, "y": U1}


def test_types_that_need_pydantic_are_refused_at_registration_without_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "pydantic", None)  # import pydantic -> ImportError
    with pytest.raises(TypeError, match=r"task 't0': parameter 'x': Box is a dataclass: "
                                        r"converting it needs pydantic"):
        _task(Box)
    with pytest.raises(TypeError, match=r"a union of several typed members .* needs pydantic"):
        _task(uuid.UUID | date)
    assert _wire(_task(uuid.UUID), U1) == str(U1)  # the built-in types need nothing
