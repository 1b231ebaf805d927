-- jobs_page: written by python -m pgq_sa.sql.snapshot (do not edit)
-- $1 left_1 (constant 241)
-- $2 left_2 (constant 161)
-- $3 before_id
-- $4 limit
SELECT pgq_jobs.id, pgq_jobs.queue, pgq_jobs.entrypoint, pgq_jobs.status, pgq_jobs.priority, pgq_jobs.attempts, pgq_jobs.max_attempts, pgq_jobs.created_at, pgq_jobs.run_at, pgq_jobs.started_at, pgq_jobs.finished_at, pgq_jobs.worker_id, left(pgq_jobs.last_error, $1::INTEGER) AS last_error, left(CAST(pgq_jobs.payload AS TEXT), $2::INTEGER) AS payload, pgq_jobs.cancel_requested_at 
FROM pgq_jobs 
WHERE pgq_jobs.id < coalesce($3::BIGINT, 9223372036854775807) ORDER BY pgq_jobs.id DESC 
 LIMIT $4::INTEGER
