"""Registry of tasks: what a worker can run, and typed helpers to enqueue them."""

from __future__ import annotations

import copy
import difflib
import functools
import inspect
import json
import logging
import re
import sys
import types
import typing
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Generic, ParamSpec, TypeVar, overload

from .backoff import Backoff
from .context import JobContext
from .convert import Codec, converters, decode_payload, encode_payload, result_codec
from .errors import PayloadError, UnknownTask
from .job import DEFAULT_HEARTBEAT_TIMEOUT, DEFAULT_MAX_ATTEMPTS, DEFAULT_QUEUE, Flow, JobSpec
from .periodic import Schedule
from .schema import validate_identifier
from .target import AsyncTarget, SyncTarget

log = logging.getLogger("pgq_sa.registry")

__all__ = ["JobSpec", "Registry", "Schedule", "Task", "TaskOptions"]

P = ParamSpec("P")
R = TypeVar("R")

_new_object = object.__new__
assert set(JobSpec.__dataclass_fields__) == {  # Task.spec sets every field
    "entrypoint", "payload", "queue", "priority", "delay", "run_at", "max_attempts",
    "unique_key", "unique_for", "schema", "pinned", "heartbeat_timeout", "depends_on",
    "on_dependency_failure", "flow"}

#: Rate limit periods: ``"100/s"``, ``"100/m"``, ``"100/h"``.
RATE_PERIODS = {"s": 1, "m": 60, "h": 3600}
_RATE = re.compile(r"^\s*(\d+)\s*/\s*([A-Za-z]+)\s*$")


def parse_rate(task: str, rate: str) -> tuple[int, int]:
    """``"100/m"`` -> ``(100, 60)`` (jobs, seconds); a clear ``ValueError`` naming
    ``task`` otherwise."""
    match = _RATE.match(rate) if isinstance(rate, str) else None
    if match is None or match.group(2) not in RATE_PERIODS or int(match.group(1)) < 1:
        raise ValueError(f"task {task!r}: rate_limit must look like '100/s', '100/m' or "
                         f"'100/h' (a positive count per second, minute or hour), "
                         f"got {rate!r}")
    return int(match.group(1)), RATE_PERIODS[match.group(2)]


def _key_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True,
                                                            separators=(",", ":"), default=str)


@dataclass(frozen=True)
class TaskOptions:
    """Per-enqueue options; set through :meth:`Task.options` so they never clash with
    payload keys."""

    queue: str | None = None
    priority: int | None = None
    delay: float | timedelta | None = None
    run_at: datetime | None = None
    max_attempts: int | None = None
    #: Deduplication key (see :func:`pgq_sa.enqueue`).
    unique_key: str | None = None
    #: How long the key is held after the job was enqueued.
    unique_for: float | timedelta | None = None
    depends_on: tuple[int, ...] | None = None
    on_dependency_failure: str | None = None
    fairness_key: str | None = None


def _find_context_param(fn: Callable[..., Any]) -> str | None:
    try:
        hints = typing.get_type_hints(fn)
    except Exception:  # unresolved forward references: fall back to raw annotations
        hints = getattr(fn, "__annotations__", {})
    for name, hint in hints.items():
        # ``ctx: JobContext = None`` reads as ``Optional[JobContext]`` on Python 3.10
        if typing.get_origin(hint) in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(hint) if a is not type(None)]
            hint = args[0] if len(args) == 1 else hint
        if hint is JobContext or hint in ("JobContext", "pgq_sa.JobContext",
                                          "JobContext | None", "Optional[JobContext]"):
            return name
    return None


@dataclass(eq=False)
class Task(Generic[P, R]):
    """A registered handler.  Call it directly to run it in-process (no queue)."""

    fn: Callable[..., Any]
    name: str
    queue: str
    priority: int = 0
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    timeout: float | None = None
    heartbeat_timeout: float = DEFAULT_HEARTBEAT_TIMEOUT
    backoff: Backoff = field(default_factory=Backoff)
    opts: TaskOptions = field(default_factory=TaskOptions)
    #: The schema of the registry it belongs to: its jobs go there.
    schema: str | None = None
    #: The namespace the task was registered from, for annotations that name
    #: classes local to it (under ``from __future__ import annotations``).
    localns: dict[str, Any] | None = field(default=None, repr=False)
    #: At most this many jobs of the task run at once, cluster-wide (per value of
    #: the payload field ``concurrency_key`` if set).
    concurrency_limit: int | None = None
    concurrency_key: str | None = None
    #: At most ``rate_limit`` (``"100/m"``) jobs start per fixed window, cluster-wide
    #: (per value of the payload field ``rate_key`` if set).
    rate_limit: str | None = None
    rate_key: str | None = None
    #: The payload field whose value is the job's fairness key.
    fairness_key: str | None = None

    def __post_init__(self) -> None:
        self.is_async = inspect.iscoroutinefunction(self.fn)
        self.context_param = _find_context_param(self.fn)
        self.signature = inspect.signature(self.fn)
        params = [p for p in self.signature.parameters.values() if p.name != self.context_param]
        kinds = {p.kind for p in params}
        self._fast_check = inspect.Parameter.POSITIONAL_ONLY not in kinds
        self._allowed: frozenset[str] | None = (
            None if inspect.Parameter.VAR_KEYWORD in kinds
            else frozenset(p.name for p in params if p.kind != inspect.Parameter.VAR_POSITIONAL)
        )
        self._required = frozenset(
            p.name for p in params if p.default is inspect.Parameter.empty
            and p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
        )
        # Converters of typed parameters (UUID, datetime, models...), built once here.
        # ``_convert`` is False for a task of plain JSON parameters: the fast path.
        # Annotations that do not resolve yet (a model defined further down) are
        # tried again on first use.
        try:
            self._codecs, self._unresolved = converters(self.fn, skip=self.context_param,
                                                        localns=self.localns)
        except TypeError as exc:
            raise TypeError(f"task {self.name!r}: {exc}") from None
        self._convert = bool(self._codecs or self._unresolved)
        try:
            self._result_codec = result_codec(self.fn, localns=self.localns)
        except TypeError as exc:
            raise TypeError(f"task {self.name!r}: {exc}") from None
        self._rate = None if self.rate_limit is None else parse_rate(self.name, self.rate_limit)
        self._check_flow()
        functools.update_wrapper(self, self.fn)  # type: ignore[arg-type]

    def _check_flow(self) -> None:
        """Clear errors, naming the task, for bad limits and keys."""
        limit = self.concurrency_limit
        if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool)
                                  or limit < 1):
            raise ValueError(f"task {self.name!r}: concurrency_limit must be an int >= 1, "
                             f"got {limit!r}")
        if self.concurrency_key is not None and limit is None:
            raise ValueError(f"task {self.name!r}: concurrency_key needs a concurrency_limit")
        if self.rate_key is not None and self.rate_limit is None:
            raise ValueError(f"task {self.name!r}: rate_key needs a rate_limit")
        for what in ("concurrency_key", "rate_key", "fairness_key"):
            key = getattr(self, what)
            if key is None:
                continue
            if not isinstance(key, str) or (
                    self._allowed is not None and key not in self._allowed):
                fields = ", ".join(sorted(self._allowed or ())) or "none"
                raise ValueError(f"task {self.name!r}: {what}={key!r} is not a payload field "
                                 f"of the task (its fields: {fields})")

    @property
    def flow_controlled(self) -> bool:
        """True if the task has a concurrency or rate limit (its jobs go through
        the flow-controlled claim)."""
        return self.concurrency_limit is not None or self.rate_limit is not None

    def _key_value(self, payload: dict[str, Any], name: str) -> str:
        if name in payload:
            return _key_text(payload[name])
        param = self.signature.parameters.get(name)
        default = None if param is None or param.default is inspect.Parameter.empty \
            else param.default
        return _key_text(default)

    def flow(self, payload: dict[str, Any], fairness_key: str | None = None) -> Flow | None:
        """The flow control of a job of ``payload`` (JSON values), ``None`` if none."""
        if fairness_key is None and self.fairness_key is not None:
            fairness_key = self._key_value(payload, self.fairness_key)
        if not self.flow_controlled and fairness_key is None:
            return None
        concurrency_key = rate_key = None
        if self.concurrency_limit is not None:
            concurrency_key = self.name if self.concurrency_key is None \
                else f"{self.name}:{self._key_value(payload, self.concurrency_key)}"
        rate, period = self._rate or (None, None)
        if rate is not None:
            rate_key = self.name if self.rate_key is None \
                else f"{self.name}:{self._key_value(payload, self.rate_key)}"
        flow_key = fairness_key or concurrency_key or rate_key
        assert flow_key is not None
        return Flow(flow_key=flow_key, concurrency_key=concurrency_key,
                    concurrency_limit=self.concurrency_limit, rate_key=rate_key,
                    rate_limit=rate, rate_period=period)

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> Any:
        return self.fn(*args, **kwargs)

    # -- payload <-> arguments ---------------------------------------------------------
    def check_payload(self, payload: dict[str, Any]) -> None:
        """Raise ``TypeError`` if ``payload`` does not fit the handler's parameters."""
        if self._fast_check and self.context_param not in payload:
            keys = payload.keys()
            if (self._allowed is None or keys <= self._allowed) and self._required <= keys:
                return
        params = dict(payload)
        if self.context_param is not None:
            if self.context_param in params:
                raise TypeError(
                    f"payload key {self.context_param!r} of {self.name!r} is reserved for "
                    "the JobContext"
                )
            params[self.context_param] = None
        try:
            self.signature.bind(**params)
        except TypeError as exc:
            raise TypeError(f"payload does not fit {self.name}{self.signature}: {exc}") from None

    def _converters(self) -> dict[str, Codec]:
        if self._unresolved:
            codecs, unresolved = converters(self.fn, skip=self.context_param,
                                            localns=self.localns)
            for name, why in unresolved.items():
                # e.g. a name imported only under TYPE_CHECKING: not converted
                log.warning("task %s: the annotation of parameter %r does not resolve, %s: "
                            "its values travel as plain JSON, unconverted", self.name, name,
                            why)
            self._codecs, self._unresolved = codecs, {}
            self._convert = bool(codecs)
        return self._codecs

    def encode_payload(self, payload: dict[str, Any]) -> dict[str, Any]:
        """``payload`` (changed in place) with its typed values converted to JSON;
        raises :class:`~pgq_sa.PayloadError` naming the path, never the value."""
        if not self._convert:
            return payload
        return encode_payload(self._converters(), payload)

    def decode_payload(self, payload: dict[str, Any]) -> dict[str, Any]:
        """A copy of the JSON ``payload`` with typed parameters converted from the
        handler's annotations; raises :class:`~pgq_sa.PayloadError`."""
        if not self._convert:
            return dict(payload)
        return decode_payload(self._converters(), payload)

    def arguments(self, payload: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
        """Keyword arguments for one run: the payload, typed values converted, and
        the :class:`JobContext` if the handler asks for it."""
        kwargs = self.decode_payload(payload) if self._convert else dict(payload)
        if self.context_param is not None:
            kwargs[self.context_param] = ctx
        return kwargs

    # -- results ---------------------------------------------------------------------------
    def dump_result(self, value: Any, limit: int | None = None) -> str | None:
        """The handler's return ``value`` as JSON text (typed values converted from
        the return annotation, as payloads are); ``None`` for ``None``.  Raises
        :class:`~pgq_sa.PayloadError` when it is not JSON or is longer than ``limit``
        bytes, naming its type and size, never the value."""
        if value is None:
            return None
        if self._result_codec is not None:
            value = self._result_codec.encode(value, "result")
        try:
            text = json.dumps(value, separators=(",", ":"), allow_nan=False)
        except (TypeError, ValueError):
            text = None
        if text is None:
            raise PayloadError(
                f"the result of {self.name!r} is not JSON ({type(value).__name__}): return "
                "str, int, float, bool, None, list or dict, or annotate the return type "
                "(UUID, datetime, Decimal, Enum, a model) to convert it")
        if limit is not None and len(text) > limit // 4 and len(text.encode()) > limit:
            raise PayloadError(
                f"the result of {self.name!r} is {len(text.encode())} bytes of JSON, over "
                f"the worker's limit of {limit} (WorkerConfig.max_result_bytes, "
                "--max-result-bytes): store large data elsewhere and return its key")
        return text

    def load_result(self, value: Any) -> Any:
        """A stored result (JSON value) converted to the handler's return type."""
        if value is None or self._result_codec is None:
            return value
        return self._result_codec.decode(value, "result")

    async def wait(self, engine: Any, job_id: int, *, timeout: float | None = None,
                   poll_interval: float = 1.0) -> Any:
        """:func:`pgq_sa.wait` for a job of this task: its result converted to the
        handler's return type."""
        from .results import wait

        return await wait(engine, job_id, timeout=timeout, schema=self.schema,
                          poll_interval=poll_interval, decode=self.load_result)

    def wait_sync(self, engine: Any, job_id: int, *, timeout: float | None = None,
                  poll_interval: float = 1.0) -> Any:
        """Sync twin of :meth:`wait` (:func:`pgq_sa.wait_sync`)."""
        from .results import wait_sync

        return wait_sync(engine, job_id, timeout=timeout, schema=self.schema,
                         poll_interval=poll_interval, decode=self.load_result)

    # -- enqueueing ----------------------------------------------------------------------
    def options(
        self,
        *,
        queue: str | None = None,
        priority: int | None = None,
        delay: float | timedelta | None = None,
        run_at: datetime | None = None,
        max_attempts: int | None = None,
        unique_key: str | None = None,
        unique_for: float | timedelta | None = None,
        depends_on: Iterable[int] | None = None,
        on_dependency_failure: str | None = None,
        fairness_key: str | None = None,
    ) -> Task[P, R]:
        """A copy of this task whose next enqueues use these options.

        ``unique_key``: while a queued or running job has that key, an enqueue
        returns its id instead of adding a job; ``unique_for`` also holds the key
        that long after the job was enqueued (see :func:`pgq_sa.enqueue`).
        ``depends_on``: ids of jobs that must succeed first (not with
        ``unique_key``).  ``fairness_key`` (e.g. ``"tenant:7"``): claims rotate
        between the fairness keys that have ready jobs in a queue (see
        :doc:`flow-control`)."""
        if fairness_key is not None and (not isinstance(fairness_key, str) or not fairness_key):
            raise ValueError(f"task {self.name!r}: fairness_key must be a non-empty string")
        o = self.opts
        opts = TaskOptions(
            queue=queue if queue is not None else o.queue,
            priority=priority if priority is not None else o.priority,
            delay=delay if delay is not None else o.delay,
            run_at=run_at if run_at is not None else o.run_at,
            max_attempts=max_attempts if max_attempts is not None else o.max_attempts,
            unique_key=unique_key if unique_key is not None else o.unique_key,
            unique_for=unique_for if unique_for is not None else o.unique_for,
            depends_on=tuple(depends_on) if depends_on is not None else o.depends_on,
            on_dependency_failure=(on_dependency_failure if on_dependency_failure is not None
                                   else o.on_dependency_failure),
            fairness_key=fairness_key if fairness_key is not None else o.fairness_key,
        )
        task = copy.copy(self)  # shares the signature and converters: no new inspection
        task.opts = opts
        return task

    def job(self, *args: P.args, **kwargs: P.kwargs) -> JobSpec:
        """A :class:`JobSpec` for :func:`pgq_sa.enqueue_many` (typed values converted
        to JSON, the payload checked against the handler's signature)."""
        if args:
            raise TypeError(f"{self.name}: pass job arguments by keyword (they form a JSON object)")
        return self.spec(dict(kwargs))

    def spec(self, payload: dict[str, Any], opts: TaskOptions | None = None) -> JobSpec:
        """A :class:`JobSpec` of ``payload`` (a fresh dict: it is converted in place)
        with the task's defaults, overridden by :meth:`options` and then by
        ``opts``."""
        self.check_payload(payload)
        if self._convert:
            payload = self.encode_payload(payload)
        o = self.opts
        queue, priority, delay, run_at, max_attempts, unique_key, unique_for = (
            o.queue, o.priority, o.delay, o.run_at, o.max_attempts, o.unique_key, o.unique_for)
        if opts is not None:
            queue = opts.queue if opts.queue is not None else queue
            priority = opts.priority if opts.priority is not None else priority
            delay = opts.delay if opts.delay is not None else delay
            run_at = opts.run_at if opts.run_at is not None else run_at
            max_attempts = opts.max_attempts if opts.max_attempts is not None else max_attempts
            unique_key = opts.unique_key if opts.unique_key is not None else unique_key
            unique_for = opts.unique_for if opts.unique_for is not None else unique_for
        flow = None
        if o.fairness_key is not None or self.fairness_key is not None or self.flow_controlled:
            flow = self.flow(payload, o.fairness_key)
        # What JobSpec(...) makes, without its frozen __init__ (one object.__setattr__
        # per field, half the cost of a plain job): a JobSpec per job is the hot
        # path of task.enqueue and enqueue_many.
        spec = _new_object(JobSpec)
        spec.__dict__.update(
            entrypoint=self.name,
            payload=payload,
            queue=queue or self.queue,
            priority=priority if priority is not None else self.priority,
            delay=delay,
            run_at=run_at,
            max_attempts=max_attempts,
            unique_key=unique_key,
            unique_for=unique_for,
            schema=self.schema,
            pinned=True,
            heartbeat_timeout=self.heartbeat_timeout,
            depends_on=o.depends_on if opts is None or opts.depends_on is None
            else opts.depends_on,
            on_dependency_failure=o.on_dependency_failure if opts is None
            or opts.on_dependency_failure is None else opts.on_dependency_failure,
            flow=flow,
        )
        return spec

    async def enqueue(self, target: AsyncTarget, *args: P.args, **kwargs: P.kwargs) -> int:
        """Enqueue one run inside ``target``'s transaction (async connection, session
        or engine); returns the job id."""
        from .enqueue import enqueue_many

        return (await enqueue_many(target, [self.job(*args, **kwargs)]))[0]

    def enqueue_sync(self, target: SyncTarget, *args: P.args, **kwargs: P.kwargs) -> int:
        """Like :meth:`enqueue`, for a sync ``Connection``, ``Session`` or ``Engine``."""
        from .enqueue import enqueue_many_sync

        return enqueue_many_sync(target, [self.job(*args, **kwargs)], schema=self.schema)[0]


class Registry:
    """The tasks a worker knows, by name.

    ::

        registry = pgq_sa.Registry()

        @registry.task(queue="emails", max_attempts=5)
        async def send_email(to: str, subject: str) -> None: ...
    """

    def __init__(self, *, default_queue: str = DEFAULT_QUEUE, schema: str | None = None) -> None:
        self.default_queue = default_queue
        self.tasks: dict[str, Task[Any, Any]] = {}
        #: Periodic schedules by name (:meth:`schedule`, ``task(cron=…|every=…)``):
        #: the workers of this registry fire them.
        self.schedules: dict[str, Schedule] = {}
        self.schema = schema

    @property
    def schema(self) -> str | None:
        """The PostgreSQL schema of the pgq-sa tables (``None``: the search path).

        Its tasks enqueue there (``task.enqueue``, ``task.job``, :meth:`enqueue`) and
        its workers read from there."""
        return self._schema

    @schema.setter
    def schema(self, value: str | None) -> None:
        self._schema = validate_identifier(value) if value is not None else None
        for task in self.tasks.values():
            task.schema = self._schema

    @overload
    def task(self, fn: Callable[P, Awaitable[R]], /) -> Task[P, R]: ...
    @overload
    def task(self, fn: Callable[P, R], /) -> Task[P, R]: ...
    @overload
    def task(
        self,
        fn: None = None,
        /,
        *,
        name: str | None = None,
        queue: str | None = None,
        priority: int = 0,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        timeout: float | None = None,
        heartbeat_timeout: float = DEFAULT_HEARTBEAT_TIMEOUT,
        backoff: Backoff | None = None,
        cron: str | None = None,
        tz: str | None = None,
        every: float | timedelta | None = None,
        missed: str = "latest",
        max_missed: int = 100,
        concurrency_limit: int | None = None,
        concurrency_key: str | None = None,
        rate_limit: str | None = None,
        rate_key: str | None = None,
        fairness_key: str | None = None,
    ) -> Callable[[Callable[P, R]], Task[P, R]]: ...

    def task(
        self,
        fn: Callable[..., Any] | None = None,
        /,
        *,
        name: str | None = None,
        queue: str | None = None,
        priority: int = 0,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        timeout: float | None = None,
        heartbeat_timeout: float = DEFAULT_HEARTBEAT_TIMEOUT,
        backoff: Backoff | None = None,
        cron: str | None = None,
        tz: str | None = None,
        every: float | timedelta | None = None,
        missed: str = "latest",
        max_missed: int = 100,
        concurrency_limit: int | None = None,
        concurrency_key: str | None = None,
        rate_limit: str | None = None,
        rate_key: str | None = None,
        fairness_key: str | None = None,
    ) -> Any:
        """Register a handler (``async def`` runs on the event loop, ``def`` in a thread).

        ``name`` defaults to the function's name; ``max_attempts`` counts the first
        run; ``timeout`` and ``heartbeat_timeout`` are in seconds.

        ``cron`` (five fields, or six with seconds last; in time zone ``tz``, else
        UTC) or ``every`` (a timedelta or seconds) also make it periodic, without
        arguments, under the task's name: see :meth:`schedule` (``missed``,
        ``max_missed``).  A bad expression raises ``ValueError`` naming the task.

        Flow control (:doc:`flow-control`), enforced by every worker inside the claim:
        ``concurrency_limit`` jobs at most running at once (per value of the payload
        field ``concurrency_key``), ``rate_limit`` (``"100/s"``, ``"100/m"``,
        ``"100/h"``) starts per fixed window (per value of ``rate_key``), and
        ``fairness_key``, a payload field whose values claims rotate between.
        """
        if max_attempts < 1:
            raise ValueError("max_attempts must be >= 1")
        if timeout is not None and timeout <= 0:
            raise ValueError("timeout must be > 0 seconds")
        if heartbeat_timeout < 1:
            raise ValueError("heartbeat_timeout must be >= 1 second")

        def register(f: Callable[..., Any]) -> Task[Any, Any]:
            task_name = name or f.__name__
            # the namespace of the code that registers it (a function's locals:
            # classes defined there may be named by postponed annotations)
            frame = sys._getframe(1)
            while frame.f_back is not None and frame.f_globals.get("__name__") == __name__:
                frame = frame.f_back
            localns = None if frame.f_locals is frame.f_globals else dict(frame.f_locals)
            if task_name in self.tasks:
                raise ValueError(f"task {task_name!r} is already registered")
            t: Task[Any, Any] = Task(
                fn=f,
                name=task_name,
                queue=queue or self.default_queue,
                priority=priority,
                max_attempts=max_attempts,
                timeout=timeout,
                heartbeat_timeout=float(heartbeat_timeout),
                backoff=backoff or Backoff(),
                schema=self.schema,
                localns=localns,
                concurrency_limit=concurrency_limit,
                concurrency_key=concurrency_key,
                rate_limit=rate_limit,
                rate_key=rate_key,
                fairness_key=fairness_key,
            )
            if cron is not None or every is not None:
                self._add_schedule(t, name=None, cron=cron, tz=tz, every=every, payload=None,
                                   missed=missed, max_missed=max_missed, grace=None)
            elif tz is not None:
                raise ValueError(f"task {task_name!r}: tz= applies to cron= schedules only")
            self.tasks[task_name] = t
            return t

        return register(fn) if fn is not None else register

    def schedule(
        self,
        task: Task[Any, Any] | str,
        *,
        cron: str | None = None,
        every: float | timedelta | None = None,
        tz: str | None = None,
        payload: Mapping[str, Any] | None = None,
        name: str | None = None,
        missed: str = "latest",
        max_missed: int = 100,
        grace: float | timedelta | None = None,
    ) -> Schedule:
        """Run ``task`` periodically: each fire time of ``cron`` (in ``tz``, else
        UTC; a sixth field is seconds) or of ``every`` (whole multiples since the
        epoch) becomes one ordinary job with ``payload``, exactly once whichever
        workers of this registry are up.

        ``name`` (default: the task's name) identifies the schedule in the
        database: renaming it starts a new schedule.  ``missed`` says what happens
        to fire times no worker made in time (more than ``grace``, default 10 s,
        old): ``"latest"`` runs the latest of them once, ``"skip"`` none, ``"all"``
        each, up to ``max_missed``.  A schedule no longer registered stops firing.
        Bad values raise ``ValueError`` naming the task."""
        if isinstance(task, str):
            task = self[task]
        elif not isinstance(task, Task) or self.tasks.get(task.name) is not task:
            raise ValueError(f"schedule(): {getattr(task, 'name', task)!r} is not a task of "
                             "this registry")
        return self._add_schedule(task, name=name, cron=cron, tz=tz, every=every,
                                  payload=payload, missed=missed, max_missed=max_missed,
                                  grace=grace)

    def _add_schedule(self, task: Task[Any, Any], *, name: str | None, cron: str | None,
                      tz: str | None, every: float | timedelta | None,
                      payload: Mapping[str, Any] | None, missed: str, max_missed: int,
                      grace: float | timedelta | None) -> Schedule:
        schedule_name = name if name is not None else task.name
        where = (f"task {task.name!r}" if schedule_name == task.name
                 else f"schedule {schedule_name!r} of task {task.name!r}")
        if not isinstance(schedule_name, str) or not schedule_name:
            raise ValueError(f"{where}: the schedule name must be a non-empty string")
        if schedule_name in self.schedules:
            raise ValueError(f"{where}: a schedule named {schedule_name!r} already exists "
                             "(give name=)")
        if payload is not None and not isinstance(payload, Mapping):
            raise TypeError(f"{where}: payload must be a mapping of keyword arguments, not "
                            f"{type(payload).__name__}")
        try:
            spec = task.spec(dict(payload or {}))
        except TypeError as exc:
            raise TypeError(f"{where}: {exc}") from None
        options: dict[str, Any] = {} if grace is None else {"grace": grace}
        try:
            built = Schedule(name=schedule_name, entrypoint=task.name, cron=cron,
                             every=every if every is None or isinstance(every, timedelta)
                             else timedelta(seconds=float(every)),
                             tz=tz, payload=spec.payload, queue=spec.queue or task.queue,
                             priority=spec.priority or 0, missed=missed,
                             max_missed=max_missed, **options)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{where}: {exc}") from None
        self.schedules[schedule_name] = built
        return built

    def __getitem__(self, name: str) -> Task[Any, Any]:
        task = self.tasks.get(name)
        if task is None:
            raise UnknownTask(self._unknown(name))
        return task

    def _unknown(self, name: object) -> str:
        if not isinstance(name, str):
            return f"a task name is a string, not {type(name).__name__}"
        close = difflib.get_close_matches(name, self.tasks, n=3)
        hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        names = sorted(self.tasks)
        listed = ", ".join(names[:20]) + (f" and {len(names) - 20} more" if len(names) > 20
                                          else "")
        return f"unknown task {name!r}{hint} (registered: {listed or 'none'})"

    # -- enqueue by name, checked ----------------------------------------------------------
    def job(
        self,
        name: str,
        payload: Mapping[str, Any] | None = None,
        *,
        queue: str | None = None,
        priority: int | None = None,
        delay: float | timedelta | None = None,
        run_at: datetime | None = None,
        max_attempts: int | None = None,
        unique_key: str | None = None,
        unique_for: float | timedelta | None = None,
    ) -> JobSpec:
        """A :class:`JobSpec` for task ``name`` (for :func:`pgq_sa.enqueue_many`): the
        name must be registered (else :class:`~pgq_sa.UnknownTask`), the payload
        must fit the handler's signature, typed values are converted, and the task's
        queue, priority and max_attempts apply unless given here."""
        task = self[name]
        if payload is not None and not isinstance(payload, Mapping):
            raise TypeError(f"payload for {name!r} must be a mapping of keyword arguments, "
                            f"not {type(payload).__name__}")
        opts = TaskOptions(queue=queue, priority=priority, delay=delay, run_at=run_at,
                           max_attempts=max_attempts, unique_key=unique_key,
                           unique_for=unique_for)
        return task.spec(dict(payload or {}), opts)

    async def enqueue(
        self,
        target: AsyncTarget,
        name: str,
        payload: Mapping[str, Any] | None = None,
        *,
        queue: str | None = None,
        priority: int | None = None,
        delay: float | timedelta | None = None,
        run_at: datetime | None = None,
        max_attempts: int | None = None,
        unique_key: str | None = None,
        unique_for: float | timedelta | None = None,
    ) -> int:
        """Enqueue task ``name`` in ``target``'s transaction (async connection, session
        or engine), checked as :meth:`job` checks it; returns the job id.

        For producers that hold the registry but not the task objects::

            await registry.enqueue(session, "send_email", {"to": "a@b.c"}, priority=5)
        """
        from .enqueue import enqueue_many

        spec = self.job(name, payload, queue=queue, priority=priority, delay=delay,
                        run_at=run_at, max_attempts=max_attempts, unique_key=unique_key,
                        unique_for=unique_for)
        return (await enqueue_many(target, [spec]))[0]

    def enqueue_sync(
        self,
        target: SyncTarget,
        name: str,
        payload: Mapping[str, Any] | None = None,
        *,
        queue: str | None = None,
        priority: int | None = None,
        delay: float | timedelta | None = None,
        run_at: datetime | None = None,
        max_attempts: int | None = None,
        unique_key: str | None = None,
        unique_for: float | timedelta | None = None,
    ) -> int:
        """Like :meth:`enqueue`, for a sync ``Connection``, ``Session`` or ``Engine``."""
        from .enqueue import enqueue_many_sync

        spec = self.job(name, payload, queue=queue, priority=priority, delay=delay,
                        run_at=run_at, max_attempts=max_attempts, unique_key=unique_key,
                        unique_for=unique_for)
        return enqueue_many_sync(target, [spec])[0]

    def __contains__(self, name: object) -> bool:
        return name in self.tasks

    def __iter__(self) -> Iterator[Task[Any, Any]]:
        return iter(self.tasks.values())

    def __len__(self) -> int:
        return len(self.tasks)

    def queues(self) -> list[str]:
        """The queues the registered tasks use, sorted."""
        return sorted({t.queue for t in self.tasks.values()})
