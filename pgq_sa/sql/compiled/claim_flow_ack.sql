-- claim_flow_ack: written by python -m pgq_sa.sql.snapshot (do not edit)
-- $1 attempts_1 (constant 1)
-- $2 now
-- $3 worker_id
-- $4 entrypoints
-- $5 limit
-- $6 queues
-- $7 attempts_2 (constant 1)
-- $8 ids
-- $9 attempts
-- $10 statuses
-- $11 run_ats
-- $12 messages
-- $13 errors
-- $14 uncount
-- $15 results
WITH RECURSIVE keys(queue, flow_key) AS 
((SELECT pgq_jobs.queue AS queue, pgq_jobs.flow_key AS flow_key 
FROM pgq_jobs 
WHERE pgq_jobs.status = 'queued' AND pgq_jobs.flow_key IS NOT NULL ORDER BY pgq_jobs.queue DESC, pgq_jobs.flow_key DESC 
 LIMIT 1) UNION ALL SELECT nxt.queue AS queue, nxt.flow_key AS flow_key 
FROM keys JOIN LATERAL (SELECT pgq_jobs.queue AS queue, pgq_jobs.flow_key AS flow_key 
FROM pgq_jobs 
WHERE pgq_jobs.status = 'queued' AND pgq_jobs.flow_key IS NOT NULL AND (pgq_jobs.queue, pgq_jobs.flow_key) < (keys.queue, keys.flow_key) ORDER BY pgq_jobs.queue DESC, pgq_jobs.flow_key DESC 
 LIMIT 1) AS nxt ON true), 
cand AS 
(SELECT head.id AS id, head.flow_key AS flow_key, head.priority AS priority, head.run_at AS run_at, head.concurrency_key AS concurrency_key, head.concurrency_limit AS concurrency_limit, head.rate_key AS rate_key, head.rate_limit AS rate_limit, head.rate_period AS rate_period, head.turn AS turn, last.last_claim AS last_claim 
FROM keys JOIN LATERAL (SELECT max(before.started_at) AS last_claim 
FROM pgq_jobs AS before 
WHERE before.flow_key = keys.flow_key) AS last ON true JOIN LATERAL (SELECT locked_head.id AS id, locked_head.flow_key AS flow_key, locked_head.priority AS priority, locked_head.run_at AS run_at, locked_head.concurrency_key AS concurrency_key, locked_head.concurrency_limit AS concurrency_limit, locked_head.rate_key AS rate_key, locked_head.rate_limit AS rate_limit, locked_head.rate_period AS rate_period, row_number() OVER (ORDER BY locked_head.priority DESC, locked_head.run_at, locked_head.id) AS turn 
FROM (SELECT pgq_jobs.id AS id, pgq_jobs.flow_key AS flow_key, pgq_jobs.priority AS priority, pgq_jobs.run_at AS run_at, pgq_jobs.concurrency_key AS concurrency_key, pgq_jobs.concurrency_limit AS concurrency_limit, pgq_jobs.rate_key AS rate_key, pgq_jobs.rate_limit AS rate_limit, pgq_jobs.rate_period AS rate_period 
FROM pgq_jobs 
WHERE pgq_jobs.status = 'queued' AND pgq_jobs.flow_key IS NOT NULL AND pgq_jobs.queue = keys.queue AND pgq_jobs.flow_key = keys.flow_key AND pgq_jobs.entrypoint = any($4::TEXT[]) AND pgq_jobs.run_at <= coalesce($2::TIMESTAMP WITH TIME ZONE, statement_timestamp()) AND keys.queue != ALL (array((SELECT pgq_queues.name 
FROM pgq_queues 
WHERE pgq_queues.paused))) ORDER BY pgq_jobs.priority DESC, pgq_jobs.run_at, pgq_jobs.id 
 LIMIT (($5::INTEGER + (SELECT greatest(count(*), 1) AS greatest_1 
FROM keys 
WHERE keys.queue = any($6::TEXT[]))) - 1) / (SELECT greatest(count(*), 1) AS greatest_1 
FROM keys 
WHERE keys.queue = any($6::TEXT[])) FOR UPDATE SKIP LOCKED) AS locked_head) AS head ON true 
WHERE keys.queue = any($6::TEXT[]) AND keys.queue != ALL (array((SELECT pgq_queues.name 
FROM pgq_queues 
WHERE pgq_queues.paused)))), 
ranked AS 
(SELECT cand.id AS id, cand.flow_key AS flow_key, cand.priority AS priority, cand.run_at AS run_at, cand.concurrency_key AS concurrency_key, cand.concurrency_limit AS concurrency_limit, cand.rate_key AS rate_key, cand.rate_limit AS rate_limit, cand.rate_period AS rate_period, cand.turn AS turn, cand.last_claim AS last_claim, row_number() OVER (ORDER BY cand.priority DESC, cand.turn, cand.last_claim ASC NULLS FIRST, cand.run_at, cand.id) AS pos, row_number() OVER (PARTITION BY cand.concurrency_key ORDER BY cand.priority DESC, cand.turn, cand.last_claim ASC NULLS FIRST, cand.run_at, cand.id) AS crank, row_number() OVER (PARTITION BY cand.rate_key ORDER BY cand.priority DESC, cand.turn, cand.last_claim ASC NULLS FIRST, cand.run_at, cand.id) AS rrank 
FROM cand), 
busy AS 
(SELECT running.concurrency_key AS concurrency_key, count(*) AS n 
FROM pgq_jobs AS running 
WHERE running.status = 'running' AND running.concurrency_key IS NOT NULL AND running.concurrency_key IN (SELECT cand.concurrency_key 
FROM cand 
WHERE cand.concurrency_key IS NOT NULL) GROUP BY running.concurrency_key), 
rates AS 
(SELECT DISTINCT cand.rate_key AS rate_key, cand.rate_period AS rate_period 
FROM cand 
WHERE cand.rate_key IS NOT NULL), 
recent AS 
(SELECT rates.rate_key AS rate_key, to_timestamp(CAST(floor(EXTRACT(epoch FROM coalesce($2::TIMESTAMP WITH TIME ZONE, statement_timestamp())) / CAST(rates.rate_period AS NUMERIC)) * rates.rate_period AS DOUBLE PRECISION)) AS window_start, coalesce((SELECT pgq_rates.count 
FROM pgq_rates 
WHERE pgq_rates.key = rates.rate_key AND pgq_rates.window_start = to_timestamp(CAST(floor(EXTRACT(epoch FROM coalesce($2::TIMESTAMP WITH TIME ZONE, statement_timestamp())) / CAST(rates.rate_period AS NUMERIC)) * rates.rate_period AS DOUBLE PRECISION))), 0) AS n 
FROM rates), 
claimed AS 
(UPDATE pgq_jobs SET status='running', attempts=(pgq_jobs.attempts + $1::INTEGER), started_at=coalesce($2::TIMESTAMP WITH TIME ZONE, statement_timestamp()), heartbeat_at=coalesce($2::TIMESTAMP WITH TIME ZONE, statement_timestamp()), worker_id=$3::VARCHAR WHERE pgq_jobs.id = any(array((SELECT ranked.id 
FROM ranked LEFT OUTER JOIN busy ON busy.concurrency_key = ranked.concurrency_key LEFT OUTER JOIN recent ON recent.rate_key = ranked.rate_key 
WHERE (ranked.concurrency_key IS NULL OR ranked.crank <= ranked.concurrency_limit - coalesce(busy.n, 0)) AND (ranked.rate_key IS NULL OR ranked.rrank <= ranked.rate_limit - coalesce(recent.n, 0)) ORDER BY ranked.pos 
 LIMIT $5::INTEGER))) AND pgq_jobs.status = 'queued' RETURNING pgq_jobs.id, pgq_jobs.queue, pgq_jobs.entrypoint, pgq_jobs.payload, pgq_jobs.priority, pgq_jobs.attempts, pgq_jobs.max_attempts, pgq_jobs.created_at, pgq_jobs.run_at, pgq_jobs.started_at, pgq_jobs.trace_context, pgq_jobs.rate_key), 
counted AS 
(INSERT INTO pgq_rates (key, window_start, count) SELECT claimed.rate_key AS rate_key, recent.window_start AS window_start, count(*) AS count_1 
FROM claimed JOIN recent ON recent.rate_key = claimed.rate_key GROUP BY claimed.rate_key, recent.window_start ON CONFLICT (key) DO UPDATE SET window_start = excluded.window_start, count = CASE WHEN (pgq_rates.window_start = excluded.window_start) THEN pgq_rates.count + excluded.count ELSE excluded.count END), 
acked AS 
(UPDATE pgq_jobs SET status=CASE WHEN (done.status = 'queued' AND pgq_jobs.cancel_requested_at IS NOT NULL) THEN 'cancelled' ELSE done.status END, run_at=CASE WHEN (done.status = 'queued' AND pgq_jobs.cancel_requested_at IS NULL) THEN coalesce(done.run_at, pgq_jobs.run_at) ELSE pgq_jobs.run_at END, attempts=CASE WHEN done.uncount THEN pgq_jobs.attempts - $7::INTEGER ELSE pgq_jobs.attempts END, finished_at=CASE WHEN (done.status = 'queued' AND pgq_jobs.cancel_requested_at IS NULL) THEN NULL ELSE coalesce($2::TIMESTAMP WITH TIME ZONE, now()) END, heartbeat_at=CASE WHEN (done.status = 'queued' AND pgq_jobs.cancel_requested_at IS NULL) THEN NULL ELSE pgq_jobs.heartbeat_at END, worker_id=CASE WHEN (done.status = 'queued' AND pgq_jobs.cancel_requested_at IS NULL) THEN NULL ELSE pgq_jobs.worker_id END, last_error=coalesce(done.message, pgq_jobs.last_error), errors=CASE WHEN (done.error IS NULL) THEN pgq_jobs.errors ELSE pgq_jobs.errors || jsonb_build_array(CAST(done.error AS JSONB)) END, result=CAST(done.result AS JSONB) FROM unnest($8::BIGINT[], $9::INTEGER[], $10::TEXT[], $11::TIMESTAMP WITH TIME ZONE[], $12::TEXT[], $13::TEXT[], $14::BOOLEAN[], $15::TEXT[]) AS done(id, attempt, status, run_at, message, error, uncount, result) WHERE pgq_jobs.id = done.id AND pgq_jobs.attempts = done.attempt AND pgq_jobs.status = (SELECT 'running') RETURNING pgq_jobs.id, CASE WHEN (pgq_jobs.awaited AND NOT (done.status = 'queued' AND pgq_jobs.cancel_requested_at IS NULL)) THEN pg_notify('pgq_sa_done', CAST(pgq_jobs.id AS TEXT)) END AS notified)
 SELECT claimed.id, claimed.queue, claimed.entrypoint, claimed.payload, claimed.priority, claimed.attempts, claimed.max_attempts, claimed.created_at, claimed.run_at, claimed.started_at, claimed.trace_context 
FROM claimed
