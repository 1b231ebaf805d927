-- retry: written by python -m pgq_sa.sql.snapshot (do not edit)
-- $1 now
-- $2 attempts (constant 0)
-- $3 started_at (constant None)
-- $4 finished_at (constant None)
-- $5 heartbeat_at (constant None)
-- $6 worker_id (constant None)
-- $7 cancel_requested_at (constant None)
-- $8 ids
UPDATE pgq_jobs SET status='queued', run_at=coalesce($1::TIMESTAMP WITH TIME ZONE, now()), attempts=$2::INTEGER, started_at=$3::TIMESTAMP WITH TIME ZONE, finished_at=$4::TIMESTAMP WITH TIME ZONE, heartbeat_at=$5::TIMESTAMP WITH TIME ZONE, worker_id=$6::VARCHAR, cancel_requested_at=$7::TIMESTAMP WITH TIME ZONE WHERE pgq_jobs.id = any($8::BIGINT[]) AND pgq_jobs.status IN ('failed', 'cancelled') RETURNING pgq_jobs.id, pgq_jobs.queue
