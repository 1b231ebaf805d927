-- schedule_states: written by python -m pgq_sa.sql.snapshot (do not edit)
-- $1 now
-- $2 names
SELECT pgq_schedules.name, pgq_schedules.last_fire_at, pgq_schedules.created_at, coalesce($1::TIMESTAMP WITH TIME ZONE, now()) AS now 
FROM pgq_schedules 
WHERE pgq_schedules.name = any(CAST($2::TEXT[] AS TEXT[]))
