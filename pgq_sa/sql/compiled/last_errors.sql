-- last_errors: written by python -m pgq_sa.sql.snapshot (do not edit)
-- $1 since
SELECT DISTINCT ON (pgq_stats.queue, pgq_stats.entrypoint) pgq_stats.queue, pgq_stats.entrypoint, pgq_stats.last_error, pgq_stats.bucket 
FROM pgq_stats 
WHERE pgq_stats.span = 1 AND pgq_stats.bucket >= $1::TIMESTAMP WITH TIME ZONE AND pgq_stats.last_error IS NOT NULL ORDER BY pgq_stats.queue, pgq_stats.entrypoint, pgq_stats.bucket DESC
