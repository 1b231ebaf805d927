-- job_at: written by python -m pgq_sa.sql.snapshot (do not edit)
-- $1 id
-- $2 param_1 (constant 1)
SELECT pgq_jobs.id, pgq_jobs.created_at 
FROM pgq_jobs 
WHERE pgq_jobs.id >= $1::BIGINT ORDER BY pgq_jobs.id 
 LIMIT $2::INTEGER
