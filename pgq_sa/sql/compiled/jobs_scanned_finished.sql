-- jobs_scanned_finished: written by python -m pgq_sa.sql.snapshot (do not edit)
-- $1 before_at
-- $2 before_id
-- $3 scan
-- $4 param_1 (constant 1)
SELECT count(*) OVER () AS scanned, scan.id, scan.finished_at 
FROM (SELECT pgq_jobs.id AS id, pgq_jobs.finished_at AS finished_at 
FROM pgq_jobs 
WHERE pgq_jobs.status IN ('succeeded', 'failed', 'cancelled') AND pgq_jobs.finished_at <= coalesce($1::TIMESTAMP WITH TIME ZONE, CAST('infinity' AS TIMESTAMP WITH TIME ZONE)) AND (pgq_jobs.finished_at < $1::TIMESTAMP WITH TIME ZONE OR pgq_jobs.id < coalesce($2::BIGINT, 9223372036854775807)) ORDER BY pgq_jobs.finished_at DESC, pgq_jobs.id DESC 
 LIMIT $3::INTEGER) AS scan ORDER BY scan.finished_at ASC, scan.id ASC 
 LIMIT $4::INTEGER
