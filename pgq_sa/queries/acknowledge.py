"""Record outcomes (:mod:`pgq_sa.sql.acknowledge`)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..outcome import Kind, Outcome
from ..sql import Statements
from . import Query, first_column

__all__ = ["Acknowledgements", "acknowledge", "acknowledge_counted", "complete"]


@dataclass(frozen=True, slots=True)
class Acknowledgements:
    """The outcomes of a batch as the statement's array parameters."""

    #: ``"succeeded"`` when every outcome is a success (the cheaper statement),
    #: else ``"any"``.
    form: str
    params: dict[str, Any]

    @classmethod
    def of(cls, outcomes: Sequence[Outcome], *, every_column: bool = False
           ) -> Acknowledgements:
        """The parameters recording ``outcomes``: only ids and attempts when all
        succeeded (the common case) unless ``every_column``, else every column."""
        ids = [outcome.job_id for outcome in outcomes]
        attempts = [outcome.attempt for outcome in outcomes]
        if not every_column and all(outcome.kind is Kind.SUCCEEDED for outcome in outcomes):
            return cls("succeeded", {"ids": ids, "attempts": attempts,
                                     "results": [outcome.result for outcome in outcomes]})
        return cls("any", {
            "ids": ids,
            "attempts": attempts,
            "statuses": [outcome.status for outcome in outcomes],
            "run_ats": [outcome.run_at for outcome in outcomes],
            "messages": [outcome.message for outcome in outcomes],
            "errors": [None if outcome.error is None else json.dumps(outcome.error, default=str)
                       for outcome in outcomes],
            "uncount": [outcome.uncount for outcome in outcomes],
            "results": [outcome.result for outcome in outcomes],
        })


def acknowledge(stmts: Statements, acknowledgements: Acknowledgements, *,
                now: datetime | None = None) -> Query[int]:
    """Record a batch of outcomes; returns the ids written (a job no longer running
    at that attempt, e.g. rescued meanwhile, is left alone)."""
    statement = (stmts.finish_succeeded if acknowledgements.form == "succeeded"
                 else stmts.finish)
    return Query(statement, {**acknowledgements.params, "now": now}, first_column)


def complete(stmts: Statements, *, job_id: int, attempt: int, result: str | None,
             now: datetime | None = None) -> Query[int]:
    """Mark one attempt succeeded inside the handler's transaction, fenced on the
    attempt; no row when the job is no longer that attempt's (roll back)."""
    return Query(stmts.complete, {"job_id": job_id, "attempt": attempt, "result": result,
                                  "now": now}, first_column)


def acknowledge_counted(stmts: Statements, outcomes: Sequence[Outcome], *,
                        now: datetime | None = None) -> Query[int]:
    """Record ``outcomes`` and count them in ``pgq_stats`` in one statement (tests
    that write outcomes at an injected ``now``; benchmarks)."""
    params = Acknowledgements.of(outcomes, every_column=True).params
    return Query(stmts.finish_counted, {**params, "now": now}, first_column)
