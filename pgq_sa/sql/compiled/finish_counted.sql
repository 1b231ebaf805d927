-- finish_counted: written by python -m pgq_sa.sql.snapshot (do not edit)
-- $1 now
-- $2 stats_shard (constant 0)
-- $3 attempts_1 (constant 1)
-- $4 ids
-- $5 attempts
-- $6 statuses
-- $7 run_ats
-- $8 messages
-- $9 errors
-- $10 uncount
-- $11 results
WITH fin AS 
(UPDATE pgq_jobs SET status=CASE WHEN (done.status = 'queued' AND pgq_jobs.cancel_requested_at IS NOT NULL) THEN 'cancelled' ELSE done.status END, run_at=CASE WHEN (done.status = 'queued' AND pgq_jobs.cancel_requested_at IS NULL) THEN coalesce(done.run_at, pgq_jobs.run_at) ELSE pgq_jobs.run_at END, attempts=CASE WHEN done.uncount THEN pgq_jobs.attempts - $3::INTEGER ELSE pgq_jobs.attempts END, finished_at=CASE WHEN (done.status = 'queued' AND pgq_jobs.cancel_requested_at IS NULL) THEN NULL ELSE coalesce($1::TIMESTAMP WITH TIME ZONE, now()) END, heartbeat_at=CASE WHEN (done.status = 'queued' AND pgq_jobs.cancel_requested_at IS NULL) THEN NULL ELSE pgq_jobs.heartbeat_at END, worker_id=CASE WHEN (done.status = 'queued' AND pgq_jobs.cancel_requested_at IS NULL) THEN NULL ELSE pgq_jobs.worker_id END, last_error=coalesce(done.message, pgq_jobs.last_error), errors=CASE WHEN (done.error IS NULL) THEN pgq_jobs.errors ELSE pgq_jobs.errors || jsonb_build_array(CAST(done.error AS JSONB)) END, result=CAST(done.result AS JSONB) FROM unnest($4::BIGINT[], $5::INTEGER[], $6::TEXT[], $7::TIMESTAMP WITH TIME ZONE[], $8::TEXT[], $9::TEXT[], $10::BOOLEAN[], $11::TEXT[]) AS done(id, attempt, status, run_at, message, error, uncount, result) WHERE pgq_jobs.id = done.id AND pgq_jobs.attempts = done.attempt AND pgq_jobs.status = (SELECT 'running') RETURNING pgq_jobs.id, CASE WHEN (pgq_jobs.awaited AND NOT (done.status = 'queued' AND pgq_jobs.cancel_requested_at IS NULL)) THEN pg_notify('pgq_sa_done', CAST(pgq_jobs.id AS TEXT)) END AS notified, pgq_jobs.queue, pgq_jobs.entrypoint, pgq_jobs.status, pgq_jobs.last_error, done.uncount), 
obs AS 
(SELECT fin.queue AS queue, fin.entrypoint AS entrypoint, CASE WHEN (fin.status = 'queued') THEN 'retried' ELSE fin.status END AS status, CASE WHEN (fin.status IN ('failed', 'queued')) THEN left(fin.last_error, 500) ELSE NULL END AS message 
FROM fin 
WHERE fin.uncount IS NOT true), 
recorded AS 
(INSERT INTO pgq_stats (span, bucket, queue, entrypoint, status, shard, count, last_error) SELECT spans.span AS span, to_timestamp(floor(CAST(EXTRACT(epoch FROM coalesce($1::TIMESTAMP WITH TIME ZONE, now())) AS DOUBLE PRECISION) / CAST(CAST(spans.span AS DOUBLE PRECISION) AS DOUBLE PRECISION)) * CAST(spans.span AS DOUBLE PRECISION)) AS to_timestamp_1, obs.queue AS queue, obs.entrypoint AS entrypoint, obs.status AS status, $2::SMALLINT AS anon_1, count(*) AS count_1, max(obs.message) AS max_1 
FROM obs JOIN (VALUES (1), (60)) AS spans (span) ON true GROUP BY spans.span, obs.queue, obs.entrypoint, obs.status ORDER BY spans.span, obs.queue, obs.entrypoint, obs.status ON CONFLICT (span, bucket, queue, entrypoint, status, shard) DO UPDATE SET count = (pgq_stats.count + excluded.count), last_error = coalesce(excluded.last_error, pgq_stats.last_error))
 SELECT fin.id 
FROM fin
