-- fire_schedule: written by python -m pgq_sa.sql.snapshot (do not edit)
-- $1 channel
-- $2 queue
-- $3 entrypoint
-- $4 payload
-- $5 priority
-- $6 fire_at
-- $7 now
-- $8 heartbeat_timeout
-- $9 flow_key
-- $10 concurrency_key
-- $11 concurrency_limit
-- $12 rate_key
-- $13 rate_limit
-- $14 rate_period
-- $15 table
-- $16 pg_get_serial_sequence_1 (constant 'id')
-- $17 name
-- $18 prev
WITH fresh AS 
(SELECT nextval(CAST(pg_get_serial_sequence($15::VARCHAR, $16::VARCHAR) AS REGCLASS)) AS id), 
fired AS 
(UPDATE pgq_schedules SET last_fire_at=$6::TIMESTAMP WITH TIME ZONE, last_job_id=fresh.id FROM fresh WHERE pgq_schedules.name = $17::VARCHAR AND pgq_schedules.last_fire_at IS NOT DISTINCT FROM $18::TIMESTAMP WITH TIME ZONE RETURNING pgq_schedules.last_job_id), 
ins AS 
(INSERT INTO pgq_jobs (id, queue, entrypoint, payload, priority, run_at, created_at, heartbeat_timeout, flow_key, concurrency_key, concurrency_limit, rate_key, rate_limit, rate_period) SELECT fired.last_job_id AS last_job_id, $2::VARCHAR AS anon_1, $3::VARCHAR AS anon_2, CAST($4::VARCHAR AS JSONB) AS anon_3, $5::INTEGER AS anon_4, $6::TIMESTAMP WITH TIME ZONE AS anon_5, coalesce($7::TIMESTAMP WITH TIME ZONE, now()) AS coalesce_1, $8::FLOAT AS anon_6, $9::VARCHAR AS anon_7, $10::VARCHAR AS anon_8, $11::INTEGER AS anon_9, $12::VARCHAR AS anon_10, $13::INTEGER AS anon_11, $14::INTEGER AS anon_12 
FROM fired RETURNING pgq_jobs.id, pgq_jobs.queue)
 SELECT ins.id, pg_notify(CAST($1::VARCHAR AS TEXT), ins.queue) AS pg_notify_1 
FROM ins
