-- heartbeat: written by python -m pgq_sa.sql.snapshot (do not edit)
-- $1 now
-- $2 worker_id
-- $3 host
-- $4 pid
-- $5 queues
-- $6 entrypoints
-- $7 concurrency
-- $8 session_key
-- $9 ids
WITH registered AS 
(INSERT INTO pgq_workers (id, host, pid, queues, entrypoints, concurrency, started_at, heartbeat_at, session_key) VALUES ($2::VARCHAR, $3::VARCHAR, $4::INTEGER, $5::TEXT[], $6::TEXT[], $7::INTEGER, coalesce($1::TIMESTAMP WITH TIME ZONE, now()), coalesce($1::TIMESTAMP WITH TIME ZONE, now()), $8::BIGINT) ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at, session_key = excluded.session_key RETURNING pgq_workers.id)
 UPDATE pgq_jobs SET heartbeat_at=coalesce($1::TIMESTAMP WITH TIME ZONE, now()) WHERE pgq_jobs.status = 'running' AND pgq_jobs.worker_id = $2::VARCHAR AND pgq_jobs.id = any($9::BIGINT[]) RETURNING pgq_jobs.id, pgq_jobs.attempts, pgq_jobs.cancel_requested_at IS NOT NULL AS anon_1
