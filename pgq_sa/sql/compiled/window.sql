-- window: written by python -m pgq_sa.sql.snapshot (do not edit)
-- $1 minutes_from
-- $2 minutes_to
-- $3 since
-- $4 until
-- $5 coalesce_1 (constant 0)
-- $6 since_short
-- $7 coalesce_2 (constant 0)
SELECT pgq_stats.queue, pgq_stats.entrypoint, pgq_stats.status, coalesce(sum(pgq_stats.count) FILTER (WHERE pgq_stats.span = 60 AND pgq_stats.bucket >= $1::TIMESTAMP WITH TIME ZONE AND pgq_stats.bucket < $2::TIMESTAMP WITH TIME ZONE OR pgq_stats.span = 1 AND (pgq_stats.bucket >= $3::TIMESTAMP WITH TIME ZONE AND pgq_stats.bucket < $1::TIMESTAMP WITH TIME ZONE OR pgq_stats.bucket >= $2::TIMESTAMP WITH TIME ZONE AND pgq_stats.bucket < $4::TIMESTAMP WITH TIME ZONE)), $5::INTEGER) AS n, coalesce(sum(pgq_stats.count) FILTER (WHERE pgq_stats.span = 1 AND pgq_stats.bucket >= $6::TIMESTAMP WITH TIME ZONE AND pgq_stats.bucket < $4::TIMESTAMP WITH TIME ZONE), $7::INTEGER) AS n_short 
FROM pgq_stats 
WHERE pgq_stats.span = 60 AND pgq_stats.bucket >= $1::TIMESTAMP WITH TIME ZONE AND pgq_stats.bucket < $2::TIMESTAMP WITH TIME ZONE OR pgq_stats.span = 1 AND (pgq_stats.bucket >= $3::TIMESTAMP WITH TIME ZONE AND pgq_stats.bucket < $1::TIMESTAMP WITH TIME ZONE OR pgq_stats.bucket >= $2::TIMESTAMP WITH TIME ZONE AND pgq_stats.bucket < $4::TIMESTAMP WITH TIME ZONE) OR pgq_stats.span = 1 AND pgq_stats.bucket >= $6::TIMESTAMP WITH TIME ZONE AND pgq_stats.bucket < $4::TIMESTAMP WITH TIME ZONE GROUP BY pgq_stats.queue, pgq_stats.entrypoint, pgq_stats.status
