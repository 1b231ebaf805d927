-- running_by_worker: written by python -m pgq_sa.sql.snapshot (do not edit)
-- $1 worker_ids
-- $2 per_worker
SELECT wk.id AS worker_id, theirs.id, theirs.queue, theirs.entrypoint, theirs.attempts, theirs.started_at, theirs.heartbeat_at, theirs.cancel_requested_at 
FROM unnest(CAST($1::TEXT[] AS TEXT[])) AS wk(id) JOIN LATERAL (SELECT pgq_jobs.id AS id, pgq_jobs.queue AS queue, pgq_jobs.entrypoint AS entrypoint, pgq_jobs.attempts AS attempts, pgq_jobs.started_at AS started_at, pgq_jobs.heartbeat_at AS heartbeat_at, pgq_jobs.cancel_requested_at AS cancel_requested_at 
FROM pgq_jobs 
WHERE pgq_jobs.status = 'running' AND pgq_jobs.worker_id = wk.id ORDER BY pgq_jobs.started_at, pgq_jobs.id 
 LIMIT $2::INTEGER) AS theirs ON true
