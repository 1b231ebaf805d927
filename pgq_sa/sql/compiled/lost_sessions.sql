-- lost_sessions: written by python -m pgq_sa.sql.snapshot (do not edit)
SELECT pgq_workers.id 
FROM pgq_workers 
WHERE pgq_workers.session_key IS NOT NULL AND NOT (EXISTS (SELECT * 
FROM pg_catalog.pg_locks 
WHERE pg_catalog.pg_locks.locktype = 'advisory' AND pg_catalog.pg_locks.database = (SELECT pg_catalog.pg_database.oid 
FROM pg_catalog.pg_database 
WHERE pg_catalog.pg_database.datname = current_database()) AND CAST(pg_catalog.pg_locks.classid AS BIGINT) = (pgq_workers.session_key >> 32) AND CAST(pg_catalog.pg_locks.objid AS BIGINT) = (pgq_workers.session_key & 4294967295) AND pg_catalog.pg_locks.objsubid = 1 AND pg_catalog.pg_locks.granted)) AND (EXISTS (SELECT * 
FROM pgq_jobs 
WHERE pgq_jobs.status = 'running' AND pgq_jobs.worker_id = pgq_workers.id))
