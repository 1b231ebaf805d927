-- open_transactions: written by python -m pgq_sa.sql.snapshot (do not edit)
-- $1 left_1 (constant 160)
-- $2 limit
SELECT pg_catalog.pg_stat_activity.pid, pg_catalog.pg_stat_activity.datname, pg_catalog.pg_stat_activity.usename, pg_catalog.pg_stat_activity.application_name, host(pg_catalog.pg_stat_activity.client_addr) AS client_addr, pg_catalog.pg_stat_activity.backend_type, pg_catalog.pg_stat_activity.state, CAST(EXTRACT(epoch FROM clock_timestamp() - pg_catalog.pg_stat_activity.xact_start) AS DOUBLE PRECISION) AS xact_age, CAST(EXTRACT(epoch FROM clock_timestamp() - pg_catalog.pg_stat_activity.state_change) AS DOUBLE PRECISION) AS state_age, pg_catalog.pg_stat_activity.wait_event_type, pg_catalog.pg_stat_activity.wait_event, age(pg_catalog.pg_stat_activity.backend_xmin) AS xmin_age, age(pg_catalog.pg_stat_activity.backend_xid) AS xid_age, left(pg_catalog.pg_stat_activity.query, $1::INTEGER) AS query 
FROM pg_catalog.pg_stat_activity 
WHERE pg_catalog.pg_stat_activity.pid != pg_backend_pid() AND (pg_catalog.pg_stat_activity.datid = (SELECT pg_catalog.pg_database.oid 
FROM pg_catalog.pg_database 
WHERE pg_catalog.pg_database.datname = current_database()) OR pg_catalog.pg_stat_activity.datid IS NULL) AND (pg_catalog.pg_stat_activity.xact_start IS NOT NULL OR pg_catalog.pg_stat_activity.backend_xmin IS NOT NULL OR pg_catalog.pg_stat_activity.backend_xid IS NOT NULL) ORDER BY greatest(age(pg_catalog.pg_stat_activity.backend_xmin), age(pg_catalog.pg_stat_activity.backend_xid)) DESC NULLS LAST, pg_catalog.pg_stat_activity.xact_start ASC NULLS LAST 
 LIMIT $2::INTEGER
