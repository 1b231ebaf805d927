-- jobs_page_filtered_newer: written by python -m pgq_sa.sql.snapshot (do not edit)
-- $1 left_1 (constant 241)
-- $2 left_2 (constant 161)
-- $3 after_id
-- $4 coalesce_1 (constant 0)
-- $5 scan
-- $6 queue
-- $7 entrypoint
-- $8 created_after
-- $9 created_before
-- $10 limit
SELECT pgq_jobs.id, pgq_jobs.queue, pgq_jobs.entrypoint, pgq_jobs.status, pgq_jobs.priority, pgq_jobs.attempts, pgq_jobs.max_attempts, pgq_jobs.created_at, pgq_jobs.run_at, pgq_jobs.started_at, pgq_jobs.finished_at, pgq_jobs.worker_id, left(pgq_jobs.last_error, $1::INTEGER) AS last_error, left(CAST(pgq_jobs.payload AS TEXT), $2::INTEGER) AS payload, pgq_jobs.cancel_requested_at 
FROM pgq_jobs 
WHERE pgq_jobs.id IN (SELECT scan.id 
FROM (SELECT pgq_jobs.id AS id, pgq_jobs.status AS status, pgq_jobs.queue AS queue, pgq_jobs.entrypoint AS entrypoint, pgq_jobs.created_at AS created_at, pgq_jobs.finished_at AS finished_at 
FROM pgq_jobs 
WHERE pgq_jobs.id > coalesce($3::BIGINT, $4::INTEGER) ORDER BY pgq_jobs.id ASC 
 LIMIT $5::INTEGER) AS scan 
WHERE scan.status IN ('queued', 'running') AND scan.queue = $6::VARCHAR AND scan.entrypoint = $7::VARCHAR AND scan.created_at >= $8::TIMESTAMP WITH TIME ZONE AND scan.created_at < $9::TIMESTAMP WITH TIME ZONE ORDER BY scan.id ASC 
 LIMIT $10::INTEGER) ORDER BY pgq_jobs.id ASC
