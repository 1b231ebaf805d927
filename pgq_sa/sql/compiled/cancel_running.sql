-- cancel_running: written by python -m pgq_sa.sql.snapshot (do not edit)
-- $1 now
-- $2 ids
UPDATE pgq_jobs SET cancel_requested_at=coalesce(pgq_jobs.cancel_requested_at, coalesce($1::TIMESTAMP WITH TIME ZONE, now())) WHERE pgq_jobs.id = any($2::BIGINT[]) AND pgq_jobs.status = 'running' RETURNING pgq_jobs.id, pgq_jobs.worker_id
