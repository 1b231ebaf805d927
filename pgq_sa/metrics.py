"""Prometheus metrics for one worker (``pgq-sa worker --metrics-port PORT``).

The metrics are one of the worker's services: :mod:`pgq_sa.worker.metrics`
defines them and documents every series; this module keeps the public name.
"""

from __future__ import annotations

from .worker.metrics import BUCKETS, WorkerMetrics

__all__ = ["BUCKETS", "WorkerMetrics"]
