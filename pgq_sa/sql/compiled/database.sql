-- database: written by python -m pgq_sa.sql.snapshot (do not edit)
-- $1 current_setting_1 (constant 'server_version')
SELECT current_database() AS name, age(pg_catalog.pg_database.datfrozenxid) AS frozen_xid_age, now() AS now, current_setting($1::VARCHAR) AS server_version 
FROM pg_catalog.pg_database 
WHERE pg_catalog.pg_database.datname = current_database()
