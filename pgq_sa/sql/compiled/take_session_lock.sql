-- take_session_lock: written by python -m pgq_sa.sql.snapshot (do not edit)
-- $1 session_key
SELECT pg_try_advisory_lock($1::BIGINT) AS pg_try_advisory_lock_1
