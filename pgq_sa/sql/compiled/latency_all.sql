-- latency_all: written by python -m pgq_sa.sql.snapshot (do not edit)
-- $1 starts
-- $2 ends
-- $3 per_slot
SELECT slots.slot, sample.queue, grouping(slots.slot, sample.queue) AS level, count(*) AS n, percentile_disc(ARRAY[0.5, 0.95]) WITHIN GROUP (ORDER BY sample.latency) AS latency 
FROM unnest(CAST($1::TIMESTAMP WITH TIME ZONE[] AS TIMESTAMP WITH TIME ZONE[]), CAST($2::TIMESTAMP WITH TIME ZONE[] AS TIMESTAMP WITH TIME ZONE[])) WITH ORDINALITY AS slots(lo, hi, slot) JOIN LATERAL (SELECT pgq_jobs.queue AS queue, CAST(EXTRACT(epoch FROM pgq_jobs.started_at - greatest(pgq_jobs.created_at, pgq_jobs.run_at)) AS DOUBLE PRECISION) AS latency 
FROM pgq_jobs 
WHERE pgq_jobs.status IN ('succeeded', 'failed', 'cancelled') AND pgq_jobs.finished_at >= slots.lo AND pgq_jobs.finished_at < slots.hi AND pgq_jobs.started_at IS NOT NULL ORDER BY pgq_jobs.finished_at DESC 
 LIMIT $3::INTEGER) AS sample ON true GROUP BY GROUPING SETS((slots.slot, sample.queue), (slots.slot), (sample.queue), ())
