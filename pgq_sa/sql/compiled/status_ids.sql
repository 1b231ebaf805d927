-- status_ids: written by python -m pgq_sa.sql.snapshot (do not edit)
-- $1 queue
-- $2 entrypoint
-- $3 created_after
-- $4 created_before
-- $5 limit
SELECT found.id 
FROM ((SELECT pgq_jobs.id AS id 
FROM pgq_jobs 
WHERE pgq_jobs.status = 'queued' AND pgq_jobs.flow_key IS NULL AND pgq_jobs.queue = $1::VARCHAR AND pgq_jobs.entrypoint = $2::VARCHAR AND pgq_jobs.created_at >= $3::TIMESTAMP WITH TIME ZONE AND pgq_jobs.created_at < $4::TIMESTAMP WITH TIME ZONE 
 LIMIT $5::INTEGER) UNION ALL (SELECT pgq_jobs.id AS id 
FROM pgq_jobs 
WHERE pgq_jobs.status = 'queued' AND pgq_jobs.flow_key IS NOT NULL AND pgq_jobs.queue = $1::VARCHAR AND pgq_jobs.entrypoint = $2::VARCHAR AND pgq_jobs.created_at >= $3::TIMESTAMP WITH TIME ZONE AND pgq_jobs.created_at < $4::TIMESTAMP WITH TIME ZONE 
 LIMIT $5::INTEGER)) AS found 
 LIMIT $5::INTEGER
