-- jobs_scanned: written by python -m pgq_sa.sql.snapshot (do not edit)
-- $1 before_id
-- $2 scan
-- $3 param_1 (constant 1)
SELECT count(*) OVER () AS scanned, scan.id, scan.finished_at 
FROM (SELECT pgq_jobs.id AS id, pgq_jobs.finished_at AS finished_at 
FROM pgq_jobs 
WHERE pgq_jobs.id < coalesce($1::BIGINT, 9223372036854775807) ORDER BY pgq_jobs.id DESC 
 LIMIT $2::INTEGER) AS scan ORDER BY scan.id ASC 
 LIMIT $3::INTEGER
