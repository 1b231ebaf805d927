-- record_counts: written by python -m pgq_sa.sql.snapshot (do not edit)
-- $1 now
-- $2 stats_shard (constant 0)
-- $3 queues
-- $4 entrypoints
-- $5 statuses
-- $6 counts
-- $7 messages
WITH obs AS 
(SELECT agg.queue AS queue, agg.entrypoint AS entrypoint, agg.status AS status, agg.n AS n, agg.message AS message 
FROM unnest(CAST($3::TEXT[] AS TEXT[]), CAST($4::TEXT[] AS TEXT[]), CAST($5::TEXT[] AS TEXT[]), CAST($6::BIGINT[] AS BIGINT[]), CAST($7::TEXT[] AS TEXT[])) AS agg(queue, entrypoint, status, n, message)), 
recorded AS 
(INSERT INTO pgq_stats (span, bucket, queue, entrypoint, status, shard, count, last_error) SELECT spans.span AS span, to_timestamp(floor(CAST(EXTRACT(epoch FROM coalesce($1::TIMESTAMP WITH TIME ZONE, now())) AS DOUBLE PRECISION) / CAST(CAST(spans.span AS DOUBLE PRECISION) AS DOUBLE PRECISION)) * CAST(spans.span AS DOUBLE PRECISION)) AS to_timestamp_1, obs.queue AS queue, obs.entrypoint AS entrypoint, obs.status AS status, $2::SMALLINT AS anon_1, sum(obs.n) AS sum_1, max(obs.message) AS max_1 
FROM obs JOIN (VALUES (1), (60)) AS spans (span) ON true GROUP BY spans.span, obs.queue, obs.entrypoint, obs.status ORDER BY spans.span, obs.queue, obs.entrypoint, obs.status ON CONFLICT (span, bucket, queue, entrypoint, status, shard) DO UPDATE SET count = (pgq_stats.count + excluded.count), last_error = coalesce(excluded.last_error, pgq_stats.last_error))
 SELECT 1
