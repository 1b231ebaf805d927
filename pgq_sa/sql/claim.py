"""Claim: lock up to ``limit`` ready jobs for a worker and mark them running.

``SELECT … FOR UPDATE SKIP LOCKED`` inside ``UPDATE … RETURNING``: a row is handed
to exactly one claimer.  With one queue the predicate is an equality so the
ordered partial index scan stops after ``limit`` rows; with several, a ``LATERAL``
scan per queue reads ``limit`` rows each (``queue = ANY(…)`` would sort every ready
row of those queues: 75 ms at 133k rows).  The locked ids are then updated through
``id = ANY(ARRAY(…))``: a primary-key probe whatever the planner guesses for
``limit``, so even a generic plan (which assumes a tenth of the table) never turns
it into a hash join over the whole table.  Paused queues are skipped
(:func:`.queues.not_paused`, a one-time filter).

A claim may carry the acknowledgement of the previous jobs as a data-modifying CTE
(:func:`claim_and_acknowledge`): the outcomes are recorded by the same statement
(and commit) that claims the next jobs.  The two touch disjoint rows (running vs
queued).

Flow control (:func:`claim_flow`): jobs that carry a ``flow_key`` (a concurrency
limit, a rate limit or a fairness key) are left out of the plain claim (its partial
index holds only ``flow_key IS NULL``) and claimed by their own statement, run in
a transaction after :func:`flow_lock` (one transaction-level advisory lock per
schema): flow claims take turns across every worker and host, and each one's
snapshot, taken after the lock, sees every earlier flow claim committed.  Counting
the running jobs of a concurrency key, or the jobs of a rate key started in its
window (``pgq_rates``), is therefore exact: no two claims can both take the last
slot.  The
plain claim never waits for that lock.
"""

from __future__ import annotations

import zlib
from typing import Any

from sqlalchemy import (
    Double,
    Integer,
    Text,
    and_,
    bindparam,
    case,
    cast,
    extract,
    func,
    literal_column,
    or_,
    select,
    true,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY, insert

from ..schema import QUEUED, RUNNING, Tables
from .acknowledge import finish, finish_succeeded
from .common import TS, now, status_is
from .queues import not_paused

__all__ = ["claim", "claim_and_acknowledge", "claim_flow", "claim_flow_and_acknowledge",
           "flow_lock"]

#: The columns of a claimed job, in the order of :class:`pgq_sa.queries.ClaimedJob`.
CLAIMED_COLUMNS = ("id", "queue", "entrypoint", "payload", "priority", "attempts",
                   "max_attempts", "created_at", "run_at", "started_at", "trace_context")


def claim(tables: Tables, *, many_queues: bool) -> Any:
    """Claim up to ``limit`` ready jobs of ``entrypoints`` for ``worker_id``, highest
    priority first, from ``queue`` (or, ``many_queues``, from each of ``queues``)."""
    jobs = tables.jobs
    at = now()
    limit = bindparam("limit", type_=Integer)
    entrypoints = jobs.c.entrypoint == func.any(bindparam("entrypoints", type_=ARRAY(Text)))

    def candidates(queue: Any) -> Any:
        # The ordered scan of the partial index for one queue stops at `limit`.
        return (
            select(jobs.c.id, jobs.c.priority, jobs.c.run_at)
            .where(status_is(jobs.c.status, QUEUED), jobs.c.flow_key.is_(None),
                   jobs.c.queue == queue, entrypoints, jobs.c.run_at <= at,
                   not_paused(tables, queue))  # paused queues: pgq_sa/sql/queues.py
            .order_by(jobs.c.queue, jobs.c.priority.desc(), jobs.c.run_at, jobs.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )

    if many_queues:
        queues = func.unnest(bindparam("queues", type_=ARRAY(Text))).table_valued(
            "name").render_derived(name="q")
        per_queue = candidates(queues.c.name).lateral("cand")
        locked = (
            select(per_queue.c.id)
            .select_from(queues.join(per_queue, true()))
            .order_by(per_queue.c.priority.desc(), per_queue.c.run_at, per_queue.c.id)
            .limit(limit)
            .cte("locked")
        )
    else:
        locked = candidates(bindparam("queue", type_=Text)).cte("locked")
    return (
        update(jobs)
        .where(jobs.c.id == func.any(func.array(select(locked.c.id).scalar_subquery())))
        .values(
            status=literal_column(f"'{RUNNING}'"),
            attempts=jobs.c.attempts + 1,
            started_at=at,
            heartbeat_at=at,
            worker_id=bindparam("worker_id", type_=Text),
        )
        .returning(*(jobs.c[name] for name in CLAIMED_COLUMNS))
    )


def claim_and_acknowledge(tables: Tables, *, many_queues: bool, succeeded_only: bool) -> Any:
    """:func:`claim` plus the acknowledgement of earlier jobs (:func:`finish`, or with
    ``succeeded_only`` :func:`finish_succeeded`) in one statement."""
    acknowledge = finish_succeeded(tables) if succeeded_only else finish(tables)
    return claim(tables, many_queues=many_queues).add_cte(acknowledge.cte("acked"))


_ONE = literal_column("1", Integer)
_ZERO = literal_column("0", Integer)


#: ``BEGIN`` and a generic plan for the flow claim that follows in the transaction:
#: planning its statement (custom plans, PostgreSQL's default for the first
#: executions and whenever the generic plan's estimate is higher) took longer than
#: running it (1.2 ms against 0.8 ms a claim), and the generic plan is the same.
FLOW_BEGIN = "BEGIN; SET LOCAL plan_cache_mode = force_generic_plan"


def flow_lock(tables: Tables) -> str:
    """:data:`FLOW_BEGIN` and the transaction-level advisory lock that serializes
    the flow claims of this schema (two integer constants derived from the schema's
    channel: no user input reaches the text)."""
    key = zlib.crc32(tables.channel.encode()) - 2**31
    return f"{FLOW_BEGIN}; SELECT pg_advisory_xact_lock(1885826401, {int(key)})"


def claim_flow(tables: Tables, *, limited: bool = True) -> Any:
    """Claim up to ``limit`` ready flow-controlled jobs of ``entrypoints`` from
    ``queues`` for ``worker_id``, within their limits, rotating between flow keys.

    ``limited``: run after :func:`flow_lock`, in the same transaction, and claim
    jobs with limits too; else jobs with a fairness key only (no limit: any
    number of claims may run at once, without the lock, in one round trip).

    Steps:

    - ``keys``: the distinct ``(queue, flow_key)`` of queued flow jobs, by a
      recursive skip scan of ``pgq_jobs_flow_idx`` (one probe per key, however
      many jobs each key has), backwards (clear of the dead entries that claims
      leave at the start of each key's range);
    - ``cand``: per key of ``queues``, its first ready jobs in claim order
      (priority, run_at, id), its share of ``limit`` (``ceil(limit / keys)``, at
      least one), numbered by ``turn`` within the key, with the key's
      last claim (the latest ``started_at`` of its jobs);
    - ``ranked``: all candidates in the order priority, turn, last claim (never or
      longest ago first), run_at, id: priority wins; within a priority the keys
      take turns, within a claim and from one claim to the next; numbered within
      each concurrency key and each rate key;
    - ``busy``: jobs running per concurrency key; ``recent``: jobs started per rate
      key in its current fixed window (``rate_period`` seconds aligned to the Unix
      epoch), from ``pgq_rates``;
    - a candidate is taken when its number within its concurrency key fits in
      ``concurrency_limit - busy`` and its number within its rate key fits in
      ``rate_limit - recent``; the first ``limit`` of those are claimed, and
      ``counted`` adds them to their rate key's window in ``pgq_rates``.

    The time is ``statement_timestamp()`` (taken after the lock), not the
    transaction's start, so that the claims of a rate key start in order."""
    jobs = tables.jobs
    c = jobs.c
    at = func.coalesce(bindparam("now", type_=TS), func.statement_timestamp())
    limit = bindparam("limit", type_=Integer)
    flow_queued = and_(status_is(c.status, QUEUED), c.flow_key.isnot(None))

    # Backwards: each probe lands at the end of a key's range (its last jobs in
    # claim order), not at its start, where the jobs claimed since the last vacuum
    # leave dead index entries that every claim would step over once more.
    first = (select(c.queue, c.flow_key).where(flow_queued)
             .order_by(c.queue.desc(), c.flow_key.desc()).limit(_ONE))
    keys = first.cte("keys", recursive=True)
    step = (select(c.queue, c.flow_key)
            .where(flow_queued, tuple_(c.queue, c.flow_key) < tuple_(keys.c.queue, keys.c.flow_key))
            .order_by(c.queue.desc(), c.flow_key.desc()).limit(_ONE).lateral("nxt"))
    keys = keys.union_all(select(step.c.queue, step.c.flow_key)
                          .select_from(keys.join(step, true())))

    # Each key offers its share of the claim (at least one job): with k keys, the
    # first ceil(limit / k) jobs of each.  A claim left short (a key with fewer
    # jobs, or over its limit) is followed by another (see Producer.run).
    nkeys = (select(func.greatest(func.count(), _ONE))
             .where(keys.c.queue == func.any(bindparam("queues", type_=ARRAY(Text))))
             .scalar_subquery())
    share = (limit + nkeys - _ONE).self_group().op("/", return_type=Integer)(nkeys)  # ceil
    order = (c.priority.desc(), c.run_at, c.id)
    # the head of each key, its rows locked (SKIP LOCKED: claims without the flow
    # lock, of jobs without limits, take disjoint rows), then numbered
    locked_head = (
        select(c.id, c.flow_key, c.priority, c.run_at, c.concurrency_key, c.concurrency_limit,
               c.rate_key, c.rate_limit, c.rate_period)
        .where(flow_queued, c.queue == keys.c.queue, c.flow_key == keys.c.flow_key,
               c.entrypoint == func.any(bindparam("entrypoints", type_=ARRAY(Text))),
               c.run_at <= at,
               # on the key, not the row: a one-time filter per key (on the row, its
               # selectivity estimate, 1 - 1/distinct queues, is 0 with one queue:
               # the planner then expects one row and sorts the whole key)
               not_paused(tables, keys.c.queue),
               *(() if limited else (c.concurrency_key.is_(None), c.rate_key.is_(None))))
        .order_by(*order)
        .limit(share)
        .with_for_update(skip_locked=True)
        .correlate(keys)
        .subquery("locked_head")
    )
    h = locked_head.c
    head = select(
        locked_head,
        func.row_number().over(order_by=(h.priority.desc(), h.run_at, h.id)).label("turn"),
    ).lateral("head")
    before = jobs.alias("before")
    last = (select(func.max(before.c.started_at).label("last_claim"))
            .where(before.c.flow_key == keys.c.flow_key).lateral("last"))
    cand = (
        select(head, last.c.last_claim)
        .select_from(keys.join(last, true()).join(head, true()))
        .where(keys.c.queue == func.any(bindparam("queues", type_=ARRAY(Text))),
               not_paused(tables, keys.c.queue))
        .cte("cand")
    )
    turn_order = (cand.c.priority.desc(), cand.c.turn, cand.c.last_claim.asc().nulls_first(),
                  cand.c.run_at, cand.c.id)
    claim_values = {
        "status": literal_column(f"'{RUNNING}'"),
        "attempts": jobs.c.attempts + 1,
        "started_at": at,
        "heartbeat_at": at,
        "worker_id": bindparam("worker_id", type_=Text),
    }
    if not limited:  # fairness keys only: the first ``limit`` in turn order
        first = select(cand.c.id).order_by(*turn_order).limit(limit)
        return (
            update(jobs)
            .where(jobs.c.id == func.any(func.array(first.scalar_subquery())),
                   status_is(jobs.c.status, QUEUED))
            .values(**claim_values)
            .returning(*(jobs.c[name] for name in CLAIMED_COLUMNS))
        )
    ranked = select(
        cand,
        func.row_number().over(order_by=turn_order).label("pos"),
        func.row_number().over(partition_by=cand.c.concurrency_key,
                               order_by=turn_order).label("crank"),
        func.row_number().over(partition_by=cand.c.rate_key, order_by=turn_order).label("rrank"),
    ).cte("ranked")
    running = jobs.alias("running")
    busy = (
        select(running.c.concurrency_key, func.count().label("n"))
        .where(status_is(running.c.status, RUNNING), running.c.concurrency_key.isnot(None),
               running.c.concurrency_key.in_(
                   select(cand.c.concurrency_key).where(cand.c.concurrency_key.isnot(None))))
        .group_by(running.c.concurrency_key)
        .cte("busy")
    )
    rates = (select(cand.c.rate_key, cand.c.rate_period).where(cand.c.rate_key.isnot(None))
             .distinct().cte("rates"))
    # the fixed window of each rate key (aligned to the epoch) and the jobs started
    # in it so far (pgq_rates keeps one row per key: its last window and count)
    counts = tables.rates
    window = func.to_timestamp(cast(
        func.floor(extract("epoch", at) / rates.c.rate_period) * rates.c.rate_period, Double))
    recent = select(
        rates.c.rate_key,
        window.label("window_start"),
        func.coalesce(
            select(counts.c.count).where(counts.c.key == rates.c.rate_key,
                                         counts.c.window_start == window).scalar_subquery(),
            _ZERO).label("n"),
    ).cte("recent")
    taken = (
        select(ranked.c.id)
        .select_from(ranked.outerjoin(busy, busy.c.concurrency_key == ranked.c.concurrency_key)
                     .outerjoin(recent, recent.c.rate_key == ranked.c.rate_key))
        .where(
            or_(ranked.c.concurrency_key.is_(None),
                ranked.c.crank <= ranked.c.concurrency_limit - func.coalesce(busy.c.n, _ZERO)),
            or_(ranked.c.rate_key.is_(None),
                ranked.c.rrank <= ranked.c.rate_limit - func.coalesce(recent.c.n, _ZERO)),
        )
        .order_by(ranked.c.pos)
        .limit(limit)
    )
    claimed = (
        update(jobs)
        .where(jobs.c.id == func.any(func.array(taken.scalar_subquery())),
               status_is(jobs.c.status, QUEUED))
        .values(**claim_values)
        .returning(*(jobs.c[name] for name in CLAIMED_COLUMNS), jobs.c.rate_key)
        .cte("claimed")
    )
    # count what this claim started into each rate key's window
    new = (
        select(claimed.c.rate_key, recent.c.window_start, func.count())
        .select_from(claimed.join(recent, recent.c.rate_key == claimed.c.rate_key))
        .group_by(claimed.c.rate_key, recent.c.window_start)
    )
    upsert = insert(counts).from_select(["key", "window_start", "count"], new)
    counted = upsert.on_conflict_do_update(
        index_elements=[counts.c.key],
        set_={"window_start": upsert.excluded.window_start,
              "count": case((counts.c.window_start == upsert.excluded.window_start,
                             counts.c.count + upsert.excluded["count"]),
                            else_=upsert.excluded["count"])},
    ).cte("counted")
    return select(*(claimed.c[name] for name in CLAIMED_COLUMNS)).add_cte(counted)


def claim_flow_and_acknowledge(tables: Tables, *, succeeded_only: bool,
                               limited: bool = True) -> Any:
    """:func:`claim_flow` plus the acknowledgement of earlier jobs in one statement
    (their freed slots count from the next claim on: the statement's snapshot
    still sees them running)."""
    acknowledge = finish_succeeded(tables) if succeeded_only else finish(tables)
    return claim_flow(tables, limited=limited).add_cte(acknowledge.cte("acked"))
