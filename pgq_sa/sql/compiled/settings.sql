-- settings: written by python -m pgq_sa.sql.snapshot (do not edit)
-- $1 names
SELECT pg_catalog.pg_settings.name, pg_catalog.pg_settings.setting, pg_catalog.pg_settings.unit 
FROM pg_catalog.pg_settings 
WHERE pg_catalog.pg_settings.name = any(CAST($1::TEXT[] AS TEXT[]))
