-- insert_jobs_notify: written by python -m pgq_sa.sql.snapshot (do not edit)
-- $1 channel
-- $2 now
-- $3 queues
-- $4 entrypoints
-- $5 payloads
-- $6 priorities
-- $7 run_ats
-- $8 max_attempts
-- $9 heartbeat_timeouts
-- $10 trace_contexts
-- $11 flow_keys
-- $12 concurrency_keys
-- $13 concurrency_limits
-- $14 rate_keys
-- $15 rate_limits
-- $16 rate_periods
WITH ins AS 
(INSERT INTO pgq_jobs (queue, entrypoint, payload, priority, run_at, max_attempts, heartbeat_timeout, created_at, trace_context, flow_key, concurrency_key, concurrency_limit, rate_key, rate_limit, rate_period) SELECT src.queue AS queue, src.entrypoint AS entrypoint, CAST(src.payload AS JSONB) AS payload, src.priority AS priority, coalesce(src.run_at, coalesce($2::TIMESTAMP WITH TIME ZONE, now())) AS coalesce_1, src.max_attempts AS max_attempts, src.heartbeat_timeout AS heartbeat_timeout, coalesce($2::TIMESTAMP WITH TIME ZONE, now()) AS coalesce_2, src.trace_context AS trace_context, src.flow_key AS flow_key, src.concurrency_key AS concurrency_key, src.concurrency_limit AS concurrency_limit, src.rate_key AS rate_key, src.rate_limit AS rate_limit, src.rate_period AS rate_period 
FROM unnest(CAST($3::TEXT[] AS TEXT[]), CAST($4::TEXT[] AS TEXT[]), CAST($5::TEXT[] AS TEXT[]), CAST($6::INTEGER[] AS INTEGER[]), CAST($7::TIMESTAMP WITH TIME ZONE[] AS TIMESTAMP WITH TIME ZONE[]), CAST($8::INTEGER[] AS INTEGER[]), CAST($9::DOUBLE PRECISION[] AS DOUBLE PRECISION[]), CAST($10::TEXT[] AS TEXT[]), CAST($11::TEXT[] AS TEXT[]), CAST($12::TEXT[] AS TEXT[]), CAST($13::INTEGER[] AS INTEGER[]), CAST($14::TEXT[] AS TEXT[]), CAST($15::INTEGER[] AS INTEGER[]), CAST($16::INTEGER[] AS INTEGER[])) AS src(queue, entrypoint, payload, priority, run_at, max_attempts, heartbeat_timeout, trace_context, flow_key, concurrency_key, concurrency_limit, rate_key, rate_limit, rate_period) RETURNING pgq_jobs.id, pgq_jobs.queue)
 SELECT ins.id, (SELECT count(pg_notify(CAST($1::VARCHAR AS TEXT), q.queue)) AS count_1 
FROM (SELECT DISTINCT ins.queue AS queue 
FROM ins) AS q) AS notified 
FROM ins
