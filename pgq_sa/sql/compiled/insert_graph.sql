-- insert_graph: written by python -m pgq_sa.sql.snapshot (do not edit)
-- $1 channel
-- $2 now
-- $3 deps_left_1 (constant 0)
-- $4 inner_jobs
-- $5 inner_deps
-- $6 outer_jobs
-- $7 outer_deps
-- $8 concat_1 (constant 'dependency ')
-- $9 concat_2 (constant ' (')
-- $10 concat_3 (constant ') ')
-- $11 ords
-- $12 queues
-- $13 entrypoints
-- $14 payloads
-- $15 priorities
-- $16 run_ats
-- $17 attempt_limits
-- $18 heartbeat_timeouts
-- $19 policies
-- $20 table
-- $21 pg_get_serial_sequence_2 (constant 'id')
WITH inner_edges AS 
(SELECT ie.job_ord AS job_ord, ie.dep_ord AS dep_ord 
FROM unnest(CAST($4::INTEGER[] AS INTEGER[]), CAST($5::INTEGER[] AS INTEGER[])) AS ie(job_ord, dep_ord)), 
outer_edges AS 
(SELECT oe.job_ord AS job_ord, oe.dep_id AS dep_id 
FROM unnest(CAST($6::INTEGER[] AS INTEGER[]), CAST($7::BIGINT[] AS BIGINT[])) AS oe(job_ord, dep_id)), 
existing AS 
(UPDATE pgq_jobs SET has_dependents=true WHERE pgq_jobs.id IN (SELECT outer_edges.dep_id 
FROM outer_edges) RETURNING pgq_jobs.id, pgq_jobs.status, pgq_jobs.entrypoint), 
source AS 
(SELECT src.ord AS ord, src.queue AS queue, src.entrypoint AS entrypoint, src.payload AS payload, src.priority AS priority, src.run_at AS run_at, src.max_attempts AS max_attempts, src.heartbeat_timeout AS heartbeat_timeout, src.policy AS policy 
FROM unnest(CAST($11::INTEGER[] AS INTEGER[]), CAST($12::TEXT[] AS TEXT[]), CAST($13::TEXT[] AS TEXT[]), CAST($14::TEXT[] AS TEXT[]), CAST($15::INTEGER[] AS INTEGER[]), CAST($16::TIMESTAMP WITH TIME ZONE[] AS TIMESTAMP WITH TIME ZONE[]), CAST($17::INTEGER[] AS INTEGER[]), CAST($18::DOUBLE PRECISION[] AS DOUBLE PRECISION[]), CAST($19::TEXT[] AS TEXT[])) AS src(ord, queue, entrypoint, payload, priority, run_at, max_attempts, heartbeat_timeout, policy)), 
ids AS 
(SELECT source.ord AS ord, nextval(CAST((SELECT pg_get_serial_sequence($20::VARCHAR, $21::VARCHAR) AS pg_get_serial_sequence_1) AS REGCLASS)) AS id 
FROM source), 
planned AS 
(SELECT source.ord AS ord, source.queue AS queue, source.entrypoint AS entrypoint, source.payload AS payload, source.priority AS priority, source.run_at AS run_at, source.max_attempts AS max_attempts, source.heartbeat_timeout AS heartbeat_timeout, source.policy AS policy, ids.id AS id, (SELECT count(*) AS count_2 
FROM inner_edges 
WHERE inner_edges.job_ord = source.ord) + (SELECT count(*) AS count_3 
FROM outer_edges JOIN existing ON existing.id = outer_edges.dep_id 
WHERE outer_edges.job_ord = source.ord AND (existing.status NOT IN ('succeeded', 'failed', 'cancelled'))) AS deps_left, (SELECT min(concat($8::VARCHAR, existing.id, $9::VARCHAR, existing.entrypoint, $10::VARCHAR, existing.status)) AS min_1 
FROM outer_edges JOIN existing ON existing.id = outer_edges.dep_id 
WHERE outer_edges.job_ord = source.ord AND existing.status IN ('failed', 'cancelled')) AS failed_dep 
FROM source JOIN ids ON ids.ord = source.ord), 
inserted AS 
(INSERT INTO pgq_jobs (id, queue, entrypoint, payload, priority, run_at, max_attempts, heartbeat_timeout, created_at, status, deps_left, deps_policy, has_dependents, finished_at, last_error) SELECT planned.id AS id, planned.queue AS queue, planned.entrypoint AS entrypoint, CAST(planned.payload AS JSONB) AS payload, planned.priority AS priority, coalesce(planned.run_at, coalesce($2::TIMESTAMP WITH TIME ZONE, now())) AS coalesce_1, planned.max_attempts AS max_attempts, planned.heartbeat_timeout AS heartbeat_timeout, coalesce($2::TIMESTAMP WITH TIME ZONE, now()) AS coalesce_2, CASE WHEN (planned.failed_dep IS NOT NULL AND planned.policy = 'cancel') THEN 'cancelled' WHEN (planned.deps_left > $3::INTEGER) THEN 'waiting' ELSE 'queued' END AS anon_1, CASE WHEN (planned.policy IS NULL) THEN NULL ELSE planned.deps_left END AS anon_2, planned.policy AS policy, EXISTS (SELECT * 
FROM inner_edges 
WHERE inner_edges.dep_ord = planned.ord) AS anon_3, CASE WHEN (planned.failed_dep IS NOT NULL AND planned.policy = 'cancel') THEN coalesce($2::TIMESTAMP WITH TIME ZONE, now()) END AS anon_4, CASE WHEN (planned.failed_dep IS NOT NULL AND planned.policy = 'cancel') THEN planned.failed_dep END AS anon_5 
FROM planned RETURNING pgq_jobs.id, pgq_jobs.queue, pgq_jobs.status), 
edges AS 
(INSERT INTO pgq_job_deps (job_id, depends_on, done) SELECT waiter.id AS id, waited.id AS id_1, false 
FROM inner_edges JOIN ids AS waiter ON waiter.ord = inner_edges.job_ord JOIN ids AS waited ON waited.ord = inner_edges.dep_ord UNION ALL SELECT waiter.id AS id, outer_edges.dep_id AS dep_id, coalesce(existing.status IN ('succeeded', 'failed', 'cancelled'), false) AS coalesce_3 
FROM outer_edges JOIN ids AS waiter ON waiter.ord = outer_edges.job_ord LEFT OUTER JOIN existing ON existing.id = outer_edges.dep_id RETURNING pgq_job_deps.job_id)
 SELECT ids.id, (SELECT count(pg_notify(CAST($1::VARCHAR AS TEXT), q.queue)) AS count_1 
FROM (SELECT DISTINCT inserted.queue AS queue 
FROM inserted 
WHERE inserted.status = 'queued') AS q) AS notified, (SELECT count(*) AS count_4 
FROM edges) AS edges, (SELECT count(*) AS count_5 
FROM inserted) AS written 
FROM ids ORDER BY ids.ord
