-- rescue: written by python -m pgq_sa.sql.snapshot (do not edit)
-- $1 now
-- $2 stats_shard (constant 0)
-- $3 entrypoints
-- $4 max_attempts
-- $5 concat_1 (constant 'worker lost: ')
-- $6 concat_2 (constant 'worker ')
-- $7 concat_3 (constant ' is gone')
-- $8 concat_4 (constant 'the database session of worker ')
-- $9 concat_5 (constant ' is gone')
-- $10 concat_6 (constant 'no heartbeat from worker ')
-- $11 concat_7 (constant ' since ')
-- $12 jsonb_build_object_1 (constant 'attempt')
-- $13 jsonb_build_object_2 (constant 'at')
-- $14 jsonb_build_object_3 (constant 'type')
-- $15 jsonb_build_object_4 (constant 'WorkerLost')
-- $16 jsonb_build_object_5 (constant 'message')
-- $17 jsonb_build_object_6 (constant 'traceback')
-- $18 make_interval_1 (constant 0)
-- $19 make_interval_2 (constant 0)
-- $20 make_interval_3 (constant 0)
-- $21 make_interval_4 (constant 0)
-- $22 make_interval_5 (constant 0)
-- $23 make_interval_6 (constant 0)
-- $24 timeouts
-- $25 default_timeout
-- $26 limit
WITH stale AS 
(SELECT pgq_jobs.id AS id 
FROM pgq_jobs 
WHERE pgq_jobs.status = 'running' AND (coalesce(pgq_jobs.heartbeat_at, pgq_jobs.started_at, pgq_jobs.created_at) < coalesce($1::TIMESTAMP WITH TIME ZONE, now()) - make_interval($18::INTEGER, $19::INTEGER, $20::INTEGER, $21::INTEGER, $22::INTEGER, $23::INTEGER, coalesce(pgq_jobs.heartbeat_timeout, (SELECT policy.timeout 
FROM unnest($3::TEXT[], $24::DOUBLE PRECISION[], $4::INTEGER[]) AS policy(entrypoint, timeout, max_attempts) 
WHERE pgq_jobs.entrypoint = policy.entrypoint), $25::FLOAT)) OR NOT (EXISTS (SELECT pgq_workers.id 
FROM pgq_workers 
WHERE pgq_workers.id = pgq_jobs.worker_id)) OR pgq_jobs.worker_id IN (SELECT pgq_workers.id 
FROM pgq_workers 
WHERE pgq_workers.session_key IS NOT NULL AND NOT (EXISTS (SELECT * 
FROM pg_catalog.pg_locks 
WHERE pg_catalog.pg_locks.locktype = 'advisory' AND pg_catalog.pg_locks.database = (SELECT pg_catalog.pg_database.oid 
FROM pg_catalog.pg_database 
WHERE pg_catalog.pg_database.datname = current_database()) AND CAST(pg_catalog.pg_locks.classid AS BIGINT) = (pgq_workers.session_key >> 32) AND CAST(pg_catalog.pg_locks.objid AS BIGINT) = (pgq_workers.session_key & 4294967295) AND pg_catalog.pg_locks.objsubid = 1 AND pg_catalog.pg_locks.granted)))) 
 LIMIT $26::INTEGER FOR UPDATE SKIP LOCKED), 
res AS 
(UPDATE pgq_jobs SET status=CASE WHEN (pgq_jobs.cancel_requested_at IS NOT NULL) THEN 'cancelled' WHEN (coalesce(pgq_jobs.max_attempts, (SELECT policy2.max_attempts 
FROM unnest($3::TEXT[], $4::INTEGER[]) AS policy2(entrypoint, max_attempts) 
WHERE pgq_jobs.entrypoint = policy2.entrypoint)) IS NOT NULL AND pgq_jobs.attempts >= coalesce(pgq_jobs.max_attempts, (SELECT policy2.max_attempts 
FROM unnest($3::TEXT[], $4::INTEGER[]) AS policy2(entrypoint, max_attempts) 
WHERE pgq_jobs.entrypoint = policy2.entrypoint))) THEN 'failed' ELSE 'queued' END, run_at=coalesce($1::TIMESTAMP WITH TIME ZONE, now()), finished_at=CASE WHEN (pgq_jobs.cancel_requested_at IS NOT NULL OR coalesce(pgq_jobs.max_attempts, (SELECT policy2.max_attempts 
FROM unnest($3::TEXT[], $4::INTEGER[]) AS policy2(entrypoint, max_attempts) 
WHERE pgq_jobs.entrypoint = policy2.entrypoint)) IS NOT NULL AND pgq_jobs.attempts >= coalesce(pgq_jobs.max_attempts, (SELECT policy2.max_attempts 
FROM unnest($3::TEXT[], $4::INTEGER[]) AS policy2(entrypoint, max_attempts) 
WHERE pgq_jobs.entrypoint = policy2.entrypoint))) THEN coalesce($1::TIMESTAMP WITH TIME ZONE, now()) END, heartbeat_at=NULL, worker_id=NULL, last_error=concat($5::VARCHAR, CASE WHEN (NOT (EXISTS (SELECT pgq_workers.id 
FROM pgq_workers 
WHERE pgq_workers.id = pgq_jobs.worker_id))) THEN concat($6::VARCHAR, pgq_jobs.worker_id, $7::VARCHAR) WHEN (pgq_jobs.worker_id IN (SELECT pgq_workers.id 
FROM pgq_workers 
WHERE pgq_workers.session_key IS NOT NULL AND NOT (EXISTS (SELECT * 
FROM pg_catalog.pg_locks 
WHERE pg_catalog.pg_locks.locktype = 'advisory' AND pg_catalog.pg_locks.database = (SELECT pg_catalog.pg_database.oid 
FROM pg_catalog.pg_database 
WHERE pg_catalog.pg_database.datname = current_database()) AND CAST(pg_catalog.pg_locks.classid AS BIGINT) = (pgq_workers.session_key >> 32) AND CAST(pg_catalog.pg_locks.objid AS BIGINT) = (pgq_workers.session_key & 4294967295) AND pg_catalog.pg_locks.objsubid = 1 AND pg_catalog.pg_locks.granted)))) THEN concat($8::VARCHAR, pgq_jobs.worker_id, $9::VARCHAR) ELSE concat($10::VARCHAR, pgq_jobs.worker_id, $11::VARCHAR, pgq_jobs.heartbeat_at) END), errors=(pgq_jobs.errors || jsonb_build_array(jsonb_build_object($12::VARCHAR, pgq_jobs.attempts, $13::VARCHAR, coalesce($1::TIMESTAMP WITH TIME ZONE, now()), $14::VARCHAR, $15::VARCHAR, $16::VARCHAR, CASE WHEN (NOT (EXISTS (SELECT pgq_workers.id 
FROM pgq_workers 
WHERE pgq_workers.id = pgq_jobs.worker_id))) THEN concat($6::VARCHAR, pgq_jobs.worker_id, $7::VARCHAR) WHEN (pgq_jobs.worker_id IN (SELECT pgq_workers.id 
FROM pgq_workers 
WHERE pgq_workers.session_key IS NOT NULL AND NOT (EXISTS (SELECT * 
FROM pg_catalog.pg_locks 
WHERE pg_catalog.pg_locks.locktype = 'advisory' AND pg_catalog.pg_locks.database = (SELECT pg_catalog.pg_database.oid 
FROM pg_catalog.pg_database 
WHERE pg_catalog.pg_database.datname = current_database()) AND CAST(pg_catalog.pg_locks.classid AS BIGINT) = (pgq_workers.session_key >> 32) AND CAST(pg_catalog.pg_locks.objid AS BIGINT) = (pgq_workers.session_key & 4294967295) AND pg_catalog.pg_locks.objsubid = 1 AND pg_catalog.pg_locks.granted)))) THEN concat($8::VARCHAR, pgq_jobs.worker_id, $9::VARCHAR) ELSE concat($10::VARCHAR, pgq_jobs.worker_id, $11::VARCHAR, pgq_jobs.heartbeat_at) END, $17::VARCHAR, NULL))) FROM stale WHERE pgq_jobs.id = stale.id RETURNING pgq_jobs.id, pgq_jobs.status, pgq_jobs.queue, pgq_jobs.entrypoint, CASE WHEN (pgq_jobs.status IN ('failed', 'queued')) THEN left(pgq_jobs.last_error, 500) ELSE NULL END AS message, pgq_jobs.attempts, pgq_jobs.last_error), 
obs AS 
(SELECT res.queue AS queue, res.entrypoint AS entrypoint, CASE WHEN (res.status = 'queued') THEN 'retried' ELSE res.status END AS status, res.message AS message 
FROM res), 
recorded AS 
(INSERT INTO pgq_stats (span, bucket, queue, entrypoint, status, shard, count, last_error) SELECT spans.span AS span, to_timestamp(floor(CAST(EXTRACT(epoch FROM coalesce($1::TIMESTAMP WITH TIME ZONE, now())) AS DOUBLE PRECISION) / CAST(CAST(spans.span AS DOUBLE PRECISION) AS DOUBLE PRECISION)) * CAST(spans.span AS DOUBLE PRECISION)) AS to_timestamp_1, obs.queue AS queue, obs.entrypoint AS entrypoint, obs.status AS status, $2::SMALLINT AS anon_1, count(*) AS count_1, max(obs.message) AS max_1 
FROM obs JOIN (VALUES (1), (60)) AS spans (span) ON true GROUP BY spans.span, obs.queue, obs.entrypoint, obs.status ORDER BY spans.span, obs.queue, obs.entrypoint, obs.status ON CONFLICT (span, bucket, queue, entrypoint, status, shard) DO UPDATE SET count = (pgq_stats.count + excluded.count), last_error = coalesce(excluded.last_error, pgq_stats.last_error))
 SELECT res.id, res.status, res.queue, res.entrypoint, res.attempts, res.last_error 
FROM res
