-- complete: written by python -m pgq_sa.sql.snapshot (do not edit)
-- $1 now
-- $2 result
-- $3 job_id
-- $4 attempt
UPDATE pgq_jobs SET status='succeeded', finished_at=coalesce($1::TIMESTAMP WITH TIME ZONE, now()), result=CAST($2::VARCHAR AS JSONB) WHERE pgq_jobs.id = $3::BIGINT AND pgq_jobs.attempts = $4::INTEGER AND pgq_jobs.status = 'running' AND pgq_jobs.cancel_requested_at IS NULL RETURNING pgq_jobs.id, CASE WHEN pgq_jobs.awaited THEN pg_notify('pgq_sa_done', CAST(pgq_jobs.id AS TEXT)) END AS notified
