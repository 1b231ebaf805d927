-- notify: written by python -m pgq_sa.sql.snapshot (do not edit)
-- $1 channel
-- $2 payload
SELECT pg_notify($1::VARCHAR, $2::VARCHAR) AS pg_notify_1
