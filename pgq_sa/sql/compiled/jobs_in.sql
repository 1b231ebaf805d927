-- jobs_in: written by python -m pgq_sa.sql.snapshot (do not edit)
SELECT pgq_jobs.id, pgq_jobs.queue, pgq_jobs.entrypoint, pgq_jobs.payload, pgq_jobs.status, pgq_jobs.priority, pgq_jobs.run_at, pgq_jobs.attempts, pgq_jobs.max_attempts, pgq_jobs.created_at, pgq_jobs.started_at, pgq_jobs.finished_at, pgq_jobs.heartbeat_at, pgq_jobs.worker_id, pgq_jobs.last_error, pgq_jobs.errors, pgq_jobs.cancel_requested_at, pgq_jobs.trace_context 
FROM pgq_jobs 
WHERE pgq_jobs.status IN ('queued') ORDER BY pgq_jobs.id
