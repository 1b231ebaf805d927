-- await_job: written by python -m pgq_sa.sql.snapshot (do not edit)
-- $1 awaited (constant True)
-- $2 job_id
UPDATE pgq_jobs SET awaited=$1::BOOLEAN WHERE pgq_jobs.id = $2::BIGINT AND (pgq_jobs.status NOT IN ('succeeded', 'failed', 'cancelled')) AND pgq_jobs.awaited IS false RETURNING pgq_jobs.id
