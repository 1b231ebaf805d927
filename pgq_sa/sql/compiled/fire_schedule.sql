-- fire_schedule: written by python -m pgq_sa.sql.snapshot (do not edit)
-- $1 channel
-- $2 queue
-- $3 entrypoint
-- $4 payload
-- $5 priority
-- $6 fire_at
-- $7 now
-- $8 table
-- $9 pg_get_serial_sequence_1 (constant 'id')
-- $10 name
-- $11 prev
WITH fresh AS 
(SELECT nextval(CAST(pg_get_serial_sequence($8::VARCHAR, $9::VARCHAR) AS REGCLASS)) AS id), 
fired AS 
(UPDATE pgq_schedules SET last_fire_at=$6::TIMESTAMP WITH TIME ZONE, last_job_id=fresh.id FROM fresh WHERE pgq_schedules.name = $10::VARCHAR AND pgq_schedules.last_fire_at IS NOT DISTINCT FROM $11::TIMESTAMP WITH TIME ZONE RETURNING pgq_schedules.last_job_id), 
ins AS 
(INSERT INTO pgq_jobs (id, queue, entrypoint, payload, priority, run_at, created_at) SELECT fired.last_job_id AS last_job_id, $2::VARCHAR AS anon_1, $3::VARCHAR AS anon_2, CAST($4::VARCHAR AS JSONB) AS anon_3, $5::INTEGER AS anon_4, $6::TIMESTAMP WITH TIME ZONE AS anon_5, coalesce($7::TIMESTAMP WITH TIME ZONE, now()) AS coalesce_1 
FROM fired RETURNING pgq_jobs.id, pgq_jobs.queue)
 SELECT ins.id, pg_notify(CAST($1::VARCHAR AS TEXT), ins.queue) AS pg_notify_1 
FROM ins
