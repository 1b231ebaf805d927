"""Executor: runs one claimed job and decides its :class:`~pgq_sa.outcome.Outcome`.

This is where a job's outcome is decided, once (:class:`~pgq_sa.outcome.Kind`):
the completer writes it, the statistics, the metrics and the logs read it.
"""

from __future__ import annotations

import logging
import math
import time
import traceback
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from functools import partial
from types import TracebackType
from typing import Any

import anyio

from ..context import JobContext, Snooze
from ..outcome import Kind, Outcome
from ..payload import load_payload
from ..queries.claim import ClaimedJob
from ..registry import Registry, Task
from ..tracing import available as tracing_available
from ..tracing import job_span, recording
from .completer import OutcomeBuffer
from .dispatch import Dispatcher
from .state import Running, Share, WorkerState
from .stats_writer import StatsWriter
from .threads import DaemonThreads

__all__ = ["Executor"]

log = logging.getLogger("pgq_sa.executor")


class JobTimeout(Exception):
    """The job ran longer than its task's ``timeout``."""


class MaxAttemptsExceeded(Exception):
    """A rescued job was already past its ``max_attempts``."""


ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None] | None


def bare(exc: BaseException) -> ExcInfo:
    """``exc_info`` for an error raised by pgq-sa itself: its type and message but no
    traceback (the frames would be pgq-sa's own, and their local variables hold
    the payload, which an error tracker would capture)."""
    return (type(exc), exc.with_traceback(None), None)


def clean_text(text: str) -> str:
    """``text`` made storable by PostgreSQL: no NUL characters, no lone surrogates
    (either would make the outcome's write fail)."""
    if "\x00" in text:
        text = text.replace("\x00", "\\x00")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def _error(ctx: JobContext, exc: BaseException | None, type_name: str, message: str,
           with_tb: bool = True) -> dict[str, Any]:
    """The record of a failed attempt kept in the job's ``errors`` (with the
    ``max_attempts`` that applied, so operators see it without the registry)."""
    tb = None
    if exc is not None and with_tb:
        tb = clean_text("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
    return {
        "attempt": ctx.attempt,
        "max_attempts": ctx.max_attempts,
        "at": datetime.now(timezone.utc).isoformat(),
        "type": clean_text(type_name),
        "message": clean_text(message),
        "traceback": tb,
    }


_STOPPED = {
    "shutdown": "returned to the queue: worker shut down",
    "lost": "no longer held by this worker (rescued)",
}


class Executor:
    """Runs jobs for one worker; slots are released as soon as a job ends."""

    def __init__(self, registry: Registry, state: WorkerState, outcomes: OutcomeBuffer,
                 worker_id: str, stats: StatsWriter | None = None,
                 max_result_bytes: int | None = None) -> None:
        self.registry = registry
        self.max_result_bytes = max_result_bytes
        #: Where ``ctx.progress`` reports go (the worker's ProgressWriter).
        self.report_progress: Callable[[JobContext], None] | None = None
        #: What ``ctx.transaction()`` opens (the worker's Effects).
        self.effects: Any = None
        self.state = state
        self.outcomes = outcomes
        self.worker_id = worker_id
        self.threads = DaemonThreads()
        self.stats = stats
        #: OpenTelemetry is importable: run each job in a span.
        self._traced = tracing_available()

    def admit(self, job: ClaimedJob, share: Share) -> Running:
        """Hold a claimed job in ``share`` of the capacity, in flight from now on."""
        task = self.registry.tasks[job.entrypoint]
        ctx = JobContext(
            id=job.id,
            entrypoint=job.entrypoint,
            queue=job.queue,
            attempt=job.attempts,
            max_attempts=job.max_attempts or task.max_attempts,
            priority=job.priority,
            payload=job.payload,  # decoded when the job starts
            created_at=job.created_at,
            run_at=job.run_at,
            worker_id=self.worker_id,
            _report=self.report_progress,
            _effects=self.effects,
        )
        return self.state.capacity.hold(ctx, job, share)

    def return_unstarted(self, entry: Running) -> None:
        """Give back a claimed job that will not be started (shutdown)."""
        ctx = entry.ctx
        self.outcomes.submit(self._returned(ctx.id, ctx.attempt, "shutdown"))
        self.state.counters[Kind.RETURNED.label] += 1
        self.state.capacity.release(entry)

    async def runner(self, jobs: Dispatcher[Running]) -> None:
        """One of ``concurrency`` long-lived runners: runs admitted jobs one by one.

        A fixed pool of runners costs less per job than a task per job.  Each runner
        also keeps one cancel scope for job after job (entering a scope per job cost
        more than the rest of a no-op job's overhead): a job's timeout is that
        scope's deadline while it runs, and stopping the job cancels the scope.  A
        cancelled scope is spent, so the runner then opens a fresh one."""
        while True:
            with anyio.CancelScope() as scope:
                while (entry := await jobs.get()) is not None:
                    if self.state.stopping and entry.stop_reason is None:
                        self.return_unstarted(entry)
                        continue
                    await self.run(entry, scope)
                    if scope.cancel_called:
                        break
                else:
                    return

    async def run(self, entry: Running, scope: anyio.CancelScope) -> None:
        """Run one admitted job inside ``scope`` (the runner's) and hand its outcome
        to the completer; in a span linked to the enqueuer's trace when OpenTelemetry
        is installed (:mod:`pgq_sa.tracing`), else at no cost."""
        if not self._traced or not recording():
            await self._run_entry(entry, scope)
            return
        ctx = entry.ctx
        with job_span(job_id=ctx.id, entrypoint=ctx.entrypoint, queue=ctx.queue,
                      attempt=ctx.attempt, trace_context=entry.job.trace_context) as span:
            entry.span = span
            await self._run_entry(entry, scope)

    async def _run_entry(self, entry: Running, scope: anyio.CancelScope) -> None:
        ctx = entry.ctx
        job_id = ctx.id
        entry.started = True
        task = self.registry.tasks[ctx.entrypoint]
        observed = bool(self.state.observers)
        started = time.monotonic() if observed else 0.0
        try:
            outcome = await self._run(task, ctx, entry, scope)
        except BaseException as exc:
            if scope.cancel_called and isinstance(exc, anyio.get_cancelled_exc_class()):
                # This job was stopped (cancel, timeout, shutdown, lost): record why,
                # then let the cancellation end the runner's scope.
                if entry.stop_reason is None:
                    entry.stop_reason = "timeout"
                    ctx._cancelled = True  # an abandoned sync handler can notice it
                self._done(entry, task, self._stopped(task, ctx, entry.stop_reason),
                           observed, started)
                raise
            # cancelled from outside (forced stop), or a bug in pgq-sa
            self.outcomes.submit(self._returned(job_id, ctx.attempt, "shutdown"))
            self.state.capacity.release(entry)
            if isinstance(exc, Exception):
                log.exception("job %s: internal error", job_id)
                return
            raise
        self._done(entry, task, outcome, observed, started)

    def _done(self, entry: Running, task: Task[Any, Any], outcome: Outcome, observed: bool,
              started: float) -> None:
        ctx = entry.ctx
        if ctx._completed and not outcome.committed:
            # ctx.transaction() committed the job's success: nothing after it changes
            # that (an error, a timeout, a cancellation came too late)
            if outcome.kind is not Kind.SUCCEEDED:
                log.warning("job %s: %s after its transaction committed its success; it "
                            "stays succeeded", ctx.id, outcome.kind.label)
            outcome = Outcome(ctx.id, ctx.attempt, Kind.SUCCEEDED, committed=True)
        if not outcome.committed:
            self.outcomes.submit(outcome)
        if entry.span is not None:
            entry.span.outcome(outcome.kind.label)
        self.state.capacity.release(entry)
        self.state.counters[outcome.kind.label] += 1
        if self.stats is not None:
            self.stats.count(ctx.queue, ctx.entrypoint, outcome)
        if observed:
            self._observe(entry, outcome, time.monotonic() - started)
        if log.isEnabledFor(logging.INFO):
            log.info("job %s %s", ctx.id, outcome.kind.label, extra={
                "job_id": ctx.id, "entrypoint": task.name, "attempt": ctx.attempt,
                "status": outcome.status, "outcome": outcome.kind.label})

    def _observe(self, entry: Running, outcome: Outcome, seconds: float) -> None:
        for observer in self.state.observers:
            try:
                observer(entry, outcome, seconds)
            except Exception:
                log.exception("job %s: observer failed", entry.ctx.id)

    async def _run(self, task: Task[Any, Any], ctx: JobContext, entry: Running,
                   scope: anyio.CancelScope) -> Outcome:
        job_id, attempt = ctx.id, ctx.attempt
        # A job rescued after its worker died may already be past its limit.
        if attempt > ctx.max_attempts:
            msg = f"exceeded max_attempts ({ctx.max_attempts}) after its worker was lost"
            self._log_failure(ctx, logging.ERROR, "failed", "MaxAttemptsExceeded", msg,
                              bare(MaxAttemptsExceeded(msg)))
            return Outcome(job_id, attempt, Kind.FAILED, message=msg,
                           error=_error(ctx, None, "MaxAttemptsExceeded", msg))
        try:
            payload = load_payload(ctx.payload)
            ctx.payload = payload
            task.check_payload(payload)
            kwargs = task.arguments(payload, ctx)  # typed parameters converted here
        except (TypeError, ValueError) as exc:
            # Retrying cannot fix a payload that does not fit the handler.  The
            # messages name paths and types, never values (see pgq_sa.convert).
            msg = clean_text(f"bad payload: {exc}")
            self._log_failure(ctx, logging.ERROR, "failed: its payload does not fit the "
                              "handler (not retried)", type(exc).__name__,
                              clean_text(str(exc)), bare(exc))
            return Outcome(job_id, attempt, Kind.FAILED, message=msg,
                           error=_error(ctx, exc, type(exc).__name__, msg, with_tb=False))
        if entry.stop_reason is not None:  # stopped before it started
            return self._stopped(task, ctx, entry.stop_reason)
        timed = task.timeout is not None
        # The runner's scope serves the timeout (its deadline) and stopping the job
        # (Running.stop cancels it) while this job runs; a cancellation that reaches
        # the job is handled in run().
        entry.scope = scope
        if timed:
            scope.deadline = anyio.current_time() + task.timeout  # type: ignore[operator]
        try:
            if task.is_async:
                value = await task.fn(**kwargs)
            else:
                value = await self.threads.run(partial(task.fn, **kwargs))
        except Snooze as snooze:
            return Outcome(job_id, attempt, Kind.SNOOZED,
                           run_at=datetime.now(timezone.utc) + timedelta(seconds=snooze.seconds))
        except Exception as exc:
            if entry.stop_reason is None and scope.cancel_called:
                entry.stop_reason = "timeout"  # the handler turned it into an error
            if entry.stop_reason is not None:
                return self._stopped(task, ctx, entry.stop_reason)
            message = clean_text(f"{type(exc).__name__}: {exc}")
            return self._failure(task, ctx, _error(ctx, exc, type(exc).__name__, str(exc)),
                                 message, exc_info=(type(exc), exc, exc.__traceback__))
        finally:
            entry.scope = None
            if timed:
                scope.deadline = math.inf
        if entry.stop_reason is None and scope.cancel_called:
            entry.stop_reason = "timeout"  # the handler swallowed the cancellation
            ctx._cancelled = True
        if ctx._completed:
            return Outcome(job_id, attempt, Kind.SUCCEEDED, committed=True)
        if entry.stop_reason is None:
            if value is None:
                return Outcome(job_id, attempt, Kind.SUCCEEDED)
            return self._succeeded(task, ctx, value)
        return self._stopped(task, ctx, entry.stop_reason)

    def _succeeded(self, task: Task[Any, Any], ctx: JobContext, value: Any) -> Outcome:
        """A success with a return value: stored as JSON, or, when it is not JSON or
        over the size limit, the job fails (not retried: it would return the same)."""
        try:
            result = task.dump_result(value, self.max_result_bytes)
        except (TypeError, ValueError) as exc:
            msg = clean_text(str(exc))
            self._log_failure(ctx, logging.ERROR, "failed: its result cannot be stored "
                              "(not retried)", type(exc).__name__, msg, bare(exc))
            return Outcome(ctx.id, ctx.attempt, Kind.FAILED, message=f"bad result: {msg}",
                           error=_error(ctx, exc, type(exc).__name__, msg, with_tb=False))
        return Outcome(ctx.id, ctx.attempt, Kind.SUCCEEDED, result=result)

    def _stopped(self, task: Task[Any, Any], ctx: JobContext, reason: str) -> Outcome:
        """The outcome of a job stopped for ``reason``."""
        if reason == "timeout":
            msg = f"timed out after {task.timeout}s"
            return self._failure(task, ctx, _error(ctx, None, JobTimeout.__name__, msg),
                                 f"{JobTimeout.__name__}: {msg}",
                                 exc_info=bare(JobTimeout(msg)))
        if reason == "cancel":
            return Outcome(ctx.id, ctx.attempt, Kind.CANCELLED, message="cancelled")
        if reason == "lost":
            self._log_failure(ctx, logging.WARNING,
                              "was taken from this worker while it ran (its heartbeat "
                              "could not be written; another worker may run it again)",
                              "WorkerLost", "lost contact with the database", None)
        return self._returned(ctx.id, ctx.attempt, reason)

    @staticmethod
    def _returned(job_id: int, attempt: int, reason: str = "shutdown") -> Outcome:
        """Back to the queue, the attempt not counted: handed back at shutdown, or
        lost (the rescue took it)."""
        kind = Kind.LOST if reason == "lost" else Kind.RETURNED
        return Outcome(job_id, attempt, kind, message=_STOPPED.get(reason, _STOPPED["shutdown"]))

    def _failure(self, task: Task[Any, Any], ctx: JobContext, error: dict[str, Any],
                 message: str, exc_info: ExcInfo) -> Outcome:
        """A failed attempt: retried after its backoff, or the job fails for good.
        Logged at WARNING (retry) or ERROR (final), with ``exc_info``."""
        if ctx.attempt >= ctx.max_attempts:
            self._log_failure(ctx, logging.ERROR, "failed", error["type"], error["message"],
                              exc_info)
            return Outcome(ctx.id, ctx.attempt, Kind.FAILED, message=message, error=error)
        delay = task.backoff.delay(ctx.attempt)
        self._log_failure(ctx, logging.WARNING, f"failed, retrying in {delay:.1f}s",
                          error["type"], error["message"], exc_info, retry_in=round(delay, 3))
        return Outcome(ctx.id, ctx.attempt, Kind.RETRIED, message=message, error=error,
                       run_at=datetime.now(timezone.utc) + timedelta(seconds=delay))

    def _log_failure(self, ctx: JobContext, level: int, what: str, error_type: str,
                     error: str, exc_info: ExcInfo, **extra: Any) -> None:
        """One record per failed attempt: ``job 42 send_email attempt 2/3 failed,
        retrying in 4.0s: ValueError: boom`` with the same facts as ``extra`` fields
        (job_id, entrypoint, queue, attempt, max_attempts, error_type, error) and the
        exception, so logging-based error trackers capture it."""
        if not log.isEnabledFor(level):
            return
        log.log(level, "job %s %s attempt %d/%d %s: %s: %s", ctx.id, ctx.entrypoint,
                ctx.attempt, ctx.max_attempts, what, error_type, error, exc_info=exc_info,
                extra={"job_id": ctx.id, "entrypoint": ctx.entrypoint, "queue": ctx.queue,
                       "attempt": ctx.attempt, "max_attempts": ctx.max_attempts,
                       "error_type": error_type, "error": error, "worker_id": self.worker_id,
                       **extra})
