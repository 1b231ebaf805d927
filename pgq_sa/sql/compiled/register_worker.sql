-- register_worker: written by python -m pgq_sa.sql.snapshot (do not edit)
-- $1 worker_id
-- $2 host
-- $3 pid
-- $4 queues
-- $5 entrypoints
-- $6 concurrency
-- $7 now
-- $8 session_key
INSERT INTO pgq_workers (id, host, pid, queues, entrypoints, concurrency, started_at, heartbeat_at, session_key) VALUES ($1::VARCHAR, $2::VARCHAR, $3::INTEGER, $4::TEXT[], $5::TEXT[], $6::INTEGER, coalesce($7::TIMESTAMP WITH TIME ZONE, now()), coalesce($7::TIMESTAMP WITH TIME ZONE, now()), $8::BIGINT) ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at, session_key = excluded.session_key
