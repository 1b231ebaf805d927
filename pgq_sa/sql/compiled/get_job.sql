-- get_job: written by python -m pgq_sa.sql.snapshot (do not edit)
-- $1 id
SELECT pgq_jobs.id, pgq_jobs.queue, pgq_jobs.entrypoint, pgq_jobs.payload, pgq_jobs.status, pgq_jobs.priority, pgq_jobs.run_at, pgq_jobs.attempts, pgq_jobs.max_attempts, pgq_jobs.created_at, pgq_jobs.started_at, pgq_jobs.finished_at, pgq_jobs.heartbeat_at, pgq_jobs.worker_id, pgq_jobs.last_error, pgq_jobs.errors, pgq_jobs.cancel_requested_at, pgq_jobs.unique_key, pgq_jobs.result, pgq_jobs.awaited, pgq_jobs.progress, pgq_jobs.progress_message, pgq_jobs.heartbeat_timeout, pgq_jobs.deps_left, pgq_jobs.deps_policy, pgq_jobs.has_dependents, pgq_jobs.flow_key, pgq_jobs.concurrency_key, pgq_jobs.concurrency_limit, pgq_jobs.rate_key, pgq_jobs.rate_limit, pgq_jobs.rate_period, pgq_jobs.trace_context 
FROM pgq_jobs 
WHERE pgq_jobs.id = $1::BIGINT
