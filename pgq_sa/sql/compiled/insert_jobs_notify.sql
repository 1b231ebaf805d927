-- insert_jobs_notify: written by python -m pgq_sa.sql.snapshot (do not edit)
-- $1 channel
-- $2 now
-- $3 queues
-- $4 entrypoints
-- $5 payloads
-- $6 priorities
-- $7 run_ats
-- $8 max_attempts
-- $9 trace_contexts
WITH ins AS 
(INSERT INTO pgq_jobs (queue, entrypoint, payload, priority, run_at, max_attempts, created_at, trace_context) SELECT src.queue AS queue, src.entrypoint AS entrypoint, CAST(src.payload AS JSONB) AS payload, src.priority AS priority, coalesce(src.run_at, coalesce($2::TIMESTAMP WITH TIME ZONE, now())) AS coalesce_1, src.max_attempts AS max_attempts, coalesce($2::TIMESTAMP WITH TIME ZONE, now()) AS coalesce_2, src.trace_context AS trace_context 
FROM unnest(CAST($3::TEXT[] AS TEXT[]), CAST($4::TEXT[] AS TEXT[]), CAST($5::TEXT[] AS TEXT[]), CAST($6::INTEGER[] AS INTEGER[]), CAST($7::TIMESTAMP WITH TIME ZONE[] AS TIMESTAMP WITH TIME ZONE[]), CAST($8::INTEGER[] AS INTEGER[]), CAST($9::TEXT[] AS TEXT[])) AS src(queue, entrypoint, payload, priority, run_at, max_attempts, trace_context) RETURNING pgq_jobs.id, pgq_jobs.queue)
 SELECT ins.id, (SELECT count(pg_notify(CAST($1::VARCHAR AS TEXT), q.queue)) AS count_1 
FROM (SELECT DISTINCT ins.queue AS queue 
FROM ins) AS q) AS notified 
FROM ins
