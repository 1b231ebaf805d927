-- prepared_transactions: written by python -m pgq_sa.sql.snapshot (do not edit)
SELECT pg_catalog.pg_prepared_xacts.gid, pg_catalog.pg_prepared_xacts.owner, pg_catalog.pg_prepared_xacts.prepared, CAST(EXTRACT(epoch FROM clock_timestamp() - pg_catalog.pg_prepared_xacts.prepared) AS DOUBLE PRECISION) AS age, age(pg_catalog.pg_prepared_xacts.transaction) AS xid_age 
FROM pg_catalog.pg_prepared_xacts 
WHERE pg_catalog.pg_prepared_xacts.database = current_database() ORDER BY pg_catalog.pg_prepared_xacts.prepared
