-- running: written by python -m pgq_sa.sql.snapshot (do not edit)
SELECT pgq_jobs.queue, pgq_jobs.entrypoint, count(*) AS running 
FROM pgq_jobs 
WHERE pgq_jobs.status = 'running' GROUP BY pgq_jobs.queue, pgq_jobs.entrypoint
