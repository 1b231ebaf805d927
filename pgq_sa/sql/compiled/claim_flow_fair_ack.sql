-- claim_flow_fair_ack: written by python -m pgq_sa.sql.snapshot (do not edit)
-- $1 attempts_1 (constant 1)
-- $2 now
-- $3 worker_id
-- $4 attempts_2 (constant 1)
-- $5 ids
-- $6 attempts
-- $7 statuses
-- $8 run_ats
-- $9 messages
-- $10 errors
-- $11 uncount
-- $12 results
-- $13 entrypoints
-- $14 limit
-- $15 queues
WITH RECURSIVE acked AS 
(UPDATE pgq_jobs SET status=CASE WHEN (done.status = 'queued' AND pgq_jobs.cancel_requested_at IS NOT NULL) THEN 'cancelled' ELSE done.status END, run_at=CASE WHEN (done.status = 'queued' AND pgq_jobs.cancel_requested_at IS NULL) THEN coalesce(done.run_at, pgq_jobs.run_at) ELSE pgq_jobs.run_at END, attempts=CASE WHEN done.uncount THEN pgq_jobs.attempts - $4::INTEGER ELSE pgq_jobs.attempts END, finished_at=CASE WHEN (done.status = 'queued' AND pgq_jobs.cancel_requested_at IS NULL) THEN NULL ELSE coalesce($2::TIMESTAMP WITH TIME ZONE, now()) END, heartbeat_at=CASE WHEN (done.status = 'queued' AND pgq_jobs.cancel_requested_at IS NULL) THEN NULL ELSE pgq_jobs.heartbeat_at END, worker_id=CASE WHEN (done.status = 'queued' AND pgq_jobs.cancel_requested_at IS NULL) THEN NULL ELSE pgq_jobs.worker_id END, last_error=coalesce(done.message, pgq_jobs.last_error), errors=CASE WHEN (done.error IS NULL) THEN pgq_jobs.errors ELSE pgq_jobs.errors || jsonb_build_array(CAST(done.error AS JSONB)) END, result=CAST(done.result AS JSONB) FROM unnest($5::BIGINT[], $6::INTEGER[], $7::TEXT[], $8::TIMESTAMP WITH TIME ZONE[], $9::TEXT[], $10::TEXT[], $11::BOOLEAN[], $12::TEXT[]) AS done(id, attempt, status, run_at, message, error, uncount, result) WHERE pgq_jobs.id = done.id AND pgq_jobs.attempts = done.attempt AND pgq_jobs.status = (SELECT 'running') RETURNING pgq_jobs.id, CASE WHEN (pgq_jobs.awaited AND NOT (done.status = 'queued' AND pgq_jobs.cancel_requested_at IS NULL)) THEN pg_notify('pgq_sa_done', CAST(pgq_jobs.id AS TEXT)) END AS notified), 
keys(queue, flow_key) AS 
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
WHERE pgq_jobs.status = 'queued' AND pgq_jobs.flow_key IS NOT NULL AND pgq_jobs.queue = keys.queue AND pgq_jobs.flow_key = keys.flow_key AND pgq_jobs.entrypoint = any($13::TEXT[]) AND pgq_jobs.run_at <= coalesce($2::TIMESTAMP WITH TIME ZONE, statement_timestamp()) AND keys.queue != ALL (array((SELECT pgq_queues.name 
FROM pgq_queues 
WHERE pgq_queues.paused))) AND pgq_jobs.concurrency_key IS NULL AND pgq_jobs.rate_key IS NULL ORDER BY pgq_jobs.priority DESC, pgq_jobs.run_at, pgq_jobs.id 
 LIMIT (($14::INTEGER + (SELECT greatest(count(*), 1) AS greatest_1 
FROM keys 
WHERE keys.queue = any($15::TEXT[]))) - 1) / (SELECT greatest(count(*), 1) AS greatest_1 
FROM keys 
WHERE keys.queue = any($15::TEXT[])) FOR UPDATE SKIP LOCKED) AS locked_head) AS head ON true 
WHERE keys.queue = any($15::TEXT[]) AND keys.queue != ALL (array((SELECT pgq_queues.name 
FROM pgq_queues 
WHERE pgq_queues.paused))))
 UPDATE pgq_jobs SET status='running', attempts=(pgq_jobs.attempts + $1::INTEGER), started_at=coalesce($2::TIMESTAMP WITH TIME ZONE, statement_timestamp()), heartbeat_at=coalesce($2::TIMESTAMP WITH TIME ZONE, statement_timestamp()), worker_id=$3::VARCHAR WHERE pgq_jobs.id = any(array((SELECT cand.id 
FROM cand ORDER BY cand.priority DESC, cand.turn, cand.last_claim ASC NULLS FIRST, cand.run_at, cand.id 
 LIMIT $14::INTEGER))) AND pgq_jobs.status = 'queued' RETURNING pgq_jobs.id, pgq_jobs.queue, pgq_jobs.entrypoint, pgq_jobs.payload, pgq_jobs.priority, pgq_jobs.attempts, pgq_jobs.max_attempts, pgq_jobs.created_at, pgq_jobs.run_at, pgq_jobs.started_at, pgq_jobs.trace_context
