-- timings: written by python -m pgq_sa.sql.snapshot (do not edit)
-- $1 since
-- $2 until
-- $3 sample
WITH recent AS 
(SELECT pgq_jobs.queue AS queue, pgq_jobs.entrypoint AS entrypoint, CAST(EXTRACT(epoch FROM pgq_jobs.started_at - greatest(pgq_jobs.created_at, pgq_jobs.run_at)) AS DOUBLE PRECISION) AS latency, CAST(EXTRACT(epoch FROM pgq_jobs.finished_at - pgq_jobs.started_at) AS DOUBLE PRECISION) AS runtime 
FROM pgq_jobs 
WHERE pgq_jobs.status IN ('succeeded', 'failed', 'cancelled') AND pgq_jobs.finished_at >= $1::TIMESTAMP WITH TIME ZONE AND pgq_jobs.finished_at < $2::TIMESTAMP WITH TIME ZONE AND pgq_jobs.started_at IS NOT NULL ORDER BY pgq_jobs.finished_at DESC 
 LIMIT $3::INTEGER)
 SELECT recent.queue, recent.entrypoint, grouping(recent.queue, recent.entrypoint) AS level, count(*) AS n, percentile_disc(ARRAY[0.5, 0.95]) WITHIN GROUP (ORDER BY recent.latency) AS latency, percentile_disc(ARRAY[0.5, 0.95]) WITHIN GROUP (ORDER BY recent.runtime) AS runtime 
FROM recent GROUP BY GROUPING SETS((recent.queue, recent.entrypoint), (recent.queue), ())
