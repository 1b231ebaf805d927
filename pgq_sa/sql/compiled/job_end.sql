-- job_end: written by python -m pgq_sa.sql.snapshot (do not edit)
-- $1 job_id
SELECT pgq_jobs.status, pgq_jobs.result, pgq_jobs.last_error 
FROM pgq_jobs 
WHERE pgq_jobs.id = $1::BIGINT
