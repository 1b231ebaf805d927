-- claim_one_queue: written by python -m pgq_sa.sql.snapshot (do not edit)
-- $1 attempts_1 (constant 1)
-- $2 now
-- $3 worker_id
-- $4 queue
-- $5 entrypoints
-- $6 limit
WITH locked AS 
(SELECT pgq_jobs.id AS id, pgq_jobs.priority AS priority, pgq_jobs.run_at AS run_at 
FROM pgq_jobs 
WHERE pgq_jobs.status = 'queued' AND pgq_jobs.flow_key IS NULL AND pgq_jobs.queue = $4::VARCHAR AND pgq_jobs.entrypoint = any($5::TEXT[]) AND pgq_jobs.run_at <= coalesce($2::TIMESTAMP WITH TIME ZONE, now()) AND $4::VARCHAR != ALL (array((SELECT pgq_queues.name 
FROM pgq_queues 
WHERE pgq_queues.paused))) ORDER BY pgq_jobs.queue, pgq_jobs.priority DESC, pgq_jobs.run_at, pgq_jobs.id 
 LIMIT $6::INTEGER FOR UPDATE SKIP LOCKED)
 UPDATE pgq_jobs SET status='running', attempts=(pgq_jobs.attempts + $1::INTEGER), started_at=coalesce($2::TIMESTAMP WITH TIME ZONE, now()), heartbeat_at=coalesce($2::TIMESTAMP WITH TIME ZONE, now()), worker_id=$3::VARCHAR WHERE pgq_jobs.id = any(array((SELECT locked.id 
FROM locked))) RETURNING pgq_jobs.id, pgq_jobs.queue, pgq_jobs.entrypoint, pgq_jobs.payload, pgq_jobs.priority, pgq_jobs.attempts, pgq_jobs.max_attempts, pgq_jobs.created_at, pgq_jobs.run_at, pgq_jobs.started_at, pgq_jobs.trace_context
