"""Which optional parts of pgq-sa exist, so the web dashboard shows each part only
when it does.

Pausing queues and periodic schedules exist (``pgq_queues``, ``pgq_schedules``,
schema version 3): the queues page shows each queue's state and offers pause /
resume (:meth:`pgq_sa.web.data.DashboardData.pause`), the schedules page lists the
schedules (:meth:`~pgq_sa.web.data.DashboardData.schedules`).  Limits and
results/workflows (results, progress, dependencies) are later features.  Each one,
when it lands, sets its flag in :func:`detect_features` (from the tables it adds)
and fills in its hook: the result / progress / dependencies sections of a job
(``pgq.js`` renders a section when the job's JSON has the field).  The page
templates and the JSON API read :class:`Features`; nothing is shown, and no action
is offered, for a feature that is off.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from ..schema import Tables

__all__ = ["Features", "detect_features"]


@dataclass(frozen=True)
class Features:
    """The optional parts the dashboard can show."""

    #: Queues can be paused and resumed (flow control).
    pause: bool = False
    #: Periodic jobs (a schedules page, "run now").
    schedules: bool = False
    #: Concurrency and rate limits per queue or entrypoint.
    limits: bool = False
    #: Job results and progress.
    results: bool = False
    #: Dependencies between jobs (workflows).
    workflows: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def detect_features(tables: Tables) -> Features:
    """The features ``tables`` support (see the module docstring)."""
    return Features(pause=True, schedules=True)
