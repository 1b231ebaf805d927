-- flow_keys: written by python -m pgq_sa.sql.snapshot (do not edit)
-- $1 now
-- $2 limit
SELECT pgq_jobs.queue, pgq_jobs.flow_key, count(*) FILTER (WHERE pgq_jobs.status = 'queued' AND pgq_jobs.run_at <= coalesce($1::TIMESTAMP WITH TIME ZONE, now())) AS ready, count(*) FILTER (WHERE pgq_jobs.status = 'running') AS running, max(pgq_jobs.concurrency_limit) AS concurrency_limit, max(pgq_jobs.rate_limit) AS rate_limit, max(pgq_jobs.rate_period) AS rate_period 
FROM pgq_jobs 
WHERE pgq_jobs.status IN ('queued', 'running') AND pgq_jobs.flow_key IS NOT NULL GROUP BY pgq_jobs.queue, pgq_jobs.flow_key ORDER BY ready DESC, pgq_jobs.queue, pgq_jobs.flow_key 
 LIMIT $2::INTEGER
