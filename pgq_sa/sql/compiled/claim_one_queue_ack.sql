-- claim_one_queue_ack: written by python -m pgq_sa.sql.snapshot (do not edit)
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
-- $13 queue
-- $14 entrypoints
-- $15 limit
WITH acked AS 
(UPDATE pgq_jobs SET status=CASE WHEN (done.status = 'queued' AND pgq_jobs.cancel_requested_at IS NOT NULL) THEN 'cancelled' ELSE done.status END, run_at=CASE WHEN (done.status = 'queued' AND pgq_jobs.cancel_requested_at IS NULL) THEN coalesce(done.run_at, pgq_jobs.run_at) ELSE pgq_jobs.run_at END, attempts=CASE WHEN done.uncount THEN pgq_jobs.attempts - $4::INTEGER ELSE pgq_jobs.attempts END, finished_at=CASE WHEN (done.status = 'queued' AND pgq_jobs.cancel_requested_at IS NULL) THEN NULL ELSE coalesce($2::TIMESTAMP WITH TIME ZONE, now()) END, heartbeat_at=CASE WHEN (done.status = 'queued' AND pgq_jobs.cancel_requested_at IS NULL) THEN NULL ELSE pgq_jobs.heartbeat_at END, worker_id=CASE WHEN (done.status = 'queued' AND pgq_jobs.cancel_requested_at IS NULL) THEN NULL ELSE pgq_jobs.worker_id END, last_error=coalesce(done.message, pgq_jobs.last_error), errors=CASE WHEN (done.error IS NULL) THEN pgq_jobs.errors ELSE pgq_jobs.errors || jsonb_build_array(CAST(done.error AS JSONB)) END, result=CAST(done.result AS JSONB) FROM unnest($5::BIGINT[], $6::INTEGER[], $7::TEXT[], $8::TIMESTAMP WITH TIME ZONE[], $9::TEXT[], $10::TEXT[], $11::BOOLEAN[], $12::TEXT[]) AS done(id, attempt, status, run_at, message, error, uncount, result) WHERE pgq_jobs.id = done.id AND pgq_jobs.attempts = done.attempt AND pgq_jobs.status = (SELECT 'running') RETURNING pgq_jobs.id, CASE WHEN (pgq_jobs.awaited AND NOT (done.status = 'queued' AND pgq_jobs.cancel_requested_at IS NULL)) THEN pg_notify('pgq_sa_done', CAST(pgq_jobs.id AS TEXT)) END AS notified), 
locked AS 
(SELECT pgq_jobs.id AS id, pgq_jobs.priority AS priority, pgq_jobs.run_at AS run_at 
FROM pgq_jobs 
WHERE pgq_jobs.status = 'queued' AND pgq_jobs.flow_key IS NULL AND pgq_jobs.queue = $13::VARCHAR AND pgq_jobs.entrypoint = any($14::TEXT[]) AND pgq_jobs.run_at <= coalesce($2::TIMESTAMP WITH TIME ZONE, now()) AND $13::VARCHAR != ALL (array((SELECT pgq_queues.name 
FROM pgq_queues 
WHERE pgq_queues.paused))) ORDER BY pgq_jobs.queue, pgq_jobs.priority DESC, pgq_jobs.run_at, pgq_jobs.id 
 LIMIT $15::INTEGER FOR UPDATE SKIP LOCKED)
 UPDATE pgq_jobs SET status='running', attempts=(pgq_jobs.attempts + $1::INTEGER), started_at=coalesce($2::TIMESTAMP WITH TIME ZONE, now()), heartbeat_at=coalesce($2::TIMESTAMP WITH TIME ZONE, now()), worker_id=$3::VARCHAR WHERE pgq_jobs.id = any(array((SELECT locked.id 
FROM locked))) RETURNING pgq_jobs.id, pgq_jobs.queue, pgq_jobs.entrypoint, pgq_jobs.payload, pgq_jobs.priority, pgq_jobs.attempts, pgq_jobs.max_attempts, pgq_jobs.created_at, pgq_jobs.run_at, pgq_jobs.started_at, pgq_jobs.trace_context
