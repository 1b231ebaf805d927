-- list_jobs_filtered: written by python -m pgq_sa.sql.snapshot (do not edit)
-- $1 queue
-- $2 entrypoint
-- $3 limit
SELECT pgq_jobs.id, pgq_jobs.queue, pgq_jobs.entrypoint, pgq_jobs.status, pgq_jobs.priority, pgq_jobs.attempts, pgq_jobs.max_attempts, pgq_jobs.created_at, pgq_jobs.run_at, pgq_jobs.started_at, pgq_jobs.finished_at, pgq_jobs.worker_id, pgq_jobs.last_error, pgq_jobs.progress, pgq_jobs.progress_message 
FROM pgq_jobs 
WHERE pgq_jobs.status IN ('queued', 'running') AND pgq_jobs.queue = $1::VARCHAR AND pgq_jobs.entrypoint = $2::VARCHAR ORDER BY pgq_jobs.id DESC 
 LIMIT $3::INTEGER
