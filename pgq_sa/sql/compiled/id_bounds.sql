-- id_bounds: written by python -m pgq_sa.sql.snapshot (do not edit)
SELECT min(pgq_jobs.id) AS low, max(pgq_jobs.id) AS high 
FROM pgq_jobs
