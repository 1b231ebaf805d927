-- dependencies: written by python -m pgq_sa.sql.snapshot (do not edit)
-- $1 job_id
SELECT rel.relation, rel.id, rel.entrypoint, rel.status, rel.done 
FROM (SELECT 'waits_on' AS relation, pgq_jobs.id AS id, pgq_jobs.entrypoint AS entrypoint, pgq_jobs.status AS status, pgq_job_deps.done AS done 
FROM pgq_job_deps JOIN pgq_jobs ON pgq_jobs.id = pgq_job_deps.depends_on 
WHERE pgq_job_deps.job_id = $1::BIGINT UNION ALL SELECT 'waited_by', pgq_jobs.id AS id, pgq_jobs.entrypoint AS entrypoint, pgq_jobs.status AS status, pgq_job_deps.done AS done 
FROM pgq_job_deps JOIN pgq_jobs ON pgq_jobs.id = pgq_job_deps.job_id 
WHERE pgq_job_deps.depends_on = $1::BIGINT) AS rel ORDER BY rel.relation DESC, rel.id
