-- bulk_timeout: written by python -m pgq_sa.sql.snapshot (do not edit)
SET LOCAL statement_timeout = '10s'
