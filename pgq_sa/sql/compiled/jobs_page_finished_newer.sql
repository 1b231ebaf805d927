-- jobs_page_finished_newer: written by python -m pgq_sa.sql.snapshot (do not edit)
-- $1 left_1 (constant 241)
-- $2 left_2 (constant 161)
-- $3 after_at
-- $4 after_id
-- $5 coalesce_1 (constant 0)
-- $6 scan
-- $7 limit
SELECT pgq_jobs.id, pgq_jobs.queue, pgq_jobs.entrypoint, pgq_jobs.status, pgq_jobs.priority, pgq_jobs.attempts, pgq_jobs.max_attempts, pgq_jobs.created_at, pgq_jobs.run_at, pgq_jobs.started_at, pgq_jobs.finished_at, pgq_jobs.worker_id, left(pgq_jobs.last_error, $1::INTEGER) AS last_error, left(CAST(pgq_jobs.payload AS TEXT), $2::INTEGER) AS payload, pgq_jobs.cancel_requested_at 
FROM pgq_jobs 
WHERE pgq_jobs.id IN (SELECT scan.id 
FROM (SELECT pgq_jobs.id AS id, pgq_jobs.status AS status, pgq_jobs.queue AS queue, pgq_jobs.entrypoint AS entrypoint, pgq_jobs.created_at AS created_at, pgq_jobs.finished_at AS finished_at 
FROM pgq_jobs 
WHERE pgq_jobs.status IN ('succeeded', 'failed', 'cancelled') AND pgq_jobs.finished_at >= coalesce($3::TIMESTAMP WITH TIME ZONE, CAST('-infinity' AS TIMESTAMP WITH TIME ZONE)) AND (pgq_jobs.finished_at > $3::TIMESTAMP WITH TIME ZONE OR pgq_jobs.id > coalesce($4::BIGINT, $5::INTEGER)) ORDER BY pgq_jobs.finished_at ASC, pgq_jobs.id ASC 
 LIMIT $6::INTEGER) AS scan 
WHERE scan.status = 'failed' ORDER BY scan.finished_at ASC, scan.id ASC 
 LIMIT $7::INTEGER) ORDER BY pgq_jobs.finished_at ASC, pgq_jobs.id ASC
