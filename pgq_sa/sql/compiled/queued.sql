-- queued: written by python -m pgq_sa.sql.snapshot (do not edit)
-- $1 now
SELECT pgq_jobs.queue, pgq_jobs.entrypoint, count(*) FILTER (WHERE pgq_jobs.run_at <= coalesce($1::TIMESTAMP WITH TIME ZONE, now())) AS ready, count(*) FILTER (WHERE pgq_jobs.run_at > coalesce($1::TIMESTAMP WITH TIME ZONE, now())) AS scheduled, min(pgq_jobs.run_at) FILTER (WHERE pgq_jobs.run_at <= coalesce($1::TIMESTAMP WITH TIME ZONE, now())) AS oldest_ready 
FROM pgq_jobs 
WHERE pgq_jobs.status = 'queued' GROUP BY pgq_jobs.queue, pgq_jobs.entrypoint
