-- insert_graph: written by python -m pgq_sa.sql.snapshot (do not edit)
-- $1 channel
-- $2 now
-- $3 deps_left_1 (constant 0)
-- $4 coalesce_3 (constant 0)
-- $5 coalesce_4 (constant 0)
-- $6 ords
-- $7 queues
-- $8 entrypoints
-- $9 payloads
-- $10 priorities
-- $11 run_ats
-- $12 attempt_limits
-- $13 heartbeat_timeouts
-- $14 policies
-- $15 trace_contexts
-- $16 flow_keys
-- $17 concurrency_keys
-- $18 concurrency_limits
-- $19 rate_keys
-- $20 rate_limits
-- $21 rate_periods
-- $22 table
-- $23 pg_get_serial_sequence_2 (constant 'id')
-- $24 inner_jobs
-- $25 inner_deps
-- $26 concat_1 (constant 'dependency ')
-- $27 concat_2 (constant ' (')
-- $28 concat_3 (constant ') ')
-- $29 outer_jobs
-- $30 outer_deps
WITH source AS 
(SELECT src.ord AS ord, src.queue AS queue, src.entrypoint AS entrypoint, src.payload AS payload, src.priority AS priority, src.run_at AS run_at, src.max_attempts AS max_attempts, src.heartbeat_timeout AS heartbeat_timeout, src.policy AS policy, src.trace_context AS trace_context, src.flow_key AS flow_key, src.concurrency_key AS concurrency_key, src.concurrency_limit AS concurrency_limit, src.rate_key AS rate_key, src.rate_limit AS rate_limit, src.rate_period AS rate_period 
FROM unnest(CAST($6::INTEGER[] AS INTEGER[]), CAST($7::TEXT[] AS TEXT[]), CAST($8::TEXT[] AS TEXT[]), CAST($9::TEXT[] AS TEXT[]), CAST($10::INTEGER[] AS INTEGER[]), CAST($11::TIMESTAMP WITH TIME ZONE[] AS TIMESTAMP WITH TIME ZONE[]), CAST($12::INTEGER[] AS INTEGER[]), CAST($13::DOUBLE PRECISION[] AS DOUBLE PRECISION[]), CAST($14::TEXT[] AS TEXT[]), CAST($15::TEXT[] AS TEXT[]), CAST($16::TEXT[] AS TEXT[]), CAST($17::TEXT[] AS TEXT[]), CAST($18::INTEGER[] AS INTEGER[]), CAST($19::TEXT[] AS TEXT[]), CAST($20::INTEGER[] AS INTEGER[]), CAST($21::INTEGER[] AS INTEGER[])) AS src(ord, queue, entrypoint, payload, priority, run_at, max_attempts, heartbeat_timeout, policy, trace_context, flow_key, concurrency_key, concurrency_limit, rate_key, rate_limit, rate_period)), 
ids AS 
(SELECT source.ord AS ord, nextval(CAST((SELECT pg_get_serial_sequence($22::VARCHAR, $23::VARCHAR) AS pg_get_serial_sequence_1) AS REGCLASS)) AS id 
FROM source), 
inner_edges AS 
(SELECT ie.job_ord AS job_ord, ie.dep_ord AS dep_ord 
FROM unnest(CAST($24::INTEGER[] AS INTEGER[]), CAST($25::INTEGER[] AS INTEGER[])) AS ie(job_ord, dep_ord)), 
inner_counts AS 
(SELECT inner_edges.job_ord AS job_ord, count(*) AS n 
FROM inner_edges GROUP BY inner_edges.job_ord), 
outer_edges AS 
(SELECT oe.job_ord AS job_ord, oe.dep_id AS dep_id 
FROM unnest(CAST($29::INTEGER[] AS INTEGER[]), CAST($30::BIGINT[] AS BIGINT[])) AS oe(job_ord, dep_id)), 
existing AS 
(UPDATE pgq_jobs SET has_dependents=true WHERE pgq_jobs.id IN (SELECT outer_edges.dep_id 
FROM outer_edges) RETURNING pgq_jobs.id, pgq_jobs.status, pgq_jobs.entrypoint), 
outer_counts AS 
(SELECT outer_edges.job_ord AS job_ord, count(*) FILTER (WHERE (existing.status NOT IN ('succeeded', 'failed', 'cancelled'))) AS n, min(concat($26::VARCHAR, existing.id, $27::VARCHAR, existing.entrypoint, $28::VARCHAR, existing.status)) FILTER (WHERE existing.status IN ('failed', 'cancelled')) AS failed_dep 
FROM outer_edges JOIN existing ON existing.id = outer_edges.dep_id GROUP BY outer_edges.job_ord), 
parents AS 
(SELECT DISTINCT inner_edges.dep_ord AS dep_ord 
FROM inner_edges), 
planned AS 
(SELECT source.ord AS ord, source.queue AS queue, source.entrypoint AS entrypoint, source.payload AS payload, source.priority AS priority, source.run_at AS run_at, source.max_attempts AS max_attempts, source.heartbeat_timeout AS heartbeat_timeout, source.policy AS policy, source.trace_context AS trace_context, source.flow_key AS flow_key, source.concurrency_key AS concurrency_key, source.concurrency_limit AS concurrency_limit, source.rate_key AS rate_key, source.rate_limit AS rate_limit, source.rate_period AS rate_period, ids.id AS id, coalesce(inner_counts.n, $4::INTEGER) + coalesce(outer_counts.n, $5::INTEGER) AS deps_left, outer_counts.failed_dep AS failed_dep, parents.dep_ord IS NOT NULL AS parent 
FROM source JOIN ids ON ids.ord = source.ord LEFT OUTER JOIN inner_counts ON inner_counts.job_ord = source.ord LEFT OUTER JOIN outer_counts ON outer_counts.job_ord = source.ord LEFT OUTER JOIN parents ON parents.dep_ord = source.ord), 
inserted AS 
(INSERT INTO pgq_jobs (id, queue, entrypoint, payload, priority, run_at, max_attempts, heartbeat_timeout, created_at, status, deps_left, deps_policy, has_dependents, finished_at, last_error, trace_context, flow_key, concurrency_key, concurrency_limit, rate_key, rate_limit, rate_period) SELECT planned.id AS id, planned.queue AS queue, planned.entrypoint AS entrypoint, CAST(planned.payload AS JSONB) AS payload, planned.priority AS priority, coalesce(planned.run_at, coalesce($2::TIMESTAMP WITH TIME ZONE, now())) AS coalesce_1, planned.max_attempts AS max_attempts, planned.heartbeat_timeout AS heartbeat_timeout, coalesce($2::TIMESTAMP WITH TIME ZONE, now()) AS coalesce_2, CASE WHEN (planned.failed_dep IS NOT NULL AND planned.policy = 'cancel') THEN 'cancelled' WHEN (planned.deps_left > $3::INTEGER) THEN 'waiting' ELSE 'queued' END AS anon_1, CASE WHEN (planned.policy IS NULL) THEN NULL ELSE planned.deps_left END AS anon_2, planned.policy AS policy, planned.parent AS parent, CASE WHEN (planned.failed_dep IS NOT NULL AND planned.policy = 'cancel') THEN coalesce($2::TIMESTAMP WITH TIME ZONE, now()) END AS anon_3, CASE WHEN (planned.failed_dep IS NOT NULL AND planned.policy = 'cancel') THEN planned.failed_dep END AS anon_4, planned.trace_context AS trace_context, planned.flow_key AS flow_key, planned.concurrency_key AS concurrency_key, planned.concurrency_limit AS concurrency_limit, planned.rate_key AS rate_key, planned.rate_limit AS rate_limit, planned.rate_period AS rate_period 
FROM planned RETURNING pgq_jobs.id, pgq_jobs.queue, pgq_jobs.status), 
edges AS 
(INSERT INTO pgq_job_deps (job_id, depends_on, done) SELECT waiter.id AS id, waited.id AS id_1, false 
FROM inner_edges JOIN ids AS waiter ON waiter.ord = inner_edges.job_ord JOIN ids AS waited ON waited.ord = inner_edges.dep_ord UNION ALL SELECT waiter.id AS id, CASE WHEN (existing.id IS NULL) THEN pgq_sa_refuse_missing(outer_edges.dep_id) ELSE outer_edges.dep_id END AS anon_5, coalesce(existing.status IN ('succeeded', 'failed', 'cancelled'), false) AS coalesce_5 
FROM outer_edges JOIN ids AS waiter ON waiter.ord = outer_edges.job_ord LEFT OUTER JOIN existing ON existing.id = outer_edges.dep_id RETURNING pgq_job_deps.job_id)
 SELECT ids.id, (SELECT count(pg_notify(CAST($1::VARCHAR AS TEXT), q.queue)) AS count_1 
FROM (SELECT DISTINCT inserted.queue AS queue 
FROM inserted 
WHERE inserted.status = 'queued') AS q) AS notified, (SELECT count(*) AS count_2 
FROM edges) AS edges, (SELECT count(*) AS count_3 
FROM inserted) AS written 
FROM ids ORDER BY ids.ord
