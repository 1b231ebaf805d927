-- run_schedule_now: written by python -m pgq_sa.sql.snapshot (do not edit)
-- $1 channel
-- $2 now
-- $3 name
WITH ins AS 
(INSERT INTO pgq_jobs (queue, entrypoint, payload, priority, run_at, created_at) SELECT pgq_schedules.queue AS queue, pgq_schedules.entrypoint AS entrypoint, pgq_schedules.payload AS payload, pgq_schedules.priority AS priority, coalesce($2::TIMESTAMP WITH TIME ZONE, now()) AS coalesce_1, coalesce($2::TIMESTAMP WITH TIME ZONE, now()) AS coalesce_2 
FROM pgq_schedules 
WHERE pgq_schedules.name = $3::VARCHAR RETURNING pgq_jobs.id, pgq_jobs.queue)
 SELECT ins.id, pg_notify(CAST($1::VARCHAR AS TEXT), ins.queue) AS pg_notify_1 
FROM ins
