-- repoint_unique: written by python -m pgq_sa.sql.snapshot (do not edit)
-- $1 job_id
-- $2 unique_key
-- $3 fresh_id
WITH moved AS 
(UPDATE pgq_unique SET job_id=$1::BIGINT WHERE pgq_unique.key = $2::VARCHAR AND pgq_unique.job_id = $3::BIGINT AND $1::BIGINT IS NOT NULL RETURNING pgq_unique.key), 
dropped AS 
(DELETE FROM pgq_unique WHERE pgq_unique.key = $2::VARCHAR AND pgq_unique.job_id = $3::BIGINT AND $1::BIGINT IS NULL RETURNING pgq_unique.key)
 SELECT (SELECT count(*) AS count_1 
FROM moved) AS moved, (SELECT count(*) AS count_2 
FROM dropped) AS dropped
