-- cancel_queued: written by python -m pgq_sa.sql.snapshot (do not edit)
-- $1 now
-- $2 stats_shard (constant 0)
-- $3 ids
WITH can AS 
(UPDATE pgq_jobs SET status='cancelled', finished_at=coalesce($1::TIMESTAMP WITH TIME ZONE, now()), cancel_requested_at=coalesce($1::TIMESTAMP WITH TIME ZONE, now()) WHERE pgq_jobs.id = any($3::BIGINT[]) AND pgq_jobs.status IN ('queued', 'waiting') RETURNING pgq_jobs.id, pgq_jobs.queue, pgq_jobs.entrypoint), 
obs AS 
(SELECT can.queue AS queue, can.entrypoint AS entrypoint, 'cancelled' AS status, CAST(NULL AS TEXT) AS message 
FROM can), 
recorded AS 
(INSERT INTO pgq_stats (span, bucket, queue, entrypoint, status, shard, count, last_error) SELECT spans.span AS span, to_timestamp(floor(CAST(EXTRACT(epoch FROM coalesce($1::TIMESTAMP WITH TIME ZONE, now())) AS DOUBLE PRECISION) / CAST(CAST(spans.span AS DOUBLE PRECISION) AS DOUBLE PRECISION)) * CAST(spans.span AS DOUBLE PRECISION)) AS to_timestamp_1, obs.queue AS queue, obs.entrypoint AS entrypoint, obs.status AS status, $2::SMALLINT AS anon_1, count(*) AS count_1, max(obs.message) AS max_1 
FROM obs JOIN (VALUES (1), (60)) AS spans (span) ON true GROUP BY spans.span, obs.queue, obs.entrypoint, obs.status ORDER BY spans.span, obs.queue, obs.entrypoint, obs.status ON CONFLICT (span, bucket, queue, entrypoint, status, shard) DO UPDATE SET count = (pgq_stats.count + excluded.count), last_error = coalesce(excluded.last_error, pgq_stats.last_error))
 SELECT can.id 
FROM can
