-- workers: written by python -m pgq_sa.sql.snapshot (do not edit)
-- $1 now
SELECT pgq_workers.id, pgq_workers.host, pgq_workers.pid, pgq_workers.queues, pgq_workers.entrypoints, pgq_workers.concurrency, pgq_workers.started_at, pgq_workers.heartbeat_at, (SELECT count(*) AS count_1 
FROM pgq_jobs 
WHERE pgq_jobs.status = 'running' AND pgq_jobs.worker_id = pgq_workers.id) AS running, CAST(EXTRACT(epoch FROM coalesce($1::TIMESTAMP WITH TIME ZONE, now()) - pgq_workers.heartbeat_at) AS DOUBLE PRECISION) AS heartbeat_age 
FROM pgq_workers ORDER BY pgq_workers.started_at, pgq_workers.id
