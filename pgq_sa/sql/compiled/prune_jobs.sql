-- prune_jobs: written by python -m pgq_sa.sql.snapshot (do not edit)
-- $1 before
-- $2 limit
WITH "old" AS 
(SELECT pgq_jobs.id AS id 
FROM pgq_jobs 
WHERE pgq_jobs.status IN ('succeeded', 'failed', 'cancelled') AND pgq_jobs.finished_at < $1::TIMESTAMP WITH TIME ZONE 
 LIMIT $2::INTEGER FOR UPDATE SKIP LOCKED), 
pruned AS 
(DELETE FROM pgq_jobs USING "old" WHERE pgq_jobs.id = "old".id RETURNING pgq_jobs.id, pgq_jobs.has_dependents, pgq_jobs.deps_policy), 
pruned_edges AS 
(DELETE FROM pgq_job_deps WHERE pgq_job_deps.depends_on IN (SELECT pruned.id 
FROM pruned 
WHERE pruned.has_dependents) OR pgq_job_deps.job_id IN (SELECT pruned.id 
FROM pruned 
WHERE pruned.deps_policy IS NOT NULL))
 SELECT pruned.id 
FROM pruned
