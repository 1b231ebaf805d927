-- list_schedules: written by python -m pgq_sa.sql.snapshot (do not edit)
-- $1 now
SELECT pgq_schedules.name, pgq_schedules.entrypoint, pgq_schedules.expression, pgq_schedules.timezone, pgq_schedules.missed, pgq_schedules.created_at, pgq_schedules.seen_at, pgq_schedules.last_fire_at, pgq_schedules.last_job_id, pgq_jobs.status AS last_status, coalesce($1::TIMESTAMP WITH TIME ZONE, now()) AS now 
FROM pgq_schedules LEFT OUTER JOIN pgq_jobs ON pgq_jobs.id = pgq_schedules.last_job_id ORDER BY pgq_schedules.name
