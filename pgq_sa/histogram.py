"""The log-scale histogram that ``pgq_stats`` keeps for latencies and run times.

Bucket 0 holds values up to 1 ms; bucket ``k >= 1`` holds values in
``(1 ms * 2**((k-1)/4), 1 ms * 2**(k/4)]``: four buckets per doubling, so a
percentile read from the histogram (the upper bound of its bucket) is at most 19%
above the true value.  The last bucket also takes everything larger (about 37 h).

A histogram is stored sparse, as JSON ``{"bucket index": count}``; the SQL in
:mod:`pgq_sa.sql_stats` computes the same index as :func:`bucket_index`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["BASE", "BUCKETS", "PER_DOUBLING", "bucket_index", "merge", "percentile", "upper"]

#: Upper bound of bucket 0, in seconds.
BASE = 0.001
#: Buckets per doubling of the value.
PER_DOUBLING = 4
#: Number of buckets (indices ``0 .. BUCKETS - 1``).
BUCKETS = 109


def bucket_index(seconds: float) -> int:
    """The bucket a value (in seconds) falls in."""
    if seconds <= BASE:
        return 0
    return min(BUCKETS - 1, math.ceil(math.log2(seconds / BASE) * PER_DOUBLING))


def upper(index: int) -> float:
    """Upper bound (seconds) of bucket ``index``."""
    return float(BASE * 2 ** (index / PER_DOUBLING))


def merge(histograms: Iterable[Mapping[Any, int]]) -> dict[int, int]:
    """Add sparse histograms together (keys may be ints or JSON's strings)."""
    out: dict[int, int] = {}
    for hist in histograms:
        for key, count in hist.items():
            k = int(key)
            out[k] = out.get(k, 0) + int(count)
    return out


def percentile(hist: Mapping[int, int], p: float) -> float | None:
    """The ``p`` quantile (0 < p <= 1) by nearest rank: the upper bound of the bucket
    holding the ``ceil(p * n)``-th smallest value; ``None`` for an empty histogram."""
    total = sum(hist.values())
    if total <= 0:
        return None
    rank = max(1, math.ceil(p * total - 1e-9))
    seen = 0
    for index in sorted(hist):
        seen += hist[index]
        if seen >= rank:
            return upper(index)
    return upper(max(hist))  # pragma: no cover - rank <= total always stops above
