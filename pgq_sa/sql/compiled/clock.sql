-- clock: written by python -m pgq_sa.sql.snapshot (do not edit)
-- $1 now
SELECT coalesce($1::TIMESTAMP WITH TIME ZONE, now()) AS coalesce_1
