-- retryable_ids: written by python -m pgq_sa.sql.snapshot (do not edit)
-- $1 queue
-- $2 limit
SELECT pgq_jobs.id 
FROM pgq_jobs 
WHERE pgq_jobs.status IN ('failed', 'cancelled') AND pgq_jobs.queue = $1::VARCHAR ORDER BY pgq_jobs.finished_at DESC 
 LIMIT $2::INTEGER
