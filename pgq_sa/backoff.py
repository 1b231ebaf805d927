"""Retry policy: exponential backoff with jitter and a cap."""

from __future__ import annotations

import random
from dataclasses import dataclass

__all__ = ["Backoff"]


@dataclass(frozen=True)
class Backoff:
    """Delay before attempt ``n + 1`` after attempt ``n`` failed.

    ``delay(n) = min(cap, base * factor ** (n - 1))``, then multiplied by a random
    factor in ``[1 - jitter, 1 + jitter]`` so that retries of many jobs that failed
    together spread out.
    """

    base: float = 1.0
    factor: float = 2.0
    cap: float = 600.0
    jitter: float = 0.2

    def __post_init__(self) -> None:
        if self.base < 0 or self.cap < 0 or self.factor < 1 or not 0 <= self.jitter <= 1:
            raise ValueError("Backoff needs base >= 0, cap >= 0, factor >= 1, 0 <= jitter <= 1")

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        raw = min(self.cap, self.base * self.factor ** max(0, attempt - 1))
        if self.jitter:
            r = (rng or random).uniform(1 - self.jitter, 1 + self.jitter)
            raw = min(self.cap, raw * r)
        return max(0.0, raw)
