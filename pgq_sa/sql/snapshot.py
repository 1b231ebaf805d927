"""The compiled SQL of every runtime statement, kept in ``pgq_sa/sql/compiled/``.

``python -m pgq_sa.sql.snapshot`` writes one ``<name>.sql`` per statement: the
text PostgreSQL receives (asyncpg dialect, default schema) and, in a header, what
each ``$n`` parameter is.  ``tests/test_sql_snapshots.py`` fails when a file
differs from what the builders compile today, so a change to a query shows up in
review as SQL.  ``--check`` only compares (exit status 1 on a difference).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..schema import tables
from . import Statements, statements_for
from .browse import Shape
from .common import compiled

__all__ = ["DIRECTORY", "render", "statements"]

#: Where the snapshots live.
DIRECTORY = Path(__file__).with_name("compiled")

_SIMPLE = (
    "insert_job_notify", "insert_jobs_notify", "reserve_ids", "notify_queues",
    "finish", "finish_succeeded", "finish_counted", "complete",
    "register_worker", "heartbeat", "delete_worker", "rescue", "reap_workers",
    "take_session_lock", "lost_sessions",
    "cancel_queued", "cancel_running", "retry", "prune_jobs", "prune_stats", "notify",
    "record_counts",
    "clock", "no_parallel", "window", "timings", "series", "last_errors", "queued", "running",
    "workers", "get_job", "flow_keys", "existing_ids", "pending",
    "await_job", "job_end", "report_progress",
    "insert_graph", "dependencies", "dependency_results",
    "counts_per_second", "counts_per_minute", "latency_all", "latency_queue",
    "id_bounds", "job_at", "bulk_timeout", "running_by_worker",
    "table_stats", "open_transactions", "replication_slots", "prepared_transactions",
    "settings", "database",
    "set_paused", "paused_queues",
    "insert_unique_job", "repoint_unique",
    "register_schedules", "schedule_states", "fire_schedule", "list_schedules",
    "run_schedule_now",
)


def statements(stmts: Statements | None = None) -> dict[str, Any]:
    """Every runtime statement by snapshot name (claims and job lists in each form)."""
    built = stmts or statements_for(tables)
    found: dict[str, Any] = {name: getattr(built, name) for name in _SIMPLE}
    for many, prefix in ((False, "claim_one_queue"), (True, "claim_many_queues")):
        found[prefix] = built.claim(many_queues=many)
        found[f"{prefix}_ack"] = built.claim(many_queues=many, acknowledge="any")
        found[f"{prefix}_ack_succeeded"] = built.claim(many_queues=many, acknowledge="succeeded")
    for limited, prefix in ((True, "claim_flow"), (False, "claim_flow_fair")):
        found[prefix] = built.claim_flow(limited=limited)
        found[f"{prefix}_ack"] = built.claim_flow(acknowledge="any", limited=limited)
        found[f"{prefix}_ack_succeeded"] = built.claim_flow(acknowledge="succeeded",
                                                            limited=limited)
    found["list_jobs"] = built.list_jobs()
    found["list_jobs_filtered"] = built.list_jobs(statuses=("queued", "running"), queue=True,
                                              entrypoint=True)
    found["jobs_in"] = built.jobs_in(statuses=("queued",))
    found["jobs_in_filtered"] = built.jobs_in(statuses=("queued",), entrypoint=True, queue=True)
    # the web dashboard's jobs list: unfiltered, filtered (a bounded scan), by finish time
    every = Shape(statuses=("queued", "running"), queue=True, entrypoint=True,
                  created_after=True, created_before=True)
    failed = Shape(statuses=("failed",))
    for newer, suffix in ((False, ""), (True, "_newer")):
        found[f"jobs_page{suffix}"] = built.jobs_page(Shape(), newer=newer, bounded=False,
                                                       by_finish=False)
        found[f"jobs_page_filtered{suffix}"] = built.jobs_page(every, newer=newer, bounded=True,
                                                               by_finish=False)
        found[f"jobs_page_finished{suffix}"] = built.jobs_page(failed, newer=newer,
                                                               bounded=True, by_finish=True)
        found[f"jobs_scanned{suffix}"] = built.jobs_scanned(newer=newer, by_finish=False)
        found[f"jobs_scanned_finished{suffix}"] = built.jobs_scanned(newer=newer,
                                                                     by_finish=True)
    found["status_ids"] = built.status_ids("queued", every)
    found["retryable_ids"] = built.retryable_ids(Shape(queue=True))
    return dict(sorted(found.items()))


def render(name: str, stmt: Any) -> str:
    """The snapshot file of one statement."""
    if not hasattr(stmt, "compile") or not callable(stmt.compile):
        raise TypeError(f"{name} is not a statement")
    statement = compiled(stmt)
    lines = [f"-- {name}: written by python -m pgq_sa.sql.snapshot (do not edit)"]
    for position, (param, default) in enumerate(statement.defaults, start=1):
        note = "" if param in statement.required else f" (constant {default!r})"
        lines.append(f"-- ${position} {param}{note}")
    return "\n".join(lines) + "\n" + statement.sql.rstrip() + "\n"


def differences(directory: Path = DIRECTORY,
                source: Callable[[], dict[str, Any]] = statements) -> list[str]:
    """Names whose snapshot is missing, stale or left over."""
    wanted = {name: render(name, stmt) for name, stmt in source().items()}
    found = {path.stem: path.read_text() for path in directory.glob("*.sql")}
    return sorted(name for name in wanted.keys() | found.keys()
                  if wanted.get(name) != found.get(name))


def write(directory: Path = DIRECTORY) -> list[str]:
    """Write every snapshot (and remove left-over ones); returns the names changed."""
    changed = differences(directory)
    directory.mkdir(exist_ok=True)
    wanted = statements()
    for path in directory.glob("*.sql"):
        if path.stem not in wanted:
            path.unlink()
    for name, stmt in wanted.items():
        (directory / f"{name}.sql").write_text(render(name, stmt))
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pgq_sa.sql.snapshot",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="compare only; exit 1 when a snapshot differs")
    args = parser.parse_args(argv)
    if args.check:
        stale = differences()
        for name in stale:
            print(f"stale: {DIRECTORY / name}.sql")
        return 1 if stale else 0
    for name in write():
        print(f"wrote {DIRECTORY / name}.sql")
    return 0


if __name__ == "__main__":
    sys.exit(main())
