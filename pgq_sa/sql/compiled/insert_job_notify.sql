-- insert_job_notify: written by python -m pgq_sa.sql.snapshot (do not edit)
-- $1 channel
-- $2 queue
-- $3 entrypoint
-- $4 payload
-- $5 priority
-- $6 run_at
-- $7 now
-- $8 max_attempts
-- $9 heartbeat_timeout
-- $10 flow_key
-- $11 concurrency_key
-- $12 concurrency_limit
-- $13 rate_key
-- $14 rate_limit
-- $15 rate_period
-- $16 trace_context
WITH one AS 
(INSERT INTO pgq_jobs (queue, entrypoint, payload, priority, run_at, max_attempts, created_at, heartbeat_timeout, flow_key, concurrency_key, concurrency_limit, rate_key, rate_limit, rate_period, trace_context) VALUES ($2::VARCHAR, $3::VARCHAR, CAST($4::VARCHAR AS JSONB), $5::INTEGER, coalesce($6::TIMESTAMP WITH TIME ZONE, coalesce($7::TIMESTAMP WITH TIME ZONE, now())), $8::INTEGER, coalesce($7::TIMESTAMP WITH TIME ZONE, now()), $9::FLOAT, $10::VARCHAR, $11::VARCHAR, $12::INTEGER, $13::VARCHAR, $14::INTEGER, $15::INTEGER, $16::VARCHAR) RETURNING pgq_jobs.id, pgq_jobs.queue)
 SELECT one.id, pg_notify(CAST($1::VARCHAR AS TEXT), one.queue) AS pg_notify_1 
FROM one
