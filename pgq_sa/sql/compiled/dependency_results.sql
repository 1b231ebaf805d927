-- dependency_results: written by python -m pgq_sa.sql.snapshot (do not edit)
-- $1 job_id
SELECT pgq_jobs.id, pgq_jobs.entrypoint, pgq_jobs.status, pgq_jobs.result 
FROM pgq_job_deps JOIN pgq_jobs ON pgq_jobs.id = pgq_job_deps.depends_on 
WHERE pgq_job_deps.job_id = $1::BIGINT ORDER BY pgq_jobs.id
