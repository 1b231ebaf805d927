-- counts_per_second: written by python -m pgq_sa.sql.snapshot (do not edit)
-- $1 since
-- $2 slot_seconds
-- $3 until
SELECT pgq_stats.queue, pgq_stats.status, CAST(floor(CAST(EXTRACT(epoch FROM pgq_stats.bucket - $1::TIMESTAMP WITH TIME ZONE) AS DOUBLE PRECISION) / CAST($2::FLOAT AS DOUBLE PRECISION)) AS INTEGER) AS slot, sum(pgq_stats.count) AS n 
FROM pgq_stats 
WHERE pgq_stats.span = 1 AND pgq_stats.bucket >= $1::TIMESTAMP WITH TIME ZONE AND pgq_stats.bucket < $3::TIMESTAMP WITH TIME ZONE GROUP BY pgq_stats.queue, pgq_stats.status, CAST(floor(CAST(EXTRACT(epoch FROM pgq_stats.bucket - $1::TIMESTAMP WITH TIME ZONE) AS DOUBLE PRECISION) / CAST($2::FLOAT AS DOUBLE PRECISION)) AS INTEGER)
