-- replication_slots: written by python -m pgq_sa.sql.snapshot (do not edit)
SELECT pg_catalog.pg_replication_slots.slot_name, pg_catalog.pg_replication_slots.slot_type, pg_catalog.pg_replication_slots.database, pg_catalog.pg_replication_slots.active, pg_catalog.pg_replication_slots.active_pid, age(pg_catalog.pg_replication_slots.xmin) AS xmin_age, age(pg_catalog.pg_replication_slots.catalog_xmin) AS catalog_xmin_age 
FROM pg_catalog.pg_replication_slots 
WHERE pg_catalog.pg_replication_slots.xmin IS NOT NULL OR pg_catalog.pg_replication_slots.catalog_xmin IS NOT NULL ORDER BY greatest(age(pg_catalog.pg_replication_slots.xmin), age(pg_catalog.pg_replication_slots.catalog_xmin)) DESC
