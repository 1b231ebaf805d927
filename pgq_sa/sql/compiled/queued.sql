-- queued: written by python -m pgq_sa.sql.snapshot (do not edit)
-- $1 now
SELECT q.queue, q.entrypoint, count(*) FILTER (WHERE q.run_at <= coalesce($1::TIMESTAMP WITH TIME ZONE, now())) AS ready, count(*) FILTER (WHERE q.run_at > coalesce($1::TIMESTAMP WITH TIME ZONE, now())) AS scheduled, min(q.run_at) FILTER (WHERE q.run_at <= coalesce($1::TIMESTAMP WITH TIME ZONE, now())) AS oldest_ready 
FROM (SELECT pgq_jobs.queue AS queue, pgq_jobs.entrypoint AS entrypoint, pgq_jobs.run_at AS run_at 
FROM pgq_jobs 
WHERE pgq_jobs.status = 'queued' AND pgq_jobs.flow_key IS NULL UNION ALL SELECT pgq_jobs.queue AS queue, pgq_jobs.entrypoint AS entrypoint, pgq_jobs.run_at AS run_at 
FROM pgq_jobs 
WHERE pgq_jobs.status = 'queued' AND pgq_jobs.flow_key IS NOT NULL) AS q GROUP BY q.queue, q.entrypoint
