"""Registry of tasks: what a worker can run, and typed helpers to enqueue them."""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Generic, ParamSpec, TypeVar, overload

from .backoff import Backoff
from .context import JobContext
from .errors import UnknownTask
from .schema import validate_identifier

__all__ = ["JobSpec", "Registry", "Task", "TaskOptions"]

P = ParamSpec("P")
R = TypeVar("R")

DEFAULT_QUEUE = "default"
DEFAULT_MAX_ATTEMPTS = 3
DEFAULT_HEARTBEAT_TIMEOUT = 30.0


@dataclass(frozen=True)
class JobSpec:
    """One job to enqueue: ``pgq_sa.enqueue_many(conn, [task.job(...), ...])``."""

    entrypoint: str
    payload: dict[str, Any]
    queue: str | None = None
    priority: int | None = None
    delay: float | timedelta | None = None
    run_at: datetime | None = None
    max_attempts: int | None = None


@dataclass(frozen=True)
class TaskOptions:
    """Per-enqueue options; set through :meth:`Task.options` so they never clash with
    payload keys."""

    queue: str | None = None
    priority: int | None = None
    delay: float | timedelta | None = None
    run_at: datetime | None = None
    max_attempts: int | None = None


def _find_context_param(fn: Callable[..., Any]) -> str | None:
    try:
        hints = typing.get_type_hints(fn)
    except Exception:  # unresolved forward references: fall back to raw annotations
        hints = getattr(fn, "__annotations__", {})
    for name, hint in hints.items():
        if hint is JobContext or hint == "JobContext" or hint == "pgq_sa.JobContext":
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
    #: The PostgreSQL schema of its registry's tables (``None``: the search path).
    schema: str | None = None

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
        functools.update_wrapper(self, self.fn)  # type: ignore[arg-type]

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

    def arguments(self, payload: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
        """Keyword arguments for one run."""
        kwargs = dict(payload)
        if self.context_param is not None:
            kwargs[self.context_param] = ctx
        return kwargs

    # -- enqueueing ----------------------------------------------------------------------
    def options(
        self,
        *,
        queue: str | None = None,
        priority: int | None = None,
        delay: float | timedelta | None = None,
        run_at: datetime | None = None,
        max_attempts: int | None = None,
    ) -> Task[P, R]:
        """A copy of this task whose next enqueues use these options."""
        o = self.opts
        opts = TaskOptions(
            queue=queue if queue is not None else o.queue,
            priority=priority if priority is not None else o.priority,
            delay=delay if delay is not None else o.delay,
            run_at=run_at if run_at is not None else o.run_at,
            max_attempts=max_attempts if max_attempts is not None else o.max_attempts,
        )
        return replace(self, opts=opts)

    def job(self, *args: P.args, **kwargs: P.kwargs) -> JobSpec:
        """A :class:`JobSpec` for :func:`pgq_sa.enqueue_many`."""
        if args:
            raise TypeError(f"{self.name}: pass job arguments by keyword (they form a JSON object)")
        payload = dict(kwargs)
        self.check_payload(payload)
        o = self.opts
        return JobSpec(
            entrypoint=self.name,
            payload=payload,
            queue=o.queue or self.queue,
            priority=o.priority if o.priority is not None else self.priority,
            delay=o.delay,
            run_at=o.run_at,
            max_attempts=o.max_attempts,
        )

    async def enqueue(self, target: Any, *args: P.args, **kwargs: P.kwargs) -> int:
        """Enqueue one run inside ``target``'s transaction (async connection, session
        or engine); returns the job id."""
        from .enqueue import enqueue_many

        ids = await enqueue_many(target, [self.job(*args, **kwargs)], schema=self.schema)
        return ids[0]

    def enqueue_sync(self, target: Any, *args: P.args, **kwargs: P.kwargs) -> int:
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
        self.schema = validate_identifier(schema) if schema is not None else None
        self.tasks: dict[str, Task[Any, Any]] = {}

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
    ) -> Any:
        """Register a handler (``async def`` runs on the event loop, ``def`` in a thread).

        ``name`` defaults to the function's name; ``max_attempts`` counts the first
        run; ``timeout`` and ``heartbeat_timeout`` are in seconds.
        """
        if max_attempts < 1:
            raise ValueError("max_attempts must be >= 1")
        if timeout is not None and timeout <= 0:
            raise ValueError("timeout must be > 0 seconds")
        if heartbeat_timeout < 1:
            raise ValueError("heartbeat_timeout must be >= 1 second")

        def register(f: Callable[..., Any]) -> Task[Any, Any]:
            task_name = name or f.__name__
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
            )
            self.tasks[task_name] = t
            return t

        return register(fn) if fn is not None else register

    def __getitem__(self, name: str) -> Task[Any, Any]:
        try:
            return self.tasks[name]
        except KeyError:
            raise UnknownTask(f"unknown task {name!r}: registered are "
                              f"{', '.join(sorted(self.tasks)) or 'none'}") from None

    def __contains__(self, name: object) -> bool:
        return name in self.tasks

    def __iter__(self) -> Iterator[Task[Any, Any]]:
        return iter(self.tasks.values())

    def __len__(self) -> int:
        return len(self.tasks)

    def queues(self) -> list[str]:
        """The queues the registered tasks use, sorted."""
        return sorted({t.queue for t in self.tasks.values()})
