-- jobs_scanned_newer: written by python -m pgq_sa.sql.snapshot (do not edit)
-- $1 after_id
-- $2 coalesce_1 (constant 0)
-- $3 scan
-- $4 param_1 (constant 1)
SELECT count(*) OVER () AS scanned, scan.id, scan.finished_at 
FROM (SELECT pgq_jobs.id AS id, pgq_jobs.finished_at AS finished_at 
FROM pgq_jobs 
WHERE pgq_jobs.id > coalesce($1::BIGINT, $2::INTEGER) ORDER BY pgq_jobs.id ASC 
 LIMIT $3::INTEGER) AS scan ORDER BY scan.id DESC 
 LIMIT $4::INTEGER
