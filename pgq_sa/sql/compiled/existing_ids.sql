-- existing_ids: written by python -m pgq_sa.sql.snapshot (do not edit)
-- $1 ids
SELECT pgq_jobs.id 
FROM pgq_jobs 
WHERE pgq_jobs.id = any($1::BIGINT[])
