-- pending: written by python -m pgq_sa.sql.snapshot (do not edit)
-- $1 queues
-- $2 entrypoints
-- $3 now
SELECT count(*) AS count_1 
FROM pgq_jobs 
WHERE pgq_jobs.queue = any($1::TEXT[]) AND pgq_jobs.entrypoint = any($2::TEXT[]) AND (pgq_jobs.status = 'running' OR pgq_jobs.status = 'queued' AND pgq_jobs.run_at <= coalesce($3::TIMESTAMP WITH TIME ZONE, now()))
