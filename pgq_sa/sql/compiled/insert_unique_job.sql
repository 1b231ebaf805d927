-- insert_unique_job: written by python -m pgq_sa.sql.snapshot (do not edit)
-- $1 queue
-- $2 entrypoint
-- $3 payload
-- $4 priority
-- $5 run_at
-- $6 now
-- $7 max_attempts
-- $8 heartbeat_timeout
-- $9 unique_key
-- $10 trace_context
-- $11 flow_key
-- $12 concurrency_key
-- $13 concurrency_limit
-- $14 rate_key
-- $15 rate_limit
-- $16 rate_period
-- $17 table
-- $18 pg_get_serial_sequence_1 (constant 'id')
-- $19 unique_for
-- $20 param_1 (constant 1)
-- $21 channel
WITH fresh AS 
(SELECT nextval(CAST(pg_get_serial_sequence($17::VARCHAR, $18::VARCHAR) AS REGCLASS)) AS id), 
held AS 
(INSERT INTO pgq_unique (key, job_id, expires_at) SELECT $9::VARCHAR AS anon_7, fresh.id AS id, coalesce($6::TIMESTAMP WITH TIME ZONE, now()) + $19::INTERVAL AS anon_15 
FROM fresh 
WHERE $19::INTERVAL IS NOT NULL ON CONFLICT (key) DO UPDATE SET job_id = excluded.job_id, expires_at = excluded.expires_at WHERE pgq_unique.expires_at <= coalesce($6::TIMESTAMP WITH TIME ZONE, now()) RETURNING pgq_unique.job_id), 
ins AS 
(INSERT INTO pgq_jobs (id, queue, entrypoint, payload, priority, run_at, max_attempts, heartbeat_timeout, created_at, unique_key, trace_context, flow_key, concurrency_key, concurrency_limit, rate_key, rate_limit, rate_period) SELECT fresh.id AS id, $1::VARCHAR AS anon_1, $2::VARCHAR AS anon_2, CAST($3::VARCHAR AS JSONB) AS anon_3, $4::INTEGER AS anon_4, coalesce($5::TIMESTAMP WITH TIME ZONE, coalesce($6::TIMESTAMP WITH TIME ZONE, now())) AS coalesce_1, $7::INTEGER AS anon_5, $8::FLOAT AS anon_6, coalesce($6::TIMESTAMP WITH TIME ZONE, now()) AS coalesce_2, $9::VARCHAR AS anon_7, $10::VARCHAR AS anon_8, $11::VARCHAR AS anon_9, $12::VARCHAR AS anon_10, $13::INTEGER AS anon_11, $14::VARCHAR AS anon_12, $15::INTEGER AS anon_13, $16::INTEGER AS anon_14 
FROM fresh 
WHERE $19::INTERVAL IS NULL OR (EXISTS (SELECT held.job_id 
FROM held)) ON CONFLICT (unique_key) WHERE unique_key IS NOT NULL AND status IN ('queued', 'running') DO NOTHING RETURNING pgq_jobs.id, pgq_jobs.queue)
 SELECT coalesce((SELECT ins.id 
FROM ins), (SELECT pgq_jobs.id 
FROM pgq_jobs 
WHERE pgq_jobs.unique_key = $9::VARCHAR AND pgq_jobs.status IN ('queued', 'running') 
 LIMIT $20::INTEGER), (SELECT pgq_unique.job_id 
FROM pgq_unique 
WHERE pgq_unique.key = $9::VARCHAR AND $19::INTERVAL IS NOT NULL AND NOT (EXISTS (SELECT held.job_id 
FROM held)))) AS id, (SELECT ins.id 
FROM ins) IS NOT NULL AS created, EXISTS (SELECT held.job_id 
FROM held) AS owned, fresh.id AS fresh_id, (SELECT count(pg_notify(CAST($21::VARCHAR AS TEXT), ins.queue)) AS count_1 
FROM ins) AS notified 
FROM fresh
