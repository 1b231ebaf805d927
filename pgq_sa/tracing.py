"""OpenTelemetry tracing, when the ``otel`` extra is installed (``opentelemetry-api``).

At enqueue, the W3C ``traceparent`` of the span current in the caller is stored
with the job (``pgq_jobs.trace_context``); the worker runs each attempt in a span
of its own, *linked* to that context (a job may run long after, or many times: a
link, not a parent), with the job's id, entrypoint, queue, attempt and outcome as
attributes.  Without the extra, or without a current span, nothing is recorded
and nothing is imported: the import is tried once, lazily, on first use.  With
the API installed but no tracer provider configured (no SDK), jobs run without
spans: the API's default provider would record nothing, at a cost per job.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["SPAN_ATTRIBUTES", "available", "current_traceparent", "job_span", "recording"]

#: The attribute names of a job's span.
SPAN_ATTRIBUTES = ("pgq_sa.job.id", "pgq_sa.job.entrypoint", "pgq_sa.job.queue",
                   "pgq_sa.job.attempt", "pgq_sa.job.outcome")

_api: Any = None  # the loaded pieces; False once known to be absent


def _load() -> Any:
    global _api
    if _api is None:
        try:
            from opentelemetry import trace
            from opentelemetry.trace.propagation.tracecontext import (
                TraceContextTextMapPropagator,
            )
        except ImportError:
            _api = False
        else:
            _api = (trace, TraceContextTextMapPropagator())
    return _api


def available() -> bool:
    """True if ``opentelemetry-api`` can be imported."""
    return bool(_load())


_tracer: tuple[Any, Any] | None = None  # (provider, its tracer for pgq_sa)


def _active_tracer(trace: Any) -> Any:
    """The tracer of the configured provider; ``None`` while none is configured
    (the API's default provider records nothing: no span is worth its cost)."""
    global _tracer
    provider = trace.get_tracer_provider()
    if isinstance(provider, (trace.ProxyTracerProvider, trace.NoOpTracerProvider)):
        return None
    if _tracer is None or _tracer[0] is not provider:
        _tracer = (provider, provider.get_tracer("pgq_sa"))
    return _tracer[1]


def recording() -> bool:
    """True if OpenTelemetry is installed and an application configured a tracer
    provider (an SDK): only then does a job get a span.  Cheap: checked per job."""
    api = _load()
    return bool(api) and _active_tracer(api[0]) is not None


def current_traceparent() -> str | None:
    """The W3C ``traceparent`` of the caller's current span, if it has a valid one."""
    api = _load()
    if not api:
        return None
    trace, propagator = api
    if not trace.get_current_span().get_span_context().is_valid:
        return None
    carrier: dict[str, str] = {}
    propagator.inject(carrier)
    return carrier.get("traceparent")


class JobSpan:
    """The span of one attempt (or nothing, without OpenTelemetry)."""

    __slots__ = ("span",)

    def __init__(self, span: Any) -> None:
        self.span = span

    def outcome(self, label: str) -> None:
        """Record the attempt's outcome (``succeeded``, ``retried``, ``failed`` …)."""
        if self.span is not None:
            self.span.set_attribute("pgq_sa.job.outcome", label)


_NO_SPAN = JobSpan(None)


@contextmanager
def job_span(*, job_id: int, entrypoint: str, queue: str, attempt: int,
             trace_context: str | None) -> Iterator[JobSpan]:
    """Run an attempt in a span linked to ``trace_context`` (when OpenTelemetry is
    installed; otherwise a no-op)."""
    api = _load()
    tracer = _active_tracer(api[0]) if api else None
    if tracer is None:
        yield _NO_SPAN
        return
    trace, propagator = api
    links = []
    if trace_context:
        linked = trace.get_current_span(
            propagator.extract({"traceparent": trace_context})).get_span_context()
        if linked.is_valid:
            links.append(trace.Link(linked))
    with tracer.start_as_current_span(
            f"pgq_sa job {entrypoint}", kind=trace.SpanKind.CONSUMER, links=links,
            attributes={"pgq_sa.job.id": job_id, "pgq_sa.job.entrypoint": entrypoint,
                        "pgq_sa.job.queue": queue, "pgq_sa.job.attempt": attempt},
            record_exception=False, set_status_on_exception=False) as span:
        yield JobSpan(span)
