-- prune_stats: written by python -m pgq_sa.sql.snapshot (do not edit)
-- $1 span
-- $2 before
-- $3 limit
WITH old_stats AS 
(SELECT pgq_stats.span AS span, pgq_stats.bucket AS bucket, pgq_stats.queue AS queue, pgq_stats.entrypoint AS entrypoint, pgq_stats.status AS status 
FROM pgq_stats 
WHERE pgq_stats.span = $1::INTEGER AND pgq_stats.bucket < $2::TIMESTAMP WITH TIME ZONE 
 LIMIT $3::INTEGER FOR UPDATE SKIP LOCKED)
 DELETE FROM pgq_stats USING old_stats WHERE (pgq_stats.span, pgq_stats.bucket, pgq_stats.queue, pgq_stats.entrypoint, pgq_stats.status) = (old_stats.span, old_stats.bucket, old_stats.queue, old_stats.entrypoint, old_stats.status) RETURNING pgq_stats.span
